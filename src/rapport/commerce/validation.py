"""Cleaning raw product, category, order and refund input into model values or field errors.

Shared by the API, the importer and the demo loader, with caches so bulk paths stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from rapport.commerce.models import Category, OrderStatus, Product
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers.queries import identity_owners
from rapport.customers.validation import LookupCache, parse_aware_datetime

MAX_MONEY = Decimal("999999999999.99")
CENT = Decimal("0.01")


def parse_money(value: Any, *, field: str, errors: list[FieldError], allow_zero: bool = True) -> Decimal | None:
    if isinstance(value, float):  # floats are not money: 0.1 + 0.2 != 0.3
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.append(FieldError(field, "invalid", f"{value!r} is not an amount"))
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        errors.append(FieldError(field, "invalid", "an amount between 0 and 999,999,999,999.99"))
        return None
    if amount != amount.quantize(CENT):
        errors.append(FieldError(field, "invalid", "at most 2 decimal places"))
        return None
    if not allow_zero and amount == 0:
        errors.append(FieldError(field, "invalid", "must be more than zero"))
        return None
    return amount.quantize(CENT)


def clean_currency(value: Any, *, field: str, errors: list[FieldError]) -> str:
    currency = str(value or settings.RAPPORT_CURRENCY).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors.append(FieldError(field, "invalid", "an ISO 4217 currency code such as CNY"))
    return currency


class CatalogueCache(LookupCache):
    """Adds products by SKU, categories by code and identities to the profile lookups."""

    def __init__(self) -> None:
        super().__init__()
        self._products: dict[str, Product] = {}
        self._categories: dict[str, Category] | None = None
        self._identities: dict[tuple[str, str], int] = {}

    def categories(self) -> dict[str, Category]:
        if self._categories is None:
            self._categories = {c.code: c for c in Category.objects.all()}
        return self._categories

    def category(self, value: Any) -> Category | None:
        cats = self.categories()
        text = str(value).strip()
        if text in cats:
            return cats[text]
        if text.isdigit():
            return next((c for c in cats.values() if c.pk == int(text)), None)
        return None

    def prefetch_products(self, skus: set[str]) -> None:
        missing = [s for s in skus if s not in self._products]
        for product in Product.objects.filter(sku__in=missing):
            self._products[product.sku] = product

    def product(self, sku: str) -> Product | None:
        if sku not in self._products:
            self.prefetch_products({sku})
        return self._products.get(sku)

    def prefetch_identities(self, keys: set[tuple[str, str]]) -> None:
        missing = {k for k in keys if k not in self._identities}
        self._identities.update(identity_owners(missing))

    def customer_for_identity(self, channel: str, external_id: str) -> int | None:
        key = (channel, external_id)
        if key not in self._identities:
            self.prefetch_identities({key})
        return self._identities.get(key)


# The descriptive fields of a product and their longest values.
PRODUCT_TEXT_LIMITS = {"brand": 120, "description": 5000, "spu": 64, "variant": 120}
PRODUCT_URLS = ("image_url", "product_url")


def _clean_product_details(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Brand, description, SPU/variant and the two links: optional text, links http(s) only."""
    cleaned: dict[str, Any] = {}
    for field, limit in PRODUCT_TEXT_LIMITS.items():
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors.append(FieldError(field, "too_long", f"at most {limit} characters"))
            cleaned[field] = text
    for field in PRODUCT_URLS:
        if field in data:
            url = str(data[field] or "").strip()
            if url and (len(url) > 500 or not url.startswith(("https://", "http://")) or " " in url):
                errors.append(FieldError(field, "invalid", "an http(s) address of at most 500 characters"))
            cleaned[field] = url
    return cleaned


def clean_product(data: Mapping[str, Any], *, cache: CatalogueCache, partial: bool = False) -> dict[str, Any]:
    allowed = {"sku", "name", "category", "price", "currency", "is_active", *PRODUCT_TEXT_LIMITS, *PRODUCT_URLS}
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in allowed]
    cleaned: dict[str, Any] = _clean_product_details(data, errors)
    if "sku" in data or not partial:
        sku = str(data.get("sku") or "").strip()
        if not sku or len(sku) > 64:
            errors.append(FieldError("sku", "required", "a SKU of 1 to 64 characters"))
        cleaned["sku"] = sku
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.append(FieldError("name", "required", "a product name of 1 to 200 characters"))
        cleaned["name"] = name
    if "price" in data or not partial:
        if data.get("price") in (None, ""):
            errors.append(FieldError("price", "required", "a price is required"))
        else:
            cleaned["price"] = parse_money(data["price"], field="price", errors=errors)
    if "currency" in data:
        cleaned["currency"] = clean_currency(data["currency"], field="currency", errors=errors)
    if "category" in data:
        if data["category"] in (None, ""):
            cleaned["category_id"] = None
        else:
            category = cache.category(data["category"])
            if category is None:
                errors.append(FieldError("category", "not_found", f"no category {data['category']!r}"))
            else:
                cleaned["category_id"] = category.pk
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput(errors)
    return cleaned


ORDER_FIELDS = {
    "channel",
    "external_id",
    "customer_id",
    "customer_external_id",
    "store",
    "status",
    "currency",
    "discount_total",
    "shipping_total",
    "total",
    "placed_at",
    "carrier",
    "tracking_number",
    "shipped_at",
    "shipping_address",
    "lines",
}
LINE_FIELDS = {"sku", "name", "quantity", "unit_price"}
ORDER_STATUSES = frozenset(OrderStatus.values)  # the enum builds its list anew on every read


def _order_customer_id(
    data: Mapping[str, Any], channel: str, cache: CatalogueCache, errors: list[FieldError]
) -> int | None:
    """The buyer: a customer id, or the id the channel knows them by (or nobody, a guest order)."""
    if data.get("customer_id") not in (None, ""):
        from rapport.customers.models import Customer

        try:
            customer_id = int(data["customer_id"])
        except (TypeError, ValueError):
            errors.append(FieldError("customer_id", "invalid", "a customer id is a whole number"))
            return None
        if not Customer.objects.filter(pk=customer_id).exists():
            errors.append(FieldError("customer_id", "not_found", f"no customer #{customer_id}"))
        return customer_id
    if data.get("customer_external_id") not in (None, ""):
        found = cache.customer_for_identity(channel, str(data["customer_external_id"]).strip())
        if found is None:
            errors.append(
                FieldError(
                    "customer_external_id",
                    "not_found",
                    f"no customer known to {channel!r} as {data['customer_external_id']!r}",
                )
            )
        return found
    return None


def _order_store(data: Mapping[str, Any], cache: CatalogueCache, errors: list[FieldError]) -> dict[str, Any]:
    if data.get("store") in (None, ""):
        return {"store_id": None}
    store = cache.store(data["store"])
    if store is None:
        errors.append(FieldError("store", "not_found", f"no store {data['store']!r}"))
        return {}
    return {"store_id": store.pk}


def _order_shipping(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Carrier, tracking number, address and shipping time: optional, blank when not given."""
    cleaned: dict[str, Any] = {}
    for name in ("carrier", "tracking_number"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value.strip()) > 60):
            errors.append(FieldError(name, "invalid", "text of at most 60 characters"))
        cleaned[name] = value.strip() if isinstance(value, str) else ""
    _clean_shipping_address(data.get("shipping_address"), cleaned, errors)
    cleaned["shipped_at"] = None
    if data.get("shipped_at") not in (None, ""):
        try:
            cleaned["shipped_at"] = parse_aware_datetime(data["shipped_at"])
        except ValueError as exc:
            errors.append(FieldError("shipped_at", "invalid", str(exc)))
    return cleaned


def _order_lines(lines_in: Any, cache: CatalogueCache, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(lines_in, list) or not lines_in:
        errors.append(FieldError("lines", "required", "an order has at least one line"))
        return []
    cache.prefetch_products({str(line.get("sku", "")).strip() for line in lines_in if isinstance(line, Mapping)})
    return [_clean_line(line, index=i, cache=cache, errors=errors) for i, line in enumerate(lines_in)]


def _order_totals(data: Mapping[str, Any], subtotal: Decimal, errors: list[FieldError]) -> dict[str, Any]:
    """Discount and shipping as given; the total as given, or computed from the lines."""
    discount = parse_money(data.get("discount_total") or 0, field="discount_total", errors=errors) or Decimal("0.00")
    shipping = parse_money(data.get("shipping_total") or 0, field="shipping_total", errors=errors) or Decimal("0.00")
    if data.get("total") not in (None, ""):
        total = parse_money(data["total"], field="total", errors=errors)
    else:
        computed = subtotal - discount + shipping
        if computed < 0:
            errors.append(FieldError("discount_total", "invalid", "the discount exceeds the subtotal"))
        total = max(computed, Decimal("0.00"))
    return {"discount_total": discount, "shipping_total": shipping, "total": total}


def clean_order(data: Mapping[str, Any], *, cache: CatalogueCache) -> dict[str, Any]:
    """Clean an order with its lines. Totals are computed from the lines unless given."""
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in ORDER_FIELDS]
    cleaned: dict[str, Any] = {}
    channel = str(data.get("channel") or "").strip()
    external_id = str(data.get("external_id") or "").strip()
    if not channel or len(channel) > 40:
        errors.append(FieldError("channel", "required", "a channel of 1 to 40 characters"))
    if not external_id or len(external_id) > 128:
        errors.append(FieldError("external_id", "required", "an external id of 1 to 128 characters"))
    cleaned["channel"], cleaned["external_id"] = channel, external_id
    cleaned["customer_id"] = _order_customer_id(data, channel, cache, errors)
    cleaned.update(_order_store(data, cache, errors))

    status = str(data.get("status") or OrderStatus.PAID).strip()
    if status not in ORDER_STATUSES:
        errors.append(FieldError("status", "invalid", f"one of: {', '.join(OrderStatus.values)}"))
    cleaned["status"] = status
    cleaned["currency"] = clean_currency(data.get("currency"), field="currency", errors=errors)

    if data.get("placed_at") in (None, ""):
        errors.append(FieldError("placed_at", "required", "when the order was placed"))
    else:
        try:
            cleaned["placed_at"] = parse_aware_datetime(data["placed_at"])
        except ValueError as exc:
            errors.append(FieldError("placed_at", "invalid", str(exc)))
    cleaned.update(_order_shipping(data, errors))

    lines = _order_lines(data.get("lines"), cache, errors)
    subtotal = sum((line.get("line_total") or Decimal(0) for line in lines), Decimal("0.00"))
    cleaned["lines"] = lines
    cleaned["subtotal"] = subtotal
    cleaned.update(_order_totals(data, subtotal, errors))
    if errors:
        raise InvalidInput(errors)
    return cleaned


class BulkOrderCleaner:
    """:func:`clean_order` for the many orders of an import, several times faster.

    Prices, quantities, statuses and totals repeat across an export, so each distinct text is
    read once (by the same rule functions the cleaner uses) and remembered; the order's own values
    are then assembled without the cleaner's generic checks. Anything out of the ordinary (a value
    that is not text, a customer given by id, a field a rule refuses) goes to :func:`clean_order`
    itself, so an error is always the cleaner's own, with its field and reason. The property test
    in ``commerce/tests/test_bulk_order_cleaner.py`` checks that both agree on random orders.
    """

    def __init__(self, cache: CatalogueCache) -> None:
        self.cache = cache
        self._money: dict[str, Decimal | None] = {}
        self._quantities: dict[str, int | None] = {}
        self._products: dict[str, Product | None] = {}
        self.default_currency = clean_currency(None, field="currency", errors=[])

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The cleaned order, as :func:`clean_order` returns it; raises its ``InvalidInput`` if any."""
        cleaned = self._fast(data)
        return cleaned if cleaned is not None else clean_order(data, cache=self.cache)

    def money(self, value: Any) -> Decimal | None:
        """``parse_money`` of a text, remembered; None when the rule refuses it (or it is not text)."""
        if type(value) is not str:
            return None
        try:
            return self._money[value]
        except KeyError:
            errors: list[FieldError] = []
            amount = parse_money(value, field="", errors=errors)
            self._money[value] = amount = None if errors else amount
            return amount

    def quantity(self, value: Any) -> int | None:
        if type(value) is not str:
            return None
        try:
            return self._quantities[value]
        except KeyError:
            self._quantities[value] = quantity = parse_quantity(value)
            return quantity

    def _product(self, sku: str) -> Product | None:
        try:
            return self._products[sku]
        except KeyError:
            self._products[sku] = product = self.cache.product(sku)
            return product

    def _fast(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if not data.keys() <= ORDER_FIELDS or "customer_id" in data:
            return None
        channel, external_id = data.get("channel"), data.get("external_id")
        if type(channel) is not str or type(external_id) is not str:
            return None
        channel, external_id = channel.strip(), external_id.strip()
        if not channel or len(channel) > 40 or not external_id or len(external_id) > 128:
            return None
        errors: list[FieldError] = []
        cleaned: dict[str, Any] = {"channel": channel, "external_id": external_id}
        cleaned["customer_id"] = _order_customer_id(data, channel, self.cache, errors)
        cleaned.update(_order_store(data, self.cache, errors))
        status = data.get("status") or OrderStatus.PAID.value
        if type(status) is not str or (status := status.strip()) not in ORDER_STATUSES:
            return None
        cleaned["status"] = status
        currency = data.get("currency")
        default = self.default_currency
        cleaned["currency"] = clean_currency(currency, field="currency", errors=errors) if currency else default
        placed_at = data.get("placed_at")
        if placed_at in (None, ""):
            return None
        try:
            cleaned["placed_at"] = parse_aware_datetime(placed_at)
        except ValueError:
            return None
        cleaned.update(_order_shipping(data, errors))
        if errors:
            return None
        lines = self._lines(data.get("lines"))
        if lines is None:
            return None
        subtotal = sum((line["line_total"] for line in lines), Decimal("0.00"))
        cleaned["lines"] = lines
        cleaned["subtotal"] = subtotal
        totals = self._totals(data, subtotal)
        if totals is None:
            return None
        cleaned.update(totals)
        return cleaned

    def _lines(self, lines_in: Any) -> list[dict[str, Any]] | None:
        if type(lines_in) is not list or not lines_in:
            return None
        lines = []
        for line in lines_in:
            if type(line) is not dict or not line.keys() <= LINE_FIELDS:
                return None
            cleaned = self.line(line.get("sku"), line.get("name"), line.get("quantity", ""), line.get("unit_price"))
            if cleaned is None:
                return None
            lines.append(cleaned)
        return lines

    def line(self, sku: Any, name: Any, quantity_text: Any, unit_price: Any) -> dict[str, Any] | None:
        """One line as ``_clean_line`` cleans it (its fields given, or None when absent); None where
        that would report an error. Shared with the import's row-level path
        (:class:`rapport.imports.services.OrderRows`)."""
        if type(sku) is not str:
            return None
        sku = sku.strip()
        if not sku or len(sku) > 64:
            return None
        product = self._product(sku)
        name = name or (product.name if product else "")
        quantity = self.quantity(quantity_text)
        if type(name) is not str or not (name := name.strip()) or quantity is None:
            return None
        price = (product.price if product else None) if unit_price in (None, "") else self.money(unit_price)
        if price is None:
            return None
        return _line_row(product, sku, name, quantity, price, (price * quantity).quantize(CENT))

    def _totals(self, data: Mapping[str, Any], subtotal: Decimal) -> dict[str, Any] | None:
        return self.totals(data.get("discount_total"), data.get("shipping_total"), data.get("total"), subtotal)

    def totals(
        self, discount_text: Any, shipping_text: Any, total_text: Any, subtotal: Decimal
    ) -> dict[str, Any] | None:
        """``_order_totals`` on remembered amounts (each given, or None when absent); None where it
        would report an error."""
        discount = self.money(discount_text or "0")
        shipping = self.money(shipping_text or "0")
        if discount is None or shipping is None:
            return None
        discount, shipping = discount or Decimal("0.00"), shipping or Decimal("0.00")
        if total_text not in (None, ""):
            total = self.money(total_text)
            if total is None:
                return None
        else:
            total = subtotal - discount + shipping
            if total < 0:
                return None
        return {"discount_total": discount, "shipping_total": shipping, "total": total}


def _clean_shipping_address(value: Any, cleaned: dict[str, Any], errors: list[FieldError]) -> None:
    """Set only when given: an order sent again without its address keeps the stored one."""
    if value in (None, ""):
        return
    if not isinstance(value, str) or len(value.strip()) > 500:
        errors.append(FieldError("shipping_address", "invalid", "text of at most 500 characters"))
        return
    cleaned["shipping_address"] = value.strip()


def parse_quantity(value: Any) -> int | None:
    """A line's quantity: a whole number from 1 to 100000, or None."""
    try:
        quantity = int(str(value).strip())
    except ValueError:
        return None
    return quantity if 0 < quantity <= 100000 else None


def _clean_line(line: Any, *, index: int, cache: CatalogueCache, errors: list[FieldError]) -> dict[str, Any]:
    prefix = f"lines.{index}."
    if not isinstance(line, Mapping):
        errors.append(FieldError(f"lines.{index}", "invalid", "a line is an object with sku, quantity, unit_price"))
        return {}
    errors.extend(FieldError(f"{prefix}{k}", "unknown_field", "unknown field") for k in line if k not in LINE_FIELDS)
    sku = str(line.get("sku") or "").strip()
    product = cache.product(sku) if sku else None
    if not sku or len(sku) > 64:
        errors.append(FieldError(f"{prefix}sku", "required", "a SKU of 1 to 64 characters"))
    name = str(line.get("name") or (product.name if product else "")).strip()
    if not name:
        errors.append(FieldError(f"{prefix}name", "required", "a name, since the SKU is not in the catalogue"))
    quantity = parse_quantity(line.get("quantity", ""))
    if quantity is None:
        errors.append(FieldError(f"{prefix}quantity", "invalid", "a whole number from 1 to 100000"))
        quantity = 0
    if line.get("unit_price") in (None, ""):
        price = product.price if product else None
        if price is None:
            errors.append(FieldError(f"{prefix}unit_price", "required", "a unit price"))
    else:
        price = parse_money(line["unit_price"], field=f"{prefix}unit_price", errors=errors)
    line_total = (price * quantity).quantize(CENT) if price is not None and quantity else None
    return _line_row(product, sku, name, quantity, price, line_total)


def _line_row(product: Any, sku: str, name: str, quantity: Any, price: Any, line_total: Any) -> dict[str, Any]:
    """One cleaned order line, the same shape from the API's cleaner and the import's fast path."""
    return {
        "product_id": product.pk if product else None,
        "sku": sku,
        "name": name[:200],
        "quantity": quantity,
        "unit_price": price,
        "line_total": line_total,
    }
