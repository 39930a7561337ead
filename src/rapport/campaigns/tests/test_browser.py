"""Building and launching a plan in Chromium: the step list, an A/B split, launch, the report."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.campaigns.models import Message, Plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_an_ab_plan_launch_it_and_read_the_report(
    page, sign_in, make_staff, shanghai, make_template, make_member, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RAPPORT_JOBS_SYNC = True
    make_staff(roles.OPERATOR, username="marketer")
    for n in range(6):
        make_member(name=f"Member {n}", consent=("email",))
    first = make_template(name="Spring A", subject="Spring is here")
    second = make_template(name="Spring B", subject="New season, {{ customer.name }}")

    sign_in("marketer")
    page.goto("/campaigns/")
    page.click("#new-plan")
    page.fill("#id_name", "Spring launch")
    page.select_option("#id_segment", label=shanghai.name)
    page.fill("#id_control_percent", "0")
    page.select_option("#new-step-kind", "send")
    page.click("#add-step")
    page.select_option(".send-channel", "email")
    page.select_option(".variant-template", str(first.pk))
    page.click(".add-variant")
    page.locator(".variant-template").nth(1).select_option(str(second.pk))
    assert page.locator(".variant-weight").nth(0).input_value() == "50"
    page.click("#save-plan")

    page.wait_for_selector("#launch-plan")
    plan = Plan.objects.get(name="Spring launch")
    assert [v["key"] for v in plan.steps.get().config["variants"]] == ["A", "B"]
    page.click("#launch-plan")
    page.wait_for_selector("#plan-status")
    assert page.inner_text("#report-audience") == "6"
    assert page.inner_text("#report-sent") == "6"
    assert page.locator("#variant-table tbody tr").count() == 2
    assert page.locator("#plan-funnel").count() == 1
    assert Message.objects.filter(plan=plan, status=Message.Status.DELIVERED).count() == 6
    plan.refresh_from_db()
    assert plan.status == Plan.Status.COMPLETED
