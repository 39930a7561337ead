"""The suite-wide plaintext scan (issue 19, item 3), on when ``RAPPORT_PII_SCAN=1``.

After every passing test that used the database, and before its transaction is rolled back (or
its tables flushed), the personal values of the customers the test left behind (decrypted through
the PII module: phones, emails, ID numbers, street lines, their addresses' phones and their
tickets' reply addresses) and, for a customer the test erased, those values as they were before the
erasure plus the name, are searched for in

- every text, JSON and bytes column of every table the test wrote to,
- the log records the test wrote, as the configured (masking) handlers would write them,
- the files the test wrote or changed under the data folder (outbox, uploads, import reports,
  media; a zip is read member by member).

A hit fails the test at teardown, naming the table and column (the logger, the file) and the kind
of value, the value itself masked.

The scan must stay cheap enough to run over the whole suite in CI, so it never uses a regular
expression in the database: both the values and the text are *normalised* (lower case, spaces and
dashes removed, so ``+86 139-1234 5678`` is found as ``13912345678``) and compared by plain
substring; each table is read once, its candidate columns joined into one string per row
(PostgreSQL: ``LIKE ANY`` over an array of needles; SQLite: ``instr`` against a materialised
copy), all tables in one statement. On PostgreSQL, inside the test's transaction, only the tables
the transaction inserted into or updated (``pg_stat_xact_user_tables``) are read. Only on a hit
are the table's columns looked at one by one to name the column and the values.

Columns that may legitimately hold such a value are listed in :data:`ALLOWED`, with the reason;
open leaks in :data:`KNOWN_LEAKS` (counted, not failed).
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models

ENABLED = os.environ.get("RAPPORT_PII_SCAN") == "1"
SAMPLE = 100  # customers whose values are looked for at most (tests with bulk data check a sample)
MAX_FILE_BYTES = 8 * 1024 * 1024  # a file written by a test larger than this is read up to it

# (table, column): why it may hold a customer's personal value in plaintext. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}
# (table, column): open leaks, written down in docs/privacy.md ("What is left"). They do not fail a
# test; the run's summary counts the tests that hit them. Fix one, then delete its line here.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}

_KINDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
_DROPPED = str.maketrans("", "", " -")  # what people put between the digits of a phone number
# the shortest value of each kind looked for: shorter ones would match ids, amounts and words
_SHORTEST = {"phone": 7, "email": 6, "ID number": 15, "street": 6, "name": 2}
_report_key = pytest.StashKey[dict[str, pytest.TestReport]]()


def normalise(text: str) -> str:
    """Lower case, spaces and dashes removed: applied alike to the values and to what is scanned."""
    return text.lower().translate(_DROPPED)


@dataclass
class Secrets:
    """The values to look for: normalised needle → (kind, masked form for the failure message)."""

    needles: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, kind: str, value: str, masked: str) -> None:
        needle = normalise(value)
        if len(needle) < _SHORTEST[kind]:
            return
        self.needles.setdefault(needle, (kind, masked))
        # Django's JSONField on SQLite stores non-ASCII characters as \\uXXXX escapes
        escaped = json.dumps(needle)[1:-1]
        if escaped != needle:
            self.needles.setdefault(escaped, (kind, masked))

    def update(self, other: Secrets) -> None:
        for needle, what in other.needles.items():
            self.needles.setdefault(needle, what)

    def found_in(self, normalised: str) -> list[tuple[str, str]]:
        """(kind, masked) of every value ``normalised`` text holds, each once."""
        return sorted({what for needle, what in self.needles.items() if needle in normalised})

    def __bool__(self) -> bool:
        return bool(self.needles)


@dataclass
class Cost:
    scans: int = 0
    tables: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    known: dict[tuple[str, str], int] = field(default_factory=dict)


COST = Cost()


def _national_digits(e164: str) -> str:
    import phonenumbers

    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return "".join(c for c in e164 if c.isdigit())


def _opened(token: str | None) -> str:
    """A token decrypted, or ``""``: a test may plant one sealed under other keys."""
    from rapport.core.pii import decrypt

    if not token:
        return ""
    try:
        return decrypt(token) or ""
    except RuntimeError:
        return ""


def _rows(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def collect_secrets(customer_ids: list[int] | None = None, *, with_names: bool = False) -> Secrets:
    """The personal values of ``customer_ids`` (default: a sample of every customer), decrypted.

    Read with SQL and decrypted one by one rather than through the models, so that a row planted
    with a foreign token does not stop the scan."""
    from rapport.core.pii import mask_email, mask_id_number, mask_phone, mask_text
    from rapport.customers.models import Address, Customer
    from rapport.service.models import Ticket

    quote = connection.ops.quote_name
    if customer_ids is None:
        people = _rows(
            f"SELECT id, name, phone, email, id_number FROM {quote(Customer._meta.db_table)} "  # noqa: S608
            f"ORDER BY id DESC LIMIT {SAMPLE}"
        )
    else:
        marks = ", ".join(["%s"] * len(customer_ids))
        people = _rows(
            f"SELECT id, name, phone, email, id_number FROM {quote(Customer._meta.db_table)} WHERE id IN ({marks})",  # noqa: S608
            customer_ids,
        )
    ids = [row[0] for row in people]
    secrets = Secrets()
    if not ids:
        return secrets
    marks = ", ".join(["%s"] * len(ids))
    addresses = _rows(
        f"SELECT phone, line1, recipient FROM {quote(Address._meta.db_table)} WHERE customer_id IN ({marks})",  # noqa: S608
        ids,
    )
    replies = _rows(
        f"SELECT reply_to FROM {quote(Ticket._meta.db_table)} WHERE customer_id IN ({marks})",  # noqa: S608
        ids,
    )
    phones = [_opened(row[2]) for row in people] + [_opened(row[0]) for row in addresses]
    for phone in filter(None, phones):
        secrets.add("phone", _national_digits(phone), mask_phone(phone))
    for email in filter(None, [_opened(row[3]) for row in people] + [_opened(row[0]) for row in replies]):
        if "@" in email:
            secrets.add("email", email, mask_email(email))
    for number in filter(None, (_opened(row[4]) for row in people)):
        secrets.add("ID number", number, mask_id_number(number))
    for street in filter(None, (_opened(row[1]) for row in addresses)):
        secrets.add("street", street, mask_text(street))
    if with_names:
        for name in [row[1] for row in people] + [row[2] for row in addresses]:
            if name:
                secrets.add("name", name, mask_text(name, keep_start=1))
    return secrets


def without_names_in_use(secrets: Secrets) -> Secrets:
    """An erased person's name, unless a customer who is still there bears it (a namesake)."""
    from rapport.customers.models import Customer

    names = [needle for needle, (kind, _masked) in secrets.needles.items() if kind == "name"]
    if not names:
        return secrets
    table = connection.ops.quote_name(Customer._meta.db_table)
    text = _normalised_sql(f"CAST({connection.ops.quote_name('name')} AS TEXT)")
    kept = Secrets(dict(secrets.needles))
    for needle in names:
        if _rows(f"SELECT 1 FROM {table} WHERE {_position(text)} > 0 LIMIT 1", [needle]):  # noqa: S608
            del kept.needles[needle]
    return kept


# SQL --------------------------------------------------------------------------------------------


def _position(text: str, needle: str = "%s") -> str:
    """SQL: where ``needle`` starts in ``text`` (0: not there)."""
    return f"{'strpos' if connection.vendor == 'postgresql' else 'instr'}({text}, {needle})"


def _normalised_sql(text: str) -> str:
    if connection.vendor == "postgresql":
        return f"translate(lower({text}), ' -', '')"
    return f"replace(replace(lower({text}), ' ', ''), '-', '')"


def _as_text(field_: models.Field[Any, Any]) -> str:
    column = connection.ops.quote_name(field_.column)
    if isinstance(field_, models.BinaryField) and connection.vendor == "postgresql":
        return f"encode({column}, 'escape')"
    return f"CAST({column} AS TEXT)"


def _joined(texts: list[str]) -> str:
    """One string per row of all ``texts`` (a separator none of the values holds, NULL as empty)."""
    if len(texts) == 1:
        return f"coalesce({texts[0]}, '')"
    if connection.vendor == "postgresql":
        return f"concat_ws(chr(1), {', '.join(texts)})"
    return " || char(1) || ".join(f"coalesce({t}, '')" for t in texts)


@dataclass(frozen=True)
class _Group:
    """Columns of one table read together; a known leak's column is a group of its own."""

    table: str
    columns: tuple[str, ...]
    texts: tuple[str, ...]
    known: bool = False


def _groups(tables: set[str] | None) -> Iterator[_Group]:
    from rapport.core.fields import EncryptedBinaryField

    seen: set[str] = set()
    for model in apps.get_models():
        table = model._meta.db_table
        if (
            table in seen
            or model._meta.proxy
            or not model._meta.managed
            or (tables is not None and table not in tables)
        ):
            continue
        seen.add(table)
        fields = [
            f
            for f in model._meta.concrete_fields
            # bytes encrypted by the field are ciphertext whatever a test wrote through it
            if isinstance(f, _KINDS) and not isinstance(f, EncryptedBinaryField) and (table, f.column) not in ALLOWED
        ]
        plain = [f for f in fields if (table, f.column) not in KNOWN_LEAKS]
        if plain:
            yield _Group(table, tuple(f.column for f in plain), tuple(_as_text(f) for f in plain))
        for f in fields:
            if (table, f.column) in KNOWN_LEAKS:
                yield _Group(table, (f.column,), (_as_text(f),), known=True)


def written_tables() -> set[str] | None:
    """The tables the test's transaction inserted into or updated; ``None`` (all) when unknown.

    PostgreSQL counts a transaction's writes per table in ``pg_stat_xact_user_tables``; a test not
    wrapped in a transaction (``transactional_db``) or on SQLite has every table read (SQLite's test
    database is in memory and holds only the test's rows)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return None
    rows = _rows(
        "SELECT relname FROM pg_stat_xact_user_tables WHERE schemaname = current_schema() AND n_tup_ins + n_tup_upd > 0"
    )
    return {name for (name,) in rows}


def _like(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _flags(groups: list[_Group], secrets: Secrets) -> list[bool]:
    """One statement: for each group, does any row hold any needle?"""
    quote = connection.ops.quote_name
    needles = list(secrets.needles)
    params: list[Any] = []
    if connection.vendor == "postgresql":
        patterns = [_like(n) for n in needles]
        checks = []
        for group in groups:
            text = _normalised_sql(_joined(list(group.texts)))
            checks.append(f"EXISTS (SELECT 1 FROM {quote(group.table)} WHERE {text} LIKE ANY(%s::text[]))")  # noqa: S608
            params.append(patterns)
        sql = "SELECT " + ", ".join(checks)
    else:
        ctes, checks = [], []
        for i, group in enumerate(groups):
            text = _normalised_sql(_joined(list(group.texts)))
            ctes.append(f"t{i}(v) AS MATERIALIZED (SELECT {text} FROM {quote(group.table)})")  # noqa: S608
            checks.append(f"EXISTS (SELECT 1 FROM t{i}, json_each(%s) n WHERE instr(t{i}.v, n.value) > 0)")  # noqa: S608
            params.append(json.dumps(needles))
        sql = "WITH " + ", ".join(ctes) + " SELECT " + ", ".join(checks)
    # identifiers come from the model registry, quoted; the values are parameters
    (row,) = _rows(sql, params)
    return [bool(flag) for flag in row]


def _held(group: _Group, secrets: Secrets) -> Iterator[tuple[str, str, str]]:
    """(column, kind, masked) for each value a hit group's columns hold: the second, rare look."""
    table = connection.ops.quote_name(group.table)
    needles = list(secrets.needles)
    for column, text in zip(group.columns, group.texts, strict=True):
        normalised = _normalised_sql(text)
        if connection.vendor == "postgresql":
            sql = f"SELECT DISTINCT n FROM {table}, unnest(%s::text[]) n "  # noqa: S608
            sql += f"WHERE {_position(normalised, 'n')} > 0"
            params: list[Any] = [needles]
        else:
            sql = f"SELECT DISTINCT n.value FROM {table}, json_each(%s) n "  # noqa: S608
            sql += f"WHERE {_position(normalised, 'n.value')} > 0"
            params = [json.dumps(needles)]
        found = sorted({secrets.needles[needle] for (needle,) in _rows(sql, params)})
        for kind in sorted({kind for kind, _masked in found}):
            yield column, kind, ", ".join(masked for k, masked in found if k == kind)


def scan_database(secrets: Secrets, tables: set[str] | None = None) -> list[str]:
    """``table.column: customer kind (masked values)`` for every column holding one of ``secrets``."""
    if not secrets:
        return []
    groups = list(_groups(tables))
    if not groups:
        return []
    COST.tables += len({g.table for g in groups})
    findings = []
    for group, flag in zip(groups, _flags(groups, secrets), strict=True):
        if not flag:
            continue
        if group.known:
            key = (group.table, group.columns[0])
            COST.known[key] = COST.known.get(key, 0) + 1
            continue
        findings += [
            f"{group.table}.{column}: customer {kind} ({masked})" for column, kind, masked in _held(group, secrets)
        ]
    return findings


# Logs and files ---------------------------------------------------------------------------------


def scan_log(records: list[logging.LogRecord], secrets: Secrets) -> list[str]:
    """The loggers and kinds of the log records that, as the configured handlers write them, hold a secret."""
    from rapport.core.logmask import MaskPersonalData

    masker = MaskPersonalData()
    findings = []
    for record in records:
        masker.filter(record)  # what every handler in settings.LOGGING does before writing
        text = normalise(record.getMessage() + "\n" + (record.exc_text or ""))
        findings += [
            f"log {record.name} ({record.levelname}): customer {kind} ({masked})"
            for kind, masked in secrets.found_in(text)
        ]
    return findings


def data_folders() -> set[Path]:
    """The folders the application writes files to: the data folder's subfolders (outbox, imports,
    media, …) and the outbox wherever it is configured. Files lying in the data folder itself (its
    keys, a SQLite database, a test's own input files) and the collected static files are not read."""
    from django.conf import settings

    roots = {Path(settings.DATA_DIR)}
    if configured := getattr(settings, "RAPPORT_DATA_DIR", None):  # the import engine's override
        roots.add(Path(configured))
    static = Path(settings.STATIC_ROOT) if settings.STATIC_ROOT else None
    folders = {Path(settings.RAPPORT_OUTBOX_DIR), Path(settings.MEDIA_ROOT)}
    for root in roots:
        if root.is_dir():
            folders.update(entry for entry in root.iterdir() if entry.is_dir() and entry != static)
    return {folder for folder in folders if folder.is_dir()}


def snapshot(folders: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    """Every file under ``folders``: (modification time, size), to tell what a test wrote."""
    files: dict[Path, tuple[int, int]] = {}
    for folder in folders:
        for base, _dirs, names in os.walk(folder):
            for name in names:
                path = Path(base, name)
                try:
                    stat = path.stat()
                except OSError:  # gone meanwhile
                    continue
                files[path] = (stat.st_mtime_ns, stat.st_size)
    return files


def _contents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of a file, or of each member of a zip (an archive, an export)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES)
    except OSError:
        return
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist():
                    yield f"{path}!{member.filename}", archive.read(member)[:MAX_FILE_BYTES]
            return
        except (zipfile.BadZipFile, RuntimeError, ValueError):  # truncated, or encrypted members
            pass
    yield str(path), data


def scan_files(before: dict[Path, tuple[int, int]], folders: Iterable[Path], secrets: Secrets) -> list[str]:
    """The files written or changed since ``before`` under ``folders`` that hold a secret."""
    findings = []
    for path, stamp in sorted(snapshot(folders).items()):
        if before.get(path) == stamp:
            continue
        for name, data in _contents(path):
            text = normalise(data.decode("utf-8", "replace"))
            findings += [f"file {name}: customer {kind} ({masked})" for kind, masked in secrets.found_in(text)]
    return findings


# The pytest plugin ------------------------------------------------------------------------------


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


def watch_erasures(patch: pytest.MonkeyPatch, erased: Secrets) -> None:
    """Keep what an erased customer's values were, name included, just before the erasure."""
    from rapport.privacy import services

    original: Callable[..., Any] = services._erase

    def erase(customer: Any, **kwargs: Any) -> Any:
        erased.update(collect_secrets([customer.pk], with_names=True))
        return original(customer, **kwargs)

    patch.setattr(services, "_erase", erase)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_report_key, {})[report.when] = report
    return report


def scan(erased: Secrets, records: list[logging.LogRecord], before: dict[Path, tuple[int, int]]) -> list[str]:
    """Everything the test left behind, searched for its customers' values and the erased ones'."""
    from rapport.customers.models import Address, Customer
    from rapport.service.models import Ticket

    tables = written_tables()
    sources = {Customer._meta.db_table, Address._meta.db_table, Ticket._meta.db_table}
    secrets = Secrets()
    if tables is None or tables & sources:  # otherwise the test left no customer behind
        secrets = collect_secrets()
    secrets.update(without_names_in_use(erased))
    if not secrets:
        return []
    return scan_database(secrets, tables) + scan_log(records, secrets) + scan_files(before, data_folders(), secrets)


@pytest.fixture(autouse=True)
def _no_plaintext_personal_data(request: pytest.FixtureRequest) -> Iterator[None]:
    if not ENABLED or not _uses_database(request):
        yield
        return
    # set up first, so torn down after the scan: the test's rows are still there (rolled back
    # after), and the data folder a test configured is still configured
    request.getfixturevalue("_django_db_helper")
    request.getfixturevalue("settings")
    before = snapshot(data_folders())
    erased = Secrets()
    patch = pytest.MonkeyPatch()
    watch_erasures(patch, erased)
    keep = _Keep()
    root = logging.getLogger()
    root.addHandler(keep)
    try:
        yield
    finally:
        root.removeHandler(keep)
        patch.undo()
    call = request.node.stash.get(_report_key, {}).get("call")
    if call is None or not call.passed:
        return
    started, cpu = time.perf_counter(), time.process_time()
    findings = scan(erased, keep.records, before)
    COST.scans += 1
    COST.seconds += time.perf_counter() - started
    COST.cpu += time.process_time() - cpu
    if findings:
        pytest.fail("customer personal data in plaintext:\n  " + "\n  ".join(findings), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its cost to the controller, which prints the run's summary."""
    output = getattr(session.config, "workeroutput", None)
    if ENABLED and output is not None:
        output["piiscan"] = {
            "scans": COST.scans,
            "tables": COST.tables,
            "seconds": COST.seconds,
            "cpu": COST.cpu,
            "known": [[table, column, hits] for (table, column), hits in COST.known.items()],
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    cost = getattr(node, "workeroutput", {}).get("piiscan")
    if cost:
        COST.scans += cost["scans"]
        COST.tables += cost["tables"]
        COST.seconds += cost["seconds"]
        COST.cpu += cost["cpu"]
        for table, column, hits in cost["known"]:
            COST.known[table, column] = COST.known.get((table, column), 0) + hits


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ENABLED and COST.scans:
        terminalreporter.write_line(
            f"plaintext scan: {COST.scans} tests, {COST.tables} tables read, {COST.seconds:.1f} s in all workers "
            f"({1000 * COST.seconds / COST.scans:.1f} ms a test, CPU of the test process "
            f"{1000 * COST.cpu / COST.scans:.1f} ms)"
        )
        for (table, column), hits in COST.known.items():
            terminalreporter.write_line(
                f"plaintext scan: known leak {table}.{column} in {hits} tests: {KNOWN_LEAKS[table, column]}"
            )
