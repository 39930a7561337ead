"""Event sources (write keys) and the maintenance of the events table."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput
from rapport.events import partitions
from rapport.events.models import Event, EventReceipt, ProcessingError, Source

KEY_PREFIX = "wk_"


def hash_write_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def _clean(data: Mapping[str, Any], *, instance: Source | None) -> dict[str, Any]:
    from django.utils.text import slugify

    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in {"name", "identity_channel"}]
    cleaned: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 100:
            errors.append(FieldError("name", "required", "a source name of 1 to 100 characters"))
        elif Source.objects.filter(name=name).exclude(pk=instance.pk if instance else 0).exists():
            errors.append(FieldError("name", "duplicate", f"a source named {name!r} exists"))
        cleaned["name"] = name
    if "identity_channel" in data or instance is None:
        channel = str(data.get("identity_channel") or "").strip()
        if not channel or slugify(channel).replace("-", "_") != channel or len(channel) > 40:
            errors.append(
                FieldError("identity_channel", "invalid", "a channel of lower-case letters, digits and _ (at most 40)")
            )
        cleaned["identity_channel"] = channel
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def create_source(*, data: Mapping[str, Any], actor: Actor) -> Source:
    key = _new_key()
    source = Source.objects.create(**_clean(data, instance=None), write_key=key, write_key_hash=hash_write_key(key))
    record(actor, AuditEntry.Action.CREATE, obj=source, changes={"identity_channel": source.identity_channel})
    _forget_now_and_on_commit()
    return source


@transaction.atomic
def update_source(source: Source, *, data: Mapping[str, Any], actor: Actor) -> Source:
    cleaned = _clean(data, instance=source)
    for field, value in cleaned.items():
        setattr(source, field, value)
    source.save()
    record(actor, AuditEntry.Action.UPDATE, obj=source, changes={k: str(v) for k, v in cleaned.items()})
    _forget_now_and_on_commit()
    return source


@transaction.atomic
def rotate_write_key(source: Source, *, actor: Actor) -> Source:
    """A new key at once; the old one stops working (shops must be given the new one)."""
    key = _new_key()
    source.write_key, source.write_key_hash, source.key_rotated_at = key, hash_write_key(key), timezone.now()
    source.save(update_fields=["write_key", "write_key_hash", "key_rotated_at"])
    record(actor, AuditEntry.Action.UPDATE, obj=source, changes={"write_key": "rotated"})
    _forget_now_and_on_commit()
    return source


@transaction.atomic
def set_source_enabled(source: Source, *, enabled: bool, actor: Actor) -> Source:
    source.is_enabled = enabled
    source.save(update_fields=["is_enabled"])
    record(actor, AuditEntry.Action.UPDATE, obj=source, changes={"is_enabled": enabled})
    _forget_now_and_on_commit()
    return source


SOURCE_CACHE_SECONDS = 5.0
_sources_by_hash: dict[str, tuple[float, Source | None]] = {}


def source_for_key(key: str) -> Source | None:
    """The source of a write key, remembered for a few seconds per process (one query less per
    tracking request). Changes made in this process are seen at once; other processes see a
    disabled source or a rotated key within ``SOURCE_CACHE_SECONDS``."""
    if not key:
        return None
    digest = hash_write_key(key)
    now = time.monotonic()
    cached = _sources_by_hash.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    source = Source.objects.filter(write_key_hash=digest).first()
    _sources_by_hash[digest] = (now + SOURCE_CACHE_SECONDS, source)
    return source


def forget_cached_sources() -> None:
    _sources_by_hash.clear()


def _forget_now_and_on_commit() -> None:
    """Now for this request, and again at commit in case a concurrent request cached the old row."""
    forget_cached_sources()
    transaction.on_commit(forget_cached_sources)


def purge_expired(now: dt.datetime | None = None) -> dict[str, int]:
    """Apply the retention settings: events after ``RAPPORT_EVENT_RETENTION_DAYS``, message-id
    receipts (the de-duplication window) after ``RAPPORT_EVENT_DEDUP_DAYS``."""
    now = now or timezone.now()
    event_cutoff = now - dt.timedelta(days=settings.RAPPORT_EVENT_RETENTION_DAYS)
    receipt_cutoff = now - dt.timedelta(days=settings.RAPPORT_EVENT_DEDUP_DAYS)
    dropped = partitions.drop_partitions_before(event_cutoff)
    deleted, _ = Event.objects.filter(timestamp__lt=event_cutoff).delete()
    receipts, _ = EventReceipt.objects.filter(received_at__lt=receipt_cutoff).delete()
    errors, _ = ProcessingError.objects.filter(created_at__lt=event_cutoff).delete()
    return {"partitions_dropped": dropped, "events_deleted": deleted, "receipts_deleted": receipts, "errors": errors}


def prepare_partitions(now: dt.datetime | None = None, months_ahead: int = 3) -> None:
    now = now or timezone.now()
    month = partitions.month_start(now)
    months = {month}
    for _ in range(months_ahead):
        month = partitions.next_month(month)
        months.add(month)
    partitions.ensure_month_partitions(months)
