"""The email channel, incoming: mail to the support address becomes a ticket or joins one,
threaded by Message-ID / In-Reply-To / References (agents' replies go out through
:mod:`rapport.service.replies`).

:func:`receive` turns one raw message into a ticket or a reply, or refuses it with a reason. Every
message it is given is kept (:class:`InboundMail`, raw bytes), refused ones included, so nothing
is lost. :class:`SupportMailHandler` is the aiosmtpd handler that answers the sending server with
that outcome, so a refused mail bounces to its sender with the reason.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as ParsedMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction

from rapport.campaigns.delivery import bounces
from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError
from rapport.core.pii import mask_email
from rapport.service import clock, services
from rapport.service.attachments import IncomingFile
from rapport.service.models import InboundMail, Ticket, TicketChannel, TicketMessage
from rapport.service.replies import service_domain

logger = logging.getLogger(__name__)

SUBJECT_NUMBER = re.compile(r"\[T-(\d{6,})\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
QUOTE_START = re.compile(
    r"^(On .{3,200} wrote:|-{2,} ?Original Message ?-{2,}|在 .{3,200} 写道：|发件人[:：].*|From: .*)\s*$", re.MULTILINE
)
TAGS = re.compile(r"<[^>]+>")
MAIL_ACTOR = Actor(user=None, source=Source.CUSTOMER, label="email")


class Refused(Exception):
    """A mail we will not take, with the SMTP code and the reason told to the sender."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Received:
    outcome: str
    ticket: Ticket | None
    reason: str = ""
    code: int = 250


def _body_of(parsed: ParsedMessage) -> str:
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError) as exc:
        raise Refused(550, f"the message text cannot be decoded: {exc}") from exc
    if part.get_content_subtype() == "html":
        text = html.unescape(TAGS.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)))
    quote = QUOTE_START.search(text)
    if quote is not None and quote.start() > 0:
        text = text[: quote.start()]
    lines = [line for line in text.splitlines() if not line.startswith(">")]
    return "\n".join(lines).strip()


def _files_of(parsed: ParsedMessage) -> list[IncomingFile]:
    files = []
    for part in parsed.iter_attachments():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        files.append(IncomingFile(part.get_filename() or "", part.get_content_type(), data))
    return files


def _thread_ids(parsed: ParsedMessage) -> list[str]:
    found: list[str] = []
    for header in ("In-Reply-To", "References"):
        found.extend(MESSAGE_ID.findall(str(parsed.get(header, ""))))
    return found


def _existing_ticket(parsed: ParsedMessage, sender: str, subject: str) -> Ticket | None:
    """The ticket this mail answers: by the message ids it refers to, else by [T-number] from the same sender."""
    ids = _thread_ids(parsed)
    if ids:
        message = TicketMessage.objects.filter(message_id__in=ids).select_related("ticket").order_by("-pk").first()
        if message is not None:
            return message.ticket
    match = SUBJECT_NUMBER.search(subject)
    if match:
        ticket = Ticket.objects.filter(pk=int(match.group(1))).select_related("customer").first()
        found = services.find_customer(email=sender)
        if ticket is not None and found is not None and ticket.customer_id == found.pk:
            return ticket
    return None


def _parse(raw: bytes) -> tuple[ParsedMessage, str, str, str]:
    try:
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser's errors are many; all mean "malformed"
        raise Refused(550, f"malformed message: {exc}") from exc
    try:
        senders = getaddresses([str(parsed.get("From", ""))])
        subject = str(parsed.get("Subject", "") or "").strip()
    except Exception as exc:  # header decoding errors
        raise Refused(550, f"malformed headers: {exc}") from exc
    name, address = senders[0] if senders else ("", "")
    if not address or "@" not in address:
        raise Refused(550, "no sender address in the From header")
    try:
        Address(addr_spec=address)
    except Exception as exc:
        raise Refused(550, f"the From address {address!r} is not valid") from exc
    if not isinstance(parsed, ParsedMessage):
        raise Refused(550, "malformed message")
    return parsed, name, address.lower(), subject


def receive(raw: bytes) -> Received:
    """Turn one raw mail into a ticket or a reply; refused mail is kept with its reason."""
    size = len(raw)
    limit = settings.RAPPORT_SERVICE_MAX_MAIL_BYTES
    if size > limit:
        return _refuse(raw[:0], "", "", "", Refused(552, f"message too large: {size} bytes, at most {limit}"), size)
    message_id, sender, subject = "", "", ""
    try:
        parsed, name, sender, subject = _parse(raw)
        found_ids = MESSAGE_ID.findall(str(parsed.get("Message-ID", "")))
        message_id = found_ids[0] if found_ids else ""
        if message_id:
            known = TicketMessage.objects.filter(message_id=message_id).select_related("ticket").first()
            if known is not None:  # the same mail delivered twice: already on its ticket
                return Received(InboundMail.Outcome.REPLY, known.ticket, "already received")
        body = _body_of(parsed)
        files = _files_of(parsed)
        with transaction.atomic():
            ticket = _existing_ticket(parsed, sender, subject)
            if ticket is not None:
                services.customer_message(
                    ticket, body=body or subject, actor=MAIL_ACTOR, files=files, message_id=message_id or None
                )
                outcome = InboundMail.Outcome.REPLY
                ticket.refresh_from_db()
                while ticket.merged_into_id is not None:
                    ticket = Ticket.objects.get(pk=ticket.merged_into_id)
            else:
                ticket = services.open_ticket_for_contact(
                    email=sender,
                    name=name,
                    channel=TicketChannel.EMAIL,
                    subject=subject or body[:80] or "(no subject)",
                    body=body or subject or "(empty message)",
                    actor=MAIL_ACTOR,
                    files=files,
                    message_id=message_id or None,
                    reply_to=sender,
                )
                outcome = InboundMail.Outcome.TICKET
            _keep(raw, message_id, sender, subject, outcome, "", ticket)
        return Received(outcome, ticket)
    except Refused as exc:
        return _refuse(raw, message_id, sender, subject, exc, size)
    except DomainError as exc:
        reason = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return _refuse(raw, message_id, sender, subject, Refused(550, reason), size)


def _keep(
    raw: bytes, message_id: str, sender: str, subject: str, outcome: str, reason: str, ticket: Ticket | None
) -> None:
    InboundMail.objects.create(
        message_id=message_id[:300],
        sender=sender[:254],
        subject=subject[:300],
        size=len(raw),
        raw=raw,
        outcome=outcome,
        reason=reason[:300],
        ticket=ticket,
        received_at=clock.now(),
    )


def _refuse(raw: bytes, message_id: str, sender: str, subject: str, exc: Refused, size: int) -> Received:
    masked = mask_email(sender) if sender else "?"  # the log holds no customer's address
    reason = exc.reason.replace(sender, masked) if sender else exc.reason
    logger.warning("support mail from %s refused: %s", masked, reason)
    InboundMail.objects.create(
        message_id=message_id[:300],
        sender=sender[:254],
        subject=subject[:300],
        size=size,
        raw=raw,
        outcome=InboundMail.Outcome.REJECTED,
        reason=exc.reason[:300],
        received_at=clock.now(),
    )
    return Received(InboundMail.Outcome.REJECTED, None, exc.reason, exc.code)


# The SMTP listener -------------------------------------------------------------------------------


def _smtp_text(text: str) -> str:
    return " ".join(text.encode("ascii", "replace").decode().split())[:400]


class SupportMailHandler:
    """aiosmtpd handler: accepts mail for the support address and answers with :func:`receive`'s outcome."""

    def __init__(self, address: str | None = None) -> None:
        self.address = (address or settings.RAPPORT_SERVICE_ADDRESS).lower()

    def _ours(self, recipient: str) -> bool:
        local, _, domain = recipient.lower().partition("@")
        mine_local, _, mine_domain = self.address.partition("@")
        return domain == mine_domain and local.split("+", 1)[0] == mine_local

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if not self._ours(address) and not bounces.is_bounce_address(address):
            return f"550 5.1.1 <{_smtp_text(address)}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        if any(map(bounces.is_bounce_address, envelope.rcpt_tos)):  # returned campaign mail: campaigns reads it
            return str(await asyncio.to_thread(bounces.receive_in_thread, data, envelope.rcpt_tos))
        received = await asyncio.to_thread(_receive_in_thread, data)
        if received.outcome == InboundMail.Outcome.REJECTED:
            code = {552: "552 5.3.4", 451: "451 4.3.0"}.get(received.code, "550 5.6.0")
            return f"{code} {_smtp_text(received.reason)}"
        number = received.ticket.number if received.ticket else ""
        return f"250 2.0.0 OK {number}"


def _receive_in_thread(raw: bytes) -> Received:
    """The ORM runs synchronously in a worker thread, with its own connection, closed afterwards."""
    close_old_connections()
    try:
        return receive(raw)
    except Exception:
        logger.exception("support mail could not be processed")
        return Received(InboundMail.Outcome.REJECTED, None, "temporary failure, try again later", 451)
    finally:
        connections.close_all()  # this worker thread's connections: nothing stays open between mails


def start_listener(host: str, port: int) -> Any:
    """Start the inbound SMTP listener in a background thread; returns the aiosmtpd controller."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        SupportMailHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.RAPPORT_SERVICE_MAX_MAIL_BYTES,
        server_hostname=service_domain(),
        ready_timeout=10,
    )
    controller.start()
    logger.info("support mail listener on %s:%s for %s", host, port, settings.RAPPORT_SERVICE_ADDRESS)
    return controller


def start_configured_listener() -> Any:
    """The listener ``rapport run`` starts when RAPPORT_SERVICE_SMTP_PORT is set, else None."""
    if not settings.RAPPORT_SERVICE_SMTP_PORT:
        return None
    return start_listener(settings.RAPPORT_SERVICE_SMTP_HOST, settings.RAPPORT_SERVICE_SMTP_PORT)
