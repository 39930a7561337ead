"""The journey canvas: edits on the drawn graph, the graph the engine follows, and per-step counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from rapport.campaigns import services
from rapport.campaigns.journeys import editing, engine, graph
from rapport.campaigns.models import Enrollment, Plan
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db

FEMALE = {"type": "profile", "field": "gender", "op": "eq", "value": "female"}
WAIT = {"kind": "wait", "config": {"minutes": 60}}
END = {"kind": "end", "config": {}}


def _split(**branches: Any) -> dict[str, Any]:
    return {"kind": "split", "config": {"rule": FEMALE, **branches}}


def _send(template: int) -> dict[str, Any]:
    return {"kind": "send", "config": {"channel": "site", "variants": [{"template": template}]}}


# Editing the step list -----------------------------------------------------------------------


def test_adding_after_the_trigger_puts_the_step_first_and_leads_on_to_the_old_first():
    steps, added = editing.insert([WAIT, END], source="trigger", branch="next", kind="wait", config={"minutes": 5})
    assert steps == [{"kind": "wait", "config": {"minutes": 5}}, WAIT, END] and added == 1


def test_adding_on_a_yes_branch_keeps_the_no_branch_where_it_led():
    # split: yes → next (the end), no → end as well, by name
    steps, added = editing.insert([_split(no="end"), END], source="1", branch="yes", kind="wait", config={"minutes": 5})
    assert added == 2
    assert steps == [_split(no="end"), {"kind": "wait", "config": {"minutes": 5}}, END]


def test_adding_on_a_no_branch_that_went_to_the_next_step_names_both_targets():
    steps, added = editing.insert([_split(), WAIT], source="1", branch="no", kind="end", config={})
    assert added == 2
    # the new step sits right after the split (the "no" way), the wait becomes step 3 (the "yes" way)
    assert steps == [{"kind": "split", "config": {"rule": FEMALE, "yes": 3}}, END, WAIT]


def test_deleting_a_split_keeps_its_yes_way_and_drops_what_only_its_no_way_reached():
    steps = [WAIT, _split(yes=3, no=4), {"kind": "wait", "config": {"minutes": 1, "next": "end"}}, END]
    assert editing.remove(steps, position=2) == [WAIT, {"kind": "wait", "config": {"minutes": 1}}]


def test_deleting_the_first_step_starts_with_where_it_led():
    assert editing.remove([WAIT, END], position=1) == [END]


def test_changing_a_step_keeps_where_it_leads():
    steps = editing.change([_split(yes=3, no="end"), WAIT, END], position=1, config={"segment": 7})
    assert steps[0]["config"] == {"segment": 7, "yes": 3, "no": "end"}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: editing.insert([WAIT], source="9", branch="next", kind="wait", config={}), "source"),
        (lambda: editing.insert([WAIT], source="1", branch="yes", kind="wait", config={}), "branch"),
        (lambda: editing.insert([WAIT], source="1", branch="next", kind="jump", config={}), "kind"),
        (lambda: editing.remove([WAIT], position="x"), "position"),
    ],
)
def test_an_edit_that_names_nothing_real_says_which_field(call, field):
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.errors[0].field == field


def test_a_step_that_names_its_next_step_is_followed_by_the_engine(make_plan, make_template):
    site = make_template("site")
    plan = make_plan(steps=[{"kind": "wait", "config": {"minutes": 5, "next": 3}}, _send(site.pk), END])
    steps = engine.Steps(plan)
    assert steps.after(steps.by_position[1]).position == 3
    assert [(e.source, e.branch, e.target) for e in graph.edges(steps)] == [
        ("trigger", "next", "1"),
        ("1", "next", "3"),
        ("2", "next", "3"),
    ]


def test_a_step_cannot_lead_to_itself(make_plan):
    with pytest.raises(InvalidInput) as caught:
        make_plan(steps=[{"kind": "wait", "config": {"minutes": 5, "next": 1}}, END])
    assert caught.value.errors[0].field == "steps.0.next"


# Counts per step from the engine's records --------------------------------------------------


def _journey(make_plan: Any, make_template: Any) -> Plan:
    site = make_template("site")
    return make_plan(
        kind="journey",
        trigger={"type": "birthday", "days_before": 0},
        segment=None,
        steps=[_split(no=3), {**_send(site.pk), "config": {**_send(site.pk)["config"], "next": "end"}}, WAIT],
    )


def test_counts_per_step_follow_each_customer_through_the_journey(make_member, make_plan, make_template, launch):
    women = [make_member(gender="female") for _ in range(3)]
    men = [make_member(gender="male") for _ in range(2)]
    plan = launch(_journey(make_plan, make_template))
    now = timezone.now()
    engine.enroll_entries(plan, [engine.Entry(c.pk, "t", {}) for c in women + men], now=now)
    engine.advance(plan, now=now)
    drawing = graph.canvas(plan)
    counts = {n.key: n.counts for n in drawing["nodes"]}
    assert counts["trigger"].entered == 5
    split, send, wait = counts["1"], counts["2"], counts["3"]
    assert (split.entered, split.waiting, split.passed, split.yes, split.no) == (5, 0, 5, 3, 2)
    assert (send.entered, send.waiting, send.passed) == (3, 0, 3)
    assert (wait.entered, wait.waiting, wait.passed, wait.exited) == (2, 2, 0, 0)
    engine.advance(plan, now=now + dt.timedelta(minutes=61))
    wait = {n.key: n.counts for n in graph.canvas(plan)["nodes"]}["3"]
    assert (wait.entered, wait.waiting, wait.passed) == (2, 0, 2)


def test_customers_taken_out_by_a_cancel_count_as_exited_at_their_step(
    make_member, make_plan, make_template, launch, system_actor
):
    plan = launch(_journey(make_plan, make_template))
    man = make_member(gender="male")
    now = timezone.now()
    engine.enroll_entries(plan, [engine.Entry(man.pk, "t", {})], now=now)
    engine.advance(plan, now=now)
    services.cancel_plan(plan, actor=system_actor)
    wait = {n.key: n.counts for n in graph.canvas(plan)["nodes"]}["3"]
    assert (wait.entered, wait.waiting, wait.passed, wait.exited) == (1, 0, 0, 1)
    assert Enrollment.objects.get(plan=plan).state == Enrollment.State.EXITED


def test_the_canvas_reads_its_counts_in_a_fixed_number_of_queries(
    make_member, make_plan, make_template, launch, django_assert_num_queries
):
    plan = launch(_journey(make_plan, make_template))
    with django_assert_num_queries(4):  # the steps, counts at steps, split decisions, entered
        graph.canvas(plan)


def test_a_split_opens_a_column_and_a_phone_sees_one_column_per_branch(make_plan, make_template):
    plan = _journey(make_plan, make_template)
    nodes = graph.layout(plan).nodes
    assert (nodes["1"].row, nodes["1"].column) == (1, 0)
    assert (nodes["2"].row, nodes["2"].column) == (2, 0)
    assert (nodes["3"].row, nodes["3"].column) == (2, 1)
    assert graph.canvas(plan)["width"] <= 390


def test_a_loop_is_drawn_beside_and_its_steps_show_no_flow_counts(make_plan):
    plan = make_plan(
        steps=[
            WAIT,
            {"kind": "split", "config": {"rule": FEMALE, "yes": 1, "no": 3}},
            {"kind": "points", "config": {"points": 5}},
        ]
    )
    drawing = graph.canvas(plan)
    counts = {n.key: n.counts for n in drawing["nodes"]}
    assert counts["1"].entered is None and counts["2"].passed is None and counts["3"].entered is None
    looping = [e for e in drawing["edges"] if e.edge.source == "2" and e.edge.branch == "yes"]
    assert looping[0].path.count("C") == 2  # around the side, not through the nodes
