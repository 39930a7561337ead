"""The loop between stock, recommendations and campaigns: a journey step that sends each customer's
own recommendations (skipping those without any), sends that leave out products forecast to run
out, and the "recommended an overstocked product" audience for pushing overstock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from rapport.campaigns import services
from rapport.campaigns.delivery import channels, content
from rapport.campaigns.models import Enrollment, Message
from rapport.commerce import services as commerce
from rapport.core.errors import InvalidInput
from rapport.inventory import queries as stock_queries
from rapport.inventory import services as stock
from rapport.inventory.models import StockItem, StockPlan
from rapport.recommendations.models import Recommendation
from rapport.recommendations.services import for_customers
from rapport.segments import services as segment_services
from rapport.segments.compiler import members

pytestmark = pytest.mark.django_db

RECOMMEND_EMAIL = [
    {"type": "heading", "text": "Picked for {{first_name}}"},
    {"type": "recommendations", "title": "For you", "count": 3, "show_reasons": True},
]


@pytest.fixture
def shelf(system_actor):
    """Three products with stock: SCARCE will run out (1 day of cover, 7 days' lead time), PLENTY
    will not, HEAP is overstocked (far more than the horizon's demand)."""
    warehouse = stock.default_location()
    products = {}
    for sku, on_hand, weekly, horizon in (
        ("SCARCE", 2, 14.0, 56.0),
        ("PLENTY", 100, 7.0, 120.0),
        ("HEAP", 500, 7.0, 28.0),
    ):
        product = commerce.upsert_product(
            data={"sku": sku, "name": f"{sku.title()} tea", "price": "30"}, actor=system_actor
        )[0]
        item = stock.record_movement(
            product, warehouse, data={"kind": "receipt", "quantity": on_hand}, actor=system_actor
        )
        StockPlan.objects.create(
            item=item, weekly_demand=weekly, horizon_demand=horizon, safety_stock=2, computed_at=timezone.now()
        )
        products[sku] = product
    return products


def recommend(customer, *products):
    Recommendation.objects.create(
        customer=customer,
        items={
            "products": [p.pk for p in products],
            "scores": [1.0 - n / 10 for n in range(len(products))],
            "reasons": ["popular"] * len(products),
            "because": [0] * len(products),
        },
        computed_at=timezone.now() - dt.timedelta(hours=1),
    )


def recommend_step(template, **options):
    return {
        "kind": "recommend",
        "config": {"channel": template.channel, "variants": [{"template": template.pk}], **options},
    }


@pytest.fixture
def email_template(system_actor):
    return services.save_template(
        data={"name": "Picks", "channel": "email", "subject": "Hi {{first_name}}", "blocks": RECOMMEND_EMAIL},
        actor=system_actor,
    )


def test_the_shop_reads_which_products_run_out_and_which_are_overstocked(shelf):
    assert set(stock_queries.running_out().values_list("product_id", flat=True)) == {shelf["SCARCE"].pk}
    assert set(stock_queries.overstocked().values_list("product_id", flat=True)) == {shelf["HEAP"].pk}


def test_a_recommend_step_needs_a_template_that_shows_recommendations(make_plan, make_template, email_template):
    with pytest.raises(InvalidInput) as caught:
        make_plan(steps=[recommend_step(make_template())])
    assert [(e.field, e.code) for e in caught.value.errors] == [("steps.0.variants.0.template", "no_recommendations")]
    make_plan(steps=[recommend_step(email_template)])
    sms = make_template(channel="sms", body="{{ recommendations[0].name }}: {{ recommendations[0].reason }}")
    plan = make_plan(steps=[recommend_step(sms, exclude_running_out=True)])
    assert plan.steps.get().config["exclude_running_out"] is True


def test_the_step_sends_each_customer_their_own_recommendations_and_skips_those_without(
    make_member, make_plan, launch, email_template, shelf, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ada, bo = make_member(name="Ada"), make_member(name="Bo")
    recommend(ada, shelf["PLENTY"], shelf["HEAP"])  # Bo has no list, and no training run gives a popular one
    plan = launch(make_plan(steps=[recommend_step(email_template), {"kind": "end"}]))
    assert list(Message.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [ada.pk]
    assert Enrollment.objects.get(plan=plan, customer=bo).state == "done"  # skipped the step, went on to the end
    channels.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    sent = mail.outbox[-1]
    assert sent.to == [ada.email] and "Plenty tea" in sent.body and "Heap tea" in sent.body


def test_a_send_can_leave_out_products_forecast_to_run_out(
    make_member, make_plan, launch, email_template, shelf, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ada = make_member(name="Ada")
    only_scarce = make_member(name="Cy")
    recommend(ada, shelf["SCARCE"], shelf["PLENTY"])
    recommend(only_scarce, shelf["SCARCE"])
    launch(make_plan(steps=[recommend_step(email_template, exclude_running_out=True)]))
    # Cy's only recommendation runs out: Cy skips the step
    assert list(Message.objects.values_list("customer_id", flat=True)) == [ada.pk]
    channels.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    assert "Plenty tea" in mail.outbox[-1].body and "Scarce tea" not in mail.outbox[-1].body

    # a plain send step without the option still shows it
    launch(
        make_plan(
            steps=[{"kind": "send", "config": {"channel": "email", "variants": [{"template": email_template.pk}]}}]
        )
    )
    channels.deliver_due(now=timezone.now() + dt.timedelta(minutes=2))
    assert any("Scarce tea" in m.body for m in mail.outbox if m.to == [ada.email])


def test_text_templates_get_the_personal_list_and_leave_out_what_runs_out(make_member, shelf):
    ada = make_member(name="Ada")
    recommend(ada, shelf["SCARCE"], shelf["PLENTY"])
    source = "{% for p in recommendations %}{{ p.name }} ({{ p.reason }}); {% endfor %}"
    plain = content.contexts_for([ada.pk], [source])[ada.pk]
    assert content.render(source, plain) == "Scarce tea (Popular right now); Plenty tea (Popular right now); "
    leaving = content.contexts_for([ada.pk], [source], leave_out={shelf["SCARCE"].pk})[ada.pk]
    assert content.render(source, leaving) == "Plenty tea (Popular right now); "
    best = "{% for p in recommendation %}{{ p.sku }} {% endfor %}"
    assert "SCARCE" not in content.render(
        best, content.contexts_for([ada.pk], [best], leave_out={shelf["SCARCE"].pk})[ada.pk]
    )


def test_a_batch_of_recommendations_is_read_in_a_fixed_number_of_queries(
    make_member, shelf, django_assert_max_num_queries
):
    customers = [make_member(name=f"M{n}") for n in range(8)]
    for customer in customers[:5]:
        recommend(customer, shelf["PLENTY"], shelf["HEAP"])
    with django_assert_max_num_queries(6):
        found = for_customers([c.pk for c in customers], limit=3)
    assert [s.product.sku for s in found[customers[0].pk]] == ["PLENTY", "HEAP"]
    assert found[customers[7].pk] == []
    # out of stock is never recommended, in a batch either
    StockItem.objects.filter(product=shelf["HEAP"]).update(on_hand=0)
    assert [s.product.sku for s in for_customers([customers[0].pk])[customers[0].pk]] == ["PLENTY"]


def test_the_overstock_audience_is_who_has_an_overstocked_product_among_their_first_recommendations(
    make_member, make_plan, launch, shelf, system_actor
):
    near, far, none = make_member(name="Near"), make_member(name="Far"), make_member(name="None")
    recommend(near, shelf["HEAP"], shelf["PLENTY"])
    recommend(far, shelf["PLENTY"], shelf["SCARCE"], shelf["HEAP"])
    recommend(none, shelf["PLENTY"])
    rule = {"all": [{"type": "recommended_overstock", "top": 2}]}
    assert set(members(rule).values_list("pk", flat=True)) == {near.pk}
    rule = {"all": [{"type": "recommended_overstock", "top": 3}]}
    assert set(members(rule).values_list("pk", flat=True)) == {near.pk, far.pk}
    # a plan's audience is a saved segment with the condition
    segment = segment_services.save_segment(data={"name": "Push overstock", "rule": rule}, actor=system_actor)
    plan = launch(make_plan(segment=segment.pk))
    assert set(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == {near.pk, far.pk}


def test_the_overstock_condition_names_its_bad_fields(admin_api, db):
    response = admin_api.post(
        "/api/v1/segments/preview",
        {"rule": {"all": [{"type": "recommended_overstock", "top": 99, "category": "nope"}]}},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} & {"rule.all.0.top", "rule.all.0.category"}


def test_the_api_takes_and_shows_a_recommend_step_and_names_a_template_without_recommendations(
    admin_api, shanghai, make_template, email_template
):
    def post(template, **options):
        body = {
            "name": "Picks",
            "kind": "one_off",
            "segment": shanghai.pk,
            "steps": [recommend_step(template, **options)],
        }
        return admin_api.post("/api/v1/campaigns/plans", body, content_type="application/json")

    refused = post(make_template())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "steps.0.variants.0.template"
    created = post(email_template, exclude_running_out=True)
    assert created.status_code == 201, created.content
    step = created.json()["steps"][0]
    assert step["kind"] == "recommend" and step["config"]["exclude_running_out"] is True
