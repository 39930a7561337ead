"""Tasks over a real database: recurrence makes the next occurrence once (a month on keeps the day
or takes the month's last), bulk creation for a segment goes to each customer's owner (or store),
and completion and overdue counts per person and store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.clienteling import services
from rapport.clienteling.models import Recurrence, Task, TaskSource
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.segments import services as segments

pytestmark = pytest.mark.django_db
SHANGHAI = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}
UTC = dt.UTC


@pytest.mark.parametrize(
    ("due", "recurrence", "expected"),
    [
        (dt.datetime(2026, 1, 31, 2, tzinfo=UTC), Recurrence.MONTHLY, dt.datetime(2026, 2, 28, 2, tzinfo=UTC)),
        (dt.datetime(2026, 12, 15, 2, tzinfo=UTC), Recurrence.MONTHLY, dt.datetime(2027, 1, 15, 2, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 2, tzinfo=UTC), Recurrence.WEEKLY, dt.datetime(2026, 3, 8, 2, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 2, tzinfo=UTC), Recurrence.DAILY, dt.datetime(2026, 3, 2, 2, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 2, tzinfo=UTC), Recurrence.NONE, None),
    ],
)
def test_next_due(due, recurrence, expected):
    assert services.next_due(due, recurrence) == expected


def test_a_recurring_task_makes_its_next_occurrence_once(make_staff, make_customer):
    seller = make_staff(roles.SALES)
    actor = Actor(user=seller, source=Source.CONSOLE)
    customer = make_customer(owner=seller.pk)
    task = services.create_task(
        customer,
        {"title": "月度回访", "kind": "call", "due_at": "2026-01-31T10:00:00+08:00", "recurrence": "monthly"},
        actor=actor,
    )
    assert task.assignee == seller and task.store is None
    done, following = services.complete_task(task, outcome="reached", notes="好的", actor=actor)
    assert done.status == "done" and following is not None
    assert following.due_at == dt.datetime(2026, 2, 28, 2, tzinfo=UTC) and following.previous == done
    with pytest.raises(Conflict):
        services.complete_task(task, outcome="reached", notes="", actor=actor)
    assert Task.objects.count() == 2
    with pytest.raises(InvalidInput):
        services.complete_task(following, outcome="maybe", notes="", actor=actor)
    with pytest.raises(InvalidInput) as bad:
        services.create_task(customer, {"title": "", "kind": "fax", "due_at": "soon"}, actor=actor)
    assert {e.field for e in bad.value.errors} == {"title", "kind", "due_at"}


def test_bulk_tasks_for_a_segment_go_to_the_owners_or_the_store(make_staff, make_customer, store, system_actor):
    one, two = make_staff(roles.SALES), make_staff(roles.SALES)
    for owner in (one, one, two):
        make_customer(city="上海", owner=owner.pk)
    unowned = make_customer(city="上海", store=store.pk)
    make_customer(city="北京", owner=one.pk)
    segment = segments.save_segment(data={"name": "上海", "rule": SHANGHAI}, actor=system_actor)
    manager = Actor(user=make_staff(roles.OPERATOR), source=Source.CONSOLE)
    due = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    created = services.bulk_for_segment(
        segment, {"title": "积分到期提醒", "kind": "call", "due_at": due}, actor=manager
    )
    assert created == 4
    assert Task.objects.filter(assignee=one).count() == 2 and Task.objects.filter(assignee=two).count() == 1
    assert Task.objects.get(customer=unowned).store == store
    assert set(Task.objects.values_list("source", flat=True)) == {TaskSource.SEGMENT}
    services.complete_task(Task.objects.filter(assignee=one).first(), outcome="done", notes="", actor=manager)
    stats = services.completion(Task.objects.all())
    people = {row["name"]: row for row in stats["people"]}
    assert people[one.username] == {**people[one.username], "done": 1, "open": 1, "overdue": 1, "rate": 50}
    assert stats["stores"][0]["overdue"] == 1
    assert services.visible_tasks(two).count() == 1
    clerk = make_staff(roles.STORE_STAFF, store=store)
    assert list(services.visible_tasks(clerk).values_list("customer", flat=True)) == [unowned.pk]


def test_task_pages_create_complete_and_bulk(client, make_staff, make_customer, system_actor):
    seller = make_staff(roles.SALES)
    customer = make_customer(city="上海", owner=seller.pk)
    client.force_login(seller)
    created = client.post(
        f"/counter/tasks/new/{customer.pk}/",
        {"title": "送小样", "kind": "sample", "due_at": "2026-12-08T10:00", "priority": "3", "recurrence": ""},
    )
    task = Task.objects.get()
    assert created.status_code == 302 and task.assignee == seller and task.priority == 3
    assert "送小样" in client.get("/counter/tasks/").content.decode()
    assert "送小样" in client.get(f"/customers/{customer.pk}/?tab=tasks").content.decode()
    client.post(f"/counter/tasks/{task.pk}/complete/", {"outcome": "done", "notes": "已寄出"})
    task.refresh_from_db()
    assert task.status == "done" and "已寄出" in task.notes
    assert client.get("/counter/tasks/bulk/").status_code == 403
    manager = make_staff(roles.OPERATOR)
    client.force_login(manager)
    segment = segments.save_segment(data={"name": "上海", "rule": SHANGHAI}, actor=system_actor)
    bulk = client.post(
        "/counter/tasks/bulk/",
        {"segment": segment.pk, "title": "会员日邀约", "kind": "call", "due_at": "2026-12-09T10:00"},
    )
    assert bulk.status_code == 302 and Task.objects.filter(source="segment", assignee=seller).count() == 1
    assert seller.username in client.get("/counter/tasks/completion/").content.decode()


def test_a_call_task_says_so_when_the_customer_has_no_marketing_consent(client, make_staff, make_customer):
    from rapport.customers import consent

    seller = make_staff(roles.SALES)
    customer = make_customer(owner=seller.pk)
    actor = Actor(user=seller, source=Source.CONSOLE)
    call = services.create_task(customer, {"title": "邀约", "kind": "call", "due_at": "2026-12-08T10:00"}, actor=actor)
    visit = services.create_task(
        customer, {"title": "拜访", "kind": "visit", "due_at": "2026-12-08T10:00"}, actor=actor
    )
    assert services.marketing_refused(call)  # marketing is opt-in: no consent given yet
    consent.set_consent(customer, channel="call", purpose="marketing", granted=True, actor=actor)
    assert not services.marketing_refused(call)
    consent.set_consent(customer, channel="call", purpose="marketing", granted=False, actor=actor)
    assert services.marketing_refused(call) and not services.marketing_refused(visit)
    client.force_login(seller)
    assert 'id="task-no-marketing"' in client.get(f"/counter/tasks/{call.pk}/").content.decode()


def test_a_due_time_out_of_this_century_or_with_an_impossible_offset_is_refused_by_name(
    make_staff, api_client_for, make_customer
):
    """The API fuzzing found a year-242 due time with a +20:21 offset reaching PostgreSQL as a 500."""
    client = api_client_for(make_staff(roles.ADMIN))
    customer = make_customer(name="Ada")
    body = {"title": "Call", "kind": "call", "customer_id": customer.pk, "due_at": "0242-03-17T13:57:08+20:21"}
    response = client.post("/api/v1/tasks", body, content_type="application/json")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["due_at"]
