"""Pricing speed: quote 10-line carts against 200 active promotions (goal: p95 under 20 ms).

A catalogue of 2,000 SKUs in 20 categories and 200 promotions in the mix a Chinese retailer runs in
a busy week: 80 limited-time prices on 5–20 SKUs each, 40 category discounts, 20 buy-X-get-Y, 15
bundles, 2 member-price levels, 30 full reductions (sitewide and per category, tiered or "every"),
10 units-counted order discounts and 3 first-order offers; each cart also carries 5 held coupons.
Carts are drawn from the SKUs that promotions cover, so most lines have several item-level
choices — a hard case, not an average one. Each quote is timed the way the checkout API asks it:
from the compiled set of active promotions (kept in memory between requests) to the priced cart.
The baseline in the same run is the greedy layer-by-layer pick (best item offer a line, then the
best order offer, then the best coupon), which is fast but not always best for the customer; the
run prints how often and by how much the search beats it.

    .venv/bin/python benchmarks/pricing_bench.py [--carts 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django

django.setup()

from rapport.promotions.active import ActiveSet  # noqa: E402
from rapport.promotions.pricing import (  # noqa: E402
    Bundle,
    BuyXGetY,
    CartLine,
    CouponOffer,
    ItemOffer,
    OrderOffer,
    Scope,
    Tier,
    UnitPrice,
    from_cents,
    price,
    to_cents,
)

D = Decimal
CATEGORIES = [f"cat{n:02d}" for n in range(20)]


def catalogue_of(rng: random.Random) -> dict[str, tuple[str, Decimal]]:
    return {
        f"SKU{n:05d}": (CATEGORIES[n % 20], D(rng.choice([19, 29, 39, 59, 79, 99, 129, 199, 299, 499])))
        for n in range(2000)
    }


def promotions(rng: random.Random, skus: list[str]) -> ActiveSet:
    def some(lo: int, hi: int) -> frozenset[str]:
        return frozenset(rng.sample(skus, rng.randint(lo, hi)))

    items: list[UnitPrice | BuyXGetY | Bundle] = []
    for n in range(80):
        items.append(
            UnitPrice(
                f"L{n}",
                "限时折扣",
                Scope(skus=some(5, 20)),
                percent_off=D(rng.choice([10, 15, 20, 30])),
                max_units=rng.choice([None, 2]),
            )
        )
    for n in range(40):
        cat = frozenset({rng.choice(CATEGORIES)})
        items.append(
            UnitPrice(
                f"K{n}",
                "品类折扣",
                Scope(categories=cat),
                percent_off=D(rng.choice([5, 8, 12])),
                with_order_offers=rng.random() < 0.7,
            )
        )
    for n in range(20):
        cat = frozenset({rng.choice(CATEGORIES)})
        items.append(
            BuyXGetY(f"B{n}", "买二送一", rng.choice([1, 2]), 1, Scope(categories=cat), D(rng.choice([50, 100])))
        )
    for n in range(15):
        parts = rng.sample(skus, rng.choice([2, 3]))
        items.append(Bundle(f"T{n}", "套餐", tuple((s, 1) for s in parts), D(rng.choice([99, 159, 259]))))
    items.append(UnitPrice("M1", "会员价 金卡", percent_off=D(5)))
    items.append(UnitPrice("M2", "会员价 银卡", percent_off=D(3)))
    orders: list[OrderOffer] = []
    for n in range(30):
        scope = Scope() if n < 10 else Scope(categories=frozenset(rng.sample(CATEGORIES, 3)))
        if n % 3 == 0:
            tiers = (Tier(D(100), amount_off=D(10)),)
            orders.append(OrderOffer(f"F{n}", "每满100减10", tiers, scope, repeat=True, max_off=D(100)))
        else:
            tiers = (Tier(D(200), amount_off=D(20)), Tier(D(500), amount_off=D(60)), Tier(D(1000), amount_off=D(150)))
            orders.append(OrderOffer(f"F{n}", "满减", tiers, scope, with_coupons=rng.random() < 0.8))
    for n in range(10):
        orders.append(
            OrderOffer(
                f"Q{n}", "满2件9折", (Tier(D(2), percent_off=D(10)), Tier(D(3), percent_off=D(15))), by_units=True
            )
        )
    for n in range(3):
        orders.append(OrderOffer(f"N{n}", "首单立减", (Tier(D(0), amount_off=D(rng.choice([10, 20, 30]))),)))
    return ActiveSet.of(items, orders)


def coupons(rng: random.Random) -> list[CouponOffer]:
    return [
        CouponOffer(
            f"C{n}", "满199减20", threshold=D(rng.choice([99, 199, 299])), amount_off=D(rng.choice([10, 20, 30]))
        )
        for n in range(4)
    ] + [CouponOffer("C9", "9折券", percent_off=D(10), max_off=D(50))]


def cart_of(rng: random.Random, items: dict[str, tuple[str, Decimal]], hot: list[str]) -> list[CartLine]:
    chosen = rng.sample(hot, 10)
    return [CartLine(sku, rng.choice([1, 1, 1, 2, 3]), items[sku][1], items[sku][0]) for sku in chosen]


def greedy_discount(
    cart: list[CartLine], items: list[ItemOffer], orders: list[OrderOffer], held: list[CouponOffer]
) -> Decimal:
    """The baseline: the best item-level unit price a line taken alone, then the best order offer on
    what that leaves, then the best coupon; layer by layer, never looking back."""
    after, item_off, keeps_order, keeps_coupon = [], 0, [], []
    for line in cart:
        unit = to_cents(line.unit_price)
        candidates = [o for o in items if isinstance(o, UnitPrice) and o.scope.covers(line)]
        best = max(candidates, key=lambda o: o.unit_reduction(unit) * units_of(o, line), default=None)
        off = 0 if best is None else best.unit_reduction(unit) * units_of(best, line)
        item_off += off
        after.append(unit * line.quantity - off)
        keeps_order.append(best is None or best.with_order_offers)
        keeps_coupon.append(best is None or best.with_coupons)
    order_off, order = 0, None
    for offer in orders:
        covered = [i for i, line in enumerate(cart) if offer.scope.covers(line) and keeps_order[i]]
        off = offer.discount(sum(after[i] for i in covered), sum(cart[i].quantity for i in covered))
        if off > order_off:
            order_off, order = off, offer
    coupon_off = 0
    if order is None or order.with_coupons:
        left = sum(after) - order_off
        for coupon in held:
            base = sum(
                a for a, line, keep in zip(after, cart, keeps_coupon, strict=True) if keep and coupon.scope.covers(line)
            )
            coupon_off = max(coupon_off, min(coupon.discount(base), left))
    return from_cents(item_off + order_off + coupon_off)


def units_of(offer: UnitPrice, line: CartLine) -> int:
    return line.quantity if offer.max_units is None else min(line.quantity, offer.max_units)


def baseline_engine(source: Path) -> ModuleType:
    """Another checkout's pricing module (e.g. main's), loaded beside ours to be timed on the same carts."""
    spec = importlib.util.spec_from_file_location("baseline_pricing", source / "rapport/promotions/pricing.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


def translated(value: Any, module: ModuleType, seen: dict[int, Any]) -> Any:
    """The same offer (or cart line, scope, tier) built from the other module's classes."""
    if id(value) in seen:
        return seen[id(value)][1]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: translated(getattr(value, f.name), module, seen) for f in dataclasses.fields(value)}
        copy = getattr(module, type(value).__name__)(**fields)
    elif isinstance(value, tuple | list):
        copy = type(value)(translated(v, module, seen) for v in value)
    else:
        copy = value
    seen[id(value)] = (value, copy)  # the original is kept so that its id is not reused
    return copy


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--carts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's src/ (e.g. /work/main/src): its engine timed on the same carts",
    )
    args = parser.parse_args()
    baseline = None if args.baseline is None else baseline_engine(args.baseline)
    seen: dict[int, Any] = {}
    baseline_cpu: list[float] = []
    rng = random.Random(args.seed)
    items = catalogue_of(rng)
    active = promotions(rng, list(items))
    held = coupons(rng)
    hot = sorted({sku for offer in active.items for sku in offer.scope.skus})
    timings, cpu_timings, greedy_timings, better, gained = [], [], [], 0, D(0)
    for _ in range(args.carts):
        cart = cart_of(rng, items, hot)
        started, cpu_started = time.perf_counter(), time.process_time()
        quote = price(cart, *active.for_cart(cart), held)
        timings.append((time.perf_counter() - started) * 1000)
        cpu_timings.append((time.process_time() - cpu_started) * 1000)
        if baseline is not None:
            other = [translated(x, baseline, seen) for x in (cart, *active.for_cart(cart), held)]
            cpu_started = time.process_time()
            theirs = baseline.price(*other)
            baseline_cpu.append((time.process_time() - cpu_started) * 1000)
            assert theirs.discount == quote.discount, (theirs.discount, quote.discount)
        started = time.perf_counter()
        greedy = greedy_discount(cart, *active.for_cart(cart), held)
        greedy_timings.append((time.perf_counter() - started) * 1000)
        if quote.discount > greedy:
            better += 1
            gained += quote.discount - greedy
        assert quote.discount >= greedy
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    print(f"commit {commit}, {platform.python_version()}, load {load:.2f}, {args.carts} carts of 10 lines")
    print("200 promotions + 5 coupons")
    rows = [("search", timings), ("search CPU", cpu_timings), ("greedy baseline", greedy_timings)]
    if baseline is not None:
        rows.append((f"{args.baseline} CPU", baseline_cpu))
    for name, values in rows:
        figures = "  ".join(f"p{p} {percentile(values, p):8.2f} ms" for p in (50, 95, 99))
        print(f"{name:16} {figures}  max {max(values):8.2f} ms  mean {statistics.fmean(values):8.2f} ms")
    share = better / args.carts
    print(f"search beat the greedy pick on {better} of {args.carts} carts ({share:.1%}),", end=" ")
    print(f"by ¥{gained / max(better, 1):.2f} on average")


if __name__ == "__main__":
    main()
