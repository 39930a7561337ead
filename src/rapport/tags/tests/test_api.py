"""The tags API: good and bad input, 404 outside the data scope, 403 without the right, and
nothing written when a request fails."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.accounts import roles
from rapport.accounts.scopes import CUSTOMERS_READ, TAGS_READ
from rapport.customers.models import Customer
from rapport.customers.services import assign_owner
from rapport.tags import services
from rapport.tags.models import CustomerTag, SyncDelivery, Tag, TagBatch, TagCategory, TagHistory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def fields_of(response):
    return {e["field"] for e in response.json()["errors"]}


def test_create_categories_and_tags_then_list_them(admin_api):
    created = admin_api.post("/api/v1/tag-categories", {"name": "Interests", "position": 2}, content_type=JSON)
    assert created.status_code == 201, created.content
    category_id = created.json()["id"]
    tag = admin_api.post(
        "/api/v1/tags",
        {"category": "Interests", "name": "Tea", "colour": "#1E8E3E", "description": "Likes tea"},
        content_type=JSON,
    )
    assert tag.status_code == 201, tag.content
    assert tag.json()["colour"] == "#1e8e3e" and tag.json()["category"]["id"] == category_id

    listed = admin_api.get("/api/v1/tags", {"category": "Interests"}).json()
    assert listed["count"] == 1 and listed["results"][0]["holder_count"] == 0
    assert admin_api.get("/api/v1/tag-categories").json()[0]["tag_count"] == 1
    patched = admin_api.patch(f"/api/v1/tags/{tag.json()['id']}", {"name": "Green tea"}, content_type=JSON)
    assert patched.status_code == 200 and patched.json()["name"] == "Green tea"


def test_bad_tags_are_422_with_field_paths_and_write_nothing(admin_api, category):
    response = admin_api.post(
        "/api/v1/tags",
        {"category": category.pk, "name": "", "colour": "green", "type": "automatic", "rule": {"any": [{"type": "x"}]}},
        content_type=JSON,
    )
    assert response.status_code == 422
    assert fields_of(response) == {"name", "colour", "rule.any.0.type"}
    unknown = admin_api.post("/api/v1/tags", {"category": category.pk, "name": "A", "shade": "x"}, content_type=JSON)
    assert unknown.status_code == 422 and fields_of(unknown) == {"body.shade"}
    wrong_type = admin_api.post(
        "/api/v1/tags", {"category": category.pk, "name": "A", "type": "smart"}, content_type=JSON
    )
    assert wrong_type.status_code == 422 and fields_of(wrong_type) == {"body.type"}
    assert not Tag.objects.exists()


def test_tag_a_customer_twice_then_remove(admin_api, make_customer, make_tag):
    customer = make_customer()
    tea = make_tag("Tea")
    url = f"/api/v1/customers/{customer.pk}/tags"
    first = admin_api.post(url, {"tags": [tea.pk, "Interests/Tea"]}, content_type=JSON)
    assert first.status_code == 200, first.content
    assert first.json()["added"] == [tea.pk] and first.json()["tags"][0]["tag"]["name"] == "Tea"
    again = admin_api.post(url, {"tags": ["Interests/Tea"]}, content_type=JSON)
    assert again.json()["added"] == []
    assert TagHistory.objects.count() == 1

    assert admin_api.delete(f"{url}/{tea.pk}").status_code == 204
    assert admin_api.get(url).json() == []
    history = admin_api.get(f"/api/v1/customers/{customer.pk}/tag-history").json()
    assert [e["action"] for e in history["results"]] == ["removed", "added"]
    assert history["results"][0]["source"] == "api"


def test_unknown_tags_and_customers_are_404_or_422_and_write_nothing(admin_api, make_customer, make_tag):
    customer = make_customer()
    tea = make_tag("Tea")
    bad = admin_api.post(
        f"/api/v1/customers/{customer.pk}/tags", {"tags": [tea.pk, 9999, "No/Such"]}, content_type=JSON
    )
    assert bad.status_code == 422 and fields_of(bad) == {"tags.1", "tags.2"}
    empty = admin_api.post(f"/api/v1/customers/{customer.pk}/tags", {"tags": []}, content_type=JSON)
    assert empty.status_code == 422 and fields_of(empty) == {"body.tags"}
    assert not CustomerTag.objects.exists()
    for url in ["/api/v1/tags/9999", "/api/v1/customers/9999/tags", "/api/v1/tag-sync/dead-letters/9999/retry"]:
        method = admin_api.post if url.endswith("retry") else admin_api.get
        response = method(url)
        assert response.status_code == 404, url
        assert response.json()["errors"][0]["code"] == "not_found"


def test_sales_staff_tag_only_their_customers_and_cannot_manage_tags(
    make_staff, make_customer, make_tag, api_client_for, system_actor
):
    seller = make_staff(roles.SALES)
    mine, theirs = make_customer(), make_customer()
    assign_owner(Customer.objects.filter(pk=mine.pk), owner=seller, actor=system_actor)
    tag = make_tag("Met in store")
    api = api_client_for(seller)

    assert api.post(f"/api/v1/customers/{mine.pk}/tags", {"tags": [tag.pk]}, content_type=JSON).status_code == 200
    hidden = api.post(f"/api/v1/customers/{theirs.pk}/tags", {"tags": [tag.pk]}, content_type=JSON)
    assert hidden.status_code == 404
    assert api.post("/api/v1/tags", {"category": "Interests", "name": "X"}, content_type=JSON).status_code == 403
    batch = api.post(f"/api/v1/tags/{tag.pk}/batch", {"action": "add", "filters": {}}, content_type=JSON)
    assert batch.status_code == 403
    assert set(CustomerTag.objects.values_list("customer_id", flat=True)) == {mine.pk}


def test_analysts_read_but_cannot_tag_and_tokens_need_the_scope(make_staff, make_customer, make_tag, api_client_for):
    customer = make_customer()
    tag = make_tag("Read only")
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert analyst.get("/api/v1/tags").status_code == 200
    refused = analyst.post(f"/api/v1/customers/{customer.pk}/tags", {"tags": [tag.pk]}, content_type=JSON)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "forbidden"

    operator = make_staff(roles.OPERATOR)
    narrow = api_client_for(operator, scopes=[CUSTOMERS_READ, TAGS_READ])
    no_scope = narrow.post(f"/api/v1/customers/{customer.pk}/tags", {"tags": [tag.pk]}, content_type=JSON)
    assert no_scope.status_code == 403 and no_scope.json()["errors"][0]["code"] == "missing_scope"
    assert not CustomerTag.objects.exists()


def test_batch_endpoints_by_filters_ids_rule_and_file(admin_api, make_customer, make_tag, system_actor):
    from rapport.customers.services import add_identity

    a, b = make_customer(city="上海"), make_customer(city="北京")
    add_identity(b, channel="web", external_id="u-2", actor=system_actor)
    tag = make_tag("Batch")
    url = f"/api/v1/tags/{tag.pk}/batch"

    by_filter = admin_api.post(url, {"action": "add", "filters": {"city": "上海"}}, content_type=JSON).json()
    assert (by_filter["matched"], by_filter["changed"]) == (1, 1)
    by_ids = admin_api.post(url, {"action": "add", "ids": [a.pk, "web:u-2", 424242]}, content_type=JSON).json()
    assert by_ids["changed"] == 1 and [u["line"] for u in by_ids["unknown"]] == [3]
    by_rule = admin_api.post(
        url,
        {"action": "remove", "rule": {"type": "profile", "field": "city", "op": "eq", "value": "北京"}},
        content_type=JSON,
    ).json()
    assert by_rule["changed"] == 1
    upload = SimpleUploadedFile("ids.csv", f"customer_id\n{b.pk}\nweb:nobody\n".encode(), content_type="text/csv")
    by_file = admin_api.post(f"{url}/file", {"action": "add", "file": upload})
    assert by_file.status_code == 200, by_file.content
    assert by_file.json()["changed"] == 1 and by_file.json()["unknown"][0]["line"] == 3
    assert set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True)) == {a.pk, b.pk}
    assert TagBatch.objects.count() == 4


def test_bad_batches_write_nothing(admin_api, make_customer, make_tag):
    make_customer(city="上海")
    tag = make_tag("Batch")
    url = f"/api/v1/tags/{tag.pk}/batch"
    two = admin_api.post(url, {"action": "add", "filters": {}, "ids": [1]}, content_type=JSON)
    assert two.status_code == 422 and fields_of(two) == {"body"}
    bad_filter = admin_api.post(url, {"action": "add", "filters": {"member_status": "royal"}}, content_type=JSON)
    assert bad_filter.status_code == 422 and fields_of(bad_filter) == {"member_status"}
    bad_rule = admin_api.post(url, {"action": "add", "rule": {"all": []}}, content_type=JSON)
    assert bad_rule.status_code == 422 and fields_of(bad_rule) == {"rule.all"}
    bad_action = admin_api.post(url, {"action": "toggle", "filters": {}}, content_type=JSON)
    assert bad_action.status_code == 422 and fields_of(bad_action) == {"body.action"}
    not_a_file = SimpleUploadedFile("ids.pdf", b"%PDF", content_type="application/pdf")
    assert admin_api.post(f"{url}/file", {"action": "add", "file": not_a_file}).status_code == 422
    assert not CustomerTag.objects.exists() and not TagBatch.objects.exists()


def test_automatic_tag_run_now_and_preview(admin_api, make_customer, category):
    make_customer(city="上海")
    make_customer(city="北京")
    rule = {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    assert admin_api.post("/api/v1/tag-rules/preview", {"rule": rule}, content_type=JSON).json() == {"count": 1}
    bad = admin_api.post("/api/v1/tag-rules/preview", {"rule": {"type": "profile"}}, content_type=JSON)
    assert bad.status_code == 422 and fields_of(bad) == {"rule.field"}
    tag = admin_api.post(
        "/api/v1/tags", {"category": category.pk, "name": "SH", "type": "automatic", "rule": rule}, content_type=JSON
    ).json()
    run = admin_api.post(f"/api/v1/tags/{tag['id']}/evaluate")
    assert run.status_code == 200 and run.json()["added"] == 1
    assert admin_api.post(f"/api/v1/tags/{tag['id']}/evaluate").json()["added"] == 0
    manual = admin_api.post(
        f"/api/v1/customers/{Customer.objects.first().pk}/tags", {"tags": [tag["id"]]}, content_type=JSON
    )
    assert manual.status_code == 422 and manual.json()["errors"][0]["code"] == "automatic"


def test_templates_list_and_apply(admin_api):
    keys = {t["key"] for t in admin_api.get("/api/v1/tag-templates").json()}
    assert {"lifecycle", "value", "service"} <= keys
    applied = admin_api.post("/api/v1/tag-templates/service/apply")
    assert applied.status_code == 200 and applied.json()["tags_created"] == 4
    assert admin_api.post("/api/v1/tag-templates/nope/apply").status_code == 404
    assert TagCategory.objects.filter(name="Service").exists()


def test_sync_endpoints_and_dead_letters(admin_api, make_customer, make_tag, system_actor):
    created = admin_api.post(
        "/api/v1/tag-sync/endpoints",
        {"name": "CRM", "url": "http://127.0.0.1:9/x", "max_attempts": 1},
        content_type=JSON,
    )
    assert created.status_code == 201 and len(created.json()["secret"]) > 20
    assert "secret" not in admin_api.get("/api/v1/tag-sync/endpoints").json()[0]
    bad = admin_api.post("/api/v1/tag-sync/endpoints", {"name": "", "url": "nope"}, content_type=JSON)
    assert bad.status_code == 422 and fields_of(bad) == {"name", "url"}

    services.add_tags(make_customer(), [make_tag("T")], actor=system_actor)
    from rapport.tags.sync import deliver_due

    assert deliver_due()["dead"] == 1
    dead = admin_api.get("/api/v1/tag-sync/dead-letters").json()
    assert dead["count"] == 1 and dead["results"][0]["attempts"] == 1
    delivery_id = dead["results"][0]["id"]
    assert admin_api.post(f"/api/v1/tag-sync/dead-letters/{delivery_id}/retry").json() == {"retried": 1}
    assert SyncDelivery.objects.get().status == "pending"
    not_dead = admin_api.post(f"/api/v1/tag-sync/dead-letters/{delivery_id}/retry")
    assert not_dead.status_code == 422
    assert admin_api.post("/api/v1/tag-sync/dead-letters/retry", {}, content_type=JSON).json() == {"retried": 0}


def test_delete_unused_tag_and_refuse_used_one(admin_api, make_customer, make_tag, system_actor):
    used, unused = make_tag("Used"), make_tag("Unused")
    services.add_tags(make_customer(), [used], actor=system_actor)
    assert admin_api.delete(f"/api/v1/tags/{unused.pk}").status_code == 204
    refused = admin_api.delete(f"/api/v1/tags/{used.pk}")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "in_use"


def test_batch_by_saved_segment_id(admin_api, make_customer, make_tag):
    from rapport.segments.models import Segment

    customer = make_customer(city="上海")
    segment = Segment.objects.create(name="SH", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"})
    tag = make_tag("Seg")
    done = admin_api.post(f"/api/v1/tags/{tag.pk}/batch", {"action": "add", "segment": segment.pk}, content_type=JSON)
    assert done.status_code == 200 and done.json()["changed"] == 1
    assert CustomerTag.objects.filter(tag=tag, customer=customer).exists()
    missing = admin_api.post(f"/api/v1/tags/{tag.pk}/batch", {"action": "add", "segment": 999}, content_type=JSON)
    assert missing.status_code == 404 and fields_of(missing) == {"segment"}
