"""Transaction logs turned into the per-customer summaries the CLV models take.

A log is three parallel arrays (customer id, day, amount). Purchases by one customer on one day
count as one transaction, as in the papers. :func:`read_csv` reads the analyst's CSV for
``rapport clv fit`` and names the line and column of the first bad value;
:func:`read_cdnow` reads the CDNOW files the models are validated on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rapport.analytics.clv import FloatArray


class TransactionFileError(ValueError):
    """A transactions file that cannot be read; the message names the line and column."""


@dataclass(frozen=True)
class TransactionLog:
    customers: NDArray[np.str_]
    days: NDArray[np.datetime64]
    amounts: FloatArray


@dataclass(frozen=True)
class Summary:
    """One row per customer whose first purchase falls in the calibration period, times in units
    of ``unit_days`` days."""

    customers: NDArray[np.str_]
    first_day: NDArray[np.datetime64]
    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary: FloatArray
    holdout_frequency: FloatArray | None
    unit_days: float


def summarise(
    log: TransactionLog,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None = None,
    unit_days: float = 7.0,
) -> Summary:
    """Frequency, recency, age and average repeat spend at the end of ``calibration_end`` (the
    day is included), and with ``holdout_end`` the purchases each customer made after it up to
    and including that day."""
    cal_end = np.datetime64(calibration_end, "D")
    codes_of, codes = np.unique(log.customers, return_inverse=True)
    day_numbers = log.days.astype("datetime64[D]").astype(np.int64)
    # One transaction per customer and day, its amount the day's total.
    keys = codes.astype(np.int64) * 1_000_000 + (day_numbers - day_numbers.min())
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    day_amount = np.bincount(inverse, weights=log.amounts)
    customer = unique_keys // 1_000_000
    day = (unique_keys % 1_000_000 + day_numbers.min()).astype("datetime64[D]")

    in_calibration = day <= cal_end
    n = codes_of.size
    first = np.full(n, np.datetime64("9999-12-31"), dtype="datetime64[D]")
    np.minimum.at(first, customer, day)
    last = np.full(n, np.datetime64("0001-01-01"), dtype="datetime64[D]")
    np.maximum.at(last, customer[in_calibration], day[in_calibration])
    purchases = np.bincount(customer[in_calibration], minlength=n).astype(np.float64)
    spend = np.bincount(customer[in_calibration], weights=day_amount[in_calibration], minlength=n)
    first_amount = np.zeros(n)
    is_first = day == first[customer]
    first_amount[customer[is_first]] = day_amount[is_first]

    kept = first <= cal_end
    frequency = purchases[kept] - 1
    repeat_spend = (spend - first_amount)[kept]
    monetary = np.divide(repeat_spend, frequency, out=np.zeros_like(repeat_spend), where=frequency > 0)
    holdout = None
    if holdout_end is not None:
        in_holdout = (day > cal_end) & (day <= np.datetime64(holdout_end, "D"))
        holdout = np.bincount(customer[in_holdout], minlength=n).astype(np.float64)[kept]
    return Summary(
        customers=codes_of[kept],
        first_day=first[kept],
        frequency=frequency,
        recency=(last - first)[kept].astype(np.float64) / unit_days,
        age=(cal_end - first)[kept].astype(np.float64) / unit_days,
        monetary=monetary,
        holdout_frequency=holdout,
        unit_days=unit_days,
    )


# Reading files --------------------------------------------------------------------------------

CSV_COLUMNS = ("customer_id", "date", "amount")
MAX_CSV_BYTES = 500 * 1024 * 1024


def read_csv(path: Path) -> TransactionLog:
    """A CSV with the header ``customer_id,date,amount`` (any order, more columns ignored):
    dates as ``YYYY-MM-DD``, amounts as decimals of at least 0."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_CSV_BYTES else b""
    except OSError as exc:
        raise TransactionFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    if size > MAX_CSV_BYTES:
        raise TransactionFileError(f"{path}: larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TransactionFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise TransactionFileError(f"{path}: the file is empty")
    names = [name.strip().lower() for name in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        raise TransactionFileError(
            f"{path}, line 1: the header lacks the column(s) {', '.join(missing)} (expected {', '.join(CSV_COLUMNS)})"
        )
    where = {c: names.index(c) for c in CSV_COLUMNS}
    customers: list[str] = []
    days: list[dt.date] = []
    amounts: list[float] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(names):
            raise TransactionFileError(f"{path}, line {line}: {len(row)} columns where the header has {len(names)}")
        customer = row[where["customer_id"]].strip()
        if not customer:
            raise TransactionFileError(f"{path}, line {line}, column customer_id: empty")
        customers.append(customer)
        days.append(_parse_day(row[where["date"]], f"{path}, line {line}, column date"))
        amounts.append(_parse_amount(row[where["amount"]], f"{path}, line {line}, column amount"))
    if not customers:
        raise TransactionFileError(f"{path}: no transactions after the header")
    return TransactionLog(np.array(customers), np.array(days, dtype="datetime64[D]"), np.array(amounts))


def _parse_day(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise TransactionFileError(f"{where}: {value.strip()!r} is not a date such as 1997-01-31") from exc


def _parse_amount(value: str, where: str) -> float:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as exc:
        raise TransactionFileError(f"{where}: {value.strip()!r} is not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise TransactionFileError(f"{where}: {value.strip()!r} is not an amount of at least 0")
    return float(amount)


def read_cdnow(path: Path) -> TransactionLog:
    """``CDNOW_master.txt`` (id, date, CDs, dollars) or ``CDNOW_sample.txt`` (id, sample id,
    date, CDs, dollars), whitespace-separated, an optional header line."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if rows and not rows[0][0].isdigit():
        rows = rows[1:]
    table = np.array(rows)
    date_column = 1 if table.shape[1] == 4 else 2
    days = np.array(
        [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in table[:, date_column]],
        dtype="datetime64[D]",
    )
    return TransactionLog(table[:, 0], days, table[:, -1].astype(np.float64))
