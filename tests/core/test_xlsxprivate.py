"""What xlperf/xlsxprivate.py relies on in XlsxWriter still holds (a release that changes it fails here)."""
from __future__ import annotations

import inspect
import io
import zipfile

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from xlperf.core.xlsxprivate import CachingWorksheet, add_worksheet, style_index


def test_the_private_methods_are_there_with_the_arguments_used():
    assert list(inspect.signature(Worksheet._prepare_formula).parameters) == ["self", "formula",
                                                                            "expand_future_functions"]
    assert list(inspect.signature(Format._get_xf_index).parameters) == ["self"]
    assert "worksheet_class" in inspect.signature(xlsxwriter.Workbook.add_worksheet).parameters


def test_formats_are_numbered_in_the_order_they_are_first_indexed():
    workbook = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    first, second = workbook.add_format({"bold": True}), workbook.add_format({"italic": True})
    assert (style_index(second), style_index(first), style_index(second)) == (1, 2, 1)
    workbook.close()


def _sheet_xml(worksheet_class) -> str:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "use_future_functions": True})
    sheet = workbook.add_worksheet("s", worksheet_class=worksheet_class) if worksheet_class else \
        workbook.add_worksheet("s")
    for row in range(3):  # the same formulas again: the cached preparation must give the same XML
        sheet.write_formula(row, 0, "=CONCAT(B1,C1)")
        sheet.write_formula(row, 1, '=IF(AND(C1>0,ISNUMBER(D1)),SUM(D1:D9),"")')
    workbook.close()
    return zipfile.ZipFile(buffer).read("xl/worksheets/sheet1.xml").decode()


def test_the_caching_worksheet_writes_what_plain_xlsxwriter_writes():
    cached = _sheet_xml(CachingWorksheet)
    assert cached == _sheet_xml(None)
    assert "_xlfn.CONCAT(B1,C1)" in cached  # XlsxWriter's own preparation happened


def test_add_worksheet_gives_a_caching_worksheet_with_its_values():
    workbook = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    sheet = add_worksheet(workbook, "x")
    assert isinstance(sheet, CachingWorksheet) and sheet.values == {}
    workbook.close()
