"""Building and launching a plan in Chromium: the step list, an A/B split, launch, the report; lifting
a bounced address's suppression on the customer's Messages tab."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.campaigns.models import EmailSuppression, Message, Plan

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
    assert page.inner_text("#reach-audience") == "6"
    page.click("#confirm-launch")
    page.wait_for_selector("#plan-status")
    assert page.inner_text("#report-audience") == "6"
    assert page.inner_text("#report-sent") == "6"
    # a row per variant sent: buckets are random, so six members all land in one variant 1 time in 32
    sent_variants = set(Message.objects.filter(plan=plan).values_list("variant", flat=True))
    assert sent_variants <= {"A", "B"}
    assert page.locator("#variant-table tbody tr").count() == len(sent_variants)
    assert page.locator("#plan-funnel").count() == 1
    assert Message.objects.filter(plan=plan, status=Message.Status.DELIVERED).count() == 6
    plan.refresh_from_db()
    assert plan.status == Plan.Status.COMPLETED


def test_build_a_journey_that_splits_on_whether_the_email_was_opened(
    page, sign_in, make_staff, make_template, settings
):
    make_staff(roles.OPERATOR, username="journey-builder")
    welcome = make_template(name="Welcome mail", subject="Welcome")
    reminder = make_template(name="Welcome reminder", subject="Did you see this?")

    sign_in("journey-builder")
    page.goto("/campaigns/new/")
    page.fill("#id_name", "Welcome journey")
    page.select_option("#id_kind", "journey")
    page.select_option("#id_trigger_type", "event")
    page.fill("#id_trigger_event", "Signed Up")
    page.select_option("#new-step-kind", "send")
    page.click("#add-step")
    page.select_option(".send-channel", "email")
    page.select_option(".variant-template", str(welcome.pk))
    page.select_option("#new-step-kind", "wait")
    page.click("#add-step")
    page.fill(".wait-minutes", "2880")
    page.select_option("#new-step-kind", "split")
    page.click("#add-step")
    page.select_option(".split-on", "opened")
    assert page.locator(".split-segment").count() == 0
    # Only earlier send steps are offered; saving without choosing one names the field.
    assert page.locator(".split-send-step option").all_inner_texts()[1:] == ["Step 1: email"]
    page.click("#save-plan")
    page.wait_for_selector("#form-errors")
    assert page.locator('#form-errors li[data-field="steps.2.send_step"]').count() == 1

    page.select_option(".split-send-step", "1")
    page.fill(".split-within", "48")
    page.select_option(".split-yes", "end")
    page.select_option("#new-step-kind", "send")
    page.click("#add-step")
    page.locator(".send-channel").nth(1).select_option("email")
    page.locator(".variant-template").nth(1).select_option(str(reminder.pk))
    page.click("#save-plan")

    page.wait_for_selector("#launch-plan")
    plan = Plan.objects.get(name="Welcome journey")
    split = plan.steps.get(position=3)
    assert split.config == {"engagement": "opened", "send_step": 1, "within_hours": 48, "yes": "end", "no": None}
    assert "opened the message of step 1" in page.inner_text("#plan-steps")
    assert page.locator('.split-counts[data-step="3"]').inner_text() == "(0 yes · 0 no)"


def test_lift_a_bounced_customers_email_suppression_from_the_messages_tab(page, sign_in, make_staff, make_member):
    make_staff(roles.ADMIN, username="deliverability")
    customer = make_member(name="Bounced Member", consent=("email",))
    EmailSuppression.objects.create(
        address_index=customer.email_index,
        customer=customer,
        evidence="hard bounce 5.1.1 of rapport-1: User unknown",
        created_at=timezone.now(),
    )

    sign_in("deliverability")
    page.goto(f"/customers/{customer.pk}/?tab=messages")
    page.wait_for_selector("#email-suppression")
    page.fill("#lift-suppression-reason", "Customer fixed the mailbox")
    page.click("#lift-suppression")

    page.wait_for_selector(".message.success")
    assert page.locator("#email-suppression").count() == 0
    assert not EmailSuppression.objects.exists()
    lift = AuditEntry.objects.get(changes__has_key="email_suppression_lifted")
    assert (lift.actor_label, lift.changes["reason"]) == ("deliverability", "Customer fixed the mailbox")


def test_a_coupon_step_offers_whom_to_issue_to(page, sign_in, make_staff, shanghai, make_template, system_actor):
    from decimal import Decimal

    from rapport.loyalty.models import CouponTemplate
    from rapport.loyalty.services import coupons

    make_staff(roles.OPERATOR, username="gift-giver")
    gift = coupons.save_template(
        CouponTemplate(name="¥20 off", amount_off=Decimal("20.00"), valid_days=14), actor=system_actor
    )
    mail = make_template(name="Gift mail", subject="A gift for you")

    sign_in("gift-giver")
    page.goto("/campaigns/new/")
    page.fill("#id_name", "Gift for everyone")
    page.select_option("#id_segment", label=shanghai.name)
    page.select_option("#new-step-kind", "coupon")
    page.click("#add-step")
    page.select_option(".reward-template", str(gift.pk))
    assert page.locator(".reward-audience option").all_inner_texts()[1:] == [
        "Only those the plan's message can reach (consent and an address)",
        "Everyone in the step",
    ]
    page.select_option(".reward-audience", "everyone")
    page.select_option("#new-step-kind", "send")
    page.click("#add-step")
    page.select_option(".send-channel", "email")
    page.select_option(".variant-template", str(mail.pk))
    page.click("#save-plan")

    page.wait_for_selector("#launch-plan")
    coupon_step = Plan.objects.get(name="Gift for everyone").steps.get(position=1)
    assert coupon_step.config == {"template": gift.pk, "audience": "everyone"}
