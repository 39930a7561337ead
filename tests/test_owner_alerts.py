"""Alerts to owners as things happen: a complaint opened by an owned customer and a level lowered by
the review become alerts on the owner's list at once, once per event however often the job runs;
the owner is emailed once, with a link to the customer's card, unless they turned email off; the
home page shows them. The API reads and sets the preference, with scopes and bad input checked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import TASKS_READ, TASKS_WRITE
from rapport.clienteling import alerts, reminders
from rapport.clienteling.models import AlertSettings, Reminder, Task
from rapport.loyalty.models import Level, LevelChange
from rapport.service.models import Ticket
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(make_staff: Any) -> Any:
    user = make_staff(roles.SALES, username="seller")
    user.email = "seller@example.com"
    user.save(update_fields=["email"])
    return user


def _complaint(customer: Any, at: dt.datetime | None = None) -> Ticket:
    at = at or timezone.now()
    return Ticket.objects.create(
        subject="破损", category="complaint", channel="phone", customer=customer, created_at=at, updated_at=at
    )


def test_a_complaint_alerts_the_owner_once_in_the_app_and_by_email(
    seller, make_customer, django_capture_on_commit_callbacks
) -> None:
    unhappy = make_customer(name="Xu", owner=seller.pk)
    ticket = _complaint(unhappy)
    _complaint(make_customer(name="Nobody's"))  # no owner: nobody to alert
    inquiry = _complaint(unhappy)
    Ticket.objects.filter(pk=inquiry.pk).update(category="inquiry")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.alert_owners() == {"made": 1, "emailed": 1}
        assert alerts.alert_owners() == {"made": 0, "emailed": 0}  # once per event
    alert = Reminder.objects.get()
    assert (alert.owner, alert.reason, alert.event) == (seller, "complaint", f"ticket:{ticket.pk}")
    assert alert.alerted_at is not None and alert.show_on == timezone.localdate()
    assert [r.pk for r in reminders.todays_list(seller, timezone.localdate())] == [alert.pk]
    task = Task.objects.get()  # and a task to follow it up, once
    assert (task.assignee, task.kind, task.source, task.source_ref) == (seller, "ticket", "alert", alert.event)
    assert f"T-{ticket.pk:06d}" in task.title
    sent = [m for m in mail.outbox if "seller@example.com" in m.to]
    assert len(sent) == 1 and f"/customers/{unhappy.pk}/" in sent[0].body and "Xu" in sent[0].body


def test_a_lowered_level_alerts_the_owner(seller, make_customer) -> None:
    member = make_customer(owner=seller.pk)
    silver = Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"), keep_threshold=Decimal("300"))
    change = LevelChange.objects.create(
        customer=member, from_level=silver, to_level=None, reason="downgrade", changed_at=timezone.now(), actor="t"
    )
    LevelChange.objects.create(
        customer=member, from_level=None, to_level=silver, reason="upgrade", changed_at=timezone.now(), actor="t"
    )
    assert alerts.alert_owners()["made"] == 1
    alert = Reminder.objects.get()
    assert (alert.reason, alert.event) == ("level_down", f"level:{change.pk}")
    assert "membership level" in reminders.suggested_message(alert)
    assert not Task.objects.exists()  # a task only follows up a complaint


def test_email_respects_the_owners_choice_and_old_events_are_left(
    seller, make_customer, django_capture_on_commit_callbacks
) -> None:
    alerts.set_email_alerts(seller, by_email=False)
    unhappy = make_customer(owner=seller.pk)
    _complaint(unhappy)
    _complaint(make_customer(owner=seller.pk), timezone.now() - dt.timedelta(days=3))  # before the look-back
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.alert_owners() == {"made": 1, "emailed": 0}
    assert not mail.outbox
    assert Reminder.objects.get().alerted_at is not None  # notified in the app


def test_the_home_page_shows_the_alerts_with_a_link_to_the_card(seller, make_customer) -> None:
    unhappy = make_customer(name="Xu", owner=seller.pk)
    _complaint(unhappy)
    alerts.alert_owners()
    client = Client()
    assert client.login(username="seller", password=STAFF_PASSWORD)
    page = client.get("/").content.decode()
    assert 'id="my-alerts-list"' in page and f"/customers/{unhappy.pk}/" in page
    reminders_page = client.get("/counter/tasks/reminders/").content.decode()
    assert 'id="alert-by-email"' in reminders_page and "checked" in reminders_page
    client.post("/counter/tasks/reminders/alerts/", {})
    assert AlertSettings.objects.get(user=seller).by_email is False


def test_the_api_reads_and_sets_the_email_choice(seller, make_customer, api_client_for) -> None:
    client = api_client_for(seller, [TASKS_READ, TASKS_WRITE])
    assert client.get("/api/v1/reminders/alert-settings").json() == {"by_email": True}
    put = client.put("/api/v1/reminders/alert-settings", {"by_email": False}, content_type="application/json")
    assert put.status_code == 200 and put.json() == {"by_email": False}
    assert client.get("/api/v1/reminders/alert-settings").json() == {"by_email": False}
    bad = client.put("/api/v1/reminders/alert-settings", {"by_email": "often"}, content_type="application/json")
    assert bad.status_code == 422 and "by_email" in bad.json()["errors"][0]["field"]
    reader = api_client_for(seller, [TASKS_READ])
    denied = reader.put("/api/v1/reminders/alert-settings", {"by_email": True}, content_type="application/json")
    assert denied.status_code == 403
    _complaint(make_customer(owner=seller.pk))
    alerts.alert_owners()
    listed = client.get("/api/v1/reminders").json()["results"]
    assert [(r["reason"], r["alert"]) for r in listed] == [("complaint", True)]
