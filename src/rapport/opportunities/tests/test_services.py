"""Opportunities over a real database: a move takes the stage's probability (or the one given),
won needs an order of this customer and lost a reason, each move is an activity; the forecast adds
Decimals per stage, owner and month; sales staff see only their customers' opportunities; erasure
keeps the figures and blanks the texts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.commerce.services import upsert_order
from rapport.core.actor import Actor, Source
from rapport.core.errors import InvalidInput
from rapport.opportunities import privacy, services
from rapport.opportunities.models import Activity, Opportunity, Pipeline, Stage
from rapport.privacy.registry import Erasure

pytestmark = pytest.mark.django_db


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or services.default_pipeline()).stages.get(name=name)


def order_of(customer, ext="o-1"):
    order, _created = upsert_order(
        data={
            "channel": "web",
            "external_id": ext,
            "customer_id": customer.pk,
            "status": "completed",
            "placed_at": timezone.now() - dt.timedelta(hours=1),
            "lines": [{"sku": "S", "name": "定制西装", "quantity": 1, "unit_price": "12800.00"}],
        },
        actor=Actor.system("test"),
    )
    return order


def open_one(customer, actor, **data):
    fields = {"title": "定制西装", "value": "12800.00", "currency": "CNY", "expected_close": "2026-12-20", **data}
    return services.create_opportunity(customer, fields, actor=actor)


@pytest.fixture
def seller(make_staff):
    return make_staff(roles.SALES)


@pytest.fixture
def actor(seller):
    return Actor(user=seller, source=Source.CONSOLE)


def test_the_default_pipeline_is_seeded_with_its_stages():
    pipeline = services.default_pipeline()
    names = list(pipeline.stages.values_list("name", "probability", "outcome"))
    assert names == [
        ("Qualified", 10, ""),
        ("Proposal", 40, ""),
        ("Negotiation", 70, ""),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]


def test_a_move_takes_the_stage_probability_unless_one_is_given_and_is_an_activity(make_customer, seller, actor):
    customer = make_customer(owner=seller.pk)
    opportunity = open_one(customer, actor)
    assert opportunity.stage == stage("Qualified") and opportunity.probability == 10
    assert opportunity.owner == seller and opportunity.status == "open"
    moved = services.move_stage(opportunity, stage("Proposal").pk, actor=actor)
    assert moved.probability == 40
    moved = services.move_stage(moved, stage("Negotiation").pk, actor=actor, probability="55")
    assert moved.probability == 55
    texts = list(Activity.objects.filter(opportunity=moved, kind="stage").values_list("text", flat=True))
    assert texts == ["Proposal → Negotiation", "Qualified → Proposal", "Qualified"]
    overridden = open_one(customer, actor, probability="25")
    assert overridden.probability == 25


def test_won_needs_an_order_of_this_customer_and_lost_a_reason(make_customer, seller, actor):
    customer, other = make_customer(owner=seller.pk), make_customer()
    opportunity = open_one(customer, actor)
    with pytest.raises(InvalidInput) as no_order:
        services.move_stage(opportunity, stage("Won").pk, actor=actor)
    assert [(e.field, e.code) for e in no_order.value.errors] == [("order", "order_required")]
    with pytest.raises(InvalidInput):
        services.move_stage(opportunity, stage("Won").pk, actor=actor, order=order_of(other).pk)
    with pytest.raises(InvalidInput) as no_reason:
        services.move_stage(opportunity, stage("Lost").pk, actor=actor)
    assert no_reason.value.errors[0].field == "lost_reason"
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Qualified") and opportunity.status == "open"
    order = order_of(customer, "o-2")
    won = services.move_stage(opportunity, stage("Won").pk, actor=actor, order=str(order.pk))
    assert (won.status, won.order, won.probability) == ("won", order, 100) and won.closed_at is not None


def test_a_stage_of_another_pipeline_and_bad_figures_are_refused(make_customer, seller, actor):
    services.default_pipeline()
    other = Pipeline.objects.create(name="Corporate gifts")
    foreign = Stage.objects.create(pipeline=other, name="Sample sent", probability=30)
    opportunity = open_one(make_customer(owner=seller.pk), actor)
    with pytest.raises(InvalidInput) as wrong:
        services.move_stage(opportunity, foreign.pk, actor=actor)
    assert (wrong.value.errors[0].field, wrong.value.errors[0].code) == ("stage", "wrong_pipeline")
    with pytest.raises(InvalidInput) as bad:
        open_one(opportunity.customer, actor, value="-1", currency="人民币", expected_close="soon", probability="120")
    assert {e.field for e in bad.value.errors} == {"value", "currency", "expected_close", "probability"}
    assert Opportunity.objects.count() == 1


def test_the_forecast_adds_decimals_by_stage_owner_and_month(make_customer, seller, actor, make_staff):
    customer = make_customer(owner=seller.pk)
    one = open_one(customer, actor, value="0.10", expected_close="2026-12-20")
    open_one(customer, actor, value="0.20", expected_close="2026-12-31")
    three = open_one(customer, actor, value="1000.05", expected_close="2027-01-15")
    services.move_stage(three, stage("Proposal").pk, actor=actor)
    services.move_stage(one, stage("Lost").pk, actor=actor, lost_reason="预算不足")
    result = services.forecast(Opportunity.objects.all(), services.default_pipeline())
    rows = {row["stage_name"]: row for row in result["stages"]}
    assert rows["Qualified"]["count"] == 1 and rows["Qualified"]["total"] == Decimal("0.20")
    assert rows["Qualified"]["weighted"] == Decimal("0.02")
    assert rows["Proposal"]["total"] == Decimal("1000.05") and rows["Proposal"]["weighted"] == Decimal("400.02")
    assert rows["Lost"]["count"] == 1 and rows["Lost"]["weighted"] == Decimal("0.00")
    assert rows["Won"]["count"] == 0
    assert result["owners"] == [
        {
            "owner": seller.username,
            "currency": "CNY",
            "count": 2,
            "total": Decimal("1000.25"),
            "weighted": Decimal("400.04"),
        }
    ]
    assert [(m["month"], m["total"]) for m in result["months"]] == [
        ("2026-12", Decimal("0.20")),
        ("2027-01", Decimal("1000.05")),
    ]


def test_sales_staff_see_only_their_customers_opportunities(make_customer, make_staff, seller, actor, store):
    mine = open_one(make_customer(owner=seller.pk), actor)
    theirs = open_one(make_customer(owner=make_staff(roles.SALES).pk), actor)
    in_store = open_one(make_customer(store=store.pk), actor)
    assert list(services.visible_opportunities(seller)) == [mine]
    clerk = make_staff(roles.STORE_STAFF, store=store)
    assert list(services.visible_opportunities(clerk)) == [in_store]
    assert services.visible_opportunities(make_staff(roles.OPERATOR)).count() == 3
    assert theirs.pk not in {o.pk for o in services.visible_opportunities(seller)}


def test_erasure_keeps_the_figures_and_blanks_the_notes(make_customer, seller, actor):
    customer = make_customer(owner=seller.pk)
    opportunity = open_one(customer, actor, title="王先生的婚礼定制")
    services.add_activity(opportunity, "call", "王先生说婚期在三月", actor=actor)
    exported = privacy.export(customer)
    assert exported["opportunities"][0]["title"] == "王先生的婚礼定制" and len(exported["opportunity_activities"]) == 2
    privacy.erase(customer, Erasure(actor=actor, request_id=1, identities=(), merged_ids=()))
    opportunity.refresh_from_db()
    assert opportunity.title == "—" and opportunity.value == Decimal("12800.00")
    assert not Activity.objects.filter(opportunity=opportunity, kind="call").exclude(text="").exists()


def test_a_merge_moves_the_opportunities_to_the_survivor(make_customer, seller, actor, system_actor):
    from rapport.customers.merge import merge_customers

    survivor, merged = make_customer(owner=seller.pk), make_customer(owner=seller.pk)
    opportunity = open_one(merged, actor)
    merge_customers(survivor, merged, actor=system_actor, reason="same person")
    opportunity.refresh_from_db()
    assert opportunity.customer == survivor
