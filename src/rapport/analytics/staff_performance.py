"""Shopping-guide performance (导购业绩): the period's counted orders attributed to a staff member and
the order's store, with each staff member's customers served, tasks done, new members recruited (at
the counter or by referral: ``Customer.recruited_by``, per store where they were recruited) and contacts.

Two rules, applied by the database in one query over the orders (no loop over orders in Python):

- owner rule: an order goes to the owner its customer had when the order was placed, read from the
  recorded owner changes (``customers.queries.owner_at``, in the same query); with
  ``RAPPORT_ATTRIBUTION_OWNER_AT_ORDER_TIME`` off, to the current owner.
- contact rule (``RAPPORT_ATTRIBUTION_CONTACT_RULE``, on by default): an order placed within
  ``RAPPORT_ATTRIBUTION_CONTACT_DAYS`` (default 7) days after a staff member's contact with the
  customer goes to the staff member of the *last* such contact, when that is not the owner. A
  customer opening a link a staff member shared is such a contact (``clienteling.sharing``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from rapport.analytics.kpis import Filters
from rapport.clienteling import queries as clienteling_queries
from rapport.commerce.queries import net_revenue
from rapport.customers import queries as customers_queries
from rapport.customers.models import Customer, Store

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rules:
    """How orders are attributed; :meth:`from_settings` reads the shop's configuration."""

    contact_rule: bool = True
    contact_days: int = 7
    owner_at_order_time: bool = True

    @classmethod
    def from_settings(cls) -> Rules:
        return cls(
            contact_rule=settings.RAPPORT_ATTRIBUTION_CONTACT_RULE,
            contact_days=settings.RAPPORT_ATTRIBUTION_CONTACT_DAYS,
            owner_at_order_time=settings.RAPPORT_ATTRIBUTION_OWNER_AT_ORDER_TIME,
        )

    def in_words(self) -> list[str]:
        """The rules as the page and the API state them."""
        if self.owner_at_order_time:
            owner = _(
                "Each order goes to the owner the customer had when the order was placed "
                "(from the recorded owner changes)."
            )
        else:
            owner = _("Each order goes to the customer's current owner, whoever owned them when it was placed.")
        words = [owner]
        if self.contact_rule:
            words.append(
                _(
                    "An order placed within %(days)s days after a staff member's contact with the customer (a call, "
                    "message, visit or appointment they recorded, or the customer opening a link they shared) goes "
                    "to the staff member of the last such contact, when that is not the owner."
                )
                % {"days": self.contact_days}
            )
        else:
            words.append(_("Contacts do not move orders away from the owner (the contact rule is off)."))
        words.append(_("Revenue is after refunds; the store is the store where the order was placed."))
        return words


def attributed_orders(filters: Filters, rules: Rules) -> QuerySet[Any]:
    """The period's counted orders, each annotated with ``staff_id`` (who it is attributed to, or None)
    and ``by_contact`` (1 when the contact rule moved it away from the owner). Typed ``Any`` because
    the type stubs know only ``Order``'s own fields, not these annotations."""
    owner = (
        customers_queries.owner_at(customer="customer_id", current_owner="customer__owner_id", at="placed_at")
        if rules.owner_at_order_time
        else F("customer__owner_id")
    )
    orders = filters.orders().annotate(owner_id=owner)
    if not rules.contact_rule:
        return orders.annotate(staff_id=F("owner_id"), by_contact=Value(0, output_field=IntegerField()))
    last_contact = (
        clienteling_queries.staff_contacts()
        .filter(
            customer_id=OuterRef("customer_id"),
            occurred_at__lte=OuterRef("placed_at"),
            occurred_at__gte=OuterRef("placed_at") - dt.timedelta(days=rules.contact_days),
        )
        .order_by("-occurred_at", "-id")
        .values("staff_id")[:1]
    )
    moved = Q(contact_staff_id__isnull=False) & (
        Q(owner_id__isnull=True) | Q(contact_staff_id__lt=F("owner_id")) | Q(contact_staff_id__gt=F("owner_id"))
    )
    return orders.annotate(contact_staff_id=Subquery(last_contact, output_field=IntegerField())).annotate(
        staff_id=Case(When(moved, then=F("contact_staff_id")), default=F("owner_id"), output_field=IntegerField()),
        by_contact=Case(When(moved, then=Value(1)), default=Value(0), output_field=IntegerField()),
    )


def _attributed_totals(filters: Filters, rules: Rules) -> list[dict[str, Any]]:
    """One row per (staff, store, currency): orders, orders moved by a contact, revenue, customers."""
    rows = (
        attributed_orders(filters, rules)
        .values("staff_id", "store_id", "currency")
        .annotate(
            orders=Count("id"),
            by_contact=Sum("by_contact"),
            revenue=Coalesce(Sum(net_revenue()), Value(Decimal(0))),
            customers=Count("customer_id", distinct=True),
        )
        .order_by()
    )
    return list(rows)


def _staff_names(ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=ids)
    return {user.pk: user.get_full_name() or user.get_username() for user in users}


def _recruits(filters: Filters) -> dict[tuple[int, int | None], int]:
    """{(recruiting staff, store recruited at): new members} of the period (customers registered in it
    whom a staff member signed up, at the counter or by referral); one query."""
    customers = Customer.objects.filter(
        registered_at__gte=filters.since, registered_at__lt=filters.until, recruited_by__isnull=False
    )
    if filters.store:
        customers = customers.filter(recruited_at=filters.store)
    rows = customers.values("recruited_by_id", "recruited_at_id").annotate(n=Count("id")).order_by()
    return {(row["recruited_by_id"], row["recruited_at_id"]): row["n"] for row in rows}


def _add_recruits_to_boards(
    boards: dict[tuple[int | None, str], list[dict[str, Any]]],
    recruits: dict[tuple[int, int | None], int],
    staff_name: Any,
) -> None:
    """Each board row gets the new members its staff member recruited at that store (once, on the
    store's first board); a recruiter without orders there gets a row of their own."""
    first_board: dict[int | None, tuple[int | None, str]] = {}
    for key in boards:
        first_board.setdefault(key[0], key)
    for rows in boards.values():
        for row in rows:
            row["new_members"] = 0
    for (staff_id, store_id), n in recruits.items():
        rows = boards[first_board.get(store_id, (store_id, settings.RAPPORT_CURRENCY))]
        mine = [r for r in rows if r["staff_id"] == staff_id]
        if not mine:
            figures = {"customers": 0, "orders": 0, "by_contact": 0, "revenue": Decimal("0.00"), "new_members": 0}
            mine = [{"staff_id": staff_id, "staff": staff_name(staff_id), **figures}]
            rows.append(mine[0])
        mine[0]["new_members"] += n


def staff_performance(filters: Filters, rules: Rules | None = None) -> dict[str, Any]:
    """Per staff member (one row per currency they sold in) and a leaderboard per store, for the
    filters' period and store."""
    rules = rules or Rules.from_settings()
    totals = _attributed_totals(filters, rules)
    store_id = filters.store.pk if filters.store else None
    tasks = clienteling_queries.tasks_done_by_staff(filters.since, filters.until, store_id=store_id)
    contacts = clienteling_queries.contacts_made_by_staff(filters.since, filters.until, store_id=store_id)
    recruits = _recruits(filters)
    recruited_by_staff: dict[int, int] = defaultdict(int)
    for (staff_id, _store_id), n in recruits.items():
        recruited_by_staff[staff_id] += n
    staff_ids = {row["staff_id"] for row in totals if row["staff_id"]} | set(tasks) | set(contacts)
    staff_ids |= set(recruited_by_staff)
    names = _staff_names(staff_ids)
    board_stores = {row["store_id"] for row in totals} | {store_id for _staff, store_id in recruits}
    stores = {store.pk: store for store in Store.objects.filter(pk__in=board_stores)}

    def staff_name(staff_id: int | None) -> str:
        return names.get(staff_id, "") if staff_id else _("(no staff member)")

    per_staff: dict[tuple[int | None, str], dict[str, Any]] = {}
    boards: dict[tuple[int | None, str], list[dict[str, Any]]] = defaultdict(list)
    for row in totals:
        revenue = Decimal(row["revenue"]).quantize(CENT)
        figures = {"orders": row["orders"], "by_contact": row["by_contact"] or 0, "revenue": revenue}
        key = (row["staff_id"], row["currency"])
        entry = per_staff.setdefault(key, {"orders": 0, "by_contact": 0, "revenue": Decimal(0), "customers": 0})
        for name, value in figures.items():
            entry[name] += value
        entry["customers"] += row["customers"]  # a customer served at two stores counts at each
        board_row = {"staff_id": row["staff_id"], "staff": staff_name(row["staff_id"]), "customers": row["customers"]}
        boards[(row["store_id"], row["currency"])].append({**board_row, **figures})
    _add_recruits_to_boards(boards, recruits, staff_name)
    for staff_id in staff_ids:
        if not any(key[0] == staff_id for key in per_staff):
            per_staff[(staff_id, settings.RAPPORT_CURRENCY)] = {
                "orders": 0,
                "by_contact": 0,
                "revenue": Decimal("0.00"),
                "customers": 0,
            }
    staff_rows = [
        {
            "staff_id": staff_id,
            "staff": staff_name(staff_id),
            "currency": currency,
            **entry,
            "tasks_done": tasks.get(staff_id, 0) if staff_id else 0,
            "new_members": recruited_by_staff.get(staff_id, 0) if staff_id else 0,
            "contacts": contacts.get(staff_id, 0) if staff_id else 0,
        }
        for (staff_id, currency), entry in per_staff.items()
    ]
    staff_rows.sort(key=lambda row: (-row["revenue"], row["staff"]))
    leaderboards: list[dict[str, Any]] = []
    for (board_store, currency), rows in boards.items():
        rows.sort(key=lambda row: (-row["revenue"], -row["orders"], -row["new_members"], row["staff"]))
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
        store = stores.get(board_store) if board_store else None
        leaderboards.append(
            {
                "store": store.code if store else "",
                "store_name": store.name if store else _("(no store)"),
                "currency": currency,
                "revenue": sum((row["revenue"] for row in rows), Decimal("0.00")),
                "new_members": sum(row["new_members"] for row in rows),
                "rows": rows,
            }
        )
    leaderboards.sort(key=lambda board: (-board["revenue"], board["store_name"]))
    return {
        "filters": filters.as_params(),
        "rules": {
            "contact_rule": rules.contact_rule,
            "contact_days": rules.contact_days,
            "owner": "at_order_time" if rules.owner_at_order_time else "current",
            "in_words": rules.in_words(),
        },
        "staff": staff_rows,
        "leaderboards": leaderboards,
    }
