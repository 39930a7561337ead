"""The segment builder in Chromium, in English and Chinese, on a desktop and a 390×844 phone: an
operator builds "Champions in 上海 who hold an unused 满199减20 coupon and did not open last
week's email" by picking (no key, no id typed), sees the count, saves; and the builder offers a
condition that a test-only app registered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from builder_test_app import registered

from rapport.accounts import roles
from rapport.analytics.models import CustomerMetrics
from rapport.campaigns.models import Message, Plan
from rapport.loyalty.models import Coupon, CouponKind, CouponTemplate
from rapport.segments.models import Segment
from rapport.testing.browser import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(make_customer):
    now = dt.datetime.now(dt.UTC)
    template = CouponTemplate.objects.create(
        name="满199减20", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("20"), valid_days=30
    )
    plan = Plan.objects.create(name="Weekly newsletter")
    people = {
        "target": ("上海", "champions", True, False),
        "opened": ("上海", "champions", True, True),
        "beijing": ("北京", "champions", True, False),
        "loyal": ("上海", "loyal", True, False),
        "no coupon": ("上海", "champions", False, False),
    }
    for name, (city, segment, has_coupon, opened) in people.items():
        customer = make_customer(name=name, city=city)
        CustomerMetrics.objects.create(
            customer=customer, computed_at=now, rfm_segment=segment, lifecycle_stage="active"
        )
        if has_coupon:
            Coupon.objects.create(template=template, code=f"C-{customer.pk}", customer=customer, status="issued")
        Message.objects.create(
            plan=plan,
            customer=customer,
            channel="email",
            status="sent",
            not_before=now,
            created_at=now,
            sent_at=now - dt.timedelta(days=3),
            opened_at=now if opened else None,
        )
    return template, plan


@pytest.fixture
def builder_page(open_page, sign_in, make_staff, request):
    language, viewport = request.param
    make_staff(roles.OPERATOR, username="builder")
    page = open_page(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone")
    return sign_in("builder", language=language, page=page), language


def _add(page, condition_type):
    page.click("#rule-builder .add-condition >> nth=0")
    condition = page.locator(".rule-condition").last
    condition.locator(".condition-type").select_option(condition_type)
    return condition


def _pick(condition, field, text):
    picker = condition.locator(f".generic-field[data-field={field}] .entity-picker")
    picker.locator("input.entity-search").fill(text)
    picker.locator("li.entity-result").first.click()
    picker.locator(".chip").wait_for()


CASES = [("en", "desktop"), ("zh-hans", "desktop"), ("en", "phone"), ("zh-hans", "phone")]


@pytest.mark.parametrize("builder_page", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_an_operator_builds_the_segment_by_picking_sees_the_count_and_saves(builder_page, shop):
    page, language = builder_page
    template, plan = shop
    page.goto("/segments/new/")

    champions = _add(page, "analytics")
    champions.locator(".subject").select_option("rfm_segment")
    champions.locator("select.value").select_option("champions")

    city = _add(page, "profile")
    city.locator(".subject").select_option("city")
    city.locator("input.value").fill("上海")

    coupon = _add(page, "coupon_state")
    coupon.locator("select[data-field=status]").select_option("issued")
    _pick(coupon, "template", "199")
    assert "满199减20" in coupon.inner_text()

    email = _add(page, "message_engagement")
    email.locator("select[data-field=op]").select_option("did_not")
    email.locator("select[data-field=action]").select_option("opened")
    _pick(email, "plan", "Weekly")
    email.locator("select[data-field=channel]").select_option("email")
    email.locator("select.window-preset").select_option("7")

    page.wait_for_function("() => document.getElementById('live-count').textContent === '1'")
    assert "target" in page.inner_text("#live-preview")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    if language == "zh-hans":
        assert "选择" in page.inner_text("#rule-builder") or "条件" in page.inner_text("#rule-builder")

    page.fill("#id_name", "Champions who did not open")
    page.click("#save-segment")
    segment = Segment.objects.get(name="Champions who did not open")
    page.wait_for_url(f"**/segments/{segment.pk}/")
    assert page.inner_text("#segment-count") == "1"
    parts = {part["type"]: part for part in segment.rule["all"]}
    assert parts["coupon_state"]["template"] == template.pk and parts["coupon_state"]["status"] == "issued"
    assert parts["message_engagement"] == {
        "type": "message_engagement",
        "op": "did_not",
        "action": "opened",
        "plan": plan.pk,
        "channel": "email",
        "window_days": 7,
    }

    page.goto(f"/segments/{segment.pk}/edit/")  # a saved rule shows names, not ids
    page.locator(".chip", has_text="满199减20").wait_for()
    page.locator(".chip", has_text="Weekly newsletter").wait_for()


@pytest.mark.parametrize("builder_page", [("en", "desktop")], indirect=True)
def test_the_builder_offers_a_condition_a_test_only_app_registered(builder_page, store, make_customer):
    page, _language = builder_page
    make_customer(name="March baby", birthday=dt.date(1991, 3, 9), store=store.code)
    with registered():
        page.goto("/segments/new/")
        condition = _add(page, "test_birth_month")
        condition.locator("select[data-field=month]").select_option("3")
        _pick(condition, "store", "Shanghai")
        page.wait_for_function("() => document.getElementById('live-count').textContent === '1'")
        assert "March baby" in page.inner_text("#live-preview")
