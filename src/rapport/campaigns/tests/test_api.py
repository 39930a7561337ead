"""``/api/v1/campaigns``: plans and their life cycle, reports, templates, channels, scopes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import CAMPAIGNS_READ
from rapport.audit.models import AuditEntry
from rapport.campaigns.models import ContentTemplate, EmailSuppression, Plan
from rapport.customers.models import Customer

pytestmark = pytest.mark.django_db


def _plan_body(segment_id: int, template_id: int, **extra: object) -> dict[str, object]:
    return {
        "name": "Win-back",
        "kind": "one_off",
        "segment": segment_id,
        "control_percent": 20,
        "steps": [{"kind": "send", "config": {"channel": "email", "variants": [{"template": template_id}]}}],
        **extra,
    }


def test_create_launch_and_report_a_plan(
    admin_api, shanghai, make_template, make_member, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(5):
        make_member(consent=("email",))
    created = admin_api.post(
        "/api/v1/campaigns/plans", _plan_body(shanghai.pk, make_template().pk), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["status"] == "draft" and plan["steps"][0]["kind"] == "send"

    with django_capture_on_commit_callbacks(execute=True):
        launched = admin_api.post(f"/api/v1/campaigns/plans/{plan['id']}/launch")
    assert launched.status_code == 200
    fetched = admin_api.get(f"/api/v1/campaigns/plans/{plan['id']}")
    assert fetched.status_code == 200, fetched.content[:3000]
    assert fetched.json()["status"] == "completed"

    report = admin_api.get(f"/api/v1/campaigns/plans/{plan['id']}/report").json()
    assert report["audience"] == 5
    assert report["sent"] + report["control"] == 5
    assert report["uplift"]["control"]["size"] == report["control"]

    again = admin_api.post(f"/api/v1/campaigns/plans/{plan['id']}/launch")
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"


def test_bad_plan_is_refused_with_every_field_named(admin_api, shanghai):
    response = admin_api.post(
        "/api/v1/campaigns/plans",
        {
            "name": "",
            "kind": "journey",
            "trigger": {"type": "moon_phase"},
            "control_percent": 70,
            "steps": [
                {"kind": "wait", "config": {"minutes": 0}},
                {"kind": "split", "config": {"rule": {"type": "nope"}, "yes": 9}},
                {
                    "kind": "send",
                    "config": {
                        "channel": "email",
                        "variants": [{"template": 999, "weight": 60}, {"template": 998, "weight": 60}],
                    },
                },
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "name",
        "trigger.type",
        "control_percent",
        "steps.0.minutes",
        "steps.1.yes",
        "steps.2.variants.0.template",
        "steps.2.variants",
    } <= fields
    assert any(f.startswith("steps.1.rule") for f in fields)
    assert not Plan.objects.exists()


def test_unknown_fields_are_refused(admin_api, shanghai, make_template):
    response = admin_api.post(
        "/api/v1/campaigns/plans",
        {**_plan_body(shanghai.pk, make_template().pk), "colour": "red"},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.colour"


def test_a_launched_plan_cannot_be_edited(admin_api, shanghai, make_template, system_actor):
    plan = admin_api.post(
        "/api/v1/campaigns/plans", _plan_body(shanghai.pk, make_template().pk), content_type="application/json"
    ).json()
    admin_api.post(f"/api/v1/campaigns/plans/{plan['id']}/launch")
    response = admin_api.patch(
        f"/api/v1/campaigns/plans/{plan['id']}", {"name": "Renamed"}, content_type="application/json"
    )
    assert response.status_code == 409


def test_read_scope_cannot_launch(api_client_for, make_staff, shanghai, make_template, system_actor):
    from rapport.campaigns import services

    plan = services.save_plan(data=_plan_body(shanghai.pk, make_template().pk), actor=system_actor)
    client = api_client_for(make_staff(roles.OPERATOR), scopes=[CAMPAIGNS_READ])
    assert client.get("/api/v1/campaigns/plans").json()["count"] == 1
    refused = client.post(f"/api/v1/campaigns/plans/{plan.pk}/launch")
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "missing_scope"


def test_templates_preview_and_validation(admin_api, make_member):
    customer = make_member(name="Ada")
    bad = admin_api.post(
        "/api/v1/campaigns/templates",
        {"name": "x", "channel": "email", "subject": "Hi", "body": "{{ customer.__class__ }}{{ secrets }}"},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "unknown_variable"
    made = admin_api.post(
        "/api/v1/campaigns/templates",
        {
            "name": "Welcome",
            "channel": "email",
            "subject": "Hi {{ customer.name }}",
            "body": "Welcome, {{ customer.name }}!",
        },
        content_type="application/json",
    )
    assert made.status_code == 201
    preview = admin_api.post(
        f"/api/v1/campaigns/templates/{made.json()['id']}/preview",
        {"customer_id": customer.pk},
        content_type="application/json",
    )
    assert preview.json() == {"subject": "Hi Ada", "body": "Welcome, Ada!"}
    missing = admin_api.post(
        f"/api/v1/campaigns/templates/{made.json()['id']}/preview",
        {"customer_id": 999999},
        content_type="application/json",
    )
    assert missing.status_code == 404


def test_sandbox_refuses_reaching_python_internals(admin_api, make_member):
    customer = make_member()
    made = admin_api.post(
        "/api/v1/campaigns/templates",
        {"name": "Sneaky", "channel": "sms", "body": "{{ customer.name.__class__.__mro__ }}"},
        content_type="application/json",
    )
    preview = admin_api.post(
        f"/api/v1/campaigns/templates/{made.json()['id']}/preview",
        {"customer_id": customer.pk},
        content_type="application/json",
    )
    assert (
        preview.status_code == 422 and preview.json()["errors"][0]["code"] in ("unsafe", "render_failed")
    ) or "class" not in preview.json().get("body", "")


def test_channel_policy_changes_and_refuses_nonsense(admin_api):
    ok = admin_api.patch(
        "/api/v1/campaigns/channels/sms",
        {"daily_cap": 1, "weekly_cap": 4, "quiet_start": "21:30", "quiet_end": "08:30"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["quiet_start"] == "21:30:00"
    bad = admin_api.patch(
        "/api/v1/campaigns/channels/sms", {"daily_cap": 5, "weekly_cap": 2}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "weekly_cap"
    assert admin_api.patch("/api/v1/campaigns/channels/fax", {}, content_type="application/json").status_code == 404


# Bounce webhook ---------------------------------------------------------------------------------

BOUNCE_SECRET = "email-provider-secret"


def _signed_post(client, body: bytes, content_type: str = "application/json", secret: str = BOUNCE_SECRET):
    import time

    from rapport.tags.sync import sign

    timestamp = str(int(time.time()))
    return client.post(
        "/api/v1/campaigns/bounces",
        body,
        content_type=content_type,
        headers={"X-Rapport-Timestamp": timestamp, "X-Rapport-Signature": sign(secret, timestamp, body)},
    )


@pytest.fixture
def delivered_email(make_member, make_plan, launch, settings, system_actor):
    from rapport.campaigns import services
    from rapport.campaigns.models import Message

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RAPPORT_BOUNCE_DOMAIN = "bounces.shop.example"
    services.save_policy("email", data={"gateway_secret": BOUNCE_SECRET}, actor=system_actor)
    make_member(consent=("email",))
    plan = launch(make_plan())
    return plan, Message.objects.get(plan=plan)


def test_a_signed_bounce_webhook_marks_the_message_and_the_report(client, admin_api, delivered_email):
    import json

    from rapport.campaigns.models import Bounce, EmailSuppression

    plan, message = delivered_email
    body = json.dumps(
        {"events": [{"id": message.key, "status": "5.1.1", "diagnostic": "550 5.1.1 user unknown"}]}
    ).encode()

    response = _signed_post(client, body)
    again = _signed_post(client, body)

    assert response.status_code == 200 and response.json() == {"applied": 1}
    assert again.json() == {"applied": 0}
    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.source, bounce.diagnostic) == ("hard", "webhook", "550 5.1.1 user unknown")
    assert EmailSuppression.objects.get().customer_id == message.customer_id
    report = admin_api.get(f"/api/v1/campaigns/plans/{plan.pk}/report").json()
    assert (report["sent"], report["delivered"], report["bounced"]) == (1, 0, 1)


def test_a_bounce_webhook_takes_a_kind_instead_of_a_code_and_the_raw_dsn(client, delivered_email):
    import json
    from pathlib import Path

    from rapport.campaigns.delivery import bounces
    from rapport.campaigns.models import Bounce

    _plan, message = delivered_email
    soft = _signed_post(client, json.dumps({"events": [{"id": message.key, "kind": "soft"}]}).encode())
    assert soft.status_code == 200 and Bounce.objects.get().kind == "soft"

    Bounce.objects.all().delete()
    message.__class__.objects.filter(pk=message.pk).update(status="delivered")
    dsn = (Path(__file__).parent / "fixtures" / "bounces" / "qmail_hard.eml").read_text()
    dsn = dsn.replace("{message_id}", bounces.message_id_header(message.pk)).replace("{recipient}", "x@example.com")
    raw = _signed_post(
        client, dsn.replace("{bounce_address}", "bounce@bounces.shop.example").encode(), "message/rfc822"
    )
    assert raw.status_code == 200 and raw.json() == {"applied": 1}
    assert Bounce.objects.get().status == "5.1.1"


@pytest.mark.parametrize(
    ("body", "content_type", "field", "code"),
    [
        (b"{not json", "application/json", "body", "invalid_json"),
        (b'{"events": []}', "application/json", "events", "invalid"),
        (b'{"events": [{"id": "123", "status": "5.1.1"}]}', "application/json", "events.0.id", "invalid"),
        (b'{"events": [{"id": "rapport-1", "status": "550"}]}', "application/json", "events.0.status", "invalid"),
        (b'{"events": [{"id": "rapport-1", "kind": "medium"}]}', "application/json", "events.0.kind", "invalid"),
        (b'{"events": [{"id": "rapport-1"}]}', "application/json", "events.0.status", "required"),
        (b'{"events": ["rapport-1"]}', "application/json", "events.0", "invalid"),
        (b"\r\n", "message/rfc822", "body", "malformed"),
        (
            b"From: MAILER-DAEMON@x.example\r\nSubject: failure notice\r\n\r\n550 no",
            "message/rfc822",
            "body",
            "unknown_message",
        ),
    ],
)
def test_a_malformed_bounce_webhook_is_refused_naming_the_reason_and_stores_nothing(
    client, delivered_email, body, content_type, field, code
):
    from rapport.campaigns.models import Bounce, Message

    response = _signed_post(client, body, content_type)

    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field and response.json()["errors"][0]["code"] == code
    assert not Bounce.objects.exists() and not Message.objects.filter(status="bounced").exists()


def test_a_bounce_webhook_with_a_bad_signature_is_refused(client, delivered_email):
    import json

    from rapport.campaigns.models import Bounce

    _plan, message = delivered_email
    body = json.dumps({"events": [{"id": message.key, "status": "5.1.1"}]}).encode()

    forged = _signed_post(client, body, secret="guessed")
    unsigned = client.post("/api/v1/campaigns/bounces", body, content_type="application/json")

    assert forged.status_code == 403 and forged.json()["errors"][0]["code"] == "bad_signature"
    assert unsigned.status_code == 403
    assert not Bounce.objects.exists()


# Splits on engagement ------------------------------------------------------------------------------


def test_an_engagement_split_is_saved_checked_and_reported_per_branch(admin_api, shanghai, make_template):
    template = make_template()
    send = {"kind": "send", "config": {"channel": "email", "variants": [{"template": template.pk}]}}
    wait = {"kind": "wait", "config": {"minutes": 2880}}

    def body(split_config: dict[str, object]) -> dict[str, object]:
        return _plan_body(shanghai.pk, template.pk, steps=[send, wait, {"kind": "split", "config": split_config}])

    unknown = admin_api.post(
        "/api/v1/campaigns/plans", body({"engagement": "opened", "send_step": 7}), content_type="application/json"
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "steps.2.send_step", "code": "not_found", "message": "the number of an earlier send step"}
    ]
    not_a_gateway = admin_api.post(
        "/api/v1/campaigns/plans", body({"engagement": "delivered", "send_step": 1}), content_type="application/json"
    )
    assert not_a_gateway.status_code == 422
    assert not_a_gateway.json()["errors"][0]["field"] == "steps.2.engagement"
    assert not Plan.objects.exists()

    created = admin_api.post(
        "/api/v1/campaigns/plans",
        body({"engagement": "clicked", "send_step": 1, "within_hours": 48, "no": "end"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["steps"][2]["config"] == {
        "engagement": "clicked",
        "send_step": 1,
        "within_hours": 48,
        "yes": None,
        "no": "end",
    }
    report = admin_api.get(f"/api/v1/campaigns/plans/{plan['id']}/report").json()
    assert report["splits"] == [{"step": 3, "yes": 0, "no": 0}]


# Lifting an email suppression ----------------------------------------------------------------


def _suppress(customer: Customer) -> EmailSuppression:
    return EmailSuppression.objects.create(
        address_index=customer.email_index, customer=customer, evidence="hard bounce 5.1.1", created_at=timezone.now()
    )


def test_lift_an_email_suppression_and_lift_it_again(admin_api, make_member):
    customer = make_member(consent=("email",))
    _suppress(customer)
    url = f"/api/v1/campaigns/customers/{customer.pk}/email-suppression/lift"

    lifted = admin_api.post(url, {"reason": "mailbox fixed"}, content_type="application/json")
    again = admin_api.post(url, {"reason": "mailbox fixed"}, content_type="application/json")

    assert lifted.status_code == 200, lifted.content
    assert lifted.json() == {
        "customer_id": customer.pk,
        "lifted": True,
        "evidence": "hard bounce 5.1.1",
        "suppressed": False,
    }
    assert again.status_code == 200 and again.json()["lifted"] is False
    assert not EmailSuppression.objects.exists()
    audited = AuditEntry.objects.filter(source="api", changes__has_key="reason")  # values sealed per customer
    assert [e.changes["reason"] for e in audited] == ["mailbox fixed"]


def test_lifting_a_suppression_refuses_bad_input_and_unknown_customers(admin_api, make_member):
    customer = make_member(consent=("email",))
    _suppress(customer)
    url = f"/api/v1/campaigns/customers/{customer.pk}/email-suppression/lift"

    blank = admin_api.post(url, {"reason": "  "}, content_type="application/json")
    missing = admin_api.post(url, {}, content_type="application/json")
    extra = admin_api.post(url, {"reason": "ok", "force": True}, content_type="application/json")
    unknown = admin_api.post(
        "/api/v1/campaigns/customers/999999/email-suppression/lift", {"reason": "ok"}, content_type="application/json"
    )

    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.reason"
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "body.force"
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "id"
    assert EmailSuppression.objects.count() == 1


def test_lifting_a_suppression_needs_the_permission_and_the_write_scope(api_client_for, make_staff, make_member):
    customer = make_member(consent=("email",))
    _suppress(customer)
    url = f"/api/v1/campaigns/customers/{customer.pk}/email-suppression/lift"
    admin = make_staff(roles.ADMIN)

    operator = api_client_for(make_staff(roles.OPERATOR)).post(url, {"reason": "ok"}, content_type="application/json")
    read_only = api_client_for(admin, scopes=[CAMPAIGNS_READ]).post(
        url, {"reason": "ok"}, content_type="application/json"
    )

    assert operator.status_code == 403 and operator.json()["errors"][0]["field"] == "permission"
    assert read_only.status_code == 403 and read_only.json()["errors"][0]["code"] == "missing_scope"
    assert EmailSuppression.objects.count() == 1


def test_a_block_email_is_saved_and_previewed_as_html_and_text(admin_api, make_member):
    customer = make_member(name="Ada")
    made = admin_api.post(
        "/api/v1/campaigns/templates",
        {
            "name": "Blocks",
            "channel": "email",
            "subject": "Hi {{first_name}}",
            "blocks": [{"type": "heading", "text": "Hello {{first_name}}"}],
        },
        content_type="application/json",
    )
    assert made.status_code == 201
    assert [b["type"] for b in made.json()["blocks"]] == ["heading", "footer"]
    preview = admin_api.post(
        f"/api/v1/campaigns/templates/{made.json()['id']}/preview",
        {"customer_id": customer.pk},
        content_type="application/json",
    ).json()
    assert preview["subject"] == "Hi Ada" and "Hello Ada" in preview["html"] and "Hello Ada" in preview["body"]
    draft = admin_api.post(
        "/api/v1/campaigns/templates/preview",
        {"customer_id": customer.pk, "subject": "x", "blocks": [{"type": "text", "text": "Points: {{points}}"}]},
        content_type="application/json",
    )
    assert draft.status_code == 200 and "Points: 0" in draft.json()["html"]
    catalogue = admin_api.get("/api/v1/campaigns/templates/email-blocks").json()
    assert "recommendations" in [b["type"] for b in catalogue["blocks"]]
    assert ["first_name", "First name"] in catalogue["personal_fields"]


def test_bad_block_input_is_refused_naming_the_field(admin_api, make_member):
    customer = make_member()
    bad = admin_api.post(
        "/api/v1/campaigns/templates",
        {
            "name": "Bad",
            "channel": "email",
            "subject": "Hi",
            "blocks": [{"type": "text", "text": "ok"}, {"type": "button", "label": "Go", "url": "ftp://x"}],
        },
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {
            "field": "blocks.1.url",
            "code": "invalid",
            "message": "block 2 (Button): url must be a web address starting with https://",
        }
    ]
    assert not ContentTemplate.objects.filter(name="Bad").exists()
    draft = admin_api.post(
        "/api/v1/campaigns/templates/preview",
        {"customer_id": customer.pk, "blocks": [{"type": "image"}]},
        content_type="application/json",
    )
    assert draft.status_code == 422 and draft.json()["errors"][0]["field"] == "blocks.0.src"
    not_a_list = admin_api.post(
        "/api/v1/campaigns/templates/preview",
        {"customer_id": customer.pk, "blocks": "heading"},
        content_type="application/json",
    )
    assert not_a_list.status_code in (400, 422) and "blocks" in not_a_list.json()["errors"][0]["field"]
