"""An operator builds a plan whose step creates a call task (the old call list, now tasks) in the plan
builder; the seller who owns the customer finds it on their phone (390×844, English and 简体中文)
and marks it done."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings

from rapport.accounts import roles
from rapport.clienteling.models import Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("language", "heading"), [("en", "My tasks"), ("zh-hans", "我的任务")])
def test_a_plan_step_makes_a_call_task_the_owner_completes_on_a_phone(
    page, live_server, sign_in, make_staff, make_member, shanghai, settings, language, heading
):
    settings.RAPPORT_JOBS_SYNC = True
    make_staff(roles.OPERATOR, username="planner")
    seller = make_staff(roles.SALES, username="seller")
    customer = make_member(name="Wang Fang", owner=seller.pk)

    sign_in("planner")
    page.goto("/campaigns/new/")
    page.fill("#id_name", "VIP follow-up calls")
    page.select_option("#id_segment", label=shanghai.name)
    page.fill("#id_control_percent", "0")
    page.select_option("#new-step-kind", "task")
    page.click("#add-step")
    page.select_option(".reward-task_kind", "call")
    page.fill(".reward-title", "回访 Thank-you call")
    page.fill(".reward-notes", "Thank them for the order")
    page.fill(".reward-due_in_days", "0")
    page.select_option(".reward-purpose", "service")
    page.click("#save-plan")
    page.wait_for_selector("#launch-plan")
    page.click("#launch-plan")
    page.click("#confirm-launch")  # the launch page shows the reach first
    page.wait_for_selector("#plan-status")
    task = Task.objects.get(customer=customer)
    assert (task.assignee_id, task.kind, task.title) == (seller.pk, "call", "回访 Thank-you call")

    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("seller")
    page.goto("/counter/tasks/")
    assert heading in page.inner_text("h1")
    page.locator("a.counter-card", has_text="回访 Thank-you call").click()
    assert "Thank them for the order" in page.inner_text("#task-card")
    assert _fits(page)
    page.select_option("#task-outcome", "reached")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#tasks-today")
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "reached"
    assert _fits(page)
