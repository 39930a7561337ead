"""Scheduled and incremental evaluation of automatic tags, as the jobs run them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from rapport.commerce.services import upsert_order
from rapport.tags import tasks, triggers
from rapport.tags.models import CustomerTag

pytestmark = pytest.mark.django_db

BUYER_RULE = {"type": "orders", "metric": "count", "op": "gte", "value": 1, "window_days": 30}


def test_the_beat_schedule_names_registered_tasks():
    from rapport.celery import app

    for name in ("evaluate-automatic-tags", "deliver-tag-sync"):
        assert settings.CELERY_BEAT_SCHEDULE[name]["task"] in app.tasks


def test_scheduled_run_evaluates_every_automatic_tag(make_customer, make_tag):
    amy = make_customer(city="上海")
    tag = make_tag("SH", type="automatic", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"})
    assert tasks.evaluate_automatic_tags.run() == {"tags": 1, "added": 1, "removed": 0}
    assert set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True)) == {amy.pk}
    assert tasks.evaluate_automatic_tags.run() == {"tags": 1, "added": 0, "removed": 0}


def test_an_order_arriving_retags_only_that_customer(
    make_customer, make_tag, system_actor, django_capture_on_commit_callbacks
):
    buyer, other = make_customer(), make_customer()
    tag = make_tag("Recent buyer", type="automatic", rule=BUYER_RULE)
    for customer in (buyer, other):
        upsert_order(
            data={
                "channel": "web",
                "external_id": f"o-{customer.pk}",
                "customer_id": customer.pk,
                "status": "completed",
                "placed_at": timezone.now() - dt.timedelta(days=1),
                "lines": [{"sku": "S", "name": "S", "quantity": 1, "unit_price": "10"}],
            },
            actor=system_actor,
        )
    with django_capture_on_commit_callbacks(execute=True):
        triggers.customers_changed([buyer.pk, None])
    assert set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True)) == {buyer.pk}


def test_nothing_is_queued_without_automatic_tags(make_customer, django_capture_on_commit_callbacks):
    customer = make_customer()  # creating a customer queues its data key's caching, not a tag job
    with django_capture_on_commit_callbacks() as callbacks:
        triggers.customers_changed([customer.pk])
    assert callbacks == []
