"""Concurrent tagging on PostgreSQL: the unique constraint, not a prior read, keeps one row and
one history entry per change (SQLite writes one transaction at a time, so it cannot race)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.tags import services
from rapport.tags.models import CustomerTag, TagHistory

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def run_at_once(*calls):
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        from django.db import connections

        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # reported to the test below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_agents_adding_the_same_tag_at_once_leave_one_row_and_one_history_entry(make_customer, make_tag):
    customer = make_customer()
    tag = make_tag("Busy")
    actor = Actor.system("agent")
    results = run_at_once(*[lambda: services.add_tags(customer, [tag], actor=actor) for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]  # type: ignore[arg-type]
    assert CustomerTag.objects.filter(customer=customer, tag=tag).count() == 1
    assert TagHistory.objects.filter(customer_id=customer.pk, tag=tag).count() == 1


def test_overlapping_batches_tag_each_customer_once(make_customer, make_tag):
    for _ in range(60):
        make_customer(city="上海")
    tag = make_tag("Overlap")
    actor = Actor.system("batch")
    results = run_at_once(
        lambda: services.batch_filtered(tag, action="add", filters={"city": "上海"}, actor=actor),
        lambda: services.batch_segment(
            tag, action="add", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"}, actor=actor
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.changed for r in results) == 60  # type: ignore[union-attr]
    assert CustomerTag.objects.filter(tag=tag).count() == Customer.objects.count() == 60
    assert TagHistory.objects.filter(tag=tag).count() == 60
