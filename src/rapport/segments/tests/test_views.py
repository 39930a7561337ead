"""Console pages for segments through Django's test client."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.segments.models import Segment
from rapport.segments.tests.conftest import SHANGHAI_RULE
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(make_staff):
    client = Client()
    assert client.login(username=make_staff(roles.OPERATOR, username="op").username, password=STAFF_PASSWORD)
    return client


def test_list_shows_saved_segments_and_the_nav_link(operator_client, shanghai):
    response = operator_client.get("/segments/")
    assert response.status_code == 200
    assert "上海" in response.text and 'href="/segments/"' in response.text


def test_builder_page_carries_the_catalogue_and_the_script(operator_client, shop):
    response = operator_client.get("/segments/new/")
    assert response.status_code == 200
    assert 'id="segment-catalogue"' in response.text and "segments/builder.js" in response.text
    assert response.context["catalogue"]["types"]


def test_builder_saves_a_segment(operator_client, shop):
    response = operator_client.post(
        "/segments/new/", {"name": "Shanghai", "rule": json.dumps(SHANGHAI_RULE), "snapshot_schedule": "on"}
    )
    segment = Segment.objects.get(name="Shanghai")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.created_by.username == "op"


def test_builder_shows_rule_errors_for_the_script_to_place(operator_client, shop):
    rule = {"all": [{"type": "profile", "field": "age", "op": "gt", "value": "x"}]}
    response = operator_client.post("/segments/new/", {"name": "Bad", "rule": json.dumps(rule)})
    assert response.status_code == 200
    assert [e["field"] for e in response.context["rule_errors"]] == ["rule.all.0.value"]
    assert not Segment.objects.filter(name="Bad").exists()


def test_detail_shows_count_portrait_and_snapshots(operator_client, shanghai):
    operator_client.post(f"/segments/{shanghai.pk}/snapshot/")
    response = operator_client.get(f"/segments/{shanghai.pk}/")
    assert response.status_code == 200
    assert response.context["count"] == 2
    assert 'id="dimension-gender"' in response.text and 'id="snapshot-table"' in response.text
    assert shanghai.snapshots.count() == 1


def test_console_export_is_masked_for_an_operator(operator_client, shanghai):
    response = operator_client.get(f"/segments/{shanghai.pk}/export/?format=csv")
    text = b"".join(response.streaming_content).decode()
    assert "Amy" in text and "13912345678" not in text


def test_template_gallery_and_use(operator_client):
    response = operator_client.get("/segments/templates/")
    assert "Lapsed buyers" in response.text
    template = Segment.objects.get(template_key="lapsed-buyers")
    used = operator_client.post(f"/segments/templates/{template.pk}/use/")
    copy = Segment.objects.get(is_template=False, name="Lapsed buyers")
    assert used["Location"] == f"/segments/{copy.pk}/edit/"


def test_delete(operator_client, shanghai):
    response = operator_client.post(f"/segments/{shanghai.pk}/delete/")
    assert response.status_code == 302 and not Segment.objects.filter(pk=shanghai.pk).exists()


def test_roles_without_segments_are_refused(make_staff, shanghai):
    client = Client()
    client.login(username=make_staff(roles.SERVICE_AGENT).username, password=STAFF_PASSWORD)
    assert client.get("/segments/").status_code == 403
    assert client.get("/segments/new/").status_code == 403
