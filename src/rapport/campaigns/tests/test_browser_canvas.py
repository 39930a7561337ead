"""The journey canvas in Chromium, in English on a desktop and in Chinese on a 390×844 phone: a
running journey shows each step's counts; a split is added on an edge with its condition picked in
the segment builder."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.campaigns.journeys import engine
from rapport.campaigns.models import Plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS = [
    pytest.param("en", {"width": 1280, "height": 900}, id="en-desktop"),
    pytest.param("zh-hans", {"width": 390, "height": 844}, id="zh-phone"),
]
WORDS = {
    "en": {"passed": "Passed", "split": "Condition split", "yes": "yes"},
    "zh-hans": {"passed": "通过", "split": "条件分支", "yes": "是"},
}


def _open_as_operator(page, sign_in, make_staff, language, viewport):
    make_staff(roles.OPERATOR, username="canvas")
    page.set_viewport_size(viewport)
    sign_in("canvas", language=language)


@pytest.mark.parametrize(("language", "viewport"), SETTINGS)
def test_an_operator_reads_per_step_counts_and_adds_a_split_picked_in_the_builder(
    page, sign_in, make_staff, make_plan, make_template, make_member, launch, language, viewport
):
    site = make_template("site", name="Birthday note")
    send = {"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}}
    running = launch(
        make_plan(
            name="Birthday",
            kind="journey",
            trigger={"type": "birthday", "days_before": 0},
            segment=None,
            steps=[{"kind": "wait", "config": {"minutes": 60}}, send],
        )
    )
    members = [make_member(gender="female"), make_member(gender="male"), make_member(gender="female")]
    now = timezone.now()
    engine.enroll_entries(running, [engine.Entry(m.pk, "t", {}) for m in members], now=now)
    engine.advance(running, now=now)
    draft = make_plan(name="Welcome", kind="journey", trigger={"type": "first_purchase"}, segment=None, steps=[send])
    _open_as_operator(page, sign_in, make_staff, language, viewport)
    words = WORDS[language]

    page.goto(f"/campaigns/{running.pk}/")
    page.click("#open-canvas")
    wait = page.locator(".node[data-position='1']")
    assert wait.get_attribute("data-entered") == "3" and wait.get_attribute("data-waiting") == "3"
    assert f"{words['passed']} 0" in wait.text_content()
    assert page.locator(".add-step").count() == 0
    wait.click()
    assert page.inner_text("#panel-counts").count("3") >= 2
    box = page.locator("#journey-canvas").bounding_box()
    assert box["width"] <= viewport["width"]

    page.goto(f"/campaigns/{draft.pk}/canvas/")
    page.click(".add-step[data-source='trigger']")
    page.click("#kind-choices a[data-kind='split']")
    assert words["split"] in page.inner_text("#step-form")
    page.click("#rule-builder .add-condition")
    condition = page.locator(".rule-condition").nth(0)
    condition.locator(".condition-type").select_option("profile")
    condition.locator(".subject").select_option("gender")
    condition.locator("select.value").select_option("female")
    page.wait_for_function("() => document.getElementById('live-count').textContent === '2'")
    page.click("#save-step")
    page.wait_for_selector(".node[data-kind='split'].node-selected")
    assert page.locator(".edge-label-yes").text_content() == words["yes"]
    split = Plan.objects.get(pk=draft.pk).steps.get(position=1)
    assert split.kind == "split"
    assert split.config["rule"]["all"] == [{"type": "profile", "field": "gender", "op": "eq", "value": "female"}]

    # a step on the split's "no" branch: the drawing opens a second column for it
    page.click(".add-step[data-source='1'][data-branch='no']")
    page.click("#kind-choices a[data-kind='end']")
    page.click("#save-step")
    page.wait_for_selector(".node[data-kind='end']")
    kinds = list(Plan.objects.get(pk=draft.pk).steps.order_by("position").values_list("kind", "config"))
    assert kinds[0][1]["no"] is None and kinds[0][1]["yes"] == 3 and kinds[1][0] == "end"
    if viewport["width"] == 390:
        page.screenshot(path="/tmp/canvas-phone.png", full_page=True)
    else:
        page.screenshot(path="/tmp/canvas-desktop.png", full_page=True)
