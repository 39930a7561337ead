"""Agents' replies to customers: out through the one delivery path (:mod:`rapport.campaigns.delivery`),
threaded so that the customer's answer finds its ticket again (:mod:`rapport.service.mail` reads
it). Kept apart from the incoming side so that the ticket services, which send replies, and the
mail listener, which calls the ticket services, do not import each other.
"""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.conf import settings

from rapport.campaigns.delivery import send_transactional
from rapport.campaigns.delivery.channels import masked_address
from rapport.service.models import Ticket, TicketMessage

logger = logging.getLogger(__name__)


def service_domain() -> str:
    return settings.RAPPORT_SERVICE_ADDRESS.rsplit("@", 1)[-1] or "localhost"


def new_message_id(ticket: Ticket) -> str:
    return make_msgid(idstring=f"{ticket.number}", domain=service_domain())


def deliver_reply(message: TicketMessage) -> None:
    """Send an agent's reply to the customer through the one delivery path and record how it went.

    Email goes from the support address, threaded by Message-ID / In-Reply-To / References, with
    the reply's attachments; without an address it goes by SMS. A bounced address, a channel
    outage or a refusal leaves the reply kept and marked failed with the reason (never raises).
    """
    ticket = message.ticket
    customer = ticket.customer
    address = ticket.reply_to or customer.email
    channel = "email"
    subject = f"Re: {ticket.subject} [{ticket.number}]"
    try:
        if address:
            thread = [
                message_id
                for message_id in TicketMessage.objects.filter(ticket=ticket, message_id__isnull=False)
                .exclude(pk=message.pk)
                .order_by("created_at", "pk")
                .values_list("message_id", flat=True)
                if message_id
            ]
            headers = {"Message-ID": message.message_id or new_message_id(ticket)}
            if thread:
                headers["In-Reply-To"] = thread[-1]
                headers["References"] = " ".join(thread[-20:])
            result = send_transactional(
                customer,
                channel="email",
                purpose="service",
                subject=subject,
                body=message.body,
                to=address,
                reference=ticket.number,
                sender=settings.RAPPORT_SERVICE_ADDRESS,
                reply_to=settings.RAPPORT_SERVICE_ADDRESS,
                headers=headers,
                attachments=[
                    (attachment.file_name, bytes(attachment.data), attachment.content_type)
                    for attachment in message.attachments.all()
                ],
            )
        else:
            result = send_transactional(
                customer, channel="sms", purpose="service", subject=subject, body=message.body, reference=ticket.number
            )
            channel, address = "sms", customer.phone or ""
        delivery = TicketMessage.Delivery.SENT if result.delivered else TicketMessage.Delivery.FAILED
        detail = channel if result.delivered else (result.detail or channel)
    except Exception as exc:  # the reply is kept; the agent sees that sending failed
        logger.exception("reply %s on %s could not be sent", message.pk, ticket.number)
        delivery, detail = TicketMessage.Delivery.FAILED, str(exc)
    if address:  # a refusal may quote the address (SMTP "550 <someone@…>: no such user")
        detail = detail.replace(address, masked_address(channel, address))
    TicketMessage.objects.filter(pk=message.pk).update(
        delivery=delivery, delivery_detail=detail[:300], delivery_address=address or None
    )
