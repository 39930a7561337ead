"""Email bounces: reading returned mail back, and suppressing addresses that do not work.

Campaign email goes out with a per-message envelope sender ``bounce+<token>@<bounce domain>``
(VERP; ``RAPPORT_BOUNCE_DOMAIN``) and a Message-ID ``<rapport-<token>@…>``, where the token is
the message id with an HMAC signature (:func:`rapport.campaigns.delivery.tracking.bounce_token`). A
receiving server that gives up returns a delivery status notification to that envelope sender;
the inbound SMTP listener hands mail for bounce addresses to :func:`receive_returned_mail`.
Providers that report bounces over HTTP post them to ``/api/v1/campaigns/bounces`` instead,
signed like the gateway callbacks (see ``docs/campaigns.md``).

:func:`read_report` understands RFC 3464 ``multipart/report`` DSNs and the common non-standard
bodies (qmail, Exim, Exchange texts with a status code or a well-known phrase); a 5.x.x status
is a hard bounce, 4.x.x a soft one. :func:`record_bounces` marks the messages bounced (once per
message, so replays change nothing) and suppresses the address after a hard bounce or after
``RAPPORT_BOUNCE_SOFT_LIMIT`` soft ones; the send guards then skip it with the reason *bounced*.
Staff lift a suppression with :func:`lift_suppression` (audited, with their reason).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.campaigns.delivery import tracking
from rapport.campaigns.models import Bounce, ChannelKind, EmailSuppression, Message
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.core.logmask import mask_personal_text
from rapport.core.pii import email_index, normalise_email
from rapport.customers.models import Customer

logger = logging.getLogger(__name__)

VERP_LOCAL = "bounce"
SIGNED_MESSAGE_ID = re.compile(r"rapport-(\d{1,19}-[0-9a-f]{20})@", re.IGNORECASE)
ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SMTP_REPLY = re.compile(r"(?<![\d.])([45])\d\d(?=[ -])")
HARD_PHRASES = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|address|recipient)|does not exist|"
    r"unknown recipient|recipient address rejected|mailbox unavailable|invalid (recipient|mailbox|address)|"
    r"permanent (error|failure)|permanently",
    re.IGNORECASE,
)
SOFT_PHRASES = re.compile(
    r"mailbox (is )?full|over quota|quota exceeded|insufficient (system )?storage|temporar(y|ily)", re.IGNORECASE
)
RETURNED_SUBJECT = re.compile(
    r"undeliver|returned mail|failure notice|delivery (status notification|failure|has failed|failed)|"
    r"could not be delivered|mail delivery failed|non-?delivery",
    re.IGNORECASE,
)
DELAY_SUBJECT = re.compile(r"\bdelay|\bwarning", re.IGNORECASE)
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WORD_WITH_AT = re.compile(r"\S*@\S*")
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon")
REPORT_BYTES = 512 * 1024
MAIL_ACTOR = Actor.system("email bounce")


class UnreadableReport(ValueError):
    """Returned mail that cannot be read (not a message, or no message of ours in it)."""


@dataclass(frozen=True)
class Failure:
    """What a bounce says: hard or soft, the status code, the server's words, the recipient."""

    kind: str
    status: str
    diagnostic: str = ""
    recipient: str = ""

    def __post_init__(self) -> None:
        # the server's words often quote the address ("<zhang@example.com>: user unknown"); they are
        # kept on the bounce, the message's error and the suppression's evidence, so masked
        object.__setattr__(self, "diagnostic", mask_personal_text(self.diagnostic)[:300])


def kind_of(status: str) -> str:
    """5.x.x (and 5xx) is permanent, everything else a bounce may say is temporary."""
    return Bounce.Kind.HARD if status.startswith("5") else Bounce.Kind.SOFT


# Outgoing ---------------------------------------------------------------------------------------


def return_path(message_id: int) -> str | None:
    """The envelope sender of a campaign email, or None without a bounce domain."""
    domain = settings.RAPPORT_BOUNCE_DOMAIN
    return f"{VERP_LOCAL}+{tracking.bounce_token(message_id)}@{domain}" if domain else None


def message_id_header(message_id: int) -> str:
    """A Message-ID that names the message and is signed, so a bounce quoting it is recognised."""
    domain = settings.RAPPORT_BOUNCE_DOMAIN or parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return f"<rapport-{tracking.bounce_token(message_id)}@{domain or 'localhost'}>"


# Reading returned mail ----------------------------------------------------------------------------


def message_for_address(recipient: str) -> int | None:
    """The message a VERP bounce address (``bounce+<token>@<bounce domain>``) names, else None."""
    domain = settings.RAPPORT_BOUNCE_DOMAIN
    local, _, at = recipient.strip().strip("<>").lower().rpartition("@")
    prefix, plus, token = local.partition("+")
    if not domain or at != domain or prefix != VERP_LOCAL or not plus:
        return None
    return tracking.read_bounce_token(token)


def is_bounce_address(recipient: str) -> bool:
    return message_for_address(recipient) is not None


def signed_message_in(raw: bytes) -> int | None:
    """The first message of ours whose signed Message-ID the returned mail quotes."""
    for match in SIGNED_MESSAGE_ID.finditer(raw[:REPORT_BYTES].decode("utf-8", "replace")):
        found = tracking.read_bounce_token(match.group(1))
        if found is not None:
            return found
    return None


def _parse(raw: bytes) -> EmailMessage:
    if not raw.strip():
        raise UnreadableReport("the body is empty")
    try:
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser's errors are many; all mean "malformed"
        raise UnreadableReport(f"malformed message: {exc}") from exc
    if not isinstance(parsed, EmailMessage) or not parsed.keys():
        raise UnreadableReport("malformed message: no headers")
    return parsed


def _field(block: Any, name: str) -> str:
    return " ".join(str(block.get(name, "") or "").split())


def _after_type(value: str) -> str:
    """``rfc822; li@example.com`` → ``li@example.com`` (RFC 3464 typed fields)."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def _from_delivery_status(parsed: EmailMessage) -> tuple[bool, Failure | None]:
    """Whether the mail holds an RFC 3464 report, and the failure it states (None: nothing failed)."""
    for part in parsed.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            raise UnreadableReport("malformed delivery-status part")
        for block in blocks:
            if _field(block, "Action").lower() != "failed":
                continue
            diagnostic = _after_type(_field(block, "Diagnostic-Code"))
            status = _field(block, "Status")
            match = ENHANCED_STATUS.search(status) or ENHANCED_STATUS.search(diagnostic)
            code = ".".join(match.groups()) if match else ""
            if code.startswith("2"):
                continue
            return True, Failure(
                kind=kind_of(code or "5"),
                status=code,
                diagnostic=diagnostic[:300],
                recipient=_after_type(_field(block, "Final-Recipient") or _field(block, "Original-Recipient")),
            )
        return True, None  # delayed, delivered, relayed or expanded: nothing failed
    return False, None


def _text_of(parsed: EmailMessage) -> str:
    """The human-readable parts of returned mail, without the original message it encloses."""
    texts = []
    for part in parsed.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        if part.get_content_maintype() == "text":
            try:
                texts.append(str(part.get_content()))
            except (LookupError, UnicodeError):
                texts.append(part.get_payload(decode=True).decode("utf-8", "replace"))  # type: ignore[union-attr]
    return "\n".join(texts)[:REPORT_BYTES]


def _from_text(parsed: EmailMessage) -> Failure | None:
    """A non-standard bounce: by whom it comes and its subject, then the code or phrase it gives."""
    sender = parseaddr(str(parsed.get("From", "")))[1].lower()
    subject = str(parsed.get("Subject", ""))
    looks_returned = sender.split("@")[0] in DAEMONS or RETURNED_SUBJECT.search(subject) is not None
    if not looks_returned or DELAY_SUBJECT.search(subject):
        return None
    text = _text_of(parsed)
    recipient = next((m for m in ADDRESS.findall(text)), "")
    # Addresses and message ids may hold digits that look like codes (bounce+512-…): not searched.
    lines = [line.strip() for line in WORD_WITH_AT.sub(" ", text).splitlines() if line.strip()]
    text = "\n".join(lines)
    enhanced = ENHANCED_STATUS.search(text)
    if enhanced and enhanced.group(1) != "2":
        code = ".".join(enhanced.groups())
        line = next((x for x in lines if code in x), code)
        return Failure(kind_of(code), code, line[:300], recipient)
    reply = SMTP_REPLY.search(text)
    if reply:
        line = next((x for x in lines if reply.group(0) in x), reply.group(0))
        return Failure(kind_of(reply.group(1)), "", line[:300], recipient)
    for phrases, kind in ((SOFT_PHRASES, Bounce.Kind.SOFT), (HARD_PHRASES, Bounce.Kind.HARD)):
        phrase = phrases.search(text)
        if phrase:
            line = next((x for x in lines if phrase.group(0) in x), phrase.group(0))
            return Failure(kind, "", line[:300], recipient)
    # Returned, but it does not say why: count it as temporary rather than lose a working address.
    return Failure(Bounce.Kind.SOFT, "", (lines[0] if lines else subject)[:300], recipient)


def read_report(raw: bytes) -> Failure | None:
    """The delivery failure returned mail reports, or None for mail that reports none
    (a delay notice, an auto-reply); :class:`UnreadableReport` when it cannot be read at all."""
    parsed = _parse(raw)
    is_report, failure = _from_delivery_status(parsed)
    return failure if is_report else _from_text(parsed)


# Recording ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    message_id: int
    failure: Failure


def suppressed_q(address_field: str = "email_index") -> Q:
    """Rows whose email address (its blind index, in ``address_field``) is suppressed, as SQL."""
    return Q(Exists(EmailSuppression.objects.filter(address_index=OuterRef(address_field))))


def is_suppressed(address: str) -> bool:
    try:
        index = email_index(normalise_email(address))
    except Exception:  # not an address at all: nothing of ours suppresses it
        return False
    return index is not None and EmailSuppression.objects.filter(address_index=index).exists()


def _address_index(customer_index: str | None, recipient: str) -> str:
    if customer_index:
        return customer_index
    try:
        return email_index(normalise_email(recipient)) or ""
    except Exception:
        return ""


def record_bounces(reports: Sequence[Reported], *, source: str, now: dt.datetime | None = None) -> int:
    """Mark the reported campaign emails bounced and suppress addresses that failed for good.

    One transaction. A message already bounced, not sent yet or not an email is left alone, so
    a DSN delivered twice or also reported by a webhook counts once. Answers how many bounces
    were new.
    """
    now = now or timezone.now()
    wanted = {report.message_id: report.failure for report in reports}
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update()
            .filter(
                pk__in=list(wanted),
                channel=ChannelKind.EMAIL,
                status__in=(Message.Status.SENT, Message.Status.DELIVERED),
            )
            .order_by("pk")
            .values_list("pk", "customer_id")
        )
        already = set(
            Bounce.objects.filter(message_id__in=[pk for pk, _c in messages]).values_list("message_id", flat=True)
        )
        fresh = [(pk, customer_id) for pk, customer_id in messages if pk not in already]
        if not fresh:
            return 0
        indexes = dict(Customer.objects.filter(pk__in={c for _pk, c in fresh if c}).values_list("pk", "email_index"))
        bounces = []
        for pk, customer_id in fresh:
            failure = wanted[pk]
            bounces.append(
                Bounce(
                    message_id=pk,
                    customer_id=customer_id,
                    address_index=_address_index(indexes.get(customer_id), failure.recipient),
                    kind=failure.kind,
                    status=failure.status[:12],
                    diagnostic=failure.diagnostic[:300],
                    source=source,
                    received_at=now,
                )
            )
            Message.objects.filter(pk=pk).update(
                status=Message.Status.BOUNCED,
                bounced_at=now,
                error=f"bounced {failure.status or failure.kind}: {failure.diagnostic}"[:300],
            )
        Bounce.objects.bulk_create(bounces)
        for bounce in bounces:
            if bounce.address_index:
                _suppress_if_failing(bounce, now)
    return len(bounces)


def _suppress_if_failing(bounce: Bounce, now: dt.datetime) -> None:
    if EmailSuppression.objects.filter(address_index=bounce.address_index).exists():
        return
    if bounce.kind == Bounce.Kind.HARD:
        evidence = f"hard bounce {bounce.status} of rapport-{bounce.message_id}: {bounce.diagnostic}"
    else:
        soft = Bounce.objects.filter(address_index=bounce.address_index, kind=Bounce.Kind.SOFT).count()
        if soft < settings.RAPPORT_BOUNCE_SOFT_LIMIT:
            return
        evidence = f"{soft} soft bounces, the last {bounce.status} of rapport-{bounce.message_id}: {bounce.diagnostic}"
    EmailSuppression.objects.create(
        address_index=bounce.address_index, customer_id=bounce.customer_id, evidence=evidence[:300], created_at=now
    )
    # Mail already planned for the address goes no further either.
    Message.objects.filter(
        status=Message.Status.PLANNED,
        channel=ChannelKind.EMAIL,
        customer__email_index=bounce.address_index,
    ).update(status=Message.Status.SUPPRESSED, reason=Message.Reason.BOUNCED, lease_until=None)
    customer = Customer.objects.filter(pk=bounce.customer_id).first() if bounce.customer_id else None
    if customer is not None:
        record(MAIL_ACTOR, AuditEntry.Action.UPDATE, obj=customer, changes={"email_suppressed": evidence[:300]})


# Lifting a suppression ---------------------------------------------------------------------------

LIFT_REASON_LENGTH = 300


@transaction.atomic
def lift_suppression(customer: Customer, *, actor: Actor, reason: str) -> EmailSuppression | None:
    """Send email to the customer's address again (the mailbox was fixed, the bounce was wrong).

    Answers the suppression lifted, or None when the address was not suppressed (lifting twice
    changes nothing more). The evidence and the reason stay in the audit log; the bounces stay
    on record, and a new hard bounce suppresses the address again.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why email may go to this address again."))
    if len(reason) > LIFT_REASON_LENGTH:
        raise InvalidInput.single(
            "reason", "too_long", _("At most %(limit)d characters.") % {"limit": LIFT_REASON_LENGTH}
        )
    if not customer.email_index:
        return None
    suppression = EmailSuppression.objects.select_for_update().filter(address_index=customer.email_index).first()
    if suppression is None:
        return None
    suppression.delete()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=customer,
        changes={"email_suppression_lifted": suppression.evidence, "reason": reason},
    )
    return suppression


# The inbound listener's hand-off ------------------------------------------------------------------


def receive_returned_mail(raw: bytes, recipients: Sequence[str]) -> str:
    """Read one returned mail sent to bounce addresses; answer the SMTP reply for the listener."""
    try:
        failure = read_report(raw)
    except UnreadableReport as exc:
        logger.warning("returned mail refused: %s", exc)
        return f"550 5.6.0 {exc}"[:400]
    if failure is None:
        return "250 2.0.0 OK: no delivery failure reported"
    named = [found for found in map(message_for_address, recipients) if found is not None]
    message_id = named[0] if named else signed_message_in(raw)
    if message_id is None:
        return "550 5.1.1 no message of ours is named"
    recorded = record_bounces([Reported(message_id, failure)], source=Bounce.Source.SMTP)
    return f"250 2.0.0 OK: {failure.kind} bounce {'recorded' if recorded else 'already known'}"


def receive_in_thread(raw: bytes, recipients: Sequence[str]) -> str:
    """The listener's worker thread: the ORM with its own connection, closed afterwards."""
    close_old_connections()
    try:
        return receive_returned_mail(raw, recipients)
    except Exception:
        logger.exception("returned mail could not be processed")
        return "451 4.3.0 temporary failure, try again later"
    finally:
        connections.close_all()
