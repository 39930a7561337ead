"""Per-plan measurement: the funnel, A/B variants, attribution and uplift over the hold-out.

Definitions (also in ``docs/campaigns.md``):

* audience — customers who entered the plan (the hold-out control group included);
* sent / delivered / opened / clicked — messages in or past that state; bounced — emails the
  receiving side returned (sent, no longer delivered);
* converted, revenue — touched customers with a counted order within the attribution window
  (``attribution_days``) after their first message went out, and those orders' totals;
* splits — per condition split, how many enrollments took the yes and the no branch;
* uplift — the treatment group's conversion rate minus the control group's, each measured within
  the window from entering the plan (intention to treat: suppressed sends stay in the treatment
  group, as they would in real life), with a 95% Wald confidence interval for the difference.

Every figure is one aggregate query over the plan's rows; nothing loops over customers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from rapport.analytics.charts import embed
from rapport.campaigns.models import Enrollment, Message, Plan, SplitDecision, Step
from rapport.commerce.models import Order
from rapport.promotions.holdouts import PlanGroups, RevenueGroup

Z_95 = 1.959963984540054
PAST_SENT = (Message.Status.SENT, Message.Status.DELIVERED)


@dataclass
class GroupResult:
    size: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.size if self.size else 0.0


@dataclass
class Uplift:
    treatment: GroupResult
    control: GroupResult
    difference: float | None
    low: float | None
    high: float | None

    def points(self, value: float | None) -> float | None:
        """A rate difference in percentage points, for people."""
        return None if value is None else value * 100

    @property
    def difference_pp(self) -> float | None:
        return self.points(self.difference)

    @property
    def low_pp(self) -> float | None:
        return self.points(self.low)

    @property
    def high_pp(self) -> float | None:
        return self.points(self.high)

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass
class PlanReport:
    audience: int
    control: int
    planned: int
    suppressed: int
    sent: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    failed: int
    converted: int
    revenue: Decimal
    uplift: Uplift
    suppressed_by_reason: dict[str, int] = field(default_factory=dict)
    variants: list[dict[str, Any]] = field(default_factory=list)
    # Per condition split (by step position): how many enrollments took each branch.
    splits: dict[int, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        u = self.uplift
        return {
            "audience": self.audience,
            "control": self.control,
            "planned": self.planned,
            "suppressed": self.suppressed,
            "suppressed_by_reason": self.suppressed_by_reason,
            "sent": self.sent,
            "delivered": self.delivered,
            "bounced": self.bounced,
            "opened": self.opened,
            "clicked": self.clicked,
            "failed": self.failed,
            "converted": self.converted,
            "revenue": str(self.revenue),
            "uplift": {
                "treatment": {"size": u.treatment.size, "converted": u.treatment.converted, "rate": u.treatment.rate},
                "control": {"size": u.control.size, "converted": u.control.converted, "rate": u.control.rate},
                "difference": u.difference,
                "ci95": [u.low, u.high] if u.low is not None else None,
                "significant": u.significant,
            },
            "variants": self.variants,
            "splits": [{"step": position, **branches} for position, branches in sorted(self.splits.items())],
        }


def uplift(treatment: GroupResult, control: GroupResult) -> Uplift:
    """Difference of two conversion rates with a 95% Wald interval (normal approximation)."""
    if not treatment.size or not control.size:
        return Uplift(treatment, control, None, None, None)
    p1, p0 = treatment.rate, control.rate
    difference = p1 - p0
    error = math.sqrt(p1 * (1 - p1) / treatment.size + p0 * (1 - p0) / control.size)
    return Uplift(treatment, control, difference, difference - Z_95 * error, difference + Z_95 * error)


def _orders_in_window(plan: Plan, start: str) -> QuerySet[Order]:
    return Order.objects.counted().filter(
        customer_id=OuterRef("customer_id"),
        placed_at__gt=OuterRef(start),
        placed_at__lte=OuterRef(start) + plan.attribution_window,
    )


def _revenue_group(plan: Plan, enrollments: QuerySet[Enrollment]) -> RevenueGroup:
    """Customers, the revenue of their counted orders in the window from entering, and the sum of
    each one's revenue squared: one aggregate over a correlated sum per enrollment."""
    spent = _orders_in_window(plan, "entered_at").order_by().values("customer_id").annotate(total=Sum("total"))
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)
    per_customer = Coalesce(Subquery(spent.values("total"), output_field=money), Decimal("0"), output_field=money)
    row = enrollments.annotate(spent=per_customer).aggregate(
        customers=Count("pk"),
        revenue=Coalesce(Sum("spent"), Decimal("0"), output_field=money),
        squares=Coalesce(Sum(F("spent") * F("spent")), Decimal("0"), output_field=DecimalField(max_digits=30)),
    )
    return RevenueGroup(row["customers"], Decimal(row["revenue"]), Decimal(row["squares"]))


def holdout_revenue(plan_ids: Sequence[int]) -> list[PlanGroups]:
    """Revenue per customer of the treated and the held-out groups of each plan that held one out
    (the figures :mod:`rapport.promotions.holdouts` compares for the promotions the plans granted)."""
    plans = Plan.objects.filter(pk__in=list(plan_ids)).filter(
        Exists(Enrollment.objects.filter(plan=OuterRef("pk"), state=Enrollment.State.HELD_OUT))
    )
    found = []
    for plan in plans.order_by("pk"):
        enrollments = Enrollment.objects.filter(plan=plan)
        found.append(
            PlanGroups(
                plan_id=plan.pk,
                plan_name=plan.name,
                window_days=plan.attribution_days,
                treated=_revenue_group(plan, enrollments.exclude(state=Enrollment.State.HELD_OUT)),
                held_out=_revenue_group(plan, enrollments.filter(state=Enrollment.State.HELD_OUT)),
            )
        )
    return found


def _converted_from(plan: Plan, enrollments: QuerySet[Enrollment], start: str) -> int:
    return enrollments.filter(Exists(_orders_in_window(plan, start))).count()


def build(plan: Plan) -> PlanReport:
    enrollments = Enrollment.objects.filter(plan=plan)
    sizes = enrollments.aggregate(audience=Count("pk"), control=Count("pk", filter=Q(state=Enrollment.State.HELD_OUT)))
    messages = Message.objects.filter(plan=plan).exclude(channel="staff")
    by_status = dict(messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    engagement = messages.aggregate(
        opened=Count("pk", filter=Q(opened_at__isnull=False)), clicked=Count("pk", filter=Q(clicked_at__isnull=False))
    )
    reasons = dict(
        messages.filter(status=Message.Status.SUPPRESSED)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .values_list("reason", "n")
    )
    first_sent = (
        Message.objects.filter(enrollment=OuterRef("pk"), status__in=PAST_SENT)
        .order_by()
        .values("enrollment")
        .annotate(at=Min("sent_at"))
        .values("at")
    )
    touched = (
        enrollments.exclude(state=Enrollment.State.HELD_OUT)
        .annotate(touched_at=Subquery(first_sent))
        .filter(touched_at__isnull=False)
    )
    # An order is attributed when it falls within the window after one of its customer's touches.
    touch_before = touched.filter(
        customer_id=OuterRef("customer_id"),
        touched_at__lt=OuterRef("placed_at"),
        touched_at__gte=OuterRef("placed_at") - plan.attribution_window,
    )
    orders = Order.objects.counted().filter(customer_id__in=touched.values("customer_id")).filter(Exists(touch_before))
    attributed = orders.aggregate(
        converted=Count("customer_id", distinct=True),
        revenue=Coalesce(Sum("total"), Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2)),
    )
    treatment = enrollments.exclude(state=Enrollment.State.HELD_OUT)
    control = enrollments.filter(state=Enrollment.State.HELD_OUT)
    lift = uplift(
        GroupResult(treatment.count(), _converted_from(plan, treatment, "entered_at")),
        GroupResult(sizes["control"], _converted_from(plan, control, "entered_at")),
    )
    bounced = by_status.get(Message.Status.BOUNCED, 0)
    sent = by_status.get(Message.Status.SENT, 0) + by_status.get(Message.Status.DELIVERED, 0) + bounced
    return PlanReport(
        audience=sizes["audience"],
        control=sizes["control"],
        planned=by_status.get(Message.Status.PLANNED, 0),
        suppressed=by_status.get(Message.Status.SUPPRESSED, 0),
        suppressed_by_reason={str(k): v for k, v in reasons.items()},
        sent=sent,
        delivered=by_status.get(Message.Status.DELIVERED, 0),
        bounced=bounced,
        opened=engagement["opened"],
        clicked=engagement["clicked"],
        failed=by_status.get(Message.Status.FAILED, 0),
        converted=attributed["converted"],
        revenue=Decimal(attributed["revenue"]).quantize(Decimal("0.01")),
        uplift=lift,
        variants=_variants(plan),
        splits=_splits(plan),
    )


def _splits(plan: Plan) -> dict[int, dict[str, int]]:
    """Per split step: enrollments sent down the yes and the no branch (both shown, zeros too)."""
    found: dict[int, dict[str, int]] = {
        position: {"yes": 0, "no": 0}
        for position in plan.steps.filter(kind=Step.Kind.SPLIT).values_list("position", flat=True)
    }
    rows = (
        SplitDecision.objects.filter(step__plan=plan)
        .values_list("step__position", "branch")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for position, branch, n in rows:
        found.setdefault(position, {"yes": 0, "no": 0})[branch] = n
    return found


def _variants(plan: Plan) -> list[dict[str, Any]]:
    """Per A/B variant: sent, opened, clicked, and customers converted after a message of it."""
    rows = (
        Message.objects.filter(plan=plan, status__in=PAST_SENT)
        .exclude(variant="")
        .values("variant")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            converted=Count(
                "pk",
                filter=Q(
                    Exists(
                        Order.objects.counted().filter(
                            customer_id=OuterRef("customer_id"),
                            placed_at__gt=OuterRef("sent_at"),
                            placed_at__lte=OuterRef("sent_at") + plan.attribution_window,
                        )
                    )
                ),
            ),
        )
        .order_by("variant")
    )
    return [{**row, "conversion_rate": row["converted"] / row["sent"] if row["sent"] else 0.0} for row in rows]


def funnel_figure(report: PlanReport) -> str:
    """The plan's funnel as an embeddable Plotly chart (the page loads plotly.min.js itself)."""
    import plotly.graph_objects as go

    stages = [
        (_("Audience"), report.audience),
        (_("Sent"), report.sent),
        (_("Delivered"), report.delivered),
        (_("Opened"), report.opened),
        (_("Clicked"), report.clicked),
        (_("Converted"), report.converted),
    ]
    figure = go.Figure(
        go.Funnel(
            y=[str(label) for label, _value in stages],
            x=[value for _label, value in stages],
            textinfo="value+percent initial",
            marker={"color": "#2f5bd3"},
        )
    )
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=320)
    return embed(figure, "plan-funnel", config={"displayModeBar": False})
