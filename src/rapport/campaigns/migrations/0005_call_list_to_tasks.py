"""The plans' outbound call list becomes clienteling tasks of type call (one mechanism).

* each call task becomes a task (open stays open; reached and no answer are done with that outcome;
  declined further calls is done, "asked not to be contacted again");
* each send step on the call channel becomes a "create task" step whose title and script are its
  template's subject and body (the template's variables are kept as written);
* call messages still planned are failed with a note: nothing delivers them any more.
"""

from django.db import migrations

OUTCOMES = {"reached": "reached", "no_answer": "no_answer", "declined": "opted_out"}


def _task_for(call, Task, store_of):
    assignee_id = call.assigned_to_id or call.done_by_id
    store_id = None if assignee_id else store_of.get(call.customer_id)
    if assignee_id is None and store_id is None and call.plan_id is not None:
        assignee_id = call.plan.created_by_id
    if assignee_id is None and store_id is None:
        return None
    title = f"外呼 Call: {call.plan.name}" if call.plan_id else "外呼 Call"
    done = call.status != "open"
    return Task(
        customer_id=call.customer_id,
        kind="call",
        title=title[:200],
        priority=2,
        due_at=call.created_at,
        assignee_id=assignee_id,
        store_id=store_id,
        status="done" if done else "open",
        outcome=OUTCOMES.get(call.status, ""),
        notes="\n".join(part for part in (call.script, call.outcome) if part)[:4000],
        source="journey",
        source_ref=f"plan:{call.plan_id}" if call.plan_id else f"call:{call.pk}",
        created_at=call.created_at,
        completed_at=(call.done_at or call.created_at) if done else None,
    )


def calls_to_tasks(apps, schema_editor):
    CallTask = apps.get_model("campaigns", "CallTask")
    Step = apps.get_model("campaigns", "Step")
    Message = apps.get_model("campaigns", "Message")
    ContentTemplate = apps.get_model("campaigns", "ContentTemplate")
    Customer = apps.get_model("customers", "Customer")
    Task = apps.get_model("clienteling", "Task")

    calls = CallTask.objects.select_related("plan").order_by("pk")
    store_of = dict(
        Customer.objects.filter(pk__in=calls.values("customer_id")).values_list("pk", "store_id")
    )
    batch = []
    for call in calls.iterator(chunk_size=2000):
        task = _task_for(call, Task, store_of)
        if task is not None:
            batch.append(task)
        if len(batch) >= 2000:
            Task.objects.bulk_create(batch)
            batch = []
    Task.objects.bulk_create(batch)

    for step in Step.objects.filter(kind="send", config__channel="call"):
        variants = step.config.get("variants") or [{}]
        template = ContentTemplate.objects.filter(pk=variants[0].get("template")).first()
        title = (template.subject or template.name) if template else "外呼 Call"
        step.kind = "task"
        step.config = {
            "task_kind": "call",
            "title": title[:200],
            "notes": (template.body if template else "")[:4000],
            "due_in_days": 0,
            "priority": 2,
            "assign": "owner",
            "store": None,
            "purpose": step.config.get("purpose") or "marketing",
        }
        step.save(update_fields=["kind", "config"])

    Message.objects.filter(channel="call", status="planned").update(
        status="failed", error="outbound calls are tasks now: the plan's step makes a call task"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_split_decisions"),
        ("clienteling", "0002_task_outcome_opted_out"),
        ("customers", "0008_fill_customer_search_keys"),
    ]

    operations = [migrations.RunPython(calls_to_tasks, migrations.RunPython.noop)]
