"""Staff performance on the real database: the owner rule, the contact rule (the last contact in the
window wins, only when it is not the owner's), the window's edges, and Decimal sums per store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from rapport.analytics import kpis
from rapport.analytics.staff_performance import Rules, attributed_orders, staff_performance
from rapport.analytics.tests.conftest import NOW
from rapport.clienteling.models import Contact, Task, TaskStatus
from rapport.commerce.models import Order

pytestmark = pytest.mark.django_db
TODAY = NOW.astimezone(kpis.shop_zone()).date()
RULES = Rules(contact_rule=True, contact_days=7)


def _contact(team: dict[str, Any], staff: Any, at: dt.datetime) -> Contact:
    return Contact.objects.create(
        customer=team["customer"],
        kind="call",
        purpose="service",
        staff=staff,
        store=team["store"],
        occurred_at=at,
        created_at=at,
    )


def _attributed(rules: Rules = RULES) -> dict[int, int | None]:
    filters = kpis.Filters.parse({}, today=TODAY)
    return dict(attributed_orders(filters, rules).values_list("id", "staff_id"))


def test_an_order_without_contacts_goes_to_the_owner(team: dict[str, Any], place_order: Callable[..., Order]) -> None:
    order = place_order(team["customer"], 3)
    assert _attributed() == {order.pk: team["owner"].pk}


def test_the_last_contact_in_the_window_wins(team: dict[str, Any], place_order: Callable[..., Order]) -> None:
    order = place_order(team["customer"], 3)
    _contact(team, team["other"], order.placed_at - dt.timedelta(days=5))
    _contact(team, team["helper"], order.placed_at - dt.timedelta(days=1))
    _contact(team, team["other"], order.placed_at + dt.timedelta(hours=1))  # after the order: ignored
    assert _attributed() == {order.pk: team["helper"].pk}


def test_the_owners_own_last_contact_keeps_the_order(team: dict[str, Any], place_order: Callable[..., Order]) -> None:
    order = place_order(team["customer"], 3)
    _contact(team, team["helper"], order.placed_at - dt.timedelta(days=2))
    _contact(team, team["owner"], order.placed_at - dt.timedelta(days=1))
    assert _attributed() == {order.pk: team["owner"].pk}


@pytest.mark.parametrize(
    ("before", "moved"),
    [(dt.timedelta(days=7), True), (dt.timedelta(days=7, seconds=1), False), (dt.timedelta(0), True)],
)
def test_the_window_is_n_days_up_to_the_order_inclusive(
    team: dict[str, Any], place_order: Callable[..., Order], before: dt.timedelta, moved: bool
) -> None:
    order = place_order(team["customer"], 10)
    _contact(team, team["helper"], order.placed_at - before)
    expected = team["helper"] if moved else team["owner"]
    assert _attributed() == {order.pk: expected.pk}


def test_the_window_length_and_the_switch_are_settings(team: dict[str, Any], place_order: Callable[..., Order]) -> None:
    order = place_order(team["customer"], 10)
    _contact(team, team["helper"], order.placed_at - dt.timedelta(days=10))
    assert _attributed(Rules(contact_rule=True, contact_days=14)) == {order.pk: team["helper"].pk}
    assert _attributed(Rules(contact_rule=False, contact_days=14)) == {order.pk: team["owner"].pk}


def test_an_ownerless_customers_order_goes_to_the_contact(
    team: dict[str, Any], place_order: Callable[..., Order]
) -> None:
    team["customer"].owner = None
    team["customer"].save(update_fields=["owner"])
    order = place_order(team["customer"], 3)
    assert _attributed() == {order.pk: None}
    _contact(team, team["helper"], order.placed_at - dt.timedelta(days=1))
    assert _attributed() == {order.pk: team["helper"].pk}


def test_figures_per_staff_and_leaderboard_per_store(
    team: dict[str, Any], place_order: Callable[..., Order], other_store: Any
) -> None:
    first = place_order(team["customer"], 20, "100.10")
    place_order(team["customer"], 10, "0.20")
    moved = place_order(team["customer"], 3, "50.05", store=other_store)
    _contact(team, team["helper"], moved.placed_at - dt.timedelta(days=1))
    Order.objects.filter(pk=first.pk).update(refunded_total=Decimal("0.10"))
    Task.objects.create(
        customer=team["customer"],
        title="Call",
        due_at=NOW,
        assignee=team["helper"],
        status=TaskStatus.DONE,
        created_at=NOW - dt.timedelta(days=2),
        completed_at=NOW - dt.timedelta(days=1),
    )
    data = staff_performance(kpis.Filters.parse({}, today=TODAY), RULES)
    by_name = {row["staff"]: row for row in data["staff"]}
    owner, helper = by_name["owner"], by_name["helper"]
    # the customer registered in the period, but nobody recruited them: not a new member of the owner's
    assert (owner["orders"], owner["revenue"], owner["customers"], owner["new_members"]) == (2, Decimal("100.20"), 1, 0)
    assert isinstance(owner["revenue"], Decimal) and owner["currency"] == "CNY"
    assert (helper["orders"], helper["by_contact"], helper["revenue"], helper["tasks_done"], helper["contacts"]) == (
        1,
        1,
        Decimal("50.05"),
        1,
        1,
    )
    boards = {board["store"]: board for board in data["leaderboards"]}
    assert [row["staff"] for row in boards[team["store"].code]["rows"]] == ["owner"]
    assert [(row["staff"], row["rank"]) for row in boards[other_store.code]["rows"]] == [("helper", 1)]
    assert data["rules"]["contact_days"] == 7 and len(data["rules"]["in_words"]) == 3


def test_the_store_filter_keeps_that_stores_orders(
    team: dict[str, Any], place_order: Callable[..., Order], other_store: Any
) -> None:
    place_order(team["customer"], 3, "10.00")
    place_order(team["customer"], 2, "20.00", store=other_store)
    data = staff_performance(kpis.Filters.parse({"store": other_store.code}, today=TODAY), RULES)
    assert [(row["staff"], row["revenue"]) for row in data["staff"] if row["orders"]] == [("owner", Decimal("20.00"))]
    assert [board["store"] for board in data["leaderboards"]] == [other_store.code]


def test_the_figures_take_the_same_few_queries_however_many_orders(
    team: dict[str, Any], place_order: Callable[..., Order], django_assert_max_num_queries: Any
) -> None:
    for days in range(1, 9):
        order = place_order(team["customer"], days)
        _contact(team, team["helper"] if days % 2 else team["other"], order.placed_at - dt.timedelta(hours=1))
    with django_assert_max_num_queries(6):  # orders, tasks, contacts, new members, names, stores
        data = staff_performance(kpis.Filters.parse({}, today=TODAY), RULES)
    assert sum(row["orders"] for row in data["staff"]) == 8


def test_orders_go_to_the_owner_at_the_time_they_were_placed(
    team: dict[str, Any], place_order: Callable[..., Order], system_actor: Any
) -> None:
    from rapport.customers import services as customer_services
    from rapport.customers.models import ChangeRecord, Customer

    early = place_order(team["customer"], 20)
    middle = place_order(team["customer"], 10)
    late = place_order(team["customer"], 1)
    customers = Customer.objects.filter(pk=team["customer"].pk)
    for owner, days_ago in ((team["helper"], 15), (team["other"], 5)):
        customer_services.assign_owner(customers, owner=owner, actor=system_actor)
        ChangeRecord.objects.filter(field="owner", owner_after=owner).update(
            created_at=NOW - dt.timedelta(days=days_ago)
        )
    assert _attributed() == {early.pk: team["owner"].pk, middle.pk: team["helper"].pk, late.pk: team["other"].pk}
    board = staff_performance(kpis.Filters.parse({}, today=TODAY), RULES)["leaderboards"][0]["rows"]
    assert {row["staff"]: row["orders"] for row in board} == {"owner": 1, "helper": 1, "other": 1}
    current = Rules(contact_rule=False, owner_at_order_time=False)  # the shop's other choice: the owner today
    assert _attributed(current) == {early.pk: team["other"].pk, middle.pk: team["other"].pk, late.pk: team["other"].pk}
    assert staff_performance(kpis.Filters.parse({}, today=TODAY), current)["rules"]["owner"] == "current"


def test_the_report_takes_the_same_queries_however_many_orders(
    team: dict[str, Any], place_order: Callable[..., Order], django_assert_max_num_queries: Any
) -> None:
    for days_ago in range(1, 30):
        place_order(team["customer"], days_ago)
    with django_assert_max_num_queries(8):
        staff_performance(kpis.Filters.parse({}, today=TODAY), RULES)


def test_new_members_count_for_their_recruiter_at_the_store_they_were_recruited(
    team: dict[str, Any], place_order: Callable[..., Order], make_customer: Callable[..., Any], other_store: Any
) -> None:
    from rapport.customers.models import Customer

    place_order(team["customer"], 3)
    elsewhere = other_store
    for store in (team["store"], team["store"], elsewhere):
        recruit = make_customer()
        Customer.objects.filter(pk=recruit.pk).update(
            recruited_by=team["helper"], recruited_at=store, registered_at=NOW - dt.timedelta(days=2)
        )
    walk_in = make_customer()  # signed up online: nobody recruited them
    Customer.objects.filter(pk=walk_in.pk).update(registered_at=NOW - dt.timedelta(days=2))
    report = staff_performance(kpis.Filters.parse({}, today=TODAY), RULES)
    boards = {board["store"]: board for board in report["leaderboards"]}
    home = {row["staff"]: row["new_members"] for row in boards[team["store"].code]["rows"]}
    assert home == {"owner": 0, "helper": 2}
    assert [(r["staff"], r["orders"], r["new_members"]) for r in boards["bj-01"]["rows"]] == [("helper", 0, 1)]
    assert boards["bj-01"]["new_members"] == 1
    assert {row["staff"]: row["new_members"] for row in report["staff"]}["helper"] == 3
    only_bj = staff_performance(kpis.Filters.parse({"store": "bj-01"}, today=TODAY), RULES)
    assert {row["staff"]: row["new_members"] for row in only_bj["staff"]} == {"helper": 1}
