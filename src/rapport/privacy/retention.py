"""Retention: personal texts are kept only as long as configured, then erased by a daily job.

Each kind of record has a period (settings, from the environment). Past it, the personal content
goes and the row stays where figures count it: a closed ticket keeps its category, times and SLA
flags but loses its subject, messages and attachments; a site message keeps its read time but
loses its text; a received mail loses its raw bytes. Behaviour events have their own retention
(``RAPPORT_EVENT_RETENTION_DAYS``, whole partitions, see ``maintain_events``) and access archives
expire with their link (``RAPPORT_PRIVACY_ARCHIVE_DAYS``); both are listed here so the privacy
page shows every period in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.models import SiteMessage
from rapport.events.models import Event
from rapport.privacy.models import DataSubjectRequest
from rapport.service.models import Attachment, InboundMail, Status, Ticket, TicketMessage

BATCH = 2000


@dataclass(frozen=True)
class RetentionRule:
    key: str
    label: str | Promise
    setting: str  # the setting (and environment variable) that holds the period in days
    what_goes: str | Promise
    due: Callable[[dt.datetime], QuerySet[Any]]  # rows whose content is past the period at that cutoff
    enforce: Callable[[dt.datetime], int] | None  # None: enforced elsewhere (named in ``what_goes``)

    @property
    def days(self) -> int:
        return int(getattr(settings, self.setting))


def _closed_tickets(cutoff: dt.datetime) -> QuerySet[Ticket]:
    return Ticket.objects.filter(status=Status.CLOSED, closed_at__lt=cutoff).exclude(subject="", reply_to="")


def _erase_closed_tickets(cutoff: dt.datetime) -> int:
    """In batches, each in its own transaction, so a first run over years of tickets holds no long lock."""
    done = 0
    while ids := list(_closed_tickets(cutoff).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            TicketMessage.objects.filter(ticket_id__in=ids).update(body="")
            Attachment.objects.filter(message__ticket_id__in=ids).delete()
            InboundMail.objects.filter(ticket_id__in=ids).update(raw=b"", sender="", subject="")
            done += Ticket.objects.filter(pk__in=ids).update(subject="", reply_to="")
    return done


def _site_messages(cutoff: dt.datetime) -> QuerySet[SiteMessage]:
    return SiteMessage.objects.filter(created_at__lt=cutoff).exclude(title="", body="")


def _erase_site_messages(cutoff: dt.datetime) -> int:
    return _site_messages(cutoff).update(title="", body="")


def _inbound_mail(cutoff: dt.datetime) -> QuerySet[InboundMail]:
    return InboundMail.objects.filter(received_at__lt=cutoff).exclude(raw=b"")


def _erase_inbound_mail(cutoff: dt.datetime) -> int:
    return _inbound_mail(cutoff).update(raw=b"")


def _archives(cutoff: dt.datetime) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(archive__isnull=False, completed_at__lt=cutoff)


def _events(cutoff: dt.datetime) -> QuerySet[Event]:
    return Event.objects.filter(timestamp__lt=cutoff)


RULES = [
    RetentionRule(
        "tickets",
        _("Closed tickets"),
        "RAPPORT_RETENTION_TICKET_DAYS",
        _("subject, reply address, messages and attachments (counted from closing)"),
        _closed_tickets,
        _erase_closed_tickets,
    ),
    RetentionRule(
        "site_messages",
        _("Site messages"),
        "RAPPORT_RETENTION_SITE_MESSAGE_DAYS",
        _("title and text"),
        _site_messages,
        _erase_site_messages,
    ),
    RetentionRule(
        "inbound_mail",
        _("Received mail"),
        "RAPPORT_RETENTION_INBOUND_MAIL_DAYS",
        _("the raw message as received"),
        _inbound_mail,
        _erase_inbound_mail,
    ),
    RetentionRule(
        "archives",
        _("Copies of personal data"),
        "RAPPORT_PRIVACY_ARCHIVE_DAYS",
        _("the encrypted archive (hourly, when its link expires)"),
        _archives,
        None,
    ),
    RetentionRule(
        "events",
        _("Behaviour events"),
        "RAPPORT_EVENT_RETENTION_DAYS",
        _("whole events (daily, by maintain_events)"),
        _events,
        None,
    ),
]


def cutoff_for(rule: RetentionRule, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=rule.days)


def enforce_retention(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Erase what is past its period; returns how many rows each rule emptied. Safe to re-run."""
    now = now or timezone.now()
    return {rule.key: rule.enforce(cutoff_for(rule, now)) for rule in RULES if rule.enforce is not None}
