"""Channel adapters (触达渠道) and the dispatcher that hands planned messages to them.

* email — Django's mail connection: real SMTP when ``RAPPORT_SMTP_HOST`` is set; a text part,
  an HTML part with the open pixel, ``List-Unsubscribe`` (RFC 8058 one-click) headers, and a
  signed Message-ID and envelope sender that bring bounces back (:mod:`rapport.campaigns.delivery.bounces`);
* sms, push, mini-program, WeCom/WeChat — :class:`GatewayAdapter`: signed JSON batches POSTed to
  an HTTP gateway that any provider can sit behind (contract in ``docs/campaigns.md``); the
  gateway reports delivery back to ``/api/v1/campaigns/callbacks/<channel>``;
* site — a row in the member's portal inbox (outbound calls are not sent: a journey's "create
  task" step gives staff a call task, see :mod:`rapport.clienteling.steps`);
* staff — a notification mail to a staff address.

A channel without a transport (no SMTP host, no gateway URL: the embedded default) writes each
message to a file in the outbox folder (``RAPPORT_OUTBOX_DIR``, readable by the operator only)
and one line to the server log that names the file, with the address masked and no body: a
sign-in code or a customer's address never lands in a log that is shipped elsewhere, yet trying
Rapport out never needs a provider.

:func:`deliver_due` claims due messages with a lease (two workers never send one message at
once), sends them in batches, and records the outcomes with set-based updates. A failed batch
is retried with exponential back-off until the channel's ``max_attempts``. Providers receive
``rapport-<id>`` as the idempotency key, so a retry after a crash between "sent" and
"recorded" can be recognised by the gateway.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.campaigns.delivery import blocks, bounces, content, tracking
from rapport.campaigns.models import (
    GATEWAY_CHANNELS,
    ChannelKind,
    ChannelPolicy,
    ContentTemplate,
    Enrollment,
    Message,
    Plan,
    Purpose,
    SiteMessage,
    Step,
)
from rapport.core.errors import InvalidInput
from rapport.core.logmask import mask_personal_text
from rapport.core.pii import mask_email, mask_phone, mask_text
from rapport.core.public_url import public_url
from rapport.customers.models import Customer, Identity
from rapport.tags.sync import backoff, sign

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
BATCH = 500
TIMEOUT_SECONDS = 10.0
# The customer identity a gateway channel addresses (an app user id, a mini-program openid…).
IDENTITY_CHANNEL = {ChannelKind.PUSH: "app", ChannelKind.MINI_PROGRAM: "mini_program", ChannelKind.WECHAT: "wechat"}
DEFAULT_QUIET = (dt.time(21, 0), dt.time(9, 0))


@dataclass
class Outgoing:
    """One rendered message on its way to a channel."""

    message_id: int
    customer_id: int | None
    channel: str
    purpose: str
    to: str
    subject: str
    body: str
    unsubscribe_url: str = ""
    plan_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Email only: a one-off message may speak for another sender (the support address), carry its
    # own thread headers (a ticket's Message-ID), an HTML part and attachments.
    sender: str = ""
    reply_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    html: str = ""
    attachments: tuple[tuple[str, bytes, str], ...] = ()
    # A block email's whole HTML document (links already tracked), sent as it is.
    full_html: str = ""

    @property
    def key(self) -> str:
        return f"rapport-{self.message_id}"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    delivered: bool = False
    retry: bool = False
    error: str = ""


class ChannelAdapter(Protocol):
    def send(self, batch: Sequence[Outgoing], policy: ChannelPolicy) -> list[Outcome]: ...


def default_policy(channel: str) -> ChannelPolicy:
    """The policy of a channel nobody configured: caps 2/day and 5/week, quiet 21:00–09:00 except email."""
    quiet = (None, None) if channel in (ChannelKind.EMAIL, ChannelKind.SITE, ChannelKind.STAFF) else DEFAULT_QUIET
    return ChannelPolicy(channel=channel, quiet_start=quiet[0], quiet_end=quiet[1])


def policy_for(channel: str) -> ChannelPolicy:
    return ChannelPolicy.objects.filter(channel=channel).first() or default_policy(channel)


def masked_address(channel: str, address: str) -> str:
    """How an address may appear in a log line or a delivery note: enough to recognise, not to use."""
    if channel in (ChannelKind.EMAIL, ChannelKind.STAFF):
        return mask_email(address)
    if channel == ChannelKind.SMS:
        return mask_phone(address)
    return mask_text(address)


def _kept_text(item: Outgoing) -> str:
    """The outbox file's text. A customer's message is kept as the log would show it: the address,
    and emails, phone numbers and ID numbers in the subject and body, masked (personal data lands
    nowhere in plaintext, issue 19); what the message says, a sign-in code included, stays readable.
    A notice to staff keeps its address: the operator may forward it."""
    if item.customer_id is None:
        return f"To: {item.to}\nSubject: {item.subject}\n\n{item.body}\n"
    to = masked_address(item.channel, item.to)
    return f"To: {to}\nSubject: {mask_personal_text(item.subject)}\n\n{mask_personal_text(item.body)}\n"


def _log_only(batch: Sequence[Outgoing], why: str) -> list[Outcome]:
    """Keep each message as a file for the operator; the log line names it and holds no body,
    no subject (it may quote a ticket) and only the masked address."""
    folder = Path(settings.RAPPORT_OUTBOX_DIR)
    outcomes = []
    for item in batch:
        path = folder / f"{item.key}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(_kept_text(item), encoding="utf-8")
            path.chmod(0o600)
        except OSError as exc:  # nowhere to keep it: the message is lost, so it failed
            logger.warning("%s message %s could not be kept in %s: %s", item.channel, item.key, folder, exc)
            outcomes.append(Outcome(ok=False, error=f"outbox: {exc}"[:300]))
            continue
        logger.info(
            "%s message %s for customer #%s (%s) to %s [%s; the message is in %s]",
            item.channel,
            item.key,
            item.customer_id,
            item.purpose,
            masked_address(item.channel, item.to),
            why,
            path,
        )
        outcomes.append(Outcome(ok=True, error=why))
    return outcomes


def smtp_configured() -> bool:
    return bool(settings.EMAIL_HOST) or not settings.EMAIL_BACKEND.endswith("console.EmailBackend")


def _html_document(item: Outgoing) -> str:
    """The HTML part: a block email's own document, or the text with its links made clickable;
    a campaign's gets the open pixel. A one-off message without markup stays plain text ("")."""
    pixel = (
        f'<img src="{tracking.open_url(item.message_id)}" width="1" height="1" alt="">'
        if item.plan_id is not None
        else ""
    )
    if item.full_html:
        head, _sep, tail = item.full_html.rpartition("</body>")
        return f"{head}{pixel}</body>{tail}" if _sep else item.full_html + pixel
    if item.plan_id is None and not item.html:
        return ""
    markup = item.html or html.escape(item.body).replace("\n", "<br>\n")
    if item.plan_id is not None:
        markup = tracking.LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', markup)
        markup += f"\n{pixel}"
    return f"<!doctype html><html><body>{markup}</body></html>"


class EmailAdapter:
    """Over the configured mail connection, one SMTP session per batch."""

    def build(self, item: Outgoing) -> EmailMultiAlternatives:
        # The signed Message-ID and the per-message envelope sender (VERP) are how a bounce
        # finds its way back to this message; the From header stays the configured sender.
        # A one-off message may bring its own Message-ID (a ticket thread): the envelope
        # sender still brings its bounces back.
        sender = item.sender or settings.DEFAULT_FROM_EMAIL
        headers = {
            "X-Rapport-Message": item.key,
            "Message-ID": bounces.message_id_header(item.message_id),
            "From": sender,
            **item.headers,
        }
        if item.unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{item.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        document = _html_document(item)
        mail = EmailMultiAlternatives(
            subject=item.subject,
            body=item.body,
            from_email=bounces.return_path(item.message_id) or sender,
            to=[item.to],
            reply_to=[item.reply_to] if item.reply_to else None,
            headers=headers,
        )
        if document:
            mail.attach_alternative(document, "text/html")
        for name, data, content_type in item.attachments:
            mail.attach(name, data, content_type)
        return mail

    def send(self, batch: Sequence[Outgoing], policy: ChannelPolicy) -> list[Outcome]:
        if not smtp_configured():
            return _log_only(batch, "no SMTP host configured: kept in the outbox folder, noted in the server log")
        outcomes: list[Outcome] = []
        try:
            connection = get_connection(fail_silently=False)
            connection.open()
        except OSError as exc:
            return [Outcome(ok=False, retry=True, error=f"SMTP: {exc}") for _ in batch]
        try:
            for item in batch:
                try:
                    connection.send_messages([self.build(item)])
                    # A receiving server that accepted the mail is as far as SMTP can tell us.
                    outcomes.append(Outcome(ok=True, delivered=True))
                except OSError as exc:
                    outcomes.append(Outcome(ok=False, retry=True, error=f"SMTP: {exc}"))
                except Exception as exc:  # smtplib's refusals (recipient refused, data error): final
                    outcomes.append(Outcome(ok=False, error=f"SMTP: {exc}"[:300]))
        finally:
            connection.close()
        return outcomes


class GatewayAdapter:
    """POSTs a signed JSON batch to the channel's gateway URL.

    Request: ``{"channel", "callback_url", "messages": [{"id", "customer_id", "to", "subject",
    "body", "purpose"}]}`` with ``X-Rapport-Timestamp`` / ``X-Rapport-Signature`` (HMAC-SHA256 of
    ``timestamp.body`` with the gateway secret). A 2xx answer accepts the batch; it may list
    ``{"results": [{"id", "accepted", "error"}]}`` to refuse single messages. 429 and 5xx are
    retried with back-off; other 4xx fail the batch.
    """

    def send(self, batch: Sequence[Outgoing], policy: ChannelPolicy) -> list[Outcome]:
        if not policy.gateway_url:
            return _log_only(batch, "no gateway configured: kept in the outbox folder, noted in the server log")
        body = json.dumps(
            {
                "channel": policy.channel,
                "callback_url": public_url() + reverse("api:campaigns_callback", kwargs={"channel": policy.channel}),
                "messages": [
                    {
                        "id": item.key,
                        "customer_id": item.customer_id,
                        "to": item.to,
                        "subject": item.subject,
                        "body": item.body,
                        "purpose": item.purpose,
                    }
                    for item in batch
                ],
            },
            ensure_ascii=False,
            default=str,
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - an http(s) URLField set by staff
            policy.gateway_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Rapport-Campaigns/1",
                "X-Rapport-Timestamp": timestamp,
                "X-Rapport-Signature": sign(policy.gateway_secret or "", timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = response.read()
        except urllib.error.HTTPError as exc:
            retry = exc.code == 429 or exc.code >= 500
            return [Outcome(ok=False, retry=retry, error=f"gateway HTTP {exc.code}") for _ in batch]
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return [Outcome(ok=False, retry=True, error=f"gateway: {getattr(exc, 'reason', exc)}") for _ in batch]
        refused = _refused(answer)
        return [
            Outcome(ok=False, error=refused[item.key]) if item.key in refused else Outcome(ok=True) for item in batch
        ]


def _refused(answer: bytes) -> dict[str, str]:
    try:
        results = json.loads(answer or b"{}").get("results", [])
    except (ValueError, AttributeError):
        return {}
    if not isinstance(results, list):
        return {}
    return {
        str(r.get("id")): str(r.get("error") or "refused by the gateway")[:300]
        for r in results
        if isinstance(r, dict) and r.get("accepted") is False
    }


class SiteAdapter:
    """Stores the message in the member's portal inbox."""

    def send(self, batch: Sequence[Outgoing], policy: ChannelPolicy) -> list[Outcome]:
        now = timezone.now()
        SiteMessage.objects.bulk_create(
            [
                SiteMessage(
                    customer_id=item.customer_id,
                    message_id=item.message_id,
                    title=item.subject[:200],
                    body=item.body,
                    created_at=now,
                )
                for item in batch
                if item.customer_id is not None
            ],
            ignore_conflicts=True,
        )
        return [Outcome(ok=True, delivered=True) for _ in batch]


class StaffMailAdapter:
    """A notification mail to staff through Django's mail connection (the outbox without SMTP)."""

    def send(self, batch: Sequence[Outgoing], policy: ChannelPolicy) -> list[Outcome]:
        if not smtp_configured():
            return _log_only(batch, "no SMTP host configured: kept in the outbox folder, noted in the server log")
        connection = get_connection(fail_silently=False)
        outcomes = []
        for item in batch:
            mail = EmailMultiAlternatives(
                subject=item.subject, body=item.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[item.to]
            )
            if item.full_html:  # a test send of a block email shows the email as it will look
                mail.attach_alternative(item.full_html, "text/html")
            try:
                connection.send_messages([mail])
                outcomes.append(Outcome(ok=True, delivered=True))
            except OSError as exc:
                outcomes.append(Outcome(ok=False, retry=True, error=f"SMTP: {exc}"))
        return outcomes


_ADAPTERS: dict[str, ChannelAdapter] = {
    ChannelKind.EMAIL: EmailAdapter(),
    ChannelKind.SITE: SiteAdapter(),
    ChannelKind.STAFF: StaffMailAdapter(),
    **{channel: GatewayAdapter() for channel in GATEWAY_CHANNELS},
}


def register_adapter(channel: str, adapter: ChannelAdapter) -> None:
    """Replace the adapter of a channel (a provider SDK instead of the HTTP gateway)."""
    _ADAPTERS[channel] = adapter


def adapter_for(channel: str) -> ChannelAdapter:
    return _ADAPTERS[channel]


# Addresses -----------------------------------------------------------------------------------


def addresses(channel: str, customer_ids: Iterable[int]) -> dict[int, str]:
    """Where each customer is reached on ``channel`` (decrypting only the one field needed)."""
    ids = list(customer_ids)
    if channel in (ChannelKind.SITE,):
        return {pk: str(pk) for pk in ids}
    if channel == ChannelKind.EMAIL:
        rows = Customer.objects.filter(pk__any_of=ids).exclude(email_index__isnull=True).values_list("pk", "email")
        return {pk: email for pk, email in rows if email}
    if channel == ChannelKind.SMS:
        rows = Customer.objects.filter(pk__any_of=ids).exclude(phone_index__isnull=True).values_list("pk", "phone")
        return {pk: phone for pk, phone in rows if phone}
    found: dict[int, str] = {}
    for pk, external_id in (
        Identity.objects.filter(customer__any_of=ids, channel=IDENTITY_CHANNEL.get(ChannelKind(channel), channel))
        .order_by("-pk")
        .values_list("customer_id", "external_id")
    ):
        found.setdefault(pk, external_id)
    return found


# Dispatching ---------------------------------------------------------------------------------


def _claim(now: dt.datetime, limit: int, channel: str | None, *, lease: bool) -> list[Message]:
    with transaction.atomic():
        due = Message.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=Message.Status.PLANNED, not_before__lte=now
        )
        due = due.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        due = due.filter(Q(plan__isnull=True) | Q(plan__status=Plan.Status.RUNNING))
        if channel is not None:
            due = due.filter(channel=channel)
        claimed = list(
            due.order_by("not_before", "id").only(
                "pk",
                "plan_id",
                "step_id",
                "enrollment_id",
                "customer_id",
                "channel",
                "purpose",
                "template_id",
                "attempts",
            )[:limit]
        )
        if lease:
            Message.objects.filter(pk__any_of=[m.pk for m in claimed]).update(lease_until=now + LEASE)
    return claimed


def _coupons(messages: Sequence[Message]) -> dict[int, Any]:
    enrollment_ids = [m.enrollment_id for m in messages if m.enrollment_id]
    if not enrollment_ids:
        return {}
    return {
        customer_id: context["coupon"]
        for customer_id, context in Enrollment.objects.filter(pk__any_of=enrollment_ids).values_list(
            "customer_id", "context"
        )
        if isinstance(context, dict) and context.get("coupon")
    }


def render_batch(messages: Sequence[Message], channel: str) -> tuple[list[Outgoing], list[int], dict[int, str]]:
    """Rendered messages, the ids of those whose customer has no address on the channel, and the
    messages whose template failed at run time (with the reason): those fail instead of blocking."""
    templates = {t.pk: t for t in ContentTemplate.objects.filter(pk__in={m.template_id for m in messages})}
    steps = {s.pk: s for s in Step.objects.filter(pk__in={m.step_id for m in messages if m.step_id})}
    customer_ids = [m.customer_id for m in messages if m.customer_id is not None]
    block_emails = {pk: t for pk, t in templates.items() if t.blocks and channel == ChannelKind.EMAIL}
    sources = [part for t in templates.values() if t.pk not in block_emails for part in (t.subject, t.body)]
    sources += [str(s.config.get("message", "")) for s in steps.values()]
    wants_coupon = any("coupon" in content.variables_used(source) for source in sources)
    issued = _coupons(messages) if wants_coupon or block_emails else None
    # Steps that leave out products forecast to run out get their product lists loaded apart.
    leaving_out = {
        m.pk for m in messages if m.step_id in steps and steps[m.step_id].config.get(content.LEAVE_OUT_RUNNING_OUT)
    }
    running_out = content.running_out_products() if leaving_out else frozenset()
    personalised = {
        apart: _personalised(
            [m for m in messages if (m.pk in leaving_out) == apart],
            sources,
            block_emails,
            issued,
            leave_out=running_out if apart else frozenset(),
        )
        for apart in {m.pk in leaving_out for m in messages}
    }
    reach = addresses(channel, customer_ids) if channel != ChannelKind.STAFF else {}
    ready: list[Outgoing] = []
    unreachable: list[int] = []
    broken: dict[int, str] = {}
    for message in messages:
        customer_id = message.customer_id
        step = steps.get(message.step_id) if message.step_id else None
        if channel == ChannelKind.STAFF:
            to = str(step.config.get("email", "")) if step else ""
        else:
            to = reach.get(customer_id, "") if customer_id is not None else ""
        if not to:
            unreachable.append(message.pk)
            continue
        unsubscribe = (
            tracking.unsubscribe_url(customer_id, channel)
            if message.purpose == Purpose.MARKETING and customer_id is not None
            else ""
        )
        contexts, personal = personalised[message.pk in leaving_out]
        context = {**contexts.get(customer_id or 0, {}), "unsubscribe_url": unsubscribe}
        full_html = ""
        try:
            if message.template_id in block_emails and customer_id is not None:
                subject, body, full_html = _render_block_email(
                    message, block_emails[message.template_id], personal[customer_id], unsubscribe
                )
            else:
                subject, body = _render_one(message, channel, step, templates, context, unsubscribe)
        except InvalidInput as exc:
            broken[message.pk] = str(exc)[:300]
            continue
        ready.append(
            Outgoing(
                message_id=message.pk,
                customer_id=customer_id,
                channel=channel,
                purpose=message.purpose,
                to=to,
                subject=subject,
                body=body,
                unsubscribe_url=unsubscribe,
                plan_id=message.plan_id,
                full_html=full_html,
            )
        )
    return ready, unreachable, broken


def _personalised(
    messages: Sequence[Message],
    sources: list[str],
    block_emails: dict[int, ContentTemplate],
    issued: dict[int, Any] | None,
    *,
    leave_out: frozenset[int],
) -> tuple[dict[int, dict[str, Any]], dict[int, blocks.Personal]]:
    """The template variables and the block emails' data of these messages' customers."""
    customer_ids = [m.customer_id for m in messages if m.customer_id is not None]
    contexts = content.contexts_for(customer_ids, sources, coupons=issued, leave_out=leave_out)
    personal = (
        blocks.personal_for(
            [m.customer_id for m in messages if m.customer_id is not None and m.template_id in block_emails],
            [block for t in block_emails.values() for block in t.blocks],
            issued=issued,
            leave_out=leave_out,
        )
        if block_emails
        else {}
    )
    return contexts, personal


def _render_block_email(
    message: Message, template: ContentTemplate, personal: blocks.Personal, unsubscribe: str
) -> tuple[str, str, str]:
    """Subject, text and HTML of a block email; a campaign's links (not the unsubscribe) are tracked."""
    rendered = blocks.render(template.blocks, personal, subject=template.subject, unsubscribe_url=unsubscribe)
    subject = blocks.fill(template.subject, personal.fields)
    if message.plan_id is None:
        return subject, rendered.text, rendered.html
    skip = frozenset({unsubscribe})
    return (
        subject,
        tracking.track_links(rendered.text, message.pk, skip=skip),
        tracking.track_html_links(rendered.html, message.pk, skip=skip),
    )


def _render_one(
    message: Message,
    channel: str,
    step: Step | None,
    templates: dict[int, ContentTemplate],
    context: dict[str, Any],
    unsubscribe: str,
) -> tuple[str, str]:
    if channel == ChannelKind.STAFF and step is not None:
        return str(step.config.get("subject") or "Rapport"), content.render(
            str(step.config.get("message", "")), context
        )
    template = templates.get(message.template_id or 0)
    if template is None:
        raise InvalidInput.single("template", "not_found", "the message's template was deleted")
    subject = content.render(template.subject, context)
    body = content.render(template.body, context)
    if message.plan_id is not None:
        body = tracking.track_links(body, message.pk, skip=frozenset({unsubscribe}))
    if unsubscribe and unsubscribe not in body and channel != ChannelKind.SITE:
        # In the installation's language (RAPPORT_LANGUAGE), whoever's request started the send.
        with translation.override(settings.LANGUAGE_CODE):
            label = _("Unsubscribe: %(url)s") % {"url": unsubscribe}
        body = f"{body.rstrip()}\n\n{label}"
    return subject, body


def _record(
    policy: ChannelPolicy,
    messages: dict[int, Message],
    sent: Sequence[Outgoing],
    outcomes: Sequence[Outcome],
    now: dt.datetime,
) -> dict[str, int]:
    groups: dict[str, list[int]] = defaultdict(list)
    errors: dict[int, str] = {}
    for item, outcome in zip(sent, outcomes, strict=True):
        attempts = messages[item.message_id].attempts + 1
        if outcome.ok:
            groups["delivered" if outcome.delivered else "sent"].append(item.message_id)
        elif outcome.retry and attempts < policy.max_attempts:
            groups[f"retry:{attempts}"].append(item.message_id)
            errors[item.message_id] = outcome.error
        else:
            groups["failed"].append(item.message_id)
            errors[item.message_id] = outcome.error
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        for group, ids in groups.items():
            rows = Message.objects.filter(pk__any_of=ids)
            if group == "sent":
                rows.update(
                    status=Message.Status.SENT, sent_at=now, lease_until=None, attempts=F("attempts") + 1, error=""
                )
            elif group == "delivered":
                rows.update(
                    status=Message.Status.DELIVERED,
                    sent_at=now,
                    delivered_at=now,
                    lease_until=None,
                    attempts=F("attempts") + 1,
                    error="",
                )
            elif group == "failed":
                rows.update(status=Message.Status.FAILED, lease_until=None, error=errors[ids[0]][:300])
            else:
                attempts = int(group.split(":")[1])
                rows.update(
                    attempts=attempts, not_before=now + backoff(attempts), lease_until=None, error=errors[ids[0]][:300]
                )
            counts[group.split(":")[0]] += len(ids)
    return counts


def deliver_due(*, now: dt.datetime | None = None, limit: int = 5000, channel: str | None = None) -> dict[str, int]:
    """Send every due planned message once; answer counts by outcome.

    On PostgreSQL the claimed rows stay locked (``FOR UPDATE SKIP LOCKED``) while they are sent
    and recorded, in one transaction: other workers skip them, and a worker that dies releases
    them at once, without writing a lease to every row. SQLite has no row locks and one writer:
    there a short lease marks the claim and the sending happens outside any transaction.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return _deliver(_claim(now, limit, channel, lease=False), now)
    return _deliver(_claim(now, limit, channel, lease=True), now)


def _deliver(claimed: list[Message], now: dt.datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    by_channel: dict[str, list[Message]] = defaultdict(list)
    for message in claimed:
        by_channel[message.channel].append(message)
    for channel_name, messages in by_channel.items():
        policy = policy_for(channel_name)
        if not policy.is_enabled:
            Message.objects.filter(pk__any_of=[m.pk for m in messages]).update(
                status=Message.Status.SUPPRESSED, reason=Message.Reason.CHANNEL_OFF, lease_until=None
            )
            counts["suppressed"] += len(messages)
            continue
        # Render the whole claim with a handful of queries; hand it to the adapter in batches.
        ready, unreachable, broken = render_batch(messages, channel_name)
        for message_id, error in broken.items():
            Message.objects.filter(pk=message_id).update(status=Message.Status.FAILED, lease_until=None, error=error)
        counts["failed"] += len(broken)
        if unreachable:
            Message.objects.filter(pk__any_of=unreachable).update(
                status=Message.Status.SUPPRESSED, reason=Message.Reason.NO_ADDRESS, lease_until=None
            )
            counts["suppressed"] += len(unreachable)
        adapter = adapter_for(channel_name)
        outcomes: list[Outcome] = []
        for start in range(0, len(ready), BATCH):
            outcomes += adapter.send(ready[start : start + BATCH], policy)
        if ready:
            recorded = _record(policy, {m.pk: m for m in messages}, ready, outcomes, now)
            for group, n in recorded.items():
                counts[group] += n
    return dict(counts)


# Delivery reports and tracking ----------------------------------------------------------------

REPORT_STATUSES = ("delivered", "failed", "opened", "clicked")


def apply_delivery_reports(channel: str, events: Sequence[dict[str, Any]], *, now: dt.datetime | None = None) -> int:
    """Apply a gateway's delivery-status reports; replays and out-of-order reports are harmless."""
    now = now or timezone.now()
    by_status: dict[str, list[int]] = defaultdict(list)
    for event in events:
        message_id = parse_key(str(event.get("id", "")))
        if message_id is not None:
            by_status[str(event.get("status"))].append(message_id)
    changed = 0
    with transaction.atomic():
        mine = Message.objects.filter(channel=channel)
        if ids := by_status.get("delivered"):
            changed += mine.filter(pk__in=ids, status=Message.Status.SENT).update(
                status=Message.Status.DELIVERED, delivered_at=now
            )
        if ids := by_status.get("failed"):
            changed += mine.filter(pk__in=ids, status=Message.Status.SENT).update(
                status=Message.Status.FAILED, error="reported failed by the gateway"
            )
        if ids := by_status.get("opened", []) + by_status.get("clicked", []):
            changed += mark_opened(mine.filter(pk__in=ids), now)
        if ids := by_status.get("clicked"):
            changed += mine.filter(pk__in=ids, clicked_at__isnull=True).update(clicked_at=now)
    return changed


def parse_key(key: str) -> int | None:
    prefix, _, number = key.partition("-")
    return int(number) if prefix == "rapport" and number.isdigit() else None


def mark_opened(messages: Any, now: dt.datetime) -> int:
    """An open proves delivery: a sent message becomes delivered as it is first opened."""
    messages.filter(status=Message.Status.SENT).update(status=Message.Status.DELIVERED, delivered_at=now)
    return int(messages.filter(opened_at__isnull=True).update(opened_at=now))
