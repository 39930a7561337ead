"""Reading import files: CSV (UTF-8, UTF-8 with BOM, GB18030 or UTF-16), xlsx and JSON Lines, row by row.

A reader yields the header once and then ``(line, values)`` pairs, where ``line`` is the
line number a person sees in the file (the header is line 1; in a spreadsheet, the row
number). Every value is text, stripped; spreadsheet dates become ISO 8601, and whole numbers
typed into a spreadsheet (phone numbers, ids) lose the ``.0`` Excel gives them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
ENCODINGS = ("utf-8-sig", "gb18030")
_DELIMITERS = (",", "\t", ";", "|")
_ZIP_MAGIC = b"PK\x03\x04"


class UnusableFile(Exception):
    """The file as a whole cannot be imported: missing, unreadable, unknown format, no key column."""


@dataclass
class Table:
    """An opened file: its header, how many data rows it has, and an iterator over them."""

    format: str
    header: list[str]
    total_rows: int
    encoding: str = ""
    delimiter: str = ""
    _rows: Iterator[tuple[int, list[str]]] = field(default_factory=lambda: iter(()))
    _close: Any = None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect_format(path: Path) -> str:
    from rapport.imports.files import open_binary

    suffix = path.suffix.lower()
    with open_binary(path) as handle:
        magic = handle.read(4)
    if suffix in XLSX_SUFFIXES or magic == _ZIP_MAGIC:
        return "xlsx"
    if suffix == ".xls" or magic == b"\xd0\xcf\x11\xe0":
        raise UnusableFile(f"{path.name}: the old Excel .xls format is not supported; save it as .xlsx or .csv")
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    raise UnusableFile(f"{path.name}: unknown file format {suffix or '(no extension)'!r}; use .csv or .xlsx")


def open_table(path: str | Path) -> Table:
    """Open ``path`` and count its data rows; raise :class:`UnusableFile` when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UnusableFile(f"{path}: no such file")
    kind = detect_format(path)
    if kind == "jsonl":
        return _open_jsonl(path)
    return _open_xlsx(path) if kind == "xlsx" else _open_csv(path)


# JSON Lines --------------------------------------------------------------------------------


def _open_jsonl(path: Path) -> Table:
    """One message a line (UTF-8), read as a one-column table ``event`` holding each line's text;
    blank lines are skipped. The lines are numbered as in the file (there is no header line).
    The count is the lines' (an estimate, as for CSV: :func:`_decodes_and_counts_lines`)."""
    from rapport.imports.files import open_text

    try:
        total = _decodes_and_counts_lines(path, "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableFile(f"{path.name}: JSON Lines are UTF-8 text ({exc})") from exc
    handle = open_text(path, "utf-8-sig")
    numbered = enumerate(handle, start=1)
    first = next(((number, text.strip()) for number, text in numbered if text.strip()), None)
    if first is None:
        handle.close()
        raise UnusableFile(f"{path.name}: the file is empty")

    def lines() -> Iterator[tuple[int, list[str]]]:
        yield first[0], [first[1]]
        for number, text in numbered:
            if stripped := text.strip():
                yield number, [stripped]

    return Table("jsonl", ["event"], total, encoding="utf-8", _rows=lines(), _close=handle.close)


# CSV ---------------------------------------------------------------------------------------


def _decodes_and_counts_lines(path: Path, encoding: str) -> int:
    """The file's lines, counted while checking that the whole file decodes as ``encoding``
    (raises UnicodeDecodeError otherwise), in binary blocks: no CSV parsing, no row objects.

    An estimate of the records for the progress bar, refined once the rows are read (a quoted
    cell holding a line break, or a blank line, counts here as a line of its own). A file using
    a bare CR as its line break (old Mac exports) is counted by its CRs.
    """
    from rapport.imports.files import BLOCK, open_binary

    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = returns = 0
    last = ""
    with open_binary(path) as handle:
        while block := handle.read(BLOCK):
            text = decoder.decode(block)
            if text:
                newlines += text.count("\n")
                returns += text.count("\r")
                last = text[-1]
    decoder.decode(b"", final=True)  # a truncated last character does not decode either
    lines = max(newlines, returns)
    return lines + 1 if last and last not in "\r\n" else lines


def _choose_encoding_and_count(path: Path) -> tuple[str, str, int]:
    """Find the first encoding that decodes the whole file; estimate its data rows on the way
    (its lines less the header: :func:`_decodes_and_counts_lines`).

    Excel's "Unicode text" is UTF-16 with a byte order mark; anything else is tried as UTF-8
    (with or without a BOM), then GB18030 (which includes GBK and GB2312).
    """
    from rapport.imports.files import open_binary, open_text

    with open_binary(path) as handle:
        start = handle.read(2)
    candidates = ("utf-16",) if start in (b"\xff\xfe", b"\xfe\xff") else ENCODINGS
    for encoding in candidates:
        try:
            with open_text(path, encoding) as handle:
                first_line = handle.readline()
                delimiter = max(_DELIMITERS, key=first_line.count) if first_line.strip() else ","
                if first_line.count(delimiter) == 0:
                    delimiter = ","
            count = _decodes_and_counts_lines(path, encoding)
        except UnicodeDecodeError:
            continue
        return encoding, delimiter, max(count - 1, 0)
    raise UnusableFile(f"{path.name}: cannot read the text: it is not UTF-8, GB18030 or UTF-16")


def _open_csv(path: Path) -> Table:
    """The file's rows, read once: its lines are counted (cheaply) for the progress bar, and its
    records read, stripped, skipped when blank and padded to the header's width in one generator."""
    from rapport.imports.files import open_text

    encoding, delimiter, total = _choose_encoding_and_count(path)
    handle = open_text(path, encoding)
    reader = csv.reader(handle, delimiter=delimiter)
    strip = str.strip
    header_values: list[str] | None = None
    try:
        for record in reader:
            values = list(map(strip, record))
            if any(values):
                header_values = values
                break
    except csv.Error as exc:
        handle.close()
        raise UnusableFile(f"{path.name}: not a readable CSV file ({exc})") from exc
    if header_values is None:
        handle.close()
        raise UnusableFile(f"{path.name}: the file is empty")
    header = _clean_header(header_values)
    width = len(header)

    def rows(previous_end: int = reader.line_num) -> Iterator[tuple[int, list[str]]]:
        try:
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                values = list(map(strip, record))
                if any(values):
                    if len(values) < width:
                        values += [""] * (width - len(values))
                    yield start, values
        except csv.Error as exc:
            raise UnusableFile(f"{path.name}: not a readable CSV file after line {previous_end} ({exc})") from exc

    return Table("csv", header, total, encoding=encoding, delimiter=delimiter, _rows=rows(), _close=handle.close)


# xlsx --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person would type."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value).strip()


def _open_xlsx(path: Path) -> Table:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from rapport.imports.files import is_encrypted, open_binary

    source_file: Any = path
    if is_encrypted(path):  # a workbook is a zip, read at random: decrypted into memory, never to disk
        with open_binary(path) as handle:
            source_file = io.BytesIO(handle.read())
    try:
        workbook = load_workbook(source_file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise UnusableFile(f"{path.name}: not a readable xlsx workbook ({exc})") from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        workbook.close()
        raise UnusableFile(f"{path.name}: the workbook has no sheet")
    iterator = sheet.iter_rows(values_only=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(iterator, start=1):
            values = [cell_text(v) for v in row]
            if any(values):
                yield number, values

    source = records()
    first = next(source, None)
    if first is None:
        workbook.close()
        raise UnusableFile(f"{path.name}: the first sheet is empty")
    header_line, raw_header = first
    header = _clean_header(raw_header)
    width = len(header)
    total = max((sheet.max_row or 0) - header_line, 0)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, values in source:
            values = values[:width] + [""] * (width - len(values))
            yield line, values

    return Table("xlsx", header, total, _rows=rows(), _close=workbook.close)


def _clean_header(values: list[str]) -> list[str]:
    header = [v.replace("\ufeff", "").strip() for v in values]
    while header and not header[-1]:
        header.pop()
    return header
