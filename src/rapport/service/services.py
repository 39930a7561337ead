"""Tickets' business rules: opening a ticket from any channel, replies, notes, the status flow,
assignment, priority and SLA, merging duplicates, canned replies. Every entry point (mail, portal,
chat, API, console, jobs) calls these.

Each function validates before it writes, owns its transaction, and records the ticket's history
and an audit entry. Outgoing replies are sent after the reply is committed; the delivery result
is written back to the message.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from rapport.audit.models import AuditEntry
from rapport.audit.services import record, record_reveal
from rapport.commerce.models import Order
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.customers import services as customer_services
from rapport.customers.models import Customer
from rapport.service import clock, sla
from rapport.service.assignment import choose_assignee
from rapport.service.attachments import IncomingFile, check_files
from rapport.service.history import record_event
from rapport.service.models import (
    AgentProfile,
    Attachment,
    CannedReply,
    Category,
    MessageKind,
    Priority,
    Status,
    Ticket,
    TicketChannel,
    TicketMessage,
)
from rapport.service.replies import deliver_reply, new_message_id
from rapport.service.validation import clean_choice, clean_text

logger = logging.getLogger(__name__)

MAX_SUBJECT = 200
MAX_BODY = 50_000

# Where a status may go next. Reopening (resolved/closed → open) happens on a customer's reply
# or by an agent; "new" is only ever the first status.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.PENDING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    # Closed by mistake where resolved was meant: resolved again, so the auto-close runs its course.
    Status.CLOSED: {Status.OPEN, Status.RESOLVED},
}
ACTIVE = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
ENDED = frozenset({Status.RESOLVED, Status.CLOSED})


# Customers ------------------------------------------------------------------------------------


def find_customer(*, email: str = "", phone: str = "") -> Customer | None:
    """The customer with this email or phone, found through the blind indexes."""
    email_key = pii.search_index_for_email(email) if email else None
    if email_key:
        found = Customer.objects.filter(email_index=email_key).first()
        if found is not None:
            return found
    phone_key = pii.search_index_for_phone(phone) if phone else None
    if phone_key:
        return Customer.objects.filter(phone_index=phone_key).first()
    return None


def find_or_create_customer(*, email: str = "", phone: str = "", name: str = "", actor: Actor) -> Customer:
    """Who wrote in: found by email or phone, or created as a prospect with what they gave."""
    if not email and not phone:
        raise InvalidInput.single("email", "required", "an email address or a phone number identifies the customer")
    found = find_customer(email=email, phone=phone)
    if found is not None:
        return found
    data: dict[str, Any] = {"name": (name or email.split("@")[0] or phone)[:120], "member_status": "prospect"}
    if email:
        data["email"] = email
    if phone:
        data["phone"] = phone
    return customer_services.create_customer(data=data, actor=actor)


# Opening a ticket ------------------------------------------------------------------------------


def _clean_order(order_ref: Any, customer: Customer, errors: list[FieldError]) -> Order | None:
    if order_ref in (None, ""):
        return None
    orders = Order.objects.filter(customer=customer)
    if isinstance(order_ref, Order):
        found = orders.filter(pk=order_ref.pk).first()
    elif isinstance(order_ref, int) or (isinstance(order_ref, str) and order_ref.isdigit()):
        found = orders.filter(pk=int(order_ref)).first() or orders.filter(external_id=str(order_ref)).first()
    else:
        found = orders.filter(external_id=str(order_ref)).first()
    if found is None:
        errors.append(FieldError("order", "not_found", f"customer #{customer.pk} has no order {order_ref}"))
    return found


@transaction.atomic
def open_ticket(
    *,
    customer: Customer,
    channel: str,
    subject: Any,
    body: Any,
    actor: Actor,
    category: Any = Category.INQUIRY,
    priority: Any = Priority.NORMAL,
    order: Any = None,
    files: Sequence[IncomingFile] = (),
    message_id: str | None = None,
    reply_to: str = "",
    assignee: User | None = None,
) -> Ticket:
    """Open a ticket with the customer's first message; SLA clocks start, the rules assign it."""
    errors: list[FieldError] = []
    subject_text = clean_text(subject, "subject", MAX_SUBJECT, errors)
    channel = clean_choice(channel, "channel", TicketChannel.values, errors)
    category = clean_choice(category, "category", Category.values, errors)
    priority = clean_choice(priority, "priority", Priority.values, errors)
    linked_order = _clean_order(order, customer, errors)
    body_text, cleaned_files = _clean_message(body, files, errors)
    now = clock.now()
    ticket = Ticket(
        subject=subject_text,
        category=category,
        priority=priority,
        channel=channel,
        customer=customer,
        order=linked_order,
        store=(linked_order.store if linked_order and linked_order.store_id else customer.store),
        reply_to=reply_to,
        created_at=now,
        updated_at=now,
    )
    sla.set_deadlines(ticket)
    ticket.save()
    _add_message(
        ticket,
        kind=MessageKind.CUSTOMER,
        body=body_text,
        author_label=customer.name,
        files=cleaned_files,
        message_id=message_id,
    )
    record_event(ticket, "created", actor=actor, data={"channel": channel, "category": category}, at=now)
    chosen = assignee or choose_assignee(ticket)
    if chosen is not None:
        ticket.assignee = chosen
        ticket.save(update_fields=["assignee"])
        record_event(ticket, "assigned", actor=actor, data={"to": chosen.get_username(), "auto": assignee is None})
    record(actor, AuditEntry.Action.CREATE, obj=ticket, changes={"channel": channel, "customer": customer.pk})
    return ticket


@transaction.atomic
def open_ticket_for_contact(
    *,
    email: str = "",
    phone: str = "",
    name: str = "",
    channel: str,
    subject: Any,
    body: Any,
    actor: Actor,
    **options: Any,
) -> Ticket:
    """Open a ticket for whoever wrote in: the customer with this email or phone, or a new prospect.

    One transaction: a prospect created for a ticket that is then refused (no subject, a file
    too large) goes away with it, whichever front door (API, console, mail) asked. ``options``
    are those of :func:`open_ticket` (category, priority, order, files, message_id, reply_to).
    """
    customer = find_or_create_customer(email=email, phone=phone, name=name, actor=actor)
    return open_ticket(customer=customer, channel=channel, subject=subject, body=body, actor=actor, **options)


def _add_message(
    ticket: Ticket,
    *,
    kind: str,
    body: str,
    author_label: str,
    author: Any = None,
    files: Sequence[IncomingFile] = (),
    message_id: str | None = None,
) -> TicketMessage:
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=kind,
        body=body,
        author=author,
        author_label=author_label[:150],
        message_id=message_id or None,
        created_at=clock.now(),
    )
    Attachment.objects.bulk_create(
        Attachment(message=message, file_name=f.file_name, content_type=f.content_type, size=len(f.data), data=f.data)
        for f in files
    )
    return message


# Working a ticket ------------------------------------------------------------------------------


def _locked(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",)).select_related("customer", "store", "assignee").get(pk=ticket.pk)
    )


def _enter(ticket: Ticket, status: str, actor: Actor) -> None:
    """Move to ``status``, keeping SLA clocks and timestamps right; the caller saves."""
    now = clock.now()
    previous = ticket.status
    if status == previous:
        return
    if status not in TRANSITIONS[previous]:
        raise Conflict.single("status", "invalid_transition", f"a {previous} ticket cannot become {status}")
    if previous == Status.PENDING:
        sla.resume(ticket, now)
    if status == Status.PENDING:
        sla.pause(ticket, now)
    if status == Status.RESOLVED:
        ticket.resolved_at = ticket.resolved_at if previous == Status.CLOSED and ticket.resolved_at else now
        ticket.closed_at = None
    if status == Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    if status == Status.OPEN and previous in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.warned_at = None
    ticket.status = status
    ticket.updated_at = now
    record_event(ticket, "status", actor=actor, data={"from": previous, "to": status}, at=now)


def _clean_message(
    body: Any, files: Sequence[IncomingFile], errors: list[FieldError]
) -> tuple[str, list[IncomingFile]]:
    """A message's text and files, checked together so every problem is reported at once."""
    text = clean_text(body, "body", MAX_BODY, errors)
    cleaned: list[IncomingFile] = []
    try:
        cleaned = check_files(files)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return text, cleaned


def _check_worker(actor: Actor) -> None:
    user = actor.staff_user
    if user is not None and not user.has_perm("service.work_ticket"):
        raise Conflict.single("actor", "forbidden", "this account cannot work tickets")


def reply(
    ticket: Ticket,
    *,
    body: Any,
    actor: Actor,
    files: Sequence[IncomingFile] = (),
    then: str = Status.PENDING,
) -> TicketMessage:
    """An agent's answer to the customer: stored, then sent over the ticket's channel.

    The ticket then waits on the customer (``pending``, the default) or is ``resolved``.
    """
    with transaction.atomic():
        _check_worker(actor)
        errors: list[FieldError] = []
        then = clean_choice(then, "then", [Status.OPEN, Status.PENDING, Status.RESOLVED], errors)
        text, cleaned = _clean_message(body, files, errors)
        ticket = _locked(ticket)
        if ticket.merged_into_id is not None:
            raise Conflict.single("ticket", "merged", f"merged into T-{ticket.merged_into_id:06d}; reply there")
        if ticket.status == Status.CLOSED:
            raise Conflict.single("status", "closed", "reopen the ticket before replying")
        message = _add_message(
            ticket,
            kind=MessageKind.AGENT,
            body=text,
            author=actor.staff_user,
            author_label=actor.describe(),
            files=cleaned,
            message_id=new_message_id(ticket),
        )
        if ticket.first_response_at is None:
            ticket.first_response_at = message.created_at
            ticket.warned_at = None  # the next warning is about the resolution deadline
        if ticket.status == Status.NEW and then != Status.OPEN:
            _enter(ticket, Status.OPEN, actor)
        _enter(ticket, then, actor)
        ticket.updated_at = message.created_at
        ticket.save()
        record_event(ticket, "replied", actor=actor, data={"message": message.pk})
    deliver_reply(message)
    if ticket.status in ENDED:
        _after_conversation(ticket)
    return message


def delivery_note(message: TicketMessage, *, revealed: bool = False) -> str:
    """How a reply went, for people: "email to b***@163.com" (the address in plaintext only when
    ``revealed``, after :func:`reveal_delivery_addresses` recorded who saw it), or why it failed."""
    if message.delivery != TicketMessage.Delivery.SENT or not message.delivery_address:
        return message.delivery_detail
    address = message.delivery_address
    if not revealed:
        address = pii.mask_email(address) if "@" in address else pii.mask_phone(address)
    return f"{message.delivery_detail} to {address}"


def reveal_delivery_addresses(ticket: Ticket, *, actor: Actor) -> dict[int, str]:
    """The addresses the ticket's replies went to, in plaintext, by message id; the reveal is audited."""
    found = {
        pk: address
        for pk, address in ticket.messages.filter(delivery_address__isnull=False)
        .order_by("pk")
        .values_list("pk", "delivery_address")
        if address
    }
    record_reveal(actor, ticket, fields=["delivery_address"])
    return found


@transaction.atomic
def add_note(ticket: Ticket, *, body: Any, actor: Actor, files: Sequence[IncomingFile] = ()) -> TicketMessage:
    """An internal note: agents see it, the customer never does."""
    _check_worker(actor)
    text, cleaned = _clean_message(body, files, [])
    ticket = _locked(ticket)
    message = _add_message(
        ticket, kind=MessageKind.NOTE, body=text, author=actor.staff_user, author_label=actor.describe(), files=cleaned
    )
    record_event(ticket, "note", actor=actor, data={"message": message.pk})
    return message


@transaction.atomic
def customer_message(
    ticket: Ticket,
    *,
    body: Any,
    actor: Actor,
    files: Sequence[IncomingFile] = (),
    message_id: str | None = None,
) -> TicketMessage:
    """The customer wrote again: the message joins the ticket and reopens it when it waited or was done."""
    text, cleaned = _clean_message(body, files, [])
    ticket = _locked(ticket)
    while ticket.merged_into_id is not None:
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("customer", "store")
            .get(pk=ticket.merged_into_id)
        )
    message = _add_message(
        ticket,
        kind=MessageKind.CUSTOMER,
        body=text,
        author_label=ticket.customer.name,
        files=cleaned,
        message_id=message_id,
    )
    if ticket.status in (Status.PENDING, Status.RESOLVED, Status.CLOSED):
        reopened = ticket.status != Status.PENDING
        _enter(ticket, Status.OPEN, actor)
        if reopened:
            record_event(ticket, "reopened", actor=actor, data={"message": message.pk})
    ticket.updated_at = message.created_at
    ticket.save()
    return message


def change_status(ticket: Ticket, *, status: Any, actor: Actor) -> Ticket:
    with transaction.atomic():
        _check_worker(actor)
        if status not in Status.values or status == Status.NEW:
            raise InvalidInput.single("status", "invalid", "one of: open, pending, resolved, closed")
        ticket = _locked(ticket)
        if ticket.merged_into_id is not None:
            raise Conflict.single("ticket", "merged", "a merged ticket stays closed")
        previous = ticket.status
        _enter(ticket, status, actor)
        ticket.save()
        record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"status": [previous, status]})
    if previous in ACTIVE and status in ENDED:
        _after_conversation(ticket)
    return ticket


def _after_conversation(ticket: Ticket) -> None:
    """The conversation ended (resolved, or closed straight away): ask how we did, once per ticket."""
    from rapport.service.csat import send_survey  # csat reads tickets; imported late to keep layers

    send_survey(ticket)


@transaction.atomic
def assign(ticket: Ticket, *, assignee: User | None, actor: Actor) -> Ticket:
    _check_worker(actor)
    if assignee is not None and not AgentProfile.objects.filter(user=assignee, user__is_active=True).exists():
        raise InvalidInput.single("assignee", "not_agent", f"{assignee.get_username()} is not a service agent")
    ticket = _locked(ticket)
    previous = ticket.assignee
    if previous == assignee:
        return ticket
    ticket.assignee = assignee
    ticket.updated_at = clock.now()
    ticket.save()
    data = {"from": previous.get_username() if previous else None, "to": assignee.get_username() if assignee else None}
    record_event(ticket, "assigned", actor=actor, data=data)
    record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"assignee": [data["from"], data["to"]]})
    return ticket


@transaction.atomic
def update_ticket(ticket: Ticket, *, data: Mapping[str, Any], actor: Actor) -> Ticket:
    """Change subject, category, priority or the linked order; a new priority moves the SLA deadlines."""
    _check_worker(actor)
    allowed = ("subject", "category", "priority", "order")
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in allowed]
    ticket = _locked(ticket)
    cleaned: dict[str, Any] = {}
    if "subject" in data:
        cleaned["subject"] = clean_text(data["subject"], "subject", MAX_SUBJECT, errors)
    if "category" in data:
        cleaned["category"] = clean_choice(data["category"], "category", Category.values, errors)
    if "priority" in data:
        cleaned["priority"] = clean_choice(data["priority"], "priority", Priority.values, errors)
    if "order" in data:
        cleaned["order"] = _clean_order(data["order"], ticket.customer, errors)
    if errors:
        raise InvalidInput(errors)
    changes = {}
    for field, value in cleaned.items():
        old = getattr(ticket, field)
        if old != value:
            changes[field] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(ticket, field, value)
    if not changes:
        return ticket
    if "priority" in changes:
        sla.set_deadlines(ticket)
        ticket.warned_at = None
    ticket.updated_at = clock.now()
    ticket.save()
    record_event(ticket, "changed", actor=actor, data=changes)
    record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes=changes)
    return ticket


@transaction.atomic
def merge_tickets(target: Ticket, duplicates: Sequence[Ticket], *, actor: Actor) -> Ticket:
    """Fold duplicate tickets of the same customer into ``target``: their messages move over, they close."""
    user = actor.staff_user
    if user is not None and not user.has_perm("service.merge_ticket"):
        raise Conflict.single("actor", "forbidden", "this account cannot merge tickets")
    ids = sorted({t.pk for t in duplicates} | {target.pk})
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    target = locked[target.pk]
    others = [locked[pk] for pk in ids if pk != target.pk]
    errors = []
    if not others:
        errors.append(FieldError("duplicates", "required", "name at least one other ticket"))
    for other in others:
        if other.customer_id != target.customer_id:
            errors.append(FieldError("duplicates", "other_customer", f"{other.number} belongs to another customer"))
        if other.merged_into_id is not None:
            errors.append(FieldError("duplicates", "merged", f"{other.number} is already merged"))
    if target.merged_into_id is not None:
        errors.append(FieldError("target", "merged", f"{target.number} is itself merged"))
    if errors:
        raise InvalidInput(errors)
    now = clock.now()
    for other in others:
        moved = TicketMessage.objects.filter(ticket=other).update(ticket=target)
        other.merged_into = target
        if other.status != Status.CLOSED:
            other.status = Status.CLOSED
            other.closed_at = now
        other.paused_since = None
        other.updated_at = now
        other.save()
        record_event(other, "merged_into", actor=actor, data={"target": target.number, "messages": moved}, at=now)
        record_event(target, "merged_from", actor=actor, data={"source": other.number, "messages": moved}, at=now)
    if target.status in (Status.RESOLVED, Status.CLOSED):
        _enter(target, Status.OPEN, actor)
    target.updated_at = now
    target.save()
    record(actor, AuditEntry.Action.UPDATE, obj=target, changes={"merged": [o.number for o in others]})
    return target


# Agents ----------------------------------------------------------------------------------------


@transaction.atomic
def set_agent(user: User, *, is_available: bool, is_lead: bool, actor: Actor) -> AgentProfile:
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    profile.is_available = is_available
    profile.is_lead = is_lead
    profile.save()
    record(actor, AuditEntry.Action.UPDATE, obj=profile, changes={"available": is_available, "lead": is_lead})
    return profile


def staff_agent(username: str) -> User | None:
    return get_user_model().objects.filter(username=username, service_profile__isnull=False).first()


# Canned replies --------------------------------------------------------------------------------

VARIABLES = {
    "customer_name": gettext_lazy("the customer's name"),
    "ticket_number": gettext_lazy("the ticket's number (T-000123)"),
    "ticket_subject": gettext_lazy("the ticket's subject"),
    "agent_name": gettext_lazy("the replying agent's name"),
    "order_number": gettext_lazy("the linked order's number"),
    "store_name": gettext_lazy("the ticket's store"),
}
_FORMATTER = string.Formatter()


def template_variables(text: str) -> list[str]:
    """The {variables} a canned reply uses; raises on malformed braces."""
    return [name for _lit, name, _spec, _conv in _FORMATTER.parse(text) if name is not None]


@transaction.atomic
def save_canned_reply(*, data: Mapping[str, Any], actor: Actor, instance: CannedReply | None = None) -> CannedReply:
    errors: list[FieldError] = [
        FieldError(k, "unknown_field", "unknown field") for k in data if k not in ("title", "body", "category")
    ]
    title = clean_text(data.get("title"), "title", 100, errors)
    body = clean_text(data.get("body"), "body", 10_000, errors)
    category = data.get("category") or ""
    if category:
        category = clean_choice(category, "category", Category.values, errors)
    try:
        unknown = sorted(set(template_variables(body)) - set(VARIABLES))
        if unknown:
            errors.append(
                FieldError("body", "unknown_variable", f"unknown {{{unknown[0]}}}; use: {', '.join(VARIABLES)}")
            )
    except ValueError as exc:
        errors.append(FieldError("body", "invalid", f"braces: {exc}"))
    clash = CannedReply.objects.filter(title=title).exclude(pk=instance.pk if instance else 0)
    if title and clash.exists():
        errors.append(FieldError("title", "duplicate", f"a canned reply {title!r} exists"))
    if errors:
        raise InvalidInput(errors)
    canned = instance or CannedReply()
    canned.title, canned.body, canned.category = title, body, category
    canned.save()
    record(
        actor, AuditEntry.Action.UPDATE if instance else AuditEntry.Action.CREATE, obj=canned, changes={"title": title}
    )
    return canned


def render_canned(canned: CannedReply, ticket: Ticket, *, agent: Any) -> str:
    order = ticket.order
    values = {
        "customer_name": ticket.customer.name,
        "ticket_number": ticket.number,
        "ticket_subject": ticket.subject,
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent is not None else "",
        "order_number": order.external_id if order is not None else "",
        "store_name": ticket.store.name if ticket.store is not None else "",
    }
    return canned.body.format_map(values)


# Queues ----------------------------------------------------------------------------------------


def inbox(view: str, *, user: Any) -> QuerySet[Ticket]:
    """The console's ticket views: mine, unassigned, breaching soon (due within two hours), open, all."""
    tickets = Ticket.objects.filter(merged_into__isnull=True).select_related("customer", "assignee", "store")
    working = tickets.filter(status__in=[Status.NEW, Status.OPEN, Status.PENDING])
    if view == "mine":
        return working.filter(assignee=user).order_by("resolution_due", "pk")
    if view == "unassigned":
        return working.filter(assignee__isnull=True).order_by("created_at", "pk")
    if view == "breaching":
        soon = clock.now() + dt.timedelta(hours=2)
        running = working.exclude(status=Status.PENDING)
        return running.filter(
            Q(first_response_at__isnull=True, first_response_due__lte=soon) | Q(resolution_due__lte=soon)
        ).order_by("resolution_due", "pk")
    if view == "open":
        return working.order_by("-updated_at", "-pk")
    if view == "all":
        return tickets.order_by("-created_at", "-pk")
    raise InvalidInput.single("view", "invalid", "one of: mine, unassigned, breaching, open, all")
