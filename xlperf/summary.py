"""Consolidation → the department summary workbook (部门项目支出绩效目标汇总表).

The visible sheets are for people: what was merged (汇总说明), one row per project with live totals (项目汇总),
one row per indicator (绩效指标明细), indicator counts and planned spending with charts, every finding and what
has not come back. The very hidden ``_data`` sheet carries every included return as JSON, so a summary can be
merged again into a higher-level one (``reader.read_workbook`` → ``read_summary_documents``).

Values that came from a unit go through ``write_string``/``write_number`` only, never ``write``: nothing a unit
typed can become a formula, link or number. The only formulas are the totals this module writes, each with its
value computed here as the cached result, so viewers that do not recalculate still show the right totals.
"""
from __future__ import annotations

import json
import math
import numbers
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from . import __version__
from .consolidation import STATE_LABELS, Consolidation
from .fileio import atomic_path
from .findings import field_label
from .reader import SUMMARY_MARKER
from .template import LABEL_FILL, quote_sheet

ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA = (
    "汇总说明", "项目汇总", "绩效指标明细", "指标统计", "资金支出进度", "校验问题", "未报送", "_data")
DATA_VERSION = "1"
DATA_ROW_KEY = "document"
CHUNK_SIZE = 30_000  # characters per _data cell; Excel holds at most 32,767 (counted in UTF-16 units)
TOTAL_FILL = "#FFF2CC"
ALERT_COLOR = "#9C0006"
HEADER_WIDTH = 8  # a header wider than this wraps rather than widening its column
STAT_WIDTH = 10
LINE_HEIGHT = 13.5  # points per line of 宋体 10
MAX_UNIT_SERIES = 10  # more units than this: the chart shows the department total instead of one series each

STATUS_LABELS = {state: labels[0] for state, labels in STATE_LABELS.items()} | {"invalid": "有错误（仍汇总）"}
KIND_LABELS = {"quantitative": "定量", "qualitative": "定性", "invalid": "无法识别"}
SEVERITY_LABELS = {"error": "错误", "warning": "警告"}
MISSING_LABELS = {"unit": "未报送单位", "project": "未报送项目", "unexpected": "未下发的报送"}
ALL_RETURNED, NO_MANIFEST = "全部已报送", "未提供报送清单（--expect）"
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


@dataclass(frozen=True)
class Column:
    """One column of a table sheet: where its values come from and how they are shown."""

    key: str
    header: str
    kind: str = "text"  # text, money, percent, count, number
    show: Callable[[object], object] | None = None  # stored code → what the cell shows
    alert: frozenset = frozenset()  # stored values shown in bold red (errors, left-out files)
    widest: int = 40
    wrap: bool = True  # False: long text is cut at the column edge instead of making the row taller

    @property
    def style(self) -> str:
        return self.kind if self.wrap else "clipped"


def _labels(mapping: dict) -> Callable[[object], object]:
    return lambda value: mapping.get(value, value)


def _is_blank(value: object) -> bool:
    """None, NaN, pd.NA and infinities are written as empty cells."""
    if value is None:
        return True
    if isinstance(value, (str, dict, list, tuple)):
        return False
    if type(value) is float:
        return value != value or value in (math.inf, -math.inf)
    if isinstance(value, numbers.Real):
        return not math.isfinite(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not _is_blank(value)


def _write(sheet, row: int, column: int, value: object, fmt) -> None:
    """The one way values reach a cell: numbers as numbers, everything else as inert text."""
    kind = type(value)
    if kind is str:  # the common case first: most cells are unit text
        sheet.write_string(row, column, value, fmt)
    elif _is_blank(value):
        sheet.write_blank(row, column, None, fmt)
    elif _is_number(value):
        sheet.write_number(row, column, float(value), fmt)
    else:
        sheet.write_string(row, column, str(value), fmt)


def _merge(sheet, first_row: int, first_col: int, last_row: int, last_col: int, text: str, fmt) -> None:
    if (first_row, first_col) == (last_row, last_col):
        sheet.write_string(first_row, first_col, text, fmt)
    else:
        sheet.merge_range(first_row, first_col, last_row, last_col, "", fmt)
        sheet.write_string(first_row, first_col, text, fmt)


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters, and ambiguous ones such as “ ” ≥, take two in 宋体.

    GBK spends two bytes on exactly those characters and one on ASCII, so its length is the width,
    counted in C rather than character by character (this runs for every cell of large summaries)."""
    return len(text.encode("gbk", errors="replace"))


def _total(values) -> float:
    return math.fsum(float(v) for v in values if _is_number(v))


def _records(frame) -> list[dict]:
    return frame.to_dict("records") if len(frame) else []


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}

        def add(**extra):
            return workbook.add_format({**base, **extra})

        total = {"bold": True, "bg_color": TOTAL_FILL}
        self.title = add(border=0, bold=True, font_size=16, align="center")
        self.header = add(bold=True, bg_color=LABEL_FILL, align="center", text_wrap=True)
        self.label = add(bold=True, bg_color=LABEL_FILL)
        self.fact = add(align="left", text_wrap=True)
        self.fact_money = add(align="left", num_format="#,##0.00")
        self.plain = add(border=0)
        self.kinds = {"text": add(text_wrap=True), "money": add(num_format="#,##0.00"),
                      "percent": add(num_format="0%", align="center"), "count": add(num_format="0", align="center"),
                      "number": add(), "share": add(num_format="0.0%", align="center"), "clipped": add()}
        self.totals = {"text": add(**total, align="center"), "money": add(**total, num_format="#,##0.00"),
                       "percent": add(**total, num_format="0%", align="center"),
                       "count": add(**total, num_format="0", align="center"),
                       "share": add(**total, num_format="0.0%", align="center")}
        self.alert = add(text_wrap=True, bold=True, font_color=ALERT_COLOR)


def _print_setup(sheet, repeat: tuple[int, int] | None, header: str = "",
                 area: tuple[int, int] | None = None) -> None:
    """A4 landscape, one page wide, the header rows on every page; ``area`` = (last row, last column) printed."""
    sheet.set_paper(9)  # A4
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    sheet.set_header(f"&L&\"宋体\"&9{header}&R&\"宋体\"&9&A" if header else "&R&\"宋体\"&9&A")
    sheet.set_footer("&C&\"宋体\"&9第 &P 页，共 &N 页")
    if repeat:
        sheet.repeat_rows(*repeat)
    if area:
        sheet.print_area(0, 0, *area)


def _shown(column: Column, value: object) -> object:
    if column.show and not _is_blank(value):
        value = column.show(value)
    if column.kind == "percent" and _is_number(value):
        value = value / 100  # stored as 30.0 meaning 30%; the cell holds 0.30 shown as 30%
    return value


def _width(column: Column, values: list[object]) -> int:
    """Wide enough for the values (up to ``column.widest``); long headers wrap instead of widening."""
    widest = min(_display_width(column.header), HEADER_WIDTH)
    for value in values:
        if column.kind == "money" and _is_number(value):
            widest = max(widest, len(f"{value:,.2f}"))
        elif column.kind == "percent":
            widest = max(widest, 5)
        elif not _is_blank(value):
            widest = max(widest, _display_width(str(value)))
    return min(widest, column.widest) + 2


def _lines(text: object, width: float) -> int:
    """How many lines wrapped text takes in a column ``width`` characters wide (CJK characters count 2)."""
    if not isinstance(text, str):
        return 1
    usable = max(width - 2, 1)
    return sum(max(1, math.ceil(_display_width(part) / usable)) for part in text.split("\n"))


def _fit_row(sheet, row: int, lines: int) -> None:
    """Spreadsheet programs do not grow rows of wrapped text on open (LibreOffice, WPS): size them here."""
    if lines > 1:
        sheet.set_row(row, LINE_HEIGHT * lines + 2)


def _column(records, key: str) -> list:
    """One column's values, from a DataFrame (without building a dict per row) or from records."""
    if isinstance(records, pd.DataFrame):
        return records[key].tolist() if key in records else [None] * len(records)
    return [record.get(key) for record in records]


def _write_table(sheet, columns: list[Column], records, formats: _Formats, top: int = 0) -> list[int]:
    """A header row at ``top`` and one row per record (a DataFrame or a list of dicts); returns the widths."""
    raw = [_column(records, column.key) for column in columns]
    shown = [[_shown(column, value) for value in values] for column, values in zip(columns, raw)]
    widths = [_width(column, values) for column, values in zip(columns, shown)]
    for index, (column, width) in enumerate(zip(columns, widths)):
        sheet.set_column(index, index, width)
        sheet.write_string(top, index, column.header, formats.header)
    _fit_row(sheet, top, max(_lines(column.header, width) for column, width in zip(columns, widths)))
    plain = [formats.kinds[column.style] for column in columns]
    wrapped = [(index, widths[index] - 2) for index, column in enumerate(columns) if column.wrap]
    count = len(raw[0]) if raw else 0
    for offset in range(count):
        row = top + 1 + offset
        for index, column in enumerate(columns):
            fmt = formats.alert if column.alert and raw[index][offset] in column.alert else plain[index]
            _write(sheet, row, index, shown[index][offset], fmt)
        # only text that may need a second line is measured (cheap length test first)
        lines = 1
        for index, usable in wrapped:
            value = shown[index][offset]
            if type(value) is str and (len(value) * 2 > usable or "\n" in value):
                lines = max(lines, _lines(value, usable + 2))
        _fit_row(sheet, row, lines)
    return widths


def _table_sheet(sheet, columns: list[Column], records, formats: _Formats,
                 printed: str | None = None) -> None:
    """A sheet that is one table: frozen header, autofilter; ``printed`` = the last column key on paper."""
    _write_table(sheet, columns, records, formats)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(records), len(columns) - 1)
    keys = [column.key for column in columns]
    _print_setup(sheet, (0, 0), area=(max(len(records), 1), keys.index(printed)) if printed else None)


def _project_columns(consolidation: Consolidation) -> list[Column]:
    milestones = consolidation.milestones
    return [Column("unit_code", "单位编码"), Column("unit_name", "单位名称", widest=16),
            Column("project_code", "项目编码", widest=22), Column("project_name", "项目名称", widest=20),
            Column("budget_total", "预算数", "money"), Column("fiscal", "财政资金", "money"),
            Column("other", "其他资金", "money"),
            *(Column(f"plan_pct/{m}", f"{m}支出比例", "percent") for m in milestones),
            *(Column(f"plan_amount/{m}", f"{m}计划支出", "money") for m in milestones),
            *(Column(f"count/{name}", f"{name}数", "count") for name in consolidation.level1_names),
            Column("indicator_count", "指标数", "count"),
            Column("status", "状态", show=_labels(STATUS_LABELS), alert=frozenset({"invalid"}), widest=16),
            Column("source_file", "来源文件", widest=24, wrap=False),
            Column("source_sheet", "来源工作表", widest=14, wrap=False)]


def _write_projects(sheet, consolidation: Consolidation, formats: _Formats) -> dict[str, tuple[str, float]]:
    """The project table and its 合计 row; returns each total's absolute cell reference and value."""
    columns = _project_columns(consolidation)
    records = _records(consolidation.projects)
    _write_table(sheet, columns, records, formats)
    count, total_row = len(records), len(records) + 1
    sheet.merge_range(total_row, 0, total_row, 3, "合计", formats.totals["text"])
    position = {column.key: index for index, column in enumerate(columns)}
    budget_cell = xl_rowcol_to_cell(total_row, position["budget_total"])
    totals: dict[str, tuple[str, float]] = {}
    for index, column in enumerate(columns[4:], start=4):
        letter = xl_col_to_name(index)
        if column.kind in ("money", "count"):
            value = _total(record.get(column.key) for record in records)
            formula = f"=SUM({letter}2:{letter}{count + 1})" if count else "=0"
            sheet.write_formula(total_row, index, formula, formats.totals[column.kind], value)
            totals[column.key] = (f"{quote_sheet(PROJECTS)}!${letter}${total_row + 1}", value)
        elif column.kind == "percent":  # the department's cumulative plan as a share of its budget
            milestone = column.key.split("/", 1)[1]
            amount_cell = xl_rowcol_to_cell(total_row, position[f"plan_amount/{milestone}"])
            budget = _total(record.get("budget_total") for record in records)
            amount = _total(record.get(f"plan_amount/{milestone}") for record in records)
            sheet.write_formula(total_row, index, f"=IF({budget_cell}=0,0,{amount_cell}/{budget_cell})",
                                formats.totals["percent"], amount / budget if budget else 0)
        else:
            sheet.write_blank(total_row, index, None, formats.totals["text"])
    sheet.freeze_panes(1, 4)
    sheet.autofilter(0, 0, count, len(columns) - 1)
    # the source columns are for tracing on screen; leaving them off paper keeps the print legible
    _print_setup(sheet, (0, 0), "金额单位：万元", area=(total_row, position["status"]))
    return totals


def _write_indicators(sheet, consolidation: Consolidation, formats: _Formats) -> None:
    columns = [Column("unit_code", "单位编码"), Column("unit_name", "单位名称", widest=16),
               Column("project_code", "项目编码", widest=22), Column("project_name", "项目名称", widest=20),
               Column("level1", "一级指标", widest=10), Column("level2", "二级指标", widest=18),
               Column("name", "三级指标", widest=16), Column("description", "绩效指标描述", widest=26),
               Column("target", "指标值", widest=12), Column("operator", "比较符", widest=4),
               Column("number", "数值", "number", widest=8), Column("unit", "单位", widest=6),
               Column("kind", "类型", show=_labels(KIND_LABELS), alert=frozenset({"invalid"}), widest=6),
               Column("basis", "指标值确定依据", widest=18), Column("source_file", "来源文件", widest=20, wrap=False),
               Column("source_sheet", "来源工作表", widest=14, wrap=False), Column("source_cell", "来源单元格", widest=6)]
    _table_sheet(sheet, columns, consolidation.indicators, formats, printed="basis")


def _text(value: object) -> str:
    return "" if _is_blank(value) else str(value)


def _by_unit(consolidation: Consolidation, records: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """(unit code, unit name, the unit's ``records``) for every unit with projects or indicators, by code."""
    names: dict[str, str] = {}
    for frame in (consolidation.projects, consolidation.indicators):
        for record in _records(frame[["unit_code", "unit_name"]].drop_duplicates()):
            names.setdefault(_text(record["unit_code"]), _text(record["unit_name"]))
    grouped: dict[str, list[dict]] = {code: [] for code in names}
    for record in records:
        grouped.setdefault(_text(record.get("unit_code")), []).append(record)
    return [(code, name, grouped[code]) for code, name in sorted(names.items())]


def _write_statistics(workbook, sheet, consolidation: Consolidation, formats: _Formats) -> None:
    """Indicator counts: per unit and in total, by 一级 and by 二级 (grouped under its 一级), with a chart."""
    level1_names = consolidation.level1_names
    groups = [(l1, list(consolidation.level2_tree.get(l1, []))) for l1 in level1_names]
    indicators = consolidation.indicators
    records = [{"unit_code": code, "level1": level1, "level2": level2}  # only what is counted: small rows
               for code, level1, level2 in zip(*(_column(indicators, key) for key in ("unit_code", "level1", "level2")))]
    # each column counts the (一级, 二级) pairs it covers, from one Counter per unit
    columns: list[tuple[str, Callable[[Counter], int]]] = [
        (l1, lambda c, l1=l1: sum(n for (a, _), n in c.items() if a == l1)) for l1 in level1_names]
    columns.append(("合计", lambda c: sum(c.values())))
    first_level2 = 2 + len(columns)
    pairs = Counter((r.get("level1"), r.get("level2")) for r in records)
    for l1, level2_names in groups:
        columns += [(l2, lambda c, l1=l1, l2=l2: c[(l1, l2)]) for l2 in level2_names]
        known = frozenset(level2_names)
        if any(a == l1 and b not in known for a, b in pairs):
            columns.append(("其他", lambda c, l1=l1, known=known:
                            sum(n for (a, b), n in c.items() if a == l1 and b not in known)))
            level2_names.append("其他")
    _merge(sheet, 0, 0, 1, 0, "单位编码", formats.header)
    _merge(sheet, 0, 1, 1, 1, "单位名称", formats.header)
    _merge(sheet, 0, 2, 0, first_level2 - 1, "一级指标", formats.header)
    start = first_level2
    for l1, level2_names in groups:
        if level2_names:
            _merge(sheet, 0, start, 0, start + len(level2_names) - 1, l1, formats.header)
            start += len(level2_names)
    for index, (header, _) in enumerate(columns, start=2):
        sheet.write_string(1, index, header, formats.header)
    _fit_row(sheet, 1, max(_lines(header, STAT_WIDTH) for header, _ in columns))
    rows = _by_unit(consolidation, records)
    for row, (code, name, unit_records) in enumerate(rows, start=2):
        _write(sheet, row, 0, code, formats.kinds["text"])
        _write(sheet, row, 1, name, formats.kinds["text"])
        unit_pairs = Counter((r.get("level1"), r.get("level2")) for r in unit_records)
        for index, (_, count) in enumerate(columns, start=2):
            _write(sheet, row, index, count(unit_pairs), formats.kinds["count"])
    total_row = 2 + len(rows)
    sheet.merge_range(total_row, 0, total_row, 1, "合计", formats.totals["text"])
    for index, (_, count) in enumerate(columns, start=2):
        _write(sheet, total_row, index, count(pairs), formats.totals["count"])
    sheet.set_column(0, 0, max([10] + [_display_width(code) + 2 for code, _, _ in rows]))
    sheet.set_column(1, 1, min(30, max([12] + [_display_width(name) + 2 for _, name, _ in rows])))
    sheet.set_column(2, 1 + len(columns), STAT_WIDTH)
    sheet.freeze_panes(2, 2)
    _print_setup(sheet, (0, 1))

    if not level1_names:
        return
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    last_level1 = 1 + len(level1_names)
    categories = [STATISTICS, 1, 2, 1, last_level1]
    if 0 < len(rows) <= MAX_UNIT_SERIES:  # stacked by unit: each column's height is the department total
        for row in range(2, total_row):
            chart.add_series({"name": [STATISTICS, row, 1], "categories": categories,
                              "values": [STATISTICS, row, 2, row, last_level1], "gap": 80})
    else:
        chart.add_series({"name": "部门合计", "categories": categories,
                          "values": [STATISTICS, total_row, 2, total_row, last_level1], "gap": 80})
    _style_chart(chart, "各一级指标数量（条）", "指标数")
    sheet.insert_chart(total_row + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _style_chart(chart, title: str, y_title: str) -> None:
    font = {"name": "宋体", "size": 9}
    chart.set_title({"name": title, "name_font": {"name": "宋体", "size": 12, "bold": True}})
    chart.set_x_axis({"num_font": font})
    chart.set_y_axis({"name": y_title, "name_font": font, "num_font": font, "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom", "font": font})


def _write_spending(workbook, sheet, consolidation: Consolidation, formats: _Formats) -> None:
    """Planned cumulative spending per milestone, 万元 and as a share of the budget: department, then units."""
    milestones = consolidation.milestones
    records = _records(consolidation.projects)
    groups = [("", "部门合计", records)] + _by_unit(consolidation, records)
    _merge(sheet, 0, 0, 1, 0, "单位编码", formats.header)
    _merge(sheet, 0, 1, 1, 1, "单位名称", formats.header)
    _merge(sheet, 0, 2, 1, 2, "预算数（万元）", formats.header)
    first_amount, first_share = 3, 3 + len(milestones)
    if milestones:
        _merge(sheet, 0, first_amount, 0, first_share - 1, "累计计划支出（万元）", formats.header)
        _merge(sheet, 0, first_share, 0, first_share + len(milestones) - 1, "累计计划支出占预算比例", formats.header)
    for offset, milestone in enumerate(milestones):
        sheet.write_string(1, first_amount + offset, milestone, formats.header)
        sheet.write_string(1, first_share + offset, milestone, formats.header)
    for row, (code, name, group) in enumerate(groups, start=2):
        department = row == 2
        kinds = formats.totals if department else formats.kinds
        if department:
            sheet.merge_range(row, 0, row, 1, name, formats.totals["text"])
        else:
            _write(sheet, row, 0, code, formats.kinds["text"])
            _write(sheet, row, 1, name, formats.kinds["text"])
        budget = _total(r.get("budget_total") for r in group)
        _write(sheet, row, 2, budget, kinds["money"])
        for offset, milestone in enumerate(milestones):
            amount = _total(r.get(f"plan_amount/{milestone}") for r in group)
            _write(sheet, row, first_amount + offset, amount, kinds["money"])
            _write(sheet, row, first_share + offset, amount / budget if budget else None, kinds["share"])
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, min(30, max([12] + [_display_width(name) + 2 for _, name, _ in groups])))
    sheet.set_column(2, 2 + 2 * len(milestones), 12)
    sheet.freeze_panes(2, 2)
    _print_setup(sheet, (0, 1), "金额单位：万元")
    if milestones:
        chart = workbook.add_chart({"type": "line"})
        chart.add_series({"name": "部门累计计划支出（万元）",
                          "categories": [SPENDING, 1, first_amount, 1, first_share - 1],
                          "values": [SPENDING, 2, first_amount, 2, first_share - 1],
                          "marker": {"type": "circle", "size": 6},
                          "data_labels": {"value": True, "position": "above", "num_format": "#,##0.00",
                                          "font": {"name": "宋体", "size": 9}}})
        _style_chart(chart, "部门累计计划支出进度", "万元")
        sheet.insert_chart(len(groups) + 4, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _write_findings(sheet, consolidation: Consolidation, formats: _Formats) -> None:
    columns = [Column("file", "文件", widest=24), Column("unit_code", "单位编码"),
               Column("severity", "严重程度", show=_labels(SEVERITY_LABELS), alert=frozenset({"error"}), widest=6),
               Column("code", "代码", widest=18), Column("sheet", "工作表", widest=16),
               Column("cell", "单元格", widest=6),
               Column("field", "字段", show=lambda key: field_label(str(key), "zh"), widest=12),
               Column("value", "填报值", widest=16), Column("message", "问题", widest=36),
               Column("hint", "修改建议", widest=30)]
    _table_sheet(sheet, columns, consolidation.findings, formats)


def _write_missing(sheet, consolidation: Consolidation, formats: _Formats) -> None:
    records = _records(consolidation.missing)
    if not records:
        sheet.write_string(0, 0, NO_MANIFEST if consolidation.expect is None else ALL_RETURNED, formats.plain)
        sheet.set_column(0, 0, 40)
        _print_setup(sheet, (0, 0))
        return
    columns = [Column("kind", "类别", show=_labels(MISSING_LABELS)), Column("unit_code", "单位编码"),
               Column("unit_name", "单位名称", widest=24), Column("project_code", "项目编码"),
               Column("project_name", "项目名称", widest=30), Column("file", "文件", widest=40)]
    _table_sheet(sheet, columns, records, formats)


def _write_about(sheet, consolidation: Consolidation, totals: dict[str, tuple[str, float]],
                 formats: _Formats) -> None:
    columns = [Column("file", "文件", widest=40),
               Column("state", "状态", show=_labels(STATUS_LABELS), alert=frozenset({"excluded", "unreadable"})),
               Column("reason", "原因", widest=36), Column("unit_code", "单位编码"),
               Column("unit_name", "单位名称", widest=24), Column("projects", "项目数", "count"),
               Column("errors", "错误数", "count"), Column("warnings", "警告数", "count"),
               Column("saved", "保存时间", widest=20)]
    last = len(columns) - 1
    year = consolidation.year
    _merge(sheet, 0, 0, 0, last, f"{year}年度部门项目支出绩效目标汇总" if year else "部门项目支出绩效目标汇总",
           formats.title)
    sheet.set_row(0, 30)
    missing_kinds = list(consolidation.missing["kind"]) if len(consolidation.missing) else []
    facts: list[tuple[str, object]] = [
        ("预算年度", year), ("指标体系", consolidation.framework), ("数据截至", consolidation.data_as_of),
        ("汇总来源", consolidation.made_from), ("报送清单", consolidation.expect or "未提供"),
        *((f"文件数：{STATE_LABELS[state][0]}", consolidation.count(state)) for state in STATE_LABELS),
        ("项目数", len(consolidation.projects)), ("指标数", len(consolidation.indicators)),
        ("预算数合计（万元）", totals["budget_total"]), ("财政资金合计（万元）", totals["fiscal"]),
        ("其他资金合计（万元）", totals["other"]),
    ]
    if consolidation.expect is None:
        facts.append(("未报送", NO_MANIFEST))
    else:
        facts += [(f"{label}数", missing_kinds.count(kind)) for kind, label in MISSING_LABELS.items()]
    row = 2
    for label, value in facts:
        sheet.write_string(row, 0, label, formats.label)
        sheet.merge_range(row, 1, row, last, None, formats.fact)
        if isinstance(value, tuple):  # a total: a live reference to 项目汇总, with its value cached
            reference, cached = value
            sheet.write_formula(row, 1, f"={reference}", formats.fact_money, cached)
        else:
            _write(sheet, row, 1, value, formats.fact)
        row += 1
    sheet.write_string(row + 1, 0, "报送文件", formats.label)
    widths = _write_table(sheet, columns, _records(consolidation.inputs), formats, top=row + 2)
    sheet.set_column(0, 0, max(widths[0], 22))  # wide enough for the fact labels too
    _print_setup(sheet, (0, 0))


def _chunks(text: str, size: int = CHUNK_SIZE) -> list[str]:
    """Pieces of at most ``size`` UTF-16 code units (Excel's measure), never splitting a character."""
    if not _ASTRAL.search(text):
        return [text[start:start + size] for start in range(0, len(text), size)] or [""]
    chunks, current, used = [], [], 0
    for char in text:
        cost = 2 if ord(char) > 0xFFFF else 1
        if used + cost > size:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    chunks.append("".join(current))
    return chunks


def _write_data(sheet, documents: list[dict]) -> None:
    sheet.write_string(0, 0, SUMMARY_MARKER)
    sheet.write_string(0, 1, DATA_VERSION)
    for row, document in enumerate(documents, start=1):
        sheet.write_string(row, 0, DATA_ROW_KEY)
        for column, chunk in enumerate(_chunks(json.dumps(document, ensure_ascii=False, sort_keys=True)), start=1):
            sheet.write_string(row, column, chunk)
    sheet.very_hidden()


def read_summary_documents(rows: list[list[object]]) -> list[dict]:
    """The documents a summary carries, from its ``_data`` rows as python-calamine returns them (list of lists).

    Raises ``ValueError`` when the rows are not a summary's ``_data`` sheet or a document is not valid JSON.
    """
    if not rows or not rows[0] or rows[0][0] != SUMMARY_MARKER:
        raise ValueError("not the _data sheet of an xlperf summary")
    documents = []
    for row in rows[1:]:
        if not row or row[0] != DATA_ROW_KEY:
            continue
        document = json.loads("".join(cell for cell in row[1:] if isinstance(cell, str)))
        if not isinstance(document, dict):
            raise ValueError("a carried document is not a JSON object")
        documents.append(document)
    return documents


def build_summary(consolidation: Consolidation) -> bytes:
    """The summary workbook as .xlsx bytes; the same consolidation always gives the same bytes."""
    with tempfile.TemporaryDirectory(prefix="xlperf-summary-") as folder:
        path = Path(folder) / "summary.xlsx"
        _build(consolidation, path)
        return path.read_bytes()


def _build(consolidation: Consolidation, target: Path) -> None:
    # Sheet XML goes to temporary files rather than memory, so a summary of 1,000 returns does not
    # hold its whole text twice; cells are still kept until close() (constant_memory is slower here).
    workbook = xlsxwriter.Workbook(str(target), {"in_memory": False, "strings_to_formulas": False,
                                                 "strings_to_numbers": False, "strings_to_urls": False,
                                                 "constant_memory": False})
    year = consolidation.year
    workbook.set_properties({"title": f"{year or ''}年度部门项目支出绩效目标汇总", "author": "xlperf",
                             "comments": f"xlperf {__version__}, framework {consolidation.framework}",
                             "created": datetime(2000, 1, 1)})
    formats = _Formats(workbook)
    sheets = {name: workbook.add_worksheet(name)
              for name in (ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA)}
    totals = _write_projects(sheets[PROJECTS], consolidation, formats)
    _write_about(sheets[ABOUT], consolidation, totals, formats)
    _write_indicators(sheets[INDICATORS], consolidation, formats)
    _write_statistics(workbook, sheets[STATISTICS], consolidation, formats)
    _write_spending(workbook, sheets[SPENDING], consolidation, formats)
    _write_findings(sheets[FINDINGS], consolidation, formats)
    _write_missing(sheets[MISSING], consolidation, formats)
    _write_data(sheets[DATA], consolidation.documents)
    sheets[ABOUT].activate()
    workbook.close()


def write_summary(consolidation: Consolidation, path: str | Path) -> None:
    """Write the department summary workbook to ``path`` atomically (see ``build_summary``)."""
    with atomic_path(path) as temporary:
        _build(consolidation, temporary)
