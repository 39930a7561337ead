"""The demo shop as a whole adds up: every ledger, coupon and card, in the order it is shown."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from rapport.demo.loader import SeedReport
from rapport.loyalty.models import Coupon, CouponStatus, Entry
from rapport.loyalty.services.checks import check_ledgers


def test_every_account_coupon_and_card_of_the_demo_shop_adds_up(small_shop: SeedReport) -> None:
    assert check_ledgers() == []


def test_demo_entries_are_booked_in_the_order_they_happened(small_shop: SeedReport) -> None:
    # Statements list entries in booking order: the demo books them in time order too, so that a
    # statement reads forwards in time and each balance-after is the balance at that moment.
    rows = Entry.objects.order_by("account_id", "id").values_list("account_id", "occurred_at")
    for _account, entries in groupby(rows, key=itemgetter(0)):
        times = [at for _a, at in entries]
        assert times == sorted(times)


def test_redeemed_demo_coupons_say_when_and_on_which_order(small_shop: SeedReport) -> None:
    redeemed = Coupon.objects.filter(status=CouponStatus.REDEEMED)
    assert redeemed.exists()
    for coupon in redeemed.select_related("customer"):
        order = coupon.customer.orders.get(external_id=coupon.redeemed_order)
        assert order.placed_at == coupon.redeemed_at
        assert coupon.issued_at < coupon.redeemed_at <= coupon.valid_until


def test_demo_coupons_keep_each_templates_per_customer_limit(small_shop: SeedReport) -> None:
    # The demo once gave a customer one coupon per order (a DISTINCT over ordered rows), so giving
    # a card whose coupon they already held "as many as allowed" failed for the best customers.
    from django.db.models import Count, F

    from rapport.loyalty.models import Coupon

    over = (
        Coupon.objects.filter(template__per_customer_limit__gt=0)
        .values("customer_id", "template_id", "template__per_customer_limit")
        .annotate(held=Count("pk"))
        .filter(held__gt=F("template__per_customer_limit"))
    )
    assert list(over) == []
