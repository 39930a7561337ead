"""The set-based import engine: a file in chunks, each cleaned, staged and merged in one transaction.

Every front door (``rapport import``, the console upload, the API) runs this for *history*
imports, the default for files. Per chunk (a few thousand file rows, never splitting an order):

1. clean: each row through the API's own cleaners (:func:`rapport.customers.validation.clean_profile`,
   :func:`rapport.commerce.validation.clean_order` through its bulk path
   :class:`~rapport.commerce.validation.BulkOrderCleaner`, :func:`~rapport.commerce.validation.clean_product`),
   with the look-ups they need (identities, products, stores) loaded once for the chunk;
2. match: existing rows by natural key (channel + external id; SKU), existing customers by blind
   index of phone and email, one query per table per chunk; a key given twice in the file is an
   error on its second line, never a silent last-row-wins;
3. merge: new rows loaded (``COPY`` on PostgreSQL, multi-row ``INSERT`` on SQLite), changed rows staged and
   written with one ``INSERT … SELECT`` / ``UPDATE … FROM`` per table; an order and its lines go in
   the same statement set of the same transaction. No per-row save, savepoint, signal or audit entry.

The buyers' statistics are written once, after the last chunk (:func:`write_stats`), with the rest
of the baseline: rewriting them per chunk cost more than the orders themselves.

The chunk's transaction also records the job's progress and its last committed line, so a job
that is killed resumes after its last committed chunk, and re-running the whole file is
harmless (unchanged rows are counted as such and write nothing). History imports send no
signal: no points, no messages, no journeys, no level events.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import operator
import queue
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db import connection, connections, transaction
from django.utils import timezone

from rapport.commerce.models import CustomerStats, Order, OrderLine, Product, Refund
from rapport.commerce.services import apply_refund, check_same_refund, clean_refund, keep_refund_rules
from rapport.commerce.stats import BATCH as STATS_BATCH
from rapport.commerce.stats import STATS_COLUMNS, compute_stats
from rapport.commerce.validation import BulkOrderCleaner, clean_product
from rapport.core import pii, shredding
from rapport.core.actor import Actor
from rapport.core.errors import DomainError, FieldError, InvalidInput
from rapport.customers import history
from rapport.customers.models import (
    ChangeRecord,
    Customer,
    Identity,
    Store,
    identity_index_of,
    name_key,
    name_pinyin,
    sealed_identities,
)
from rapport.customers.validation import LookupCache, clean_profile
from rapport.imports import mapping as m
from rapport.imports import staging

Row = tuple[int, list[str]]
DEFAULT_CHUNK_ROWS = 10000

CUSTOMER_COLUMNS = [
    "name",
    "name_key",
    "name_pinyin",
    "gender",
    "birthday",
    "phone",
    "phone_index",
    "phone_tail_index",
    "email",
    "email_index",
    "id_number",
    "id_number_index",
    "city",
    "member_status",
    "registered_at",
    "registration_channel",
    "store_id",
    "owner_id",
    "custom_fields",
]
_CUSTOMER_DEFAULTS: dict[str, Any] = {
    "name": "",
    "gender": "",
    "birthday": None,
    "phone": "",
    "phone_index": None,
    "email": "",
    "email_index": None,
    "id_number": "",
    "id_number_index": None,
    "city": "",
    "member_status": "member",
    "registration_channel": "web",
    "store_id": None,
    "owner_id": None,
    "custom_fields": {},
}
ORDER_COLUMNS = [
    "customer_id",
    "store_id",
    "channel",
    "external_id",
    "status",
    "currency",
    "subtotal",
    "discount_total",
    "shipping_total",
    "total",
    "placed_at",
    "carrier",
    "tracking_number",
    "shipped_at",
    "shipping_address",
]
LINE_COLUMNS = ["order_id", "product_id", "sku", "name", "quantity", "unit_price", "line_total"]
# a cleaned order's (and line's) values in column order: ``clean_order`` gives every one of them
order_values = operator.itemgetter(*ORDER_COLUMNS)
line_values = operator.itemgetter(*LINE_COLUMNS[1:])
PRODUCT_COLUMNS = ["sku", "name", "category_id", "price", "currency", "is_active"]


@dataclass
class ChunkOutcome:
    """What one chunk did: counts, the rejected rows, and the customers whose data changed."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[list[Row], list[tuple[int, FieldError]]]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    # customers whose orders changed: their statistics are written once, after the job's last chunk
    buyers: set[int] = field(default_factory=set)

    def reject(self, unit: list[Row], errors: list[tuple[int, FieldError]]) -> None:
        self.errors.append((unit, errors))


class PhaseClock:
    """Wall and CPU seconds spent per phase (reading, cleaning, merging, recomputing), for the
    benchmark and the summary: where an import's time goes. CPU is the calling thread's, so that
    a chunk cleaned ahead in a thread (:func:`cleaned_ahead`) is counted once, as cleaning."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.monotonic(), time.thread_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.monotonic() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - cpu


class DuplicateKeys:
    """The natural keys seen so far in the file, to refuse a key's second row.

    An open-addressing table of the keys' 8-byte digests and their lines in two flat arrays, kept
    at most 70 % full: about 20 bytes a key. A dict of Python ints took 107 bytes a key, 1.07 GB
    for a file of ten million orders, two thirds of the job's memory budget.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._resize(capacity)

    def _resize(self, capacity: int) -> None:
        self._digests = array("q", bytes(8 * capacity))  # 0: a free slot (a digest of 0 is stored as 1)
        self._lines = array("i", bytes(4 * capacity))
        self._mask = capacity - 1
        self._free = capacity * 7 // 10

    def first_line(self, key: tuple[str, ...], line: int) -> int | None:
        """The line that already had ``key``, or None (and remember ``line`` for it)."""
        digest = hash(key) or 1
        digests, mask = self._digests, self._mask
        slot = digest & mask
        while (found := digests[slot]) != 0:
            if found == digest:
                return self._lines[slot]
            slot = (slot + 1) & mask
        digests[slot] = digest
        self._lines[slot] = line
        self._free -= 1
        if not self._free:
            self._grow()
        return None

    def _grow(self) -> None:
        old = zip(self._digests, self._lines, strict=True)
        self._resize(2 * (self._mask + 1))
        digests, lines, mask = self._digests, self._lines, self._mask
        for digest, line in old:
            if digest:
                slot = digest & mask
                while digests[slot]:
                    slot = (slot + 1) & mask
                digests[slot] = digest
                lines[slot] = line
                self._free -= 1


def _duplicate_error(field_name: str, key: str, first: int) -> FieldError:
    return FieldError(field_name, "duplicate_key", f"{key!r} is also on line {first} of this file; each key once")


class Merger:
    """How one kind of row is cleaned and merged, one chunk at a time."""

    stage_models: tuple[Any, ...] = ()
    # the tables it loads in bulk: on a first load (an empty table) their secondary indexes are
    # built once after the chunks rather than kept row by row (:mod:`rapport.imports.indexes`)
    first_load: tuple[Any, ...] = ()
    # its chunks change orders: the buyers' statistics are written once, after the last chunk
    writes_orders = False
    # cleaning a chunk reads nothing the previous chunks write: the next chunk may be cleaned
    # (in a thread, on its own connection) while this one is written (see ``cleaned_ahead``)
    cleans_ahead = False

    def __init__(self, plan: m.ColumnPlan, *, channel: str, actor: Actor, time_zone: str, job_id: int | None) -> None:
        self.plan = plan
        self.channel = channel
        self.actor = actor
        self.time_zone = time_zone
        self.job_id = job_id
        self.keys = DuplicateKeys()
        self.clock = PhaseClock()

    def values(self, row: list[str]) -> dict[str, str]:
        return self.plan.values(row)

    def units(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        for row in rows:
            yield [row]

    def chunks(self, rows: Iterator[Row], size: int) -> Iterator[list[list[Row]]]:
        """The file's units in chunks of about ``size`` rows, reading timed (see :func:`chunks`)."""
        return chunks(self.units(rows), size, self.clock)

    def remember(self, unit: list[Row]) -> None:
        """A unit of a chunk committed by an earlier run: its key is taken, nothing else to do."""
        key = self.key_of(unit)
        if key is not None:
            self.keys.first_line(key, unit[0][0])

    def key_of(self, unit: list[Row]) -> tuple[str, ...] | None:
        raise NotImplementedError

    def merge(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> None:
        self.write(self.clean(chunk, outcome), outcome)

    def clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> Any:
        """The chunk's rows cleaned (the bad ones rejected into ``outcome``), nothing written."""
        raise NotImplementedError

    def write(self, cleaned: Any, outcome: ChunkOutcome) -> None:
        """Write what :meth:`clean` returned, inside the chunk's transaction."""
        raise NotImplementedError

    def history_label(self) -> str:
        return f"import job #{self.job_id}" if self.job_id else self.actor.describe()

    def written_since(self, since: dt.datetime) -> set[int]:
        """The customers this kind wrote since ``since``: what an interrupted run of the job touched
        before it died, so that the resumed run's once-only recompute covers them too."""
        return set()


def _errors_of(exc: DomainError, line: int) -> list[tuple[int, FieldError]]:
    errors = exc.errors or [FieldError("__all__", "invalid", str(exc))]
    return [(line, e) for e in errors]


# Customers ----------------------------------------------------------------------------------


@dataclass
class _Person:
    """A customer as this chunk sees it: stored values (plain), and what the chunk changed."""

    id: int | None
    values: dict[str, Any]
    new: bool = False
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    line: int = 0


# a row of a customers chunk cleaned ahead: line, unit, channel, external id, the row's data, and its
# profile cleaned as a new customer's (or its errors), None when an identity names a stored customer
_AheadRow = tuple[int, list[Row], str, str, dict[str, Any], dict[str, Any] | list[tuple[int, FieldError]] | None]


@dataclass
class _CustomersAhead:
    """A customers chunk as :meth:`CustomerMerger.clean` leaves it: its rows, who their identities name."""

    rows: list[_AheadRow]
    identity_owner: dict[tuple[str, str], int]


class CustomerMerger(Merger):
    stage_models = (Customer, Identity, ChangeRecord)
    first_load = (Customer, Identity, ChangeRecord)
    # What is cleaned ahead reads only the identities of the chunk's own keys, which the job's
    # earlier chunks cannot have written (a key is in one chunk: the file's duplicates are refused).
    # The stored customers those identities name, and who holds a phone or an email, are read by
    # ``write`` after the earlier chunks commit: an earlier chunk may have changed or created them.
    cleans_ahead = True

    def written_since(self, since: dt.datetime) -> set[int]:
        return set(Customer.objects.filter(updated_at__gte=since).values_list("pk", flat=True))

    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.cache = LookupCache()

    def key_of(self, unit: list[Row]) -> tuple[str, ...] | None:
        values = self.values(unit[0][1])
        external_id = values.get("external_id", "")
        return (values.get("channel") or self.channel, external_id) if external_id else None

    def row_data(self, row: list[str]) -> tuple[str, str, dict[str, Any]]:
        return m.customer_data(self.values(row), channel=self.channel, time_zone=self.time_zone)

    def clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> _CustomersAhead:
        """The chunk parsed, its identities found and its new people's profiles cleaned: what reads
        nothing the job's previous chunks may have written (see :attr:`cleans_ahead`)."""
        with self.clock.phase("cleaning"):
            return self._clean_ahead(chunk, outcome)

    def write(self, cleaned: _CustomersAhead, outcome: ChunkOutcome) -> None:
        """The rest, in the chunk's transaction: timed as merging (the cleaning thread times its own
        phase, and a clock's phase is kept by one thread)."""
        with self.clock.phase("merging"):
            cleaned_rows, people = self._clean_known(cleaned, outcome)
            self._resolve(cleaned_rows, people, cleaned.identity_owner, outcome)

    def _clean_ahead(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> _CustomersAhead:
        # 1. parse and find the identities the file names, one query per channel
        parsed: list[tuple[int, list[Row], str, str, dict[str, Any]]] = []
        for unit in chunk:
            line = unit[0][0]
            outcome.rows += 1
            try:
                channel, external_id, data = self.row_data(unit[0][1])
            except DomainError as exc:
                outcome.reject(unit, _errors_of(exc, line))
                continue
            first = self.keys.first_line((channel, external_id), line)
            if first is not None:
                outcome.reject(unit, [(line, _duplicate_error("external_id", external_id, first))])
                continue
            parsed.append((line, unit, channel, external_id, data))
        identity_owner = identity_owners({(p[2], p[3]) for p in parsed})

        # 2. clean the profiles of whoever no identity names yet, as new customers
        rows: list[_AheadRow] = []
        for line, unit, channel, external_id, data in parsed:
            cleaned: dict[str, Any] | list[tuple[int, FieldError]] | None = None
            if (channel, external_id) not in identity_owner:
                try:
                    cleaned = clean_profile(data, cache=self.cache)
                except DomainError as exc:
                    cleaned = _errors_of(exc, line)
            rows.append((line, unit, channel, external_id, data, cleaned))
        return _CustomersAhead(rows, identity_owner)

    def _clean_known(
        self, ahead: _CustomersAhead, outcome: ChunkOutcome
    ) -> tuple[list[tuple[int, list[Row], str, str, dict[str, Any], dict[str, Any]]], dict[int, _Person]]:
        """3. the stored customers the identities name, read now (an earlier chunk of the job may
        have changed them), and the rows about them cleaned as updates; the rest rejected or kept."""
        people = _load_people(set(ahead.identity_owner.values()))
        cleaned_rows: list[tuple[int, list[Row], str, str, dict[str, Any], dict[str, Any]]] = []
        for line, unit, channel, external_id, data, cleaned in ahead.rows:
            if isinstance(cleaned, list):
                outcome.reject(unit, cleaned)
                continue
            if cleaned is None:
                instance = Customer(
                    custom_fields=people[ahead.identity_owner[(channel, external_id)]].values["custom_fields"]
                )
                try:
                    cleaned = clean_profile(data, instance=instance, cache=self.cache)
                except DomainError as exc:
                    outcome.reject(unit, _errors_of(exc, line))
                    continue
            cleaned_rows.append((line, unit, channel, external_id, data, cleaned))
        return cleaned_rows, people

    def _resolve(
        self,
        cleaned_rows: list[tuple[int, list[Row], str, str, dict[str, Any], dict[str, Any]]],
        people: dict[int, _Person],
        identity_owner: dict[tuple[str, str], int],
        outcome: ChunkOutcome,
    ) -> None:
        index_owner = _index_owners(cleaned_rows, people)

        # 4. resolve row by row, in file order, as the per-row upsert would
        new_identities: list[tuple[str, str, _Person]] = []
        created: list[_Person] = []
        for line, unit, channel, external_id, data, cleaned in cleaned_rows:
            owner_id = identity_owner.get((channel, external_id))
            person: _Person | None = people[owner_id] if owner_id else None
            try:
                if person is None:
                    for column in ("phone_index", "email_index"):
                        holder = index_owner.get((column, cleaned.get(column) or ""))
                        if holder is not None:
                            person = holder
                            instance = Customer(custom_fields=person.values["custom_fields"])
                            cleaned = clean_profile(data, instance=instance, cache=self.cache)
                            break
                    joined = person is not None
                else:
                    joined = False
                _check_unique(cleaned, person, index_owner)
            except DomainError as exc:
                outcome.reject(unit, _errors_of(exc, line))
                continue
            if person is None:
                person = _Person(None, {**_CUSTOMER_DEFAULTS, **cleaned}, new=True, line=line)
                created.append(person)
                outcome.created += 1
            else:
                visible = {k: v for k, v in cleaned.items() if not k.endswith("_index")}
                changes = history.diff({k: person.values.get(k) for k in visible}, visible)
                for column in ("phone_index", "email_index"):
                    old = person.values.get(column)
                    if column in cleaned and cleaned[column] != old and old:
                        index_owner.pop((column, old), None)
                person.values.update(cleaned)
                for name, change in changes.items():
                    before = person.changes.get(name, change)
                    person.changes[name] = (before[0], change[1])
                if changes or joined:
                    outcome.updated += 1
                else:
                    outcome.unchanged += 1
            for column in ("phone_index", "email_index"):
                if person.values.get(column):
                    index_owner[(column, person.values[column])] = person
            if owner_id is None:
                new_identities.append((channel, external_id, person))
        changed = [p for p in people.values() if p.changes]
        self._write(created, changed, new_identities, outcome)

    def _write(
        self,
        created: list[_Person],
        changed: list[_Person],
        identities: list[tuple[str, str, _Person]],
        outcome: ChunkOutcome,
    ) -> None:
        now = timezone.now()
        for person, pk in zip(created, staging.allocate_ids(Customer, len(created)), strict=True):
            person.id = pk
        staging.write_new(
            Customer,
            ["id", *CUSTOMER_COLUMNS, "created_at", "updated_at"],
            [(p.id, *_customer_row(p), now, now) for p in created],
        )
        staging.write_updates(
            Customer,
            [*CUSTOMER_COLUMNS, "updated_at"],
            [(p.id, *_customer_row(p), now) for p in changed],
        )
        staging.write_new(
            Identity,
            ["customer_id", "channel", "external_id", "external_index", "created_at"],
            [
                (*row, now)
                for row in sealed_identities([(cast(int, p.id), channel, ext) for channel, ext, p in identities])
            ],
        )
        label = self.history_label()[:150]
        user = self.actor.staff_user.pk if self.actor.staff_user is not None else None
        source = self.actor.source
        records = [(p.id, "import", "", f"created by {label}", user, label, source, now, None, None) for p in created]
        # values sealed with each customer's own key, as the ORM's change records are (crypto-shredding)
        seal = shredding.sealer(p.id for p in changed if p.changes and p.id is not None)
        for person in changed:
            customer_id = person.id
            assert customer_id is not None  # existing customers, and new ones after allocate_ids
            for name, (old, new) in person.changes.items():
                base = name.removesuffix("_id")
                values = history.recorded_values(base, old, new)
                records.append(
                    (
                        customer_id,
                        base,
                        seal(customer_id, values["old_value"]),
                        seal(customer_id, values["new_value"]),
                        user,
                        label,
                        source,
                        now,
                        values.get("owner_before_id"),
                        values.get("owner_after_id"),
                    )
                )
        columns = [
            "customer_id",
            "field",
            "old_value",
            "new_value",
            "actor_id",
            "actor_label",
            "source",
            "created_at",
            "owner_before_id",
            "owner_after_id",
        ]
        staging.write_new(ChangeRecord, columns, records)
        outcome.touched.update(p.id for p in created + changed if p.id is not None)


# Search keys derived from the name and phone, as ``customers.models.keep_search_keys`` sets them on
# save: the phone-tail and pinyin searches find imported customers too.
# Names repeat across a large file, and their pinyin is the slowest of the keys: remembered.
_name_key = functools.lru_cache(maxsize=1 << 16)(name_key)
_name_pinyin = functools.lru_cache(maxsize=1 << 16)(name_pinyin)
DERIVED_COLUMNS = {
    "name_key": lambda values: _name_key(values.get("name") or ""),
    "name_pinyin": lambda values: _name_pinyin(values.get("name") or ""),
    "phone_tail_index": lambda values: pii.phone_tail_index(values.get("phone") or ""),
}


# every stored column's value when a person has none, and the columns in their stored order
_ROW_DEFAULTS = {column: _CUSTOMER_DEFAULTS.get(column) for column in CUSTOMER_COLUMNS}
_customer_columns = operator.itemgetter(*CUSTOMER_COLUMNS)


def _customer_row(person: _Person) -> tuple[Any, ...]:
    """The person's values in :data:`CUSTOMER_COLUMNS` order, the search keys derived: one dict and
    one ``itemgetter`` a person rather than a call and two look-ups a column."""
    values = {**_ROW_DEFAULTS, **person.values}
    for column, derive in DERIVED_COLUMNS.items():
        values[column] = derive(person.values)
    return tuple(_customer_columns(values))


def _check_unique(cleaned: dict[str, Any], person: _Person | None, index_owner: dict[tuple[str, str], _Person]) -> None:
    """Phone and email identify one person (the rule of ``customers.services._check_unique_keys``)."""
    errors = []
    for name, column in (("phone", "phone_index"), ("email", "email_index")):
        value = cleaned.get(column)
        holder = index_owner.get((column, value)) if value else None
        if holder is not None and holder is not person:
            who = f"customer #{holder.id}" if holder.id else f"the customer on line {holder.line}"
            errors.append(FieldError(name, "duplicate", f"{who} already has this {name}"))
    if errors:
        raise InvalidInput(errors)


def identity_owners(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    for channel, ids in by_channel.items():
        by_index = {identity_index_of(channel, external_id): external_id for external_id in ids}
        rows = staging.find(Identity, ["external_index", "customer_id"], "external_index", by_index)
        found.update({(channel, by_index[index]): pk for index, pk in rows})
    return found


def _person(customer: Customer) -> _Person:
    values = {c: getattr(customer, c) for c in CUSTOMER_COLUMNS if c not in DERIVED_COLUMNS}
    values["custom_fields"] = dict(customer.custom_fields or {})
    return _Person(customer.pk, values)


def _load_people(ids: set[int]) -> dict[int, _Person]:
    people: dict[int, _Person] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 900):
        for customer in Customer.objects.filter(pk__in=ordered[start : start + 900]):
            people[customer.pk] = _person(customer)
    return people


def _index_owners(
    cleaned_rows: list[tuple[int, list[Row], str, str, dict[str, Any], dict[str, Any]]], people: dict[int, _Person]
) -> dict[tuple[str, str], _Person]:
    """3. who else holds these phones and emails: (index column, blind index) → the person holding it.

    The holders found are added to ``people``.
    """
    wanted = {
        (column, cleaned[column])
        for *_rest, cleaned in cleaned_rows
        for column in ("phone_index", "email_index")
        if cleaned.get(column)
    }
    people.update(_load_people_by_index(wanted, exclude=set(people)))
    index_owner: dict[tuple[str, str], _Person] = {}
    for known in people.values():
        for column in ("phone_index", "email_index"):
            if known.values.get(column):
                index_owner[(column, known.values[column])] = known
    return index_owner


def _load_people_by_index(wanted: set[tuple[str, str]], *, exclude: set[int]) -> dict[int, _Person]:
    """The customers holding these blind indexes, found in plain SQL (the index look-up) and then
    read in full (decrypted) only when there are any."""
    holders: set[int] = set()
    for column in ("phone_index", "email_index"):
        values = sorted(v for c, v in wanted if c == column)
        holders.update(pk for (pk,) in staging.find(Customer, ["id"], column, values))
    return _load_people(holders - exclude)


# Products -----------------------------------------------------------------------------------


def product_row(data: dict[str, Any], *, cache: Any) -> dict[str, Any]:
    """A products row's values with ``is_active`` read as yes/no; a bad flag is reported together
    with whatever else is wrong with the row (the set-based engine and the live path alike)."""
    if "is_active" not in data:
        return data
    flag = m.parse_bool(data["is_active"])
    if flag is None:
        error = FieldError("is_active", "invalid", f"expected yes or no, not {data.pop('is_active')!r}")
        try:
            clean_product(data, cache=cache)
        except InvalidInput as exc:
            raise InvalidInput([error, *exc.errors]) from None
        raise InvalidInput(error)
    return {**data, "is_active": flag}


class ProductMerger(Merger):
    stage_models = (Product,)

    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        from rapport.imports.services import ImportCache

        self.cache = ImportCache()

    def key_of(self, unit: list[Row]) -> tuple[str, ...] | None:
        sku = self.values(unit[0][1]).get("sku", "")
        return (sku,) if sku else None

    def clean_row(self, row: list[str]) -> dict[str, Any]:
        return clean_product(product_row(self.values(row), cache=self.cache), cache=self.cache)

    def merge(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> None:
        with self.clock.phase("cleaning"):
            good = self._clean(chunk, outcome)
        with self.clock.phase("merging"):
            self._write(good, outcome)

    def _clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> list[dict[str, Any]]:
        good: list[dict[str, Any]] = []
        for unit in chunk:
            line = unit[0][0]
            outcome.rows += 1
            try:
                cleaned = self.clean_row(unit[0][1])
            except DomainError as exc:
                outcome.reject(unit, _errors_of(exc, line))
                continue
            first = self.keys.first_line((cleaned["sku"],), line)
            if first is not None:
                outcome.reject(unit, [(line, _duplicate_error("sku", cleaned["sku"], first))])
                continue
            good.append(cleaned)
        return good

    def _write(self, good: list[dict[str, Any]], outcome: ChunkOutcome) -> None:
        skus = [c["sku"] for c in good]
        existing = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
        now = timezone.now()
        new_rows, update_rows = [], []
        for cleaned in good:
            product = existing.get(cleaned["sku"])
            if product is None:
                values = {"category_id": None, "currency": "CNY", "is_active": True, **cleaned}
                new_rows.append((*(values[c] for c in PRODUCT_COLUMNS), now, now))
                outcome.created += 1
                continue
            if all(getattr(product, k) == v for k, v in cleaned.items()):
                outcome.unchanged += 1
                continue
            for key, value in cleaned.items():
                setattr(product, key, value)
            update_rows.append((product.pk, *(getattr(product, c) for c in PRODUCT_COLUMNS), now))
            outcome.updated += 1
        staging.write_new(Product, [*PRODUCT_COLUMNS, "created_at", "updated_at"], new_rows)
        staging.write_updates(Product, [*PRODUCT_COLUMNS, "updated_at"], update_rows)


# Orders -------------------------------------------------------------------------------------


def _buyers_written_since(since: dt.datetime) -> set[int]:
    orders = Order.objects.filter(updated_at__gte=since, customer_id__isnull=False)
    return set(orders.values_list("customer_id", flat=True).distinct())


class OrderMerger(Merger):
    stage_models = (Order, OrderLine)
    first_load = (Order, OrderLine)
    writes_orders = True
    cleans_ahead = True  # it reads buyers' identities and products; it writes orders and lines

    def written_since(self, since: dt.datetime) -> set[int]:
        return _buyers_written_since(since)

    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        from rapport.imports.services import ImportCache, OrderRows

        self.cache = ImportCache()
        self.cleaner = BulkOrderCleaner(self.cache)
        self.rows = OrderRows(plan, channel=self.channel, time_zone=self.time_zone)
        self.key_index = self.rows.key_index

    def units(self, rows: Iterator[Row]) -> Iterator[list[Row]]:
        return self.rows.units(rows)

    def chunks(self, rows: Iterator[Row], size: int) -> Iterator[list[list[Row]]]:
        """Orders a chunk at a time, read and grouped in one loop (:class:`~rapport.imports.services.OrderGrouper`)."""
        from rapport.imports.services import OrderGrouper

        orders = OrderGrouper(rows, self.key_index)
        while True:
            with self.clock.phase("reading"):
                chunk = orders.fill(size)
            if not chunk:
                return
            yield chunk

    def key_of(self, unit: list[Row]) -> tuple[str, ...] | None:
        values = self.values(unit[0][1])
        external_id = values.get("external_id", "")
        return (values.get("channel") or self.channel, external_id) if external_id else None

    def clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> _OrderWrites:
        """The chunk cleaned, matched and its rows built and converted (encrypted): everything but
        the writing, so that a thread does it for the next chunk while this one is written."""
        with self.clock.phase("cleaning"):
            good = self._clean(chunk, outcome)
        with self.clock.phase("merging"):
            return self._prepare(good, outcome)

    def write(self, cleaned: _OrderWrites, outcome: ChunkOutcome) -> None:
        with self.clock.phase("writing"):
            self._store(cleaned)

    def _clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> list[tuple[list[Row], dict[str, Any]]]:
        self.rows.prepare(chunk, self.cache)
        good: list[tuple[list[Row], dict[str, Any]]] = []
        by_cells = self.rows.clean_cells if self.rows.cells is not None else None
        for unit in chunk:
            line = unit[0][0]
            outcome.rows += len(unit)
            try:
                cleaned = by_cells(unit, self.cleaner) if by_cells is not None else None
                if cleaned is None:
                    cleaned = self.cleaner.clean(self.rows.build(unit))
            except DomainError as exc:
                errors = exc.errors or [FieldError("__all__", "invalid", str(exc))]
                outcome.reject(unit, self.rows.error_lines(unit, errors))
                continue
            first = self.keys.first_line((cleaned["channel"], cleaned["external_id"]), line)
            if first is not None:
                outcome.reject(unit, [(line, _duplicate_error("external_id", cleaned["external_id"], first))])
                continue
            good.append((unit, cleaned))
        return good

    def _prepare(self, good: list[tuple[list[Row], dict[str, Any]]], outcome: ChunkOutcome) -> _OrderWrites:
        """Match the cleaned orders with the stored ones (by channel and number), count them, draw
        the new ones' ids and build every row to write. Reads only what the job's earlier chunks
        cannot have written (an order number is in one chunk: the file's duplicates are refused),
        so it may run ahead of their commit."""
        existing = _existing_orders({(c["channel"], c["external_id"]) for _u, c in good})
        old_lines = _lines_of([o["id"] for o in existing.values()])
        new_orders: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        relined: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for unit, cleaned in good:
            lines = cleaned.pop("lines")
            stored = existing.get((cleaned["channel"], cleaned["external_id"]))
            # a file without the address (or a blank cell) keeps what is stored
            cleaned.setdefault("shipping_address", stored["shipping_address"] if stored else "")
            if stored is None:
                new_orders.append(cleaned)
                relined.append((cleaned, lines))
                outcome.created += 1
                if cleaned["customer_id"]:
                    outcome.buyers.add(cleaned["customer_id"])
                continue
            try:
                keep_refund_rules(stored["refunded_total"], stored["status"], cleaned)
            except DomainError as exc:
                outcome.reject(unit, _errors_of(exc, unit[0][0]))
                continue
            differs = any(stored.get(k) != v for k, v in cleaned.items())
            lines_differ = _signature(old_lines.get(stored["id"], [])) != _signature(lines)
            if not differs and not lines_differ:
                outcome.unchanged += 1
                continue
            cleaned["id"] = stored["id"]
            changed.append(cleaned)
            if lines_differ:
                relined.append((cleaned, lines))
            outcome.updated += 1
            outcome.buyers.update(pk for pk in (stored["customer_id"], cleaned["customer_id"]) if pk)

        now = timezone.now()
        for order, pk in zip(new_orders, staging.allocate_ids(Order, len(new_orders)), strict=True):
            order["id"] = pk
        changed_ids = {o["id"] for o in changed}
        outcome.touched |= outcome.buyers
        return _OrderWrites(
            changed=staging.prepare(
                Order, ["id", *ORDER_COLUMNS, "updated_at"], [(o["id"], *order_values(o), now) for o in changed]
            ),
            relined=[o["id"] for o, _lines in relined if o["id"] in changed_ids],
            # every key of the new rows: the buyers, stores and products named here, the orders
            # written before them (new ones) or updated (changed ones, locked by their update)
            references=[
                (Customer, [o["customer_id"] for o in new_orders]),
                (Store, [o["store_id"] for o in new_orders]),
                (Product, [line["product_id"] for _o, lines in relined for line in lines]),
            ],
            orders=staging.prepare(
                Order,
                ["id", *ORDER_COLUMNS, "refunded_total", "created_at", "updated_at"],
                [(o["id"], *order_values(o), Decimal("0.00"), now, now) for o in new_orders],
            ),
            lines=staging.prepare(
                OrderLine, LINE_COLUMNS, [(o["id"], *line_values(line)) for o, lines in relined for line in lines]
            ),
        )

    def _store(self, writes: _OrderWrites) -> None:
        """Write a prepared chunk inside its transaction: updated orders, their lines replaced, new
        orders and their lines (foreign keys checked once for the chunk)."""
        staging.update(writes.changed)
        replaced = writes.relined
        for start in range(0, len(replaced), 900):
            OrderLine.objects.filter(order_id__in=replaced[start : start + 900])._raw_delete(OrderLine.objects.db)
        with staging.references_checked_at_once(writes.references):
            staging.insert(writes.orders)
            staging.insert(writes.lines)


@dataclass
class _OrderWrites:
    """A chunk of orders ready to write (:meth:`OrderMerger.clean`): rows converted, ids drawn."""

    changed: staging.Prepared
    relined: list[int]  # changed orders whose lines are replaced
    references: list[tuple[type[Any], list[int | None]]]
    orders: staging.Prepared
    lines: staging.Prepared


def _existing_orders(keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for channel, ids in by_channel.items():
        # which keys exist, in plain SQL (on a first load: none); only those are read in full
        present = [pk for (pk,) in staging.find(Order, ["id"], "external_id", ids, channel=channel)]
        for start in range(0, len(present), 900):
            rows = Order.objects.filter(pk__in=present[start : start + 900]).values(
                "id", "refunded_total", *ORDER_COLUMNS
            )
            found.update({(channel, row["external_id"]): row for row in rows})
    return found


def _lines_of(order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    lines: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(order_ids), 900):
        rows = (
            OrderLine.objects.filter(order_id__in=order_ids[start : start + 900])
            .order_by("order_id", "id")
            .values("order_id", "sku", "name", "quantity", "unit_price")
        )
        for row in rows:
            lines.setdefault(row["order_id"], []).append(dict(row))
    return lines


def _signature(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(line["sku"], line["name"], line["quantity"], line["unit_price"]) for line in lines]


# Refunds ------------------------------------------------------------------------------------


class RefundMerger(Merger):
    """Refunds of imported orders: one row a refund, keyed by the order and the refund's own id.

    The order's refunded total and status move with its refunds (the rules of
    :func:`rapport.commerce.services.record_refund`, shared), and a refund sent again with the same
    amount changes nothing.
    """

    stage_models = (Refund, Order)
    writes_orders = True

    def written_since(self, since: dt.datetime) -> set[int]:
        return _buyers_written_since(since)

    def key_of(self, unit: list[Row]) -> tuple[str, ...] | None:
        values = self.values(unit[0][1])
        return (
            values.get("channel") or self.channel,
            values.get("order_external_id", ""),
            values.get("external_id", ""),
        )

    def merge(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> None:
        with self.clock.phase("cleaning"):
            good = self._clean(chunk, outcome)
        with self.clock.phase("merging"):
            self._write(good, outcome)

    def _clean(self, chunk: list[list[Row]], outcome: ChunkOutcome) -> list[tuple[list[Row], dict[str, Any]]]:
        good = []
        for unit in chunk:
            line = unit[0][0]
            outcome.rows += 1
            values = self.values(unit[0][1])
            channel = values.get("channel") or self.channel
            order_id = values.get("order_external_id", "")
            errors: list[FieldError] = []
            if not order_id:
                errors.append(FieldError("order_external_id", "required", "the refunded order's number is missing"))
            refunded_at = values.get("refunded_at")
            try:
                external_id, amount, when, reason = clean_refund(
                    external_id=values.get("external_id"),
                    amount=values.get("amount"),
                    reason=values.get("reason"),
                    refunded_at=m.datetime_text(refunded_at, self.time_zone) if refunded_at else None,
                )
            except DomainError as exc:
                errors.extend(exc.errors)
            if errors:
                outcome.reject(unit, [(line, e) for e in errors])
                continue
            first = self.keys.first_line((channel, order_id, external_id), line)
            if first is not None:
                outcome.reject(unit, [(line, _duplicate_error("external_id", external_id, first))])
                continue
            refund = {"channel": channel, "order": order_id, "external_id": external_id, "amount": amount}
            good.append((unit, {**refund, "refunded_at": when, "reason": reason}))
        return good

    def _write(self, good: list[tuple[list[Row], dict[str, Any]]], outcome: ChunkOutcome) -> None:
        orders = _existing_orders({(r["channel"], r["order"]) for _u, r in good})
        known: dict[tuple[int, str], Decimal] = {}
        ids = [o["id"] for o in orders.values()]
        for start in range(0, len(ids), 900):
            rows = Refund.objects.filter(order_id__in=ids[start : start + 900]).values_list(
                "order_id", "external_id", "amount"
            )
            known.update({(order_id, ext): amount for order_id, ext, amount in rows})
        now = timezone.now()
        new_refunds = []
        for unit, refund in good:
            order = orders.get((refund["channel"], refund["order"]))
            try:
                if order is None:
                    raise InvalidInput.single(
                        "order_external_id", "not_found", f"no order {refund['order']!r} in {refund['channel']!r}"
                    )
                recorded = known.get((order["id"], refund["external_id"]))
                if recorded is not None:
                    check_same_refund(refund["external_id"], recorded, refund["amount"])
                    outcome.unchanged += 1
                    continue
                order["status"] = apply_refund(
                    order["status"], order["total"], order["refunded_total"], refund["amount"]
                )
            except DomainError as exc:
                outcome.reject(unit, _errors_of(exc, unit[0][0]))
                continue
            order["refunded_total"] += refund["amount"]
            order["changed"] = True
            known[(order["id"], refund["external_id"])] = refund["amount"]
            new_refunds.append(
                (
                    order["id"],
                    refund["external_id"],
                    refund["amount"],
                    refund["reason"],
                    "completed",
                    refund["refunded_at"],
                    now,
                )
            )
            outcome.created += 1
            if order["customer_id"]:
                outcome.buyers.add(order["customer_id"])
        staging.write_new(
            Refund,
            ["order_id", "external_id", "amount", "reason", "status", "refunded_at", "created_at"],
            new_refunds,
        )
        staging.write_updates(
            Order,
            ["refunded_total", "status", "updated_at"],
            [(o["id"], o["refunded_total"], o["status"], now) for o in orders.values() if o.get("changed")],
        )
        outcome.touched |= outcome.buyers


MERGERS: dict[str, type[Merger]] = {
    m.CUSTOMERS: CustomerMerger,
    m.ORDERS: OrderMerger,
    m.PRODUCTS: ProductMerger,
    m.REFUNDS: RefundMerger,
}


def chunks(units: Iterator[list[Row]], size: int, clock: PhaseClock | None = None) -> Iterator[list[list[Row]]]:
    """Units (an order's rows stay together) in chunks of about ``size`` file rows; reading (and
    decoding, and grouping) a chunk is timed as the reading phase, once a chunk rather than once a
    unit (the clock's two system calls cost more than grouping an order)."""
    while True:
        if clock is None:
            chunk = _fill(units, size)
        else:
            with clock.phase("reading"):
                chunk = _fill(units, size)
        if not chunk:
            return
        yield chunk


def _fill(units: Iterator[list[Row]], size: int) -> list[list[Row]]:
    chunk: list[list[Row]] = []
    rows = 0
    for unit in units:
        chunk.append(unit)
        rows += len(unit)
        if rows >= size:
            break
    return chunk


@dataclass
class Cleaned:
    """A chunk cleaned ahead: its rows, what :meth:`Merger.clean` made of them, and its outcome so far."""

    chunk: list[list[Row]]
    value: Any
    outcome: ChunkOutcome


def can_clean_ahead(merger: Merger) -> bool:
    """PostgreSQL, outside a transaction: a second connection sees what the job's earlier chunks
    committed (inside a test's transaction, or on SQLite's single writer, chunks go one by one)."""
    return merger.cleans_ahead and connection.vendor == "postgresql" and not connection.in_atomic_block


# While chunks are cleaned ahead, how long (seconds) the cleaning thread keeps the GIL when the
# writer's answer from PostgreSQL is back: Python's 5 ms default made the writer wait up to 5 ms
# after each of a chunk's dozen round trips, while the database had nothing to do.
WRITER_SWITCH_INTERVAL = 0.0005


def cleaned_ahead(merger: Merger, chunk_source: Iterator[list[list[Row]]]) -> Iterator[Cleaned]:
    """The chunks, each read, cleaned and prepared (:meth:`Merger.clean`) in a thread while the
    caller writes the one before.

    Writing a prepared chunk is mostly waiting for PostgreSQL (``COPY``, index upkeep, commit),
    and the wait releases the GIL: on two cores the next chunk's reading, cleaning, matching and
    encryption overlap it. One chunk ahead at most, so memory stays one chunk larger; the thread
    uses its own connection, closed when it ends, and stops after its current chunk when the
    caller stops (cancel, error). The interpreter's switch interval is shortened meanwhile
    (:data:`WRITER_SWITCH_INTERVAL`), so that the writer gets the GIL back as soon as PostgreSQL
    answers, and restored after.
    """
    ready: queue.Queue[Cleaned | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item: Cleaned | BaseException | None) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            for chunk in chunk_source:
                outcome = ChunkOutcome()
                hand_over(Cleaned(chunk, merger.clean(chunk, outcome), outcome))
                if stop.is_set():
                    return
            hand_over(None)
        except BaseException as exc:  # handed to the caller's thread and raised there
            hand_over(exc)
        finally:
            connections.close_all()  # this thread's own connections

    worker = threading.Thread(target=work, name="import-clean-ahead", daemon=True)
    with quick_switches():
        worker.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()


# The cyclic garbage collector's first threshold during a job: a chunk is tens of thousands of
# new lists, tuples and dicts that live until it is written, and at Python's default (700) they
# set off collections, full ones included, that walk every live object of the process over and
# over (reading and grouping 100,000 orders: 0.0055 ms a row, 0.0018 with fewer collections).
JOB_GC_THRESHOLD = 100_000


class _WhileJobsRun:
    """A process-wide interpreter setting changed while at least one job runs in the process
    (jobs may run in threads side by side): the first to start saves the setting and changes it,
    the last to end restores it."""

    def __init__(self, read: Callable[[], Any], write: Callable[[Any], None], during: Callable[[Any], Any]) -> None:
        self._read, self._write, self._during = read, write, during
        self._lock = threading.Lock()
        self._running = 0
        self._saved: Any = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if not self._running:
                self._saved = self._read()
                self._write(self._during(self._saved))
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._write(self._saved)


# The garbage collector run less often while a job runs (:data:`JOB_GC_THRESHOLD`; the import
# makes few reference cycles, and what it makes is still collected), and the interpreter's switch
# interval shortened while a chunk is cleaned ahead (:data:`WRITER_SWITCH_INTERVAL`).
fewer_collections = _WhileJobsRun(
    gc.get_threshold,
    lambda threshold: gc.set_threshold(*threshold),
    lambda threshold: (max(JOB_GC_THRESHOLD, threshold[0]), *threshold[1:]),
)
quick_switches = _WhileJobsRun(sys.getswitchinterval, sys.setswitchinterval, lambda _before: WRITER_SWITCH_INTERVAL)


def run_chunk(
    merger: Merger,
    chunk: list[list[Row]],
    *,
    dry_run: bool,
    after: Callable[[ChunkOutcome], None] | None = None,
    cleaned: Cleaned | None = None,
) -> ChunkOutcome:
    """Merge one chunk in its own transaction; ``after`` runs inside it (to save the job's progress
    and its last committed line with the rows, atomically). A chunk ``cleaned`` ahead is only written."""
    outcome = cleaned.outcome if cleaned is not None else ChunkOutcome()
    with transaction.atomic():
        if cleaned is not None:
            merger.write(cleaned.value, outcome)
        else:
            merger.merge(chunk, outcome)
        if after is not None:
            after(outcome)
        if dry_run:
            transaction.set_rollback(True)
    return outcome


def write_stats(customer_ids: set[int]) -> None:
    """The customers' statistics, computed by the commerce definition, written with one upsert per
    batch (a transaction each) and telling no listener. Called once after a history job's last chunk:
    a customer with ten orders spread over ten chunks is computed once, not ten times."""
    ids = sorted(customer_ids)
    now = timezone.now()
    try:
        for start in range(0, len(ids), STATS_BATCH):
            rows = [
                (stats.customer_id, *(getattr(stats, c) for c in STATS_COLUMNS[:-1]), now)
                for stats in compute_stats(ids[start : start + STATS_BATCH])
            ]
            with transaction.atomic():
                staging.upsert(CustomerStats, "customer_id", STATS_COLUMNS, rows)
    finally:
        staging.drop_stages([CustomerStats])


def since(moment: dt.datetime) -> float:
    return (timezone.now() - moment).total_seconds()
