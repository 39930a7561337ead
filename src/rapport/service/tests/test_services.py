"""Ticket rules on the real database: opening, the status flow, replies, notes, assignment,
merging, canned replies, attachments."""

from __future__ import annotations

import pytest
from django.core import mail

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.service import services
from rapport.service.attachments import IncomingFile
from rapport.service.models import AssignmentRule, CannedReply, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_open_ticket_links_customer_assigns_an_agent_and_starts_the_sla_clock(customer, agent, make_ticket, frozen):
    ticket = make_ticket(customer, category="complaint", priority="high")
    assert ticket.customer == customer and ticket.status == Status.NEW
    assert ticket.assignee == agent
    assert ticket.first_response_due is not None and ticket.resolution_due > ticket.first_response_due
    assert list(ticket.events.values_list("action", flat=True)) == ["created", "assigned"]
    assert ticket.messages.get().kind == MessageKind.CUSTOMER
    assert AuditEntry.objects.filter(object_type="service.ticket", object_id=str(ticket.pk)).exists()


def test_bad_input_names_every_field_and_writes_nothing(customer, system_actor):
    with pytest.raises(InvalidInput) as caught:
        services.open_ticket(
            customer=customer,
            channel="fax",
            subject="",
            body="x",
            category="praise",
            priority="now",
            actor=system_actor,
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"subject", "channel", "category", "priority"}
    assert not Ticket.objects.exists()


def test_find_or_create_customer_uses_the_blind_index(customer, system_actor):
    assert services.find_or_create_customer(email="Wang.Fang@Example.cn", actor=system_actor) == customer
    assert services.find_or_create_customer(phone="+86 138 1234 5678", actor=system_actor) == customer
    created = services.find_or_create_customer(email="new.person@example.com", name="New Person", actor=system_actor)
    assert created != customer and created.name == "New Person" and created.member_status == "prospect"


def test_reply_emails_the_customer_and_waits_for_them_then_their_reply_reopens(
    customer, agent_actor, make_ticket, frozen
):
    ticket = make_ticket(customer)
    frozen.advance(minutes=20)
    message = services.reply(ticket, body="您好，已为您催促仓库发货。", actor=agent_actor)
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and ticket.first_response_at == frozen()
    assert ticket.paused_since == frozen()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["wang.fang@example.cn"]
    assert f"[{ticket.number}]" in mail.outbox[0].subject
    message.refresh_from_db()
    assert message.delivery == "sent" and mail.outbox[0].extra_headers["Message-ID"] == message.message_id

    frozen.advance(hours=1)
    services.customer_message(ticket, body="好的，谢谢", actor=Actor(source=Source.CUSTOMER))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.paused_since is None and ticket.paused_minutes == 60


def test_status_flow_refuses_impossible_moves(customer, agent_actor, make_ticket):
    ticket = make_ticket(customer)
    services.change_status(ticket, status="closed", actor=agent_actor)
    with pytest.raises(Conflict):
        services.change_status(ticket, status="pending", actor=agent_actor)
    with pytest.raises(InvalidInput):
        services.change_status(ticket, status="new", actor=agent_actor)
    services.change_status(ticket, status="open", actor=agent_actor)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.closed_at is None


def test_resolving_sends_one_survey(customer, agent_actor, make_ticket):
    ticket = make_ticket(customer)
    services.reply(ticket, body="已处理", actor=agent_actor, then="resolved")
    services.change_status(ticket, status="open", actor=agent_actor)
    services.change_status(ticket, status="resolved", actor=agent_actor)
    assert ticket.survey.channel == "email"
    subjects = [m.subject for m in mail.outbox]
    assert sum("How did we do" in s for s in subjects) == 1


def test_notes_are_internal(customer, agent_actor, make_ticket):
    ticket = make_ticket(customer)
    services.add_note(ticket, body="客户是VIP，优先处理", actor=agent_actor)
    assert not mail.outbox
    assert ticket.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_round_robin_within_a_rule_skips_unavailable_agents(customer, make_agent, make_ticket, store, system_actor):
    a, b = make_agent("a"), make_agent("b")
    away = make_agent("c", is_available=False)
    complaints = AssignmentRule.objects.create(name="complaints", category="complaint")
    complaints.agents.set([a, b, away])
    assigned = [make_ticket(customer, category="complaint").assignee for _ in range(4)]
    assert assigned == [a, b, a, b]


def test_rule_by_store_wins_over_the_general_pool(make_customer, make_agent, make_ticket, store):
    general, local = make_agent("general"), make_agent("local")
    rule = AssignmentRule.objects.create(name="shanghai", store=store)
    rule.agents.set([local])
    in_store = make_customer(name="店内客户", store=store.pk)
    assert make_ticket(in_store).assignee == local
    assert make_ticket(make_customer(name="Online")).assignee in (general, local)


def test_merge_moves_messages_and_closes_the_duplicate(customer, agent_actor, make_ticket):
    first, second = make_ticket(customer), make_ticket(customer, subject="还没发货!!")
    services.merge_tickets(first, [second], actor=agent_actor)
    second.refresh_from_db()
    assert second.merged_into == first and second.status == Status.CLOSED
    assert first.messages.count() == 2
    assert "merged_from" in first.events.values_list("action", flat=True)
    # the customer's reply on the duplicate lands on the survivor
    services.customer_message(second, body="还在等", actor=Actor(source=Source.CUSTOMER))
    assert first.messages.count() == 3


def test_merge_refuses_another_customers_ticket(customer, make_customer, agent_actor, make_ticket):
    other = make_ticket(make_customer(name="Other"))
    with pytest.raises(InvalidInput):
        services.merge_tickets(make_ticket(customer), [other], actor=agent_actor)


def test_canned_reply_variables_are_checked_and_filled(customer, agent, agent_actor, make_ticket):
    with pytest.raises(InvalidInput) as caught:
        services.save_canned_reply(data={"title": "x", "body": "Hi {nickname}"}, actor=agent_actor)
    assert caught.value.errors[0].code == "unknown_variable"
    canned = services.save_canned_reply(
        data={"title": "Shipping delay", "body": "{customer_name}，您好：工单 {ticket_number} 已收到。— {agent_name}"},
        actor=agent_actor,
    )
    ticket = make_ticket(customer)
    text = services.render_canned(canned, ticket, agent=agent)
    assert text == f"王芳，您好：工单 {ticket.number} 已收到。— li.na"
    assert CannedReply.objects.count() == 1


def test_attachments_are_checked_for_type_content_and_size(customer, make_ticket, settings):
    settings.RAPPORT_SERVICE_MAX_ATTACHMENT_BYTES = 1000
    ticket = make_ticket(customer, files=[IncomingFile("photo.png", "image/png", PNG)])
    assert ticket.messages.get().attachments.get().size == len(PNG)
    bad = [
        IncomingFile("setup.exe", "application/octet-stream", b"MZ..."),
        IncomingFile("fake.png", "image/png", b"not a png"),
        IncomingFile("big.png", "image/png", PNG + b"\0" * 2000),
        IncomingFile("doc.pdf", "image/png", b"%PDF-1.4"),
    ]
    with pytest.raises(InvalidInput) as caught:
        make_ticket(customer, files=bad)
    assert [e.code for e in caught.value.errors] == ["forbidden_type", "bad_content", "too_large", "type_mismatch"]
    assert Ticket.objects.count() == 1


def test_priority_change_moves_the_deadlines(customer, agent_actor, make_ticket, frozen):
    ticket = make_ticket(customer, priority="low")
    before = ticket.first_response_due
    services.update_ticket(ticket, data={"priority": "urgent"}, actor=agent_actor)
    ticket.refresh_from_db()
    assert ticket.first_response_due < before


def test_inbox_views(customer, agent, make_agent, make_ticket, frozen):
    mine = make_ticket(customer)
    other = make_agent("other", is_available=False)
    AssignmentRule.objects.create(name="nobody", category="other").agents.set([other])
    unassigned = make_ticket(customer, category="other")
    assert list(services.inbox("mine", user=agent)) == [mine]
    assert list(services.inbox("unassigned", user=agent)) == [unassigned]
    frozen.advance(hours=3)
    assert set(services.inbox("breaching", user=agent)) == {mine, unassigned}
    with pytest.raises(InvalidInput):
        services.inbox("everything", user=agent)


def test_open_ticket_for_contact_finds_or_creates_the_customer_in_the_tickets_transaction(customer, system_actor):
    from rapport.customers.models import Customer

    found = services.open_ticket_for_contact(
        email="WANG.FANG@example.cn", channel="api", subject="尺码", body="有L码吗", actor=system_actor
    )
    assert found.customer == customer
    with pytest.raises(InvalidInput):
        services.open_ticket_for_contact(
            phone="13900001111", name="Li Lei", channel="api", subject="", body="x", actor=system_actor
        )
    assert Customer.objects.count() == 1 and Ticket.objects.count() == 1
