"""The pricing engine: a cart priced in the layers Chinese retail uses, best for the customer.

Layers, as a shop's till and Tmall/JD/Youzan price them:

1. **item level**, at most one offer a line: a unit-price offer (limited-time price 限时折扣, member
   price 会员价, a product or category discount), buy X get Y (买二送一, 第二件半价) or a bundle (套餐价);
2. **order level**, at most one offer: full reduction (满300减30, tiers, "every 满100减10") or an order
   discount (满2件9折), judged on the lines it covers after their item-level prices;
3. **one coupon**, judged on the lines it covers after item-level prices, and never taking a line
   below zero once the order-level reduction has had its share.

The merchant's stacking rules travel on each offer: an item-level offer says whether its lines still
count toward order-level offers and coupons (特价商品不参与满减 / 不可用券), an order-level offer whether
a coupon may join it at all. Within those rules the engine returns the combination with the largest
total discount (a global optimum, not a greedy layer-by-layer pick: a cheaper limited-time price can
cost the customer a 满减 threshold). Offers are taken in the order of their keys and ties are broken
the same way every time (fewer offers first), so the same cart always prices the same way. Points
and stored value are tenders chosen afterwards.

Money is handled in integer cents inside; every amount in and out is a ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


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
class _Choice:
    """A full combination: an option a line, an order offer (index or None), a coupon (index or None)."""

    picks: tuple[_Option, ...]
    order: int | None
    coupon: int | None
    discount: int
    tie: tuple[int, tuple[str, ...]]  # fewer offers, then smaller keys


def _offer_count_and_keys(
    picks: Sequence[_Option], cart: _Cart, order: int | None, coupon: int | None
) -> tuple[int, tuple[str, ...]]:
    keys = {p.offer.key for p in picks if p.offer is not None}
    if order is not None:
        keys.add(cart.orders[order].key)
    if coupon is not None:
        keys.add(cart.coupons[coupon].key)
    return len(keys), tuple(sorted(keys))


def _item_reductions(cart: _Cart, picks: Sequence[_Option]) -> list[int] | None:
    """Cents off each line for these picks, or None when a multi-line offer gives its lines nothing
    (the same as no offer on them, which the search also tries). A line that gives a BXGY its "buy"
    units is in the offer with nothing off itself."""
    reductions = [p.reduction if not p.multi else 0 for p in picks]
    groups: dict[str, list[int]] = {}
    for index, pick in enumerate(picks):
        if pick.multi and pick.offer is not None:
            groups.setdefault(pick.offer.key, []).append(index)
    for members in groups.values():
        offer = picks[members[0]].offer
        assert isinstance(offer, BuyXGetY | Bundle)
        group = cart.group_reductions(offer, tuple(members))
        if sum(group.values()) <= 0:
            return None
        for index in members:
            reductions[index] = group[index]
    return reductions


def _best_order_and_coupon(
    cart: _Cart, picks: Sequence[_Option], after_items: Sequence[int]
) -> tuple[int, int | None, int | None]:
    """The largest order-level + coupon discount for lines already priced at item level."""
    order_options: list[tuple[int, int | None]] = [(0, None)]
    for o, offer in enumerate(cart.orders):
        covered = [i for i in cart.order_lines[o] if picks[i].counts_for_order]
        base = sum(after_items[i] for i in covered)
        off = offer.discount(base, sum(cart.lines[i].quantity for i in covered)) if covered else 0
        if off > 0:
            order_options.append((off, o))
    coupon_options: list[tuple[int, int]] = []
    for c, coupon in enumerate(cart.coupons):
        base = sum(after_items[i] for i in cart.coupon_lines[c] if picks[i].counts_for_coupon)
        off = coupon.discount(base)
        if off > 0:
            coupon_options.append((off, c))
    coupon_options.sort(key=lambda pair: (-pair[0], pair[1]))
    best = (0, None, None)
    for order_off, o in order_options:
        if order_off > best[0]:
            best = (order_off, o, None)
        if o is not None and not cart.orders[o].with_coupons:
            continue
        shares = _order_shares(cart, picks, after_items, o, order_off)
        for coupon_off, c in coupon_options:
            if order_off + coupon_off <= best[0]:
                break  # the rest give less, capped or not
            off = min(coupon_off, _coupon_room(cart, picks, after_items, shares, c))
            if off > 0 and order_off + off > best[0]:
                best = (order_off + off, o, c)
    return best


def _order_shares(
    cart: _Cart, picks: Sequence[_Option], after_items: Sequence[int], order: int | None, amount: int
) -> dict[int, int]:
    if order is None or amount <= 0:
        return {}
    covered = sorted(i for i in cart.order_lines[order] if picks[i].counts_for_order)
    return dict(zip(covered, _split(amount, [after_items[i] for i in covered]), strict=True))


def _coupon_room(
    cart: _Cart, picks: Sequence[_Option], after_items: Sequence[int], shares: dict[int, int], coupon: int
) -> int:
    """What the coupon's lines still cost once the order-level reduction has had its share."""
    return sum(after_items[i] - shares.get(i, 0) for i in cart.coupon_lines[coupon] if picks[i].counts_for_coupon)


def _evaluate(cart: _Cart, picks: tuple[_Option, ...]) -> _Choice | None:
    reductions = _item_reductions(cart, picks)
    if reductions is None:
        return None
    after_items = [g - r for g, r in zip(cart.gross, reductions, strict=True)]
    off, order, coupon = _best_order_and_coupon(cart, picks, after_items)
    picks = tuple(_Option(p.offer, r) if p.offer is not None else p for p, r in zip(picks, reductions, strict=True))
    return _Choice(picks, order, coupon, sum(reductions) + off, _offer_count_and_keys(picks, cart, order, coupon))


def _better(candidate: _Choice | None, best: _Choice | None) -> bool:
    if candidate is None:
        return False
    if best is None or candidate.discount != best.discount:
        return best is None or candidate.discount > best.discount
    return candidate.tie < best.tie


def _layer_ceiling(cart: _Cart) -> int:
    """The most the order level and a coupon could add on top of any item-level pricing."""
    everything = sum(cart.gross)
    order_max = max(
        (
            o.discount(sum(cart.gross[i] for i in lines), sum(cart.lines[i].quantity for i in lines))
            for o, lines in zip(cart.orders, cart.order_lines, strict=True)
        ),
        default=0,
    )
    coupon_max = max(
        (
            c.discount(sum(cart.gross[i] for i in lines))
            for c, lines in zip(cart.coupons, cart.coupon_lines, strict=True)
        ),
        default=0,
    )
    return min(everything, order_max + coupon_max)


def _search(cart: _Cart) -> _Choice:
    """Depth-first over the lines' options, best-looking first, cutting every branch whose item-level
    reductions plus the most the other layers could add cannot beat the best combination found."""
    ceiling = _layer_ceiling(cart)
    ordered = tuple(tuple(sorted(opts, key=lambda p: -p.reduction)) for opts in cart.options)
    remaining_max = [0] * (len(ordered) + 1)
    for i in range(len(ordered) - 1, -1, -1):
        remaining_max[i] = remaining_max[i + 1] + max(p.reduction for p in ordered[i])
    best: _Choice | None = None
    picks: list[_Option] = []

    def walk(index: int, so_far: int) -> None:
        nonlocal best
        if best is not None and so_far + remaining_max[index] + ceiling < best.discount:
            return
        if index == len(ordered):
            candidate = _evaluate(cart, tuple(picks))
            if _better(candidate, best):
                best = candidate
            return
        for option in ordered[index]:
            picks.append(option)
            walk(index + 1, so_far + option.reduction)
            picks.pop()

    walk(0, 0)
    assert best is not None  # no offer at all is always a combination
    return best


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
