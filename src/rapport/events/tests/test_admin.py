"""The events admin: every page opens for a superuser, what tracking wrote is read-only and shows
no traits or raw messages, and sources are saved through the services (refused and audited alike)."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core.admin import ReadOnlyAdmin
from rapport.events.models import ProcessingError, Source, StagedMessage
from rapport.events.services import create_source, hash_write_key

pytestmark = pytest.mark.django_db

EVENT_ADMINS = {
    model: model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label == "events"
}
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
    StagedMessage.objects.create(source=source, received_at=timezone.now(), message=json.dumps(batch["batch"][0]))
    ProcessingError.objects.create(source=source, message_id="m-3", field="traits.birthday", message="not a date")


def test_every_events_model_opens_its_list_and_a_change_page(admin_client, tracked):
    assert len(EVENT_ADMINS) == 6
    for model in EVENT_ADMINS:
        name = f"admin:events_{model._meta.model_name}"
        assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200, model
        row = model._default_manager.first()
        assert row is not None, model
        page = admin_client.get(reverse(f"{name}_change", args=[row.pk]))
        assert page.status_code == 200, model
        assert SECRET_TRAIT.encode() not in page.content, model


def test_what_tracking_wrote_is_read_only_and_sources_are_not_deleted(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    for model, model_admin in EVENT_ADMINS.items():
        assert not model_admin.has_delete_permission(request), model
        if model is Source:
            assert model_admin.has_add_permission(request) and model_admin.has_change_permission(request)
        else:
            assert isinstance(model_admin, ReadOnlyAdmin), model
            assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request)


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
