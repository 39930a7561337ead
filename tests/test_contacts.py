"""The contact log over a real database: a contact is on the 360 timeline and is the customer's
"last contacted"; it is never dated after now; marketing by call or message needs consent on that
channel; a task in which the customer was reached records its contact once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.clienteling import contacts, queries, services
from rapport.clienteling.models import Contact
from rapport.core.actor import Actor, Source
from rapport.core.errors import InvalidInput
from rapport.customers import consent
from rapport.events.tabs import customer_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(make_staff, store):
    return make_staff(roles.SALES, store=store)


def _actor(user):
    return Actor(user=user, source=Source.CONSOLE)


def test_a_contact_is_on_the_timeline_and_is_the_last_contacted(seller, make_customer, store):
    customer = make_customer(owner=seller.pk)
    earlier = timezone.now() - dt.timedelta(days=3)
    contacts.record_contact(customer, {"kind": "visit", "occurred_at": earlier, "note": "试穿"}, actor=_actor(seller))
    latest = contacts.record_contact(customer, {"kind": "call", "note": "约了周六"}, actor=_actor(seller))
    assert latest.store_id == store.pk and latest.staff_id == seller.pk and latest.purpose == "service"
    assert queries.last_contacted([customer.pk]) == {customer.pk: latest.occurred_at}
    moments = customer_timeline(seller, customer).items
    assert [(m.kind, m.title) for m in moments if m.kind == "contact"] == [
        ("contact", "Call"),
        ("contact", "Store visit"),
    ]
    assert "约了周六" in moments[0].detail


def test_bad_contacts_name_each_field_and_record_nothing(seller, make_customer):
    customer = make_customer(owner=seller.pk)
    with pytest.raises(InvalidInput) as caught:
        contacts.record_contact(
            customer,
            {
                "kind": "fax",
                "purpose": "sales",
                "note": "x" * 2001,
                "occurred_at": timezone.now() + dt.timedelta(hours=2),
            },
            actor=_actor(seller),
        )
    assert {e.field for e in caught.value.errors} == {"kind", "purpose", "note", "occurred_at"}
    with pytest.raises(InvalidInput):
        contacts.record_contact(customer, {"kind": "call", "occurred_at": "yesterday"}, actor=_actor(seller))
    assert not Contact.objects.exists()


def test_marketing_by_a_channel_the_customer_withdrew_is_refused_service_is_not(seller, make_customer, system_actor):
    customer = make_customer(owner=seller.pk)
    consent.set_consent(customer, channel="call", purpose="marketing", granted=False, actor=system_actor)
    consent.set_consent(customer, channel="wechat", purpose="marketing", granted=True, actor=system_actor)
    assert contacts.marketing_refused(customer.pk) == ["call"]
    with pytest.raises(InvalidInput) as caught:
        contacts.record_contact(customer, {"kind": "call", "purpose": "marketing"}, actor=_actor(seller))
    assert [(e.field, e.code) for e in caught.value.errors] == [("purpose", "no_consent")]
    contacts.record_contact(customer, {"kind": "call", "purpose": "service"}, actor=_actor(seller))
    contacts.record_contact(customer, {"kind": "message", "purpose": "marketing"}, actor=_actor(seller))
    contacts.record_contact(customer, {"kind": "visit", "purpose": "marketing"}, actor=_actor(seller))
    assert Contact.objects.count() == 3


def test_a_task_that_reached_the_customer_records_its_contact_once(seller, make_customer):
    customer = make_customer(owner=seller.pk)
    due = "2026-11-30T10:00:00+08:00"
    missed = services.create_task(customer, {"title": "回访", "kind": "call", "due_at": due}, actor=_actor(seller))
    services.complete_task(missed, outcome="no_answer", notes="", actor=_actor(seller))
    assert not Contact.objects.exists()
    reached = services.create_task(customer, {"title": "回访", "kind": "wecom", "due_at": due}, actor=_actor(seller))
    done, _next = services.complete_task(reached, outcome="reached", notes="", actor=_actor(seller))
    contact = Contact.objects.get()
    assert (contact.task_id, contact.kind, contact.occurred_at) == (done.pk, "message", done.completed_at)
    assert queries.last_contacted([customer.pk]) == {customer.pk: done.completed_at}


def test_a_merge_moves_tasks_and_contacts_to_the_survivor(seller, make_customer, system_actor):
    """The merged customer is deleted after a merge; its tasks and contacts must not go with it."""
    from rapport.customers.merge import merge_customers

    survivor, merged = make_customer(owner=seller.pk), make_customer(owner=seller.pk)
    contact = contacts.record_contact(merged, {"kind": "call", "note": "约了周六"}, actor=_actor(seller))
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    task = services.create_task(merged, {"title": "回访", "kind": "call", "due_at": due}, actor=_actor(seller))
    merge_customers(survivor, merged, actor=system_actor, reason="same person")
    contact.refresh_from_db()
    task.refresh_from_db()
    assert contact.customer_id == survivor.pk and task.customer_id == survivor.pk
