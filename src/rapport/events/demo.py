"""The demo shop's behaviour: four weeks of visits to the web shop, the app and the mini program.

Members who can sign in there (a web, app or WeChat identity) browse: page views, searches,
product views, carts, checkouts; most carts end in an order, some are left (abandoned carts);
strangers browse anonymously. The calls are Segment-spec messages read by the tracking API's own
parser, staged and resolved by the same resolver (identity resolution, storage, and the signals
journeys, points and tags listen to), inside the demo's transaction, in a few set-based chunks.

Then what a newcomer needs to see the data at work: automatic tags kept by rules (on behaviour
and on orders), saved segments that use them, and running journeys (abandoned cart, a product
viewed) that pick people up from here on.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from rapport.campaigns import services as campaign_services
from rapport.campaigns.models import Plan
from rapport.commerce.models import Order, OrderLine, Product
from rapport.customers.models import Customer, Identity
from rapport.demo.steps import DemoContext
from rapport.events import resolver
from rapport.events.ingest import _append
from rapport.events.messages import Message, parse_message
from rapport.events.models import Source
from rapport.events.services import create_source
from rapport.segments import services as segment_services
from rapport.tags import services as tag_services

DAYS = 28
# (source name, identity channel, platform named in each call's context)
SOURCES = [("官网 Web shop", "web", "web"), ("App", "app", "ios"), ("微信小程序 Mini program", "wechat", "miniprogram")]
PAGES = ["首页", "新品", "会员中心", "活动"]  # the page titles of a Chinese shop
SEARCHES = ["龙井", "普洱", "茶具", "礼盒", "oolong", "白茶", "保温杯", "gift box"]
ANONYMOUS_VISITS_PER_CUSTOMER = 0.16  # strangers browsing without signing in
STAGE_CHUNK = 5000


def seed_events(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.rng.random())  # its own stream: later steps draw as before
    now = context.now
    sources = {
        channel: create_source(data={"name": name, "identity_channel": channel}, actor=context.actor)
        for name, channel, _platform in SOURCES
    }
    platforms = {channel: platform for _name, channel, platform in SOURCES}
    products = [
        {"sku": sku, "name": name, "price": float(price), "category": category or ""}
        for sku, name, price, category in Product.objects.order_by("pk").values_list(
            "sku", "name", "price", "category__code"
        )
    ]
    by_sku = {p["sku"]: p for p in products}
    bought = _recent_orders(now)
    calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    visits = 0
    identities = Identity.objects.filter(channel__in=list(sources)).order_by("customer_id", "channel", "pk")
    for customer_id, channel, user_id in identities.values_list("customer_id", "channel", "external_id"):
        anonymous_id, platform = f"a-{customer_id}-{channel}", platforms[channel]
        orders = bought.get((customer_id, channel), [])
        for placed_at, skus in orders:  # the visit each order came from: viewed, added, checked out
            visits += 1
            cart = [by_sku[sku] for sku in skus if sku in by_sku]
            calls[channel] += _visit(rng, now, products, user_id, anonymous_id, platform, order=(placed_at, cart))
        browsing = rng.randint(0, 3) if orders else (rng.randint(1, 2) if rng.random() < 0.3 else 0)
        for _ in range(browsing):
            visits += 1
            calls[channel] += _visit(rng, now, products, user_id, anonymous_id, platform)
    for n in range(int(Customer.objects.count() * ANONYMOUS_VISITS_PER_CUSTOMER)):
        visits += 1
        calls["web"] += _visit(rng, now, products, "", f"v-{n}", "web")
    stored = 0
    for channel, raw in calls.items():
        stored += _ingest(sources[channel], raw)
    tags = _tags(context)
    segments = _segments(context, tags)
    journeys = _journeys(context, now)
    context.say(
        f"events: {stored} behaviour events in {visits} visits, {tags['tagged']} customers tagged, "
        f"{segments} segments, {journeys} journeys running"
    )
    return {
        "behaviour events": stored,
        "automatic tags": tags["tags"],
        "tagged customers": tags["tagged"],
        "saved segments": segments,
        "running journeys": journeys,
    }


def _recent_orders(now: dt.datetime) -> dict[tuple[int, str], list[tuple[dt.datetime, list[str]]]]:
    """The window's orders on the shop's own channels, by customer and channel, with their SKUs."""
    skus: dict[int, list[str]] = defaultdict(list)
    orders = Order.objects.filter(
        placed_at__gte=now - dt.timedelta(days=DAYS), channel__in=[c for _n, c, _p in SOURCES], customer__isnull=False
    )
    for order_id, sku in OrderLine.objects.filter(order__in=orders).order_by("pk").values_list("order_id", "sku"):
        skus[order_id].append(sku)
    found: dict[tuple[int, str], list[tuple[dt.datetime, list[str]]]] = defaultdict(list)
    for order_id, customer_id, channel, placed_at in orders.order_by("pk").values_list(
        "pk", "customer_id", "channel", "placed_at"
    ):
        found[(customer_id, channel)].append((placed_at, skus[order_id]))
    return found


def _visit(
    rng: random.Random,
    now: dt.datetime,
    products: list[dict[str, Any]],
    user_id: str,
    anonymous_id: str,
    platform: str,
    *,
    order: tuple[dt.datetime, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """One visit: pages, maybe a search, products viewed, maybe a cart and a checkout; for an
    ``order`` (placed at, products), the visit that ended in it, minutes before it was placed."""
    if order is not None:
        at = order[0] - dt.timedelta(seconds=rng.uniform(10 * 60, 40 * 60))
    else:
        at = now - dt.timedelta(seconds=rng.uniform(15 * 60, DAYS * 86400))
    calls: list[dict[str, Any]] = []
    last = order[0] - dt.timedelta(minutes=1) if order is not None else now  # nothing after the order

    def call(kind: str, name: str, properties: dict[str, Any]) -> None:
        nonlocal at
        at += dt.timedelta(seconds=rng.uniform(5, 150))
        message: dict[str, Any] = {
            "type": kind,
            "messageId": f"demo-{anonymous_id}-{at.timestamp():.3f}",
            "timestamp": min(at, last).isoformat(),
            "anonymousId": anonymous_id,
            "properties": properties,
            "context": {"app": {"platform": platform}},
        }
        if user_id:
            message["userId"] = user_id
        message["event" if kind == "track" else "name"] = name
        calls.append(message)

    call("page", rng.choice(PAGES), {})
    if rng.random() < 0.4:
        query = rng.choice(SEARCHES)
        call("track", "Products Searched", {"query": query})
    viewed = [products[rng.randrange(len(products))] for _ in range(rng.randint(1, 4))]
    if order is not None:
        viewed = order[1] + viewed[:1]
    for product in viewed:
        call("track", "Product Viewed", dict(product))
    if order is not None or rng.random() < 0.35:
        cart = order[1] if order is not None else viewed[: rng.randint(1, len(viewed))]
        for product in cart:
            call("track", "Product Added", {**product, "quantity": 1})
        if order is not None or rng.random() < 0.55:
            total = sum(Decimal(str(p["price"])) for p in cart)
            call("track", "Checkout Started", {"value": float(total), "products": [p["sku"] for p in cart]})
    return calls


def _ingest(source: Source, raw: list[dict[str, Any]]) -> int:
    """Parse as the tracking API does, stage, and resolve until nothing is left."""
    messages: list[Message] = []
    for body in sorted(raw, key=lambda m: m["timestamp"]):
        received = dt.datetime.fromisoformat(body["timestamp"])
        message, errors = parse_message(body, where="", received_at=received)
        if message is None:
            raise ValueError(f"the demo wrote a call the tracking API refuses: {errors}")
        messages.append(message)
    for start in range(0, len(messages), STAGE_CHUNK):
        _append(source, messages[start : start + STAGE_CHUNK])
    stored = 0
    while chunk := resolver.resolve_chunk():
        if not chunk.claimed:
            break
        stored += chunk.stored
    return stored


def _tags(context: DemoContext) -> dict[str, int]:
    category = tag_services.create_category(
        data={"name": "行为 Behaviour", "description": "按顾客的行为由规则自动维护"}, actor=context.actor
    )
    rules = [
        ("浏览未购 Browsed, not bought", {
            "all": [
                {"type": "event", "op": "did", "name": "Product Viewed", "min_count": 3, "window_days": 14},
                {"type": "orders", "metric": "count", "op": "eq", "value": 0, "window_days": 30},
            ]
        }),
        ("爱搜索 Searcher", {"type": "event", "op": "did", "name": "Products Searched", "min_count": 2}),
        ("购物车未结 Cart left", {
            "all": [
                {"type": "event", "op": "did", "name": "Product Added", "window_days": 7},
                {"type": "event", "op": "did_not", "name": "Checkout Started", "window_days": 7},
            ]
        }),
        ("茶客 Tea buyer", {"type": "bought", "op": "did", "categories": ["tea"], "window_days": 180}),
        ("高价值 High value", {"type": "orders", "metric": "sum", "op": "gte", "value": "5000"}),
    ]  # fmt: skip
    tags = [
        tag_services.create_tag(
            data={"category": category.pk, "name": name, "type": "automatic", "rule": rule}, actor=context.actor
        )
        for name, rule in rules
    ]
    tagged: set[int] = set()
    for tag in tags:
        tag_services.evaluate_tag(tag, now=context.now)
        tagged.update(tag.holders.values_list("customer_id", flat=True))
    return {"tags": len(tags), "tagged": len(tagged), **{f"tag:{t.name}": t.pk for t in tags}}


def _segments(context: DemoContext, tags: dict[str, int]) -> int:
    segments = [
        {
            "name": "弃购召回 Cart left this week",
            "description": "Added to cart in the last 7 days, no checkout since: the abandoned-cart audience.",
            "rule": {"type": "tag", "op": "has_any", "tags": [tags["tag:购物车未结 Cart left"]]},
        },
        {
            "name": "高意向新客 Browsing, yet to buy",
            "description": "Viewed three or more products in two weeks without an order.",
            "rule": {"type": "tag", "op": "has_any", "tags": [tags["tag:浏览未购 Browsed, not bought"]]},
        },
        {
            "name": "茶客复购 Tea buyers gone quiet",
            "description": "Bought tea in the last half year, no order for 60 days.",
            "rule": {
                "all": [
                    {"type": "tag", "op": "has_any", "tags": [tags["tag:茶客 Tea buyer"]]},
                    {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 60},
                ]
            },
        },
    ]
    for data in segments:
        segment_services.save_segment(data=data, actor=context.actor)
    return len(segments)


def _journeys(context: DemoContext, now: dt.datetime) -> int:
    def template(name: str, subject: str, body: str) -> int:
        data = {"name": name, "channel": "email", "subject": subject, "body": body}
        return campaign_services.save_template(data=data, actor=context.actor).pk

    cart = template(
        "Cart reminder (email)",
        "{{ customer.name }}, your cart is waiting",
        "Hi {{ customer.name }},\n\nThe tea you picked is still in your cart: https://shop.example.com/cart\n",
    )
    search = template(
        "Search follow-up (email)",
        "Found what you were looking for, {{ customer.name }}?",
        "Hi {{ customer.name }},\n\nOur tea advisers can help you choose: https://shop.example.com/advice\n",
    )
    plans = [
        ("Abandoned cart reminder", "An email an hour after a cart is left without an order.",
         {"type": "abandoned_cart", "idle_minutes": 60}, cart),
        ("Searched, then a tip", "Members who search the shop get one email with an adviser's help.",
         {"type": "event", "event": "Products Searched"}, search),
    ]  # fmt: skip
    for name, description, trigger, template_id in plans:
        plan = campaign_services.save_plan(
            data={
                "name": name,
                "description": description,
                "kind": "journey",
                "trigger": trigger,
                "reentry": "once",
                "control_percent": 10,
                "attribution_days": 7,
                "steps": [{"kind": "send", "config": {"channel": "email", "variants": [{"template": template_id}]}}],
            },
            actor=context.actor,
        )
        campaign_services.launch_plan(plan, actor=context.actor, now=now)
    return Plan.objects.filter(kind=Plan.Kind.JOURNEY, status=Plan.Status.RUNNING).count()
