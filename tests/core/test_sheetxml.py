"""Rows as deflated segments, spliced into XlsxWriter's package: valid zip, right cells, same text as XlsxWriter."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from xlperf.core.sheetxml import (FINAL_BLOCK, Splice, blank_cell, crc32_combine, deflate, number_cell, row_xml,
                                  splice_package, text_cell)

TRICKY = ["plain", "中文，全角", " leading", "trailing ", "a\nb", "tab\there", "&<>\"'", "_x0041_", "_x005F_x0041_",
          "bell\x07", "cr\rlf", "\x00nul", "=1+1", "@SUM(A1)", "-2", "emoji 😀", "x" * 40000]


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_crc32_combine_is_the_crc_of_the_concatenation(first, second):
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(first + second)


@settings(max_examples=50)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=6))
def test_segments_concatenate_into_one_deflate_stream(texts):
    segments = [deflate(text) for text in texts]
    stream = b"".join(segment.data for segment in segments) + FINAL_BLOCK
    assert zlib.decompress(stream, -15).decode("utf-8") == "".join(texts)


def _xlsxwriter_row(path: Path, texts: list[str]) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                               "strings_to_urls": False})
    sheet = workbook.add_worksheet("S")
    for column, text in enumerate(texts):
        sheet.write_string(1, column, text)
    workbook.close()


def _spliced_row(path: Path, texts: list[str], numbers: list[float]) -> None:
    """Row 1 a header, row 2 a probe replaced by our rows, row 4 written by XlsxWriter after them."""
    workbook = xlsxwriter.Workbook(str(path))
    bold = workbook.add_format({"bold": True})
    bold._get_xf_index()
    sheet = workbook.add_worksheet("S")
    sheet.write_string(0, 0, "header")
    sheet.write_blank(1, 0, None, bold)
    sheet.write_string(3, 0, "after")
    workbook.close()
    style = bold._get_xf_index()
    rows = row_xml("".join(text_cell(None, text) for text in texts)) \
        + row_xml(blank_cell(style) + "".join(number_cell(style, number) for number in numbers), height=30)
    draft = path.with_suffix(".draft.xlsx")
    path.rename(draft)
    splice_package(draft, path, [Splice(1, 1, 3, max(len(texts), len(numbers) + 1) - 1, [deflate(rows)], [style])])


def _texts(xml: bytes) -> list[str]:
    """The character data of every <t> element, XML-unescaped but not _xHHHH_-unescaped."""
    from xml.etree import ElementTree
    return [element.text or "" for element in ElementTree.fromstring(xml).iter(f"{{{MAIN}}}t")]


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def test_text_is_escaped_exactly_as_xlsxwriter_escapes_it(tmp_path):
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    _spliced_row(ours, TRICKY, [1.0])
    _xlsxwriter_row(theirs, TRICKY)
    with zipfile.ZipFile(ours) as archive:
        assert archive.testzip() is None
        our_texts = _texts(archive.read("xl/worksheets/sheet1.xml"))
    with zipfile.ZipFile(theirs) as archive:
        their_texts = _texts(archive.read("xl/sharedStrings.xml"))
    assert our_texts == their_texts  # both: _x0041_ → _x005F_x0041_, \x07 → _x0007_, cut at 32,767


def test_spliced_rows_land_in_their_cells(tmp_path):
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    plain = [text for text in TRICKY if "_x" not in text and text.isprintable() or "\n" in text]
    numbers = [0.1, -2.5, 1e-7, 123456789.123, 3.0]
    _spliced_row(ours, plain, numbers)
    _xlsxwriter_row(theirs, plain)
    expected = [list(row) for row in openpyxl.load_workbook(theirs)["S"].iter_rows(min_row=2, values_only=True)][0]
    grid = [list(row) for row in openpyxl.load_workbook(ours)["S"].iter_rows(values_only=True)]
    assert grid[0][0] == "header" and grid[1] == expected
    assert grid[2][:len(numbers) + 1] == [None, *numbers] and grid[3][0] == "after"
    calamine = CalamineWorkbook.from_path(str(ours)).get_sheet_by_name("S").to_python()
    assert calamine[1] == [cell if cell is not None else "" for cell in expected]
    assert calamine[2][1:len(numbers) + 1] == numbers and calamine[3][0] == "after"
    sheet = openpyxl.load_workbook(ours)["S"]
    assert sheet["B3"].font.b and sheet.row_dimensions[3].height == 30 and sheet.max_row == 4


def test_splice_refuses_rows_made_for_other_styles(tmp_path):
    path = tmp_path / "book.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("S")
    sheet.write_blank(1, 0, None, bold)
    workbook.close()
    with pytest.raises(RuntimeError, match="styles"):
        splice_package(path, tmp_path / "out.xlsx", [Splice(1, 1, 1, 0, [deflate(row_xml(blank_cell(7)))], [7])])


@pytest.mark.parametrize("row", [TRICKY, ["plain", "also plain", "中文"], ["a\ue000 b", "ok"], [" ", "x"],
                                 ["y" * 20000, "z" * 20000]])
def test_rendered_rows_write_each_text_as_its_own_cell_would(row):
    """``render_rows`` looks at a whole row at once and takes a short path for plain text: the cells must be
    exactly what ``text_cell`` makes of each value."""
    from xlperf.consolidate.rows import Column, render_rows

    columns = [Column(f"c{index}", "h", wrap=False) for index in range(len(row))]
    rendered = render_rows(columns, [row], [10] * len(row), [3] * len(row) + [4])
    assert rendered == row_xml("".join(text_cell(3, text) for text in row))


@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_a_segment_appends_to_any_crc(first, second):
    segment = deflate(second.decode("latin-1"))
    raw = second.decode("latin-1").encode("utf-8")
    assert crc32_combine(zlib.crc32(first), segment.crc, segment.size) == zlib.crc32(first + raw)


def test_rendered_numbers_are_each_their_own_cell_when_values_repeat():
    """Whole numbers are made into a cell once a column and then looked up: 1, 1.0, True and -0.0 compare equal
    to 1 or 0 but are not the same cell, and an alert value stays an alert wherever it repeats."""
    from xlperf.consolidate.rows import Column, render_rows

    columns = [Column("n", "h", "count", alert=frozenset({3})), Column("t", "h")]
    values = [1, 1.0, True, 0, -0.0, 0.0, 3, 3.0, 1, 0, 3, "1", None, 2.5]
    rows = [(value, "x") for value in values]
    rendered = render_rows(columns, rows, [10, 10], [5, 6, 9])
    one_at_a_time = "".join(render_rows(columns, [row], [10, 10], [5, 6, 9]) for row in rows)
    assert rendered == one_at_a_time
    assert rendered.count('<c s="9"><v>3</v></c>') == 3  # 3, 3.0 and 3 again: the alert style each time
    assert '<v>-0</v>' in rendered and rendered.count('<v>0</v>') == 3
