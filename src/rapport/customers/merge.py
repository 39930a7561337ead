"""Customer merge (客户合并) and the queue of suggested merges.

A merge moves everything the merged customer owns to the survivor: identities, addresses,
notes and change history here; orders, events and later domains' rows (tags, assets, …)
through *merge hooks* that each app registers. The merged id keeps resolving to the survivor,
the merge is recorded (what moved, who, why) and audited, and it all happens in one
transaction: nothing is lost or doubled, or nothing happens.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers import history
from rapport.customers.models import (
    Address,
    ChangeRecord,
    Customer,
    CustomerMerge,
    Identity,
    MergedCustomer,
    MergeSuggestion,
    Note,
)

MergeHook = Callable[[Customer, Customer], int]
"""Moves one kind of row from the merged customer (second) to the survivor (first); returns how many."""

_HOOKS: dict[str, MergeHook] = {}

# Profile fields the survivor takes from the merged customer when it has none of its own.
_FILLABLE = ["name", "gender", "birthday", "city", "store_id", "owner_id"]
_PERSONAL = {"phone": "phone_index", "email": "email_index", "id_number": "id_number_index"}


def register_merge_hook(name: str, hook: MergeHook) -> None:
    """Let a domain move its own rows when two customers merge (called inside the merge)."""
    _HOOKS[name] = hook


def resolve_customer_id(customer_id: int) -> int | None:
    """The id a (possibly merged) customer id stands for now, or None if it never existed."""
    if Customer.objects.filter(pk=customer_id).exists():
        return customer_id
    return MergedCustomer.objects.filter(merged_id=customer_id).values_list("survivor_id", flat=True).first()


def _fill_profile(survivor: Customer, merged: Customer) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for field in _FILLABLE:
        if getattr(survivor, field) in (None, "") and getattr(merged, field) not in (None, ""):
            changes[field] = (getattr(survivor, field), getattr(merged, field))
    for field in _PERSONAL:
        if not getattr(survivor, field) and getattr(merged, field):
            changes[field] = ("", getattr(merged, field))
    custom = dict(survivor.custom_fields or {})
    for key, value in (merged.custom_fields or {}).items():
        if custom.get(key) in (None, "", []) and value not in (None, "", []):
            changes[f"custom_fields.{key}"] = (custom.get(key), value)
            custom[key] = value
    if merged.registered_at < survivor.registered_at:
        changes["registered_at"] = (survivor.registered_at, merged.registered_at)
    # Free the merged customer's unique personal-data keys before the survivor takes them.
    taken = {_PERSONAL[f] for f in _PERSONAL if f in changes}
    if taken:
        Customer.objects.filter(pk=merged.pk).update(**{index: None for index in taken})
    for field, (_old, new) in changes.items():
        if field.startswith("custom_fields."):
            continue
        setattr(survivor, field, new)
    survivor.custom_fields = custom
    return changes


def lock_identity_graph(*, exclusive: bool) -> None:
    """The identity graph's transaction lock (PostgreSQL; SQLite has one writer anyway).

    Who a user id or a device belongs to changes only under the exclusive lock: every merge takes
    it, and the events resolver takes it to apply identify and alias calls (profile updates,
    stitching, back-fills). Tracking requests that store plain events themselves
    (:mod:`rapport.events.inline`) hold it shared while they read the graph and write their
    events, so a merge moves, and an identify back-fills, every event already stored.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtext('rapport-identity-graph'))")


@transaction.atomic
def merge_customers(survivor: Customer, merged: Customer, *, actor: Actor, reason: str) -> CustomerMerge:
    if survivor.pk == merged.pk:
        raise InvalidInput.single("merged_id", "same_customer", "a customer cannot be merged into itself")
    lock_identity_graph(exclusive=True)
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk])}
    if len(locked) != 2:
        raise Conflict.single("merged_id", "gone", "one of the customers no longer exists (merged already?)")
    survivor, merged = locked[survivor.pk], locked[merged.pk]

    moved: dict[str, int] = {"identities": Identity.objects.filter(customer=merged).update(customer=survivor)}
    if Address.objects.filter(customer=survivor, is_default=True).exists():
        Address.objects.filter(customer=merged).update(is_default=False)
    moved["addresses"] = Address.objects.filter(customer=merged).update(customer=survivor)
    moved["notes"] = Note.objects.filter(customer=merged).update(customer=survivor)
    moved["change_records"] = ChangeRecord.objects.filter(customer=merged).update(customer=survivor)
    for name, hook in _HOOKS.items():
        moved[name] = hook(survivor, merged)

    changes = _fill_profile(survivor, merged)
    survivor.save()
    changes["merged"] = ("", f"#{merged.pk} {merged.name}")
    history.record_changes(survivor, changes, actor)

    MergedCustomer.objects.filter(survivor=merged).update(survivor=survivor)
    MergedCustomer.objects.create(merged_id=merged.pk, survivor=survivor)
    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged_customer_id=merged.pk,
        merged_name=merged.name,
        reason=reason[:200],
        moved=moved,
        actor=actor.staff_user,
        actor_label=actor.describe()[:150],
        source=actor.source,
    )
    MergeSuggestion.objects.filter(Q(first=merged) | Q(second=merged)).filter(
        status=MergeSuggestion.Status.OPEN
    ).delete()
    record(
        actor,
        AuditEntry.Action.MERGE,
        obj=survivor,
        changes={"merged_id": merged.pk, "reason": reason, "moved": moved},
    )
    merged.delete()
    return merge


# Suggestions ------------------------------------------------------------------------------


def suggest_pair(first: Customer, second: Customer, *, reason: str, score: Decimal) -> MergeSuggestion | None:
    """Queue a weak match once per pair; a pair staff rejected stays rejected."""
    return _queue_pair(first.pk, second.pk, reason=reason, score=score)[0]


def _queue_pair(first_id: int, second_id: int, *, reason: str, score: Decimal) -> tuple[MergeSuggestion | None, bool]:
    if first_id == second_id:
        return None, False
    low, high = sorted([first_id, second_id])
    suggestion, created = MergeSuggestion.objects.get_or_create(
        first_id=low, second_id=high, defaults={"reason": reason, "score": score}
    )
    if not created and suggestion.status == MergeSuggestion.Status.OPEN and score > suggestion.score:
        suggestion.score, suggestion.reason = score, reason
        suggestion.save(update_fields=["score", "reason"])
    return suggestion, created


# A weak match is a namesake (same ``Customer.name_key``) at the same place (the blind index of
# one of their addresses: city, district and first line) or, when an identify call brings the
# name or city, in the same city. A name shared by more than this many customers in one city or at
# one place says too little to suggest anything.
LARGEST_NAMESAKE_GROUP = 20
SAME_ADDRESS = ("same name and address", Decimal("0.800"))
SAME_CITY = ("same name and city", Decimal("0.600"))

_CUSTOMERS = Customer._meta.db_table
_ADDRESSES = Address._meta.db_table
# plain SQL through the name-key and place indexes: every identify with a name asks
NAMESAKES_IN_CITY_SQL = (
    f"SELECT id FROM {_CUSTOMERS} WHERE name_key = %s AND city = %s ORDER BY id LIMIT {LARGEST_NAMESAKE_GROUP + 1}"  # noqa: S608
)
_NAMESAKES_AT_PLACE_SQL = (
    f"SELECT DISTINCT c.id FROM {_CUSTOMERS} c JOIN {_ADDRESSES} a ON a.customer_id = c.id "  # noqa: S608
    f"WHERE c.name_key = %s AND a.place_index = %s ORDER BY c.id LIMIT {LARGEST_NAMESAKE_GROUP + 1}"
)
_PLACES_SQL = f"SELECT DISTINCT place_index FROM {_ADDRESSES} WHERE customer_id = %s AND place_index IS NOT NULL"  # noqa: S608
# every group of namesakes at one place, in one statement
_PLACE_GROUPS_SQL = f"""
WITH placed AS (
    SELECT DISTINCT c.name_key, a.place_index, c.id FROM {_CUSTOMERS} c
    JOIN {_ADDRESSES} a ON a.customer_id = c.id
    WHERE c.name_key <> '' AND a.place_index IS NOT NULL
)
SELECT p.name_key, p.place_index, p.id FROM placed p
JOIN (SELECT name_key, place_index FROM placed GROUP BY name_key, place_index
      HAVING count(*) BETWEEN 2 AND {LARGEST_NAMESAKE_GROUP}) g
  ON g.name_key = p.name_key AND g.place_index = p.place_index
ORDER BY 1, 2, 3
"""  # noqa: S608


def _ids(sql: str, params: list[Any]) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def suggest_weak_matches(customer: Customer) -> list[MergeSuggestion]:
    """Queue this customer's weak matches (see ``LARGEST_NAMESAKE_GROUP``); run when a name or city arrives."""
    if not customer.name_key:
        return []
    pairs: dict[int, tuple[str, Decimal]] = {}
    if customer.city:
        same_city = _ids(NAMESAKES_IN_CITY_SQL, [customer.name_key, customer.city])
        if len(same_city) <= LARGEST_NAMESAKE_GROUP:
            pairs.update(dict.fromkeys(same_city, SAME_CITY))
    for place in _ids(_PLACES_SQL, [customer.pk]):
        same_place = _ids(_NAMESAKES_AT_PLACE_SQL, [customer.name_key, place])
        if len(same_place) <= LARGEST_NAMESAKE_GROUP:
            pairs.update(dict.fromkeys(same_place, SAME_ADDRESS))
    pairs.pop(customer.pk, None)
    queued = [
        _queue_pair(customer.pk, other, reason=reason, score=score)[0] for other, (reason, score) in pairs.items()
    ]
    return [suggestion for suggestion in queued if suggestion is not None]


def scan_weak_matches() -> int:
    """Queue every pair of namesakes at one place, however they arrived; return how many are new.

    Identify calls look for a customer's namesakes as they come; imports, the console and the API
    do not, so this scan (daily, and on demand from the suggestion queue) finds the rest. Only
    places: across a whole customer base a city alone is too weak a tie (on the demo shop it
    would pair 198 of 5,000 customers, nearly all different people with common names).
    """
    with connection.cursor() as cursor:
        cursor.execute(_PLACE_GROUPS_SQL)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for *place, customer_id in cursor.fetchall():
            groups.setdefault(tuple(place), []).append(customer_id)
    pairs = {(first, second) for members in groups.values() for first, second in itertools.combinations(members, 2)}
    # most pairs were queued by an earlier scan: read the queue once, not one query a pair
    settled = set(
        MergeSuggestion.objects.exclude(status=MergeSuggestion.Status.OPEN, score__lt=SAME_ADDRESS[1]).values_list(
            "first_id", "second_id"
        )
    )
    created = 0
    for first, second in sorted(pairs - settled):
        try:
            with transaction.atomic():
                created += _queue_pair(first, second, reason=SAME_ADDRESS[0], score=SAME_ADDRESS[1])[1]
        except IntegrityError:
            continue  # one of the two was merged away after the scan read them
    return created


@transaction.atomic
def decide_suggestion(
    suggestion: MergeSuggestion, *, merge: bool, actor: Actor, survivor_id: int | None = None
) -> CustomerMerge | None:
    """Confirm (merge, keeping ``survivor_id`` or the older customer) or reject a suggestion."""
    locked = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if locked.status != MergeSuggestion.Status.OPEN:
        raise Conflict.single("status", "decided", f"this suggestion was already {locked.status}")
    pair = {locked.first_id: locked.first, locked.second_id: locked.second}
    locked.decided_by = actor.staff_user
    locked.decided_at = timezone.now()
    if not merge:
        locked.status = MergeSuggestion.Status.REJECTED
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"status": "rejected"})
        return None
    keep = survivor_id if survivor_id is not None else min(pair)
    if keep not in pair:
        raise InvalidInput.single("survivor_id", "invalid", "the survivor must be one of the two customers")
    gone = next(pk for pk in pair if pk != keep)
    locked.status = MergeSuggestion.Status.MERGED
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return merge_customers(pair[keep], pair[gone], actor=actor, reason=f"suggestion: {locked.reason}")
