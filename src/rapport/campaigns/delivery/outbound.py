"""One-off messages (sign-in codes, ticket replies, surveys, staff notices) through the channel adapters.

Other domains call :func:`send_transactional` (to a customer) or :func:`notify_staff` and never talk
to a channel or to Django's mail themselves. The message is held to the same guards as a campaign
(:func:`rapport.campaigns.delivery.guards.refusal`), goes out at once through the same adapter a
campaign uses (SMTP with its bounce-bearing envelope sender, the HTTP gateway, the portal inbox),
and a :class:`~rapport.campaigns.models.Message` row without a plan records that it went, or why
it did not (never its body: it may hold a sign-in code), so delivery reports and bounces find it.
Until a channel is configured (the embedded default) the adapter keeps the message in the outbox
folder, which is where an operator trying Rapport out finds a member's sign-in code.

Marketing sent this way still needs the customer's consent on the channel and respects the
frequency caps; service messages answer something the customer asked for and are not capped,
held for quiet hours or refused for want of consent. An address that bounced gets no email.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.campaigns.delivery import channels, guards
from rapport.campaigns.models import CUSTOMER_CHANNELS, ChannelKind, Message, Purpose
from rapport.core.errors import InvalidInput
from rapport.core.pii import email_index, normalise_email
from rapport.customers.models import Customer

# Keeps the dispatcher's hands off a message this module is sending right now.
HELD = dt.timedelta(days=3650)


@dataclass(frozen=True)
class TransactionalResult:
    """How a one-off message went: ``detail`` says why it did not, or where it went without a transport."""

    channel: str
    delivered: bool
    detail: str = ""
    message_id: int | None = None


def _refused_because(reason: str, customer: Customer, channel: str, purpose: str) -> str:
    explained: dict[str, str] = {
        Message.Reason.NO_ADDRESS: f"customer #{customer.pk} has no {channel} address",
        Message.Reason.NO_CONSENT: f"customer #{customer.pk} has not agreed to {purpose} by {channel}",
        Message.Reason.BOUNCED: "the email address bounced and is suppressed",
        Message.Reason.FREQUENCY_CAP: f"customer #{customer.pk} reached the {channel} frequency cap",
    }
    return explained.get(reason, reason)


def _index_of(address: str) -> str:
    try:
        return email_index(normalise_email(address)) or ""
    except ValidationError:  # not an address at all: nothing of ours suppresses it
        return ""


def send_transactional(
    customer: Customer,
    *,
    channel: str,
    purpose: str,
    subject: str,
    body: str,
    to: str = "",
    reference: str = "",
    html: str = "",
    sender: str = "",
    reply_to: str = "",
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> TransactionalResult:
    """Send ``body`` to the customer on ``channel`` ("email", "sms", …); ``to`` overrides the address.

    ``purpose`` names why (``service`` for sign-in codes and replies); ``reference`` is the caller's
    idempotency or threading key, kept with the delivery. ``html``, ``sender``, ``reply_to``,
    ``headers`` and ``attachments`` shape an email (a ticket reply from the support address in
    its thread); other channels ignore them.
    """
    if channel not in CUSTOMER_CHANNELS:
        raise InvalidInput.single("channel", "invalid", f"one of: {', '.join(CUSTOMER_CHANNELS)}")
    if purpose not in Purpose.values:
        raise InvalidInput.single("purpose", "invalid", f"one of: {', '.join(Purpose.values)}")
    now = timezone.now()
    policy = channels.policy_for(channel)
    address = to or channels.addresses(channel, [customer.pk]).get(customer.pk, "")
    reason = Message.Reason.NO_ADDRESS
    if address:
        explicit = _index_of(address) if to and channel == ChannelKind.EMAIL else None
        refusal = guards.refusal(
            channel=channel, purpose=purpose, policy=policy, now=now, customer="", email_index=explicit
        )
        reason = Customer.objects.filter(pk=customer.pk).annotate(refusal=refusal).values_list("refusal", flat=True)[0]
    message = Message.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        reference=reference[:120],
        status=Message.Status.SUPPRESSED if reason else Message.Status.PLANNED,
        reason=reason,
        not_before=now,
        lease_until=None if reason else now + HELD,
        created_at=now,
    )
    if reason:
        return TransactionalResult(channel, False, _refused_because(reason, customer, channel, purpose), message.pk)
    outgoing = channels.Outgoing(
        message_id=message.pk,
        customer_id=customer.pk,
        channel=channel,
        purpose=purpose,
        to=address,
        subject=subject,
        body=body,
        sender=sender,
        reply_to=reply_to,
        headers=dict(headers or {}),
        html=html,
        attachments=tuple(attachments),
    )
    outcome = channels.adapter_for(channel).send([outgoing], policy)[0]
    _record(message, outcome, now)
    return TransactionalResult(channel, outcome.ok, outcome.error, message.pk)


def notify_staff(
    recipients: Sequence[str], *, subject: str, body: str, reference: str = ""
) -> list[TransactionalResult]:
    """A notice to staff addresses (SLA warnings, escalations) on the staff channel, one message each."""
    now = timezone.now()
    policy = channels.policy_for(ChannelKind.STAFF)
    batch = []
    for address in recipients:
        message = Message.objects.create(
            channel=ChannelKind.STAFF,
            purpose=Purpose.SERVICE,
            reference=reference[:120],
            not_before=now,
            lease_until=now + HELD,
            created_at=now,
        )
        batch.append(
            channels.Outgoing(
                message_id=message.pk,
                customer_id=None,
                channel=ChannelKind.STAFF,
                purpose=Purpose.SERVICE,
                to=address,
                subject=subject,
                body=body,
            )
        )
    outcomes = channels.adapter_for(ChannelKind.STAFF).send(batch, policy) if batch else []
    results = []
    for item, outcome in zip(batch, outcomes, strict=True):
        _record(Message(pk=item.message_id), outcome, now)
        results.append(TransactionalResult(ChannelKind.STAFF, outcome.ok, outcome.error, item.message_id))
    return results


def _record(message: Message, outcome: channels.Outcome, now: dt.datetime) -> None:
    if outcome.ok:
        status = Message.Status.DELIVERED if outcome.delivered else Message.Status.SENT
        Message.objects.filter(pk=message.pk).update(
            status=status, sent_at=now, delivered_at=now if outcome.delivered else None, lease_until=None, attempts=1
        )
    else:
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, lease_until=None, attempts=1, error=outcome.error[:300]
        )
