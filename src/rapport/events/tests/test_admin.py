"""The events admin: every page opens for a superuser, what tracking wrote is read-only and shows
no traits or raw messages, and sources are saved through the services (refused and audited alike)."""

from __future__ import annotations

import base64
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.events.models import ProcessingError, Source, StagedMessage
from rapport.events.personal import seal_body
from rapport.events.services import create_source, hash_write_key
from rapport.testing.admin import assert_only_configuration_is_editable, every_change_page, registered_admins

pytestmark = pytest.mark.django_db

EVENT_ADMINS = registered_admins("events")
SECRET_TRAIT = "li.hua.private@example.com"


@pytest.fixture
def source(system_actor):
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def tracked(client, source) -> None:
    """An identify with personal traits and a page view from a visitor, through the tracking API;
    plus a staged message and a processing error."""
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
    batch = {
        "batch": [
            {"type": "identify", "userId": "u-1", "messageId": "m-1", "traits": {"email": SECRET_TRAIT}},
            {"type": "page", "anonymousId": "visitor-1", "userId": "u-1", "name": "Home", "messageId": "m-2"},
        ]
    }
    response = client.post("/v1/batch", json.dumps(batch), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    now = timezone.now()
    StagedMessage.objects.create(
        source=source,
        received_at=now,
        timestamp=now,
        type="identify",
        message_id="m-4",
        user_id="u-1",
        # stored as the tracking API stages a message: its personal traits sealed
        body=seal_body(batch["batch"][0], json.dumps(batch["batch"][0]).encode()).decode(),
    )
    ProcessingError.objects.create(source=source, message_id="m-3", field="traits.birthday", message="not a date")


def test_every_events_model_opens_its_list_and_a_change_page(admin_client, tracked):
    assert len(EVENT_ADMINS) == 6
    for model, page in every_change_page(admin_client, "events"):
        assert SECRET_TRAIT.encode() not in page.content, model


def test_what_tracking_wrote_is_read_only_and_sources_are_not_deleted(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    assert_only_configuration_is_editable(request, "events", {Source})


def test_a_source_added_in_the_admin_gets_a_write_key_and_is_audited(admin_client, admin_user):
    refused = admin_client.post(reverse("admin:events_source_add"), {"name": "App", "identity_channel": "Not Valid"})
    assert refused.status_code == 200 and "identity_channel" in refused.context["adminform"].form.errors
    assert not Source.objects.exists()

    added = admin_client.post(
        reverse("admin:events_source_add"), {"name": "App", "identity_channel": "app", "is_enabled": "on"}
    )

    assert added.status_code == 302
    source = Source.objects.get()
    assert source.write_key and source.write_key_hash == hash_write_key(source.write_key)
    assert AuditEntry.objects.get(object_type="events.source").actor == admin_user


def test_disabling_a_source_in_the_admin_is_audited_and_its_key_stays_hidden(admin_client, source):
    change_url = reverse("admin:events_source_change", args=[source.pk])
    assert source.write_key.encode() not in admin_client.get(change_url).content

    saved = admin_client.post(change_url, {"name": "Web shop", "identity_channel": "web"})

    assert saved.status_code == 302
    source.refresh_from_db()
    assert not source.is_enabled
    assert AuditEntry.objects.filter(object_type="events.source", changes__is_enabled=False).count() == 1
