"""Shared links (分享链接): a staff member shares a product or page with a customer as a link of its
own, ``/s/<token>``, that carries who shared it. Opening it redirects to the page (with
``utm_source=rapport&utm_medium=staff_share&utm_content=<token>`` added, so the shop's own tracking
sees it) and is recorded: the link counts its opens, and the first open is a contact of the sharer
(kind *shared link opened*), which is what the contact rule of staff performance reads — orders
within N days of it go to the sharer when they are not the owner.

The target is fixed when the link is made, by a signed-in staff member, so the redirect cannot be
pointed anywhere by whoever holds the link; ``RAPPORT_SHARE_HOSTS``, when set, limits the hosts.
A link preview (WeCom, a chat app) fetching the link counts as an open: the figure is "opened",
not "read".
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.services import staff_store_id
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.clienteling.models import Contact, ContactKind, ContactPurpose, SharedLink
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.public_url import public_url
from rapport.customers.models import Customer

URL_LENGTH = 500
TITLE_LENGTH = 120


def clean_share(data: Mapping[str, Any]) -> dict[str, str]:
    errors: list[FieldError] = []
    url = str(data.get("url") or "").strip()
    parts = urlsplit(url)
    hosts = settings.RAPPORT_SHARE_HOSTS
    if not url:
        errors.append(FieldError("url", "required", _("Paste the address of the product or page.")))
    elif len(url) > URL_LENGTH:
        errors.append(FieldError("url", "too_long", _("At most 500 characters.")))
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(FieldError("url", "invalid", _("A web address starting with https://.")))
    elif hosts and parts.hostname.lower() not in hosts:
        allowed = ", ".join(hosts)
        errors.append(FieldError("url", "not_allowed", _("Only links to %(hosts)s.") % {"hosts": allowed}))
    title = str(data.get("title") or "").strip()
    if len(title) > TITLE_LENGTH:
        errors.append(FieldError("title", "too_long", _("At most 120 characters.")))
    if errors:
        raise InvalidInput(errors)
    return {"url": url, "title": title}


@transaction.atomic
def share_link(customer: Customer, data: Mapping[str, Any], *, actor: Actor) -> SharedLink:
    """A new link for ``customer`` carrying the staff member who shares it (and their store)."""
    fields = clean_share(data)
    staff = actor.staff_user
    link = SharedLink.objects.create(
        token=secrets.token_urlsafe(12),
        customer=customer,
        staff=staff,
        store_id=staff_store_id(staff),
        created_at=timezone.now(),
        **fields,
    )
    record(actor, AuditEntry.Action.CREATE, obj=link, changes={"customer_id": customer.pk, "url": link.url})
    return link


def tracked_url(link: SharedLink) -> str:
    """The address to give the customer."""
    return f"{public_url()}{reverse('shared_links:open', args=[link.token])}"


def destination(link: SharedLink) -> str:
    """The shared page, tagged so the shop's own analytics see where the visit came from."""
    parts = urlsplit(link.url)
    tags = urlencode({"utm_source": "rapport", "utm_medium": "staff_share", "utm_content": link.token})
    query = f"{parts.query}&{tags}" if parts.query else tags
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@transaction.atomic
def open_link(token: str) -> SharedLink | None:
    """Record an open of the link ``token`` (None: no such link, or its customer was erased); the first
    open records the sharer's contact, once even when two opens arrive together (the row lock)."""
    link = SharedLink.objects.select_for_update().filter(token=token).exclude(url="").first()
    if link is None:
        return None
    now = timezone.now()
    SharedLink.objects.filter(pk=link.pk).update(opens=F("opens") + 1, last_opened_at=now)
    if link.first_opened_at is None:
        SharedLink.objects.filter(pk=link.pk).update(first_opened_at=now)
        if link.staff_id is not None:
            Contact.objects.create(
                customer_id=link.customer_id,
                kind=ContactKind.LINK,
                purpose=ContactPurpose.MARKETING,
                note=(link.title or link.url)[:200],
                staff_id=link.staff_id,
                store_id=link.store_id,
                occurred_at=now,
                created_at=now,
            )
    return link
