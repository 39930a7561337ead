"""The one condition registry drives the segment builder: every registered condition, with the
value kind, choices, entity kind and unit of each field, reaches the builder's catalogue (a
condition registered by a test-only app included), and the records a condition names are found
by name through ``/api/v1/segments/lookup/<kind>`` with scope and permission checks."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from builder_test_app import registered

from rapport.accounts import roles
from rapport.accounts.scopes import CUSTOMERS_READ, SEGMENTS_READ
from rapport.campaigns.models import Message, Plan
from rapport.customers.models import Identity
from rapport.loyalty.models import Coupon, CouponKind, CouponTemplate
from rapport.segments import rules, services
from rapport.segments.explain import describe, explain
from rapport.tags.models import Tag, TagCategory

pytestmark = pytest.mark.django_db


def _types(client):
    response = client.get("/api/v1/segments/conditions")
    assert response.status_code == 200
    return {t["type"]: t for t in response.json()["types"]}


@pytest.fixture
def operator_api(make_staff, api_client_for):
    return api_client_for(make_staff(roles.OPERATOR))


def test_every_registered_condition_reaches_the_catalogue_with_what_the_builder_needs(operator_api):
    types = _types(operator_api)
    assert set(types) == set(rules.condition_types())
    coupon = {f["name"]: f for f in types["coupon_state"]["fields"]}
    assert coupon["template"]["entity"] == "coupon_template"
    assert ["issued", "Issued"] in coupon["status"]["choices"]
    tags = {f["name"]: f for f in types["tag"]["fields"]}
    assert tags["tags"]["kind"] == "multi" and tags["tags"]["entity"] == "tag"
    engagement = {f["name"]: f for f in types["message_engagement"]["fields"]}
    assert engagement["plan"]["entity"] == "plan" and engagement["window_days"]["unit"] == "days"
    assert [c[0] for c in engagement["action"]["choices"]] == ["received", "opened", "clicked"]
    assert "member_code" in types and "benefit_card" in types
    rfm = next(s for s in types["analytics"]["subjects"] if s["value"] == "rfm_segment")
    assert rfm["kind"] == "choice" and ["champions", "Champions"] in rfm["choices"]
    assert {"tag", "coupon_template", "card_type", "product", "category", "staff", "store", "plan"} <= set(
        operator_api.get("/api/v1/segments/conditions").json()["entities"]
    )


def test_a_condition_a_test_only_app_registers_appears_with_no_builder_change(operator_api, make_customer, store):
    assert "test_birth_month" not in _types(operator_api)
    with registered():
        entry = _types(operator_api)["test_birth_month"]
        assert entry["label"] == "Birth month (test app)" and entry["shape"] == "generic"
        fields = {f["name"]: f for f in entry["fields"]}
        assert ["3", "Month 3"] in fields["month"]["choices"] and fields["store"]["entity"] == "store"
        march = make_customer(name="March", birthday=dt.date(1990, 3, 5), store=store.code)
        make_customer(name="May", birthday=dt.date(1990, 5, 5))
        rule = {"type": "test_birth_month", "month": "3", "store": store.code}
        response = operator_api.post(
            "/api/v1/segments/preview", json.dumps({"rule": rule}), content_type="application/json"
        )
        assert response.status_code == 200 and [m["name"] for m in response.json()["preview"]] == ["March"]
        why = explain(rules.clean_rule(rule), march.pk)
        assert why.passed and why.actual == "3"
    assert "test_birth_month" not in _types(operator_api)


def test_lookup_finds_records_by_name_and_names_stored_values(operator_api, system_actor):
    template = CouponTemplate.objects.create(
        name="满199减20", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("20"), valid_days=30
    )
    CouponTemplate.objects.create(name="Free tea", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("5"), valid_days=9)
    body = operator_api.get("/api/v1/segments/lookup/coupon_template", {"q": "199"}).json()
    assert body["results"] == [{"value": template.pk, "label": "满199减20"}]
    named = operator_api.get("/api/v1/segments/lookup/coupon_template", {"values": str(template.pk)}).json()
    assert named["labels"] == {str(template.pk): "满199减20"}
    vip = Tag.objects.create(category=TagCategory.objects.create(name="Value"), name="VIP")
    tags = operator_api.get("/api/v1/segments/lookup/tag", {"q": "vi"}).json()["results"]
    assert tags == [{"value": vip.pk, "label": "Value/VIP"}]


def test_lookup_refuses_unknown_kinds_bad_input_missing_scope_and_permission(operator_api, make_staff, api_client_for):
    assert operator_api.get("/api/v1/segments/lookup/nothing").status_code == 404
    response = operator_api.get("/api/v1/segments/lookup/tag", {"q": "x" * 101})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "q"
    assert operator_api.get("/api/v1/segments/lookup/tag", {"q": "a\x00b"}).status_code == 422
    no_scope = api_client_for(make_staff(roles.OPERATOR), scopes=[CUSTOMERS_READ])
    assert no_scope.get("/api/v1/segments/lookup/tag").status_code == 403
    agent = api_client_for(make_staff(roles.SERVICE_AGENT), scopes=[SEGMENTS_READ])
    assert agent.get("/api/v1/segments/lookup/plan").status_code == 403


def test_message_engagement_and_member_code_select_and_explain(make_customer, system_actor):
    opened, ignored, never = (make_customer(name=n) for n in ("Opened", "Ignored", "Never sent"))
    plan = Plan.objects.create(name="Weekly email")
    now = dt.datetime.now(dt.UTC)
    for customer, opened_at in ((opened, now), (ignored, None)):
        Message.objects.create(
            plan=plan,
            customer=customer,
            channel="email",
            status="sent",
            not_before=now,
            created_at=now,
            sent_at=now - dt.timedelta(days=2),
            opened_at=opened_at,
        )
    rule = {"type": "message_engagement", "op": "did_not", "action": "opened", "plan": plan.pk, "window_days": 7}
    saved = services.save_segment(data={"name": "Did not open", "rule": rule}, actor=system_actor)
    assert set(services.segment_members(saved).values_list("name", flat=True)) == {"Ignored", "Never sent"}
    assert "Weekly email" in describe(saved.rule) and "within the last 7 days" in describe(saved.rule)
    assert explain(saved.rule, ignored.pk).passed and not explain(saved.rule, opened.pk).passed

    Identity.objects.create(customer=opened, channel="member_card", external_id="M0042")
    code_rule = {"type": "member_code", "channel": "member_card", "op": "eq", "value": "M0042"}
    by_code = services.save_segment(data={"name": "Card M0042", "rule": code_rule}, actor=system_actor)
    assert list(services.segment_members(by_code).values_list("name", flat=True)) == ["Opened"]
    assert explain(by_code.rule, opened.pk).actual == "M0042"
    assert never.pk not in set(services.segment_members(by_code).values_list("pk", flat=True))


def test_why_names_the_coupon_template_and_the_customers_count(make_customer, system_actor):
    holder = make_customer(name="Holder")
    template = CouponTemplate.objects.create(
        name="满199减20", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("20"), valid_days=30
    )
    Coupon.objects.create(template=template, code="C1", customer=holder, status="issued")
    rule = {"type": "coupon_state", "op": "has", "status": "issued", "template": template.pk}
    saved = services.save_segment(data={"name": "Holders", "rule": rule}, actor=system_actor)
    why = explain(saved.rule, holder.pk)
    assert why.passed and "满199减20" in why.text and "Issued" in why.text and why.actual == "1"
