"""Incremental revenue of a personal promotion against a campaign's hold-out group.

A plan that grants a personal promotion and holds a random control group out (``control_percent``)
is an experiment: the held-out customers entered the plan like the others and were granted nothing.
Revenue per customer in the plan's attribution window from entering, treated (everyone not held
out: intention to treat, as the plan's own uplift) against held out, gives the promotion's
incremental revenue per customer, with a 95% confidence interval for the difference of the two means
(normal approximation with each group's own variance, Welch); times the treated customers, the
incremental revenue of the plan's grants.

Promotions know nothing of campaigns (an import contract): campaigns registers the source of the
groups' figures (:func:`register_source`) when it starts, and each figure is one aggregate query there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from rapport.promotions.models import PersonalPromotion, Promotion

Z_95 = 1.959963984540054
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RevenueGroup:
    """One group's customers, the revenue of their counted orders in the window, and the sum of
    each customer's revenue squared (for the variance)."""

    customers: int
    revenue: Decimal
    sum_of_squares: Decimal

    @property
    def per_customer(self) -> Decimal:
        return (self.revenue / self.customers).quantize(CENT) if self.customers else Decimal("0.00")

    @property
    def variance(self) -> float | None:
        """The sample variance of revenue per customer (None below two customers)."""
        n = self.customers
        if n < 2:
            return None
        mean = float(self.revenue) / n
        return max((float(self.sum_of_squares) - n * mean * mean) / (n - 1), 0.0)


@dataclass(frozen=True)
class PlanGroups:
    """What the source answers for one plan with a hold-out group."""

    plan_id: int
    plan_name: str
    window_days: int
    treated: RevenueGroup
    held_out: RevenueGroup


HoldoutSource = Callable[[Sequence[int]], list[PlanGroups]]
_SOURCE: list[HoldoutSource] = []


def register_source(source: HoldoutSource) -> None:
    """Campaigns' answer for plans by id: those with held-out customers, with both groups' figures."""
    _SOURCE[:] = [source]


@dataclass(frozen=True)
class Comparison:
    groups: PlanGroups
    granted: int  # customers this plan granted the promotion to
    difference: Decimal | None  # revenue per customer, treated minus held out
    low: Decimal | None
    high: Decimal | None

    @property
    def incremental_revenue(self) -> Decimal | None:
        return None if self.difference is None else (self.difference * self.groups.treated.customers).quantize(CENT)

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def compare(groups: PlanGroups, granted: int) -> Comparison:
    treated, held_out = groups.treated, groups.held_out
    if not treated.customers or not held_out.customers:
        return Comparison(groups, granted, None, None, None)
    difference = float(treated.revenue) / treated.customers - float(held_out.revenue) / held_out.customers
    low = high = None
    if treated.variance is not None and held_out.variance is not None:
        error = math.sqrt(treated.variance / treated.customers + held_out.variance / held_out.customers)
        low, high = _money(difference - Z_95 * error), _money(difference + Z_95 * error)
    return Comparison(groups, granted, _money(difference), low, high)


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT)


def comparisons(promotion: Promotion) -> list[Comparison]:
    """One comparison per plan that granted the promotion and held a control group out."""
    granted = dict(
        PersonalPromotion.objects.filter(promotion=promotion, plan_id__isnull=False)
        .values_list("plan_id")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    if not granted or not _SOURCE:
        return []
    return [compare(groups, granted.get(groups.plan_id, 0)) for groups in _SOURCE[0](sorted(granted))]
