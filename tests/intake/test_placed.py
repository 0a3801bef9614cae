"""Cells without `r` (as xlperf's summaries write them): the preflight must bound them exactly where python-calamine
puts them, and refuse every form it does not follow."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from xlperf.intake import safety
from xlperf.framework.spec import load_spec

LIMITS = load_spec().limits
SHEET = "xl/worksheets/sheet1.xml"


def _book(path: Path, sheet_data: str) -> Path:
    """A real workbook whose one sheet holds ``sheet_data`` (the inside of <sheetData>)."""
    base = path.with_suffix(".base.xlsx")
    workbook = xlsxwriter.Workbook(str(base))
    workbook.add_worksheet("S").write_string(0, 0, "x")
    workbook.close()
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == SHEET:
                data = re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData>" + sheet_data.encode() + b"</sheetData>",
                              data, flags=re.S)
            target.writestr(info, data)
    return path


def _extent(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return safety._placed_extent(archive, archive.getinfo(SHEET), LIMITS)


def _cell(reference: str | None, empty: bool) -> str:
    where = f' r="{reference}"' if reference else ""
    return f'<c{where} s="1"/>' if empty else f'<c{where} t="inlineStr"><is><t>v</t></is></c>'


cells = st.lists(st.tuples(st.one_of(st.none(), st.tuples(st.integers(1, 40), st.integers(1, 30))), st.booleans()),
                 max_size=6)
rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 40)), cells, st.booleans()), min_size=1, max_size=8)


def _sheet_data(generated) -> str:
    parts = []
    for row_number, row_cells, self_closing in generated:
        where = f' r="{row_number}"' if row_number else ""
        if self_closing and not row_cells:
            parts.append(f"<row{where}/>")
            continue
        body = "".join(_cell(f"{xl_col_to_name(column - 1)}{row}" if ref else None, empty)
                       for ref, empty in row_cells for row, column in [ref or (0, 0)])
        parts.append(f"<row{where}>{body}</row>")
    return "".join(parts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_extent_is_where_calamine_puts_the_last_cell(tmp_path, generated):
    path = _book(tmp_path / "placed.xlsx", _sheet_data(generated))
    last_row, last_column = _extent(path)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S")
    if sheet.height:  # calamine's range covers the cells it placed; ours covers empty ones too
        end_row, end_column = sheet.end
        assert end_row + 1 <= last_row and end_column + 1 <= last_column
    filled = [(ref, empty) for _, row_cells, _ in generated for ref, empty in row_cells]
    if filled and not any(empty for _, empty in filled):  # every cell has a value: the extents are equal
        assert (sheet.end[0] + 1, sheet.end[1] + 1) == (last_row, last_column)


@pytest.mark.parametrize("sheet_data", [
    '<row r="20"><c>v</c><!-- <row r="1"> --><c>v</c></row>',  # a comment could hide a row from us
    '<row><x:c xmlns:x="urn:x">v</x:c><c>v</c></row>',  # a prefixed cell
    "<row><c r='B2'>v</c><c>v</c></row>",  # single quotes
    '<row><c r="b2">v</c><c>v</c></row>',  # not a canonical reference
    '<row r="02"><c>v</c></row>',  # nor is this row number
    '<row><c r="A1" r="B1">v</c><c>v</c></row>',  # two references
    '<row><c\tt="n">v</c></row>',  # a tab between attributes
    '<row><c><![CDATA[</row>]]></c><c>v</c></row>',  # CDATA
    # found in review: each made calamine place cells far beyond what a looser reading computed
    '<row r="100"><c><v>1</v></row></c>',  # a row end inside a cell, which calamine skips
    '<row r="100"><c><v>1</v></c><x a="</row>"/></row>',  # a row end inside an attribute value
    '<row r="100"><c><v>1</v></c></row\x0c>',  # a blank quick-xml does not take for one
    '<row><c><v>1</v></c></row><y></row><x a=\'<row r="1"/>\'/>',  # a row start hidden in a value
])
def test_forms_not_followed_are_damaged(tmp_path, sheet_data):
    path = _book(tmp_path / "odd.xlsx", sheet_data)
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, LIMITS)
    assert refused.value.code == "READ_DAMAGED"


@pytest.mark.parametrize("sheet_data, limit", [
    ('<row r="20">' + "<c><v>1</v></c>" * (LIMITS.max_columns + 1) + "</row>", "max_columns"),
    ('<row r="1"><c><v>1</v></c></row><row r="99999"></row>' + "<row><c><v>1</v></c></row>" * 2, "max_rows"),
    ('<row r="5000">' + '<c r="ZZ5000"><v>1</v></c><c><v>1</v></c>' + "</row>", "max_cells"),
])
def test_far_cells_without_r_are_over_the_limits(tmp_path, sheet_data, limit):
    path = _book(tmp_path / "far.xlsx", sheet_data)
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, LIMITS)
    assert refused.value.code == "READ_LIMIT" and refused.value.params["limit"] == getattr(LIMITS, limit)
