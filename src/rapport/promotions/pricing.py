"""The pricing engine: a cart priced in the layers Chinese retail uses, best for the customer.

Layers, as a shop's till and Tmall/JD/Youzan price them:

1. **item level**, at most one offer a line: a unit-price offer (limited-time price 限时折扣, member
   price 会员价, a product or category discount), buy X get Y (买二送一, 第二件半价) or a bundle (套餐价);
2. **order level**, at most one offer: full reduction (满300减30, tiers, "every 满100减10") or an order
   discount (满2件9折), judged on the lines it covers after their item-level prices;
3. **one coupon**, judged on the lines it covers after item-level prices, and never taking more than
   those lines' amount less the whole order-level reduction (so it never takes a line below zero).

The merchant's stacking rules travel on each offer: an item-level offer says whether its lines still
count toward order-level offers and coupons (特价商品不参与满减 / 不可用券), an order-level offer whether
a coupon may join it at all. Within those rules the engine returns the combination with the largest
total discount (a global optimum, not a greedy layer-by-layer pick: a cheaper limited-time price can
cost the customer a 满减 threshold). Ties are broken the same way every time, whatever order the
offers arrive in: fewer offers first (lines with an item-level offer, plus the order offer and coupon
used), then the first in a fixed order (see ``_search``). Points and stored value are tenders chosen
afterwards.

Money is handled in integer cents inside; every amount in and out is a ``Decimal``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from itertools import combinations

import numpy as np
import numpy.typing as npt

CENT = Decimal("0.01")
_Array = npt.NDArray[np.int64]
_SumsCache = dict[tuple[tuple[int, ...], ...], tuple[list[int], _Array]]  # per cart: see _prefix_sums


class Layer(StrEnum):
    ITEM = "item"
    ORDER = "order"
    COUPON = "coupon"


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def percent_of(cents: int, percent: Decimal) -> int:
    """``percent`` % of an amount in cents, rounded half up to the cent."""
    return int((Decimal(cents) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: Decimal
    category: str = ""


@dataclass(frozen=True)
class Scope:
    """Which lines an offer covers: the SKUs and categories named, or every line when both are empty."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def covers(self, line: CartLine) -> bool:
        if not self.skus and not self.categories:
            return True
        return line.sku in self.skus or (bool(line.category) and line.category in self.categories)


EVERYTHING = Scope()


@dataclass(frozen=True)
class UnitPrice:
    """A line priced per unit: a set price, a percentage off or an amount off, for up to
    ``max_units`` units of the line (the rest at the list price)."""

    key: str
    label: str
    scope: Scope = EVERYTHING
    price: Decimal | None = None
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    max_units: int | None = None
    with_order_offers: bool = True
    with_coupons: bool = True

    def unit_reduction(self, unit_cents: int) -> int:
        if self.price is not None:
            return max(0, unit_cents - to_cents(self.price))
        if self.percent_off is not None:
            return min(unit_cents, percent_of(unit_cents, self.percent_off))
        return min(unit_cents, to_cents(self.amount_off or Decimal(0)))


@dataclass(frozen=True)
class BuyXGetY:
    """Among the units of the lines it takes, sorted dearest first, every ``buy + get`` units give the
    last ``get`` of them ``percent_off`` (100: free; 买二送一 is buy 2 get 1, 第二件半价 buy 1 get 1 at 50)."""

    key: str
    label: str
    buy: int
    get: int
    scope: Scope = EVERYTHING
    percent_off: Decimal = Decimal(100)
    with_order_offers: bool = True
    with_coupons: bool = True


@dataclass(frozen=True)
class Bundle:
    """Every complete set of ``components`` (SKU, units) sells for ``price`` (套餐价)."""

    key: str
    label: str
    components: tuple[tuple[str, int], ...]
    price: Decimal
    with_order_offers: bool = True
    with_coupons: bool = True

    @property
    def scope(self) -> Scope:
        return Scope(skus=frozenset(sku for sku, _ in self.components))


ItemOffer = UnitPrice | BuyXGetY | Bundle


@dataclass(frozen=True)
class Tier:
    """From ``threshold`` (an amount, or units for offers counted in units) on: ``amount_off`` or ``percent_off``."""

    threshold: Decimal
    amount_off: Decimal | None = None
    percent_off: Decimal | None = None


@dataclass(frozen=True)
class OrderOffer:
    """Full reduction or order discount on the lines it covers. ``repeat`` makes the single tier count
    again for every multiple of its threshold ("every 满100减10"), up to ``max_off``."""

    key: str
    label: str
    tiers: tuple[Tier, ...]
    scope: Scope = EVERYTHING
    by_units: bool = False
    repeat: bool = False
    max_off: Decimal | None = None
    with_coupons: bool = True

    def discount(self, base_cents: int, units: int) -> int:
        return _tiered(self.tiers, base_cents, units if self.by_units else None, self.repeat, self.max_off)


@dataclass(frozen=True)
class CouponOffer:
    """A coupon the customer holds: from ``threshold`` on, ``amount_off`` or ``percent_off`` (at most ``max_off``)."""

    key: str
    label: str
    threshold: Decimal = Decimal(0)
    amount_off: Decimal | None = None
    percent_off: Decimal | None = None
    max_off: Decimal | None = None
    scope: Scope = EVERYTHING

    def discount(self, base_cents: int) -> int:
        tier = Tier(self.threshold, self.amount_off, self.percent_off)
        return _tiered((tier,), base_cents, None, False, self.max_off)


def _tiered(tiers: Sequence[Tier], base_cents: int, units: int | None, repeat: bool, max_off: Decimal | None) -> int:
    """The best tier reached by the base (or by ``units`` for offers counted in units), applied to
    ``base_cents``; never above the base."""
    best = 0
    measure = base_cents if units is None else units
    for tier in tiers:
        threshold = to_cents(tier.threshold) if units is None else int(tier.threshold)
        if measure < threshold or base_cents <= 0:
            continue
        if tier.percent_off is not None:
            off = percent_of(base_cents, tier.percent_off)
        else:
            times = measure // threshold if repeat and threshold > 0 else 1
            off = times * to_cents(tier.amount_off or Decimal(0))
        best = max(best, off)
    if max_off is not None:
        best = min(best, to_cents(max_off))
    return min(best, base_cents)


@dataclass(frozen=True)
class Adjustment:
    key: str
    label: str
    layer: Layer
    amount: Decimal


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: Decimal
    gross: Decimal
    adjustments: tuple[Adjustment, ...]
    total: Decimal


@dataclass(frozen=True)
class Quote:
    lines: tuple[PricedLine, ...]
    gross: Decimal
    discount: Decimal
    total: Decimal
    applied: tuple[Adjustment, ...]  # one an offer, its whole discount, in layer order


# ---------------------------------------------------------------------------------------------
# The search


@dataclass(frozen=True)
class _Option:
    """One item-level choice for one line: no offer (``offer`` None), a unit-price offer with its
    known reduction, or a share in a multi-line offer (BXGY, bundle) whose reduction depends on the group."""

    offer: ItemOffer | None
    reduction: int = 0  # cents; for multi-line offers an upper bound until the group is known

    @property
    def multi(self) -> bool:
        return isinstance(self.offer, BuyXGetY | Bundle)

    @property
    def counts_for_order(self) -> bool:
        return self.offer is None or self.offer.with_order_offers

    @property
    def counts_for_coupon(self) -> bool:
        return self.offer is None or self.offer.with_coupons


@dataclass
class _Cart:
    lines: tuple[CartLine, ...]
    unit_cents: tuple[int, ...]
    gross: tuple[int, ...]
    options: tuple[tuple[_Option, ...], ...]
    orders: tuple[OrderOffer, ...]
    coupons: tuple[CouponOffer, ...]
    order_lines: tuple[frozenset[int], ...]  # lines each order offer covers
    coupon_lines: tuple[frozenset[int], ...]
    _groups: dict[tuple[str, tuple[int, ...]], dict[int, int]] = field(default_factory=dict)

    def group_reductions(self, offer: BuyXGetY | Bundle, members: tuple[int, ...]) -> dict[int, int]:
        """Cents off each member line when ``offer`` takes exactly those lines (cached: many leaves share it)."""
        key = (offer.key, members)
        if key not in self._groups:
            if isinstance(offer, BuyXGetY):
                self._groups[key] = _bxgy_reductions(offer, members, self.unit_cents, self.lines)
            else:
                self._groups[key] = _bundle_reductions(offer, members, self.unit_cents, self.lines)
        return self._groups[key]


def _bxgy_reductions(
    offer: BuyXGetY, members: tuple[int, ...], unit_cents: Sequence[int], lines: Sequence[CartLine]
) -> dict[int, int]:
    units = sorted(((unit_cents[i], i) for i in members for _ in range(lines[i].quantity)), key=lambda u: (-u[0], u[1]))
    size = offer.buy + offer.get
    reductions = dict.fromkeys(members, 0)
    for start in range(0, len(units) - size + 1, size):
        for price, index in units[start + offer.buy : start + size]:
            reductions[index] += percent_of(price, offer.percent_off)
    return reductions


def _bundle_reductions(
    offer: Bundle, members: tuple[int, ...], unit_cents: Sequence[int], lines: Sequence[CartLine]
) -> dict[int, int]:
    by_sku = {lines[i].sku: i for i in members}
    reductions = dict.fromkeys(members, 0)
    if any(sku not in by_sku for sku, _ in offer.components):
        return reductions
    sets = min(lines[by_sku[sku]].quantity // units for sku, units in offer.components)
    values = {by_sku[sku]: units * unit_cents[by_sku[sku]] for sku, units in offer.components}
    saving = sets * (sum(values.values()) - to_cents(offer.price))
    if sets <= 0 or saving <= 0:
        return reductions
    for index, share in zip(values, _split(saving, list(values.values())), strict=True):
        reductions[index] = share
    return reductions


def _split(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` cents shared in proportion to ``weights``, largest remainders first, summing exactly."""
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def _prepare(
    lines: Sequence[CartLine],
    item_offers: Iterable[ItemOffer],
    order_offers: Iterable[OrderOffer],
    coupons: Iterable[CouponOffer],
) -> _Cart:
    unit_cents = tuple(to_cents(line.unit_price) for line in lines)
    gross = tuple(u * line.quantity for u, line in zip(unit_cents, lines, strict=True))
    items = sorted(item_offers, key=lambda o: o.key)
    options = tuple(_line_options(i, line, unit_cents[i], gross[i], items) for i, line in enumerate(lines))
    orders = tuple(sorted(order_offers, key=lambda o: o.key))
    held = tuple(sorted(coupons, key=lambda c: c.key))
    return _Cart(
        lines=tuple(lines),
        unit_cents=unit_cents,
        gross=gross,
        options=options,
        orders=orders,
        coupons=held,
        order_lines=tuple(frozenset(i for i, line in enumerate(lines) if o.scope.covers(line)) for o in orders),
        coupon_lines=tuple(frozenset(i for i, line in enumerate(lines) if c.scope.covers(line)) for c in held),
    )


def _line_options(index: int, line: CartLine, unit: int, gross: int, items: Sequence[ItemOffer]) -> tuple[_Option, ...]:
    """The choices for one line: none, then each offer that can lower it; a unit-price offer
    identical in effect to an earlier one (same cents, same stacking) is dropped, keeping the smaller key."""
    options = [_Option(None)]
    seen: set[tuple[int, bool, bool]] = set()
    for offer in items:
        if not offer.scope.covers(line):
            continue
        if isinstance(offer, UnitPrice):
            units = line.quantity if offer.max_units is None else min(line.quantity, offer.max_units)
            reduction = offer.unit_reduction(unit) * units
            signature = (reduction, offer.with_order_offers, offer.with_coupons)
            if reduction <= 0 or signature in seen:
                continue
            seen.add(signature)
            options.append(_Option(offer, reduction))
        elif isinstance(offer, BuyXGetY):
            options.append(_Option(offer, percent_of(gross, offer.percent_off)))
        else:
            options.append(_Option(offer, gross))
    return tuple(options)


@dataclass(frozen=True)
class _Schedule:
    """An order offer's or a coupon's tiers compiled to integers (thresholds in cents, or units for
    offers counted in units; percentages as exact ratios), for the search's inner loop."""

    tiers: tuple[tuple[int, int, tuple[int, int] | None], ...]  # threshold, cents off, percent ratio
    by_units: bool
    repeat: bool
    max_off: int | None

    @classmethod
    def of(cls, tiers: Sequence[Tier], by_units: bool, repeat: bool, max_off: Decimal | None) -> _Schedule:
        return cls(
            tuple(
                (
                    int(t.threshold) if by_units else to_cents(t.threshold),
                    to_cents(t.amount_off or Decimal(0)),
                    None if t.percent_off is None else t.percent_off.as_integer_ratio(),
                )
                for t in tiers
            ),
            by_units,
            repeat,
            None if max_off is None else to_cents(max_off),
        )

    def discount(self, base: int, units: int) -> int:
        """The same as ``_tiered``, in integers."""
        if base <= 0:
            return 0
        measure = units if self.by_units else base
        best = 0
        for threshold, amount, ratio in self.tiers:
            if measure < threshold:
                continue
            if ratio is not None:
                off = (2 * base * ratio[0] + 100 * ratio[1]) // (200 * ratio[1])
            else:
                off = (measure // threshold if self.repeat and threshold > 0 else 1) * amount
            best = max(best, off)
        if self.max_off is not None:
            best = min(best, self.max_off)
        return min(best, base)

    def discounts(self, bases: _Array, units: _Array | int) -> _Array:
        """``discount`` for many bases (and unit counts) at once."""
        measure = units if self.by_units else bases
        best = np.zeros(np.broadcast_shapes(np.shape(bases), np.shape(units)), dtype=np.int64)
        for threshold, amount, ratio in self.tiers:
            off: _Array
            if ratio is not None:
                off = (2 * bases * ratio[0] + 100 * ratio[1]) // (200 * ratio[1])
            elif self.repeat and threshold > 0:
                off = np.asarray(measure // threshold, dtype=np.int64) * amount
            else:
                off = np.full_like(best, amount)
            best = np.maximum(best, np.where(measure >= threshold, off, 0))
        if self.max_off is not None:
            best = np.minimum(best, self.max_off)
        return np.where(bases > 0, np.minimum(best, bases), 0)

    def steepest(self) -> Fraction | None:
        """The most the discount can grow per cent of base when it grows without jumps (every tier a
        percentage, counted from any amount: by units, or from zero), else None."""
        steepest = Fraction(0)
        for threshold, _, ratio in self.tiers:
            if ratio is None or (threshold > 0 and not self.by_units):
                return None
            steepest = max(steepest, Fraction(ratio[0], 100 * ratio[1]))
        return steepest

    def caps(self) -> tuple[int | None, int | None]:
        """(measure, base) beyond which the discount no longer changes; None where it keeps growing.
        The search keeps its bases saturated at these points, which keeps its states few."""
        measure_cap: int | None = 0
        base_cap: int | None = 0
        limit = self.max_off
        for threshold, amount, ratio in self.tiers:
            measure_cap = None if measure_cap is None else max(measure_cap, threshold)
            if ratio is not None and ratio[0] > 0:
                # past M * 100 / percent the percentage reaches the cap M
                grown = None if limit is None else max(limit, -(-limit * 100 * ratio[1] // ratio[0]))
            elif ratio is None and amount > 0 and self.repeat and threshold > 0:
                grown = limit
                times = None if limit is None else -(-limit // amount) * threshold
                measure_cap = None if measure_cap is None or times is None else max(measure_cap, times)
            else:
                grown = amount if limit is None else min(amount, limit)
            base_cap = None if base_cap is None or grown is None else max(base_cap, grown)
        if self.by_units:
            return measure_cap, base_cap
        if measure_cap is None or base_cap is None:
            return None, None
        return 0, max(measure_cap, base_cap)


@lru_cache(maxsize=4096)
def _order_schedule(offer: OrderOffer) -> _Schedule:
    """Compiled once per offer and process: the same running offers price every cart."""
    return _Schedule.of(offer.tiers, offer.by_units, offer.repeat, offer.max_off)


@lru_cache(maxsize=4096)
def _coupon_schedule(coupon: CouponOffer) -> _Schedule:
    return _Schedule.of((Tier(coupon.threshold, coupon.amount_off, coupon.percent_off),), False, False, coupon.max_off)


def _saturate(value: int, cap: int | None) -> int:
    return value if cap is None or value < cap else cap


@dataclass(frozen=True)
class _Choice:
    """A full combination: an option a line (multi-line offers with their group's reductions), the
    order offer and the coupon that give something (indexes, or None), and the total discount."""

    picks: tuple[_Option, ...]
    order: int | None
    coupon: int | None
    discount: int
    rank: tuple[int, int, int, int]  # (-discount, offers, plan, pair): the smallest wins


class _Layers:
    """One order offer (or none) with one coupon (or none): the order-level and coupon discount for
    the bases the lines give them, and the saturation points of those bases.

    A coupon never takes more than its lines' amount after item level minus the whole order-level
    discount, which is always allocatable and keeps the total rising with every base."""

    def __init__(self, cart: _Cart, order: int | None, coupon: int | None) -> None:
        self.order, self.coupon = order, coupon
        self.bounds: dict[tuple[int, ...], int] = {}  # _pair_bound's answers by the reductions' sums
        self._grid: tuple[_Array, _Array, _Array] | None = None
        self.order_schedule = None if order is None else _order_schedule(cart.orders[order])
        self.coupon_schedule = None if coupon is None else _coupon_schedule(cart.coupons[coupon])
        slopes = [None if s is None else s.steepest() for s in (self.order_schedule, self.coupon_schedule)]
        # percentages only, together at most the whole: the total never falls as a reduction grows
        self.percent_only = None not in slopes and sum(slope or 0 for slope in slopes) <= 1
        # for _separable_bound: the ways each layer can be bounded (its steepest share, or its cap)
        self.percent_terms: tuple[list[tuple[float, float]], list[tuple[float, float]]] | None = None
        if None not in slopes:
            terms = []
            for schedule, slope in zip((self.order_schedule, self.coupon_schedule), slopes, strict=True):
                ways = [(0.0, 0.0)] if schedule is None else [(float(slope or 0), 0.5)]
                if schedule is not None and schedule.max_off is not None:
                    ways.append((0.0, float(schedule.max_off)))
                terms.append(ways)
            self.percent_terms = (terms[0], terms[1])
        self.units_cap: int | None = 0
        self.order_cap: int | None = 0
        self.coupon_cap: int | None = 0
        most_order = 0
        if order is not None and self.order_schedule is not None:
            self.units_cap, self.order_cap = self.order_schedule.caps()
            lines = cart.order_lines[order]
            most_order = self.order_schedule.discount(
                sum(cart.gross[i] for i in lines), sum(cart.lines[i].quantity for i in lines)
            )
        if self.coupon_schedule is not None:
            _, cap = self.coupon_schedule.caps()
            # above its own cap plus the most both layers take, the room rule cannot bind
            most = None if cap is None else self.coupon_schedule.discount(cap, 0)
            self.coupon_cap = None if cap is None or most is None else max(cap, most + most_order)

    def grid(self, cart: _Cart) -> tuple[_Array, _Array, _Array]:
        """For ``_pair_bound``: the room each piece of the bases leaves the reductions (order pieces
        down, coupon pieces across) and the layers' discount at the top of each piece."""
        if self._grid is None:
            order_lines = frozenset() if self.order is None else cart.order_lines[self.order]
            coupon_lines = frozenset() if self.coupon is None else cart.coupon_lines[self.coupon]
            order_base = sum(cart.gross[i] for i in order_lines)
            units = sum(cart.lines[i].quantity for i in order_lines)
            coupon_base = sum(cart.gross[i] for i in coupon_lines)
            order_low, order_high = _pieces(self.order_schedule, order_base)
            coupon_low, coupon_high = _pieces(self.coupon_schedule, coupon_base)
            self._grid = (
                order_base - order_low[:, None],
                coupon_base - coupon_low[None, :],
                _layers_off(self, order_high[:, None], units, coupon_high[None, :]),
            )
        return self._grid

    @property
    def caps(self) -> tuple[int | None, int | None, int | None]:
        return self.order_cap, self.units_cap, self.coupon_cap

    def key(self, order_base: int, units: int, coupon_base: int) -> tuple[int, int, int]:
        return (
            _saturate(order_base, self.order_cap),
            _saturate(units, self.units_cap),
            _saturate(coupon_base, self.coupon_cap),
        )

    def split(self, key: tuple[int, int, int]) -> tuple[int, int]:
        """(order-level discount, coupon discount) for saturated bases."""
        order_off = 0 if self.order_schedule is None else self.order_schedule.discount(key[0], key[1])
        if self.coupon_schedule is None:
            return order_off, 0
        coupon_off = min(self.coupon_schedule.discount(key[2], 0), key[2] - order_off)
        return order_off, max(0, coupon_off)


def _pairs(cart: _Cart) -> list[tuple[int | None, int | None]]:
    """Every order offer (or none) with every coupon (or none) its stacking rule allows; of offers
    identical in effect on this cart only the one with the smallest key is tried."""
    orders: list[int] = []
    seen_orders: set[tuple[object, ...]] = set()
    for o, offer in enumerate(cart.orders):
        signature = (cart.order_lines[o], _order_schedule(offer), offer.with_coupons)
        if signature not in seen_orders:
            seen_orders.add(signature)
            orders.append(o)
    coupons: list[int] = []
    seen_coupons: set[tuple[object, ...]] = set()
    for c, coupon in enumerate(cart.coupons):
        effect = (cart.coupon_lines[c], _coupon_schedule(coupon))
        if effect not in seen_coupons:
            seen_coupons.add(effect)
            coupons.append(c)
    pairs: list[tuple[int | None, int | None]] = [(None, None), *((None, c) for c in coupons)]
    for o in orders:
        pairs.append((o, None))
        if cart.orders[o].with_coupons:
            pairs.extend((o, c) for c in coupons)
    return pairs


def _plans(cart: _Cart) -> list[dict[int, _Option]]:
    """Every way of putting lines into multi-line offers (BXGY, bundles): each offer takes none or a
    group of its lines that gains something, the groups disjoint. The other lines choose among unit
    prices or nothing."""
    eligible: dict[str, tuple[BuyXGetY | Bundle, list[int]]] = {}
    for index, options in enumerate(cart.options):
        for option in options:
            if isinstance(option.offer, BuyXGetY | Bundle):
                eligible.setdefault(option.offer.key, (option.offer, []))[1].append(index)
    groups: list[list[dict[int, _Option]]] = []
    for key in sorted(eligible):
        offer, members = eligible[key]
        found = []
        for size in range(1, len(members) + 1):
            for chosen in combinations(members, size):
                reductions = cart.group_reductions(offer, chosen)
                if sum(reductions.values()) > 0:
                    found.append({i: _Option(offer, reductions[i]) for i in chosen})
        if found:
            groups.append(found)
    plans: list[dict[int, _Option]] = []

    def walk(index: int, taken: dict[int, _Option]) -> None:
        if index == len(groups):
            plans.append(taken)
            return
        walk(index + 1, taken)
        for group in groups[index]:
            if not taken.keys() & group.keys():
                walk(index + 1, taken | group)

    walk(0, {})
    return plans


_Step = tuple[int, int, int, int, int]  # cents off, order base, units, coupon base, offers (0 or 1)
_Trail = tuple["_Trail", int] | None  # the options chosen so far, last first
_Key = tuple[int, int, int]  # saturated order base, units, coupon base
_State = tuple[int, int, _Trail]  # cents off so far, offers so far, options chosen


def _steps(cart: _Cart, choices: Sequence[Sequence[_Option]], layers: _Layers) -> list[list[_Step]]:
    """Each line's options as what they add: reduction, order base, units, coupon base, an offer."""
    steps: list[list[_Step]] = []
    for index, options in enumerate(choices):
        in_order = layers.order is not None and index in cart.order_lines[layers.order]
        in_coupon = layers.coupon is not None and index in cart.coupon_lines[layers.coupon]
        quantity, gross = cart.lines[index].quantity, cart.gross[index]
        line_steps = []
        for option in options:
            left = gross - option.reduction
            counted = in_order and option.counts_for_order
            line_steps.append(
                (
                    option.reduction,
                    left if counted else 0,
                    quantity if counted else 0,
                    left if in_coupon and option.counts_for_coupon else 0,
                    0 if option.offer is None else 1,
                )
            )
        steps.append(line_steps)
    return steps


def _undominated(states: dict[_Key, _State]) -> dict[_Key, _State]:
    """Drops each state another beats on every count: an order base as large, the same units and coupon
    base, and at least as much off (with no more offers when equal); every layer's discount rises with
    its base, so the dropped state can never end ahead."""
    kept: dict[_Key, _State] = {}
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for key, state in sorted(states.items(), key=lambda item: (-item[0][0], -item[1][0], item[1][1])):
        others = (key[1], key[2])
        value = (state[0], -state[1])
        if others in best and value <= best[others]:
            continue
        best[others] = value
        kept[key] = state
    return kept


def _solve(steps: Sequence[Sequence[_Step]], layers: _Layers, floor: int) -> tuple[int, int, list[int]] | None:
    """The best (discount, offers, option a line) for one plan and one pair of layers, or None when
    nothing reaches ``floor``: a dynamic programme over the lines whose state is the saturated bases,
    cutting each state that cannot reach ``floor`` by the bound of ``_pair_bound`` for the lines left."""
    rest = _Rest.of(steps)
    order_top, coupon_top = rest.order_base[0], rest.coupon_base[0]
    order_low, order_high = _pieces(layers.order_schedule, order_top, grid=_STATE_GRID)
    coupon_low, coupon_high = _pieces(layers.coupon_schedule, coupon_top, grid=_STATE_GRID)
    layer_off = _layers_off(layers, order_high[:, None], rest.units[0], coupon_high[None, :])
    states: dict[_Key, _State] = {(0, 0, 0): (0, 0, None)}
    unbounded = 1 << 62
    order_cap, units_cap, coupon_cap = (unbounded if cap is None else cap for cap in layers.caps)
    for index, line_steps in enumerate(steps):
        grown: dict[_Key, _State] = {}
        for (order_base, units, coupon_base), (off, offers, trail) in states.items():
            for choice, (cut, to_order, to_units, to_coupon, offer) in enumerate(line_steps):
                key = (
                    min(order_base + to_order, order_cap),
                    min(units + to_units, units_cap),
                    min(coupon_base + to_coupon, coupon_cap),
                )
                held = grown.get(key)
                if held is None or off + cut > held[0] or (off + cut == held[0] and offers + offer < held[1]):
                    grown[key] = (off + cut, offers + offer, (trail, choice))
        kept = _undominated(grown)
        if not kept:
            return None
        keys = np.array(list(kept), dtype=np.int64).reshape(-1, 3)
        offs = np.array([state[0] for state in kept.values()], dtype=np.int64)
        # a saturated base reaches the top whatever the rest take: its room is unbounded
        order_room = np.where(keys[:, 0] >= order_cap, unbounded, keys[:, 0] + rest.order_base[index + 1])
        coupon_room = np.where(keys[:, 2] >= coupon_cap, unbounded, keys[:, 2] + rest.coupon_base[index + 1])
        reach = _most_reduction(
            rest.most[index + 1],
            order_room[:, None, None] - order_low[None, :, None],
            coupon_room[:, None, None] - coupon_low[None, None, :],
        )
        bounds = (offs + (reach + layer_off[None, :, :]).reshape(len(offs), -1).max(axis=1)).tolist()
        states = {key: state for (key, state), bound in zip(kept.items(), bounds, strict=True) if bound >= floor}
    best: tuple[int, int, _Trail] | None = None
    for key, (off, offers, trail) in states.items():
        order_off, coupon_off = layers.split(key)
        total = off + order_off + coupon_off
        offers += (order_off > 0) + (coupon_off > 0)
        if best is None or total > best[0] or (total == best[0] and offers < best[1]):
            best = (total, offers, trail)
    if best is None:
        return None
    picked: list[int] = []
    trail = best[2]
    while trail is not None:
        trail, choice = trail
        picked.append(choice)
    return best[0], best[1], picked[::-1]


@dataclass(frozen=True)
class _Rest:
    """For the lines from each index on: their largest reductions summed by whether a reduction lowers
    the order base and the coupon base by as much (``_most_reduction``'s groups), and the largest
    order base and coupon base and the units they can give."""

    most: list[dict[tuple[bool, bool], int]]
    order_base: list[int]
    coupon_base: list[int]
    units: list[int]

    @classmethod
    def of(cls, steps: Sequence[Sequence[_Step]]) -> _Rest:
        empty = {(a, b): 0 for a in (False, True) for b in (False, True)}
        most, order_base, coupon_base, units = [empty], [0], [0], [0]
        for line in reversed(steps):
            top_order, top_coupon = max(s[1] for s in line), max(s[3] for s in line)
            linked = (
                all(s[1] + s[0] <= top_order for s in line),
                all(s[3] + s[0] <= top_coupon for s in line),
            )
            grown = dict(most[-1])
            grown[linked] += max(s[0] for s in line)
            most.append(grown)
            order_base.append(order_base[-1] + top_order)
            coupon_base.append(coupon_base[-1] + top_coupon)
            units.append(units[-1] + max(s[2] for s in line))
        return cls(most[::-1], order_base[::-1], coupon_base[::-1], units[::-1])


def _layers_off(layers: _Layers, order_base: _Array, units: int, coupon_base: _Array) -> _Array:
    """``_Layers.split`` summed, for many bases at once."""
    order_off: _Array = np.zeros_like(order_base)
    if layers.order_schedule is not None:
        order_off = layers.order_schedule.discounts(order_base, units)
    if layers.coupon_schedule is None:
        return order_off + np.zeros_like(coupon_base)
    coupon_off = np.minimum(layers.coupon_schedule.discounts(coupon_base, 0), coupon_base - order_off)
    return order_off + np.maximum(0, coupon_off)


class _Plans:
    """The plans (``_plans``) with what the search asks of each: the most its lines' reductions can
    come to (in all and line by line) and each line's choices under it, built when first asked."""

    def __init__(self, cart: _Cart, plans: list[dict[int, _Option]]) -> None:
        self.cart, self.plans = cart, plans
        self.unit_most = [max((o.reduction for o in options if not o.multi), default=0) for options in cart.options]
        total = sum(self.unit_most)
        self.most = [total + sum(o.reduction - self.unit_most[i] for i, o in plan.items()) for plan in plans]
        self.line_most = list(self.unit_most)  # over every plan
        for plan in plans:
            for i, option in plan.items():
                self.line_most[i] = max(self.line_most[i], option.reduction)
        self._choices: dict[int, list[tuple[_Option, ...]]] = {}

    @classmethod
    def of(cls, cart: _Cart) -> _Plans:
        return cls(cart, _plans(cart))

    def __len__(self) -> int:
        return len(self.plans)

    def line_most_of(self, index: int) -> list[int]:
        plan = self.plans[index]
        return [plan[i].reduction if i in plan else most for i, most in enumerate(self.unit_most)]

    def choices(self, index: int) -> list[tuple[_Option, ...]]:
        """Each line's choices under a plan: its share in the plan's group, or a unit price or nothing."""
        if index not in self._choices:
            plan = self.plans[index]
            self._choices[index] = [
                (plan[i],) if i in plan else tuple(o for o in options if not o.multi)
                for i, options in enumerate(self.cart.options)
            ]
        return self._choices[index]


def _search(cart: _Cart) -> _Choice:
    """The best combination over every way of grouping lines into multi-line offers (plans) and every
    allowed (order offer, coupon) pair, most promising first: a plan and pair is skipped once its
    ceiling (the plan's largest item reductions plus the pair's discount on whole list prices) falls
    below the best found. Each is solved by ``_best_for``: achievable sums (``_by_sums``), branching
    on the lines whose choices do not all count toward the layers covering them, and the dynamic
    programme (``_solve``) only when the sums are too many. Ties go to fewer offers, then to the
    first plan and pair in a fixed order (no multi-line offer first, offers by key; no order offer and
    no coupon first, then by key)."""
    plans = _Plans.of(cart)
    pairs = _pairs(cart)
    layers = [_Layers(cart, o, c) for o, c in pairs]
    plan_most, line_most = plans.most, plans.line_most
    # ceilings tightened lazily, most promising first: the plan's reductions plus the pair's discount
    # on list prices, then the pair's bound over every plan, then the bound for this plan
    pair_bounds: dict[int, int] = {}
    tops = [_layers_top(cart, pair_layers) for pair_layers in layers]
    # each plan's pairs enter one at a time, richest first, so that the heap stays as small as the plans
    by_top = sorted(range(len(layers)), key=lambda q: (-tops[q], q))
    next_pair = {q: by_top[i + 1] for i, q in enumerate(by_top[:-1])}
    candidates = [(-(plan_most[p] + tops[by_top[0]]), p, by_top[0], 0) for p in range(len(plans))]
    heapq.heapify(candidates)
    sums: _SumsCache = {}
    best: _Choice | None = None
    while candidates:
        ceiling, plan_index, pair_index, stage = heapq.heappop(candidates)
        if best is not None and -ceiling < best.discount:
            break
        if stage < 2:
            if stage == 0:
                if pair_index in next_pair:
                    following = next_pair[pair_index]
                    heapq.heappush(candidates, (-(plan_most[plan_index] + tops[following]), plan_index, following, 0))
                if pair_index not in pair_bounds:
                    pair_bounds[pair_index] = _pair_bound(cart, layers[pair_index], line_most)
                tighter = pair_bounds[pair_index]
            else:
                tighter = _pair_bound(cart, layers[pair_index], plans.line_most_of(plan_index))
            heapq.heappush(
                candidates, (max(ceiling, -tighter), plan_index, pair_index, stage + 1 if len(plans) > 1 else 2)
            )
            continue
        choices, pair_layers = plans.choices(plan_index), layers[pair_index]
        floor = 0 if best is None else best.discount
        found = _best_for(cart, choices, pair_layers, _cover(cart, pair_layers), sums, floor)
        if found is None:
            continue
        total, picks = found
        order_off, coupon_off = pair_layers.split(_final_key(cart, picks, pair_layers))
        offers = sum(p.offer is not None for p in picks) + (order_off > 0) + (coupon_off > 0)
        rank = (-total, offers, plan_index, pair_index)
        if best is None or rank < best.rank:
            best = _Choice(
                picks,
                pair_layers.order if order_off > 0 else None,
                pair_layers.coupon if coupon_off > 0 else None,
                total,
                rank,
            )
    assert best is not None  # no offer at all is always a combination
    return best


def _layers_top(cart: _Cart, layers: _Layers) -> int:
    """The pair's discount on the list prices of every line it covers: the most it can take."""
    order_lines = frozenset() if layers.order is None else cart.order_lines[layers.order]
    coupon_lines = frozenset() if layers.coupon is None else cart.coupon_lines[layers.coupon]
    return sum(
        layers.split(
            (
                sum(cart.gross[i] for i in order_lines),
                sum(cart.lines[i].quantity for i in order_lines),
                sum(cart.gross[i] for i in coupon_lines),
            )
        )
    )


def _pair_bound(cart: _Cart, layers: _Layers, line_most: Sequence[int]) -> int:
    """The most a pair of layers and any item-level choices can take together, cheaply: the layers'
    bases are cut into pieces at the points where their discount changes, and in each piece the
    reductions may only go as far as keep the bases in it (a base is at most its lines' list prices
    less their reductions), with the layers' discount at the top of the piece (it rises with each base)."""
    order_lines = frozenset() if layers.order is None else cart.order_lines[layers.order]
    coupon_lines = frozenset() if layers.coupon is None else cart.coupon_lines[layers.coupon]
    most = {(a, b): 0 for a in (False, True) for b in (False, True)}
    for index, cut in enumerate(line_most):
        most[(index in order_lines, index in coupon_lines)] += cut
    key = tuple(most.values())
    if key not in layers.bounds:
        if layers.percent_only:
            layers.bounds[key] = _percent_bound(cart, layers, _cover(cart, layers), line_most)
        else:
            order_room, coupon_room, layer_off = layers.grid(cart)
            reach = _most_reduction(most, order_room, coupon_room)
            layers.bounds[key] = int((reach + layer_off).max())
    return layers.bounds[key]


def _percent_bound(cart: _Cart, layers: _Layers, cover: _Cover, line_most: Sequence[int]) -> int:
    """``_pair_bound`` in closed form when both layers are percentages taking together at most the
    whole (``_Layers.percent_only``): each cent a line's reduction falls short of its largest raises
    the layers' discount by at most the percentages' sum (plus a cent a layer for rounding), so the
    total is at most every line at its largest reduction, priced once. ``cover`` says which layers'
    bases each line is in."""
    order_base = coupon_base = units = 0
    for index, (in_order, in_coupon) in enumerate(cover):
        left = cart.gross[index] - line_most[index]
        if in_order:
            order_base += left
            units += cart.lines[index].quantity
        if in_coupon:
            coupon_base += left
    bound = sum(line_most)
    for schedule, base in ((layers.order_schedule, order_base), (layers.coupon_schedule, coupon_base)):
        if schedule is not None:
            bound += schedule.discount(base, units) + 1
    return bound


def _separable_bound(cart: _Cart, layers: _Layers, choices: Sequence[Sequence[_Option]], cover: _Cover) -> int:
    """With percentage layers (no jumps: ``_Schedule.steepest``), the most one plan and pair can take,
    line by line. A layer takes at most its steepest share of its base (plus half a cent of rounding),
    or at most its cap; either way the total is a sum over the lines, so each line's best choice
    bounds it, stacking rules included (a choice kept out of a layer adds nothing to it). The least
    of these bounds, in floats with a cent to spare each way."""
    assert layers.percent_terms is not None
    order_ways, coupon_ways = layers.percent_terms
    least = float("inf")
    for order_share, order_fixed in order_ways:
        for coupon_share, coupon_fixed in coupon_ways:
            total = order_fixed + coupon_fixed
            for index, options in enumerate(choices):
                in_order, in_coupon = cover[index]
                gross = cart.gross[index]
                total += max(
                    option.reduction
                    + (gross - option.reduction)
                    * (
                        (order_share if in_order and option.counts_for_order else 0.0)
                        + (coupon_share if in_coupon and option.counts_for_coupon else 0.0)
                    )
                    for option in options
                )
            least = min(least, total)
    return int(least) + 2


_GRID = 16  # pieces a percentage's base is cut into for a pair's bound
_STATE_GRID = 16  # and for each state in the programme


def _pieces(schedule: _Schedule | None, base: int, *, grid: int = _GRID) -> tuple[_Array, _Array]:
    """[low, high] pieces covering 0..base, cut where ``schedule``'s discount jumps (its thresholds,
    each multiple of a repeating one) and, for percentages, on an even grid and where the cap is met."""
    if schedule is None or base <= 0:
        return np.zeros(1, dtype=np.int64), np.full(1, max(base, 0), dtype=np.int64)
    points = {0}
    flat_from = base  # past the cap a percentage no longer grows
    percent = False
    for threshold, amount, ratio in schedule.tiers:
        if not schedule.by_units and 0 < threshold <= base:
            points.add(threshold)
            if schedule.repeat and ratio is None and amount > 0:
                points.update(range(threshold, min(base, threshold * 64) + 1, threshold))
        if ratio is not None and ratio[0] > 0:
            percent = True
            if schedule.max_off is not None:
                flat_from = min(flat_from, -(-schedule.max_off * 100 * ratio[1] // ratio[0]))
    if percent:
        points.add(flat_from)
        points.update(range(0, flat_from, max(1, flat_from // grid)))
    ordered = np.array(sorted(points), dtype=np.int64)
    return ordered, np.append(ordered[1:] - 1, base)


def _most_reduction(most: dict[tuple[bool, bool], int], order_room: _Array, coupon_room: _Array) -> _Array:
    """The largest total reduction when the lines covered by the order offer may take at most
    ``order_room`` and those covered by the coupon at most ``coupon_room`` (minus infinity where a room
    is negative); ``most`` is the largest a line can take, summed by (covered by the order offer,
    covered by the coupon). Over the reduction shared by both, the total is concave: its best is at an
    end or where one side's own lines fill their room."""
    both, order_only, coupon_only = most[(True, True)], most[(True, False)], most[(False, True)]
    top = np.minimum(np.minimum(order_room, coupon_room), both)
    best = np.zeros(np.broadcast_shapes(order_room.shape, coupon_room.shape), dtype=np.int64)
    for shared in (np.zeros_like(best), top, order_room - order_only, coupon_room - coupon_only):
        shared = np.minimum(np.maximum(shared, 0), np.maximum(top, 0))
        total = shared + np.minimum(order_only, order_room - shared) + np.minimum(coupon_only, coupon_room - shared)
        best = np.maximum(best, total)
    return np.where((order_room < 0) | (coupon_room < 0), -(1 << 62), best + most[(False, False)])


_SUMS_LIMIT = 400_000  # combinations of achievable sums evaluated at once; beyond it the programme runs


_Cover = tuple[tuple[bool, bool], ...]  # a line a pair: (the order offer covers it, the coupon covers it)


def _cover(cart: _Cart, layers: _Layers) -> _Cover:
    order_lines = frozenset() if layers.order is None else cart.order_lines[layers.order]
    coupon_lines = frozenset() if layers.coupon is None else cart.coupon_lines[layers.coupon]
    return tuple((i in order_lines, i in coupon_lines) for i in range(len(cart.lines)))


def _best_for(
    cart: _Cart,
    choices: Sequence[Sequence[_Option]],
    layers: _Layers,
    cover: _Cover,
    sums: _SumsCache,
    floor: int,
) -> tuple[int, tuple[_Option, ...]] | None:
    """The best total and option a line for one plan and pair, or None when it cannot be shown to
    reach ``floor``. Achievable sums (``_by_sums``) solve it exactly when every choice counts toward
    each layer covering its line. A choice that does not (特价 kept out of 满减) takes its line out of
    that layer's base: the search branches on one such line at a time, one branch per way its choices
    count (the line then in the bases of the layers it counts toward), pruned by the relaxation that
    lets every choice count. When the sums are too many, the dynamic programme (``_solve``) answers.
    Before any sums are priced, a plan or branch that cannot reach ``floor`` is dropped: by the closed
    form of ``_separable_bound`` when the layers allow it, else by the relaxation priced first."""
    if layers.percent_terms is not None and floor > 0 and _separable_bound(cart, layers, choices, cover) < floor:
        return None
    modes = _modes(choices, cover)
    relaxed = None
    if any(len(line_modes) > 1 for line_modes in modes):
        relaxed = _by_sums(cart, choices, layers, sums, cover=cover, exact=False)
        if relaxed is not None and relaxed[0] < floor:
            return None  # not even the relaxation reaches the best found: nothing here can
    found = _by_sums(cart, choices, layers, sums, cover=cover, exact=True)
    if found is None or (found[2] and relaxed is None):
        solved = _solve(_steps(cart, choices, layers), layers, max(floor, 0))
        return None if solved is None else (solved[0], tuple(choices[i][p] for i, p in enumerate(solved[2])))
    best = (found[0], tuple(choices[i][p] for i, p in enumerate(found[1])))
    if relaxed is None or relaxed[0] <= max(floor, best[0]):
        return best
    index, line_modes = next((i, line_modes) for i, line_modes in enumerate(modes) if len(line_modes) > 1)
    for mode in sorted(line_modes, reverse=True):  # counting toward the most layers first
        narrowed = list(choices)
        narrowed[index] = line_modes[mode]
        line_cover = list(cover)
        line_cover[index] = mode
        branch = _best_for(cart, narrowed, layers, tuple(line_cover), sums, max(floor, best[0]))
        if branch is not None and branch[0] > best[0]:
            best = branch
    return best


def _modes(choices: Sequence[Sequence[_Option]], cover: _Cover) -> list[dict[tuple[bool, bool], tuple[_Option, ...]]]:
    """Each line's choices by the covering layers they count toward."""
    found = []
    for options, (in_order, in_coupon) in zip(choices, cover, strict=True):
        modes: dict[tuple[bool, bool], tuple[_Option, ...]] = {}
        for option in options:
            mode = (in_order and option.counts_for_order, in_coupon and option.counts_for_coupon)
            modes[mode] = (*modes.get(mode, ()), option)
        found.append(modes)
    return found


def _by_sums(
    cart: _Cart,
    choices: Sequence[Sequence[_Option]],
    layers: _Layers,
    sums: _SumsCache,
    *,
    cover: _Cover,
    exact: bool,
) -> tuple[int, list[int], bool] | None:
    """The best total for one plan and pair when each line's choice lowers the bases it counts toward
    by exactly its reduction: the lines fall into groups by the layers that cover them, each group's
    achievable reductions are a bitset of sums, and every combination of sums is priced at once.

    With ``exact`` only the choices that count toward every layer covering their line are used (the
    answer is achievable; the third value says whether any choice was left out). Without it, the
    others are priced as if they counted too: an upper bound, since a base only lowers the discount.
    Returns (total, option a line, left out), or None when the combinations are too many to price."""
    picked = [0] * len(choices)
    fixed_off = order_base = units = coupon_base = 0
    groups: dict[tuple[bool, bool], list[tuple[int, tuple[int, ...]]]] = {
        (True, True): [],
        (True, False): [],
        (False, True): [],
    }
    left_out = False
    for index, options in enumerate(choices):
        in_order, in_coupon = cover[index]
        gross, quantity = cart.gross[index], cart.lines[index].quantity
        if len(options) == 1 or not (in_order or in_coupon):
            choice = max(range(len(options)), key=lambda j: (options[j].reduction, -j))
            option = options[choice]
            picked[index] = choice
            fixed_off += option.reduction
            if in_order and option.counts_for_order:
                order_base += gross - option.reduction
                units += quantity
            if in_coupon and option.counts_for_coupon:
                coupon_base += gross - option.reduction
            continue
        allowed = tuple(
            j
            for j, option in enumerate(options)
            if not exact or ((not in_order or option.counts_for_order) and (not in_coupon or option.counts_for_coupon))
        )
        left_out = left_out or len(allowed) < len(options)
        groups[(in_order, in_coupon)].append((index, allowed))
        order_base += gross if in_order else 0
        units += quantity if in_order else 0
        coupon_base += gross if in_coupon else 0
    reductions = {
        group: tuple(tuple(choices[i][j].reduction for j in allowed) for i, allowed in members)
        for group, members in groups.items()
    }
    prefixes, values = {}, {}
    for group, group_reductions in reductions.items():
        prefixes[group], values[group] = _prefix_sums(group_reductions, sums)
    both, order_only, coupon_only = values[(True, True)], values[(True, False)], values[(False, True)]
    both = _promising(both, order_only, coupon_only, (order_base, units, coupon_base), layers)
    if len(both) * len(order_only) * len(coupon_only) > _SUMS_LIMIT:
        return None
    both_off = both[:, None, None]
    order_off_items = order_only[None, :, None]
    coupon_off_items = coupon_only[None, None, :]
    bases = order_base - both_off - order_off_items
    coupon_bases = coupon_base - both_off - coupon_off_items
    order_off: _Array | int = 0
    if layers.order_schedule is not None:
        order_off = layers.order_schedule.discounts(bases, units)
    totals = fixed_off + both_off + order_off_items + coupon_off_items + order_off
    if layers.coupon_schedule is not None:
        room = coupon_bases - order_off
        totals = totals + np.maximum(0, np.minimum(layers.coupon_schedule.discounts(coupon_bases, 0), room))
    at = np.unravel_index(int(np.argmax(totals)), totals.shape)
    for group, target in zip(groups, (both[at[0]], order_only[at[1]], coupon_only[at[2]]), strict=True):
        members = groups[group]
        for (index, allowed), choice in zip(
            members, _realise(prefixes[group], reductions[group], int(target)), strict=True
        ):
            picked[index] = allowed[choice]
    return int(totals[at]), picked, left_out


def _promising(
    both: _Array, order_only: _Array, coupon_only: _Array, bases: tuple[int, int, int], layers: _Layers
) -> _Array:
    """The sums of the lines both layers cover that can still be best. As that sum rises, both layers'
    discounts can only fall (their bases fall), so in a stretch of sums none beats the stretch's largest
    sum by more than the layers' discounts at the stretch's start less those at its largest sum. A
    stretch whose largest sum plus the discounts at its start cannot beat the best of the stretches'
    largest sums (for some sum of the lines one layer alone covers) keeps only its largest sum. The
    stretches are cut on an even grid and where either base crosses a point of ``_pieces``."""
    if len(both) <= _PROMISING_FROM:
        return both
    order_base, units, coupon_base = bases
    top = int(both[-1])
    ends = np.concatenate(
        [
            np.linspace(0, top, _STRETCHES + 1, dtype=np.int64)[1:],
            (order_base - order_only[:, None] - _pieces(layers.order_schedule, order_base)[0][None, :]).ravel(),
            (coupon_base - coupon_only[:, None] - _pieces(layers.coupon_schedule, coupon_base)[0][None, :]).ravel(),
        ]
    )
    ends = np.unique(ends[(ends >= 0) & (ends <= top)])
    starts = np.concatenate([[0], ends[:-1] + 1])
    largest = both[np.maximum(np.searchsorted(both, ends, side="right") - 1, 0)]
    held = largest >= starts  # the stretch has a sum in it

    def layers_off(sums: _Array) -> _Array:
        """Both layers' discount for each sum (down) and each sum of the lines one layer alone covers."""
        order_bases = order_base - sums[:, None, None] - order_only[None, :, None]
        coupon_bases = coupon_base - sums[:, None, None] - coupon_only[None, None, :]
        order_off = np.zeros_like(order_bases)
        if layers.order_schedule is not None:
            order_off = layers.order_schedule.discounts(order_bases, units)
        coupon_off = np.zeros_like(coupon_bases)
        if layers.coupon_schedule is not None:
            room = coupon_bases - order_off
            coupon_off = np.maximum(0, np.minimum(layers.coupon_schedule.discounts(coupon_bases, 0), room))
        return order_off + coupon_off

    reached = np.where(held[:, None, None], largest[:, None, None] + layers_off(largest), -1)
    ceiling = largest[:, None, None] + layers_off(starts)
    worth = held & (ceiling > reached.max(axis=0)[None]).any(axis=(1, 2))
    first, past = np.searchsorted(both, starts, side="left"), np.searchsorted(both, ends, side="right")
    edges = np.zeros(len(both) + 1, dtype=np.int64)
    np.add.at(edges, first[worth], 1)
    np.add.at(edges, past[worth], -1)
    keep = np.cumsum(edges[:-1]) > 0
    keep[past[held] - 1] = True
    return both[keep]


_PROMISING_FROM = 8192  # fewer sums than this are all priced (pruning them costs more than it saves)
_STRETCHES = 256


def _prefix_sums(reductions: tuple[tuple[int, ...], ...], cache: _SumsCache) -> tuple[list[int], _Array]:
    """Bitsets of the sums the first k lines' reductions can make (bit s set: s cents reachable), and
    the sums all of them make, sorted; kept per cart, since many plans and pairs share a group's lines."""
    if reductions not in cache:
        prefixes = [1]
        for line in reductions:
            reached, grown = prefixes[-1], 0
            for cut in set(line):
                grown |= reached << cut
            prefixes.append(grown)
        cache[reductions] = (prefixes, _set_bits(prefixes[-1]))
    return cache[reductions]


def _set_bits(bits: int) -> _Array:
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(raw, bitorder="little")).astype(np.int64)


def _realise(prefixes: Sequence[int], reductions: Sequence[Sequence[int]], target: int) -> list[int]:
    """A choice a line (index into its reductions) summing to ``target``; the first that fits, last line first."""
    picked: list[int] = []
    for k in range(len(reductions) - 1, -1, -1):
        for choice, cut in enumerate(reductions[k]):
            if cut <= target and prefixes[k] >> (target - cut) & 1:
                picked.append(choice)
                target -= cut
                break
    return picked[::-1]


def _final_key(cart: _Cart, picks: Sequence[_Option], layers: _Layers) -> tuple[int, int, int]:
    steps = _steps(cart, [(p,) for p in picks], layers)
    return layers.key(*(sum(s[0][k] for s in steps) for k in (1, 2, 3)))


# ---------------------------------------------------------------------------------------------
# The result


def price(
    lines: Sequence[CartLine],
    item_offers: Iterable[ItemOffer] = (),
    order_offers: Iterable[OrderOffer] = (),
    coupons: Iterable[CouponOffer] = (),
) -> Quote:
    """Price ``lines`` with the best allowed combination of the offers given (the caller has already
    kept only the offers this customer, store, channel and moment may use)."""
    cart = _prepare(lines, item_offers, order_offers, coupons)
    return _quote(cart, _search(cart))


def _quote(cart: _Cart, choice: _Choice) -> Quote:
    after_items = [g - (p.reduction if p.offer else 0) for g, p in zip(cart.gross, choice.picks, strict=True)]
    per_line: list[list[Adjustment]] = [[] for _ in cart.lines]
    for index, pick in enumerate(choice.picks):
        if pick.offer is not None and (pick.reduction or pick.multi):
            per_line[index].append(Adjustment(pick.offer.key, pick.offer.label, Layer.ITEM, from_cents(pick.reduction)))
    shares: dict[int, int] = {}
    if choice.order is not None:
        offer = cart.orders[choice.order]
        order_off = _order_amount(cart, choice, after_items)
        shares = _order_shares(cart, choice.picks, after_items, choice.order, order_off)
        _add_shares(per_line, shares, offer.key, offer.label, Layer.ORDER)
    if choice.coupon is not None:
        coupon = cart.coupons[choice.coupon]
        room = {
            i: after_items[i] - shares.get(i, 0)
            for i in sorted(cart.coupon_lines[choice.coupon])
            if choice.picks[i].counts_for_coupon
        }
        amount = (
            choice.discount - sum(g - a for g, a in zip(cart.gross, after_items, strict=True)) - sum(shares.values())
        )
        _add_shares(
            per_line,
            dict(zip(room, _split(amount, list(room.values())), strict=True)),
            coupon.key,
            coupon.label,
            Layer.COUPON,
        )
    priced = tuple(
        PricedLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            gross=from_cents(cart.gross[i]),
            adjustments=tuple(per_line[i]),
            total=from_cents(cart.gross[i] - sum(to_cents(a.amount) for a in per_line[i])),
        )
        for i, line in enumerate(cart.lines)
    )
    gross = sum(cart.gross)
    return Quote(
        lines=priced,
        gross=from_cents(gross),
        discount=from_cents(choice.discount),
        total=from_cents(gross - choice.discount),
        applied=_applied(per_line),
    )


def _order_shares(
    cart: _Cart, picks: Sequence[_Option], after_items: Sequence[int], order: int | None, amount: int
) -> dict[int, int]:
    if order is None or amount <= 0:
        return {}
    covered = sorted(i for i in cart.order_lines[order] if picks[i].counts_for_order)
    return dict(zip(covered, _split(amount, [after_items[i] for i in covered]), strict=True))


def _order_amount(cart: _Cart, choice: _Choice, after_items: Sequence[int]) -> int:
    assert choice.order is not None
    covered = [i for i in cart.order_lines[choice.order] if choice.picks[i].counts_for_order]
    return cart.orders[choice.order].discount(
        sum(after_items[i] for i in covered), sum(cart.lines[i].quantity for i in covered)
    )


def _add_shares(per_line: list[list[Adjustment]], shares: dict[int, int], key: str, label: str, layer: Layer) -> None:
    for index, cents in shares.items():
        if cents:
            per_line[index].append(Adjustment(key, label, layer, from_cents(cents)))


def _applied(per_line: Sequence[Sequence[Adjustment]]) -> tuple[Adjustment, ...]:
    totals: dict[tuple[Layer, str], Adjustment] = {}
    for adjustments in per_line:
        for a in adjustments:
            seen = totals.get((a.layer, a.key))
            totals[(a.layer, a.key)] = (
                a if seen is None else Adjustment(a.key, a.label, a.layer, seen.amount + a.amount)
            )
    layer_order = {Layer.ITEM: 0, Layer.ORDER: 1, Layer.COUPON: 2}
    return tuple(sorted(totals.values(), key=lambda a: (layer_order[a.layer], a.key)))


__all__ = [
    "Adjustment",
    "Bundle",
    "BuyXGetY",
    "CartLine",
    "CouponOffer",
    "Layer",
    "OrderOffer",
    "PricedLine",
    "Quote",
    "Scope",
    "Tier",
    "UnitPrice",
    "price",
]
