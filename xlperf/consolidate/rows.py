"""The summary's tables as rows: each column's definition (Column), the formats every summary numbers
the same way, and rows rendered as sheet XML. A merge makes a return's rows here once, in its worker
processes, and keeps them in the cache; the summary writer splices them into the workbook as they are.
"""
from __future__ import annotations

import functools
import io
import json
import math
import numbers
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import xlsxwriter

from ..core.fields import field_label, label
from ..core.findings import SEVERITY_LABELS as FINDING_SEVERITY_LABELS
from .consolidation import STATE_LABELS, project_columns
from ..core.model import DATA_ROW_KEY
from ..core.sheetxml import (Segment, blank_cell, compression, deflate, number_cell, plain_text_needs_care, row_xml,
                             text_cell)
from ..core.styles import LABEL_FILL, display_width
from ..core.xlsxprivate import style_index

DATA_VERSION = "1"


CHUNK_SIZE = 30_000  # characters per _data cell; Excel holds at most 32,767 (counted in UTF-16 units)


TOTAL_FILL = "#FFF2CC"


ALERT_COLOR = "#9C0006"


# A project code (21 characters) on one line, also where 宋体's stand-in draws Latin wider than half a character
CODE_WIDTH = 25


LINE_HEIGHT = 13.5  # points per line of 宋体 10


SEVERITY_LABELS = {key: zh for key, (zh, _) in FINDING_SEVERITY_LABELS.items()}  # 校验问题 shows them in Chinese


KIND_LABELS = {"quantitative": "定量", "qualitative": "定性", "invalid": "无法识别"}


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
    width: int | None = None  # fixed width, whatever the values (tables whose rows are made before the widths)
    lines: tuple[str, ...] = ()  # the header cell's lines, broken where the words part (default: ``header``)

    @property
    def shown_header(self) -> str:
        return "\n".join(self.lines) if self.lines else self.header

    @property
    def style(self) -> str:
        return self.kind if self.wrap else "clipped"


def labelled(mapping: dict) -> Callable[[object], object]:
    return lambda value: mapping.get(value, value)


def is_blank(value: object) -> bool:
    """None, NaN, pd.NA and infinities are written as empty cells."""
    if value is None:
        return True
    if isinstance(value, (str, dict, list, tuple)):
        return False
    if type(value) is float:
        return value != value or value in (math.inf, -math.inf)
    if isinstance(value, numbers.Real):
        return not math.isfinite(value)
    pandas = sys.modules.get("pandas")  # pd.NA, NaT: only there when pandas is
    try:
        return pandas is not None and bool(pandas.isna(value))
    except (TypeError, ValueError):
        return False


def is_number(value: object) -> bool:
    if type(value) is float:  # the common case first: every amount of a large summary comes through here
        return value - value == 0  # False for NaN and infinities
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not is_blank(value)


class Formats:
    def __init__(self, workbook: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}

        def add(**extra):
            fmt = workbook.add_format({**base, **extra})
            # XlsxWriter numbers formats as cells first use them; numbering them now, in this fixed order,
            # lets rows be made before the workbook (in worker processes, or kept in the cache)
            style_index(fmt)
            return fmt

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

    def table_styles(self, columns: list[Column]) -> list[int]:
        """The style index of each column's cells, then of the alert format (as the probe row carries them)."""
        return [style_index(self.kinds[column.style]) for column in columns] + [style_index(self.alert)]


@functools.lru_cache(maxsize=1)
def standard_formats() -> Formats:
    """The formats as every summary numbers them (see ``Formats.add``), for rows made away from the workbook."""
    workbook = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    formats = Formats(workbook)
    workbook.close()
    return formats


def shown_value(column: Column, value: object) -> object:
    if column.show and not is_blank(value):
        value = column.show(value)
    if column.kind == "percent" and is_number(value):
        value = value / 100  # stored as 30.0 meaning 30%; the cell holds 0.30 shown as 30%
    return value


def text_lines(text: object, width: float) -> int:
    """How many lines wrapped text takes in a column ``width`` characters wide (CJK characters count 2)."""
    if not isinstance(text, str):
        return 1
    usable = max(width - 2, 1)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in text.split("\n"))


def render_rows(columns: list[Column], rows: Iterable[tuple], widths: list[int], styles: list[int]) -> str:
    """Row XML for each row (values in ``columns`` order): numbers as numbers, everything else as inert text.

    ``styles``: each column's style index, then the alert style (``Formats.table_styles``). This makes
    every cell of a large summary. A cell, and the lines its text takes when wrapped, depend only on its
    column and value, and a return's rows repeat their unit, project and categories: so each text (or
    nothing) is made into a cell once a column, and met again as a dictionary look-up; so is each whole number
    (指标统计's counts: a thousand units by thirty categories)."""
    cells_of = [_cell_maker(column, style, styles[-1], width - 2)
                for column, style, width in zip(columns, styles, widths)]
    made_of: list[dict] = [{} for _ in columns]  # per column: text (or None) → (cell XML, lines)
    out = []
    for values in rows:
        cells, lines = [], 1
        for value, made, make in zip(values, made_of, cells_of):
            kind = type(value)
            if kind is str or value is None or kind is int:  # not bool, nor float: -0.0 == 0.0 shows as -0
                cell = made.get(value)
                if cell is None:
                    cell = made[value] = make(value)
            else:
                cell = make(value)
            cells.append(cell[0])
            if cell[1] > lines:
                lines = cell[1]
        out.append(row_xml("".join(cells), LINE_HEIGHT * lines + 2 if lines > 1 else None))
    return "".join(out)


@functools.lru_cache(maxsize=512)  # made once a process: a merge's workers make rows of three tables for each return
def _cell_maker(column: Column, style: int, alert: int, usable: int) -> Callable[[object], tuple[str, int]]:
    """What a value of ``column`` becomes: its cell's XML (in ``style``, or ``alert`` for the column's alert
    values) and the lines its shown text takes wrapped in ``usable`` characters (1 unless the column wraps)."""
    opened, empty = text_cell(style, "").split("</t>")[0], blank_cell(style)
    alert_opened, alert_empty = text_cell(alert, "").split("</t>")[0], blank_cell(alert)
    alerts, wrap, isfinite = column.alert, column.wrap, math.isfinite
    shown = column.show is not None or column.kind == "percent"

    def make(value: object) -> tuple[str, int]:
        styled, start, nothing = (alert, alert_opened, alert_empty) if alerts and value in alerts \
            else (style, opened, empty)
        if shown:
            value = shown_value(column, value)
        kind = type(value)
        if kind is str:
            if not value:  # as XlsxWriter writes an empty string: a blank cell
                return nothing, 1
            cell = text_cell(styled, value) if plain_text_needs_care(value) else f"{start}{value}</t></is></c>"
            # only text that may need a second line is measured (cheap length test first)
            if wrap and (len(value) * 2 > usable or "\n" in value):
                return cell, text_lines(value, usable + 2)
            return cell, 1
        if value is None:
            return nothing, 1
        if kind is float or kind is int:
            return (f'<c s="{styled}"><v>{float(value):.16G}</v></c>' if isfinite(value) else nothing), 1
        if is_blank(value):
            return nothing, 1
        if is_number(value):
            return number_cell(styled, float(value)), 1
        return text_cell(styled, str(value)), 1

    return make


# 绩效指标明细, in INDICATOR_COLUMNS order. Fixed widths: a merge makes these rows in its worker processes,
# one return at a time, before anyone knows the widest value (rows are as tall as their text wrapped to these).
INDICATOR_TABLE = [
    Column("unit_code", label("unit_code"), width=10), Column("unit_name", label("unit_name"), width=14),
    Column("project_code", label("project_code"), width=CODE_WIDTH), Column("project_name", label("project_name"), width=16),
    Column("level1", label("level1"), width=10), Column("level2", label("level2"), width=12),
    Column("name", label("name"), width=14), Column("description", label("description"), width=22, lines=("绩效指标", "描述")),
    Column("target", label("target"), width=12), Column("operator", "比较符", width=6),
    Column("number", "数值", "number", width=8), Column("unit", "单位", width=6),
    Column("kind", "类型", show=labelled(KIND_LABELS), alert=frozenset({"invalid"}), width=6),
    Column("basis", label("basis"), width=16, lines=("指标值", "确定依据")),
    Column("source_file", "来源文件", width=22, wrap=False),
    Column("source_sheet", "来源工作表", width=16, wrap=False), Column("source_cell", "来源单元格", width=8)]


# 校验问题, in FINDING_COLUMNS order. Every column measured up to its ``widest``: a merge's workers make a return's
# rows at those caps (``finding_segments``), the same bytes as rows made at the widths measured over all the returns
FINDING_TABLE = [
    Column("file", "文件", widest=24), Column("unit_code", "单位编码"),
    Column("severity", "严重程度", show=labelled(SEVERITY_LABELS), alert=frozenset({"error"}), widest=6),
    Column("code", "代码", widest=18), Column("sheet", "工作表", widest=16), Column("cell", "单元格", widest=6),
    Column("field", "字段", show=lambda key: field_label(str(key), "zh"), widest=12),
    Column("value", "填报值", widest=16), Column("message", "问题", widest=36), Column("hint", "修改建议", widest=30)]

STATUS_LABELS = {state: labels[0] for state, labels in STATE_LABELS.items()} | {"invalid": "有错误（仍汇总）"}

# 项目汇总: headers in two short lines and names wrapped, so the printed table keeps to 70% or more of full size
PROJECT_FIXED = {column.key: column for column in [
    Column("unit_code", label("unit_code")), Column("unit_name", label("unit_name"), widest=12),
    Column("project_code", label("project_code"), width=CODE_WIDTH), Column("project_name", label("project_name"), widest=16),
    Column("budget_total", label("budget_total"), "money"), Column("fiscal", label("fiscal"), "money", lines=("财政", "资金")),
    Column("other", label("other"), "money", lines=("其他", "资金")), Column("indicator_count", "指标数", "count"),
    Column("status", "状态", show=labelled(STATUS_LABELS), alert=frozenset({"invalid"}), widest=10),
    Column("source_file", "来源文件", widest=24, wrap=False),
    Column("source_sheet", "来源工作表", widest=14, wrap=False)]}


def project_column(key: str) -> Column:
    """How the summary shows one column of ``consolidation.project_columns``."""
    if key in PROJECT_FIXED:
        return PROJECT_FIXED[key]
    kind, name = key.split("/", 1)
    if kind == "plan_pct":
        return Column(key, f"{name}支出比例", "percent", lines=(name, "支出比例"))
    if kind == "plan_amount":
        return Column(key, f"{name}计划支出", "money", lines=(name, "计划支出"))
    return Column(key, f"{name}数", "count", lines=_count_lines(name))  # count/<一级>


def project_table(milestones: list[str], level1_names: list[str]) -> list[Column]:
    """项目汇总's columns, as the summary shows them."""
    return [project_column(key) for key in project_columns(milestones, level1_names)]


def _count_lines(level1: str) -> tuple[str, ...]:
    """产出指标数 as 产出 / 指标数: the 一级 name's stem over what is counted."""
    stem = level1[:-2] if level1.endswith("指标") and len(level1) > 2 else level1
    return (stem, "指标数")


def capped_widths(columns: list[Column]) -> list[int]:
    """Each column's width with every measured column at its cap: what 项目汇总's rows are made with before the
    widths are known (in a merge's workers, ``project_segments``).

    The summary measures a column as wide as its widest value (and header), up to its ``widest``; only a
    row's height depends on the widths, through the lines its text takes wrapped. Text no wider than the
    measured width takes one line in it, and so in a column of ``widest``; wider text is wrapped at
    ``widest`` either way. So rows made with every measured column at its ``widest`` are, byte for byte,
    the rows made with the widths measured over all the returns (``render_rows`` uses nothing else of them)."""
    return [column.width or column.widest + 2 for column in columns]


PROJECT_SEGMENT_ROWS = 2000  # 项目汇总's rows in one segment at most


def table_segments(columns: list[Column], rows: Iterable[Sequence], widths: list[int], styles: list[int],
                   rows_per_segment: int, group: int | None = None) -> Iterator[Segment]:
    """Rows deflated ``rows_per_segment`` at a time (``render_rows``); with ``group`` (a column's index), a new
    segment also begins where that column's value changes."""
    batch: list = []
    for row in rows:
        if batch and (len(batch) == rows_per_segment or (group is not None and row[group] != batch[-1][group])):
            yield deflate(render_rows(columns, batch, widths, styles))
            batch = []
        batch.append(row)
    if batch:
        yield deflate(render_rows(columns, batch, widths, styles))


def project_segments(columns: list[Column], rows: Iterable[Sequence], widths: list[int] | None = None,
                     styles: list[int] | None = None) -> Iterator[Segment]:
    """Rows of 项目汇总 deflated a return at a time: a segment for each run of rows from one source file (of
    ``PROJECT_SEGMENT_ROWS`` at most), so that a return's rows made in a merge's worker (``widths`` None: each
    column at its cap, ``capped_widths``) are the segments the summary would make of them itself."""
    widths = widths if widths is not None else capped_widths(columns)
    styles = styles if styles is not None else standard_formats().table_styles(columns)
    group = [column.key for column in columns].index("source_file")
    return table_segments(columns, rows, widths, styles, PROJECT_SEGMENT_ROWS, group)


FINDING_SEGMENT_ROWS = 2000  # 校验问题's rows in one segment at most


def finding_segments(rows: Iterable[Sequence]) -> Iterator[Segment]:
    """Rows of 校验问题 (values in FINDING_COLUMNS order) deflated ``FINDING_SEGMENT_ROWS`` at a time, each column at
    its cap (``capped_widths``): the segments of one input's findings are the same whoever makes them, a merge's
    worker or the merge itself, and whatever widths the summary measures over every input's."""
    return table_segments(FINDING_TABLE, rows, capped_widths(FINDING_TABLE),
                          standard_formats().table_styles(FINDING_TABLE), FINDING_SEGMENT_ROWS)


def indicator_segment(rows: Iterable[tuple]) -> Segment:
    """Rows of 绩效指标明细 (values in ``INDICATOR_COLUMNS`` order), ready to be spliced into any summary."""
    widths = [column.width for column in INDICATOR_TABLE]
    return deflate(render_rows(INDICATOR_TABLE, rows, widths, standard_formats().table_styles(INDICATOR_TABLE)))


def rows_layout() -> list:
    """What rows made ahead of a summary depend on: a cache of them is void when this changes."""
    return [DATA_VERSION, CHUNK_SIZE, LINE_HEIGHT, compression(), standard_formats().table_styles(INDICATOR_TABLE),
            [(column.key, column.kind, column.width, column.wrap, sorted(column.alert)) for column in INDICATOR_TABLE],
            [(column.key, column.kind, column.width, column.widest, column.wrap, sorted(column.alert))
             for column in PROJECT_FIXED.values()], STATUS_LABELS,
            [(column.key, column.kind, column.widest, column.wrap, sorted(column.alert)) for column in FINDING_TABLE],
            SEVERITY_LABELS, standard_formats().table_styles(FINDING_TABLE),
            standard_formats().table_styles(list(PROJECT_FIXED.values()))]


def unit_text(value: object) -> str:
    """A unit code or name as the sheets key and show it (a merge's tally and names use the same)."""
    return "" if is_blank(value) else str(value)


def indicator_tally(unit_codes: Iterable, level1s: Iterable, level2s: Iterable) -> Counter:
    """How many indicators each (unit code, 一级, 二级) has; unit codes as the sheets show them."""
    return Counter((unit_text(code), level1, level2) for code, level1, level2 in zip(unit_codes, level1s, level2s))


def text_chunks(text: str, size: int = CHUNK_SIZE) -> list[str]:
    """Pieces of at most ``size`` UTF-16 code units (Excel's measure), never splitting a character."""
    # no character past U+FFFF (two units) when the UTF-16 is two bytes a character: encoding is a copy in C,
    # five times faster than searching each carried document for such characters
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
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


def carried_text(document: dict) -> str:
    """A carried document as the ``_data`` sheet holds it."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def data_segment(texts: Iterable[str]) -> tuple[Segment, int]:
    """``_data`` rows, one per carried document (``carried_text``), ready to be spliced into any summary;
    and the most cells in one of those rows."""
    rows, widest = [], 0
    for text in texts:
        chunks = text_chunks(text)
        rows.append(row_xml(text_cell(None, DATA_ROW_KEY) + "".join(text_cell(None, chunk) for chunk in chunks)))
        widest = max(widest, 1 + len(chunks))
    return deflate("".join(rows)), widest
