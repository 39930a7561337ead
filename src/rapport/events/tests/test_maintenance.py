"""Retention, partitions, and the plans of the lookups every identify makes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from rapport.events.models import Event, EventReceipt
from rapport.events.partitions import partition_name
from rapport.events.services import create_source, prepare_partitions, purge_expired

pytestmark = pytest.mark.django_db


def make_event(source, message_id, at):
    Event.objects.create(source=source, message_id=message_id, type="track", name="Seen", timestamp=at, received_at=at)
    EventReceipt.objects.create(source=source, message_id=message_id, received_at=at)


@override_settings(RAPPORT_EVENT_RETENTION_DAYS=365, RAPPORT_EVENT_DEDUP_DAYS=30)
def test_retention_deletes_old_events_and_forgets_old_message_ids(system_actor):
    source = create_source(data={"name": "Web", "identity_channel": "web"}, actor=system_actor)
    now = timezone.now()
    make_event(source, "old", now - dt.timedelta(days=400))
    make_event(source, "month-ago", now - dt.timedelta(days=40))
    make_event(source, "new", now - dt.timedelta(days=1))
    purged = purge_expired(now)
    assert set(Event.objects.values_list("message_id", flat=True)) == {"month-ago", "new"}
    assert set(EventReceipt.objects.values_list("message_id", flat=True)) == {"new"}
    assert purged["receipts_deleted"] == 2


def test_maintenance_command(system_actor):
    out = io.StringIO()
    call_command("maintain_events", stdout=out)
    assert "events deleted: 0" in out.getvalue()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")
def test_month_partitions_are_created_and_events_land_in_them(system_actor):
    source = create_source(data={"name": "Web", "identity_channel": "web"}, actor=system_actor)
    now = timezone.now()
    prepare_partitions(now)
    make_event(source, "now", now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_event WHERE message_id = 'now'")
        assert cursor.fetchone()[0] == partition_name(now.date().replace(day=1))


def _plan(sql: str, params: list[object]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_back_fills_never_walk_the_timeline_index_and_timelines_still_use_it(system_actor):
    """Events without a customer stay out of the (customer, name, timestamp) index.

    On a month's partition filling up between two ANALYZE runs (pages but no statistics),
    PostgreSQL used to AND that index's whole NULL range into each identify's back-fill: a scan of
    every anonymous event of the month, for every identify.
    """
    source = create_source(data={"name": "Web", "identity_channel": "web"}, actor=system_actor)
    now = timezone.now()
    prepare_partitions(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (timestamp, source_id, message_id, type, name, user_id, anonymous_id,"
            " properties, traits, context, received_at)"
            " SELECT %s, %s, 'm' || n, 'track', 'Seen', 'u-' || n, '', '{}', '{}', '{}', %s"
            " FROM generate_series(1, 50000) AS n",
            [now, source.pk, now],
        )
    back_fill = Event.objects.filter(source_id__in=[source.pk], user_id="u-1", customer__isnull=True)
    sql, params = back_fill.query.sql_with_params()
    assert "customer_id_name_timestamp" not in _plan(sql, list(params))  # the partitions' name of the index
    timeline = Event.objects.filter(customer_id=7, name="Seen").order_by("-timestamp")
    sql, params = timeline.query.sql_with_params()
    assert "customer_id_name_timestamp" in _plan(sql, list(params))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_namesakes_are_found_by_an_index_probe():
    from rapport.customers.merge import NAMESAKES_IN_CITY_SQL

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a large table: the index, or nothing
    plan = _plan(NAMESAKES_IN_CITY_SQL, ["fangwang", "苏州"])
    # through the name-key index, or the city's when the planner finds it as cheap: never a scan
    assert "Index" in plan and "Seq Scan" not in plan
