"""One-to-one service messages (sign-in codes, ticket replies, surveys) through the channel adapters.

Other domains call :func:`send_transactional` and never talk to a channel themselves. The
message goes out at once through the same adapter a campaign uses (SMTP, the HTTP gateway,
the portal inbox), and a :class:`~rapport.campaigns.models.Message` row without a plan records
that it went (never its body: it may hold a sign-in code), so delivery reports from a gateway
find it. Until a channel is configured (the embedded default) the adapter writes the message to
the server log, which is where an operator trying Rapport out finds a member's sign-in code.

Marketing sent this way still needs the customer's consent on the channel; service messages
answer something the customer asked for and are not capped, held for quiet hours or refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from rapport.campaigns import bounces, channels
from rapport.campaigns.models import CONSENT_CHANNEL, CUSTOMER_CHANNELS, ChannelKind, Message, Purpose
from rapport.core.errors import InvalidInput
from rapport.customers.consent import has_consent
from rapport.customers.models import Customer

# Keeps the dispatcher's hands off a message this module is sending right now.
HELD = dt.timedelta(days=3650)


@dataclass(frozen=True)
class TransactionalResult:
    channel: str
    delivered: bool
    detail: str = ""


def send_transactional(
    customer: Customer,
    *,
    channel: str,
    purpose: str,
    subject: str,
    body: str,
    to: str = "",
    reference: str = "",
) -> TransactionalResult:
    """Send ``body`` to the customer on ``channel`` ("email", "sms", …); ``to`` overrides the address.

    ``purpose`` names why (``service`` for sign-in codes and replies); ``reference`` is the caller's
    idempotency or threading key, kept with the delivery.
    """
    if channel not in CUSTOMER_CHANNELS:
        raise InvalidInput.single("channel", "invalid", f"one of: {', '.join(CUSTOMER_CHANNELS)}")
    if purpose not in Purpose.values:
        raise InvalidInput.single("purpose", "invalid", f"one of: {', '.join(Purpose.values)}")
    if purpose == Purpose.MARKETING and not has_consent(customer.pk, CONSENT_CHANNEL[ChannelKind(channel)], purpose):
        return TransactionalResult(channel, False, f"customer #{customer.pk} has not agreed to marketing by {channel}")
    address = to or channels.addresses(channel, [customer.pk]).get(customer.pk, "")
    if not address:
        return TransactionalResult(channel, False, f"customer #{customer.pk} has no {channel} address")
    if channel == ChannelKind.EMAIL and bounces.is_suppressed(address):
        return TransactionalResult(channel, False, "the email address bounced and is suppressed")
    now = timezone.now()
    message = Message.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        reference=reference[:120],
        not_before=now,
        lease_until=now + HELD,
        created_at=now,
    )
    outgoing = channels.Outgoing(
        message_id=message.pk,
        customer_id=customer.pk,
        channel=channel,
        purpose=purpose,
        to=address,
        subject=subject,
        body=body,
    )
    outcome = channels.adapter_for(channel).send([outgoing], channels.policy_for(channel))[0]
    if outcome.ok:
        status = Message.Status.DELIVERED if outcome.delivered else Message.Status.SENT
        Message.objects.filter(pk=message.pk).update(
            status=status, sent_at=now, delivered_at=now if outcome.delivered else None, lease_until=None, attempts=1
        )
    else:
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, lease_until=None, attempts=1, error=outcome.error[:300]
        )
    return TransactionalResult(channel, outcome.ok, outcome.error)
