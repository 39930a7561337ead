"""The pricing engine: worked examples a Chinese retail operator would check by hand, and properties
over random carts and offer sets (never below zero, never an excluded combination, the search's total
equal to trying every allowed combination)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.promotions import pricing
from rapport.promotions.pricing import (
    Bundle,
    BuyXGetY,
    CartLine,
    CouponOffer,
    Layer,
    OrderOffer,
    Scope,
    Tier,
    UnitPrice,
    price,
)

D = Decimal


def line(sku: str, quantity: int, unit: str, category: str = "") -> CartLine:
    return CartLine(sku=sku, quantity=quantity, unit_price=D(unit), category=category)


def full_reduction(key: str, *tiers: tuple[str, str], with_coupons: bool = True, repeat: bool = False) -> OrderOffer:
    return OrderOffer(
        key=key,
        label=key,
        tiers=tuple(Tier(D(t), amount_off=D(a)) for t, a in tiers),
        with_coupons=with_coupons,
        repeat=repeat,
    )


def test_tiered_full_reduction_takes_the_highest_tier_reached():
    quote = price([line("A", 1, "520.00")], order_offers=[full_reduction("F", ("200", "20"), ("500", "60"))])
    assert quote.total == D("460.00") and quote.discount == D("60.00")
    assert [(a.key, a.layer, a.amount) for a in quote.applied] == [("F", Layer.ORDER, D("60.00"))]


def test_every_hundred_repeats_and_respects_its_cap():
    every = OrderOffer("E", "每满100减10", (Tier(D(100), amount_off=D(10)),), repeat=True, max_off=D(30))
    assert price([line("A", 1, "250")], order_offers=[every]).discount == D("20.00")
    assert price([line("A", 1, "990")], order_offers=[every]).discount == D("30.00")


def test_a_cheaper_item_price_that_loses_the_threshold_is_not_chosen():
    """满300减30 on ¥310 beats a ¥15 limited-time discount that drops the line to ¥295."""
    quote = price(
        [line("A", 1, "310")],
        item_offers=[UnitPrice("L", "限时折扣", Scope(skus=frozenset({"A"})), amount_off=D(15))],
        order_offers=[full_reduction("F", ("300", "30"))],
    )
    assert quote.total == D("280.00")
    assert [a.key for a in quote.applied] == ["F"]


def test_special_price_lines_can_be_kept_out_of_full_reduction_and_coupons():
    special = UnitPrice(
        "S", "特价", Scope(skus=frozenset({"A"})), price=D(80), with_order_offers=False, with_coupons=False
    )
    quote = price(
        [line("A", 1, "100"), line("B", 1, "150")],
        item_offers=[special],
        order_offers=[full_reduction("F", ("200", "30"))],
        coupons=[CouponOffer("C", "满100减10", threshold=D(100), amount_off=D(10))],
    )
    # the special price would leave B alone (150) under 满200 and out of reach of nothing but the
    # coupon: 230 - 10 = 220; list prices keep 满200减30 and the coupon: 250 - 30 - 10 = 210
    assert quote.total == D("210.00")
    assert [a.key for a in quote.applied] == ["F", "C"]
    dearer = price(
        [line("A", 1, "100"), line("B", 1, "150")],
        item_offers=[special],
        coupons=[CouponOffer("C", "满100减10", threshold=D(100), amount_off=D(10))],
    )
    assert [a.key for a in dearer.applied] == ["S", "C"]
    assert [p.sku for p in dearer.lines if any(a.key == "C" for a in p.adjustments)] == ["B"]


def test_an_order_offer_that_excludes_coupons_is_never_combined_with_one():
    quote = price(
        [line("A", 1, "300")],
        order_offers=[full_reduction("F", ("300", "40"), with_coupons=False)],
        coupons=[CouponOffer("C", "券", amount_off=D(25))],
    )
    assert [a.key for a in quote.applied] == ["F"]
    assert quote.total == D("260.00")


def test_buy_two_get_one_free_gives_the_cheapest_unit():
    offer = BuyXGetY("B", "买二送一", buy=2, get=1, scope=Scope(categories=frozenset({"tee"})))
    quote = price([line("A", 2, "99", "tee"), line("B", 1, "59", "tee")], item_offers=[offer])
    assert quote.discount == D("59.00")
    assert [p.total for p in quote.lines] == [D("198.00"), D("0.00")]


def test_second_item_half_price():
    offer = BuyXGetY("H", "第二件半价", buy=1, get=1, percent_off=D(50))
    assert price([line("A", 2, "80")], item_offers=[offer]).total == D("120.00")


def test_a_bundle_prices_complete_sets_and_shares_the_saving_by_value():
    bundle = Bundle("K", "套餐", components=(("A", 1), ("B", 1)), price=D("99"))
    quote = price([line("A", 2, "80"), line("B", 1, "40")], item_offers=[bundle])
    assert quote.discount == D("21.00")  # one set of 120 for 99; the second A at list price
    assert sum(p.total for p in quote.lines) == quote.total == D("179.00")


def test_percent_coupon_with_a_cap_and_units_counted_order_discount():
    two_for_ninety = OrderOffer("Q", "满2件9折", (Tier(D(2), percent_off=D(10)),), by_units=True)
    coupon = CouponOffer("C", "9折券 最多减20", percent_off=D(10), max_off=D(20))
    quote = price([line("A", 2, "150")], order_offers=[two_for_ninety], coupons=[coupon])
    assert quote.discount == D("50.00")  # 30 from 满2件9折, 10 % of the 270 left capped at 20
    assert quote.total == D("250.00")


def test_the_same_cart_prices_the_same_whatever_the_order_offers_arrive_in():
    offers = [
        UnitPrice("M", "会员价", percent_off=D(5)),
        UnitPrice("L", "限时", Scope(skus=frozenset({"A"})), percent_off=D(5)),
    ]
    one = price([line("A", 1, "100")], item_offers=offers)
    two = price([line("A", 1, "100")], item_offers=list(reversed(offers)))
    assert one == two and [a.key for a in one.applied] == ["L"]


# --- a reference: every allowed layered combination, written the slow and obvious way -------------


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def reference_discount(cart, items, orders, coupons) -> Decimal:
    """Tries every item-level pick a line (none or any offer covering it), every order offer or none and
    every coupon or none, under the stacking rules, and keeps the largest discount."""
    choices = [[None, *[o for o in items if o.scope.covers(ln)]] for ln in cart]
    best = 0
    for picks in product(*choices):
        reductions = reference_item_reductions(cart, picks)
        if reductions is None:
            continue
        after = [cents(ln.unit_price) * ln.quantity - r for ln, r in zip(cart, reductions, strict=True)]
        for order in [None, *orders]:
            order_lines = [] if order is None else [
                i for i, ln in enumerate(cart)
                if order.scope.covers(ln) and (picks[i] is None or picks[i].with_order_offers)
            ]  # fmt: skip
            order_off = 0 if order is None else order.discount(
                sum(after[i] for i in order_lines), sum(cart[i].quantity for i in order_lines)
            )  # fmt: skip
            for coupon in [None, *coupons]:
                if coupon is not None and order is not None and order_off > 0 and not order.with_coupons:
                    continue
                best = max(
                    best,
                    sum(reductions) + order_off + reference_coupon(cart, picks, after, order_lines, order_off, coupon),
                )
    return Decimal(best) / 100


def reference_item_reductions(cart, picks) -> list[int] | None:
    reductions = [0] * len(cart)
    for i, offer in enumerate(picks):
        if isinstance(offer, UnitPrice):
            units = cart[i].quantity if offer.max_units is None else min(cart[i].quantity, offer.max_units)
            reductions[i] = offer.unit_reduction(cents(cart[i].unit_price)) * units
    for offer in {o for o in picks if isinstance(o, BuyXGetY | Bundle)}:
        members = [i for i, o in enumerate(picks) if o is offer]
        units = sorted(((cents(cart[i].unit_price), i) for i in members for _ in range(cart[i].quantity)), reverse=True)
        group = dict.fromkeys(members, 0)
        if isinstance(offer, BuyXGetY):
            units.sort(key=lambda u: (-u[0], u[1]))
            size = offer.buy + offer.get
            for start in range(0, len(units) - size + 1, size):
                for unit, i in units[start + offer.buy : start + size]:
                    group[i] += int(
                        (Decimal(unit) * offer.percent_off / 100).to_integral_value(rounding="ROUND_HALF_UP")
                    )
        else:
            by_sku = {cart[i].sku: i for i in members}
            if all(sku in by_sku for sku, _ in offer.components):
                sets = min(cart[by_sku[sku]].quantity // n for sku, n in offer.components)
                value = sum(n * cents(cart[by_sku[sku]].unit_price) for sku, n in offer.components)
                saving = sets * (value - cents(offer.price))
                if saving > 0:  # shared by the components' value, as the till shows it
                    parts = [(by_sku[sku], n * cents(cart[by_sku[sku]].unit_price)) for sku, n in offer.components]
                    shares = largest_remainder(saving, [value for _, value in parts])
                    for (i, _), share in zip(parts, shares, strict=True):
                        group[i] = share
        if sum(group.values()) <= 0:
            return None
        for i, r in group.items():
            reductions[i] = r
    return reductions


def reference_coupon(cart, picks, after, order_lines, order_off, coupon) -> int:
    """A coupon never takes more than its lines' amount after item level minus the whole order-level
    discount (whatever lines that discount covers)."""
    if coupon is None:
        return 0
    lines = [i for i, ln in enumerate(cart) if coupon.scope.covers(ln) and (picks[i] is None or picks[i].with_coupons)]
    off = coupon.discount(sum(after[i] for i in lines))
    room = sum(after[i] for i in lines) - order_off
    return min(off, room) if off > 0 else 0


def largest_remainder(amount: int, weights: list[int]) -> list[int]:
    """Sharing a reduction between lines: by value, whole cents, largest remainders first."""
    total = sum(weights)
    if not total or not amount:
        return [0] * len(weights)
    exact = [Decimal(amount * w) / total for w in weights]
    shares = [int(e) for e in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[: amount - sum(shares)]:
        shares[i] += 1
    return shares


# --- properties -----------------------------------------------------------------------------

SKUS = ["A", "B", "C", "D"]
CATEGORIES = ["tee", "shoe"]
money = st.integers(min_value=1, max_value=40000).map(lambda c: (D(c) / 100).quantize(D("0.01")))
flags = st.booleans()


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    kind = draw(st.sampled_from(["all", "sku", "category"]))
    if kind == "sku":
        return Scope(skus=frozenset(draw(st.sets(st.sampled_from(SKUS), min_size=1))))
    if kind == "category":
        return Scope(categories=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1))))
    return Scope()


@st.composite
def carts(draw: st.DrawFn) -> list[CartLine]:
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=4, unique=True))
    return [CartLine(sku, draw(st.integers(1, 4)), draw(money), draw(st.sampled_from(CATEGORIES))) for sku in skus]


@st.composite
def item_offers(draw: st.DrawFn, key: str) -> UnitPrice | BuyXGetY | Bundle:
    kind = draw(st.sampled_from(["price", "percent", "amount", "bxgy", "bundle"]))
    order, coupons = draw(flags), draw(flags)
    if kind == "bxgy":
        return BuyXGetY(
            key, key, draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(scopes()),
            D(draw(st.sampled_from([100, 50]))), order, coupons,
        )  # fmt: skip
    if kind == "bundle":
        parts = draw(st.lists(st.sampled_from(SKUS), min_size=2, max_size=3, unique=True))
        return Bundle(key, key, tuple((s, draw(st.integers(1, 2))) for s in parts), draw(money), order, coupons)
    value = {"price": {"price": draw(money)}, "percent": {"percent_off": D(draw(st.integers(1, 60)))}}.get(
        kind, {"amount_off": draw(money)}
    )
    max_units = draw(st.none() | st.integers(1, 3))
    return UnitPrice(
        key, key, draw(scopes()), max_units=max_units, with_order_offers=order, with_coupons=coupons, **value
    )


@st.composite
def order_offers(draw: st.DrawFn, key: str) -> OrderOffer:
    by_units = draw(st.booleans())
    threshold = st.integers(1, 6).map(D) if by_units else money
    tiers = draw(
        st.lists(
            st.builds(
                Tier,
                threshold,
                st.one_of(money, st.none()),
                st.none(),
            ).map(lambda t: t if t.amount_off is not None else Tier(t.threshold, percent_off=D(15))),
            min_size=1,
            max_size=3,
        )
    )
    return OrderOffer(key, key, tuple(tiers), draw(scopes()), by_units, draw(st.booleans()), None, draw(flags))


@st.composite
def coupon_offers(draw: st.DrawFn, key: str) -> CouponOffer:
    if draw(st.booleans()):
        return CouponOffer(key, key, draw(money), amount_off=draw(money), scope=draw(scopes()))
    return CouponOffer(key, key, draw(money), percent_off=D(draw(st.integers(5, 50))), max_off=draw(money))


@st.composite
def offer_sets(draw: st.DrawFn) -> tuple[list[UnitPrice | BuyXGetY | Bundle], list[OrderOffer], list[CouponOffer]]:
    count = draw(st.integers(0, 6))
    layers = draw(st.lists(st.sampled_from(["item", "order", "coupon"]), min_size=count, max_size=count))
    items, orders, coupons = [], [], []
    for n, layer in enumerate(layers):
        key = f"P{n}"
        if layer == "item":
            items.append(draw(item_offers(key)))
        elif layer == "order":
            orders.append(draw(order_offers(key)))
        else:
            coupons.append(draw(coupon_offers(key)))
    return items, orders, coupons


@settings(max_examples=300, deadline=None)
@given(cart=carts(), offers=offer_sets())
def test_the_search_equals_trying_every_allowed_combination(cart, offers):
    items, orders, coupons = offers
    quote = price(cart, items, orders, coupons)
    assert quote.discount == reference_discount(cart, items, orders, coupons)


@settings(max_examples=300, deadline=None)
@given(cart=carts(), offers=offer_sets())
def test_pricing_only_the_sums_that_can_be_best_loses_nothing(cart, offers):
    """The search prices every achievable sum on small carts; here it keeps only the sums that can be
    best (``_promising``) however few there are, and must still equal trying every combination."""
    items, orders, coupons = offers
    with patch.object(pricing, "_PROMISING_FROM", 0):
        quote = price(cart, items, orders, coupons)
    assert quote.discount == reference_discount(cart, items, orders, coupons)


@settings(max_examples=300, deadline=None)
@given(cart=carts(), offers=offer_sets())
def test_no_line_goes_below_zero_and_no_excluded_combination_applies(cart, offers):
    items, orders, coupons = offers
    quote = price(cart, items, orders, coupons)
    assert quote.total >= 0 and quote.total == quote.gross - quote.discount
    assert sum(p.total for p in quote.lines) == quote.total
    by_key = {o.key: o for o in [*items, *orders, *coupons]}
    applied_orders = [a.key for a in quote.applied if a.layer == Layer.ORDER]
    applied_coupons = [a.key for a in quote.applied if a.layer == Layer.COUPON]
    assert len(applied_orders) <= 1 and len(applied_coupons) <= 1
    if applied_orders and applied_coupons:
        assert by_key[applied_orders[0]].with_coupons
    for priced in quote.lines:
        assert priced.total >= 0
        layers = [a.layer for a in priced.adjustments]
        assert layers.count(Layer.ITEM) <= 1
        item = next((by_key[a.key] for a in priced.adjustments if a.layer == Layer.ITEM), None)
        if item is not None and not item.with_order_offers:
            assert Layer.ORDER not in layers
        if item is not None and not item.with_coupons:
            assert Layer.COUPON not in layers


@st.composite
def percentage_offer_sets(
    draw: st.DrawFn,
) -> tuple[list[UnitPrice | BuyXGetY | Bundle], list[OrderOffer], list[CouponOffer]]:
    """Order discounts counted in units (满2件9折) and percentage coupons with caps (9折券, at most ¥50):
    the layers the search bounds in closed form (``_percent_bound``, ``_separable_bound``)."""
    percent = st.integers(1, 90).map(D)
    items = [draw(item_offers(f"I{n}")) for n in range(draw(st.integers(0, 4)))]
    orders = [
        OrderOffer(
            f"O{n}",
            f"O{n}",
            tuple(Tier(D(draw(st.integers(0, 4))), percent_off=draw(percent)) for _ in range(draw(st.integers(1, 2)))),
            draw(scopes()),
            by_units=True,
            max_off=draw(st.none() | money),
            with_coupons=draw(flags),
        )
        for n in range(draw(st.integers(0, 2)))
    ]
    coupons = [
        CouponOffer(f"C{n}", f"C{n}", percent_off=draw(percent), max_off=draw(st.none() | money), scope=draw(scopes()))
        for n in range(draw(st.integers(0, 2)))
    ]
    return items, orders, coupons


@settings(max_examples=300, deadline=None)
@given(cart=carts(), offers=percentage_offer_sets())
def test_the_closed_form_bounds_of_percentage_layers_hold(cart, offers):
    """Each bound is at least what the plan and pair really give, and the search with them still
    equals trying every combination."""
    items, orders, coupons = offers
    assert price(cart, items, orders, coupons).discount == reference_discount(cart, items, orders, coupons)
    prepared = pricing._prepare(cart, items, orders, coupons)
    plans = pricing._Plans.of(prepared)
    for order, coupon in pricing._pairs(prepared):
        layers = pricing._Layers(prepared, order, coupon)
        cover = pricing._cover(prepared, layers)
        for index in range(len(plans)):
            found = pricing._best_for(prepared, plans.choices(index), layers, cover, {}, 0)
            best = 0 if found is None else found[0]
            if layers.percent_terms is not None:
                assert pricing._separable_bound(prepared, layers, plans.choices(index), cover) >= best
            assert pricing._pair_bound(prepared, layers, plans.line_most_of(index)) >= best
