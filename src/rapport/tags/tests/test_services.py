"""Tag services on a real database: idempotent tagging, history, scope, batches, merges."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.merge import merge_customers
from rapport.customers.models import Customer
from rapport.customers.services import add_identity, assign_owner
from rapport.tags import services
from rapport.tags.models import CustomerTag, Tag, TagBatch, TagHistory, TagTemplate

pytestmark = pytest.mark.django_db


def holders(tag):
    return set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True))


def test_adding_a_held_tag_is_a_no_op_without_duplicate_history(make_customer, make_tag, system_actor):
    customer = make_customer()
    tea, golf = make_tag("Tea"), make_tag("Golf")

    assert services.add_tags(customer, [tea], actor=system_actor) == [tea]
    assert services.add_tags(customer, [tea, golf], actor=system_actor) == [golf]
    assert services.add_tags(customer, [tea, golf], actor=system_actor) == []

    assert set(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True)) == {"Tea", "Golf"}
    assert TagHistory.objects.filter(customer_id=customer.pk, action="added").count() == 2
    audit = AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk))
    assert audit.count() == 3  # created, then two calls that changed something


def test_remove_records_who_and_when_and_ignores_tags_not_held(make_customer, make_tag, make_staff):
    customer = make_customer()
    tea, golf = make_tag("Tea"), make_tag("Golf")
    mei = Actor(user=make_staff(roles.OPERATOR, username="mei"), source=Source.CONSOLE)
    services.add_tags(customer, [tea], actor=mei)

    assert services.remove_tags(customer, [tea, golf], actor=mei) == [tea]
    assert not CustomerTag.objects.filter(customer=customer).exists()
    entries = list(TagHistory.objects.filter(customer_id=customer.pk).order_by("id"))
    assert [(e.action, e.tag_id, e.actor_label, e.source) for e in entries] == [
        ("added", tea.pk, "mei", "console"),
        ("removed", tea.pk, "mei", "console"),
    ]


def test_tags_are_unique_in_their_category_and_validated(make_tag, category, system_actor):
    make_tag("VIP")
    with pytest.raises(InvalidInput) as bad:
        services.create_tag(
            data={"category": category.pk, "name": "VIP", "colour": "red", "type": "smart"}, actor=system_actor
        )
    assert {e.field for e in bad.value.errors} == {"name", "colour", "type"}
    with pytest.raises(InvalidInput) as no_rule:
        services.create_tag(data={"category": "Interests", "name": "Auto", "type": "automatic"}, actor=system_actor)
    assert [e.field for e in no_rule.value.errors] == ["rule"]
    with pytest.raises(InvalidInput) as bad_rule:
        services.create_tag(
            data={"category": "Interests", "name": "Auto", "type": "automatic", "rule": {"all": [{"type": "nope"}]}},
            actor=system_actor,
        )
    assert [e.field for e in bad_rule.value.errors] == ["rule.all.0.type"]
    assert Tag.objects.count() == 1


def test_automatic_and_store_scoped_tags_refuse_manual_changes(
    make_customer, make_tag, store, other_store, system_actor
):
    auto = make_tag("Auto", type="automatic", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"})
    local = make_tag("Local", store="sh-01")
    elsewhere = make_customer(store="bj-01")
    with pytest.raises(InvalidInput) as refused:
        services.add_tags(elsewhere, [auto, local], actor=system_actor)
    assert [e.code for e in refused.value.errors] == ["automatic", "out_of_scope"]
    assert not CustomerTag.objects.exists()


def test_batch_by_filters_respects_the_sales_persons_scope(make_customer, make_tag, make_staff, system_actor):
    seller = make_staff(roles.SALES, username="seller")
    mine = [make_customer(city="上海") for _ in range(3)]
    other = make_customer(city="上海")
    assign_owner(Customer.objects.filter(pk__in=[c.pk for c in mine]), owner=seller, actor=system_actor)
    tag = make_tag("Shanghai")
    actor = Actor(user=seller, source=Source.CONSOLE)

    batch = services.batch_filtered(tag, action="add", filters={"city": "上海"}, actor=actor)
    assert (batch.matched, batch.changed) == (3, 3)
    assert holders(tag) == {c.pk for c in mine}
    assert other.pk not in holders(tag)
    again = services.batch_filtered(tag, action="add", filters={"city": "上海"}, actor=actor)
    assert (again.matched, again.changed) == (3, 0)
    assert TagHistory.objects.filter(tag=tag).count() == 3
    assert set(TagHistory.objects.filter(tag=tag).values_list("batch_id", flat=True)) == {batch.pk}

    removed = services.batch_filtered(tag, action="remove", filters={}, actor=actor)
    assert removed.changed == 3 and holders(tag) == set()


def test_batch_by_id_list_reports_unknown_rows_and_resolves_external_and_merged_ids(
    make_customer, make_tag, system_actor
):
    a, b, c = make_customer(), make_customer(), make_customer()
    add_identity(b, channel="tmall", external_id="TM-1", actor=system_actor)
    merge_customers(a, c, actor=system_actor, reason="test")  # c's id now resolves to a
    tag = make_tag("Listed")

    batch = services.batch_ids(
        tag,
        action="add",
        values=[(2, str(c.pk)), (3, "tmall:TM-1"), (4, "999999"), (5, "tmall:nope"), (6, "???"), (7, "")],
        actor=system_actor,
    )
    assert holders(tag) == {a.pk, b.pk}
    assert batch.changed == 2
    assert [(r["line"], r["code"]) for r in batch.report] == [(4, "not_found"), (5, "not_found"), (6, "invalid")]


def test_batch_from_a_csv_file_with_or_without_header(tmp_path, make_customer, make_tag, system_actor):
    a, b = make_customer(), make_customer()
    tag = make_tag("From file")
    with_header = tmp_path / "ids.csv"
    with_header.write_text(f"name,customer_id\nx,{a.pk}\ny,12345678\n", encoding="utf-8")
    batch = services.batch_file(tag, action="add", path=with_header, file_name="ids.csv", actor=system_actor)
    assert holders(tag) == {a.pk} and [r["line"] for r in batch.report] == [3]

    bare = tmp_path / "bare.csv"
    bare.write_text(f"{b.pk}\n{a.pk}\n", encoding="utf-8")
    batch = services.batch_file(tag, action="add", path=bare, file_name="bare.csv", actor=system_actor)
    assert holders(tag) == {a.pk, b.pk} and batch.changed == 1 and batch.report == []
    assert batch.kind == TagBatch.Kind.FILE


def test_batch_from_an_xlsx_file(tmp_path, make_customer, make_tag, system_actor):
    from openpyxl import Workbook

    a = make_customer()
    workbook = Workbook()
    workbook.active.append(["id"])
    workbook.active.append([a.pk])
    path = tmp_path / "ids.xlsx"
    workbook.save(path)
    tag = make_tag("Xlsx")
    services.batch_file(tag, action="add", path=path, file_name="ids.xlsx", actor=system_actor)
    assert holders(tag) == {a.pk}


def test_batch_by_segment_rule(make_customer, make_tag, system_actor):
    shanghai = [make_customer(city="上海"), make_customer(city="上海")]
    make_customer(city="北京")
    tag = make_tag("Segment")
    rule = {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    batch = services.batch_segment(tag, action="add", rule=rule, actor=system_actor)
    assert holders(tag) == {c.pk for c in shanghai} and batch.matched == 2
    with pytest.raises(InvalidInput) as bad:
        services.batch_segment(tag, action="add", rule={"type": "profile"}, actor=system_actor)
    assert bad.value.errors[0].field.startswith("rule")


def test_automatic_tag_follows_its_rule_and_records_the_rule_in_history(make_customer, make_tag, system_actor):
    from rapport.customers.services import update_customer

    amy, bob = make_customer(city="上海"), make_customer(city="北京")
    tag = make_tag(
        "In Shanghai", type="automatic", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    )

    result = services.evaluate_tag(tag)
    assert (result.added, result.removed) == (1, 0) and holders(tag) == {amy.pk}
    update_customer(amy, data={"city": "杭州"}, actor=system_actor)
    update_customer(bob, data={"city": "上海"}, actor=system_actor)

    only_amy = services.reevaluate_for_customers([amy.pk])
    assert holders(tag) == set() and sum(r.removed for r in only_amy) == 1
    services.evaluate_all()
    assert holders(tag) == {bob.pk}
    sources = set(TagHistory.objects.filter(tag=tag).values_list("source", "reference"))
    assert sources == {("rule", f"rule:{tag.pk}")}
    assert Tag.objects.get(pk=tag.pk).last_evaluated_at is not None


def test_automatic_tags_testing_other_tags_run_after_them(make_customer, make_tag):
    amy = make_customer(city="上海")
    first = make_tag(
        "Shanghai", type="automatic", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    )
    second = make_tag("Tagged Shanghai", type="automatic", rule={"type": "tag", "op": "has_any", "tags": [first.pk]})
    services.update_tag(first, data={"description": "x"}, actor=Actor.system())
    services.evaluate_all()
    assert holders(second) == {amy.pk}
    with pytest.raises(InvalidInput) as loop:
        services.update_tag(
            second, data={"rule": {"type": "tag", "op": "has_any", "tags": [second.pk]}}, actor=Actor.system()
        )
    assert loop.value.errors[0].code == "self_reference"


def test_merge_moves_tags_once_and_keeps_history(make_customer, make_tag, system_actor):
    survivor, merged = make_customer(), make_customer()
    both, only_merged = make_tag("Both"), make_tag("Only merged")
    services.add_tags(survivor, [both], actor=system_actor)
    services.add_tags(merged, [both, only_merged], actor=system_actor)

    done = merge_customers(survivor, merged, actor=system_actor, reason="same person")
    assert done.moved["tags"] == 1
    assert set(CustomerTag.objects.filter(customer=survivor).values_list("tag_id", flat=True)) == {
        both.pk,
        only_merged.pk,
    }
    assert not TagHistory.objects.filter(customer_id=merged.pk).exists()
    assert TagHistory.objects.filter(customer_id=survivor.pk, source="merge", tag=only_merged).count() == 1
    assert TagHistory.objects.filter(customer_id=survivor.pk).count() == 4


def test_apply_builtin_template_creates_categories_and_tags_once(system_actor, make_customer):
    template = TagTemplate.objects.get(key="lifecycle")
    first = services.apply_template(template, actor=system_actor)
    assert first == {"categories_created": 1, "tags_created": 4, "tags_existing": 0}
    assert services.apply_template(template, actor=system_actor) == {
        "categories_created": 0,
        "tags_created": 0,
        "tags_existing": 4,
    }
    assert set(Tag.objects.filter(category__name="Lifecycle").values_list("type", flat=True)) == {"automatic"}
    for key in ("value", "service"):
        services.apply_template(TagTemplate.objects.get(key=key), actor=system_actor)
    assert Tag.objects.count() == 10


def test_used_tags_cannot_be_deleted_but_unused_ones_can(make_customer, make_tag, system_actor, category):
    used, unused = make_tag("Used"), make_tag("Unused")
    services.add_tags(make_customer(), [used], actor=system_actor)
    with pytest.raises(Conflict):
        services.delete_tag(used, actor=system_actor)
    services.delete_tag(unused, actor=system_actor)
    with pytest.raises(Conflict):
        services.delete_category(category, actor=system_actor)
    assert list(Tag.objects.values_list("name", flat=True)) == ["Used"]


def test_preview_count_counts_within_scope(make_customer, system_actor):
    make_customer(city="上海")
    make_customer(city="上海")
    rule = {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    assert services.preview_count(rule, actor=system_actor) == 2


def test_batch_add_is_a_fixed_number_of_queries(make_customer, make_tag, system_actor, django_assert_max_num_queries):
    for _ in range(30):
        make_customer(city="上海")
    tag = make_tag("Many")
    with django_assert_max_num_queries(14):
        services.batch_filtered(tag, action="add", filters={"city": "上海"}, actor=system_actor)
    assert len(holders(tag)) == 30


def test_tagging_one_customer_is_a_fixed_number_of_queries(
    make_customer, make_tag, system_actor, django_assert_num_queries
):
    customer = make_customer()
    tags = [make_tag(f"T{i}") for i in range(3)]
    # per tag: insert, history, endpoints; then one audit entry, whose two sealed fields each read the
    # customer's data key (cached only once a transaction commits, so twice inside this test's one)
    with django_assert_num_queries(14):
        services.add_tags(customer, tags, actor=system_actor)
    with django_assert_num_queries(5):  # per tag: one insert that adds nothing
        services.add_tags(customer, tags, actor=system_actor)


def test_batch_by_saved_segment_records_the_segment(make_customer, make_tag, system_actor):
    from rapport.segments.models import Segment

    shanghai = make_customer(city="上海")
    make_customer(city="北京")
    segment = Segment.objects.create(
        name="Shanghai", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    )
    batch = services.batch_segment(make_tag("Seg"), action="add", segment=segment, actor=system_actor)
    assert batch.changed == 1 and batch.params["segment"] == segment.pk
    assert set(CustomerTag.objects.filter(tag=batch.tag).values_list("customer_id", flat=True)) == {shanghai.pk}


@pytest.mark.parametrize("ref", ["²", "99999999999999999999", 2**64, -3])
def test_a_tag_reference_no_record_can_have_is_not_found(ref):
    """Found by the API fuzzing: "²".isdigit() is true and int("²") fails; 20 digits overflow a
    bigint on PostgreSQL. Both are a tag that does not exist, named by its place in the list."""
    with pytest.raises(InvalidInput) as raised:
        services.resolve_tags([ref])
    assert [(e.field, e.code) for e in raised.value.errors] == [("tags.0", "not_found")]
