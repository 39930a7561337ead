"""Customer merge: everything moves, nothing is lost or doubled, the merged id keeps resolving."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.commerce.models import CustomerStats, Order
from rapport.commerce.services import upsert_order
from rapport.core import pii
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.merge import (
    LARGEST_NAMESAKE_GROUP,
    decide_suggestion,
    merge_customers,
    resolve_customer_id,
    scan_weak_matches,
    suggest_weak_matches,
)
from rapport.customers.models import ChangeRecord, Customer, CustomerMerge, MergeSuggestion, name_key
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


def test_a_name_key_ignores_width_case_spacing_punctuation_and_word_order():
    assert name_key("Wang Fang") == name_key("fang  WANG") == name_key("ＷＡＮＧ, Fang") == "fangwang"
    assert name_key("张 伟") == name_key("张伟") == name_key("张·伟") == "张伟"
    assert name_key("伟张") != name_key("张伟")  # Chinese characters keep their order
    assert name_key("Wang Fang") != name_key("Wang Fan")
    assert name_key(" - ") == ""


def test_the_name_key_follows_every_change_of_the_name(make_customer, system_actor):
    customer = make_customer(name="Zhao Lei")
    assert Customer.objects.get(pk=customer.pk).name_key == "leizhao"
    update_customer(customer, data={"name": "Zhao Leilei"}, actor=system_actor)
    assert Customer.objects.get(pk=customer.pk).name_key == "leileizhao"
    customer.name = "Qian Yu"
    customer.save(update_fields=["name"])
    assert Customer.objects.get(pk=customer.pk).name_key == "qianyu"


def test_the_migration_gives_the_customers_already_there_their_name_keys(make_customer):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("rapport.customers.migrations.0005_customer_name_key")
    made = [make_customer(name=name) for name in ("Wang Fang", "张 伟", "--")]
    Customer.objects.update(name_key="")  # as the column arrives: empty for everyone
    migration.fill_name_keys(apps, None)
    assert [Customer.objects.get(pk=c.pk).name_key for c in made] == ["fangwang", "张伟", ""]


def test_a_place_is_one_whatever_the_spelling_of_its_first_line(make_customer, system_actor):
    assert pii.place_index("杭州", "西湖区", "88 Renmin Rd.") == pii.place_index("杭州", "西湖区", "88  renmin RD")
    assert pii.place_index("杭州", "西湖区", "88 Renmin Rd") != pii.place_index("杭州", "西湖区", "89 Renmin Rd")
    assert pii.place_index("杭州", "西湖区", "") is None
    customer = make_customer(name="Gao Yan")
    address(customer, system_actor, district="西湖区")
    stored = customer.addresses.get()
    assert stored.place_index == pii.place_index("杭州", "西湖区", "1 Road")
    stored.line1 = "2 Road"
    stored.save(update_fields=["line1"])
    assert customer.addresses.get().place_index == pii.place_index("杭州", "西湖区", "2 Road")


def test_the_migration_gives_the_addresses_already_there_their_place_index(make_customer, system_actor):
    from importlib import import_module

    from django.apps import apps

    from rapport.customers.models import Address

    migration = import_module("rapport.customers.migrations.0006_address_place_index")
    address(make_customer(), system_actor, district="上城区")
    Address.objects.update(place_index=None)
    migration.fill_place_indexes(apps, None)
    assert Address.objects.get().place_index == pii.place_index("杭州", "上城区", "1 Road")


def test_an_identify_finds_namesakes_written_another_way(make_customer):
    first = make_customer(name="Wang Fang", city="苏州")
    second = make_customer(name="fang wang", city="苏州")
    [suggestion] = suggest_weak_matches(second)
    assert (suggestion.first_id, suggestion.second_id) == (first.pk, second.pk)


def address(customer, system_actor, **fields):
    add_address(customer, data={"line1": "1 Road", "province": "浙江", "city": "杭州", **fields}, actor=system_actor)


def test_the_scan_pairs_namesakes_at_one_address_however_they_arrived(make_customer, system_actor):
    """Customers from imports, the console or the API are never identified: the scan pairs them."""
    at_home = make_customer(name="Sun Li", city="杭州")
    moved = make_customer(name="li sun", city="上海")
    elsewhere = make_customer(name="Sun Li", city="杭州")
    address(at_home, system_actor, district="西湖区", line1="12 Longjing Rd.")
    address(moved, system_actor, district="西湖区", line1="12 longjing  rd")
    address(elsewhere, system_actor, district="西湖区", line1="14 Longjing Rd")
    make_customer(name="Liu Yang", city="南京")
    make_customer(name="Liu Yang", city="南京")  # a city alone is too weak a tie for the scan
    assert not MergeSuggestion.objects.exists()

    assert scan_weak_matches() == 1
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.first_id, suggestion.second_id) == (at_home.pk, moved.pk)
    assert (suggestion.reason, suggestion.score) == ("same name and address", Decimal("0.800"))
    decide_suggestion(suggestion, merge=False, actor=system_actor)
    assert scan_weak_matches() == 0  # nothing new; the rejected pair stays rejected
    assert MergeSuggestion.objects.get().status == MergeSuggestion.Status.REJECTED


def test_the_scan_raises_an_open_city_pair_to_an_address_pair(make_customer, system_actor):
    first = make_customer(name="Ma Li", city="青岛")
    second = make_customer(name="Ma Li", city="青岛")
    [by_city] = suggest_weak_matches(second)
    assert by_city.score == Decimal("0.600")
    for customer in (first, second):
        address(customer, system_actor, city="青岛", line1="5 Haier Rd")
    assert scan_weak_matches() == 0
    by_city.refresh_from_db()
    assert (by_city.reason, by_city.score) == ("same name and address", Decimal("0.800"))


def test_a_pair_whose_customer_was_merged_away_meanwhile_does_not_stop_the_scan(
    make_customer, system_actor, monkeypatch
):
    from django.db import IntegrityError

    from rapport.customers import merge

    for city in ("南京", "武汉"):
        for _ in range(2):
            address(make_customer(name="Xu Jie"), system_actor, city=city, postal_code="210000")
    queue = merge._queue_pair
    calls = []

    def first_pair_gone(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise IntegrityError("insert or update violates foreign key constraint")
        return queue(*args, **kwargs)

    monkeypatch.setattr(merge, "_queue_pair", first_pair_gone)
    assert scan_weak_matches() == 1 and len(calls) == 2
    assert MergeSuggestion.objects.count() == 1


def test_a_name_too_common_in_one_place_suggests_nothing(make_customer, system_actor):
    crowd = [make_customer(name="Zhang Wei", city="北京") for _ in range(LARGEST_NAMESAKE_GROUP + 1)]
    for customer in crowd:
        address(customer, system_actor, city="北京", district="朝阳区", postal_code="100020")
    assert scan_weak_matches() == 0
    assert suggest_weak_matches(crowd[-1]) == []
    pair = [make_customer(name="zhang wei", city="西安") for _ in range(2)]
    assert len(suggest_weak_matches(pair[1])) == 1  # two in one city still mean something


def test_staff_start_the_scan_from_the_queue(
    client, make_staff, make_customer, system_actor, settings, django_capture_on_commit_callbacks
):
    from rapport.customers.tasks import scan_weak_matches as task

    assert settings.CELERY_BEAT_SCHEDULE["customers-scan-weak-matches"]["task"] == task.name
    for _ in range(2):
        address(make_customer(name="He Min"), system_actor, city="厦门", postal_code="361000")
    client.force_login(make_staff(roles.ANALYST))
    assert client.post("/customers/merges/scan/").status_code == 403
    assert not MergeSuggestion.objects.exists()
    client.force_login(make_staff(roles.SERVICE_AGENT))
    with django_capture_on_commit_callbacks(execute=True):  # the job starts once the request commits
        response = client.post("/customers/merges/scan/", follow=True)
    assert response.status_code == 200 and "Looking for namesakes" in response.content.decode()
    assert "He Min" in client.get("/customers/merges/").content.decode()
    assert MergeSuggestion.objects.get().reason == "same name and address"


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


def test_the_scan_through_the_api(
    admin_api, api_client_for, make_staff, make_customer, system_actor, django_capture_on_commit_callbacks
):
    for _ in range(2):
        address(make_customer(name="Qin Hao"), system_actor, line1="7 Wulin Rd")
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert analyst.post("/api/v1/merge-suggestions/scan").status_code == 403
    assert not MergeSuggestion.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post("/api/v1/merge-suggestions/scan")
    assert response.status_code == 202 and response.json() == {"queued": True}
    listed = admin_api.get("/api/v1/merge-suggestions").json()
    assert listed["count"] == 1 and listed["results"][0]["reason"] == "same name and address"
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post("/api/v1/merge-suggestions/scan").status_code == 202  # twice: nothing doubles
    assert MergeSuggestion.objects.count() == 1
    assert admin_api.get("/api/v1/merge-suggestions/scan").status_code == 405


def test_roles_without_merge_rights_are_refused(client, make_staff, make_customer):
    client.force_login(make_staff(roles.ANALYST))
    assert client.get("/customers/merges/").status_code == 403


def test_update_conflict_message_is_kept(make_customer, system_actor):
    make_customer(email="taken@example.com")
    other = make_customer()
    with pytest.raises(Conflict):
        update_customer(other, data={"email": "taken@example.com"}, actor=system_actor)
