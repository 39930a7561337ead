"""Launching through the confirmation in Chromium (English desktop, Chinese 390×844): the reach is
shown before anything starts, and confirming launches the plan."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.campaigns.models import Message, Plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS = [
    pytest.param("en", {"width": 1280, "height": 900}, id="en-desktop"),
    pytest.param("zh-hans", {"width": 390, "height": 844}, id="zh-phone"),
]
LAUNCHED = {"en": "Plan launched.", "zh-hans": "计划已启动。"}


@pytest.mark.parametrize(("language", "viewport"), SETTINGS)
def test_an_operator_sees_the_reach_then_launches(
    page, sign_in, make_staff, make_plan, make_member, settings, language, viewport
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RAPPORT_JOBS_SYNC = True
    settings.RAPPORT_CHANNEL_COSTS = {"email": "0.01"}
    for _ in range(3):
        make_member(consent=("email",))
    make_member(consent=())
    make_member(email=None, consent=("email",))
    plan = make_plan(name="Double 11", control_percent=0)
    make_staff(roles.OPERATOR, username="launcher")
    page.set_viewport_size(viewport)
    sign_in("launcher", language=language)

    page.goto(f"/campaigns/{plan.pk}/")
    page.click("#launch-plan")
    assert page.inner_text("#reach-audience") == "5"
    row = page.locator("#reach-channels tr[data-channel='email']")
    assert row.locator(".reach-reachable").inner_text() == "3"
    assert row.locator(".reach-messages").inner_text() == "3"
    assert page.inner_text("#reach-cost").startswith("0.03")
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.DRAFT
    page.screenshot(path=f"/tmp/launch-{language}.png", full_page=True)
    page.click("#confirm-launch")
    page.wait_for_selector("#plan-status")
    assert LAUNCHED[language] in page.inner_text("body")
    assert Message.objects.filter(plan=plan, status__in=["sent", "delivered"]).count() == 3
