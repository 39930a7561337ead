"""The campaigns admin: every page opens for a superuser, what the engine wrote is read-only, and
templates and channel policies are saved through the services (refused and audited alike)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.campaigns import services
from rapport.campaigns.models import (
    Bounce,
    ChannelPolicy,
    ContentTemplate,
    EmailSuppression,
    Message,
    SiteMessage,
    SplitDecision,
)
from rapport.testing.admin import assert_only_configuration_is_editable, every_change_page, registered_admins

pytestmark = pytest.mark.django_db

CAMPAIGN_ADMINS = registered_admins("campaigns")
CONFIGURATION = {ContentTemplate, ChannelPolicy}


@pytest.fixture
def campaign_rows(make_member, make_plan, launch, system_actor, settings) -> None:
    """A launched plan with its message, plus one row of every other registered campaigns model."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer = make_member(consent=("email",))
    services.save_policy("sms", data={"daily_cap": 1}, actor=system_actor)
    plan = launch(make_plan())
    message = Message.objects.get(plan=plan)
    now = timezone.now()
    SplitDecision.objects.create(enrollment=message.enrollment, step=message.step, branch="yes", decided_at=now)
    SiteMessage.objects.create(customer=customer, title="Hello", body="Welcome", created_at=now)
    Bounce.objects.create(
        message=message,
        customer=customer,
        address_index=customer.email_index,
        kind="hard",
        source="smtp",
        received_at=now,
    )
    EmailSuppression.objects.create(
        address_index=customer.email_index, customer=customer, evidence="hard bounce 5.1.1", created_at=now
    )


def test_every_campaigns_model_opens_its_list_and_a_change_page(admin_client, campaign_rows):
    assert len(CAMPAIGN_ADMINS) == 9
    assert len(list(every_change_page(admin_client, "campaigns"))) == 9


def test_what_the_engine_wrote_is_read_only_and_configuration_is_not_deleted_here(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    assert_only_configuration_is_editable(request, "campaigns", CONFIGURATION)


def test_a_template_the_console_would_refuse_is_refused_with_the_field_named(admin_client):
    response = admin_client.post(
        reverse("admin:campaigns_contenttemplate_add"),
        {"name": "Spring", "channel": "email", "subject": "", "body": "Hello {{ customer.name "},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["subject"] == ["an email needs a subject"]
    assert errors["body"][0].startswith("line 1: unexpected end of template")
    assert not ContentTemplate.objects.exists()
    assert not AuditEntry.objects.filter(object_type="campaigns.contenttemplate").exists()


def test_a_template_saved_in_the_admin_goes_through_the_service_and_is_audited(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:campaigns_contenttemplate_add"),
        {"name": "Spring", "channel": "sms", "subject": "", "body": "Hi {{ customer.name }}"},
    )

    assert response.status_code == 302
    template = ContentTemplate.objects.get()
    entry = AuditEntry.objects.get(object_type="campaigns.contenttemplate")
    assert (entry.action, entry.actor, entry.object_id) == ("create", admin_user, str(template.pk))


def _policy_form(**overrides: str) -> dict[str, str]:
    data = {
        "is_enabled": "on",
        "gateway_url": "https://sms.example.com/send",
        "new_gateway_secret": "",
        "daily_cap": "2",
        "weekly_cap": "5",
        "quiet_start": "",
        "quiet_end": "",
        "max_attempts": "5",
    }
    data.update(overrides)
    return data


def test_a_channel_policy_keeps_its_secret_unshown_and_refuses_what_the_console_refuses(admin_client, system_actor):
    policy = services.save_policy("sms", data={"gateway_secret": "s3cret-value"}, actor=system_actor)
    change_url = reverse("admin:campaigns_channelpolicy_change", args=[policy.pk])

    assert b"s3cret-value" not in admin_client.get(change_url).content
    refused = admin_client.post(change_url, _policy_form(daily_cap="9", weekly_cap="3", quiet_start="21:00"))
    assert refused.status_code == 200
    assert {"weekly_cap", "quiet_end"} <= set(refused.context["adminform"].form.errors)

    saved = admin_client.post(change_url, _policy_form(daily_cap="1"))
    assert saved.status_code == 302
    policy.refresh_from_db()
    assert (policy.daily_cap, policy.gateway_secret) == (1, "s3cret-value")
    assert AuditEntry.objects.filter(object_type="campaigns.channelpolicy", source="console").count() == 1
