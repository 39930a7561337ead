"""Exporting a segment's members to CSV or Excel, streamed in chunks so size does not matter.

Phone and email are masked unless the user holds ``customers.reveal_pii``; an unmasked export is
audited as a reveal (who, which segment, which fields, how many rows) before the first byte.
Both formats are written by :mod:`rapport.core.tabular`, so a customer named ``=1+2`` stays text.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.tabular import csv_lines, write_xlsx
from rapport.customers.models import Customer
from rapport.segments.models import Segment

CHUNK = 2000
FORMATS = ("csv", "xlsx")
HEADER = [
    "id",
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "city",
    "store",
    "member_status",
    "registration_channel",
    "registered_at",
    "order_count",
    "net_spent",
    "last_order_at",
]


def can_reveal(actor: Actor) -> bool:
    user = actor.staff_user
    return bool(user is not None and user.has_perm("customers.reveal_pii"))


def _row(customer: Customer, *, reveal: bool) -> list[Any]:
    stats = getattr(customer, "stats", None)
    return [
        customer.pk,
        customer.name,
        customer.gender,
        customer.birthday.isoformat() if customer.birthday else "",
        customer.phone if reveal else pii.mask_phone(customer.phone),
        customer.email if reveal else pii.mask_email(customer.email),
        customer.city,
        customer.store.code if customer.store else "",
        customer.member_status,
        customer.registration_channel,
        timezone.localtime(customer.registered_at).isoformat(timespec="seconds"),
        stats.order_count if stats else 0,
        str(stats.net_spent) if stats else "0.00",
        timezone.localtime(stats.last_order_at).isoformat(timespec="seconds") if stats and stats.last_order_at else "",
    ]


def rows(members: QuerySet[Customer], *, reveal: bool) -> Iterator[list[Any]]:
    """The export rows (header first), read from the database in chunks."""
    yield HEADER
    queryset = members.select_related("store", "stats").order_by("pk")
    for customer in queryset.iterator(chunk_size=CHUNK):
        yield _row(customer, reveal=reveal)


def start_export(segment: Segment, members: QuerySet[Customer], *, actor: Actor, file_format: str) -> bool:
    """Decide masking and audit an unmasked export; answers whether the export reveals."""
    reveal = can_reveal(actor)
    if reveal:
        record(
            actor,
            AuditEntry.Action.REVEAL,
            obj=segment,
            changes={"fields": ["phone", "email"], "export": file_format, "rows": members.count()},
        )
    return reveal


def csv_chunks(members: QuerySet[Customer], *, reveal: bool) -> Iterator[str]:
    """CSV text, one line at a time, with a BOM so Excel reads the Chinese text right."""
    return csv_lines(rows(members, reveal=reveal))


def xlsx_file(members: QuerySet[Customer], *, reveal: bool) -> Any:
    """An .xlsx written row by row (openpyxl write-only) into a temporary file, rewound."""
    # FileResponse closes it once sent
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    write_xlsx(handle, [("members", rows(members, reveal=reveal))])
    handle.seek(0)
    return handle


def filename(segment: Segment, file_format: str) -> str:
    return f"segment-{segment.pk}-{timezone.now():%Y%m%d-%H%M}.{file_format}"
