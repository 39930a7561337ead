"""The one CSV/xlsx writer every export and report goes through, safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula ("formula injection": a customer named
``=HYPERLINK(...)`` becomes a live link in the merchant's export). Such text is written as text:
prefixed with an apostrophe in CSV (the OWASP advice) and stored as a string cell in xlsx.
Numbers, dates and decimals are written as what they are, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"  # spreadsheets read the Chinese text right only with it

Row = Sequence[Any]


def safe_text(value: str) -> str:
    """The text a spreadsheet shows as typed, never evaluates."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def csv_cell(value: Any) -> Any:
    """A value for ``csv.writer``: text neutralised, numbers and dates as they are."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return safe_text(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Row], *, bom: bool = True) -> Iterator[str]:
    """CSV text one line at a time, for streaming responses of any size."""
    writer = csv.writer(_Echo())
    if bom:
        yield CSV_BOM
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_bytes(rows: Iterable[Row]) -> bytes:
    return "".join(csv_lines(rows)).encode("utf-8")


class CsvWriter:
    """An open CSV file written row by row (reports that grow while a job runs)."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Row) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


def write_xlsx(handle: IO[bytes], sheets: Iterable[tuple[str, Iterable[Row]]]) -> None:
    """Stream rows into a write-only workbook: constant memory whatever the row count.

    Text that starts like a formula is stored as a string cell, which spreadsheets show as typed
    and never evaluate; numbers, decimals and dates keep their types.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet((title or "Sheet")[:31])
        for row in rows:
            cells: list[Any] = []
            for value in row:
                if value is None or isinstance(value, bool | int | float | dt.datetime | dt.date):
                    cells.append(value)
                elif isinstance(value, Decimal):
                    cells.append(float(value))
                else:
                    cell = WriteOnlyCell(sheet, value=str(value))
                    cell.data_type = "s"  # never "f", whatever the text starts with
                    cells.append(cell)
            sheet.append(cells)
    workbook.save(handle)


def xlsx_bytes(sheets: Iterable[tuple[str, Iterable[Row]]]) -> bytes:
    out = io.BytesIO()
    write_xlsx(out, sheets)
    return out.getvalue()
