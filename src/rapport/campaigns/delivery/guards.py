"""The send guards, defined once: why a message to a customer must not go out.

:func:`refusal` is one SQL ``CASE`` over rows that lead to a customer. The campaign engine applies
it to a whole chunk of enrollments inside its ``INSERT … SELECT``; a one-off message
(:mod:`rapport.campaigns.delivery.outbound`) applies the very same expression to its one customer,
so a journey, a sign-in code, a ticket reply and a survey are held to the same rules:

* consent on the channel — for marketing always; for service messages only when a plan sends
  them unasked (a sign-in code, a reply or a survey answers something the customer asked for);
* a bounced email address, whatever the purpose;
* for marketing: the channel's daily and weekly frequency caps, and another plan of the same
  de-duplication group that reached the customer recently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import Case, CharField, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual

from rapport.campaigns.delivery import bounces, channels
from rapport.campaigns.models import (
    CONSENT_CHANNEL,
    ChannelKind,
    ChannelPolicy,
    EmailSuppression,
    Message,
    Plan,
    Purpose,
)
from rapport.customers.consent import consenting_q
from rapport.customers.models import Customer

# Messages that count against a frequency cap or a de-duplication window.
COUNTED_FOR_CAPS = (Message.Status.PLANNED, Message.Status.SENT, Message.Status.DELIVERED)


def _sent_since(channel: str, since: dt.datetime, customer: str) -> Any:
    recent = (
        Message.objects.filter(
            customer_id=OuterRef(customer),
            channel=channel,
            purpose=Purpose.MARKETING,
            status__in=COUNTED_FOR_CAPS,
            created_at__gte=since,
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(recent, output_field=IntegerField()), Value(0))


def refusal(
    *,
    channel: str,
    purpose: str,
    policy: ChannelPolicy,
    now: dt.datetime,
    plan: Plan | None = None,
    customer: str = "customer",
    email_index: str | None = None,
) -> Any:
    """Why a send is refused (a :class:`Message.Reason`, '' when it may go), as one SQL CASE.

    ``customer`` is the path from the rows being selected to their customer: ``"customer"`` over
    enrollments or messages, ``""`` over customers themselves. ``email_index`` is the blind index
    of an address given explicitly (a ticket's reply-to), checked for bounces instead of the
    customer's own. ``plan`` is the sending plan, None for a one-off message.
    """
    prefix = f"{customer}__" if customer else ""
    customer_id = f"{customer}_id" if customer else "pk"
    whens = []
    if purpose == Purpose.MARKETING or plan is not None:
        consenting = Customer.objects.filter(
            consenting_q(CONSENT_CHANNEL[ChannelKind(channel)], purpose), pk=OuterRef(customer_id)
        )
        whens.append(When(~Exists(consenting), then=Value(Message.Reason.NO_CONSENT)))
    if channel == ChannelKind.EMAIL:
        # An address that bounced for good gets no more email, whatever the purpose.
        bounced = (
            bounces.suppressed_q(f"{prefix}email_index")
            if email_index is None
            else Q(Exists(EmailSuppression.objects.filter(address_index=email_index)))
        )
        whens.append(When(bounced, then=Value(Message.Reason.BOUNCED)))
    if purpose == Purpose.MARKETING:
        whens += [
            When(
                GreaterThanOrEqual(_sent_since(channel, now - dt.timedelta(days=1), customer_id), policy.daily_cap),
                then=Value(Message.Reason.FREQUENCY_CAP),
            ),
            When(
                GreaterThanOrEqual(_sent_since(channel, now - dt.timedelta(days=7), customer_id), policy.weekly_cap),
                then=Value(Message.Reason.FREQUENCY_CAP),
            ),
        ]
        if plan is not None and plan.dedup_group:
            sent_by_others = Message.objects.filter(
                customer_id=OuterRef(customer_id),
                dedup_group=plan.dedup_group,
                status__in=COUNTED_FOR_CAPS,
                created_at__gte=now - dt.timedelta(hours=plan.dedup_hours),
            ).exclude(plan_id=plan.pk)
            whens.append(When(Exists(sent_by_others), then=Value(Message.Reason.DUPLICATE)))
    if not whens:
        return Value("", output_field=CharField())
    return Case(*whens, default=Value(""), output_field=CharField())


def unreachable(
    customer_ids: Sequence[int], *, channel: str, purpose: str, now: dt.datetime, plan: Plan | None = None
) -> set[int]:
    """Of ``customer_ids``, those a message on ``channel`` could not reach now: no address on the
    channel, no consent, or a bounced email address. (A frequency cap or de-duplication only
    delays or skips one message; it does not make the customer unreachable.)"""
    ids = list(customer_ids)
    with_address = set(channels.addresses(channel, ids))
    refused = (
        Customer.objects.filter(pk__in=with_address)
        .annotate(
            refusal=refusal(
                channel=channel, purpose=purpose, policy=channels.policy_for(channel), now=now, plan=plan, customer=""
            )
        )
        .filter(refusal__in=[Message.Reason.NO_CONSENT, Message.Reason.BOUNCED])
        .values_list("pk", flat=True)
    )
    return (set(ids) - with_address) | set(refused)
