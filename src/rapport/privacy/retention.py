"""Retention: personal texts are kept only as long as configured, then erased by a daily job.

Each kind of record has a period (settings, from the environment). Past it, the personal content
goes and the row stays where figures count it: a closed ticket keeps its category, times and SLA
flags but loses its subject, messages and attachments; a site message keeps its read time but
loses its text; a received mail loses its raw bytes. Files go whole: an uploaded import file
whose job has ended (or that no job names), and a message kept in the outbox folder for want of a
transport. Behaviour events (``RAPPORT_EVENT_RETENTION_DAYS``, whole partitions, see
``maintain_events``), import reports (``RAPPORT_IMPORT_REPORT_DAYS``, ``imports.purge_reports``)
and access archives (``RAPPORT_PRIVACY_ARCHIVE_DAYS``, expiring with their link) are enforced by
their own jobs; they are listed here so the privacy page shows every period in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.models import SiteMessage
from rapport.events.models import Event
from rapport.imports.models import ImportJob
from rapport.imports.services import imports_dir
from rapport.privacy.models import DataSubjectRequest
from rapport.service.models import Attachment, InboundMail, Status, Ticket, TicketMessage

BATCH = 2000


@dataclass(frozen=True)
class RetentionRule:
    key: str
    label: str | Promise
    setting: str  # the setting (and environment variable) that holds the period in days
    what_goes: str | Promise
    count_due: Callable[[dt.datetime], int]  # how many rows or files are past the period at that cutoff
    enforce: Callable[[dt.datetime], int] | None  # None: enforced elsewhere (named in ``what_goes``)

    @property
    def days(self) -> int:
        return int(getattr(settings, self.setting))


def _counted(due: Callable[[dt.datetime], QuerySet[Any]]) -> Callable[[dt.datetime], int]:
    return lambda cutoff: due(cutoff).count()


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
            done += Ticket.objects.filter(pk__in=ids).update(subject="", subject_search="", reply_to="")
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
    return DataSubjectRequest.objects.exclude(archive_file="").filter(completed_at__lt=cutoff)


def _events(cutoff: dt.datetime) -> QuerySet[Event]:
    return Event.objects.filter(timestamp__lt=cutoff)


def _older_files(folder: Path, pattern: str, cutoff: dt.datetime) -> Iterator[Path]:
    stamp = cutoff.timestamp()
    if folder.is_dir():
        yield from (path for path in folder.glob(pattern) if path.is_file() and path.stat().st_mtime < stamp)


def _stale_import_files(cutoff: dt.datetime) -> list[Path]:
    """Uploaded files older than the cutoff that no queued or running import still reads (a job
    removes its file when it ends; these are left by a crash, or by a job that never ran)."""
    open_jobs = ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
    in_use = {Path(p) for p in open_jobs.values_list("file_path", flat=True)}
    return [path for path in _older_files(imports_dir(), "upload-*", cutoff) if path not in in_use]


def _erase_import_files(cutoff: dt.datetime) -> int:
    stale = _stale_import_files(cutoff)
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _outbox_files(cutoff: dt.datetime) -> list[Path]:
    return list(_older_files(Path(settings.RAPPORT_OUTBOX_DIR), "*", cutoff))


def _erase_outbox_files(cutoff: dt.datetime) -> int:
    old = _outbox_files(cutoff)
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


def _import_reports(cutoff: dt.datetime) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(finished_at__lt=cutoff).exclude(report_path="")


RULES = [
    RetentionRule(
        "tickets",
        _("Closed tickets"),
        "RAPPORT_RETENTION_TICKET_DAYS",
        _("subject, reply address, messages and attachments (counted from closing)"),
        _counted(_closed_tickets),
        _erase_closed_tickets,
    ),
    RetentionRule(
        "site_messages",
        _("Site messages"),
        "RAPPORT_RETENTION_SITE_MESSAGE_DAYS",
        _("title and text"),
        _counted(_site_messages),
        _erase_site_messages,
    ),
    RetentionRule(
        "inbound_mail",
        _("Received mail"),
        "RAPPORT_RETENTION_INBOUND_MAIL_DAYS",
        _("the raw message as received"),
        _counted(_inbound_mail),
        _erase_inbound_mail,
    ),
    RetentionRule(
        "import_files",
        _("Uploaded import files"),
        "RAPPORT_RETENTION_IMPORT_FILE_DAYS",
        _("the encrypted file, once no open job reads it (a job removes its own when it ends)"),
        lambda cutoff: len(_stale_import_files(cutoff)),
        _erase_import_files,
    ),
    RetentionRule(
        "import_reports",
        _("Import reports"),
        "RAPPORT_IMPORT_REPORT_DAYS",
        _("the rejected rows' report (daily, by purge_reports; counted from the job's end)"),
        _counted(_import_reports),
        None,
    ),
    RetentionRule(
        "outbox",
        _("Outbox files"),
        "RAPPORT_RETENTION_OUTBOX_DAYS",
        _("messages kept in the outbox folder while a channel has no transport"),
        lambda cutoff: len(_outbox_files(cutoff)),
        _erase_outbox_files,
    ),
    RetentionRule(
        "archives",
        _("Copies of personal data"),
        "RAPPORT_PRIVACY_ARCHIVE_DAYS",
        _("the encrypted archive (hourly, when its link expires)"),
        _counted(_archives),
        None,
    ),
    RetentionRule(
        "events",
        _("Behaviour events"),
        "RAPPORT_EVENT_RETENTION_DAYS",
        _("whole events (daily, by maintain_events)"),
        _counted(_events),
        None,
    ),
]


def cutoff_for(rule: RetentionRule, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=rule.days)


def enforce_retention(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Erase what is past its period; returns how many rows each rule emptied. Safe to re-run."""
    now = now or timezone.now()
    return {rule.key: rule.enforce(cutoff_for(rule, now)) for rule in RULES if rule.enforce is not None}
