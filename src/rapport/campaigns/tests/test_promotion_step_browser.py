"""An operator builds a plan whose step grants a personal promotion (picked by name, valid for 48
hours) in the plan builder and launches it with a hold-out group; the promotion's report page then
shows the customers granted it and the comparison with the hold-out — in English on a desktop and in
简体中文 on a phone (390×844), never scrolling sideways."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings as django_settings

from rapport.accounts import roles
from rapport.campaigns.models import Enrollment, Plan
from rapport.promotions.models import PersonalPromotion
from rapport.promotions.tests.factories import personal_promotion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(
    ("language", "viewport", "heading"),
    [
        ("en", {"width": 1280, "height": 900}, "Incremental revenue against the hold-out"),
        ("zh-hans", {"width": 390, "height": 844}, "对照组增量收入"),
    ],
)
def test_a_plan_grants_a_personal_promotion_and_its_report_compares_with_the_hold_out(
    page, live_server, sign_in, make_staff, make_member, shanghai, settings, language, viewport, heading
):
    settings.RAPPORT_JOBS_SYNC = True
    make_staff(roles.OPERATOR, username="planner")
    for n in range(12):
        make_member(name=f"Member {n}")
    promotion = personal_promotion()

    sign_in("planner")
    page.goto("/campaigns/new/")
    page.fill("#id_name", "Win back Gold")
    page.select_option("#id_segment", label=shanghai.name)
    page.fill("#id_control_percent", "50")
    page.select_option("#new-step-kind", "promotion")
    page.click("#add-step")
    page.select_option(".reward-promotion", label="Welcome back 满199减30 (lapsed-gold)")
    page.fill(".reward-hours", "48")
    page.click("#save-plan")
    page.wait_for_selector("#launch-plan")
    page.click("#launch-plan")
    page.click("#confirm-launch")
    page.wait_for_selector("#plan-status")
    plan = Plan.objects.get(name="Win back Gold")
    treated = Enrollment.objects.filter(plan=plan).exclude(state=Enrollment.State.HELD_OUT).count()
    grants = PersonalPromotion.objects.filter(promotion=promotion, plan_id=plan.pk)
    assert grants.count() == treated
    assert all(g.valid_until - g.valid_from == dt.timedelta(hours=48) for g in grants)

    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size(viewport)
    page.goto(f"/promotions/{promotion.pk}/")
    assert heading in page.inner_text("#promotion-holdouts")
    assert page.inner_text("#promotion-granted") == str(treated)
    row = page.locator(f"#holdout-table tr[data-plan='{plan.pk}']")
    assert "Win back Gold" in row.inner_text() and row.locator(".holdout-incremental").inner_text() == "0.00"
    assert _fits(page)
