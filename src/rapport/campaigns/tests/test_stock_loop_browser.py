"""The "send recommendations" step in Chromium: added in the plan builder with its template and the
"leave out products forecast to run out" option, and on the journey canvas, in English on a desktop
and in Chinese on a 390×844 phone."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.campaigns import services
from rapport.campaigns.models import Plan, Step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS = [
    pytest.param("en", {"width": 1280, "height": 900}, id="en-desktop"),
    pytest.param("zh-hans", {"width": 390, "height": 844}, id="zh-phone"),
]
WORDS = {
    "en": {"kind": "Send recommendations", "leave_out": "Leave out products forecast to run out"},
    "zh-hans": {"kind": "发送推荐", "leave_out": "不含预计将断货的商品"},
}
PICKS = [{"type": "recommendations", "title": "For you", "count": 3, "show_reasons": True}]


@pytest.mark.parametrize(("language", "viewport"), SETTINGS)
def test_an_operator_adds_a_send_recommendations_step_in_the_builder_and_on_the_canvas(
    page, sign_in, make_staff, shanghai, system_actor, language, viewport
):
    picks = services.save_template(
        data={"name": "Picks", "channel": "email", "subject": "For you", "blocks": PICKS}, actor=system_actor
    )
    make_staff(roles.OPERATOR, username="planner")
    page.set_viewport_size(viewport)
    sign_in("planner", language=language)
    words = WORDS[language]

    page.goto("/campaigns/new/")
    page.fill("#id_name", "Weekly picks")
    page.select_option("#id_segment", label=shanghai.name)
    page.select_option("#new-step-kind", "recommend")
    page.click("#add-step")
    step = page.locator("li.step-recommend")
    assert words["kind"] in step.inner_text() and words["leave_out"] in step.inner_text()
    step.locator(".send-channel").select_option("email")
    step.locator(".variant-template").select_option(str(picks.pk))
    step.locator(".send-exclude-running-out").check()
    page.click("#save-plan")
    page.wait_for_selector("#launch-plan")
    plan = Plan.objects.get(name="Weekly picks")
    saved = plan.steps.get()
    assert saved.kind == Step.Kind.RECOMMEND and saved.config["exclude_running_out"] is True
    assert words["kind"] in page.inner_text("main")

    page.goto(f"/campaigns/{plan.pk}/canvas/")
    node = page.locator(".node[data-kind='recommend']")
    assert words["kind"] in node.text_content() and "Picks" in node.text_content()
    node.click()
    assert page.locator("#id_exclude_running_out").is_checked()
    page.locator("#id_exclude_running_out").uncheck()
    page.click("#save-step")
    page.wait_for_selector(".node[data-kind='recommend'].node-selected")
    assert "exclude_running_out" not in plan.steps.get().config
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
