"""One-to-one service messages (sign-in codes, ticket replies, surveys) through the channel adapters.

Other domains call :func:`send_transactional` and never talk to a channel themselves. Until a
channel is configured (the embedded default) the message is written to the server log, which is
where an operator trying Rapport out finds a member's sign-in code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage

from rapport.customers.models import Customer

logger = logging.getLogger(__name__)


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
    address = to or (customer.email if channel == "email" else customer.phone)
    if not address:
        return TransactionalResult(channel, False, f"customer #{customer.pk} has no {channel} address")
    if channel == "email":
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]).send()
        return TransactionalResult(channel, True)
    logger.info("%s message for customer #%s (%s) [%s]: %s", channel, customer.pk, purpose, reference, body)
    return TransactionalResult(channel, True, "written to the server log: no gateway configured")
