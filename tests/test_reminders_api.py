"""``/api/v1/reminders`` for a phone app or a WeCom sidebar, and the reminder page's actions: scopes
first, bad input 422 naming the field, someone else's reminder 404, done twice 409; the call button
reveals the number (audited) only to dial it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import CONTACTS_READ, TASKS_READ, TASKS_WRITE
from rapport.audit.models import AuditEntry
from rapport.clienteling import reminders
from rapport.clienteling.models import Reminder
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def seller(make_staff: Any) -> Any:
    return make_staff(roles.SALES, username="seller")


@pytest.fixture
def reminder(seller: Any, make_customer: Any) -> Reminder:
    today = timezone.localdate()
    make_customer(name="Zhou Min", owner=seller.pk, phone="13900007777", birthday=today.replace(year=1990).isoformat())
    reminders.make_reminders(today)
    return Reminder.objects.get()


def test_list_done_and_snooze(seller, reminder, api_client_for):
    phone = api_client_for(seller, [TASKS_READ, TASKS_WRITE])
    listed = phone.get("/api/v1/reminders").json()
    assert listed["count"] == 1
    item = listed["results"][0]
    assert item["reason"] == "birthday" and "Zhou Min" in item["message"]
    bad = _post(phone, f"/api/v1/reminders/{reminder.pk}/snooze", {"days": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.days"
    snoozed = _post(phone, f"/api/v1/reminders/{reminder.pk}/snooze", {"days": 3})
    assert snoozed.status_code == 200 and snoozed.json()["show_on"] > item["show_on"]
    assert phone.get("/api/v1/reminders").json()["count"] == 0
    assert _post(phone, f"/api/v1/reminders/{reminder.pk}/done").status_code == 200
    assert _post(phone, f"/api/v1/reminders/{reminder.pk}/done").status_code == 409


def test_scopes_and_someone_elses_reminder(seller, reminder, make_staff, api_client_for):
    assert api_client_for(seller, [CONTACTS_READ]).get("/api/v1/reminders").status_code == 403
    assert _post(api_client_for(seller, [TASKS_READ]), f"/api/v1/reminders/{reminder.pk}/done").status_code == 403
    other = api_client_for(make_staff(roles.SALES), [TASKS_READ, TASKS_WRITE])
    assert _post(other, f"/api/v1/reminders/{reminder.pk}/done").status_code == 404
    assert Reminder.objects.get().status == "open"


def test_the_call_button_reveals_the_number_only_to_dial_it(seller, reminder):
    client = Client()
    client.login(username="seller", password=STAFF_PASSWORD)
    page = client.get("/counter/tasks/reminders/").content.decode()
    assert "139****7777" in page and "13900007777" not in page
    dial = client.post(f"/counter/tasks/reminders/{reminder.pk}/call/")
    assert dial.status_code == 302 and dial["Location"] == "tel:+8613900007777"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL, object_id=str(reminder.customer_id)).exists()
    assert client.post(f"/counter/tasks/reminders/{reminder.pk}/nonsense/").status_code == 404
