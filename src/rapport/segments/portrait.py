"""Segment portraits (人群画像): how a segment's members spread over a set of dimensions.

Each dimension is one GROUP BY in the database over the members query. Dimensions live in a
registry, so later apps add theirs (member level from loyalty, RFM cell from analytics) with
``register_dimension`` from their ``AppConfig.ready``, and the portrait page shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import OrderLine
from rapport.commerce.queries import counted
from rapport.customers.models import Channel, Customer, Gender, MemberStatus
from rapport.segments.conditions import years_before

TOP_CITIES = 10
TOP_CATEGORIES = 10


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Dimension:
    """One distribution: ``compute(members, now)`` answers buckets in display order."""

    key: str
    label: str | Promise
    compute: Callable[[QuerySet[Customer], dt.datetime], list[Bucket]]
    position: int = 100
    # what the counts are when not simply members (e.g. members who bought in a category)
    unit: str | Promise = ""


_DIMENSIONS: dict[str, Dimension] = {}


def register_dimension(dimension: Dimension) -> None:
    _DIMENSIONS[dimension.key] = dimension


def dimensions() -> list[Dimension]:
    return sorted(_DIMENSIONS.values(), key=lambda d: (d.position, d.key))


@dataclass(frozen=True)
class Distribution:
    key: str
    label: str
    unit: str
    buckets: list[Bucket]

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)

    @property
    def max(self) -> int:
        return max((b.count for b in self.buckets), default=0)

    def rows(self) -> list[tuple[Bucket, float]]:
        """Each bucket with its share of the total, in percent (for bars)."""
        total = self.total or 1
        return [(b, round(100 * b.count / total, 1)) for b in self.buckets]


def portrait(
    members: QuerySet[Customer], *, now: dt.datetime | None = None, only: Iterable[str] | None = None
) -> list[Distribution]:
    """Every registered dimension (or ``only`` those keys) over ``members``: one query each."""
    now = now or timezone.now()
    wanted = set(only) if only is not None else None
    return [
        Distribution(d.key, str(d.label), str(d.unit or _("members")), d.compute(members.order_by(), now))
        for d in dimensions()
        if wanted is None or d.key in wanted
    ]


# Built-in dimensions ------------------------------------------------------------------------


def _grouped(members: QuerySet[Customer], expression: object) -> dict[str, int]:
    rows = members.annotate(bucket=expression).values("bucket").annotate(n=Count("pk")).values_list("bucket", "n")
    return {str(key if key is not None else ""): n for key, n in rows}


def _choices(counts: dict[str, int], choices: Iterable[tuple[str, object]], unknown: str) -> list[Bucket]:
    known = {str(value): str(label) for value, label in choices}
    buckets = [Bucket(value, label, counts.get(value, 0)) for value, label in known.items() if counts.get(value)]
    other = sum(n for key, n in counts.items() if key not in known)
    if other:
        buckets.append(Bucket("", unknown, other))
    return buckets


def _gender(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    counts = _grouped(members, Coalesce("gender", Value("")))
    return _choices(counts, [(v, label) for v, label in Gender.choices if v], str(_("Unknown")))


AGE_BANDS: list[tuple[str, int | None, int | None]] = [
    ("<18", None, 17),
    ("18–24", 18, 24),
    ("25–34", 25, 34),
    ("35–44", 35, 44),
    ("45–54", 45, 54),
    ("55+", 55, None),
]


def _age(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    today = now.date()
    whens = []
    for label, low, high in AGE_BANDS:
        bounds = Q(birthday__isnull=False)
        if low is not None:
            bounds &= Q(birthday__lte=years_before(today, low))
        if high is not None:
            bounds &= Q(birthday__gt=years_before(today, high + 1))
        whens.append(When(bounds, then=Value(label)))
    counts = _grouped(members, Case(*whens, default=Value("unknown"), output_field=CharField()))
    buckets = [Bucket(label, label, counts.get(label, 0)) for label, _low, _high in AGE_BANDS]
    buckets.append(Bucket("unknown", str(_("Unknown")), counts.get("unknown", 0)))
    return buckets


def _city(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    counts = _grouped(members, Coalesce("city", Value("")))
    unknown = counts.pop("", 0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    buckets = [Bucket(city, city, n) for city, n in ranked[:TOP_CITIES]]
    other = sum(n for _city, n in ranked[TOP_CITIES:])
    if other:
        buckets.append(Bucket("__other__", str(_("Other cities")), other))
    if unknown:
        buckets.append(Bucket("", str(_("Unknown")), unknown))
    return buckets


def _store(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    rows = members.values("store__code", "store__name").annotate(n=Count("pk")).order_by("-n", "store__code")
    return [Bucket(row["store__code"] or "", row["store__name"] or str(_("No store")), row["n"]) for row in rows]


def _channel(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    return _choices(_grouped(members, Coalesce("registration_channel", Value(""))), Channel.choices, str(_("Unknown")))


def _member_status(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    return _choices(_grouped(members, Coalesce("member_status", Value(""))), MemberStatus.choices, str(_("Unknown")))


ORDER_BANDS: list[tuple[str, int, int | None]] = [
    ("0", 0, 0),
    ("1", 1, 1),
    ("2–3", 2, 3),
    ("4–9", 4, 9),
    ("10+", 10, None),
]


def _order_count(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    count = Coalesce("stats__order_count", Value(0), output_field=IntegerField())
    whens = []
    for label, low, high in ORDER_BANDS:
        bounds = Q(n_orders__gte=low) if high is None else Q(n_orders__gte=low, n_orders__lte=high)
        whens.append(When(bounds, then=Value(label)))
    rows = (
        members.annotate(n_orders=count)
        .annotate(bucket=Case(*whens, output_field=CharField()))
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    counts = dict(rows)
    return [Bucket(label, label, counts.get(label, 0)) for label, _low, _high in ORDER_BANDS]


def _categories(members: QuerySet[Customer], now: dt.datetime) -> list[Bucket]:
    rows = (
        OrderLine.objects.filter(
            counted("order__"),
            order__customer__in=members.values("pk"),
            product__category__isnull=False,
        )
        .values("product__category__code", "product__category__name")
        .annotate(n=Count("order__customer", distinct=True))
        .order_by("-n", "product__category__code")[:TOP_CATEGORIES]
    )
    return [Bucket(row["product__category__code"], row["product__category__name"], row["n"]) for row in rows]


def register_builtin() -> None:
    register_dimension(Dimension("gender", _("Gender"), _gender, position=10))
    register_dimension(Dimension("age", _("Age"), _age, position=20))
    register_dimension(Dimension("city", _("City"), _city, position=30))
    register_dimension(Dimension("store", _("Store"), _store, position=40))
    register_dimension(Dimension("channel", _("Registration channel"), _channel, position=50))
    register_dimension(Dimension("member_status", _("Member status"), _member_status, position=60))
    register_dimension(Dimension("orders", _("Orders placed"), _order_count, position=70))
    register_dimension(
        Dimension("categories", _("Top categories bought"), _categories, position=80, unit=_("members who bought"))
    )


register_builtin()
