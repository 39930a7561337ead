"""Segments in use: saving, counting, previewing, snapshots of membership, templates.

``segment_members`` is the one way other domains (campaigns, coupons, batch tagging) turn a
segment into customers: one query in the database, narrowed to the user's data scope when a user
is given. Snapshots find who entered and who left with set operations in SQL (insert-select
against the stored membership), never a Python loop over members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput, NotFound, delete_unless_kept
from rapport.customers.models import Customer
from rapport.customers.queries import visible_customers
from rapport.segments import compiler
from rapport.segments.models import Segment, SegmentMember, SegmentMembershipChange, SegmentSnapshot
from rapport.segments.rules import clean_rule

PREVIEW_SIZE = 50
NAME_MAX = 120

User = AbstractBaseUser | AnonymousUser


def _rule_of(segment_or_rule: Segment | Mapping[str, Any]) -> Mapping[str, Any]:
    return segment_or_rule.rule if isinstance(segment_or_rule, Segment) else segment_or_rule


def segment_members(
    segment_or_rule: Segment | Mapping[str, Any],
    *,
    actor: Actor | None = None,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Customer]:
    """The customers a segment (or a bare rule) selects right now, as one lazy query.

    With a ``user`` (or an ``actor`` with a staff user) only the customers that user may see are
    returned; without either, every customer (jobs and system actions).
    """
    viewer = user if user is not None else actor.staff_user if actor is not None else None
    base = visible_customers(viewer) if viewer is not None else Customer.objects.all()
    return compiler.members(_rule_of(segment_or_rule), now=now, base=base)


def preview(
    segment_or_rule: Segment | Mapping[str, Any], *, user: User | None = None, now: dt.datetime | None = None
) -> tuple[int, list[Customer]]:
    """The member count and the first members (newest registrations first) for the builder."""
    members = segment_members(segment_or_rule, user=user, now=now)
    first = list(members.order_by("-registered_at", "-pk")[:PREVIEW_SIZE])
    count = len(first) if len(first) < PREVIEW_SIZE else members.count()
    return count, first


def count_members(segment: Segment, *, user: User | None = None, now: dt.datetime | None = None) -> int:
    """Count the segment's members and remember the count on the segment (for the list page)."""
    count = segment_members(segment, user=user, now=now).count()
    Segment.objects.filter(pk=segment.pk).update(last_count=count, last_counted_at=now or timezone.now())
    segment.last_count, segment.last_counted_at = count, now or timezone.now()
    return count


# Saving ------------------------------------------------------------------------------------


def _clean(data: Mapping[str, Any], instance: Segment | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", "required", "give the segment a name"))
        elif len(name) > NAME_MAX:
            errors.append(FieldError("name", "too_long", f"at most {NAME_MAX} characters"))
        cleaned["name"] = name
    if "description" in data:
        cleaned["description"] = str(data.get("description") or "").strip()
    if "snapshot_schedule" in data:
        cleaned["snapshot_schedule"] = bool(data["snapshot_schedule"])
    if "rule" in data or instance is None:
        try:
            cleaned["rule"] = clean_rule(data.get("rule"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def save_segment(*, data: Mapping[str, Any], actor: Actor, instance: Segment | None = None) -> Segment:
    """Create a segment, or change ``instance``; the rule is checked (errors name ``rule.…`` paths)."""
    cleaned = _clean(data, instance)
    if instance is None:
        segment = Segment.objects.create(**cleaned, created_by=actor.staff_user)
        record(actor, AuditEntry.Action.CREATE, obj=segment, changes={"rule": segment.rule})
        return segment
    changes = {k: v for k, v in cleaned.items() if getattr(instance, k) != v}
    for key, value in changes.items():
        setattr(instance, key, value)
    if changes:
        instance.save()
        record(actor, AuditEntry.Action.UPDATE, obj=instance, changes=changes)
    return instance


@transaction.atomic
def delete_segment(segment: Segment, *, actor: Actor) -> None:
    if segment.is_template and segment.template_key:
        raise InvalidInput.single("id", "protected", "templates shipped with Rapport cannot be deleted")
    record(actor, AuditEntry.Action.DELETE, obj=segment, changes={"rule": segment.rule})
    SegmentMember.objects.filter(segment=segment).delete()
    delete_unless_kept(segment, "segment")


@transaction.atomic
def instantiate_template(template: Segment, *, actor: Actor, name: str = "") -> Segment:
    """A new saved segment with the template's rule, ready to edit, named in the active language
    (the shipped templates' English names are message ids)."""
    if not template.is_template:
        raise InvalidInput.single("id", "not_template", "this segment is not a template")
    description = gettext(template.description) if template.description else ""
    return save_segment(
        data={"name": name or gettext(template.name), "description": description, "rule": template.rule},
        actor=actor,
    )


def get_segment(segment_id: int, *, templates: bool | None = False) -> Segment:
    segments = Segment.objects.all()
    if templates is not None:
        segments = segments.filter(is_template=templates)
    segment = segments.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound.single("id", "not_found", f"no segment #{segment_id}")
    return segment


# Snapshots ---------------------------------------------------------------------------------


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@transaction.atomic
def take_snapshot(segment: Segment, *, now: dt.datetime | None = None) -> SegmentSnapshot:
    """Record who is in the segment now, who entered and who left since the last snapshot.

    Works in four set-based statements: changes = (now − before) ∪ (before − now), then the
    stored membership is brought up to date from the changes. The segment row is locked so two
    snapshots of one segment never interleave.
    """
    now = now or timezone.now()
    Segment.objects.select_for_update().filter(pk=segment.pk).first()
    snapshot = SegmentSnapshot.objects.create(segment=segment, taken_at=now)
    current_sql, current_params = (
        compiler.members(segment.rule, now=now).order_by().values(member_id=F("pk")).query.sql_with_params()
    )
    members, changes = _table(SegmentMember), _table(SegmentMembershipChange)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {changes} (snapshot_id, customer_id, change) "  # noqa: S608
            f"SELECT %s, now_members.member_id, 'entered' FROM ({current_sql}) AS now_members WHERE NOT EXISTS "
            f"(SELECT 1 FROM {members} m WHERE m.segment_id = %s AND m.customer_id = now_members.member_id)",
            [snapshot.pk, *current_params, segment.pk],
        )
        entered = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {changes} (snapshot_id, customer_id, change) "  # noqa: S608
            f"SELECT %s, m.customer_id, 'left' FROM {members} m "
            f"WHERE m.segment_id = %s AND m.customer_id NOT IN (SELECT member_id FROM ({current_sql}) AS now_members)",
            [snapshot.pk, segment.pk, *current_params],
        )
        left = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {members} WHERE segment_id = %s AND customer_id IN "  # noqa: S608
            f"(SELECT customer_id FROM {changes} WHERE snapshot_id = %s AND change = 'left')",
            [segment.pk, snapshot.pk],
        )
        cursor.execute(
            f"INSERT INTO {members} (segment_id, customer_id) "  # noqa: S608
            f"SELECT %s, customer_id FROM {changes} WHERE snapshot_id = %s AND change = 'entered'",
            [segment.pk, snapshot.pk],
        )
    snapshot.entered_count, snapshot.left_count = entered, left
    snapshot.member_count = SegmentMember.objects.filter(segment=segment).count()
    snapshot.save(update_fields=["entered_count", "left_count", "member_count"])
    Segment.objects.filter(pk=segment.pk).update(last_count=snapshot.member_count, last_counted_at=now)
    segment.last_count, segment.last_counted_at = snapshot.member_count, now
    return snapshot


def scheduled_segments() -> QuerySet[Segment]:
    return Segment.objects.filter(is_template=False, snapshot_schedule=True).order_by("pk")


def changes_of(snapshot: SegmentSnapshot, change: str) -> QuerySet[SegmentMembershipChange]:
    return SegmentMembershipChange.objects.filter(snapshot=snapshot, change=change).order_by("customer_id")
