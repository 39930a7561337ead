"""Saving, counting and snapshotting segments on a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.customers.services import assign_owner, update_customer
from rapport.segments import services, tasks
from rapport.segments.models import Segment, SegmentMember, SegmentMembershipChange
from rapport.segments.rules import clean_rule
from rapport.segments.tests.conftest import SHANGHAI_RULE

pytestmark = pytest.mark.django_db


def test_save_segment_cleans_the_rule_and_audits(shop, system_actor):
    segment = services.save_segment(data={"name": " Big spenders ", "rule": SHANGHAI_RULE}, actor=system_actor)
    assert segment.name == "Big spenders"
    assert segment.rule == {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}
    assert AuditEntry.objects.filter(action="create", object_id=str(segment.pk)).exists()


def test_save_segment_names_each_bad_part_of_the_rule(shop, system_actor):
    rule = {"all": [{"type": "profile", "field": "age", "op": "gt", "value": "old"}, {"type": "nope"}]}
    with pytest.raises(InvalidInput) as caught:
        services.save_segment(data={"name": "", "rule": rule}, actor=system_actor)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"name", "rule.all.0.value", "rule.all.1.type"}
    assert not Segment.objects.filter(is_template=False).exists()


def test_update_records_only_what_changed(shanghai, system_actor):
    services.save_segment(data={"description": "East"}, actor=system_actor, instance=shanghai)
    entry = AuditEntry.objects.filter(action="update", object_id=str(shanghai.pk)).get()
    assert entry.changes == {"description": "East"}


def test_segment_members_is_one_query(shanghai, shop, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert set(services.segment_members(shanghai).values_list("name", flat=True)) == {"Amy", "Cai"}


def test_segment_members_respects_the_users_data_scope(shanghai, shop, make_staff, system_actor):
    seller = make_staff(roles.SALES)
    assign_owner(Customer.objects.filter(pk=shop["amy"].pk), owner=seller, actor=system_actor)
    assert list(services.segment_members(shanghai, user=seller)) == [shop["amy"]]
    assert services.segment_members(shanghai, actor=Actor(user=seller)).count() == 1
    assert services.segment_members(shanghai).count() == 2


def test_preview_counts_and_lists_newest_first(shop, make_staff):
    count, first = services.preview(SHANGHAI_RULE, user=make_staff(roles.OPERATOR))
    assert count == 2
    assert [c.name for c in first] == ["Cai", "Amy"]


def test_preview_takes_an_order_aggregate(shop):
    rule = {"all": [{"type": "orders", "metric": "sum", "op": "gte", "value": "200", "window_days": 90}]}
    count, first = services.preview(rule)
    assert (count, [c.name for c in first]) == (1, ["Amy"])


def test_first_snapshot_records_everyone_as_entered(shanghai, shop):
    snapshot = services.take_snapshot(shanghai)
    assert (snapshot.member_count, snapshot.entered_count, snapshot.left_count) == (2, 2, 0)
    entered = set(services.changes_of(snapshot, "entered").values_list("customer_id", flat=True))
    assert entered == {shop["amy"].pk, shop["cai"].pk}
    shanghai.refresh_from_db()
    assert shanghai.last_count == 2


def test_next_snapshot_records_who_entered_and_who_left(shanghai, shop, make_customer, system_actor):
    services.take_snapshot(shanghai)
    update_customer(shop["cai"], data={"city": "杭州"}, actor=system_actor)
    update_customer(shop["bob"], data={"city": "上海"}, actor=system_actor)
    dan = make_customer(name="Dan", city="上海")
    snapshot = services.take_snapshot(shanghai, now=timezone.now() + dt.timedelta(days=1))
    assert (snapshot.member_count, snapshot.entered_count, snapshot.left_count) == (3, 2, 1)
    assert set(services.changes_of(snapshot, "entered").values_list("customer_id", flat=True)) == {
        shop["bob"].pk,
        dan.pk,
    }
    assert list(services.changes_of(snapshot, "left").values_list("customer_id", flat=True)) == [shop["cai"].pk]
    members = set(SegmentMember.objects.filter(segment=shanghai).values_list("customer_id", flat=True))
    assert members == {shop["amy"].pk, shop["bob"].pk, dan.pk}


def test_a_snapshot_without_changes_records_none(shanghai):
    services.take_snapshot(shanghai)
    again = services.take_snapshot(shanghai)
    assert (again.member_count, again.entered_count, again.left_count) == (2, 0, 0)
    assert not SegmentMembershipChange.objects.filter(snapshot=again).exists()


def test_snapshots_of_two_segments_keep_apart(shanghai, shop, system_actor):
    everyone = services.save_segment(
        data={"name": "All", "rule": {"type": "profile", "field": "name", "op": "is_set"}}, actor=system_actor
    )
    services.take_snapshot(shanghai)
    snapshot = services.take_snapshot(everyone)
    assert snapshot.entered_count == 3
    assert SegmentMember.objects.filter(segment=shanghai).count() == 2


def test_scheduled_task_snapshots_saved_segments_but_not_templates(shanghai, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = tasks.snapshot_all.run()
    assert started == 1
    assert shanghai.snapshots.count() == 1
    assert not Segment.objects.filter(is_template=True, snapshots__isnull=False).exists()


def test_snapshot_task_skips_a_deleted_segment():
    assert tasks.snapshot_segment.run(987654) is None


def test_templates_are_shipped_and_valid(shop):
    templates = Segment.objects.filter(is_template=True)
    assert templates.count() >= 4
    for template in templates:
        services.segment_members(template).count()


def test_instantiate_template_makes_an_editable_copy(system_actor):
    template = Segment.objects.get(template_key="lapsed-buyers")
    segment = services.instantiate_template(template, actor=system_actor, name="Win back")
    assert (segment.name, segment.rule, segment.is_template) == ("Win back", clean_rule(template.rule), False)


def test_shipped_templates_cannot_be_deleted(system_actor):
    template = Segment.objects.get(template_key="new-this-month")
    with pytest.raises(InvalidInput):
        services.delete_segment(template, actor=system_actor)


def test_delete_removes_history(shanghai, system_actor):
    services.take_snapshot(shanghai)
    segment_id = shanghai.pk
    services.delete_segment(shanghai, actor=system_actor)
    assert not SegmentMember.objects.exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(segment_id)).exists()
