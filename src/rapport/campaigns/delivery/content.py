"""Personalised message content in a sandboxed template engine.

Templates are Jinja2 run in :class:`~jinja2.sandbox.SandboxedEnvironment`: staff write them, so
they must not reach Python internals; they see plain dicts and lists only. The variables:

* ``customer`` — ``id``, ``name``, ``city``, ``member_status``, ``birthday``, ``store``
* ``order`` — the latest purchase (``number``, ``total``, ``currency``, ``placed_at``, ``items``) or none
* ``coupon`` — the coupon a journey step issued (``code``, ``name``, ``value``, ``expires_at``) or none
* ``promotion`` — the personal promotion the customer holds now (a plan's "grant a personal
  promotion" step gave it; the one lasting longest): ``name``, ``threshold``, ``discount``, ``offer``
  (both in words, "Spend 199, get 30 off"), ``expires_at``, ``code``; or none
* ``recommendation`` — up to three best sellers of the last 90 days the customer has not bought
  (each ``name``, ``sku``, ``price``)
* ``recommendations`` — up to three of the customer's own recommendations (the recommendations
  app's list, stock and the merchant's rules applied; each ``name``, ``sku``, ``price``, ``url``,
  ``reason``), what a "send recommendations" step sends on a text channel
* ``unsubscribe_url`` — the signed one-click unsubscribe link

Context is loaded for a whole batch of customers in a few queries, and only the parts a
template uses (found by parsing it), so a 100,000-message send does not run per-customer queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Count, OuterRef, Subquery, Sum
from django.utils import timezone
from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from rapport.commerce.models import Order, OrderLine
from rapport.commerce.queries import counted
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers.models import Customer, Store
from rapport.inventory.queries import running_out
from rapport.promotions import personal
from rapport.recommendations.services import for_customers

VARIABLES = ("customer", "order", "coupon", "promotion", "recommendation", "recommendations", "unsubscribe_url")
RECOMMENDATIONS = 3
# A send step's option: its product lists leave out products forecast to run out
# (:func:`rapport.inventory.queries.running_out`), so a campaign does not promote what it cannot sell.
LEAVE_OUT_RUNNING_OUT = "exclude_running_out"
BEST_SELLER_DAYS = 90
_ENVIRONMENT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Content:
    subject: str
    body: str
    html: str = ""  # a block email's HTML document; the body is then its text part


def _parse(source: str) -> nodes.Template:
    return _ENVIRONMENT.parse(source)


def check_template(subject: str, body: str) -> list[FieldError]:
    """Syntax errors and unknown variables, named by field and line."""
    errors: list[FieldError] = []
    for field, source in (("subject", subject), ("body", body)):
        try:
            unknown = sorted(meta.find_undeclared_variables(_parse(source)) - set(VARIABLES))
        except TemplateSyntaxError as exc:
            errors.append(FieldError(field, "syntax", f"line {exc.lineno}: {exc.message}"))
            continue
        if unknown:
            errors.append(
                FieldError(field, "unknown_variable", f"unknown {', '.join(unknown)}; use {', '.join(VARIABLES)}")
            )
    return errors


@lru_cache(maxsize=256)
def _compiled(source: str) -> Any:
    return _ENVIRONMENT.from_string(source)


@lru_cache(maxsize=256)
def variables_used(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_parse(source)))


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render in the sandbox; a template that misbehaves at run time raises :class:`InvalidInput`."""
    try:
        return str(_compiled(source).render(**context))
    except SecurityError as exc:
        raise InvalidInput.single("body", "unsafe", f"the template tried something not allowed: {exc}") from exc
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise InvalidInput.single("body", "render_failed", f"the template failed: {exc}") from exc


# Context for a batch of customers -----------------------------------------------------------


def _iso(value: dt.date | dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def customer_facts(customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    stores = {s.pk: s.name for s in Store.objects.all()}
    rows = Customer.objects.filter(pk__any_of=list(customer_ids)).values(
        "pk", "name", "city", "member_status", "birthday", "store_id"
    )
    return {
        row["pk"]: {
            "id": row["pk"],
            "name": row["name"],
            "city": row["city"],
            "member_status": row["member_status"],
            "birthday": _iso(row["birthday"]),
            "store": stores.get(row["store_id"], ""),
        }
        for row in rows
    }


def latest_orders(customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each customer's latest purchase: one query for the orders, one for their item names."""
    ids = list(customer_ids)
    latest = (
        Order.objects.counted()
        .filter(customer_id=OuterRef("customer_id"))
        .order_by("-placed_at", "-id")
        .values("pk")[:1]
    )
    orders = list(
        Order.objects.counted()
        .filter(customer_id__in=ids)
        .filter(pk=Subquery(latest))
        .values("pk", "customer_id", "external_id", "total", "currency", "placed_at")
    )
    items: dict[int, list[str]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=[o["pk"] for o in orders]).values("order_id", "name"):
        items[line["order_id"]].append(line["name"])
    return {
        o["customer_id"]: {
            "number": o["external_id"],
            "total": o["total"],
            "currency": o["currency"],
            "placed_at": timezone.localdate(o["placed_at"]).isoformat(),
            "items": items.get(o["pk"], []),
        }
        for o in orders
    }


def recommendations(
    customer_ids: Iterable[int], *, now: dt.datetime | None = None, leave_out: Collection[int] = ()
) -> dict[int, list[dict[str, Any]]]:
    """Best sellers of the last 90 days, minus what each customer already bought (and ``leave_out``)."""
    ids = list(customer_ids)
    since = (now or timezone.now()) - dt.timedelta(days=BEST_SELLER_DAYS)
    best = list(
        OrderLine.objects.filter(counted("order__"), order__placed_at__gte=since, product__isnull=False)
        .values("product_id", "product__name", "product__sku", "product__price")
        .annotate(sold=Sum("quantity"), orders=Count("order_id"))
        .order_by("-sold", "product_id")[:20]
    )
    best = [b for b in best if b["product_id"] not in leave_out]
    bought: dict[int, set[int]] = defaultdict(set)
    for row in (
        OrderLine.objects.filter(order__customer_id__in=ids, product_id__in=[b["product_id"] for b in best])
        .values_list("order__customer_id", "product_id")
        .distinct()
    ):
        bought[row[0]].add(row[1])
    return {
        pk: [
            {"name": b["product__name"], "sku": b["product__sku"], "price": b["product__price"]}
            for b in best
            if b["product_id"] not in bought[pk]
        ][:RECOMMENDATIONS]
        for pk in ids
    }


def running_out_products() -> frozenset[int]:
    """The products a step with :data:`LEAVE_OUT_RUNNING_OUT` leaves out of its product lists."""
    return frozenset(running_out().values_list("product_id", flat=True))


def personal_recommendations(
    customer_ids: Iterable[int], limit: int, *, leave_out: Collection[int] = ()
) -> dict[int, list[dict[str, str]]]:
    """Each customer's own recommendations (:func:`rapport.recommendations.services.for_customers`),
    as a message shows them, with the reason in words; ``leave_out`` products are dropped."""
    return {
        pk: [
            {
                "name": s.product.name,
                "sku": s.product.sku,
                "price": f"{s.product.currency} {s.product.price:.2f}",
                "image": s.product.image_url,
                "url": s.product.product_url,
                "reason": s.reason_text,
            }
            for s in suggestions
        ]
        for pk, suggestions in for_customers(customer_ids, limit=limit, leave_out=leave_out).items()
    }


def contexts_for(
    customer_ids: Iterable[int],
    sources: Iterable[str],
    *,
    coupons: Mapping[int, Any] | None = None,
    leave_out: Collection[int] = (),
) -> dict[int, dict[str, Any]]:
    """Template variables for each customer, loading only what ``sources`` mention; products in
    ``leave_out`` (those forecast to run out, when the step asks) are in no product list."""
    ids = list(customer_ids)
    used: set[str] = set()
    for source in sources:
        used |= variables_used(source)
    facts = customer_facts(ids)
    orders = latest_orders(ids) if "order" in used else {}
    best = recommendations(ids, leave_out=leave_out) if "recommendation" in used else {}
    own = personal_recommendations(ids, RECOMMENDATIONS, leave_out=leave_out) if "recommendations" in used else {}
    promotions = personal.held_facts(ids, timezone.now()) if "promotion" in used else {}
    return {
        pk: {
            "customer": facts.get(pk, {"id": pk, "name": ""}),
            "order": orders.get(pk),
            "coupon": (coupons or {}).get(pk),
            "promotion": promotions.get(pk),
            "recommendation": best.get(pk, []),
            "recommendations": own.get(pk, []),
        }
        for pk in ids
    }
