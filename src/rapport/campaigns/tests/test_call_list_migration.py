"""Migration campaigns.0005: the old outbound call list becomes clienteling tasks (open stays open,
declined becomes "asked not to be contacted again"), call send steps become create-task steps, and
call messages still planned are failed; 0006 then drops the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("campaigns", "0004_split_decisions"),
    ("clienteling", "0002_task_outcome_opted_out"),
    ("customers", "0009_alter_changerecord_new_value_and_more"),  # the state those two saw
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_the_call_list_moves_onto_tasks():
    old = _migrate(BEFORE)
    now = timezone.now()
    user = old.get_model("auth", "User").objects.create(username="caller")
    Customer = old.get_model("customers", "Customer")
    store = old.get_model("customers", "Store").objects.create(code="s1", name="Store 1")
    owned = Customer.objects.create(name="Owned", registered_at=now)
    walk_in = Customer.objects.create(name="Walk-in", registered_at=now, store=store)
    nobody = Customer.objects.create(name="Nobody", registered_at=now)
    CallTask = old.get_model("campaigns", "CallTask")
    CallTask.objects.create(customer=owned, assigned_to=user, script="Ask about the order", created_at=now)
    CallTask.objects.create(
        customer=walk_in, script="Invite", status="declined", outcome="no more calls", created_at=now, done_at=now
    )
    CallTask.objects.create(customer=nobody, script="Nobody to give it to", created_at=now)
    template = old.get_model("campaigns", "ContentTemplate").objects.create(
        name="Call script", channel="call", subject="Win-back call", body="Ask {{ customer.name }}"
    )
    plan = old.get_model("campaigns", "Plan").objects.create(name="Calls", kind="one_off", status="draft")
    old.get_model("campaigns", "Step").objects.create(
        plan=plan,
        position=1,
        kind="send",
        config={"channel": "call", "purpose": "service", "variants": [{"key": "A", "template": template.pk}]},
    )
    old.get_model("campaigns", "Message").objects.create(
        plan=plan, customer=owned, channel="call", status="planned", not_before=now, created_at=now
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(leaves)
    new = executor.loader.project_state(leaves).apps

    tasks = {t.customer_id: t for t in new.get_model("clienteling", "Task").objects.all()}
    assert set(tasks) == {owned.pk, walk_in.pk}  # no owner, assignee or store: nobody to give it to
    assert (tasks[owned.pk].status, tasks[owned.pk].assignee_id, tasks[owned.pk].kind) == ("open", user.pk, "call")
    assert tasks[owned.pk].notes == "Ask about the order"
    declined = tasks[walk_in.pk]
    assert (declined.status, declined.outcome, declined.store_id) == ("done", "opted_out", store.pk)
    step = new.get_model("campaigns", "Step").objects.get()
    assert step.kind == "task"
    assert step.config["title"] == "Win-back call" and step.config["purpose"] == "service"
    message = new.get_model("campaigns", "Message").objects.get()
    assert message.status == "failed" and "tasks" in message.error
    assert "campaigns_calltask" not in connection.introspection.table_names()
