"""Reading CSV files once: the row count is an estimate from the lines (no second parse), the
rows come from one reader, and what the reader cannot parse stops the file with its line."""

import pytest

from rapport.core.actor import Actor, Source
from rapport.imports import files
from rapport.imports.readers import UnusableFile, open_table
from rapport.imports.services import import_file

ACTOR = Actor(source=Source.IMPORT, label="test")


def rows_of(path):
    with open_table(path) as table:
        return table.total_rows, table.header, list(table.rows())


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("a,b\n1,2\n3,4\n", "utf-8"),
        ("a,b\n1,2\n3,4", "utf-8"),  # no line break after the last row
        ("a,b\r\n1,2\r\n3,4\r\n", "utf-8"),
        ("a,b\r1,2\r3,4\r", "utf-8"),  # a bare CR as the line break
        ("\ufeffa,b\n1,2\n3,4\n", "utf-8"),
        ("a,b\n张三,2\n李四,4\n", "gb18030"),
        ("a\tb\n1\t2\n3\t4\n", "utf-16"),
    ],
)
def test_the_count_is_the_lines_less_the_header(tmp_path, content, encoding):
    path = tmp_path / "rows.csv"
    path.write_bytes(content.encode(encoding))
    total, header, rows = rows_of(path)
    assert total == 2
    assert header == ["a", "b"]
    assert [line for line, _values in rows] == [2, 3]


def test_blank_lines_and_multi_line_cells_keep_their_line_numbers(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('\na,b,c\n1,"two\nlines"\n\n3, 4 ,5\n', encoding="utf-8")
    total, header, rows = rows_of(path)
    assert total == 5  # an estimate: the blank line and the cell's line break count as lines
    assert header == ["a", "b", "c"]
    assert rows == [(3, ["1", "two\nlines", ""]), (6, ["3", "4", "5"])]  # padded, stripped


def test_an_encrypted_upload_is_read_the_same(tmp_path):
    plain = b"a,b\n1,2\n3,4\n"
    path = tmp_path / "upload.csv"
    files.save_encrypted([plain], path)
    assert rows_of(path) == (2, ["a", "b"], [(2, ["1", "2"]), (3, ["3", "4"])])


def test_a_gb18030_file_that_is_utf8_at_first_is_read_as_gb18030(tmp_path):
    path = tmp_path / "rows.csv"
    body = "a,b\n" + "x,1\n" * 200_000 + "张三,2\n"  # the non-UTF-8 bytes only after a block of 1 MiB
    path.write_bytes(body.encode("gb18030"))
    with open_table(path) as table:
        assert table.encoding == "gb18030"
        assert list(table.rows())[-1] == (200_002, ["张三", "2"])


def test_a_record_the_reader_cannot_parse_stops_the_file_with_its_line(tmp_path):
    import csv

    path = tmp_path / "rows.csv"
    path.write_text('a,b\n1,2\n3,"' + "x" * (csv.field_size_limit() + 1) + '"\n', encoding="utf-8")
    with open_table(path) as table, pytest.raises(UnusableFile, match="after line 2"):
        list(table.rows())


def test_the_estimate_is_refined_to_the_rows_read(tmp_path, db):
    path = tmp_path / "products.csv"
    path.write_text('sku,name,price\n\nA-1,"one\ntwo",9.90\n\nA-2,three,5\n', encoding="utf-8")
    seen = []
    result = import_file(path, kind="products", actor=ACTOR, on_start=lambda r: seen.append(r.total_rows))
    assert seen == [5]
    assert (result.total_rows, result.processed_rows, result.created) == (2, 2, 2), result.first_errors


def test_json_lines_are_read_once_and_numbered_as_in_the_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('\n{"type": "track"}\n\n  {"type": "page"}  \n', encoding="utf-8")
    total, header, rows = rows_of(path)
    assert total == 4  # the lines: an estimate, refined to the rows read when the job ends
    assert header == ["event"]
    assert rows == [(2, ['{"type": "track"}']), (4, ['{"type": "page"}'])]


@pytest.mark.parametrize("content", [b"", b"\n  \n\n"])
def test_json_lines_without_a_message_are_an_empty_file(tmp_path, content):
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    with pytest.raises(UnusableFile, match="empty"):
        open_table(path)


def test_json_lines_that_are_not_utf8_are_refused_before_reading(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes('{"name": "张三"}\n'.encode("gb18030"))
    with pytest.raises(UnusableFile, match="UTF-8"):
        open_table(path)
