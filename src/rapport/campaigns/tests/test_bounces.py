"""Email bounces: the signed return path, real DSN samples (fixtures/bounces/), hard and soft
bounces, suppression honoured by the send guards, and one DSN through the real inbound listener."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as django_mail

from rapport.audit.models import AuditEntry
from rapport.campaigns import reports
from rapport.campaigns.delivery import bounces, tracking
from rapport.campaigns.models import Bounce, EmailSuppression, Message, Plan
from rapport.campaigns.transactional import send_transactional
from rapport.core.errors import InvalidInput
from rapport.core.pii import mask_email
from rapport.customers.models import Customer

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
BOUNCE_DOMAIN = "bounces.shop.example"


@pytest.fixture(autouse=True)
def bounce_settings(settings: Any) -> None:
    settings.RAPPORT_BOUNCE_DOMAIN = BOUNCE_DOMAIN
    settings.RAPPORT_BOUNCE_SOFT_LIMIT = 2
    settings.DEFAULT_FROM_EMAIL = "Rapport <noreply@shop.example>"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def returned(name: str, message: Message, recipient: str) -> bytes:
    """A fixture DSN addressed back to ``message``'s bounce address, quoting its Message-ID."""
    text = (FIXTURES / name).read_text()
    values = {
        "bounce_address": bounces.return_path(message.pk),
        "message_id": bounces.message_id_header(message.pk),
        "recipient": recipient,
        "id": str(message.pk),
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text.replace("\n", "\r\n").encode()


@pytest.fixture
def sent_email(make_member: Callable[..., Customer], make_plan: Callable[..., Plan], launch: Any) -> Any:
    """Launch a one-off email send to a new member; answer (customer, plan, message)."""

    def send(customer: Customer | None = None) -> tuple[Customer, Plan, Message]:
        customer = customer or make_member(name="Li Na", consent=("email",))
        plan = launch(make_plan())
        return customer, plan, Message.objects.get(plan=plan, customer=customer)

    return send


def test_campaign_email_goes_out_with_a_signed_per_message_return_path_and_message_id(sent_email):
    customer, _plan, message = sent_email()

    outgoing = django_mail.outbox[0]
    assert outgoing.from_email == f"bounce+{message.pk}-" + outgoing.from_email.split("-", 1)[1]
    assert outgoing.from_email.endswith(f"@{BOUNCE_DOMAIN}")
    assert bounces.message_for_address(outgoing.from_email) == message.pk
    headers = outgoing.message()
    assert headers["From"] == "Rapport <noreply@shop.example>"
    assert headers["Message-ID"] == bounces.message_id_header(message.pk)
    assert headers["To"] == customer.email


def test_without_a_bounce_domain_the_envelope_sender_stays_the_from_address(sent_email, settings):
    settings.RAPPORT_BOUNCE_DOMAIN = ""
    _customer, _plan, message = sent_email()

    assert django_mail.outbox[0].from_email == "Rapport <noreply@shop.example>"
    assert bounces.return_path(message.pk) is None


def test_a_forged_or_foreign_bounce_address_names_no_message():
    token = tracking.bounce_token(42)
    assert bounces.message_for_address(f"bounce+{token}@{BOUNCE_DOMAIN}") == 42
    assert bounces.message_for_address(f"BOUNCE+{token.upper()}@{BOUNCE_DOMAIN.upper()}") == 42
    assert bounces.message_for_address(f"bounce+43-{token.split('-')[1]}@{BOUNCE_DOMAIN}") is None
    assert bounces.message_for_address(f"bounce+{token}@elsewhere.example") is None
    assert bounces.message_for_address(f"support+{token}@{BOUNCE_DOMAIN}") is None
    assert bounces.message_for_address(f"bounce@{BOUNCE_DOMAIN}") is None


@pytest.mark.parametrize(
    ("fixture", "kind", "status"),
    [
        ("postfix_hard_user_unknown.eml", "hard", "5.1.1"),
        ("exchange_soft_mailbox_full.eml", "soft", "4.2.2"),
        ("qmail_hard.eml", "hard", "5.1.1"),
        ("exim_hard_no_code.eml", "hard", ""),
        ("postfix_delayed.eml", None, None),
        ("out_of_office.eml", None, None),
    ],
)
def test_real_returned_mail_is_read_as_hard_soft_or_no_failure(fixture, kind, status):
    raw = (FIXTURES / fixture).read_text().replace("{recipient}", "li.na@example.com").encode()

    failure = bounces.read_report(raw)

    if kind is None:
        assert failure is None
    else:
        assert failure is not None and (failure.kind, failure.status) == (kind, status)
        assert failure.recipient == "li.na@example.com"
        assert failure.diagnostic


def test_unreadable_returned_mail_is_refused_with_the_reason():
    with pytest.raises(bounces.UnreadableReport, match="empty"):
        bounces.read_report(b"  \r\n")
    with pytest.raises(bounces.UnreadableReport, match="malformed"):
        bounces.read_report(b"\x00\x01 not a mail at all")


def test_a_hard_bounce_marks_the_message_suppresses_the_address_and_the_next_send(sent_email, make_plan, launch):
    customer, plan, message = sent_email()
    assert message.status == Message.Status.DELIVERED

    answer = bounces.receive_returned_mail(
        returned("postfix_hard_user_unknown.eml", message, customer.email), [bounces.return_path(message.pk)]
    )

    assert answer.startswith("250") and "hard bounce recorded" in answer
    message.refresh_from_db()
    assert message.status == Message.Status.BOUNCED and message.bounced_at is not None
    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.status, bounce.source) == ("hard", "5.1.1", "smtp")
    assert "User unknown" in bounce.diagnostic
    suppression = EmailSuppression.objects.get()
    assert suppression.address_index == customer.email_index and suppression.customer == customer
    assert suppression.evidence.startswith(f"hard bounce 5.1.1 of rapport-{message.pk}")
    assert AuditEntry.objects.filter(object_id=str(customer.pk), changes__has_key="email_suppressed").exists()
    figures = reports.build(plan)
    assert (figures.sent, figures.delivered, figures.bounced) == (1, 0, 1)

    next_plan = launch(make_plan())
    suppressed = Message.objects.get(plan=next_plan, customer=customer)
    assert (suppressed.status, suppressed.reason) == (Message.Status.SUPPRESSED, Message.Reason.BOUNCED)
    assert reports.build(next_plan).suppressed_by_reason == {"bounced": 1}
    assert len(django_mail.outbox) == 1


def test_the_same_dsn_twice_counts_once(sent_email):
    customer, _plan, message = sent_email()
    raw = returned("postfix_hard_user_unknown.eml", message, customer.email)

    first = bounces.receive_returned_mail(raw, [bounces.return_path(message.pk)])
    second = bounces.receive_returned_mail(raw, [bounces.return_path(message.pk)])

    assert "recorded" in first and "already known" in second
    assert Bounce.objects.count() == 1 and EmailSuppression.objects.count() == 1


def test_soft_bounces_suppress_only_after_the_configured_number(sent_email):
    customer, _plan, first = sent_email()
    bounces.receive_returned_mail(returned("exchange_soft_mailbox_full.eml", first, customer.email), [])
    first.refresh_from_db()
    assert first.status == Message.Status.BOUNCED and Bounce.objects.get().kind == "soft"
    assert not EmailSuppression.objects.exists()

    _customer, _plan, second = sent_email(customer)
    assert second.status == Message.Status.DELIVERED
    bounces.receive_returned_mail(returned("exchange_soft_mailbox_full.eml", second, customer.email), [])

    assert EmailSuppression.objects.get().evidence.startswith("2 soft bounces, the last 4.2.2")


def test_a_delay_notice_or_auto_reply_changes_nothing(sent_email):
    customer, _plan, message = sent_email()
    for fixture in ("postfix_delayed.eml", "out_of_office.eml"):
        answer = bounces.receive_returned_mail(
            returned(fixture, message, customer.email), [bounces.return_path(message.pk)]
        )
        assert answer.startswith("250") and "no delivery failure" in answer
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and not Bounce.objects.exists()


def test_returned_mail_naming_no_message_of_ours_is_refused_and_nothing_stored(sent_email):
    customer, _plan, message = sent_email()
    raw = returned("postfix_hard_user_unknown.eml", message, customer.email)
    forged = raw.replace(tracking.bounce_token(message.pk).encode(), f"{message.pk}-{'0' * 20}".encode())

    assert bounces.receive_returned_mail(forged, []).startswith("550")
    assert bounces.receive_returned_mail(b"", []).startswith("550 5.6.0")
    assert not Bounce.objects.exists() and not EmailSuppression.objects.exists()


def test_suppression_stops_email_already_planned_and_transactional_email(
    sent_email, make_member, make_plan, make_template, system_actor
):
    customer, _plan, message = sent_email()
    later = make_plan(
        kind="journey",
        segment=None,
        trigger={"type": "event", "event": "Coupon Viewed"},
        steps=[{"kind": "send", "config": {"channel": "email", "variants": [{"template": make_template().pk}]}}],
    )
    planned = Message.objects.create(
        plan=later,
        customer=customer,
        channel="email",
        purpose="marketing",
        not_before=message.created_at,
        created_at=message.created_at,
    )
    bounces.receive_returned_mail(returned("qmail_hard.eml", message, customer.email), [])

    planned.refresh_from_db()
    assert (planned.status, planned.reason) == (Message.Status.SUPPRESSED, Message.Reason.BOUNCED)
    result = send_transactional(customer, channel="email", purpose="service", subject="Code", body="123456")
    assert not result.delivered and "bounced" in result.detail


# The real inbound listener on loopback ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def listener(settings: Any) -> Iterator[int]:
    from rapport.service import mail

    settings.RAPPORT_SERVICE_ADDRESS = "support@shop.example"
    controller = mail.start_listener("127.0.0.1", _free_port())
    yield controller.port
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_a_dsn_delivered_to_the_bounce_address_over_smtp_suppresses_the_customer(listener, sent_email):
    from rapport.service.models import InboundMail, Ticket

    customer, plan, message = sent_email()
    raw = returned("postfix_hard_user_unknown.eml", message, customer.email)

    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("", [f"bounce+{message.pk}-{'0' * 20}@{BOUNCE_DOMAIN}"], b"Subject: x\r\n\r\nx")
        client.rset()
        # A DSN comes from the null sender to the envelope sender the campaign mail carried.
        client.sendmail("", [bounces.return_path(message.pk)], raw)

    message.refresh_from_db()
    assert message.status == Message.Status.BOUNCED
    assert Bounce.objects.get().source == "smtp"
    assert EmailSuppression.objects.get().customer == customer
    assert reports.build(plan).bounced == 1
    # Returned mail is the campaigns' business: the support mailbox saw none of it.
    assert not InboundMail.objects.exists() and not Ticket.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_listener_answers_unreadable_returned_mail_with_the_reason(listener, sent_email):
    _customer, _plan, message = sent_email()

    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("", [bounces.return_path(message.pk)], b"\r\n")

    assert refused.value.smtp_code == 550 and b"empty" in refused.value.smtp_error
    assert not Bounce.objects.exists()


# Lifting a suppression ---------------------------------------------------------------------------


@pytest.fixture
def suppressed(sent_email: Any) -> tuple[Customer, Message]:
    """A member whose address hard-bounced and is suppressed."""
    customer, _plan, message = sent_email()
    bounces.receive_returned_mail(returned("postfix_hard_user_unknown.eml", message, customer.email), [])
    assert EmailSuppression.objects.filter(address_index=customer.email_index).exists()
    return customer, message


def test_lifting_a_suppression_lets_email_go_to_the_address_again_and_is_audited(
    suppressed, make_plan, launch, system_actor
):
    customer, _message = suppressed

    lifted = bounces.lift_suppression(customer, actor=system_actor, reason="Mailbox fixed, customer called")

    assert lifted is not None and lifted.evidence.startswith("hard bounce 5.1.1")
    assert not EmailSuppression.objects.exists() and not bounces.is_suppressed(customer.email)
    entry = AuditEntry.objects.get(changes__has_key="email_suppression_lifted")
    assert entry.object_id == str(customer.pk)
    assert entry.changes == {"email_suppression_lifted": lifted.evidence, "reason": "Mailbox fixed, customer called"}
    assert Bounce.objects.count() == 1  # the bounce itself stays on record
    next_plan = launch(make_plan())
    assert Message.objects.get(plan=next_plan, customer=customer).status == Message.Status.DELIVERED


def test_lifting_twice_changes_nothing_more(suppressed, system_actor):
    customer, _message = suppressed

    first = bounces.lift_suppression(customer, actor=system_actor, reason="fixed")
    second = bounces.lift_suppression(customer, actor=system_actor, reason="fixed")

    assert first is not None and second is None
    assert AuditEntry.objects.filter(changes__has_key="email_suppression_lifted").count() == 1


def test_lifting_needs_a_reason_and_leaves_the_suppression_without_one(suppressed, system_actor):
    customer, _message = suppressed

    for reason in ("", "   ", "x" * 301):
        with pytest.raises(InvalidInput) as refused:
            bounces.lift_suppression(customer, actor=system_actor, reason=reason)
        assert refused.value.errors[0].field == "reason"

    assert EmailSuppression.objects.count() == 1
    assert not AuditEntry.objects.filter(changes__has_key="email_suppression_lifted").exists()


def test_a_new_hard_bounce_after_a_lift_suppresses_the_address_again(suppressed, sent_email, system_actor):
    customer, _message = suppressed
    bounces.lift_suppression(customer, actor=system_actor, reason="customer says it works now")

    _customer, _plan, again = sent_email(customer)
    bounces.receive_returned_mail(returned("postfix_hard_user_unknown.eml", again, customer.email), [])

    assert EmailSuppression.objects.get().evidence.startswith(f"hard bounce 5.1.1 of rapport-{again.pk}")


def test_the_server_s_words_are_kept_with_the_address_masked(sent_email):
    """A DSN quotes the address it could not deliver to; the bounce, the message's error and the
    suppression's evidence keep the words with the address masked (issue 19: no plaintext email)."""
    customer, _plan, message = sent_email()
    bounces.receive_returned_mail(
        returned("postfix_hard_user_unknown.eml", message, customer.email), [bounces.return_path(message.pk)]
    )
    message.refresh_from_db()
    kept = [Bounce.objects.get().diagnostic, message.error, EmailSuppression.objects.get().evidence]
    assert all("User unknown" in text for text in kept)
    assert not [text for text in kept if customer.email in text]
    assert mask_email(customer.email) in kept[0]
