"""The suite-wide plaintext scan (issue 19, item 3), on when ``RAPPORT_PII_SCAN=1``.

After every passing test that used the database, and before its transaction is rolled back (or
its tables flushed), the phones and emails of the customers the test left behind (decrypted through
the PII module, with their addresses' phones and their tickets' reply addresses) are searched for in
every text, JSON and bytes column of every table and in the log records the test wrote, as the
configured log handlers would write them (masked). A hit fails the test at teardown, naming the
table, the column and the kind of value, the value itself masked. Phones are also found written
with spaces or dashes (``+86 139 1234 5678``); emails whatever their case.

Columns that may legitimately hold such a value are listed in :data:`ALLOWED`, with the reason.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models

ENABLED = os.environ.get("RAPPORT_PII_SCAN") == "1"
SAMPLE = 100  # values of each kind looked for at most (tests with bulk data check a sample)

# (table, column): why it may hold a customer's phone or email in plaintext. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}
# (table, column): open leaks, written down in docs/privacy.md ("What is left"). They do not fail a
# test; the run's summary counts the tests that hit them. Fix one, then delete its line here.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}

_KINDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
_report_key = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass
class Secrets:
    """The values to look for, each with its kind and a masked form for the failure message."""

    phones: dict[str, str] = field(default_factory=dict)  # national digits → masked
    emails: dict[str, str] = field(default_factory=dict)  # lower-cased address → masked

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails)


@dataclass
class Cost:
    scans: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    known: dict[tuple[str, str], int] = field(default_factory=dict)


COST = Cost()


def _national_digits(e164: str) -> str:
    import phonenumbers

    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", e164)


def _decrypted(model: type[models.Model], column: str) -> Iterator[str]:
    """The column's values decrypted one by one: a test may plant a token sealed under other keys."""
    from rapport.core.pii import decrypt

    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(column)} FROM {quote(model._meta.db_table)} WHERE {quote(column)} <> '' LIMIT {SAMPLE}"  # noqa: S608
        )
        tokens = [token for (token,) in cursor.fetchall()]
    for token in tokens:
        try:
            yield decrypt(token) or ""
        except RuntimeError:
            continue


def collect_secrets() -> Secrets:
    """The phones and emails of every customer in the database, decrypted, and their tickets' addresses."""
    from rapport.core.pii import mask_email, mask_phone
    from rapport.customers.models import Address, Customer
    from rapport.service.models import Ticket

    secrets = Secrets()
    # every value is a pattern tried on every row: a bulk test's thousands of customers are sampled
    for phone in [*_decrypted(Customer, "phone"), *_decrypted(Address, "phone")][:SAMPLE]:
        digits = _national_digits(phone)
        if len(digits) >= 7:  # shorter numbers would match ids and amounts
            secrets.phones[digits] = mask_phone(phone)
    for email in [*_decrypted(Customer, "email"), *_decrypted(Ticket, "reply_to")][:SAMPLE]:
        if "@" in email:
            secrets.emails[email.lower()] = mask_email(email)
    return secrets


def _phone_pattern(digits: str) -> str:
    """The digits, with an optional space or dash between any two of them."""
    return "[ -]?".join(digits)


def _columns() -> Iterator[tuple[str, list[Any]]]:
    seen: set[str] = set()
    for model in apps.get_models():
        table = model._meta.db_table
        if table in seen or model._meta.proxy or not model._meta.managed:
            continue
        seen.add(table)
        fields = [f for f in model._meta.concrete_fields if isinstance(f, _KINDS)]
        if fields:
            yield table, fields


def _as_text(column_sql: str, field_: models.Field[Any, Any]) -> str:
    if isinstance(field_, models.BinaryField):
        return f"encode({column_sql}, 'escape')" if connection.vendor == "postgresql" else f"CAST({column_sql} AS TEXT)"
    return f"CAST({column_sql} AS TEXT)"


def _contains(text: str) -> str:
    """SQL: the lower-cased ``text`` contains the parameter."""
    if connection.vendor == "postgresql":
        return f"position(%s in lower({text})) > 0"
    return f"instr(lower({text}), %s) > 0"


def _hits_postgresql(secrets: Secrets) -> list[tuple[str, str, str]]:
    """One statement: per table a row with, per column, whether it holds a phone and an email."""
    quote = connection.ops.quote_name
    phones = [_phone_pattern(d) for d in secrets.phones]
    emails = ["%" + e.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for e in secrets.emails]
    parts: list[str] = []
    params: list[Any] = []
    layout: dict[str, list[tuple[str, str, str]]] = {}
    for table, fields in _columns():
        checks = []
        params.append(table)
        for field_ in fields:
            text = _as_text(quote(field_.column), field_)
            checks.append(f"coalesce(bool_or({text} ~ ANY(%s::text[])), false)")
            checks.append(f"coalesce(bool_or({text} ILIKE ANY(%s::text[])), false)")
            params += [phones, emails]
        layout[table] = [(table, f.column, kind) for f in fields for kind in ("phone", "email")]
        # identifiers from the model registry, quoted; the values are parameters
        parts.append(f"SELECT %s::text, ARRAY[{', '.join(checks)}] FROM {quote(table)}")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()  # UNION ALL keeps no order: each row names its table
    return [where for table, flags in rows for where, flag in zip(layout[table], flags, strict=True) if flag]


def _hits_sqlite(secrets: Secrets) -> list[tuple[str, str, str]]:
    quote = connection.ops.quote_name
    hits = []
    with connection.cursor() as cursor:
        for table, fields in _columns():
            for field_ in fields:
                text = _as_text(quote(field_.column), field_)
                for kind, values in (("phone", list(secrets.phones)), ("email", list(secrets.emails))):
                    if not values:
                        continue
                    if kind == "phone":
                        where = " OR ".join(f"{text} REGEXP %s" for _ in values)
                        params = [_phone_pattern(v) for v in values]
                    else:
                        where = " OR ".join(_contains(text) for _ in values)
                        params = values
                    cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {where} LIMIT 1", params)  # noqa: S608
                    if cursor.fetchone():
                        hits.append((table, field_.column, kind))
    return hits


def _which(table: str, column: str, kind: str, secrets: Secrets) -> str:
    """The masked values of ``kind`` that ``table.column`` holds (a second look, only on a hit)."""
    quote = connection.ops.quote_name
    field_ = next(f for t, fs in _columns() if t == table for f in fs if f.column == column)
    text = _as_text(quote(column), field_)
    found = []
    with connection.cursor() as cursor:
        for value, masked in (secrets.phones if kind == "phone" else secrets.emails).items():
            if kind == "phone":
                op = "~" if connection.vendor == "postgresql" else "REGEXP"
                cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {text} {op} %s LIMIT 1", [_phone_pattern(value)])  # noqa: S608
            else:
                cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {_contains(text)} LIMIT 1", [value])  # noqa: S608
            if cursor.fetchone():
                found.append(masked)
    return ", ".join(found)


def scan_database(secrets: Secrets) -> list[str]:
    """``table.column: kind (masked values)`` for every column holding one of ``secrets``."""
    if not secrets:
        return []
    hits = _hits_postgresql(secrets) if connection.vendor == "postgresql" else _hits_sqlite(secrets)
    for table, column, _kind in hits:
        if (table, column) in KNOWN_LEAKS:
            COST.known[table, column] = COST.known.get((table, column), 0) + 1
    return [
        f"{table}.{column}: customer {kind} ({_which(table, column, kind, secrets)})"
        for table, column, kind in hits
        if (table, column) not in ALLOWED and (table, column) not in KNOWN_LEAKS
    ]


def scan_log(records: list[logging.LogRecord], secrets: Secrets) -> list[str]:
    """The loggers and kinds of the log records that, as the configured handlers write them, hold a secret."""
    from rapport.core.logmask import MaskPersonalData

    masker = MaskPersonalData()
    patterns = [(re.compile(_phone_pattern(d)), "phone", m) for d, m in secrets.phones.items()]
    findings = []
    for record in records:
        masker.filter(record)  # what every handler in settings.LOGGING does before writing
        text = record.getMessage() + "\n" + (record.exc_text or "")
        lowered = text.lower()
        for email, masked in secrets.emails.items():
            if email in lowered:
                findings.append(f"log {record.name} ({record.levelname}): customer email ({masked})")
        for pattern, kind, masked in patterns:
            if pattern.search(text):
                findings.append(f"log {record.name} ({record.levelname}): customer {kind} ({masked})")
    return findings


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _uses_database(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        databases = marker.kwargs.get("databases")
        return databases is None or databases == "__all__" or "default" in databases
    return bool(
        {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
        & set(request.fixturenames)
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_report_key, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def _no_plaintext_personal_data(request: pytest.FixtureRequest) -> Iterator[None]:
    if not ENABLED or not _uses_database(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down (rolled back) after the scan
    keep = _Keep()
    root = logging.getLogger()
    root.addHandler(keep)
    yield
    root.removeHandler(keep)
    call = request.node.stash.get(_report_key, {}).get("call")
    if call is None or not call.passed:
        return
    started, cpu = time.perf_counter(), time.process_time()
    secrets = collect_secrets()
    findings = scan_database(secrets) + scan_log(keep.records, secrets)
    COST.scans += 1
    COST.seconds += time.perf_counter() - started
    COST.cpu += time.process_time() - cpu
    if findings:
        pytest.fail("customer personal data in plaintext:\n  " + "\n  ".join(findings), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ENABLED and COST.scans:
        terminalreporter.write_line(
            f"plaintext scan: {COST.scans} tests, {COST.seconds:.1f} s "
            f"({1000 * COST.seconds / COST.scans:.1f} ms a test, CPU {1000 * COST.cpu / COST.scans:.1f} ms)"
        )
        for (table, column), hits in COST.known.items():
            terminalreporter.write_line(
                f"plaintext scan: known leak {table}.{column} in {hits} hits: {KNOWN_LEAKS[table, column]}"
            )
