"""Console pages: list, builder (with errors named by field), report, templates, channels."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.campaigns.models import ChannelPolicy, ContentTemplate, Plan
from rapport.loyalty.tests.factories import coupon_template
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(make_staff: Any) -> Client:
    user = make_staff(roles.OPERATOR, username="marketer")
    client = Client()
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


def _plan_post(segment_id: int, template_id: int, **extra: Any) -> dict[str, Any]:
    steps = [
        {
            "kind": "send",
            "config": {"channel": "email", "variants": [{"key": "A", "template": template_id, "weight": 100}]},
        }
    ]
    return {
        "name": "Spring sale",
        "kind": "one_off",
        "segment": str(segment_id),
        "control_percent": "10",
        "attribution_days": "7",
        "dedup_hours": "24",
        "respect_quiet_hours": "on",
        "steps": json.dumps(steps),
        **extra,
    }


def test_builder_saves_a_draft_and_shows_it(operator_client, shanghai, make_template):
    template = make_template()
    assert operator_client.get("/campaigns/new/").status_code == 200
    response = operator_client.post("/campaigns/new/", _plan_post(shanghai.pk, template.pk))
    plan = Plan.objects.get(name="Spring sale")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{plan.pk}/"
    assert plan.control_percent == 10 and plan.steps.get().config["variants"][0]["template"] == template.pk
    page = operator_client.get(f"/campaigns/{plan.pk}/")
    assert b"launch-plan" in page.content and "Spring sale" in page.content.decode()
    assert b"Spring sale" in operator_client.get("/campaigns/").content


def test_builder_names_the_bad_fields_and_saves_nothing(operator_client, shanghai):
    bad_steps = json.dumps([{"kind": "send", "config": {"channel": "fax", "variants": []}}])
    response = operator_client.post(
        "/campaigns/new/", _plan_post(shanghai.pk, 0, control_percent="80", steps=bad_steps)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "control_percent" in body and "steps.0.channel" in body and "steps.0.variants" in body
    assert not Plan.objects.exists()


def test_launching_from_the_console_sends_and_reports(
    operator_client, shanghai, make_template, make_member, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member()
    operator_client.post("/campaigns/new/", _plan_post(shanghai.pk, make_template().pk, control_percent="0"))
    plan = Plan.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/campaigns/{plan.pk}/launch/")
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.COMPLETED
    page = operator_client.get(f"/campaigns/{plan.pk}/").content.decode()
    assert 'id="report-sent">1<' in page and "plan-funnel" in page


def test_template_preview_renders_for_a_chosen_customer(operator_client, make_template, make_member):
    customer = make_member(name="周杰")
    template = make_template(body="Hi {{ customer.name }} from {{ customer.city }}")
    page = operator_client.post(
        f"/campaigns/templates/{template.pk}/",
        {
            "preview": "1",
            "customer": str(customer.pk),
            **{"name": template.name, "channel": "email", "subject": template.subject, "body": template.body},
        },
    )
    assert "Hi 周杰 from 上海" in page.content.decode()


def test_template_with_a_syntax_error_is_refused(operator_client):
    page = operator_client.post(
        "/campaigns/templates/new/", {"name": "Broken", "channel": "sms", "subject": "", "body": "{% for x in %}"}
    )
    assert page.status_code == 200 and "line 1" in page.content.decode()


def test_channel_settings_validate_quiet_hours(operator_client):
    response = operator_client.post(
        "/campaigns/channels/",
        {
            "channel": "sms",
            "is_enabled": "on",
            "daily_cap": "1",
            "weekly_cap": "3",
            "quiet_start": "22:00",
            "quiet_end": "",
            "max_attempts": "5",
        },
    )
    assert response.status_code == 200 and "quiet_end" in response.content.decode()
    response = operator_client.post(
        "/campaigns/channels/",
        {
            "channel": "sms",
            "is_enabled": "on",
            "daily_cap": "1",
            "weekly_cap": "3",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "max_attempts": "5",
        },
    )
    assert response.status_code == 302 and ChannelPolicy.objects.get(channel="sms").daily_cap == 1


def test_customer_page_lists_the_messages_plans_sent(operator_client, make_member, make_plan, launch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer = make_member()
    plan = launch(make_plan(name="Autumn note"))
    page = operator_client.get(f"/customers/{customer.pk}/?tab=messages").content.decode()
    assert "Autumn note" in page and f"/campaigns/{plan.pk}/" in page


def test_customer_page_shows_that_their_email_is_suppressed_with_the_evidence(operator_client, make_member):
    from django.utils import timezone

    from rapport.campaigns.models import EmailSuppression

    customer = make_member()
    EmailSuppression.objects.create(
        address_index=customer.email_index,
        customer=customer,
        evidence="hard bounce 5.1.1 of rapport-7: 550 5.1.1 user unknown",
        created_at=timezone.now(),
    )
    page = operator_client.get(f"/customers/{customer.pk}/?tab=messages").content.decode()
    assert 'id="email-suppression"' in page and "550 5.1.1 user unknown" in page


def test_an_email_is_saved_from_the_block_editor_and_previewed_in_its_frame(operator_client, make_member):
    customer = make_member(name="Ada Lovelace")
    blocks = [
        {"type": "heading", "text": "Hello {{first_name}}"},
        {"type": "image", "src": "https://img.example.com/a.png"},
    ]
    response = operator_client.post(
        "/campaigns/templates/new/",
        {"name": "Designed", "channel": "email", "subject": "Hi", "format": "blocks", "blocks": json.dumps(blocks)},
    )
    template = ContentTemplate.objects.get(name="Designed")
    assert response.status_code == 302 and [b["type"] for b in template.blocks] == ["heading", "image", "footer"]
    frame = operator_client.post(
        "/campaigns/templates/email-frame/",
        {"customer": str(customer.pk), "subject": "Hi", "blocks": json.dumps(template.blocks)},
    )
    policy = frame["Content-Security-Policy"]
    assert "Hello Ada" in frame.content.decode() and "https:" in policy and "script-src 'none'" in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    broken = operator_client.post("/campaigns/templates/email-frame/", {"customer": str(customer.pk), "blocks": "[{"})
    assert broken.status_code == 200 and "Fix the marked fields" in broken.content.decode()


def test_a_bad_block_from_the_editor_is_named_beside_its_field(operator_client):
    page = operator_client.post(
        "/campaigns/templates/new/",
        {"name": "Bad", "channel": "email", "subject": "Hi", "format": "blocks", "blocks": '[{"type": "button"}]'},
    )
    data = page.context["editor"]["errors"]
    assert "blocks.0.label" in data and "blocks.0.url" in data
    assert not ContentTemplate.objects.filter(name="Bad").exists()


@pytest.mark.parametrize("key", ["welcome-en", "new-arrivals-zh", "coupon-zh"])
def test_a_starter_fills_a_new_template_that_saves_as_it_is(operator_client, key):
    coupon_template(name="满199减20")
    page = operator_client.get(f"/campaigns/templates/new/?starter={key}")
    editor = page.context["editor"]
    values = page.context["values"]
    assert values["format"] == "blocks" and editor["value"]
    response = operator_client.post(
        "/campaigns/templates/new/",
        {
            "name": values["name"],
            "channel": "email",
            "subject": values["subject"],
            "format": "blocks",
            "blocks": json.dumps(editor["value"]),
        },
    )
    assert response.status_code == 302, page.context.get("errors")


def test_the_library_lists_english_and_chinese_starters(operator_client):
    page = operator_client.get("/campaigns/templates/").content.decode()
    assert 'id="starter-welcome-en"' in page and 'id="starter-coupon-zh"' in page and "Welcome a new member" in page


def test_the_sms_composer_counts_segments(operator_client, make_template):
    template = make_template(channel="sms", subject="", body="会" * 71)
    page = operator_client.get(f"/campaigns/templates/{template.pk}/").content.decode()
    assert "71 characters · 2 SMS (UCS-2)" in page
