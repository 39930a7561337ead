"""The plan step "grant a personal promotion": everyone who reaches it holds the promotion for the
step's hours (never past the promotion's end), once per customer and journey run; the checkout's
engine offers it to them only while it is valid; a message shows it as ``promotion``; a bad step
names its field; and the plan's hold-out group measures the promotion's incremental revenue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from rapport.campaigns import services
from rapport.campaigns.delivery import channels
from rapport.campaigns.models import Enrollment, Step
from rapport.commerce.services import upsert_order
from rapport.core.errors import InvalidInput
from rapport.promotions import holdouts, steps
from rapport.promotions.models import PersonalPromotion, Promotion, PromotionKind
from rapport.promotions.pricing import CartLine
from rapport.promotions.services import Shopper, create_promotion, price_cart
from rapport.promotions.tests.factories import personal_promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def lapsed_gold(db) -> Promotion:
    return personal_promotion(per_customer_limit=1)


def _grant_step(promotion: Promotion, hours: object = 72) -> dict[str, object]:
    return {"kind": "promotion", "config": {"promotion": promotion.pk, "hours": hours}}


def _cart() -> list[CartLine]:
    return [CartLine("TEE", 3, Decimal("80.00"), "tops")]


def test_a_grant_step_gives_each_customer_the_promotion_for_its_hours_and_the_engine_honours_it_then(
    make_member, make_plan, launch, lapsed_gold
):
    granted, other = make_member(), make_member()
    before = timezone.now()
    plan = launch(make_plan(steps=[_grant_step(lapsed_gold, 72)]))
    grants = {g.customer_id: g for g in PersonalPromotion.objects.filter(promotion=lapsed_gold)}
    assert set(grants) == {granted.pk, other.pk}
    mine = grants[granted.pk]
    assert mine.plan_id == plan.pk and mine.key.startswith(f"plan:{plan.pk}:step:")
    assert before + dt.timedelta(hours=72) <= mine.valid_until <= timezone.now() + dt.timedelta(hours=72)

    stranger = Shopper(customer_id=None)
    assert price_cart(_cart(), shopper=Shopper(customer_id=granted.pk)).quote.total == Decimal("210.00")
    assert price_cart(_cart(), shopper=stranger).quote.total == Decimal("240.00")
    later = mine.valid_until + dt.timedelta(seconds=1)
    assert price_cart(_cart(), shopper=Shopper(customer_id=granted.pk), at=later).quote.total == Decimal("240.00")


def test_a_redone_chunk_grants_nothing_twice_and_a_new_run_grants_again(make_member, make_plan, launch, lapsed_gold):
    customer = make_member()
    plan = launch(make_plan(steps=[_grant_step(lapsed_gold)]))
    step = Step.objects.get(plan=plan)
    enrollment = Enrollment.objects.get(plan=plan)
    again = [(enrollment.pk, customer.pk)]
    steps.grant_for_enrollments(step.config, again, plan_id=plan.pk, step_id=step.pk, now=timezone.now())
    assert PersonalPromotion.objects.filter(customer=customer).count() == 1
    steps.grant_for_enrollments(
        step.config, [(enrollment.pk + 1, customer.pk)], plan_id=plan.pk, step_id=step.pk, now=timezone.now()
    )
    assert PersonalPromotion.objects.filter(customer=customer).count() == 2


def test_a_grant_never_outlasts_the_promotion(make_member, make_plan, launch, lapsed_gold):
    make_member()
    lapsed_gold.ends_at = timezone.now() + dt.timedelta(hours=5)
    lapsed_gold.save()
    launch(make_plan(steps=[_grant_step(lapsed_gold, 72)]))
    assert PersonalPromotion.objects.get().valid_until == lapsed_gold.ends_at


def test_a_message_after_the_grant_shows_the_promotion(
    make_member, make_plan, make_template, launch, lapsed_gold, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member()
    template = make_template(
        subject="{{ promotion.name }}",
        body="{{ promotion.offer }} (spend {{ promotion.threshold }}: {{ promotion.discount }}) "
        "until {{ promotion.expires_at }}",
    )
    send = {"kind": "send", "config": {"channel": "email", "variants": [{"template": template.pk}]}}
    launch(make_plan(steps=[_grant_step(lapsed_gold, 72), send]))
    channels.deliver_due()
    [sent] = mail.outbox
    grant = PersonalPromotion.objects.get()
    assert sent.subject == "Welcome back 满199减30"
    expires = timezone.localtime(grant.valid_until).strftime("%Y-%m-%d %H:%M")
    assert sent.body.startswith(f"Spend 199, get 30 off (spend 199: 30 off) until {expires}")


def test_a_block_email_shows_the_promotion_in_its_block(
    make_member, make_plan, launch, lapsed_gold, system_actor, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member()
    blocks = [{"type": "heading", "text": "Hello {{first_name}}"}, {"type": "promotion", "title": ""}]
    template = services.save_template(
        data={"name": "Win back", "channel": "email", "subject": "For you", "blocks": blocks}, actor=system_actor
    )
    send = {"kind": "send", "config": {"channel": "email", "variants": [{"template": template.pk}]}}
    launch(make_plan(steps=[_grant_step(lapsed_gold, 72), send]))
    channels.deliver_due()
    [sent] = mail.outbox
    html, _kind = sent.alternatives[0]
    expires = timezone.localtime(PersonalPromotion.objects.get().valid_until).strftime("%Y-%m-%d %H:%M")
    assert f"Welcome back 满199减30\nSpend 199, get 30 off\nValid until {expires}" in sent.body
    assert "personal-promotion" in html and "Spend 199, get 30 off" in html


@pytest.mark.parametrize(
    ("config", "field", "code"),
    [
        ({"promotion": 999999}, "steps.0.promotion", "not_found"),
        ({"promotion": "x"}, "steps.0.promotion", "not_found"),
        ({"hours": 0}, "steps.0.hours", "invalid"),
        ({"hours": 24 * 367}, "steps.0.hours", "invalid"),
        ({"hours": "soon"}, "steps.0.hours", "invalid"),
    ],
)
def test_a_bad_grant_step_names_its_field(make_plan, lapsed_gold, config, field, code):
    with pytest.raises(InvalidInput) as caught:
        make_plan(steps=[{"kind": "promotion", "config": {"promotion": lapsed_gold.pk, **config}}])
    assert (field, code) in [(e.field, e.code) for e in caught.value.errors]


def test_only_a_personal_promotion_that_runs_can_be_granted(make_plan, lapsed_gold, system_actor):
    public, _ = create_promotion(
        {
            "code": "all",
            "name": "All",
            "kind": PromotionKind.FULL_REDUCTION,
            "starts_at": timezone.now(),
            "tiers": [{"threshold": "100", "amount_off": "10"}],
        },
        actor=system_actor,
    )
    with pytest.raises(InvalidInput) as caught:
        make_plan(steps=[_grant_step(public)])
    assert [(e.field, e.code) for e in caught.value.errors] == [("steps.0.promotion", "invalid")]
    lapsed_gold.is_active = False
    lapsed_gold.save()
    with pytest.raises(InvalidInput) as caught:
        make_plan(steps=[_grant_step(lapsed_gold)])
    assert [(e.field, e.code) for e in caught.value.errors] == [("steps.0.promotion", "inactive")]


def _order(customer, system_actor, ext, total):
    upsert_order(
        data={
            "channel": "web",
            "external_id": ext,
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": timezone.now() + dt.timedelta(hours=1),
            "lines": [{"sku": "S", "name": "Item", "quantity": 1, "unit_price": total}],
        },
        actor=system_actor,
    )


def test_incremental_revenue_compares_revenue_per_customer_of_treated_and_held_out(
    make_member, make_plan, launch, lapsed_gold, system_actor
):
    members = {m.pk: m for m in (make_member() for _ in range(24))}
    plan = launch(make_plan(steps=[_grant_step(lapsed_gold)], control_percent=50, attribution_days=7))
    held = set(
        Enrollment.objects.filter(plan=plan, state=Enrollment.State.HELD_OUT).values_list("customer_id", flat=True)
    )
    treated = sorted(set(members) - held)
    assert len(held) >= 2 and len(treated) >= 2, "a 50% hold-out of 24 holds out some, not all"
    spend = {pk: Decimal(100 + 10 * i) for i, pk in enumerate(treated[:4])}
    spend.update({pk: Decimal(50) for pk in sorted(held)[:1]})
    for pk, total in spend.items():
        _order(members[pk], system_actor, f"o{pk}", f"{total:.2f}")

    [comparison] = holdouts.comparisons(lapsed_gold)
    groups = comparison.groups
    assert (groups.plan_id, groups.window_days, comparison.granted) == (plan.pk, 7, len(treated))
    assert (groups.treated.customers, groups.held_out.customers) == (len(treated), len(held))
    treated_revenue = sum((spend[pk] for pk in treated if pk in spend), Decimal(0))
    assert groups.treated.revenue == treated_revenue and groups.held_out.revenue == Decimal(50)
    expected = treated_revenue / len(treated) - Decimal(50) / len(held)
    assert comparison.difference == expected.quantize(Decimal("0.01"))
    assert comparison.low is not None and comparison.low < comparison.difference < comparison.high
    assert comparison.incremental_revenue == (comparison.difference * len(treated)).quantize(Decimal("0.01"))


def test_no_comparison_without_a_hold_out(make_member, make_plan, launch, lapsed_gold):
    make_member()
    launch(make_plan(steps=[_grant_step(lapsed_gold)]))
    assert holdouts.comparisons(lapsed_gold) == []


def test_the_journey_canvas_adds_a_grant_step_and_names_its_promotion(
    make_plan, make_template, make_staff, lapsed_gold
):
    from django.test import Client

    from rapport.accounts import roles
    from rapport.testing.fixtures import STAFF_PASSWORD

    client = Client()
    assert client.login(username=make_staff(roles.OPERATOR, username="marketer").username, password=STAFF_PASSWORD)
    site = make_template("site")
    plan = make_plan(
        kind="journey",
        trigger={"type": "inactivity", "days": 90},
        segment=None,
        steps=[{"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}}],
    )
    url = f"/campaigns/{plan.pk}/canvas/"
    form = client.get(url + "?add=trigger:next&kind=promotion").content.decode()
    assert 'id="id_promotion"' in form and "Welcome back 满199减30 (lapsed-gold)" in form
    added = {"op": "add", "source": "trigger", "branch": "next", "kind": "promotion", "hours": "48"}
    response = client.post(url, {**added, "promotion": str(lapsed_gold.pk)})
    assert response.status_code == 302
    assert plan.steps.get(position=1).config == {"promotion": lapsed_gold.pk, "hours": 48}
    assert ">Welcome back 满199减30 (l" in client.get(url).content.decode()  # the node names it, shortened
    refused = client.post(url, {**added, "promotion": ""})
    assert refused.status_code == 200 and 'data-field="steps.0.promotion"' in refused.content.decode()
