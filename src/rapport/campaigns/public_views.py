"""Pages a message's reader reaches without signing in: the open pixel, click redirects and
the one-click unsubscribe. Each works only with a valid signed token (see ``tracking.py``).
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.campaigns import services
from rapport.campaigns.delivery import channels, tracking
from rapport.campaigns.models import ChannelKind, Message

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    """The 1×1 image in an email: its first fetch records the open (and proves delivery)."""
    message_id = tracking.read_open(token)
    if message_id is not None:
        channels.mark_opened(Message.objects.filter(pk=message_id), timezone.now())
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click, then redirect to the link the message held (only that link: no open redirect)."""
    clicked = tracking.read_click(token)
    if clicked is None:
        raise Http404("unknown link")
    message_id, target = clicked
    now = timezone.now()
    messages = Message.objects.filter(pk=message_id)
    channels.mark_opened(messages, now)
    messages.filter(clicked_at__isnull=True).update(clicked_at=now)
    return HttpResponseRedirect(target)


@csrf_exempt  # a signed token authorises it, and mail clients post RFC 8058 one-click without a form
@require_http_methods(["GET", "POST"])
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button (link scanners must not unsubscribe people); POST withdraws consent."""
    decoded = tracking.read_unsubscribe(token)
    if decoded is None:
        raise Http404("unknown link")
    customer_id, channel = decoded
    label = ChannelKind(channel).label if channel in ChannelKind.values else channel
    if request.method == "POST":
        services.unsubscribe(customer_id, channel)
        return render(request, "campaigns/unsubscribe.html", {"done": True, "channel": label})
    return render(request, "campaigns/unsubscribe.html", {"done": False, "channel": label, "token": token})
