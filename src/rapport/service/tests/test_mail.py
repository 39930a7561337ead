"""The email channel over real SMTP on loopback: Rapport's inbound listener (aiosmtpd), a real
client (smtplib) for the customer, and a sink server standing in for the customer's mailbox.

A customer's mail becomes a ticket; the agent's reply reaches the customer's mailbox threaded by
In-Reply-To; the customer's answer to it reopens the same ticket. Bad mail is refused at the SMTP
conversation with the reason, and what was received is kept.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rapport.core.actor import Actor, Source
from rapport.service import clock, csat, mail, services
from rapport.service.models import InboundMail, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """The customer's mail server: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope.mail_from)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, count: int) -> list[EmailMessage]:
        deadline = time.monotonic() + 10
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield box
    controller.stop()


@pytest.fixture
def listener(settings: Any) -> Iterator[int]:
    settings.RAPPORT_SERVICE_MAX_MAIL_BYTES = 200_000
    controller = mail.start_listener("127.0.0.1", _free_port())
    yield controller.port
    controller.stop()


def _customer_mail(subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Wang Fang <wang.fang@example.cn>"
    message["To"] = "support@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.cn")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_mail_becomes_a_ticket_the_reply_reaches_the_customer_and_their_answer_reopens_it(
    listener, mailbox, customer, agent
):
    first = _customer_mail("订单 1001 少发了一件", "收到的包裹里少了一件衬衫，订单号 1001。")
    _send(listener, first)

    ticket = Ticket.objects.get()
    assert ticket.customer == customer and ticket.channel == "email" and ticket.assignee == agent
    assert ticket.messages.get().message_id == first["Message-ID"]
    assert InboundMail.objects.get().outcome == "ticket"

    services.reply(
        ticket, body="非常抱歉，已为您补发。", actor=Actor(user=agent, source=Source.CONSOLE), then="resolved"
    )
    received = mailbox.wait_for(2)  # the reply and the satisfaction survey
    reply = next(m for m in received if ticket.number in str(m["Subject"]) and "Re:" in str(m["Subject"]))
    assert reply["To"] == "wang.fang@example.cn"
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert "已为您补发" in reply.get_content()
    assert any("How did we do" in str(m["Subject"]) for m in received)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED

    answer = _customer_mail(
        f"Re: {reply['Subject']}",
        "还是没收到补发的衬衫。\n\nOn Mon, support wrote:\n> 非常抱歉，已为您补发。",
        In_Reply_To=reply["Message-ID"],
        References=f"{first['Message-ID']} {reply['Message-ID']}",
    )
    _send(listener, answer)

    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    last = ticket.messages.order_by("-pk").first()
    assert last.kind == MessageKind.CUSTOMER and last.body == "还是没收到补发的衬衫。"
    assert "reopened" in ticket.events.values_list("action", flat=True)

    _send(listener, answer)  # the same mail delivered twice is taken once
    assert ticket.messages.count() == 3


def test_a_stranger_becomes_a_prospect_customer(listener, mailbox, agent):
    message = _customer_mail("Where is my parcel?", "I ordered a week ago.")
    message.replace_header("From", "Tom Baker <tom@example.com>")
    _send(listener, message)
    ticket = Ticket.objects.get()
    assert ticket.customer.name == "Tom Baker" and ticket.customer.email == "tom@example.com"


def test_bad_mail_is_refused_with_the_reason_and_kept(listener, mailbox, customer):
    huge = _customer_mail("big", "x" * 300_000)
    with pytest.raises(smtplib.SMTPException) as too_big:
        _send(listener, huge)
    assert "552" in str(too_big.value)

    no_sender = b"To: support@shop.example\r\nSubject: hello\r\n\r\nwho am I?\r\n"
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("someone@example.com", ["support@shop.example"], no_sender)
    assert refused.value.smtp_code == 550 and b"no sender address" in refused.value.smtp_error

    with_exe = _customer_mail("invoice", "see attached")
    with_exe.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="invoice.exe")
    with pytest.raises(smtplib.SMTPDataError) as forbidden:
        _send(listener, with_exe)
    assert forbidden.value.smtp_code == 550 and b"invoice.exe" in forbidden.value.smtp_error

    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("wang.fang@example.cn", ["sales@elsewhere.example"], b"Subject: x\r\n\r\nx\r\n")

    assert not Ticket.objects.exists()
    kept = {m.reason.split(":")[0]: m for m in InboundMail.objects.filter(outcome="rejected")}
    assert len(kept) == 2 and all(m.raw for m in kept.values())
    assert any("invoice.exe" in m.reason for m in kept.values())


def test_receive_refuses_undecodable_and_oversized_mail_without_writing_a_ticket(customer, settings):
    settings.RAPPORT_SERVICE_MAX_MAIL_BYTES = 100
    assert mail.receive(b"x" * 200).code == 552
    settings.RAPPORT_SERVICE_MAX_MAIL_BYTES = 100_000
    broken = b"From: wang.fang@example.cn\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe\r\n"
    result = mail.receive(broken)
    assert result.outcome == "rejected" and "decoded" in result.reason
    assert not Ticket.objects.exists() and InboundMail.objects.count() == 2


def test_a_reply_to_a_bounced_address_is_not_sent_and_is_marked_failed_with_the_reason(mailbox, customer, agent):
    from rapport.campaigns.models import EmailSuppression, Message
    from rapport.core.pii import email_index

    EmailSuppression.objects.create(
        address_index=email_index("wang.fang@example.cn"), evidence="550 5.1.1 user unknown", created_at=clock.now()
    )
    ticket = services.open_ticket(
        customer=customer, channel="email", subject="退货", body="怎么退货？", actor=Actor(source=Source.CUSTOMER)
    )
    reply = services.reply(ticket, body="请寄回以下地址。", actor=Actor(user=agent, source=Source.CONSOLE))
    reply.refresh_from_db()
    assert reply.delivery == "failed" and "bounced" in reply.delivery_detail
    assert Message.objects.get(reference=ticket.number).reason == Message.Reason.BOUNCED
    time.sleep(0.3)
    assert mailbox.messages == []


def test_a_reply_leaves_from_the_support_address_with_a_bounce_envelope_and_is_recorded(
    mailbox, customer, agent, settings
):
    from rapport.campaigns.models import Message

    settings.RAPPORT_BOUNCE_DOMAIN = "bounces.shop.example"
    ticket = services.open_ticket(
        customer=customer, channel="email", subject="发票", body="请开发票", actor=Actor(source=Source.CUSTOMER)
    )
    services.reply(ticket, body="已开具。", actor=Actor(user=agent, source=Source.CONSOLE))
    (sent,) = mailbox.wait_for(1)
    assert sent["From"] == "support@shop.example" and sent["Reply-To"] == "support@shop.example"
    message = Message.objects.get(reference=ticket.number)
    assert message.status == Message.Status.DELIVERED and message.purpose == "service"
    assert mailbox.envelopes[-1].startswith("bounce+") and mailbox.envelopes[-1].endswith("@bounces.shop.example")


def test_a_ticket_closed_straight_away_is_surveyed_in_the_customers_language_from_the_support_address(
    mailbox, customer, agent, store, system_actor
):
    from rapport.customers.services import update_customer
    from rapport.service.models import Survey

    assert store.time_zone == "Asia/Shanghai"
    update_customer(customer, data={"store": store.pk}, actor=system_actor)
    actor = Actor(user=agent, source=Source.CONSOLE)
    ticket = services.open_ticket(
        customer=customer, channel="email", subject="尺码", body="有L码吗？", actor=Actor(source=Source.CUSTOMER)
    )
    services.change_status(ticket, status="open", actor=actor)
    services.change_status(ticket, status="closed", actor=actor)
    (survey_mail,) = mailbox.wait_for(1)
    survey = Survey.objects.get(ticket=ticket)
    assert str(survey_mail["Subject"]) == f"服务评价 {ticket.number}"
    assert survey_mail["From"] == "support@shop.example"
    link = f"/service/survey/{csat.survey_token(survey)}/"
    text = survey_mail.get_body(("plain",)).get_content()
    markup = survey_mail.get_body(("html",)).get_content()
    assert "已关闭" in text and link in text
    assert f'<a href="{csat.survey_url(survey)}">' in markup

    services.change_status(ticket, status="resolved", actor=actor)  # closed by mistake: resolved is allowed
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.closed_at is None and ticket.resolved_at is not None
    time.sleep(0.3)
    assert len(mailbox.messages) == 1 and Survey.objects.count() == 1


def test_refused_mail_is_logged_without_the_senders_address(customer, settings, caplog):
    settings.RAPPORT_SERVICE_MAX_MAIL_BYTES = 100_000
    broken = b"From: bcherry@163.com\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe\r\n"
    with caplog.at_level("WARNING", logger="rapport.service.mail"):
        assert mail.receive(broken).outcome == "rejected"
    assert "b***@163.com" in caplog.text and "bcherry@163.com" not in caplog.text
