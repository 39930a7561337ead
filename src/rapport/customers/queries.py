"""Reading customers: who may see which, and the filters the list pages and the API share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Func
from django.db.models.functions import Coalesce, NullIf

from rapport.accounts.services import customer_scope
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.core.listing import within_time_bounds
from rapport.customers import services
from rapport.customers.models import (
    OWNER_FIELD,
    ChangeRecord,
    Customer,
    CustomFieldDefinition,
    Identity,
    MemberStatus,
    identity_index_of,
)
from rapport.customers.validation import LookupCache, clean_custom_value

CUSTOM_FILTER_PREFIX = "cf."

ORDERINGS = {
    "name": "name",
    "registered_at": "registered_at",
    "updated_at": "updated_at",
    "city": "city",
    "order_count": "stats__order_count",
    "total_spent": "stats__net_spent",
    "last_order_at": "stats__last_order_at",
}


def visible_scope(user: AbstractBaseUser | AnonymousUser | None) -> Q:
    """The filter on customers this user's data scope allows (for reads built elsewhere)."""
    return customer_scope(user)


def visible_customers(user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[Customer]:
    """Every customer this user's data scope allows (owner for sales, store for store staff)."""
    return Customer.objects.filter(customer_scope(user)).select_related("store", "owner", "stats")


def visible_customer(
    user: AbstractBaseUser | AnonymousUser | None, ref: int | str, *, read: QuerySet[Customer] | None = None
) -> Customer:
    """The customer ``ref`` names among those ``user`` may see, or NotFound.

    ``ref`` is an id (a merged-away id finds its survivor) or ``channel:external_id``, as a shop knows it.
    ``read`` is how to read the customer when the caller needs less than the 360 page's joins
    (or more, annotated); the data scope applies to it all the same.
    """
    visible = visible_customers(user) if read is None else read.filter(customer_scope(user))
    if isinstance(ref, int) or str(ref).isdigit():
        return services.get_customer(visible, int(ref))
    channel, _sep, external_id = str(ref).partition(":")
    found = services.find_by_identity(channel, external_id) if channel and external_id else None
    customer = visible.filter(pk=found.pk).first() if found is not None else None
    if customer is None:
        raise NotFound.single("customer", "not_found", f"no customer {ref!r}")
    return customer


def identity_owners(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """``(channel, external id)`` → the customer it belongs to, for those known: identities are
    found by their blind index (personal ids are stored sealed), 900 a query."""
    by_index = {identity_index_of(channel, external_id): (channel, external_id) for channel, external_id in keys}
    indexes = list(by_index)
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(indexes), 900):
        rows = Identity.objects.filter(external_index__in=indexes[start : start + 900])
        found.update({by_index[index]: pk for index, pk in rows.values_list("external_index", "customer_id")})
    return found


def filter_customers(queryset: QuerySet[Customer], params: Mapping[str, Any]) -> QuerySet[Customer]:
    """Apply the list filters; unknown values are field errors, never silently ignored.

    ``params`` keys: q, store (id or code), owner (id or username, ``none`` for unowned),
    channel, member_status, city, registered_after, registered_before and ``cf.<key>`` for a
    custom field's value.
    """
    errors: list[FieldError] = []
    cache = LookupCache()
    text = str(params.get("q") or "").strip()
    if text:
        queryset = services.search(queryset, text)
    if params.get("store"):
        store = cache.store(params["store"])
        if store is None:
            errors.append(FieldError("store", "not_found", f"no store {params['store']!r}"))
        else:
            queryset = queryset.filter(store=store)
    if params.get("owner"):
        queryset = _filter_owner(queryset, params["owner"], cache, errors)
    if params.get("channel"):
        queryset = queryset.filter(identities__channel=str(params["channel"])).distinct()
    if params.get("member_status"):
        if params["member_status"] not in MemberStatus.values:
            errors.append(FieldError("member_status", "invalid", f"one of: {', '.join(MemberStatus.values)}"))
        else:
            queryset = queryset.filter(member_status=params["member_status"])
    if params.get("city"):
        queryset = queryset.filter(city__iexact=str(params["city"]).strip())
    queryset = within_time_bounds(
        queryset, params, field="registered_at", after="registered_after", before="registered_before", errors=errors
    )
    queryset = _filter_custom_fields(queryset, params, cache, errors)
    if errors:
        raise InvalidInput(errors)
    return queryset


def _filter_owner(
    queryset: QuerySet[Customer], owner: Any, cache: LookupCache, errors: list[FieldError]
) -> QuerySet[Customer]:
    """``none`` lists the unowned; otherwise the staff user's id or username."""
    if str(owner) == "none":
        return queryset.filter(owner__isnull=True)
    owner_id = cache.owner_id(owner)
    if owner_id is None:
        errors.append(FieldError("owner", "not_found", f"no staff user {owner!r}"))
        return queryset
    return queryset.filter(owner_id=owner_id)


def _filter_custom_fields(
    queryset: QuerySet[Customer], params: Mapping[str, Any], cache: LookupCache, errors: list[FieldError]
) -> QuerySet[Customer]:
    """Each non-blank ``cf.<key>`` parameter filters by that custom field's value."""
    definitions = cache.definitions()
    for name, raw in params.items():
        if not name.startswith(CUSTOM_FILTER_PREFIX) or raw in (None, ""):
            continue
        key = name.removeprefix(CUSTOM_FILTER_PREFIX)
        definition = definitions.get(key)
        if definition is None:
            errors.append(FieldError(name, "unknown_field", f"no custom field {key!r}"))
            continue
        try:
            queryset = _filter_custom(queryset, definition, raw)
        except ValueError as exc:
            errors.append(FieldError(name, "invalid", str(exc)))
    return queryset


def _filter_custom(queryset: QuerySet[Customer], definition: CustomFieldDefinition, raw: Any) -> QuerySet[Customer]:
    path = f"custom_fields__{definition.key}"
    if definition.field_type == CustomFieldDefinition.FieldType.MULTI_CHOICE:
        value = clean_custom_value(definition, [raw])
        # JSON arrays are stored as text on SQLite; match the quoted element on both databases.
        return queryset.filter(**{f"{path}__icontains": f'"{value[0]}"'})
    if definition.field_type == CustomFieldDefinition.FieldType.TEXT:
        return queryset.filter(**{f"{path}__icontains": str(raw).strip()})
    return queryset.filter(**{path: clean_custom_value(definition, raw)})


UNOWNED = 0  # stands for "recorded without an owner" inside owner_at, where NULL means "no record"


def owner_at(*, customer: str, current_owner: str, at: str | dt.datetime) -> Func:
    """An expression for the owner (user id, or NULL) a customer had at a time, from the recorded
    owner changes: the owner after the last change at or before the time, else the owner before the
    first change after it, else (never changed) the current owner. Set-based: two index probes per
    row (``change_record_owner_idx``) in the one query of the queryset it annotates.

    ``customer`` and ``current_owner`` name the outer queryset's customer id and current owner
    (``"customer_id"``, ``"customer__owner_id"`` on orders); ``at`` names its time field, or is a time.
    """
    when = OuterRef(at) if isinstance(at, str) else at
    changes = ChangeRecord.objects.filter(customer_id=OuterRef(customer), field=OWNER_FIELD)

    def recorded(owner_field: str) -> Coalesce:
        return Coalesce(owner_field, Value(UNOWNED), output_field=IntegerField())

    after_last = (
        changes.filter(created_at__lte=when).order_by("-created_at", "-id").values(owner=recorded("owner_after_id"))
    )
    before_first = (
        changes.filter(created_at__gt=when).order_by("created_at", "id").values(owner=recorded("owner_before_id"))
    )
    return NullIf(
        Coalesce(
            Subquery(after_last[:1]),
            Subquery(before_first[:1]),
            F(current_owner),
            output_field=IntegerField(),
        ),
        Value(UNOWNED),
    )


def owners_at(customer_ids: Iterable[int], at: dt.datetime) -> dict[int, int | None]:
    """{customer id: owner's user id or None} at ``at`` for many customers, in one query."""
    rows = (
        Customer.objects.filter(pk__in=list(customer_ids))
        .annotate(owner_then=owner_at(customer="pk", current_owner="owner_id", at=at))
        .values_list("pk", "owner_then")
    )
    return dict(rows)
