"""The customer 360 "Timeline" tab: everything that happened with the customer, newest first.

Behaviour events, orders, refunds, service tickets and the messages sent to the customer, each
kind shown to those who may see it. Each kind is read newest first, only as far as the page
reaches, and the lists are merged by time: a customer with thousands of events costs a page of
each, not a scan. Filtering by an event name shows only those events.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.core.listing import Page, page_offset
from rapport.customers.models import Customer
from rapport.events.models import Event

PAGE_SIZE = 50


@dataclass(frozen=True)
class Moment:
    """One line of the timeline: when, what kind, a title (linked when it has a page) and detail."""

    at: dt.datetime
    kind: str  # "event", "order", "refund", "ticket", "message", "contact"
    label: str  # the kind as shown, or the event's type
    title: str
    detail: str = ""
    url: str = ""
    event: Event | None = None


@dataclass(frozen=True)
class _Stream:
    rows: QuerySet[Any]
    moment: Callable[[Any], Moment]


def _events(customer: Customer, name: str) -> _Stream:
    events = Event.objects.filter(customer_id=customer.pk).select_related("source")
    if name:
        events = events.filter(name=name)
    return _Stream(
        events.order_by("-timestamp", "-id"),
        lambda e: Moment(e.timestamp, "event", e.type, e.name, e.source.name if e.source else "", event=e),
    )


def _orders(customer: Customer) -> _Stream:
    from rapport.commerce.models import Order

    def moment(o: Any) -> Moment:
        detail = f"{o.get_status_display()} · {o.total} {o.currency} · {o.channel}"
        return Moment(
            o.placed_at, "order", _("Order"), o.external_id, detail, reverse("commerce:order_detail", args=[o.pk])
        )

    return _Stream(Order.objects.filter(customer_id=customer.pk).order_by("-placed_at", "-id"), moment)


def _refunds(customer: Customer) -> _Stream:
    from rapport.commerce.models import Refund

    def moment(r: Any) -> Moment:
        title = f"{r.order.external_id} · {r.amount} {r.order.currency}"
        url = reverse("commerce:order_detail", args=[r.order_id])
        return Moment(r.refunded_at, "refund", _("Refund"), title, r.reason, url)

    refunds = Refund.objects.filter(order__customer_id=customer.pk).select_related("order")
    return _Stream(refunds.order_by("-refunded_at", "-id"), moment)


def _tickets(customer: Customer) -> _Stream:
    from rapport.service.models import Ticket

    def moment(t: Any) -> Moment:
        url = reverse("service:ticket", args=[t.pk])
        return Moment(t.created_at, "ticket", _("Ticket"), f"{t.number} {t.subject}", t.get_status_display(), url)

    return _Stream(Ticket.objects.filter(customer_id=customer.pk).order_by("-created_at", "-id"), moment)


def _messages(customer: Customer) -> _Stream:
    from rapport.campaigns.models import Message

    def moment(m: Any) -> Moment:
        title = m.plan.name if m.plan else m.get_channel_display()
        detail = f"{m.get_channel_display()} · {m.get_status_display()}"
        url = reverse("campaigns:detail", args=[m.plan_id]) if m.plan_id else ""
        return Moment(m.sent_at, "message", _("Message"), title, detail, url)

    sent = Message.objects.filter(customer_id=customer.pk, sent_at__isnull=False).select_related("plan")
    return _Stream(sent.order_by("-sent_at", "-id"), moment)


def _contacts(customer: Customer) -> _Stream:
    from rapport.clienteling.queries import contacts_of

    def moment(c: Any) -> Moment:
        who = c.staff.get_username() if c.staff else (c.store.name if c.store else "")
        detail = " · ".join(part for part in (c.get_purpose_display(), who, c.note) if part)
        return Moment(c.occurred_at, "contact", _("Contact"), c.get_kind_display(), detail)

    return _Stream(contacts_of(customer.pk).order_by("-occurred_at", "-id"), moment)


def _streams(user: Any, customer: Customer, name: str) -> list[_Stream]:
    streams = [_events(customer, name)]
    if name:
        return streams
    for permission, stream in (
        ("commerce.view_order", _orders),
        ("commerce.view_order", _refunds),
        ("service.view_ticket", _tickets),
        ("campaigns.view_message", _messages),
        ("clienteling.view_contact", _contacts),
    ):
        if user.has_perm(permission):
            streams.append(stream(customer))
    return streams


def customer_timeline(user: Any, customer: Customer, *, name: str = "", offset: int = 0) -> Page[Any]:
    """One page of the customer's timeline (of :class:`Moment`) as ``user`` may see it."""
    streams = _streams(user, customer, name)
    reach = offset + PAGE_SIZE
    lists: list[Iterable[Moment]] = [[s.moment(row) for row in s.rows[:reach]] for s in streams]
    merged = heapq.merge(*lists, key=lambda m: m.at, reverse=True)
    items: list[Any] = list(islice(merged, offset, reach))
    return Page(items=items, count=sum(s.rows.count() for s in streams), limit=PAGE_SIZE, offset=offset)


def timeline(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    name = request.GET.get("event", "").strip()
    offset = page_offset(request.GET.get("page"), PAGE_SIZE)
    return {"timeline_page": customer_timeline(request.user, customer, name=name, offset=offset), "event_filter": name}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "timeline",
            gettext_lazy("Timeline"),
            "events/tabs/timeline.html",
            timeline,
            position=30,
            permission="events.view_event",
        )
    )
