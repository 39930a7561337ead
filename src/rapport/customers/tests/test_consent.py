"""Consent per channel and purpose: defaults, the ledger, all-or-none input, segments, merges, API, page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.core.errors import InvalidInput
from rapport.customers import consent
from rapport.customers.merge import merge_customers
from rapport.customers.models import Consent, ConsentRecord, Customer
from rapport.segments.compiler import compile_rule
from rapport.segments.rules import Context

pytestmark = pytest.mark.django_db


def test_defaults_marketing_refused_service_allowed(make_customer):
    customer = make_customer(name="Li Lei")
    assert not consent.has_consent(customer.pk, "email", "marketing")
    assert consent.has_consent(customer.pk, "email", "service")


def test_decisions_are_recorded_once_each_with_who_and_evidence(make_customer, system_actor):
    customer = make_customer(name="Li Lei")
    first = consent.set_consent(
        customer, channel="sms", purpose="marketing", granted=True, actor=system_actor, evidence="store sign-up"
    )
    again = consent.set_consent(customer, channel="sms", purpose="marketing", granted=True, actor=system_actor)
    assert len(first) == 1 and again == []
    assert consent.has_consent(customer.pk, "sms", "marketing")
    consent.withdraw_marketing(customer, actor=system_actor, evidence="unsubscribe link")
    assert not consent.has_consent(customer.pk, "sms", "marketing")
    history = list(ConsentRecord.objects.filter(customer=customer, channel="sms", purpose="marketing"))
    assert [r.granted for r in history] == [False, True]
    assert history[1].evidence == "store sign-up" and history[0].actor_label == system_actor.describe()


def test_bad_decision_changes_nothing(make_customer, system_actor):
    customer = make_customer(name="Li Lei")
    with pytest.raises(InvalidInput) as caught:
        consent.set_consents(
            customer,
            [
                {"channel": "email", "purpose": "marketing", "granted": True},
                {"channel": "fax", "purpose": "marketing", "granted": True},
                {"channel": "sms", "purpose": "spam", "granted": "yes"},
            ],
            actor=system_actor,
        )
    assert {e.field for e in caught.value.errors} == {"consents[1].channel", "consents[2].purpose"}
    assert not Consent.objects.exists() and not ConsentRecord.objects.exists()


def test_consenting_q_matches_has_consent(make_customer, system_actor):
    granted, refused, undecided = (make_customer(name=n) for n in ("A", "B", "C"))
    consent.set_consent(granted, channel="email", purpose="marketing", granted=True, actor=system_actor)
    consent.set_consent(refused, channel="email", purpose="service", granted=False, actor=system_actor)
    marketing = set(Customer.objects.filter(consent.consenting_q("email", "marketing")).values_list("pk", flat=True))
    service = set(Customer.objects.filter(consent.consenting_q("email", "service")).values_list("pk", flat=True))
    assert marketing == {granted.pk}
    assert service == {granted.pk, undecided.pk}


def test_segment_condition_on_consent(make_customer, system_actor):
    yes, no = make_customer(name="Yes"), make_customer(name="No")
    consent.set_consent(yes, channel="wechat", purpose="marketing", granted=True, actor=system_actor)
    rule = {"type": "consent", "channel": "wechat", "purpose": "marketing", "granted": True}
    assert list(
        Customer.objects.filter(compile_rule(rule, Context(now=timezone.now()))).values_list("pk", flat=True)
    ) == [yes.pk]
    refused = {**rule, "granted": False}
    assert list(
        Customer.objects.filter(compile_rule(refused, Context(now=timezone.now()))).values_list("pk", flat=True)
    ) == [no.pk]


def test_merge_keeps_the_newer_decision_and_the_whole_ledger(make_customer, system_actor):
    survivor, merged = make_customer(name="Wang Fang"), make_customer(name="王芳")
    consent.set_consent(survivor, channel="email", purpose="marketing", granted=True, actor=system_actor)
    consent.set_consent(merged, channel="email", purpose="marketing", granted=True, actor=system_actor)
    consent.withdraw_marketing(merged, actor=system_actor)  # later than the survivor's yes
    consent.set_consent(merged, channel="sms", purpose="marketing", granted=True, actor=system_actor)
    merge_customers(survivor, merged, actor=system_actor, reason="same person")
    assert not consent.has_consent(survivor.pk, "email", "marketing")
    assert consent.has_consent(survivor.pk, "sms", "marketing")
    assert ConsentRecord.objects.filter(customer=survivor).count() == 4
    assert not Consent.objects.filter(customer_id=merged.pk).exists()


def test_api_reads_and_writes_consents(make_customer, admin_api):
    customer = make_customer(name="Li Lei")
    response = admin_api.put(
        f"/api/v1/customers/{customer.pk}/consents",
        {"consents": [{"channel": "email", "purpose": "marketing", "granted": True}], "evidence": "web form"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    cells = {(c["channel"], c["purpose"]): c for c in response.json()["consents"]}
    assert cells[("email", "marketing")]["granted"] and cells[("email", "marketing")]["explicit"]
    assert not cells[("sms", "marketing")]["granted"] and not cells[("sms", "marketing")]["explicit"]
    assert response.json()["history"][0]["evidence"] == "web form"

    bad = admin_api.put(
        f"/api/v1/customers/{customer.pk}/consents",
        {"consents": [{"channel": "email", "purpose": "gossip", "granted": False}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "consents[0].purpose"
    assert consent.has_consent(customer.pk, "email", "marketing")


def test_analyst_may_read_but_not_write_consents(make_customer, make_staff, api_client_for):
    customer = make_customer(name="Li Lei")
    analyst = api_client_for(make_staff(roles.ANALYST), scopes=["customers:read", "customers:write"])
    assert analyst.get(f"/api/v1/customers/{customer.pk}/consents").status_code == 200
    body = {"consents": [{"channel": "email", "purpose": "marketing", "granted": True}]}
    assert (
        analyst.put(f"/api/v1/customers/{customer.pk}/consents", body, content_type="application/json").status_code
        == 403
    )
