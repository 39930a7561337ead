"""Customer merge: everything moves, nothing is lost or doubled, the merged id keeps resolving."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.commerce.models import CustomerStats, Order
from rapport.commerce.services import upsert_order
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.merge import decide_suggestion, merge_customers, resolve_customer_id, suggest_weak_matches
from rapport.customers.models import ChangeRecord, Customer, CustomerMerge, MergeSuggestion
from rapport.customers.services import add_address, add_identity, add_note, update_customer

pytestmark = pytest.mark.django_db


def buy(actor, customer, external_id, amount):
    upsert_order(
        data={
            "channel": "web",
            "external_id": external_id,
            "customer_id": customer.pk,
            "placed_at": "2025-05-01",
            "lines": [{"sku": "S", "name": "S", "quantity": 1, "unit_price": amount}],
        },
        actor=actor,
    )


def test_merge_moves_everything_and_keeps_the_id_resolving(make_customer, system_actor):
    survivor = make_customer(name="Wang Fang", phone="13911112222")
    merged = make_customer(name="王芳", email="fang@example.com", custom_fields={})
    add_identity(merged, channel="wechat", external_id="o-9", actor=system_actor)
    add_note(merged, body="VIP", actor=system_actor)
    add_address(merged, data={"line1": "Road 1", "city": "上海"}, actor=system_actor)
    add_address(survivor, data={"line1": "Road 2", "city": "上海"}, actor=system_actor)
    buy(system_actor, survivor, "o1", "100")
    buy(system_actor, merged, "o2", "50")
    buy(system_actor, merged, "o3", "25")

    done = merge_customers(survivor, merged, actor=system_actor, reason="same person")

    assert not Customer.objects.filter(pk=merged.pk).exists()
    survivor.refresh_from_db()
    assert survivor.email == "fang@example.com" and survivor.phone == "+8613911112222"
    assert survivor.identities.get().external_id == "o-9" and survivor.notes.count() == 1
    assert survivor.addresses.count() == 2 and survivor.addresses.filter(is_default=True).count() == 1
    assert Order.objects.filter(customer=survivor).count() == 3 and Order.objects.count() == 3
    stats = CustomerStats.objects.get(customer=survivor)
    assert stats.order_count == 3 and stats.total_spent == Decimal("175.00")
    assert not CustomerStats.objects.filter(customer_id=merged.pk).exists()
    assert done.moved["orders"] == 2 and done.moved["identities"] == 1
    assert resolve_customer_id(merged.pk) == survivor.pk
    assert ChangeRecord.objects.filter(customer=survivor, field="merged").exists()
    assert AuditEntry.objects.filter(action="merge", object_id=str(survivor.pk)).exists()


def test_chained_merges_resolve_to_the_last_survivor(make_customer, system_actor):
    a, b, c = make_customer(), make_customer(), make_customer()
    merge_customers(b, c, actor=system_actor, reason="x")
    merge_customers(a, b, actor=system_actor, reason="y")
    assert resolve_customer_id(c.pk) == a.pk and resolve_customer_id(b.pk) == a.pk


def test_a_customer_cannot_merge_into_itself_or_twice(make_customer, system_actor):
    a, b = make_customer(), make_customer()
    with pytest.raises(InvalidInput):
        merge_customers(a, a, actor=system_actor, reason="x")
    merge_customers(a, b, actor=system_actor, reason="x")
    with pytest.raises(Conflict):
        merge_customers(a, b, actor=system_actor, reason="again")
    assert CustomerMerge.objects.count() == 1


def test_weak_matches_are_suggested_and_decided(make_customer, system_actor):
    first = make_customer(name="Chen Jing", city="杭州")
    second = make_customer(name="chen jing", city="杭州")
    make_customer(name="Chen Jing", city="北京")
    [suggestion] = suggest_weak_matches(second)
    assert suggestion.reason == "same name and city" and suggestion.score == Decimal("0.600")
    decide_suggestion(suggestion, merge=False, actor=system_actor)
    assert suggest_weak_matches(second)[0].status == MergeSuggestion.Status.REJECTED  # stays rejected
    with pytest.raises(Conflict):
        decide_suggestion(suggestion, merge=True, actor=system_actor)
    assert Customer.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_merge_api_and_merged_ids_in_the_api(admin_api, make_customer):
    survivor, merged = make_customer(name="Keep"), make_customer(name="Go")
    response = admin_api.post(
        f"/api/v1/customers/{survivor.pk}/merge", {"merged_id": merged.pk}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["merged_id"] == merged.pk
    assert admin_api.get(f"/api/v1/customers/{merged.pk}").json()["id"] == survivor.pk
    again = admin_api.post(
        f"/api/v1/customers/{survivor.pk}/merge", {"merged_id": survivor.pk}, content_type="application/json"
    )
    assert again.status_code == 422
    assert (
        admin_api.post(
            f"/api/v1/customers/{survivor.pk}/merge", {"merged_id": 99999}, content_type="application/json"
        ).status_code
        == 404
    )


def test_suggestion_api_and_console(admin_api, client, make_staff, make_customer, system_actor):
    first = make_customer(name="Lin Tao", city="成都")
    second = make_customer(name="Lin Tao", city="成都")
    [suggestion] = suggest_weak_matches(second)
    listed = admin_api.get("/api/v1/merge-suggestions").json()
    assert listed["count"] == 1 and listed["results"][0]["first_id"] == first.pk
    assert admin_api.get("/api/v1/merge-suggestions", {"status": "maybe"}).status_code == 422
    bad = admin_api.post(
        f"/api/v1/merge-suggestions/{suggestion.pk}/decide", {"decision": "perhaps"}, content_type="application/json"
    )
    assert bad.status_code == 422

    client.force_login(make_staff(roles.SERVICE_AGENT))
    page = client.get("/customers/merges/").content.decode()
    assert "same name and city" in page and "Lin Tao" in page
    client.post(f"/customers/merges/{suggestion.pk}/", {"decision": "merge", "survivor": second.pk})
    assert list(Customer.objects.values_list("pk", flat=True)) == [second.pk]
    assert "Lin Tao" in client.get("/customers/merges/").content.decode()  # in the recent merges


def test_roles_without_merge_rights_are_refused(client, make_staff, make_customer):
    client.force_login(make_staff(roles.ANALYST))
    assert client.get("/customers/merges/").status_code == 403


def test_update_conflict_message_is_kept(make_customer, system_actor):
    make_customer(email="taken@example.com")
    other = make_customer()
    with pytest.raises(Conflict):
        update_customer(other, data={"email": "taken@example.com"}, actor=system_actor)
