import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from rapport.core import tabular

DANGEROUS = ["=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


def test_csv_writes_formula_like_text_as_text_and_keeps_numbers():
    text = "".join(tabular.csv_lines([["name", "amount"], *[[d, Decimal("-5.00")] for d in DANGEROUS]]))
    rows = list(csv.reader(io.StringIO(text.lstrip(tabular.CSV_BOM))))
    assert [r[0] for r in rows[1:]] == ["'" + d for d in DANGEROUS]
    assert {r[1] for r in rows[1:]} == {"-5.00"}


def test_csv_leaves_ordinary_text_and_dates_alone():
    line = "".join(tabular.csv_lines([["王芳", dt.date(2026, 1, 2), None, 3]], bom=False))
    assert line.strip() == "王芳,2026-01-02,,3"


def test_xlsx_stores_formula_like_text_as_strings_never_formulas():
    data = tabular.xlsx_bytes([("members", [["name", "n"], *[[d, -1] for d in DANGEROUS]])])
    sheet = load_workbook(io.BytesIO(data))["members"]
    values = [(c.value, c.data_type) for c in sheet["A"][1:]]
    assert values == [(d.replace("\r", "\n"), "s") for d in DANGEROUS]  # XML stores CR as LF
    assert [c.value for c in sheet["B"][1:]] == [-1] * len(DANGEROUS)
