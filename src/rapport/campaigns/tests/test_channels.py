"""Real channels on loopback: SMTP to an aiosmtpd server, the HTTP gateway to a local server
with signed delivery callbacks and the portal inbox; plus tracking and unsubscribe."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from rapport.campaigns import services
from rapport.campaigns.delivery import channels, tracking
from rapport.campaigns.models import ChannelPolicy, Message, SiteMessage
from rapport.campaigns.transactional import send_transactional
from rapport.customers.consent import has_consent
from rapport.tags.sync import sign, verify

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    yield inbox
    controller.stop()


class Gateway:
    """A provider gateway: records signed batches, answers with per-message results."""

    secret = "gateway-secret"

    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.valid_signatures: list[bool] = []
        self.refuse: set[str] = set()
        self.status = 200


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.valid_signatures.append(
                verify(state.secret, self.headers["X-Rapport-Timestamp"], body, self.headers["X-Rapport-Signature"])
            )
            batch = json.loads(body)
            state.batches.append(batch)
            results = [
                {"id": m["id"], "accepted": m["id"] not in state.refuse, "error": "blocked number"}
                for m in batch["messages"]
            ]
            answer = json.dumps({"results": results}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()


def test_campaign_email_goes_over_smtp_with_tracking_and_unsubscribe(smtp_server, make_member, make_plan, launch):
    customer = make_member(name="Li Na", consent=("email",))
    plan = launch(make_plan())

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["To"] == customer.email and received["Subject"] == "Hello Li Na"
    message = Message.objects.get(plan=plan)
    assert received["X-Rapport-Message"] == message.key
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = received.get_body(("plain",)).get_content()
    markup = received.get_body(("html",)).get_content()
    assert "https://shop.example.com/new" not in text and "/campaigns/t/c/" in text
    assert "/campaigns/t/o/" in markup
    assert message.status == Message.Status.DELIVERED


def test_open_pixel_and_click_redirect_record_engagement(make_member, make_plan, launch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member(consent=("email",))
    plan = launch(make_plan())
    message = Message.objects.get(plan=plan)
    client = Client()

    pixel = client.get(tracking.open_url(message.pk).removeprefix(settings.RAPPORT_PUBLIC_URL))
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    click = client.get(
        tracking.click_url(message.pk, "https://shop.example.com/new").removeprefix(settings.RAPPORT_PUBLIC_URL)
    )
    assert click.status_code == 302 and click["Location"] == "https://shop.example.com/new"
    message.refresh_from_db()
    assert message.opened_at is not None and message.clicked_at is not None

    forged = client.get("/campaigns/t/c/not-a-token/")
    assert forged.status_code == 404


def test_unsubscribe_link_withdraws_marketing_consent_without_signing_in(make_member):
    customer = make_member(consent=("email", "sms"))
    path = tracking.unsubscribe_url(customer.pk, "email").removeprefix("http://127.0.0.1:8000")
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and b"confirm-unsubscribe" in page.content
    assert has_consent(customer.pk, "email", "marketing")  # a link scanner's GET changes nothing

    done = client.post(path)
    assert done.status_code == 200 and b"unsubscribed" in done.content
    assert not has_consent(customer.pk, "email", "marketing")
    assert has_consent(customer.pk, "sms", "marketing")
    assert has_consent(customer.pk, "email", "service")
    assert client.post(path.replace("/u/", "/u/x")).status_code == 404


def test_sms_goes_through_the_http_gateway_and_callbacks_mark_delivery(
    gateway, make_member, make_plan, make_template, launch, system_actor
):
    state, url = gateway
    services.save_policy(
        "sms",
        data={"gateway_url": url, "gateway_secret": state.secret, "quiet_start": "", "quiet_end": ""},
        actor=system_actor,
    )
    first, second = make_member(name="First"), make_member(name="Second")
    sms = make_template("sms", subject="", body="{{ customer.name }}, 20% off today")
    plan = make_plan(steps=[{"kind": "send", "config": {"channel": "sms", "variants": [{"template": sms.pk}]}}])
    state.refuse = {f"rapport-{Message.objects.order_by('-pk').values_list('pk', flat=True).first() or 0 + 2}"}
    launch(plan)

    assert state.valid_signatures == [True]
    sent = {m["to"]: m for m in state.batches[0]["messages"]}
    assert set(sent) == {first.phone, second.phone}
    assert sent[first.phone]["body"].startswith("First, 20% off today")
    assert state.batches[0]["callback_url"].endswith("/api/v1/campaigns/callbacks/sms")

    keys = [m["id"] for m in state.batches[0]["messages"]]
    body = json.dumps({"events": [{"id": keys[0], "status": "delivered"}]}).encode()
    client = Client()
    unsigned = client.post("/api/v1/campaigns/callbacks/sms", body, content_type="application/json")
    assert unsigned.status_code == 403
    timestamp = str(int(__import__("time").time()))
    signed = client.post(
        "/api/v1/campaigns/callbacks/sms",
        body,
        content_type="application/json",
        headers={"X-Rapport-Timestamp": timestamp, "X-Rapport-Signature": sign(state.secret, timestamp, body)},
    )
    assert signed.status_code == 200 and signed.json() == {"applied": 1}
    assert Message.objects.get(pk=channels.parse_key(keys[0])).status == Message.Status.DELIVERED


def test_gateway_refusals_fail_single_messages_and_outages_retry_with_back_off(gateway, make_member, system_actor):
    state, url = gateway
    services.save_policy(
        "sms", data={"gateway_url": url, "gateway_secret": state.secret, "max_attempts": 2}, actor=system_actor
    )
    customer = make_member()
    state.status = 503
    result = send_transactional(customer, channel="sms", purpose="service", subject="", body="Your code is 123456")
    assert not result.delivered and "503" in result.detail
    assert Message.objects.get(reference="", customer=customer).status == Message.Status.FAILED

    state.status = 200
    ok = send_transactional(
        customer, channel="sms", purpose="service", subject="", body="Your code is 654321", reference="code-2"
    )
    assert ok.delivered
    assert state.batches[-1]["messages"][0]["body"] == "Your code is 654321"
    assert Message.objects.get(reference="code-2").status == Message.Status.SENT


def test_planned_gateway_message_is_retried_then_failed(
    gateway, make_member, make_plan, make_template, launch, system_actor
):
    state, url = gateway
    services.save_policy(
        "sms",
        data={
            "gateway_url": url,
            "gateway_secret": state.secret,
            "max_attempts": 2,
            "quiet_start": "",
            "quiet_end": "",
        },
        actor=system_actor,
    )
    make_member()
    state.status = 500
    sms = make_template("sms", subject="", body="Sale")
    plan = launch(make_plan(steps=[{"kind": "send", "config": {"channel": "sms", "variants": [{"template": sms.pk}]}}]))
    message = Message.objects.get(plan=plan)
    assert (
        message.status == Message.Status.PLANNED and message.attempts == 1 and message.not_before > message.created_at
    )
    channels.deliver_due(now=message.not_before)
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "500" in message.error


def test_transactional_email_without_smtp_is_kept_in_the_outbox_and_logged_without_address_or_body(
    make_member, settings, caplog, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.EMAIL_HOST = ""
    settings.RAPPORT_OUTBOX_DIR = tmp_path
    customer = make_member(email="bcherry@163.com")
    with caplog.at_level("INFO", logger="rapport.campaigns.delivery.channels"):
        result = send_transactional(customer, channel="email", purpose="service", subject="Sign in", body="Code 424242")
    assert result.delivered and "server log" in result.detail
    assert "Code 424242" not in caplog.text and "bcherry@163.com" not in caplog.text
    assert "b***@163.com" in caplog.text
    kept = tmp_path / f"rapport-{result.message_id}.txt"
    assert "Code 424242" in kept.read_text() and str(kept) in caplog.text
    assert "bcherry@163.com" not in kept.read_text() and "To: b***@163.com" in kept.read_text()


def test_marketing_through_transactional_needs_consent(make_member):
    customer = make_member(consent=())
    result = send_transactional(customer, channel="sms", purpose="marketing", subject="", body="Sale")
    assert not result.delivered and "not agreed" in result.detail


def test_site_messages_land_in_the_inbox(make_member, make_plan, make_template, launch):
    customer = make_member()
    site = make_template("site", subject="Your voucher", body="Hi {{ customer.name }}")
    launch(
        make_plan(
            steps=[{"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}}],
            respect_quiet_hours=False,
        )
    )
    inbox = SiteMessage.objects.get(customer=customer)
    assert inbox.title == "Your voucher" and inbox.body.startswith(f"Hi {customer.name}")


def test_disabled_channel_suppresses_instead_of_sending(make_member, make_plan, launch, system_actor, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member()
    ChannelPolicy.objects.create(channel="email", is_enabled=False)
    plan = launch(make_plan())
    assert Message.objects.get(plan=plan).reason == Message.Reason.CHANNEL_OFF


def test_a_template_failing_at_run_time_fails_its_message_instead_of_blocking_the_queue(
    make_member, make_plan, make_template, launch
):
    make_member()
    broken = make_template("site", subject="Oops", body="{{ 1 // 0 }}")
    plan = launch(
        make_plan(steps=[{"kind": "send", "config": {"channel": "site", "variants": [{"template": broken.pk}]}}])
    )
    message = Message.objects.get(plan=plan)
    assert message.status == Message.Status.FAILED and "division" in message.error
    assert channels.deliver_due() == {}


def test_the_added_unsubscribe_link_has_a_label_in_the_installations_language(
    smtp_server, make_member, make_plan, launch, settings
):
    settings.LANGUAGE_CODE = "zh-hans"
    make_member(consent=("email",))
    launch(make_plan())
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "退订：http://127.0.0.1:8000/campaigns/u/" in text
