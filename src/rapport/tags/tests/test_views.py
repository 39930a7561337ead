"""Console pages for tags through the Django test client: what each role sees and may do."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.accounts import roles
from rapport.customers.models import Customer
from rapport.customers.services import assign_owner
from rapport.tags import services
from rapport.tags.models import CustomerTag, SyncDelivery, Tag, TagBatch, TagCategory, TagHistory
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(make_staff):
    def sign_in(role=roles.OPERATOR, **kwargs):
        user = make_staff(role, **kwargs)
        client = Client()
        assert client.login(username=user.username, password=STAFF_PASSWORD)
        return client, user

    return sign_in


def test_tag_list_shows_categories_with_colour_chips_and_counts(signed_in, make_tag, make_customer, system_actor):
    client, _user = signed_in()
    tag = make_tag("Tea lover", colour="#1e8e3e")
    services.add_tags(make_customer(), [tag], actor=system_actor)
    page = client.get("/tags/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tea lover" in html and "#1e8e3e" in html and "Interests" in html
    assert 'href="/tags/"' in client.get("/customers/").content.decode()  # the nav link


def test_create_category_and_manual_tag_from_the_console(signed_in):
    client, _user = signed_in()
    assert client.post("/tags/", {"name": "Hobbies", "description": "What they enjoy"}).status_code == 302
    category = TagCategory.objects.get(name="Hobbies")
    response = client.post(
        "/tags/new/",
        {"category": category.pk, "name": "Golf", "type": "manual", "colour": "#2f5bd3", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Tag.objects.get(name="Golf").colour == "#2f5bd3"


def test_automatic_tag_rule_errors_preview_and_run(signed_in, category, make_customer):
    client, _user = signed_in()
    make_customer(city="上海")
    make_customer(city="北京")
    base = {"category": category.pk, "name": "Shanghai", "type": "automatic", "colour": "#2f5bd3", "is_active": "on"}

    not_json = client.post("/tags/new/", {**base, "rule": "{oops"})
    assert not_json.status_code == 200 and "Not valid JSON" in not_json.content.decode()
    bad_rule = client.post("/tags/new/", {**base, "rule": '{"type": "profile", "field": "shoe"}'})
    assert "rule.field" in bad_rule.content.decode()
    rule = '{"type": "profile", "field": "city", "op": "eq", "value": "上海"}'
    preview = client.post("/tags/new/", {**base, "rule": rule, "preview": "1"})
    assert 'id="preview-count"' in preview.content.decode() and "selects 1 customer" in preview.content.decode()
    assert not Tag.objects.exists()

    created = client.post("/tags/new/", {**base, "rule": rule})
    tag = Tag.objects.get(name="Shanghai")
    assert created.status_code == 302 and tag.is_automatic
    ran = client.post(f"/tags/{tag.pk}/evaluate/", follow=True)
    assert "1 added" in ran.content.decode()
    assert CustomerTag.objects.filter(tag=tag).count() == 1


def test_customer_tab_adds_and_removes_tags_with_history(signed_in, make_customer, make_tag):
    client, user = signed_in(roles.SERVICE_AGENT)
    customer = make_customer(name="Li Na")
    tag = make_tag("Complained")
    tab = client.get(f"/customers/{customer.pk}/?tab=tags")
    assert tab.status_code == 200 and 'id="add-tag-form"' in tab.content.decode()

    added = client.post(f"/tags/customers/{customer.pk}/add/", {"tag": tag.pk}, follow=True)
    assert "Complained" in added.content.decode()
    assert CustomerTag.objects.filter(customer=customer, tag=tag, added_by=user, source="console").exists()
    client.post(f"/tags/customers/{customer.pk}/remove/{tag.pk}/")
    assert not CustomerTag.objects.filter(customer=customer).exists()
    history = client.get(f"/customers/{customer.pk}/?tab=tags").content.decode()
    assert "added" in history and "removed" in history and user.username in history


def test_sales_staff_cannot_tag_someone_elses_customer_or_manage_tags(signed_in, make_customer, make_tag, system_actor):
    client, seller = signed_in(roles.SALES)
    mine, theirs = make_customer(), make_customer()
    assign_owner(Customer.objects.filter(pk=mine.pk), owner=seller, actor=system_actor)
    tag = make_tag("Met")
    assert client.post(f"/tags/customers/{theirs.pk}/add/", {"tag": tag.pk}).status_code == 404
    assert client.post(f"/tags/customers/{mine.pk}/add/", {"tag": tag.pk}).status_code == 302
    assert client.post("/tags/new/", {"name": "X"}).status_code == 403
    assert client.get("/tags/batch/").status_code == 403
    assert client.get("/tags/sync/").status_code == 403
    assert set(CustomerTag.objects.values_list("customer_id", flat=True)) == {mine.pk}


def test_batch_from_the_customer_list_filters(signed_in, make_customer, make_tag):
    client, _user = signed_in()
    shanghai = [make_customer(city="上海"), make_customer(city="上海")]
    make_customer(city="北京")
    tag = make_tag("Batch")
    page = client.get("/tags/batch/", {"city": "上海", "order_by": "name"})
    assert "2 customers match" in page.content.decode()
    done = client.post("/tags/batch/", {"city": "上海", "tag": tag.pk, "action": "add"})
    batch = TagBatch.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/tags/batches/{batch.pk}/"
    assert set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True)) == {c.pk for c in shanghai}
    assert client.get(done["Location"]).status_code == 200

    bad = client.post("/tags/batch/", {"member_status": "royal", "tag": tag.pk, "action": "add"})
    assert bad.status_code == 200 and "member_status" in bad.content.decode()
    assert TagBatch.objects.count() == 1


def test_batch_from_an_uploaded_file_reports_unknown_rows(signed_in, make_customer, make_tag):
    client, _user = signed_in()
    customer = make_customer()
    tag = make_tag("From file")
    upload = SimpleUploadedFile("ids.csv", f"id\n{customer.pk}\n99999999\n".encode(), content_type="text/csv")
    done = client.post("/tags/batch/file/", {"tag": tag.pk, "action": "add", "file": upload}, follow=True)
    html = done.content.decode()
    assert 'id="batch-report"' in html and "99999999" in html
    assert CustomerTag.objects.filter(tag=tag, customer=customer).exists()
    bad = SimpleUploadedFile("ids.pdf", b"%PDF-1.4", content_type="application/pdf")
    refused = client.post("/tags/batch/file/", {"tag": tag.pk, "action": "add", "file": bad})
    assert refused.status_code == 422 and TagBatch.objects.count() == 1


def test_templates_page_applies_a_template(signed_in):
    client, _user = signed_in()
    page = client.get("/tags/templates/")
    assert "Lifecycle" in page.content.decode()
    client.post("/tags/templates/value/apply/")
    assert set(Tag.objects.values_list("name", flat=True)) == {"VIP", "Regular"}


def test_sync_page_adds_an_endpoint_and_retries_dead_letters(signed_in, make_customer, make_tag, system_actor):
    client, _user = signed_in()
    added = client.post("/tags/sync/", {"name": "WeCom", "url": "http://127.0.0.1:9/hook", "max_attempts": 1})
    assert 'id="new-secret"' in added.content.decode()
    services.add_tags(make_customer(), [make_tag("T")], actor=system_actor)
    from rapport.tags.sync import deliver_due

    deliver_due()
    page = client.get("/tags/sync/").content.decode()
    assert 'id="dead-letters"' in page
    client.post("/tags/sync/dead-letters/retry/")
    assert SyncDelivery.objects.get().status == "pending"
    assert TagHistory.objects.count() == 1


def test_analyst_sees_tags_but_no_forms(signed_in, make_customer, make_tag):
    client, _user = signed_in(roles.ANALYST)
    customer = make_customer()
    make_tag("Seen")
    assert client.get("/tags/").status_code == 200
    tab = client.get(f"/customers/{customer.pk}/?tab=tags").content.decode()
    assert 'id="add-tag-form"' not in tab
    assert client.post("/tags/", {"name": "New"}).status_code == 403


def test_batch_from_a_saved_segment(signed_in, make_customer, make_tag):
    from rapport.segments.models import Segment

    client, _user = signed_in()
    customer = make_customer(city="上海")
    segment = Segment.objects.create(name="SH", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"})
    tag = make_tag("Seg")
    assert 'id="batch-segment-form"' in client.get("/tags/batch/").content.decode()
    done = client.post("/tags/batch/segment/", {"segment": segment.pk, "tag": tag.pk, "action": "add"}, follow=True)
    assert "SH" in done.content.decode()
    assert CustomerTag.objects.filter(tag=tag, customer=customer).exists()
