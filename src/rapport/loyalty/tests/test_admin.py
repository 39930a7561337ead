"""The loyalty admin: every page opens for a superuser, ledgers and history are read-only, and the
configuration forms refuse what the console refuses and are audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from rapport.audit.models import AuditEntry
from rapport.loyalty.models import (
    Asset,
    CardType,
    CouponTemplate,
    EarnRule,
    EarnRuleKind,
    GoodwillLimit,
    Level,
    ProgramSettings,
    TopUpBonus,
)
from rapport.loyalty.services import adjustments, cards, checkout, coupons, goodwill, levels, points
from rapport.loyalty.services.cart import Cart
from rapport.loyalty.services.program import program_settings
from rapport.loyalty.tests.factories import coupon_template
from rapport.testing.admin import assert_only_configuration_is_editable, every_change_page, registered_admins

pytestmark = pytest.mark.django_db

LOYALTY_ADMINS = registered_admins("loyalty")


@pytest.fixture
def loyalty_rows(member: Any, system_actor: Any) -> None:
    """At least one row of every registered loyalty model, written through the services."""
    program_settings()
    EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT)
    TopUpBonus.objects.create(minimum=Decimal("1000"), bonus=Decimal("100"))
    adjustments.adjust(member, asset=Asset.POINTS, delta="500", reason="welcome", key="admin-1", actor=system_actor)
    points.spend(member, points=100, key="admin-2", actor=system_actor)
    silver = Level.objects.create(name="Silver", rank=1)
    levels.set_level(member, level=silver, reason="test", actor=system_actor)
    card_type = CardType.objects.create(name="Plus")
    cards.grant(card_type, member, key="admin-3", actor=system_actor)
    template = coupon_template()
    coupons.issue(template, member, key="admin-4", actor=system_actor)
    checkout.redeem(
        member, Cart(total=Decimal("300")), key="admin-5", order_reference="o-admin", actor=system_actor, points=100
    )
    goodwill.give_points(member, points=10, reason="test", key="admin-6", actor=system_actor, context="test")


def test_every_loyalty_model_opens_its_list_and_a_change_page(admin_client, loyalty_rows):
    assert len(LOYALTY_ADMINS) == 19
    assert len(list(every_change_page(admin_client, "loyalty"))) == 19


def test_ledgers_and_history_are_read_only_and_configuration_is_not_deleted(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    assert_only_configuration_is_editable(
        request,
        "loyalty",
        {CardType, CouponTemplate, EarnRule, GoodwillLimit, Level, TopUpBonus},
        exempt={ProgramSettings},
    )


def _template_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "10 off",
        "kind": "amount_off",
        "amount_off": "10",
        "percent_off": "0",
        "max_discount": "0",
        "threshold": "50",
        "product_skus": "",
        "category_codes": "",
        "valid_from": "",
        "valid_until": "",
        "valid_days": "30",
        "per_customer_limit": "1",
        "total_stock": "0",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_coupon_template_the_console_would_refuse_is_refused_with_the_fields_named(admin_client):
    response = admin_client.post(
        reverse("admin:loyalty_coupontemplate_add"), _template_form(amount_off="0", valid_days="0")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"amount_off", "valid_until"} <= set(errors)
    assert not CouponTemplate.objects.exists()


def test_a_coupon_template_saved_in_the_admin_is_audited(admin_client, admin_user):
    response = admin_client.post(reverse("admin:loyalty_coupontemplate_add"), _template_form(product_skus="A1, B2"))

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    template = CouponTemplate.objects.get()
    assert template.product_skus == ["A1", "B2"]
    entry = AuditEntry.objects.get(object_type="loyalty.coupontemplate")
    assert (entry.action, entry.actor, entry.object_id) == ("create", admin_user, str(template.pk))


def test_a_level_kept_with_more_than_it_takes_to_reach_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:loyalty_level_add"),
        {
            "name": "Gold",
            "rank": "2",
            "threshold": "100",
            "keep_threshold": "500",
            "points_multiplier": "1",
            "discount_percent": "0",
            "birthday_points": "0",
            "custom_benefits": "",
        },
    )

    assert response.status_code == 200 and "keep_threshold" in response.context["adminform"].form.errors
    assert not Level.objects.exists()
