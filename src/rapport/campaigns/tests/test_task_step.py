"""The journey step "create task": staff get clienteling tasks (the old outbound call list is tasks of
type call), for the customer's owner or a store, due N days on, never for a marketing call to a
customer who withdrew consent, exactly once; and a bad step names its field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.campaigns import services
from rapport.campaigns.journeys import engine
from rapport.clienteling import services as task_services
from rapport.clienteling.models import Task, TaskKind, TaskSource
from rapport.core.actor import Actor, Source
from rapport.core.errors import InvalidInput
from rapport.customers.consent import has_consent

pytestmark = pytest.mark.django_db


def _task_step(**config):
    return {
        "kind": "task",
        "config": {"task_kind": "call", "title": "回访 Follow-up call", "notes": "Ask about the new season", **config},
    }


def test_a_task_step_gives_each_customer_a_call_task_for_their_owner_or_store(
    make_member, make_plan, launch, make_staff, store
):
    seller = make_staff(roles.SALES)
    owned = make_member(owner=seller.pk)
    in_store = make_member(store=store.pk)
    nobody = make_member()
    before = timezone.now()
    plan = launch(make_plan(steps=[_task_step(due_in_days=3)]))

    tasks = {t.customer_id: t for t in Task.objects.all()}
    assert set(tasks) == {owned.pk, in_store.pk}  # no owner, no store, no step store: nobody to give it to
    assert nobody.pk not in tasks
    mine = tasks[owned.pk]
    assert (mine.assignee_id, mine.store_id, mine.kind) == (seller.pk, None, TaskKind.CALL)
    assert (mine.source, mine.source_ref) == (TaskSource.JOURNEY, f"plan:{plan.pk}")
    assert mine.notes == "Ask about the new season"
    assert before + dt.timedelta(days=3) <= mine.due_at <= timezone.now() + dt.timedelta(days=3)
    assert (tasks[in_store.pk].assignee_id, tasks[in_store.pk].store_id) == (None, store.pk)


def test_a_store_task_step_goes_to_the_named_store_and_a_store_fills_the_gap_for_owners(
    make_member, make_plan, launch, make_staff, store
):
    seller = make_staff(roles.SALES)
    owned = make_member(owner=seller.pk)
    nobody = make_member()
    launch(make_plan(steps=[_task_step(assign="store", store=store.code, task_kind="visit")]))
    assert set(Task.objects.values_list("customer_id", "assignee_id", "store_id", "kind")) == {
        (owned.pk, None, store.pk, "visit"),
        (nobody.pk, None, store.pk, "visit"),
    }


def test_a_marketing_call_task_skips_customers_without_call_consent_a_service_one_does_not(
    make_member, make_plan, launch, make_staff
):
    seller = make_staff(roles.SALES)
    consenting = make_member(owner=seller.pk)
    withdrawn = make_member(owner=seller.pk, consent=("email",))
    launch(make_plan(steps=[_task_step(purpose="marketing")]))
    assert list(Task.objects.values_list("customer_id", flat=True)) == [consenting.pk]
    launch(make_plan(steps=[_task_step(purpose="service")]))
    assert Task.objects.filter(customer=withdrawn).count() == 1


def test_moving_a_chunk_twice_makes_one_task_per_customer(make_member, make_plan, launch, make_staff):
    seller = make_staff(roles.SALES)
    make_member(owner=seller.pk)
    plan = launch(make_plan(steps=[_task_step()]))
    engine.advance(plan)
    assert Task.objects.count() == 1


def test_opting_out_on_a_journey_call_task_withdraws_call_marketing_consent(make_member, make_plan, launch, make_staff):
    seller = make_staff(roles.SALES)
    customer = make_member(owner=seller.pk)
    launch(make_plan(steps=[_task_step()]))
    task = Task.objects.get()
    task_services.complete_task(
        task, outcome="opted_out", notes="请不要再打电话", actor=Actor(user=seller, source=Source.CONSOLE)
    )
    assert not has_consent(customer.pk, "call", "marketing")
    assert has_consent(customer.pk, "email", "marketing")


def test_a_bad_task_step_names_each_field_and_saves_nothing(system_actor, shanghai):
    bad = {"task_kind": "fax", "title": "", "due_in_days": "400", "priority": 9, "assign": "boss", "store": "nowhere"}
    with pytest.raises(InvalidInput) as caught:
        services.save_plan(
            data={"name": "Bad", "segment": shanghai.pk, "steps": [{"kind": "task", "config": bad}]},
            actor=system_actor,
        )
    fields = {e.field for e in caught.value.errors}
    assert {
        f"steps.0.{name}" for name in ("task_kind", "title", "due_in_days", "priority", "assign", "store")
    } <= fields


def test_a_send_step_on_the_call_channel_says_to_use_a_task_step(system_actor, shanghai, make_template):
    template = make_template("site")
    with pytest.raises(InvalidInput) as caught:
        services.save_plan(
            data={
                "name": "Old call list",
                "segment": shanghai.pk,
                "steps": [{"kind": "send", "config": {"channel": "call", "variants": [{"template": template.pk}]}}],
            },
            actor=system_actor,
        )
    error = next(e for e in caught.value.errors if e.field == "steps.0.channel")
    assert "task" in error.message
