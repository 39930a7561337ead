"""Commerce business rules: catalogue, idempotent order upserts, refunds, and statistics.

Orders are keyed by (channel, external id): sending the same order twice updates it, never
doubles it. Every order or refund write refreshes the customer's statistics in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.models import (
    Category,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Refund,
    RefundStatus,
)
from rapport.commerce.signals import order_saved, refund_recorded
from rapport.commerce.stats import refresh_customer_stats
from rapport.commerce.validation import CatalogueCache, clean_order, clean_product, parse_money
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.bulk import all_or_nothing
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.customers.validation import parse_aware_datetime


@transaction.atomic
def save_category(*, data: Mapping[str, Any], actor: Actor, instance: Category | None = None) -> Category:
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in {"code", "name", "parent"}]
    values: dict[str, Any] = {}
    if instance is None or "code" in data:
        code = str(data.get("code") or "").strip()
        if not code or slugify(code) != code or len(code) > 60:
            errors.append(FieldError("code", "invalid", "a code of letters, digits and - (at most 60)"))
        elif Category.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            errors.append(FieldError("code", "duplicate", f"a category with code {code!r} exists"))
        values["code"] = code
    if instance is None or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 120:
            errors.append(FieldError("name", "required", "a name of 1 to 120 characters"))
        values["name"] = name
    if "parent" in data:
        if data["parent"] in (None, ""):
            values["parent_id"] = None
        else:
            parent = CatalogueCache().category(data["parent"])
            if parent is None:
                errors.append(FieldError("parent", "not_found", f"no category {data['parent']!r}"))
            elif instance is not None and _is_descendant(parent, instance):
                errors.append(FieldError("parent", "cycle", "a category cannot sit under itself"))
            else:
                values["parent_id"] = parent.pk
    if errors:
        raise InvalidInput(errors)
    if instance is None:
        category = Category.objects.create(**values)
        record(actor, AuditEntry.Action.CREATE, obj=category, changes={"code": category.code})
        return category
    for field, value in values.items():
        setattr(instance, field, value)
    instance.save()
    record(actor, AuditEntry.Action.UPDATE, obj=instance, changes={"fields": sorted(values)})
    return instance


def _is_descendant(candidate: Category, ancestor: Category) -> bool:
    node: Category | None = candidate
    while node is not None:
        if node.pk == ancestor.pk:
            return True
        node = node.parent
    return False


@transaction.atomic
def upsert_product(
    *, data: Mapping[str, Any], actor: Actor, cache: CatalogueCache | None = None
) -> tuple[Product, bool]:
    """Create or update the product with this SKU (the catalogue's natural key)."""
    cache = cache or CatalogueCache()
    cleaned = clean_product(data, cache=cache)
    product, created = Product.objects.select_for_update().get_or_create(
        sku=cleaned["sku"], defaults={k: v for k, v in cleaned.items() if k != "sku"}
    )
    if created:
        record(actor, AuditEntry.Action.CREATE, obj=product, changes={"sku": product.sku})
        return product, True
    changed = {k: v for k, v in cleaned.items() if getattr(product, k) != v}
    if changed:
        before = {k: str(getattr(product, k)) for k in changed}
        for field, value in changed.items():
            setattr(product, field, value)
        product.save()
        record(
            actor,
            AuditEntry.Action.UPDATE,
            obj=product,
            changes={k: [before[k], str(v)] for k, v in changed.items()},
        )
    return product, False


@transaction.atomic
def update_product(product: Product, *, data: Mapping[str, Any], actor: Actor) -> Product:
    cleaned = clean_product(data, cache=CatalogueCache(), partial=True)
    sku_taken = (
        "sku" in cleaned and cleaned["sku"] != product.sku and Product.objects.filter(sku=cleaned["sku"]).exists()
    )
    if sku_taken:
        raise Conflict.single("sku", "duplicate", f"a product with SKU {cleaned['sku']!r} exists")
    before = {k: str(getattr(product, k)) for k in cleaned}
    for field, value in cleaned.items():
        setattr(product, field, value)
    product.save()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=product,
        changes={k: [before[k], str(v)] for k, v in cleaned.items()},
    )
    return product


def _lines_signature(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(line["sku"], line["name"], line["quantity"], line["unit_price"]) for line in lines]


def keep_refund_rules(refunded_total: Decimal, current_status: str, cleaned: dict[str, Any]) -> None:
    """An order with refunds keeps them: its total cannot drop below them, and from the first
    refund on, refunds decide its status (shared by the order upsert and the bulk import)."""
    if refunded_total > cleaned["total"]:
        raise Conflict.single("total", "below_refunded", f"the order has {refunded_total} refunded already")
    if refunded_total > 0 and cleaned["status"] not in (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED):
        cleaned["status"] = current_status


@transaction.atomic
def upsert_order(*, data: Mapping[str, Any], actor: Actor, cache: CatalogueCache | None = None) -> tuple[Order, bool]:
    """Create the order, or bring an existing (channel, external id) up to date. Idempotent."""
    cleaned = clean_order(data, cache=cache or CatalogueCache())
    lines = cleaned.pop("lines")
    existing = (
        Order.objects.select_for_update().filter(channel=cleaned["channel"], external_id=cleaned["external_id"]).first()
    )
    if existing is None:
        order = Order.objects.create(**cleaned)
        OrderLine.objects.bulk_create(OrderLine(order=order, **line) for line in lines)
        refresh_customer_stats([order.customer_id])
        record(
            actor,
            AuditEntry.Action.CREATE,
            obj=order,
            changes={"total": str(order.total), "status": order.status, "customer_id": order.customer_id},
        )
        order_saved.send(sender=Order, order=order, created=True, previous_status="")
        return order, True

    keep_refund_rules(existing.refunded_total, existing.status, cleaned)
    previous_customer = existing.customer_id
    previous_status = existing.status
    changes = {
        field: _audited(field, getattr(existing, field), value)
        for field, value in cleaned.items()
        if getattr(existing, field) != value
    }
    current_lines = [
        {"sku": li.sku, "name": li.name, "quantity": li.quantity, "unit_price": li.unit_price}
        for li in existing.lines.all()
    ]
    lines_changed = _lines_signature(current_lines) != _lines_signature(lines)
    if not changes and not lines_changed:
        return existing, False
    for field, value in cleaned.items():
        setattr(existing, field, value)
    existing.save()
    if lines_changed:
        existing.lines.all().delete()
        OrderLine.objects.bulk_create(OrderLine(order=existing, **line) for line in lines)
        changes["lines"] = [str(len(current_lines)), str(len(lines))]
    refresh_customer_stats([previous_customer, existing.customer_id])
    record(actor, AuditEntry.Action.UPDATE, obj=existing, changes=changes)
    order_saved.send(sender=Order, order=existing, created=False, previous_status=previous_status)
    return existing, False


def _audited(field: str, old: Any, new: Any) -> list[str]:
    """An order field's change as the audit log keeps it: personal data masked."""
    if field == "shipping_address":
        return [pii.mask_text(old, keep_start=6), pii.mask_text(new, keep_start=6)]
    return [str(old), str(new)]


@transaction.atomic
def set_order_status(order: Order, *, status: str, actor: Actor) -> Order:
    if status not in OrderStatus.values:
        raise InvalidInput.single("status", "invalid", f"one of: {', '.join(OrderStatus.values)}")
    if status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        raise InvalidInput.single("status", "invalid", "refund statuses follow from recorded refunds")
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.refunded_total > 0:
        raise Conflict.single("status", "refunded", "an order with refunds keeps its refund status")
    old = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    refresh_customer_stats([locked.customer_id])
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"status": [old, status]})
    order_saved.send(sender=Order, order=locked, created=False, previous_status=old)
    return locked


@transaction.atomic
def record_refund(
    order: Order,
    *,
    external_id: str,
    amount: Any,
    actor: Actor,
    reason: str = "",
    refunded_at: Any = None,
) -> tuple[Refund, bool]:
    """Refund part or all of an order, once per (order, external id).

    Sending the same refund again returns the first one; a different amount under the same
    id is a conflict. The order's refunded total and status, and the customer's statistics,
    move in the same transaction.
    """
    external_id, money, when, reason = clean_refund(
        external_id=external_id, amount=amount, reason=reason, refunded_at=refunded_at
    )
    locked = Order.objects.select_for_update().get(pk=order.pk)
    existing = Refund.objects.filter(order=locked, external_id=external_id).first()
    if existing is not None:
        check_same_refund(external_id, existing.amount, money)
        return existing, False
    locked.status = apply_refund(locked.status, locked.total, locked.refunded_total, money)
    refund = Refund.objects.create(
        order=locked,
        external_id=external_id,
        amount=money,
        reason=reason,
        status=RefundStatus.COMPLETED,
        refunded_at=when,
    )
    locked.refunded_total += money
    locked.save(update_fields=["refunded_total", "status", "updated_at"])
    refresh_customer_stats([locked.customer_id])
    record(
        actor,
        AuditEntry.Action.CREATE,
        obj=refund,
        changes={"order_id": locked.pk, "amount": str(money), "order_status": locked.status},
    )
    refund_recorded.send(sender=Refund, refund=refund)
    return refund, True


def clean_refund(*, external_id: Any, amount: Any, reason: Any, refunded_at: Any) -> tuple[str, Decimal, Any, str]:
    """A refund's id, amount, time (now when not given) and reason, or ``InvalidInput`` naming each
    bad field: the rules of every refund write (API, console, import)."""
    from django.utils import timezone

    errors: list[FieldError] = []
    external_id = str(external_id or "").strip()
    if not external_id or len(external_id) > 128:
        errors.append(FieldError("external_id", "required", "a refund id of 1 to 128 characters"))
    money = parse_money(amount, field="amount", errors=errors, allow_zero=False)
    when = timezone.now()
    if refunded_at not in (None, ""):
        try:
            when = parse_aware_datetime(refunded_at)
        except ValueError as exc:
            errors.append(FieldError("refunded_at", "invalid", str(exc)))
    if len(reason or "") > 200:
        errors.append(FieldError("reason", "too_long", "at most 200 characters"))
    if errors:
        raise InvalidInput(errors)
    assert money is not None
    return external_id, money, when, (reason or "").strip()


def check_same_refund(external_id: str, recorded: Decimal, amount: Decimal) -> None:
    """A refund sent again is the same refund; under the same id with another amount, a conflict."""
    if recorded != amount:
        raise Conflict.single("external_id", "duplicate", f"refund {external_id!r} was recorded with amount {recorded}")


def apply_refund(status: str, total: Decimal, refunded_total: Decimal, amount: Decimal) -> str:
    """The order's status after refunding ``amount`` more; ``Conflict`` when it cannot be refunded."""
    if status in (OrderStatus.PENDING, OrderStatus.CANCELLED):
        raise Conflict.single("order", "not_paid", f"an order that is {status} cannot be refunded")
    refundable = total - refunded_total
    if amount > refundable:
        raise Conflict.single("amount", "exceeds_refundable", f"at most {refundable} can still be refunded")
    return OrderStatus.REFUNDED if refunded_total + amount == total else OrderStatus.PARTIALLY_REFUNDED


def bulk_upsert_products(items: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[tuple[Product, bool]]:
    cache = CatalogueCache()
    return all_or_nothing(items, lambda item: upsert_product(data=item, actor=actor, cache=cache))


def bulk_upsert_orders(items: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[tuple[Order, bool]]:
    cache = CatalogueCache()
    return all_or_nothing(items, lambda item: upsert_order(data=item, actor=actor, cache=cache))


def get_order(pk: int) -> Order:
    order = Order.objects.filter(pk=pk).first()
    if order is None:
        raise NotFound.single("id", "not_found", f"no order #{pk}")
    return order


def refundable_amount(order: Order) -> Decimal:
    return order.net_total
