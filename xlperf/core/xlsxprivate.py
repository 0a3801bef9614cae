"""The few private XlsxWriter calls xlperf relies on, in one place (setup.cfg bounds XlsxWriter below 4;
tests/test_xlsxprivate.py fails when a release changes what these rely on).

- ``style_index``: ``Format._get_xf_index`` numbers a format as a cell first uses it. Numbering the summary's
  formats in a fixed order up front lets its rows be made away from the workbook (worker processes, cache).
- ``add_worksheet``: a worksheet that keeps ``Worksheet._prepare_formula``'s result per formula. XlsxWriter
  runs ~75 regular expressions over every formula (to prefix newer functions with _xlfn.); a template repeats
  the same few hundred formulas on every project sheet, and that preparation was half of ``xlperf template``.
"""
from __future__ import annotations

import xlsxwriter.worksheet

_PREPARED_FORMULAS: dict[tuple[str, bool, bool], str] = {}


def style_index(cell_format) -> int:
    """The workbook's style (xf) index of ``cell_format``, numbering it now if no cell has used it yet."""
    return cell_format._get_xf_index()


class CachingWorksheet(xlsxwriter.worksheet.Worksheet):
    """XlsxWriter's worksheet, remembering how it prepared each formula, and what was written into each
    input cell (``values``: A1 → value)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.values: dict[str, object] = {}

    def _prepare_formula(self, formula, expand_future_functions=False):
        key = (formula, bool(expand_future_functions), bool(self.use_future_functions))
        prepared = _PREPARED_FORMULAS.get(key)
        if prepared is None:
            prepared = super()._prepare_formula(formula, expand_future_functions)
            if len(_PREPARED_FORMULAS) < 20_000:
                _PREPARED_FORMULAS[key] = prepared
        return prepared


def add_worksheet(workbook, name: str) -> CachingWorksheet:
    return workbook.add_worksheet(name, worksheet_class=CachingWorksheet)
