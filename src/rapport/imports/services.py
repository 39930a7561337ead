"""Importing a file of customers, orders or products through the domain services.

Every row is cleaned by the same cleaners as the API and written by the same upsert services
(:func:`rapport.customers.services.upsert_customer`, :func:`rapport.commerce.services.upsert_order`,
:func:`rapport.commerce.services.upsert_product`), so an import records change history and audit
entries and keeps customer statistics right, and importing the same file twice changes nothing.

Rows are processed in batches, one transaction per batch and a savepoint per row: a bad row
rolls back to its savepoint and leaves nothing behind, the good rows around it are kept. Each
rejected row goes to the report (CSV: line, field, code, message, then the row as it was).

Rules of the file format:

- blank cells mean "not given": they never clear a value that is already stored;
- date-times without an offset are in ``RAPPORT_DEFAULT_TIME_ZONE`` (exports write local time);
- orders: consecutive rows with the same order number are the lines of one order (sku, product
  name, quantity, unit price per row; order columns are read from the order's first row). A file
  without a ``sku`` column has one summary line per order (SKU ``UNSPECIFIED``, the quantity
  column or 1, priced so the lines add up to the order total).
- created/updated count customers, orders and products; rows and rejected count file rows.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DataError, IntegrityError, models, transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce import models as commerce_models
from rapport.commerce import services as commerce_services
from rapport.commerce.models import OrderStatus
from rapport.commerce.stats import deferred_stats
from rapport.commerce.validation import ORDER_STATUSES, BulkOrderCleaner, CatalogueCache
from rapport.core import jobs
from rapport.core.actor import Actor, Source
from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import DomainError, FieldError, InvalidInput
from rapport.core.tabular import CsvWriter
from rapport.customers import services as customer_services
from rapport.customers.validation import LookupCache
from rapport.imports import engine, files, indexes, presets, staging
from rapport.imports import mapping as m
from rapport.imports.kinds import HISTORY_ONLY
from rapport.imports.models import ImportJob
from rapport.imports.readers import UnusableFile, open_table

__all__ = ["ImportResult", "RowError", "UnusableFile", "import_file", "run_job", "start_job"]

DEFAULT_BATCH_SIZE = 500  # live mode: rows a transaction (each row runs the services)
SUMMARY_SKU = "UNSPECIFIED"
SUMMARY_NAME = "Unspecified items"
REPORT_HEADER = ["line", "field", "code", "message"]
_CENT = Decimal("0.01")

Row = tuple[int, list[str]]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    code: str
    message: str


@dataclass
class ImportResult:
    kind: str
    file_name: str = ""
    total_rows: int = 0
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    columns: list[tuple[str, str]] = field(default_factory=list)
    ignored_columns: list[tuple[str, str]] = field(default_factory=list)
    first_errors: list[RowError] = field(default_factory=list)
    report_path: str = ""
    dry_run: bool = False
    mode: str = "history"
    unchanged: int = 0
    cancelled: bool = False
    committed_line: int = 0
    touched: set[int] = field(default_factory=set, repr=False)
    # customers whose orders the job changed: their statistics are written once, at the end
    buyers: set[int] = field(default_factory=set, repr=False)
    # when the job's first run began (a resumed run recomputes what the earlier runs wrote since)
    resumed_since: dt.datetime | None = None
    clock: engine.PhaseClock = field(default_factory=engine.PhaseClock, repr=False)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def absorb(self, earlier: ImportResult) -> None:
        """Carry the counts of an interrupted run that this one resumes."""
        carried = ("processed_rows", "created", "updated", "unchanged", "rejected", "committed_line", "resumed_since")
        for name in carried:
            setattr(self, name, getattr(earlier, name))
        self.first_errors = list(earlier.first_errors)

    @property
    def rows_per_second(self) -> float:
        return self.processed_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        unchanged = f", {self.unchanged} unchanged" if self.mode == "history" else ""
        stopped = " (cancelled: the chunks committed before the cancel are kept)" if self.cancelled else ""
        return (
            f"{self.processed_rows} rows: {self.created} {self.kind} {verb}created, {self.updated} {verb}updated, "
            f"{self.rejected} rows rejected{unchanged} in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s){stopped}"
        )


class ImportCache(CatalogueCache):
    """The commerce lookups, remembering misses too: an unknown SKU is looked up once per import."""

    def __init__(self) -> None:
        super().__init__()
        self._missing_skus: set[str] = set()
        self._missing_identities: set[tuple[str, str]] = set()

    def prefetch_products(self, skus: set[str]) -> None:
        wanted = skus - self._products.keys() - self._missing_skus  # set arithmetic: called for every order
        wanted.discard("")
        if wanted:
            super().prefetch_products(wanted)
            self._missing_skus |= {s for s in wanted if s not in self._products}

    def prefetch_identities(self, keys: set[tuple[str, str]]) -> None:
        wanted = {k for k in keys if k not in self._identities and k not in self._missing_identities}
        if wanted:
            self._identities.update(engine.identity_owners(wanted))
            self._missing_identities |= {k for k in wanted if k not in self._identities}


class _Report:
    """The rejected-rows CSV, opened on first use; UTF-8 with BOM so spreadsheets read Chinese.

    Written through :class:`rapport.core.tabular.CsvWriter`, so a cell of the file that looks
    like a formula is written as text. A resumed job appends to the report of its first run.
    """

    def __init__(self, path: Path | None, header: list[str], *, append: bool = False, encrypted: bool = False) -> None:
        self.path = path
        self.header = header
        self.append = append and path is not None and path.is_file()
        self.encrypted = encrypted
        self._handle: IO[str] | None = None
        self._writer: CsvWriter | None = None

    def _open(self) -> CsvWriter | None:
        if self._writer is None and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.encrypted:
                self._handle = files.open_encrypted_text_writer(self.path, append=self.append)
                if not self.append:
                    self._handle.write("\ufeff")
            else:
                self._handle = self.path.open("a" if self.append else "w", encoding="utf-8", newline="")
                if not self.append:
                    self._handle.write("\ufeff")
            self._writer = CsvWriter(self._handle)
            if not self.append:
                self._writer.writerow(REPORT_HEADER + self.header)
        return self._writer

    def write(self, error: RowError, values: Iterable[str] = ()) -> None:
        writer = self._open()
        if writer is not None:
            writer.writerow([error.line, error.field, error.code, error.message, *values])

    def close(self) -> None:
        self._open()  # a report that was asked for exists, even when nothing was rejected
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# Turning rows into service input ------------------------------------------------------------


class _Kind:
    """How one kind of row becomes a service call. ``units`` groups rows; ``apply`` writes one."""

    def __init__(self, plan: m.ColumnPlan, *, channel: str, actor: Actor, time_zone: str) -> None:
        self.plan = plan
        self.channel = channel
        self.actor = actor
        self.time_zone = time_zone

    def values(self, row: list[str]) -> dict[str, str]:
        return self.plan.values(row)

    def units(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        for row in rows:
            yield [row]

    def prepare(self, batch: list[list[Row]]) -> None:
        """Load what a batch will look up, in a few queries instead of one per row."""

    def apply(self, unit: list[Row]) -> bool:
        raise NotImplementedError

    def error_lines(self, unit: list[Row], errors: list[FieldError]) -> list[RowError]:
        line = unit[0][0]
        return [RowError(line, e.field, e.code, e.message) for e in errors]


class _Customers(_Kind):
    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.cache = LookupCache()

    def apply(self, unit: list[Row]) -> bool:
        channel, external_id, data = m.customer_data(
            self.values(unit[0][1]), channel=self.channel, time_zone=self.time_zone
        )
        _customer, created = customer_services.upsert_customer(
            channel=channel, external_id=external_id, data=data, actor=self.actor, cache=self.cache
        )
        return created


class _Products(_Kind):
    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.cache = ImportCache()

    def apply(self, unit: list[Row]) -> bool:
        data = engine.product_row(self.values(unit[0][1]), cache=self.cache)
        _product, created = commerce_services.upsert_product(data=data, actor=self.actor, cache=self.cache)
        return created


_ORDER_LEVEL = {
    "channel",
    "external_id",
    "customer_external_id",
    "store",
    "status",
    "currency",
    "placed_at",
    "total",
    "discount_total",
    "shipping_total",
    "shipping_address",
}


# the columns :meth:`OrderRows.clean_cells` reads; a file with any other column takes the general path
ROW_LEVEL_TARGETS = frozenset(
    {
        "external_id",
        "customer_external_id",
        "placed_at",
        "status",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
        "discount_total",
        "shipping_total",
        "total",
        "shipping_address",
    }
)
_PLAIN_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


@dataclass(frozen=True)
class _CellIndexes:
    """Where each column of the row-level path is in a row (None: not in the file)."""

    channel: str
    width: int
    external_id: int
    placed_at: int
    sku: int
    customer: int | None
    status: int | None
    name: int | None
    quantity: int | None
    unit_price: int | None
    address: int | None
    totals: tuple[int | None, int | None, int | None]  # discount, shipping, total

    @classmethod
    def of(cls, plan: m.ColumnPlan, channel: str) -> _CellIndexes | None:
        """The indexes, or None when the file does not suit the row-level path (another column,
        a field named by two columns, no SKU or order time, a channel the cleaner would refuse)."""
        at = {target: index for index, target in plan.targets.items()}
        if len(at) != len(plan.targets) or not at.keys() <= ROW_LEVEL_TARGETS:
            return None
        if not {"external_id", "placed_at", "sku"} <= at.keys() or not 0 < len(channel.strip()) <= 40:
            return None
        return cls(
            channel=channel.strip(),
            width=max(at.values()) + 1,
            external_id=at["external_id"],
            placed_at=at["placed_at"],
            sku=at["sku"],
            customer=at.get("customer_external_id"),
            status=at.get("status"),
            name=at.get("product_name"),
            quantity=at.get("quantity"),
            unit_price=at.get("unit_price"),
            address=at.get("shipping_address"),
            totals=(at.get("discount_total"), at.get("shipping_total"), at.get("total")),
        )


class OrderGrouper:
    """The rows of an order file as orders (consecutive rows with the same order number; a row
    without one is an order of its own), a chunk at a time: one loop reads, groups and fills the
    chunk, where generators stacked per layer cost more than the grouping itself."""

    def __init__(self, rows: Iterator[Row], key_index: int) -> None:
        self._rows = rows
        self._key_index = key_index
        self._group: list[Row] = []  # the order being read when the last chunk filled up
        self._key: str | None = None

    def fill(self, size: int) -> list[list[Row]]:
        """The next whole orders, about ``size`` file rows (at least one order); [] at the end."""
        chunk: list[list[Row]] = []
        count = 0
        group, key, at = self._group, self._key, self._key_index
        for row in self._rows:
            values = row[1]
            row_key = values[at] if at < len(values) else ""
            if group and (row_key != key or not row_key):
                chunk.append(group)
                count += len(group)
                group, key = [row], row_key
                if count >= size:
                    break
                continue
            group.append(row)
            key = row_key
        else:
            if group:
                chunk.append(group)
                group = []
        self._group, self._key = group, key
        return chunk


class OrderRows:
    """Rows of an order file as orders: grouping, look-ups, service input, errors by file line.

    Shared by the live path (per-row service) and the set-based engine.
    """

    def __init__(self, plan: m.ColumnPlan, *, channel: str, time_zone: str) -> None:
        self.plan = plan
        self.channel = channel
        self.time_zone = time_zone
        self.key_index = next(i for i, t in plan.targets.items() if t == "external_id")
        self.has_sku = "sku" in plan.fields
        # the values of the prepared chunk's rows by line, read once for the look-ups and the cleaning
        self._prepared: dict[int, dict[str, str]] = {}
        self.cells = _CellIndexes.of(plan, channel)
        self._zone = zoneinfo.ZoneInfo(time_zone)
        self._statuses: dict[str, str | None] = {}

    def values(self, row: list[str]) -> dict[str, str]:
        return self.plan.values(row)

    def units(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        """Consecutive rows with the same order number are one order."""
        orders = OrderGrouper(rows, self.key_index)
        while unit := orders.fill(1):
            yield unit[0]

    def prepare(self, batch: list[list[Row]], cache: ImportCache) -> None:
        """Load the customers and products a batch names, in a few queries instead of one per row."""
        if self.cells is not None:
            self._prepare_cells(batch, cache, self.cells)
            return
        customers: set[tuple[str, str]] = set()
        skus: set[str] = set()
        self._prepared = {line: self.values(row) for unit in batch for line, row in unit}
        for unit in batch:
            first = self._prepared[unit[0][0]]
            channel = first.get("channel") or self.channel
            if first.get("customer_external_id"):
                customers.add((channel, first["customer_external_id"]))
            if self.has_sku:
                skus.update(sku for line, _row in unit if (sku := self._prepared[line].get("sku")))
        if customers:
            cache.prefetch_identities(customers)
        if skus:
            cache.prefetch_products(skus)

    def _prepare_cells(self, batch: list[list[Row]], cache: ImportCache, cells: _CellIndexes) -> None:
        """:meth:`prepare` read from the cells (the row-level path builds no values per row)."""
        self._prepared = {}
        if cells.customer is not None:
            at = cells.customer
            cache.prefetch_identities({(self.channel, u[0][1][at]) for u in batch if len(u[0][1]) > at and u[0][1][at]})
        at = cells.sku
        cache.prefetch_products({row[at] for unit in batch for _line, row in unit if len(row) > at and row[at]})

    def clean_cells(self, unit: list[Row], cleaner: BulkOrderCleaner) -> dict[str, Any] | None:
        """``cleaner.clean(self.build(unit))`` read straight from the rows' cells, for a file whose
        columns are the common ones (:data:`ROW_LEVEL_TARGETS`): no values, service input or line
        dictionaries are built per row. The rules are the bulk cleaner's (its remembered amounts,
        quantities, products and lines); None for anything it is not sure of, which then takes
        the general path. ``imports/tests/test_row_level_orders.py`` checks on random rows that
        what it returns is what the API's ``clean_order`` returns for the same rows."""
        cells = self.cells
        if cells is None:
            return None
        first = unit[0][1]
        if len(first) < cells.width:
            return None
        external_id = first[cells.external_id].strip()
        if not external_id or len(external_id) > 128:
            return None
        customer_id = None
        if cells.customer is not None and (buyer := first[cells.customer]):
            customer_id = cleaner.cache.customer_for_identity(cells.channel, buyer.strip())
            if customer_id is None:
                return None
        status = self._status(first[cells.status] if cells.status is not None else "")
        placed_at = self._moment(first[cells.placed_at])
        if status is None or placed_at is None:
            return None
        lines = []
        for _line, row in unit:
            if len(row) < cells.width:
                return None
            line = cleaner.line(
                row[cells.sku],
                (row[cells.name] or None) if cells.name is not None else None,
                (row[cells.quantity] or "1") if cells.quantity is not None else "1",
                (row[cells.unit_price] or None) if cells.unit_price is not None else None,
            )
            if line is None:
                return None
            lines.append(line)
        subtotal = sum([line["line_total"] for line in lines], Decimal("0.00"))
        discount, shipping, total = (first[at] if at is not None else None for at in cells.totals)
        totals = cleaner.totals(discount, shipping, total, subtotal)
        if totals is None:
            return None
        cleaned = {
            "channel": cells.channel,
            "external_id": external_id,
            "customer_id": customer_id,
            "store_id": None,
            "status": status,
            "currency": cleaner.default_currency,
            "placed_at": placed_at,
            "carrier": "",
            "tracking_number": "",
            "shipped_at": None,
            "lines": lines,
            "subtotal": subtotal,
            **totals,
        }
        if cells.address is not None and (address := first[cells.address]):
            address = address.strip()
            if len(address) > 500:
                return None
            cleaned["shipping_address"] = address
        return cleaned

    def _status(self, text: str) -> str | None:
        """The status :meth:`build` and the cleaner make of a cell (remembered: a file has a few)."""
        try:
            return self._statuses[text]
        except KeyError:
            status = ((m.word(text, m.ORDER_STATUSES) if text else "") or OrderStatus.PAID.value).strip()
            known = status if status in ORDER_STATUSES else None
            if len(self._statuses) < 1000:
                self._statuses[text] = known
            return known

    def _moment(self, text: str) -> dt.datetime | None:
        """The order time as :meth:`build` (the shop's time zone) and the cleaner (UTC) read it.
        The common export form, ``2024-05-06 13:45:12``, is read by ``fromisoformat`` into the
        same local time :func:`~rapport.imports.mapping.local_datetime` builds, at half its cost."""
        if _PLAIN_LOCAL_TIME.fullmatch(text):
            try:
                return dt.datetime.fromisoformat(text).replace(tzinfo=self._zone).astimezone(dt.UTC)
            except ValueError:
                pass
        if not text:
            return None
        try:
            return parse_aware_datetime(m.local_datetime(text, self.time_zone) or text)
        except ValueError:
            return None

    def _values_of(self, line: int, row: list[str]) -> dict[str, str]:
        prepared = self._prepared.get(line)
        return prepared if prepared is not None else self.values(row)

    def build(self, unit: list[Row]) -> dict[str, Any]:
        first = self._values_of(*unit[0])
        data: dict[str, Any] = {k: v for k, v in first.items() if k in _ORDER_LEVEL}
        data.setdefault("channel", self.channel)
        if first.get("rapport_customer_id"):
            data["customer_id"] = first["rapport_customer_id"]
        if "status" in data:
            data["status"] = m.word(data["status"], m.ORDER_STATUSES)
        if "placed_at" in data:
            data["placed_at"] = m.local_datetime(data["placed_at"], self.time_zone) or data["placed_at"]
        if self.has_sku:
            lines = []
            for number, row in unit:
                values = self._values_of(number, row)
                line: dict[str, Any] = {"sku": values.get("sku", ""), "quantity": values.get("quantity", "1")}
                if values.get("product_name"):
                    line["name"] = values["product_name"]
                if values.get("unit_price"):
                    line["unit_price"] = values["unit_price"]
                lines.append(line)
            data["lines"] = lines
        else:
            data["lines"] = [self._summary_line(first)]
        return data

    def _summary_line(self, values: Mapping[str, str]) -> dict[str, Any]:
        quantity = values.get("quantity", "1")
        line: dict[str, Any] = {"sku": SUMMARY_SKU, "name": values.get("product_name") or SUMMARY_NAME}
        line["quantity"] = quantity
        if values.get("unit_price"):
            line["unit_price"] = values["unit_price"]
            return line
        if not values.get("total"):
            raise InvalidInput.single("total", "required", "a total, since the file has no sku column for lines")
        try:
            count = int(quantity)
            line["unit_price"] = str((Decimal(values["total"]) / max(count, 1)).quantize(_CENT, ROUND_HALF_UP))
        except (ValueError, InvalidOperation, ArithmeticError):
            line["unit_price"] = "0"  # the cleaner reports the bad total or quantity itself
        return line

    def error_lines(self, unit: list[Row], errors: list[FieldError]) -> list[tuple[int, FieldError]]:
        """Each error on the file line it is about: a line's error on its row, the order's on the first."""
        out = []
        for error in errors:
            line, name = unit[0][0], error.field
            parts = error.field.split(".", 2)
            if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(unit):
                line, name = unit[int(parts[1])][0], parts[2]
                name = {"name": "product_name"}.get(name, name)
            out.append((line, FieldError(name, error.code, error.message)))
        return out


class _Orders(_Kind):
    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.cache = ImportCache()
        self.rows = OrderRows(plan, channel=self.channel, time_zone=self.time_zone)

    def units(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        return self.rows.units(rows)

    def prepare(self, batch: list[list[Row]]) -> None:
        self.rows.prepare(batch, self.cache)

    def apply(self, unit: list[Row]) -> bool:
        _order, created = commerce_services.upsert_order(data=self.rows.build(unit), actor=self.actor, cache=self.cache)
        return created

    def error_lines(self, unit: list[Row], errors: list[FieldError]) -> list[RowError]:
        return [RowError(line, e.field, e.code, e.message) for line, e in self.rows.error_lines(unit, errors)]


class _Refunds(_Kind):
    def apply(self, unit: list[Row]) -> bool:
        data = self.values(unit[0][1])
        channel = data.get("channel") or self.channel
        order_id = data.get("order_external_id", "")
        order = commerce_models.Order.objects.filter(channel=channel, external_id=order_id).first()
        if order is None:
            raise InvalidInput.single("order_external_id", "not_found", f"no order {order_id!r} in {channel!r}")
        refunded_at = data.get("refunded_at")
        _refund, created = commerce_services.record_refund(
            order,
            external_id=data.get("external_id", ""),
            amount=data.get("amount", ""),
            reason=data.get("reason", ""),
            refunded_at=m.datetime_text(refunded_at, self.time_zone) if refunded_at else None,
            actor=self.actor,
        )
        return created


_KINDS: dict[str, type[_Kind]] = {
    m.CUSTOMERS: _Customers,
    m.ORDERS: _Orders,
    m.PRODUCTS: _Products,
    m.REFUNDS: _Refunds,
}


# The import ---------------------------------------------------------------------------------


def _custom_field_labels(kind: str) -> dict[str, str]:
    if kind != m.CUSTOMERS:
        return {}
    return {key: d.label for key, d in LookupCache().definitions().items()}


def _batches(units: Iterator[list[Row]], size: int) -> Iterator[list[list[Row]]]:
    batch: list[list[Row]] = []
    rows = 0
    for unit in units:
        batch.append(unit)
        rows += len(unit)
        if rows >= size:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


HISTORY, LIVE = "history", "live"
MODES = (HISTORY, LIVE)


def _check_mode(kind: str, mode: str) -> None:
    if mode not in MODES:
        raise UnusableFile(f"unknown import mode {mode!r}; one of: {', '.join(MODES)}")
    if mode == LIVE and kind in HISTORY_ONLY:
        raise UnusableFile(f"{kind} are imported as history only")


class Progress:
    """What a front door hears from a running import; every hook is optional.

    ``start`` once the columns are planned and the rows counted, ``chunk`` inside each chunk's
    transaction after its rows (to save progress with them, atomically), ``phase`` when the work
    moves on (reading, cleaning, merging, recomputing), ``stop`` between chunks: True cancels.
    """

    def __init__(
        self,
        *,
        start: Callable[[ImportResult], None] | None = None,
        chunk: Callable[[ImportResult], None] | None = None,
        phase: Callable[[str], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.start = start or (lambda result: None)
        self.chunk = chunk or (lambda result: None)
        self.phase = phase or (lambda name: None)
        self.stop = stop or (lambda: False)


def import_file(
    path: str | Path,
    *,
    kind: str,
    actor: Actor,
    channel: str = "import",
    mapping: Mapping[str, str] | None = None,
    report_path: str | Path | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    on_start: Callable[[ImportResult], None] | None = None,
    on_batch: Callable[[ImportResult], None] | None = None,
    audit_object: models.Model | None = None,
    mode: str = HISTORY,
    progress: Progress | None = None,
    resume: ImportResult | None = None,
    job_id: int | None = None,
    encrypt_report: bool = False,
    preset: str = "",
) -> ImportResult:
    """Import ``path`` (CSV or xlsx) as ``kind``; return the counts.

    ``mode`` history (the default for files) runs the set-based engine (:mod:`rapport.imports.engine`):
    no signal, message, point or journey; live writes row by row through the domain services, as
    the API does, with all their consequences. Raises :class:`UnusableFile` when the file as a
    whole cannot be imported; bad rows are counted and reported, never raised. ``resume`` (the
    counts of an interrupted run, with ``committed_line``) skips what that run committed. With
    ``dry_run`` every row is validated and written, then rolled back. The import as a whole gets
    one audit entry (on ``audit_object``, the job, when given). ``preset`` names the export the
    file comes from (:mod:`rapport.imports.presets`).
    """
    progress = progress or Progress(start=on_start, chunk=on_batch)
    channel = (channel or "").strip()
    if not channel or len(channel) > 40:
        raise UnusableFile("the channel is a name of 1 to 40 characters")
    if kind not in m.KINDS:
        raise UnusableFile(f"unknown import kind {kind!r}; one of: {', '.join(m.KINDS)}")
    _check_mode(kind, mode)
    presets.check(preset, kind)
    path = Path(path)
    result = ImportResult(kind=kind, file_name=path.name, dry_run=dry_run, mode=mode)
    if resume is not None:
        result.absorb(resume)
    progress.phase("reading")
    table = open_table(path)
    merger: engine.Merger | None = None
    with table:
        plan = presets.plan(preset, kind, table.header, mapping, custom_fields=_custom_field_labels(kind))
        result.total_rows = table.total_rows
        result.columns = plan.describe()
        result.ignored_columns = list(plan.ignored)
        if report_path:
            result.report_path = str(report_path)
        report = _Report(
            Path(report_path) if report_path else None,
            table.header,
            append=resume is not None,
            encrypted=encrypt_report,
        )
        try:
            if resume is None:
                for name, reason in plan.ignored:
                    report.write(RowError(1, name, "ignored_column", f"column not imported: {reason}"))
            progress.start(result)
            time_zone = settings.RAPPORT_DEFAULT_TIME_ZONE
            if mode == LIVE:
                handler = _KINDS[kind](plan, channel=channel, actor=actor, time_zone=time_zone)
                for batch in _batches(handler.units(table.rows()), max(batch_size or DEFAULT_BATCH_SIZE, 1)):
                    _run_batch(handler, batch, result, report, on_batch=progress.chunk, dry_run=dry_run)
                    if progress.stop():
                        result.cancelled = True
                        break
            else:
                merger = engine.MERGERS[kind](plan, channel=channel, actor=actor, time_zone=time_zone, job_id=job_id)
                chunk_rows = batch_size or engine.DEFAULT_CHUNK_ROWS
                _run_engine(merger, table.rows(), result, report, progress, batch_size=chunk_rows, dry_run=dry_run)
        finally:
            report.close()
            result.seconds = time.monotonic() - result.started
    result.total_rows = max(result.total_rows, result.processed_rows)
    if not result.cancelled:  # the count was an estimate: a sheet's dimension may count formatted empty
        result.total_rows = result.processed_rows  # rows, a CSV's line count blank lines and multi-line cells
    if mode == HISTORY and not dry_run:
        if merger is not None and result.resumed_since is not None:
            _add_written_before(merger, result, result.resumed_since)
        if result.touched:
            _recompute(merger, result, progress)
    if not dry_run:
        record(
            actor,
            AuditEntry.Action.IMPORT,
            obj=audit_object,
            object_type=None if audit_object is not None else f"imports.{kind}",
            object_repr=None if audit_object is not None else path.name,
            changes={
                "kind": kind,
                "file": path.name,
                "channel": channel,
                "mode": mode,
                "rows": result.processed_rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
                "cancelled": result.cancelled,
            },
        )
    return result


def _run_engine(
    merger: engine.Merger,
    rows: Iterator[Row],
    result: ImportResult,
    report: _Report,
    progress: Progress,
    *,
    batch_size: int,
    dry_run: bool,
) -> None:
    try:
        with staging.bulk_session(), engine.fewer_collections():
            if not dry_run:  # what a killed job left set aside, before this job reads or sets aside its own
                indexes.rebuild_left_over()
            tables = [] if dry_run else [model._meta.db_table for model in merger.first_load]
            with indexes.set_aside(tables, building=lambda: merger.clock.phase("indexing")):
                _merge_chunks(merger, rows, result, report, progress, batch_size=batch_size, dry_run=dry_run)
    except Exception:
        if not dry_run:  # the job fails for good: its committed chunks' buyers keep right statistics
            engine.write_stats(result.buyers)
        raise
    finally:
        staging.drop_stages(merger.stage_models)


def _merge_chunks(
    merger: engine.Merger,
    rows: Iterator[Row],
    result: ImportResult,
    report: _Report,
    progress: Progress,
    *,
    batch_size: int,
    dry_run: bool,
) -> None:
    result.clock = merger.clock
    chunks = merger.chunks(rows, max(batch_size, 1))
    if result.committed_line:
        chunks = _skip_committed(merger, chunks, result.committed_line)
    if engine.can_clean_ahead(merger):
        source: Iterator[tuple[list[list[Row]], engine.Cleaned | None]] = (
            (cleaned.chunk, cleaned) for cleaned in engine.cleaned_ahead(merger, chunks)
        )
    else:
        source = ((chunk, None) for chunk in chunks)
    for chunk, cleaned in source:
        progress.phase("merging")

        def after(outcome: engine.ChunkOutcome, chunk: list[list[Row]] = chunk) -> None:
            result.processed_rows += outcome.rows
            result.created += outcome.created
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
            for unit, errors in outcome.errors:
                _reject_lines(unit, errors, result, report)
            result.committed_line = chunk[-1][-1][0]
            result.seconds = time.monotonic() - result.started
            progress.chunk(result)

        outcome = engine.run_chunk(merger, chunk, dry_run=dry_run, after=after, cleaned=cleaned)
        if kind_touches_customers(merger):
            result.touched.update(outcome.touched)
        result.buyers.update(outcome.buyers)
        if progress.stop():
            result.cancelled = True
            break


def _recompute(merger: engine.Merger | None, result: ImportResult, progress: Progress) -> None:
    """After a history job: the buyers' statistics, then the rest of the baseline, read from
    tables whose planner statistics are refreshed first (they were just filled)."""
    progress.phase("recomputing")
    with result.clock.phase("recomputing"):
        if merger is not None:
            staging.analyze(merger.stage_models)
        engine.write_stats(result.buyers)
        recompute_after_history(sorted(result.touched))


def kind_touches_customers(merger: engine.Merger) -> bool:
    return not isinstance(merger, engine.ProductMerger)


def _skip_committed(
    merger: engine.Merger, chunks: Iterator[list[list[Row]]], committed_line: int
) -> Iterator[list[list[Row]]]:
    """Pass over what an interrupted run committed, remembering its keys for the duplicate check."""
    for chunk in chunks:
        if chunk[0][-1][0] > committed_line:
            yield chunk
            continue
        rest = []
        for unit in chunk:
            if unit[-1][0] <= committed_line:
                merger.remember(unit)
            else:
                rest.append(unit)
        if rest:
            yield rest


def _add_written_before(merger: engine.Merger, result: ImportResult, since: dt.datetime) -> None:
    """A resumed job: the customers its earlier runs wrote are recomputed with this run's."""
    earlier = merger.written_since(since)
    result.touched |= earlier
    if merger.writes_orders:
        result.buyers |= earlier


def recompute_after_history(customer_ids: list[int]) -> None:
    """After a history import: what derives from the customers' data, recomputed once, set-based,
    as their baseline (see :func:`rapport.imports.baseline.recompute`)."""
    from rapport.imports.baseline import recompute

    recompute(customer_ids)


def _reject_lines(unit: list[Row], errors: list[tuple[int, FieldError]], result: ImportResult, report: _Report) -> None:
    by_line: dict[int, list[RowError]] = {}
    for line, field_error in errors:
        by_line.setdefault(line, []).append(RowError(line, field_error.field, field_error.code, field_error.message))
    _report_unit(unit, by_line, result, report)


def _report_unit(unit: list[Row], by_line: dict[int, list[RowError]], result: ImportResult, report: _Report) -> None:
    """Every line of a rejected unit in the report: its own errors, or the line that sank its order."""
    first_bad = min(by_line)
    for line, values in unit:
        own = by_line.get(line) or [
            RowError(line, "external_id", "order_rejected", f"the order was rejected for line {first_bad}")
        ]
        for error in own:
            report.write(error, values)
            if len(result.first_errors) < 20:
                result.first_errors.append(error)
        result.rejected += 1


def _run_batch(
    handler: _Kind,
    batch: list[list[Row]],
    result: ImportResult,
    report: _Report,
    *,
    on_batch: Callable[[ImportResult], None] | None,
    dry_run: bool,
) -> None:
    with transaction.atomic(), deferred_stats():
        handler.prepare(batch)
        for unit in batch:
            errors: list[FieldError] = []
            try:
                with transaction.atomic():  # the row's savepoint: a bad row leaves nothing behind
                    created = handler.apply(unit)
            except DomainError as exc:
                errors = exc.errors or [FieldError("__all__", "invalid", str(exc))]
            except (IntegrityError, DataError) as exc:  # e.g. a concurrent writer took the same key
                errors = [FieldError("__all__", "conflict", str(exc).strip().splitlines()[0][:300])]
            result.processed_rows += len(unit)
            if not errors:
                if created:
                    result.created += 1
                else:
                    result.updated += 1
                continue
            _reject(handler, unit, errors, result, report)
        result.seconds = time.monotonic() - result.started
        if on_batch is not None:
            on_batch(result)
        if dry_run:
            transaction.set_rollback(True)


def _reject(handler: _Kind, unit: list[Row], errors: list[FieldError], result: ImportResult, report: _Report) -> None:
    row_errors = handler.error_lines(unit, errors)
    by_line: dict[int, list[RowError]] = {}
    for error in row_errors:
        by_line.setdefault(error.line, []).append(error)
    _report_unit(unit, by_line, result, report)


# Jobs: one record for every front door (console upload, API, command line) --------------------


def imports_dir() -> Path:
    """``<data folder>/imports``: uploaded files (encrypted) and the jobs' reports (encrypted)."""
    base = getattr(settings, "RAPPORT_DATA_DIR", None) or settings.DATA_DIR
    folder = Path(base) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save_upload(upload: Any) -> Path:
    """Store an upload encrypted; it is deleted when its job finishes or is cancelled."""
    import uuid

    name = Path(upload.name or "upload.csv")
    target = imports_dir() / f"upload-{uuid.uuid4().hex}{name.suffix.lower()}"
    files.save_encrypted(upload.chunks(), target)
    return target


def _owned(job: ImportJob) -> bool:
    """Is the job's file our encrypted copy of an upload (not a path a shell user gave)?"""
    return bool(job.file_path) and Path(job.file_path).parent == imports_dir()


def create_job(
    *,
    kind: str,
    path: str | Path,
    original_name: str,
    channel: str,
    mapping: Mapping[str, str],
    actor: Actor,
    mode: str = HISTORY,
    preset: str = "",
) -> ImportJob:
    """The job record every front door goes through (the command line runs it in its own process)."""
    if kind not in m.KINDS:
        raise UnusableFile(f"unknown import kind {kind!r}; one of: {', '.join(m.KINDS)}")
    _check_mode(kind, mode)
    presets.check(preset, kind)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            mode=mode,
            file_path=str(path),
            original_name=str(original_name)[:255],
            channel=channel,
            mapping=dict(mapping),
            preset=preset,
            created_by=actor.staff_user,
        )
        changes = {"kind": kind, "file": job.original_name, "mode": mode, "preset": preset}
        record(actor, AuditEntry.Action.CREATE, obj=job, changes=changes)
    return job


def start_job(
    *,
    kind: str,
    upload: Any,
    channel: str,
    mapping: Mapping[str, str],
    actor: Actor,
    mode: str = HISTORY,
    preset: str = "",
) -> ImportJob:
    """Save the uploaded file (encrypted) and queue its import; it runs once this transaction commits."""
    from rapport.core.jobs import enqueue
    from rapport.imports.tasks import run_import

    path = _save_upload(upload)
    with transaction.atomic():
        job = create_job(
            kind=kind,
            path=path,
            original_name=str(upload.name),
            channel=channel,
            mapping=mapping,
            actor=actor,
            mode=mode,
            preset=preset,
        )
        enqueue(run_import, job.pk)
    return job


_PROGRESS_FIELDS = [
    "total_rows",
    "processed_rows",
    "created_rows",
    "updated_rows",
    "unchanged_rows",
    "error_rows",
    "committed_line",
    "first_errors",
]


def _copy_counts(job: ImportJob, result: ImportResult) -> None:
    job.total_rows = max(result.total_rows, result.processed_rows)
    job.processed_rows = result.processed_rows
    job.created_rows = result.created
    job.updated_rows = result.updated
    job.unchanged_rows = result.unchanged
    job.error_rows = result.rejected
    job.committed_line = result.committed_line
    job.first_errors = [
        {"line": e.line, "field": e.field, "code": e.code, "message": e.message} for e in result.first_errors
    ]


def _resume_point(job: ImportJob) -> ImportResult | None:
    if not job.committed_line:
        return None
    earlier = ImportResult(kind=job.kind, mode=job.mode)
    earlier.processed_rows = job.processed_rows
    earlier.created, earlier.updated = job.created_rows, job.updated_rows
    earlier.unchanged, earlier.rejected = job.unchanged_rows, job.error_rows
    earlier.committed_line = job.committed_line
    earlier.resumed_since = job.started_at
    earlier.first_errors = [RowError(**e) for e in job.first_errors or []]
    return earlier


def _set_phase(job: ImportJob, phase: str) -> None:
    if job.phase != phase:
        job.phase = phase
        ImportJob.objects.filter(pk=job.pk).update(phase=phase)


def run_job(
    job_id: int,
    *,
    on_start: Callable[[ImportResult], None] | None = None,
    on_chunk: Callable[[ImportResult], None] | None = None,
    dry_run: bool = False,
    report_path: str | Path | None = None,
    batch_size: int | None = None,
) -> tuple[ImportJob | None, ImportResult | None]:
    """Run (or resume) an import job, saving its progress with every committed chunk.

    A job left running by a process that died resumes after its last committed chunk; a finished
    or cancelled job is left alone. ``report_path`` (the command line's ``--report``) writes the
    report there in plain CSV; otherwise it is kept encrypted in the data folder. The uploaded
    file is deleted once the job is finished, failed or cancelled.
    """
    import logging

    from django.utils import timezone

    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job, None
    purge_reports()
    resume = _resume_point(job)
    job.status = ImportJob.Status.RUNNING
    job.started_at = job.started_at or timezone.now()
    if report_path is None:
        job.report_path = job.report_path or str(imports_dir() / f"job-{job.pk}-report.csv")
    job.save(update_fields=["status", "started_at", "report_path"])
    actor = Actor(user=job.created_by, source=Source.IMPORT, label="" if job.created_by else f"import job #{job.pk}")

    def save_progress(result: ImportResult) -> None:
        _copy_counts(job, result)
        if not dry_run:
            job.save(update_fields=_PROGRESS_FIELDS)
        if on_chunk is not None:
            on_chunk(result)

    def started(result: ImportResult) -> None:
        job.total_rows = max(result.total_rows, job.processed_rows)
        job.save(update_fields=["total_rows"])
        if on_start is not None:
            on_start(result)

    def stop() -> bool:
        return ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists() or jobs.cancel_requested()

    result = None
    try:
        result = import_file(
            job.file_path,
            kind=job.kind,
            actor=actor,
            channel=job.channel,
            mapping=job.mapping or {},
            report_path=report_path or job.report_path,
            encrypt_report=report_path is None,
            audit_object=job,
            mode=job.mode,
            dry_run=dry_run,
            batch_size=batch_size,
            resume=resume,
            job_id=job.pk,
            preset=job.preset,
            progress=Progress(start=started, chunk=save_progress, phase=lambda p: _set_phase(job, p), stop=stop),
        )
    except UnusableFile as exc:
        job.status, job.error_message = ImportJob.Status.FAILED, str(exc)
    except Exception as exc:  # the job must end in a state a person can see, whatever happened
        logging.getLogger(__name__).exception("import job %s failed", job.pk)
        job.status, job.error_message = ImportJob.Status.FAILED, f"the import stopped: {exc}"
    else:
        _copy_counts(job, result)
        if result.cancelled:
            job.status = ImportJob.Status.CANCELLED
            job.error_message = f"cancelled after line {result.committed_line}: the rows before it are kept"
        else:
            job.status = ImportJob.Status.SUCCEEDED
    if report_path is not None:
        job.report_path = ""
    job.phase = ImportJob.Phase.DONE
    job.finished_at = timezone.now()
    job.save()
    if _owned(job):
        files.remove(job.file_path)
    return job, result


def cancel_job(job: ImportJob, *, actor: Actor) -> ImportJob:
    """Ask a job to stop after its current chunk (a queued one stops at once). Committed chunks stay."""
    from django.utils import timezone

    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            from rapport.core.errors import Conflict

            raise Conflict.single("status", "finished", f"the job is already {locked.get_status_display()}")
        locked.cancel_requested = True
        if locked.status == ImportJob.Status.QUEUED:
            locked.status = ImportJob.Status.CANCELLED
            locked.finished_at = timezone.now()
            locked.error_message = "cancelled before it started: nothing was imported"
        locked.save()
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"cancel": True})
    if locked.status == ImportJob.Status.CANCELLED and _owned(locked):
        files.remove(locked.file_path)
    return locked


def close_cancelled_run(job_id: int) -> None:
    """Its background job was cancelled with no run left to stop it (queued, or its worker died):
    the import says so, keeping the chunks it committed."""
    from django.utils import timezone

    open_statuses = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    job = ImportJob.objects.filter(pk=job_id, status__in=open_statuses).first()
    if job is None:
        return
    job.cancel_requested, job.status, job.finished_at = True, ImportJob.Status.CANCELLED, timezone.now()
    job.phase = ImportJob.Phase.DONE
    job.error_message = (
        f"cancelled after line {job.committed_line}: the rows before it are kept"
        if job.committed_line
        else "cancelled before it started: nothing was imported"
    )
    job.save(update_fields=["cancel_requested", "status", "finished_at", "phase", "error_message"])
    if _owned(job):
        files.remove(job.file_path)


def purge_reports() -> int:
    """Delete the reports of jobs finished more than ``RAPPORT_IMPORT_REPORT_DAYS`` days ago."""
    import datetime as dt

    from django.utils import timezone

    cutoff = timezone.now() - dt.timedelta(days=settings.RAPPORT_IMPORT_REPORT_DAYS)
    finished = ImportJob.objects.filter(finished_at__lt=cutoff).exclude(report_path="")
    expired = list(finished.values_list("pk", "report_path"))
    for _pk, path in expired:
        files.remove(path)
    ImportJob.objects.filter(pk__in=[pk for pk, _ in expired]).update(report_path="")
    return len(expired)
