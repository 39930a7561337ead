"""The member portal's inbox (站内信): site messages plans and services left for the member.

Opening a message marks it read and counts as the campaign message's open, so site messages
take part in the plan's funnel like opened emails do.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from rapport.campaigns.delivery import channels
from rapport.campaigns.models import Message, SiteMessage
from rapport.portal.auth import member_required

INBOX_SIZE = 100


@member_required
def inbox(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    messages = SiteMessage.objects.filter(customer=member)
    return render(
        request,
        "campaigns/portal/inbox.html",
        {
            "portal_section": "inbox",
            "site_messages": messages[:INBOX_SIZE],
            "unread": messages.filter(read_at__isnull=True).count(),
        },
    )


@member_required
def read(request: HttpRequest, pk: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    site_message = get_object_or_404(SiteMessage, pk=pk, customer=member)
    now = timezone.now()
    if site_message.read_at is None:
        SiteMessage.objects.filter(pk=site_message.pk).update(read_at=now)
        if site_message.message_id:
            channels.mark_opened(Message.objects.filter(pk=site_message.message_id), now)
    return render(request, "campaigns/portal/message.html", {"portal_section": "inbox", "site_message": site_message})
