"""Consolidation → the department summary workbook (部门项目支出绩效目标汇总表).

The visible sheets are for people: what was merged (汇总说明), one row per project with live totals (项目汇总),
one row per indicator (绩效指标明细), indicator counts and planned spending with charts, every finding and what
has not come back. The very hidden ``_data`` sheet carries every included return as JSON, so a summary can be
merged again into a higher-level one (``reader.read_workbook`` → ``model.read_summary_documents``).

Values that came from a unit become text cells or number cells only: in the tables through ``render_rows``
(rows made as XML and spliced into the package, see ``sheetxml``), elsewhere through ``write_string`` and
``write_number``, never ``write``. Nothing a unit typed can become a formula, link or number. The only formulas
are the totals this module writes, each with its value computed here as the cached result, so viewers that do
not recalculate still show the right totals.
"""
from __future__ import annotations

import tempfile
from collections import Counter
from itertools import islice
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from .. import __version__
from ..consolidate.consolidation import STATE_LABELS, Consolidation, SpooledTable, own_department
from ..consolidate.figures import ProjectFigures, measured_widths, spent_keys
from ..consolidate.rows import (DATA_VERSION, FINDING_TABLE, INDICATOR_TABLE, LINE_HEIGHT, STATUS_LABELS, Column,
                                Formats, carried_text, data_segment, indicator_tally, is_blank, is_number, labelled,
                                project_segments, project_table, standard_formats, table_segments, text_lines,
                                unit_text)
from ..core.cells import quote_sheet
from ..core.fileio import atomic_path
from ..core.model import DATA_ROW_KEY, PARTIAL_SUMMARY_MARKER, SUMMARY_MARKER, read_summary_documents  # noqa: F401 (read_summary_documents: API)
from ..core.sheetxml import Segment, Splice, splice_package
from ..core.styles import display_width
from ..framework.frameworks import framework_shown

ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA = (
    "汇总说明", "项目汇总", "绩效指标明细", "指标统计", "资金支出进度", "校验问题", "未报送", "_data")
STAT_WIDTH = 10
SHARE_WIDTH = 12  # 资金支出进度's shares of the budget
NUMBER_WIDTH = 11  # 绩效指标明细's 数值: 123456.78 shown whole
MAX_UNIT_SERIES = 10  # more units than this: the chart shows the department total instead of one series each

MISSING_LABELS = {"unit": "未报送单位", "project": "未报送项目", "unexpected": "未下发的报送"}
ALL_RETURNED, NO_MANIFEST = "全部已报送", "未提供报送清单（--expect）"


EXCEL_MAX_ROWS = 1_048_576


def rows_needed(consolidation: Consolidation) -> int:
    """The most rows any sheet of the summary would have (header and totals included)."""
    prepared = consolidation.prepared
    documents = prepared.document_count if prepared is not None else len(consolidation.documents)
    return max(consolidation.indicator_count + 1, documents + 1, rows_needed_but_indicators(consolidation))


def rows_needed_but_indicators(consolidation: Consolidation) -> int:
    """The most rows of a summary that lists only part of 绩效指标明细 and carries no documents (``elsewhere``)."""
    return max(consolidation.size("projects") + 2, consolidation.size("findings") + 1)


def indicators_shown(consolidation: Consolidation) -> tuple[int, int]:
    """How many rows of 绩效指标明细, and of how many returns, fit Excel's rows: whole returns, in order."""
    prepared = consolidation.prepared
    counts = prepared.indicator_counts if prepared is not None and prepared.indicator_counts else \
        [consolidation.indicator_count]
    shown = returns = 0
    for count in counts:
        if shown + count > EXCEL_MAX_ROWS - 1:
            break
        shown, returns = shown + count, returns + 1
    if not returns:  # one return (or rows with no return's count) longer than a sheet: as many rows as fit
        shown = min(consolidation.indicator_count, EXCEL_MAX_ROWS - 1)
    return shown, returns


def returns_shown(consolidation: Consolidation, segments: int) -> int:
    """How many returns the first ``segments`` of 绩效指标明细's segments (``indicators_shown``) hold: a summary or
    a dataset given as one input carries many (a dataset read in parts, each part's)."""
    prepared = consolidation.prepared
    documents = prepared.indicator_documents if prepared is not None else []
    return sum(documents[:segments]) if len(documents) >= segments else segments


BEIJING = timezone(timedelta(hours=8), "北京时间")  # China keeps one zone all year (Asia/Shanghai)


def local_time(stamp: object, zone: bool = True) -> object:
    """A saved time as the Chinese reader reads it: ``2026-11-26T21:07:07Z`` → ``2026-11-27 05:07（北京时间）``
    (without the zone when ``zone`` is false: a column whose header names it); anything that is not such a time
    is shown as it is."""
    if not isinstance(stamp, str) or not stamp:
        return stamp
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        return stamp
    return f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M}" + ("（北京时间）" if zone else "")


def _beijing_minute(stamp: object) -> object:
    return local_time(stamp, zone=False)


def _write(sheet, row: int, column: int, value: object, fmt) -> None:
    """The one way values reach a cell: numbers as numbers, everything else as inert text."""
    kind = type(value)
    if kind is str:  # the common case first: most cells are unit text
        sheet.write_string(row, column, value, fmt)
    elif kind is float or kind is int:  # then counts and amounts, without the general tests below
        if value - value == 0:  # False for NaN and infinities (blank, as is_blank has them)
            sheet.write_number(row, column, float(value), fmt)
        else:
            sheet.write_blank(row, column, None, fmt)
    elif is_blank(value):
        sheet.write_blank(row, column, None, fmt)
    elif is_number(value):
        sheet.write_number(row, column, float(value), fmt)
    else:
        sheet.write_string(row, column, str(value), fmt)


def _merge(sheet, first_row: int, first_col: int, last_row: int, last_col: int, text: str, fmt) -> None:
    if (first_row, first_col) == (last_row, last_col):
        sheet.write_string(first_row, first_col, text, fmt)
    else:
        sheet.merge_range(first_row, first_col, last_row, last_col, "", fmt)
        sheet.write_string(first_row, first_col, text, fmt)


def summary_title(consolidation: Consolidation) -> str:
    """遵化市工业和信息化局2022年度部门项目支出绩效目标汇总: the department when the units' names say it
    (``own_department``), and the year."""
    year = consolidation.year
    department = own_department(_unit_names(consolidation).values())
    return f"{department}{year}年度部门项目支出绩效目标汇总" if year else f"{department}部门项目支出绩效目标汇总"


MIN_PRINT_SCALE = 70  # percent: smaller print is not legible for a reader of 宋体 10
# A4 landscape's width inside the margins set below, in pixels at 96 dpi, as spreadsheet programs lay out columns
PRINTABLE_PIXELS = (297 / 25.4 - 2 * 0.4) * 96


def column_pixels(width: float) -> int:
    """A column ``width`` (characters of the default font, Calibri 11) as pixels, the way Excel converts it."""
    return int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)


def fitting_scale(widths: Sequence[float]) -> int:
    """The print scale (percent, at most 100) at which columns of these ``widths`` fit one page width."""
    return min(100, int(100 * PRINTABLE_PIXELS / max(1, sum(column_pixels(width) for width in widths))))


def _print_setup(sheet, repeat: tuple[int, int] | None, header: str = "",
                 area: tuple[int, int] | None = None, title: str = "",
                 widths: Sequence[float] = (), keep: int = 0) -> None:
    """A4 landscape, the header rows on every page, the summary's title (with its year) at the top of each
    page; ``area`` = (last row, last column) printed. One page wide when the printed ``widths`` fit at
    ``MIN_PRINT_SCALE`` or more; else at that scale, continued on further pages across, with the first
    ``keep`` columns (what identifies a row) repeated on each."""
    sheet.set_paper(9)  # A4
    sheet.set_landscape()
    if widths and keep and fitting_scale(widths) < MIN_PRINT_SCALE:
        sheet.set_print_scale(MIN_PRINT_SCALE)
        sheet.repeat_columns(0, keep - 1)
        sheet.print_across()  # a row's pages side by side before the next rows
    else:
        sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    left = f"&L&\"宋体\"&9{header}" if header else ""
    centre = f"&C&\"宋体,Bold\"{title}" if title else ""  # no size code: its digits would run into the year
    sheet.set_header(f"{left}{centre}&R&\"宋体\"&9&A")
    sheet.set_footer("&C&\"宋体\"&9第 &P 页，共 &N 页")
    if repeat:
        sheet.repeat_rows(*repeat)
    if area:
        sheet.print_area(0, 0, *area)


def money_width(value: float) -> int:
    """A column width that shows ``value`` as #,##0.00 in bold (a 合计) without ###."""
    return len(f"{value:,.2f}") + 3


def _fit_row(sheet, row: int, lines: int) -> None:
    """Spreadsheet programs do not grow rows of wrapped text on open (LibreOffice, WPS): size them here."""
    if lines > 1:
        sheet.set_row(row, LINE_HEIGHT * lines + 2)


def _column(records, key: str) -> list:
    """One column's values, from records (a list of dicts), column lists (a dict), a table kept out of memory
    (``SpooledTable``) or a DataFrame."""
    if isinstance(records, SpooledTable):
        return records.column(key) if key in records.columns else [None] * len(records)
    if isinstance(records, list):
        return [record.get(key) for record in records]
    if isinstance(records, dict):
        return list(records[key]) if key in records else [None] * len(next(iter(records.values()), []))
    return records[key].tolist() if key in records else [None] * len(records)


SEGMENT_ROWS = 2000  # rows per deflated segment when a table is made here


class _Book:
    """The workbook being written, its formats, and the tables whose rows are spliced in after ``close``."""

    def __init__(self, workbook: xlsxwriter.Workbook, sheet_names: list[str], title: str = ""):
        self.title = title  # printed at the top of every page
        self.workbook = workbook
        self.formats = Formats(workbook)
        self.sheets = {name: workbook.add_worksheet(name) for name in sheet_names}
        self.numbers = {id(sheet): number for number, sheet in enumerate(self.sheets.values(), start=1)}
        self.splices: list[Splice] = []


def _write_table(book: _Book, sheet, columns: list[Column], records, count: int, top: int = 0,
                 last_row: int | None = None, segments: Iterable[Segment] | None = None,
                 widths: list[int] | None = None, by_return: bool = False) -> list[int]:
    """A header row at ``top`` and ``count`` rows; returns the column widths.

    The rows are ``records`` (a DataFrame, a list of dicts or column lists), or ``segments`` made ahead with
    the standard formats (for fixed widths, or as 项目汇总's, whose rows are the same at any measured widths:
    ``rows.capped_widths``). XlsxWriter writes the header and a probe row carrying each column's format and the
    alert format; the rows replace the probe row when the package is spliced (``sheetxml``), which checks the
    probe row carries the styles the rows were made for. ``widths``: the columns' ``_widths``, when they have
    been measured already. ``by_return``: rows made here are deflated a return at a time, as 项目汇总's are
    made ahead (``rows.project_segments``)."""
    formats = book.formats
    rows = _rows(records, [column.key for column in columns]) if segments is None else None
    if widths is None:
        widths = measured_widths(columns, rows() if rows is not None else ())
    for index, (column, width) in enumerate(zip(columns, widths)):
        sheet.set_column(index, index, width)
        sheet.write_string(top, index, column.shown_header, formats.header)
    _fit_row(sheet, top, max(text_lines(column.shown_header, width) for column, width in zip(columns, widths)))
    if not count:
        return widths
    _splice_rows(book, sheet, top + 1, columns, rows() if segments is None else None, widths,
                 max(top + count, last_row or 0), segments, by_return)
    return widths


def _splice_rows(book: _Book, sheet, first: int, columns: list[Column], rows: Iterable[Sequence] | None,
                 widths: list[int], last_row: int, segments: Iterable[Segment] | None = None,
                 by_return: bool = False) -> None:
    """Rows from ``first`` on, made here from ``rows`` (values in ``columns`` order, as tall as their text
    wrapped in ``widths``) or given as ``segments``: XlsxWriter writes a probe row carrying each column's format
    and the alert format, which the rows replace when the package is spliced (``sheetxml``). ``last_row``: the
    sheet's last once spliced."""
    formats = book.formats
    for index, column in enumerate(columns):
        sheet.write_blank(first, index, None, formats.kinds[column.style])
    sheet.write_blank(first, len(columns), None, formats.alert)
    if segments is None:
        styles = formats.table_styles(columns)
        segments = project_segments(columns, rows, widths, styles) if by_return else \
            _segments(columns, rows, widths, styles)
    else:
        styles = standard_formats().table_styles(columns)
    book.splices.append(Splice(book.numbers[id(sheet)], first, last_row, len(columns) - 1, segments, styles))


def _rows(records, keys: list[str]) -> Callable[[], Iterator[Sequence]]:
    """The rows of a table (values in ``keys`` order), as often as they are asked for: a table kept out of
    memory (``SpooledTable``) is read again each time rather than held as columns."""
    if isinstance(records, SpooledTable):
        where = [records.columns.index(key) if key in records.columns else None for key in keys]
        if where == list(range(len(records.columns))):
            return lambda: iter(records)
        return lambda: ([row[index] if index is not None else None for index in where] for row in records)
    values = [_column(records, key) for key in keys]
    return lambda: zip(*values)


def _segments(columns: list[Column], rows: Iterable[tuple], widths: list[int], styles: list[int]) -> Iterator[Segment]:
    return table_segments(columns, rows, widths, styles, SEGMENT_ROWS)


def _table_sheet(book: _Book, sheet, columns: list[Column], records, count: int,
                 printed: str | None = None, segments: Iterable[Segment] | None = None, keep: int = 0,
                 wider: dict[str, int] | None = None, widths: list[int] | None = None) -> None:
    """A sheet that is one table: frozen header, autofilter; ``printed`` = the last column key on paper,
    ``keep`` = how many leading columns pages across repeat when the table is too wide for one; ``wider``:
    columns shown wider than their ``Column.width`` (numbers too long for it, which do not wrap); ``segments``
    and ``widths``: rows made ahead (``_write_table``)."""
    widths = _write_table(book, sheet, columns, records, count, segments=segments, widths=widths)
    for index, column in enumerate(columns):
        if column.key in (wider or {}):
            widths[index] = max(widths[index], wider[column.key])
            sheet.set_column(index, index, widths[index])
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, count, len(columns) - 1)
    keys = [column.key for column in columns]
    last = keys.index(printed) if printed else len(columns) - 1
    _print_setup(sheet, (0, 0), area=(max(count, 1), last) if printed else None, title=book.title,
                 widths=widths[:last + 1], keep=keep)


def _project_columns(consolidation: Consolidation) -> list[Column]:
    return project_table(consolidation.milestones, consolidation.level1_names)


def _write_projects(book: _Book, sheet, consolidation: Consolidation, figures: ProjectFigures
                    ) -> dict[str, tuple[str, float]]:
    """The project table and its 合计 row; returns each total's absolute cell reference and value."""
    formats = book.formats
    columns = _project_columns(consolidation)
    count = consolidation.size("projects")
    total_row = count + 1
    made = consolidation.prepared.project_rows if consolidation.prepared is not None else None
    widths = _write_table(book, sheet, columns, None if made else consolidation.table("projects"), count,
                          last_row=total_row,
                          segments=made() if made else None, widths=list(figures.widths), by_return=True)
    sheet.merge_range(total_row, 0, total_row, 3, "合计", formats.totals["text"])
    position = {column.key: index for index, column in enumerate(columns)}
    budget_cell = xl_rowcol_to_cell(total_row, position["budget_total"])
    totals: dict[str, tuple[str, float]] = {}
    sums = figures.sums
    for index, column in enumerate(columns[4:], start=4):
        letter = xl_col_to_name(index)
        if column.kind in ("money", "count"):
            value = sums[column.key]
            formula = f"=SUM({letter}2:{letter}{count + 1})" if count else "=0"
            sheet.write_formula(total_row, index, formula, formats.totals[column.kind], value)
            totals[column.key] = (f"{quote_sheet(PROJECTS)}!${letter}${total_row + 1}", value)
        elif column.kind == "percent":  # the department's cumulative plan as a share of its budget
            milestone = column.key.split("/", 1)[1]
            amount_cell = xl_rowcol_to_cell(total_row, position[f"plan_amount/{milestone}"])
            budget, amount = sums["budget_total"], sums[f"plan_amount/{milestone}"]
            sheet.write_formula(total_row, index, f"=IF({budget_cell}=0,0,{amount_cell}/{budget_cell})",
                                formats.totals["percent"], amount / budget if budget else 0)
        else:
            sheet.write_blank(total_row, index, None, formats.totals["text"])
    for index, column in enumerate(columns):  # a 合计 is wider than any of its rows: never shown as ###
        if column.kind == "money" and money_width(sums[column.key]) > widths[index]:
            widths[index] = money_width(sums[column.key])
            sheet.set_column(index, index, widths[index])
    sheet.freeze_panes(1, 4)
    sheet.autofilter(0, 0, count, len(columns) - 1)
    # the source columns are for tracing on screen; leaving them off paper keeps the print legible
    _print_setup(sheet, (0, 0), "金额单位：万元", area=(total_row, position["status"]), title=book.title,
                 widths=widths[:position["status"] + 1], keep=position["project_name"] + 1)
    return totals


def _project_figures(consolidation: Consolidation) -> ProjectFigures:
    """项目汇总's widths and totals: as the merge's workers read them, a return at a time, else from the table."""
    made = consolidation.prepared.project_figures if consolidation.prepared is not None else None
    if made is not None:
        return made
    columns = _project_columns(consolidation)
    rows = _rows(consolidation.table("projects"), [column.key for column in columns])
    return ProjectFigures(columns, spent_keys(consolidation.milestones), rows())


def _write_indicators(book: _Book, sheet, consolidation: Consolidation, shown: tuple[int, int] | None) -> None:
    """绩效指标明细; ``shown`` (rows, returns): only the first rows, of whole returns (the rest is elsewhere)."""
    prepared = consolidation.prepared
    records = None if prepared else consolidation.table("indicators")
    segments = prepared.indicator_segments if prepared else None
    count = consolidation.indicator_count
    if shown is not None and shown[0] < count:
        count = shown[0]
        if segments is not None and prepared.indicator_counts:
            segments = islice(segments, shown[1])
        else:
            records = _first_rows(consolidation.table("indicators"), count)
            segments = None
    # 数值 wide enough for 123456.78: a number in General format too wide for its column is shown rounded
    _table_sheet(book, sheet, INDICATOR_TABLE, records, count, printed="basis", segments=segments, keep=4,
                 wider={"number": NUMBER_WIDTH})


def _first_rows(records, count: int):
    """The first ``count`` rows of a table (a DataFrame, a list of dicts or column lists)."""
    if hasattr(records, "iloc"):
        return records.iloc[:count]
    if isinstance(records, dict):
        return {key: values[:count] for key, values in records.items()}
    return records[:count]


def _unit_names(consolidation: Consolidation) -> dict[str, str]:
    """Unit code → name, for every unit with projects or indicators."""
    if consolidation.prepared is not None:
        return consolidation.prepared.unit_names
    names: dict[str, str] = {}
    for name in ("projects", "indicators"):
        for record in consolidation.records(name):
            names.setdefault(unit_text(record["unit_code"]), unit_text(record["unit_name"]))
    return names


def _tally(consolidation: Consolidation) -> Counter:
    if consolidation.prepared is not None:
        return consolidation.prepared.pairs
    indicators = consolidation.records("indicators")
    return indicator_tally(*(_column(indicators, key) for key in ("unit_code", "level1", "level2")))


def _statistics_columns(consolidation: Consolidation, by_unit: dict[str, Counter], pairs: Counter
                        ) -> tuple[list[tuple[str, Callable[[Counter], int]]], list[tuple[str, list[str]]]]:
    """指标统计's count columns (header, count from a unit's Counter of (一级, 二级) pairs): each 一级, 合计,
    then each 二级 grouped under its 一级 (其他 for 二级 outside the framework); and those groups."""
    level1_names = consolidation.level1_names
    groups = [(l1, list(consolidation.level2_tree.get(l1, []))) for l1 in level1_names]
    columns: list[tuple[str, Callable[[Counter], int]]] = [
        (l1, lambda c, l1=l1: sum(n for (a, _), n in c.items() if a == l1)) for l1 in level1_names]
    columns.append(("合计", lambda c: sum(c.values())))
    for l1, level2_names in groups:
        columns += [(l2, lambda c, l1=l1, l2=l2: c[(l1, l2)]) for l2 in level2_names]
        known = frozenset(level2_names)
        if any(a == l1 and b not in known for a, b in pairs):
            columns.append(("其他", lambda c, l1=l1, known=known:
                            sum(n for (a, b), n in c.items() if a == l1 and b not in known)))
            level2_names.append("其他")
    return columns, groups


# 指标统计's and 资金支出进度's first two columns, as their unit rows are made (the headers are XlsxWriter's)
UNIT_COLUMNS = [Column("unit_code", "单位编码"), Column("unit_name", "单位名称")]
NO_PAIRS: Counter = Counter()  # a unit's without indicators (only read)


def _write_statistics(book: _Book, sheet, consolidation: Consolidation) -> None:
    """Indicator counts: per unit and in total, by 一级 and by 二级 (grouped under its 一级), with a chart."""
    workbook, formats = book.workbook, book.formats
    level1_names = consolidation.level1_names
    by_unit: dict[str, Counter] = {}  # each column counts the (一级, 二级) pairs it covers, from one Counter per unit
    pairs: Counter = Counter()  # the department's
    for (code, level1, level2), count in _tally(consolidation).items():
        by_unit.setdefault(code, Counter())[(level1, level2)] += count
        pairs[(level1, level2)] += count
    pairs = +pairs  # the positive counts, as a sum of the units' Counters keeps them
    columns, groups = _statistics_columns(consolidation, by_unit, pairs)
    first_level2 = 2 + len(level1_names) + 1
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
    _fit_row(sheet, 1, max(text_lines(header, STAT_WIDTH) for header, _ in columns))
    rows = sorted(_unit_names(consolidation).items())
    total_row = 2 + len(rows)
    code_width = max([10] + [display_width(code) + 2 for code, _ in rows])  # no code wraps
    name_width = min(30, max([12] + [display_width(name) + 2 for _, name in rows]))  # a long name does: its
    # row grows, not over the next
    body = ([code, name, *(count(by_unit.get(code, NO_PAIRS)) for _, count in columns)] for code, name in rows)
    if len(rows) <= MAX_UNIT_SERIES:  # the chart stacks these rows: XlsxWriter caches their values in it
        for row, values in enumerate(body, start=2):
            for index, value in enumerate(values):
                _write(sheet, row, index, value, formats.kinds["text" if index < 2 else "count"])
            _fit_row(sheet, row, text_lines(values[1], name_width))
    else:
        table = UNIT_COLUMNS + \
            [Column(header, header, "count") for header, _ in columns]
        _splice_rows(book, sheet, 2, table, body, [code_width, name_width] + [STAT_WIDTH] * len(columns), total_row)
    sheet.merge_range(total_row, 0, total_row, 1, "合计", formats.totals["text"])
    for index, (_, count) in enumerate(columns, start=2):
        _write(sheet, total_row, index, count(pairs), formats.totals["count"])
    sheet.set_column(0, 0, code_width)
    sheet.set_column(1, 1, name_width)
    sheet.set_column(2, 1 + len(columns), STAT_WIDTH)
    sheet.freeze_panes(2, 2)
    _print_setup(sheet, (0, 1), title=summary_title(consolidation))

    if level1_names:
        _statistics_chart(workbook, sheet, len(level1_names), len(rows), total_row)


def _statistics_chart(workbook, sheet, level1_count: int, unit_count: int, total_row: int) -> None:
    """A stacked column per 一级: one series per unit (up to MAX_UNIT_SERIES), else the department total."""
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    last_level1 = 1 + level1_count
    categories = [STATISTICS, 1, 2, 1, last_level1]
    if 0 < unit_count <= MAX_UNIT_SERIES:  # stacked by unit: each column's height is the department total
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
    chart.set_y_axis({"name": y_title, "name_font": font, "num_font": font, "major_gridlines": {"visible": True},
                      "num_format": "#,##0"})  # 1,800,000 万元 read as the table beside it writes amounts
    chart.set_legend({"position": "bottom", "font": font})


def _write_spending(book: _Book, sheet, consolidation: Consolidation, figures: ProjectFigures) -> None:
    """Planned cumulative spending per milestone, 万元 and as a share of the budget: department, then units."""
    workbook, formats = book.workbook, book.formats
    milestones = consolidation.milestones
    groups = figures.spending(_unit_names(consolidation))
    _merge(sheet, 0, 0, 1, 0, "单位编码", formats.header)
    _merge(sheet, 0, 1, 1, 1, "单位名称", formats.header)
    _merge(sheet, 0, 2, 1, 2, "预算数\n（万元）", formats.header)
    first_amount, first_share = 3, 3 + len(milestones)
    if milestones:
        _merge(sheet, 0, first_amount, 0, first_share - 1, "累计计划支出（万元）", formats.header)
        _merge(sheet, 0, first_share, 0, first_share + len(milestones) - 1, "累计计划支出占预算比例", formats.header)
    for offset, milestone in enumerate(milestones):
        sheet.write_string(1, first_amount + offset, milestone, formats.header)
        sheet.write_string(1, first_share + offset, milestone, formats.header)
    (_, department, (budget, *amounts)), units = groups[0], groups[1:]
    sheet.merge_range(2, 0, 2, 1, department, formats.totals["text"])
    _write(sheet, 2, 2, budget, formats.totals["money"])
    for offset, amount in enumerate(amounts):
        _write(sheet, 2, first_amount + offset, amount, formats.totals["money"])
        _write(sheet, 2, first_share + offset, amount / budget if budget else None, formats.totals["share"])
    code_width = max([10] + [display_width(code) + 2 for code, _, _ in units])  # no code wraps
    name_width = min(30, max([12] + [display_width(name) + 2 for _, name, _ in groups]))  # a long name does: its
    # row grows
    amount_widths = [max([12] + [money_width(amounts[offset]) for _, _, amounts in groups])  # as wide as the
                     for offset in range(1 + len(milestones))]  # largest amount: 预算数 and 累计计划支出
    if units:
        table = UNIT_COLUMNS + [Column("budget", "预算数", "money")] + \
            [Column(f"amount/{milestone}", milestone, "money") for milestone in milestones] + \
            [Column(f"share/{milestone}", milestone, "share") for milestone in milestones]
        _splice_rows(book, sheet, 3, table, ([code, name, budget, *amounts,
                                              *(amount / budget if budget else None for amount in amounts)]
                                             for code, name, (budget, *amounts) in units),
                     [code_width, name_width, *amount_widths, *[SHARE_WIDTH] * len(milestones)], len(groups) + 1)
    sheet.set_column(0, 0, code_width)
    sheet.set_column(1, 1, name_width)
    for offset, width in enumerate(amount_widths):
        sheet.set_column(2 + offset, 2 + offset, width)
    if milestones:
        sheet.set_column(first_share, first_share + len(milestones) - 1, SHARE_WIDTH)
    sheet.freeze_panes(2, 2)
    _print_setup(sheet, (0, 1), "金额单位：万元", title=summary_title(consolidation))
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


MISSING_TABLE = [
    Column("kind", "类别", show=labelled(MISSING_LABELS)), Column("unit_code", "单位编码"),
    Column("unit_name", "单位名称", widest=24), Column("project_code", "项目编码"),
    Column("project_name", "项目名称", widest=30), Column("file", "文件", widest=40)]
INPUT_TABLE = [
    Column("file", "文件", widest=40),
    Column("state", "状态", show=labelled(STATUS_LABELS), alert=frozenset({"excluded", "unreadable"})),
    Column("reason", "原因", widest=36), Column("unit_code", "单位编码"),
    Column("unit_name", "单位名称", widest=24), Column("projects", "项目数", "count"),
    Column("errors", "错误数", "count"), Column("warnings", "警告数", "count"),
    # the zone in the header: each time on one line ("2026-11-27 05:07"), none wrapped in a printed page
    Column("saved", "保存时间（北京时间）", show=_beijing_minute, widest=22, lines=("保存时间", "（北京时间）")),
    Column("sha256", "文件SHA-256")]


def table_columns(consolidation: Consolidation, name: str) -> dict[str, Column]:
    """The columns the summary shows for one of the consolidation's tables, by key (its headers and
    the Chinese labels of stored codes, for exports that people open in Excel)."""
    columns = {"projects": _project_columns(consolidation), "indicators": INDICATOR_TABLE,
               "findings": FINDING_TABLE, "missing": MISSING_TABLE, "inputs": INPUT_TABLE}[name]
    return {column.key: column for column in columns}


def _write_findings(book: _Book, sheet, consolidation: Consolidation) -> None:
    """校验问题: its rows as the merge made them an input at a time, with their widths, else made here."""
    made = consolidation.prepared.finding_rows if consolidation.prepared is not None else None
    _table_sheet(book, sheet, FINDING_TABLE, None if made else consolidation.table("findings"),
                 consolidation.size("findings"), segments=made() if made else None,
                 widths=consolidation.prepared.finding_widths if made else None, keep=2)


def _write_missing(book: _Book, sheet, consolidation: Consolidation) -> None:
    formats = book.formats
    records = consolidation.records("missing")
    if not records:
        sheet.write_string(0, 0, NO_MANIFEST if consolidation.expect is None else ALL_RETURNED, formats.plain)
        sheet.set_column(0, 0, 40)
        _print_setup(sheet, (0, 0), title=book.title)
        return
    _table_sheet(book, sheet, MISSING_TABLE, records, len(records))


def _write_about(book: _Book, sheet, consolidation: Consolidation, totals: dict[str, tuple[str, float]],
                 elsewhere: tuple[str, int, int] | None = None) -> None:
    formats = book.formats
    columns = INPUT_TABLE[:-1]  # the file's hash is for programs, not for the page
    last = len(columns) - 1
    year = consolidation.year
    _merge(sheet, 0, 0, 0, last, summary_title(consolidation), formats.title)
    sheet.set_row(0, 30)
    missing_kinds = [row["kind"] for row in consolidation.records("missing")]
    facts: list[tuple[str, object]] = [
        ("预算年度", year), ("指标体系", framework_shown(consolidation.framework, with_id=False)),
        ("数据截至", local_time(consolidation.data_as_of)),
        ("汇总来源", consolidation.made_from), ("报送清单", consolidation.expect or "未提供"),
        *((f"文件数：{STATE_LABELS[state][0]}", consolidation.count(state)) for state in STATE_LABELS),
        ("项目数", consolidation.size("projects")), ("指标数", consolidation.indicator_count),
        ("预算数合计（万元）", totals["budget_total"]), ("财政资金合计（万元）", totals["fiscal"]),
        ("其他资金合计（万元）", totals["other"]),
    ]
    if consolidation.expect is None:
        facts.append(("未报送", NO_MANIFEST))
    else:
        facts += [(f"{label}数", missing_kinds.count(kind)) for kind, label in MISSING_LABELS.items()]
    if elsewhere is not None:
        folder, shown, returns = elsewhere
        facts.append(("超出 Excel 上限", f"Excel 每个工作表最多 {EXCEL_MAX_ROWS:,} 行：绩效指标明细只列出前 {returns:,} 份报送的 "
                      f"{shown:,} 条指标，其余 {consolidation.indicator_count - shown:,} 条只在 Parquet 数据集 {folder} 的 "
                      f"indicators.parquet 中；各报送的原始数据（上级汇总用）也只在其 documents.parquet 中，本表不能再用于"
                      f"上级汇总，请汇总该文件夹"))
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
    inputs = consolidation.records("inputs")
    widths = _write_table(book, sheet, columns, inputs, len(inputs),
                          top=row + 2)
    sheet.set_column(0, 0, max(widths[0], 22))  # wide enough for the fact labels too
    _print_setup(sheet, (0, 0))


def _write_data(book: _Book, sheet, consolidation: Consolidation, partial: bool = False) -> None:
    sheet.write_string(0, 0, PARTIAL_SUMMARY_MARKER if partial else SUMMARY_MARKER)
    sheet.write_string(0, 1, DATA_VERSION)
    sheet.very_hidden()
    if partial:  # the documents are only in the Parquet dataset: a higher-level merge is told to use it
        return
    prepared = consolidation.prepared
    if prepared is not None:
        count, segments, widest = prepared.document_count, prepared.data_segments, prepared.data_columns
    else:
        count = len(consolidation.documents)
        segment, widest = data_segment(carried_text(document) for document in consolidation.documents)
        segments = [segment]
    if count:
        sheet.write_string(1, 0, DATA_ROW_KEY)  # the probe row: the documents' rows take its place
        book.splices.append(Splice(book.numbers[id(sheet)], 1, count, max(widest - 1, 1), segments))


def build_summary(consolidation: Consolidation, elsewhere: str | Path | None = None) -> bytes:
    """The summary workbook as .xlsx bytes; the same consolidation always gives the same bytes."""
    with tempfile.TemporaryDirectory(prefix="xlperf-summary-") as folder:
        path = Path(folder) / "summary.xlsx"
        _build(consolidation, path, elsewhere)
        return path.read_bytes()


def _build(consolidation: Consolidation, target: Path, elsewhere: str | Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="xlperf-summary-") as folder:
        draft = Path(folder) / "draft.xlsx"  # XlsxWriter's package, before the tables' rows are spliced in
        splice_package(draft, target, _write_draft(consolidation, draft, elsewhere))


def _write_draft(consolidation: Consolidation, draft: Path, elsewhere: str | Path | None = None) -> list[Splice]:
    """Everything XlsxWriter writes; returns the tables' rows to splice in. ``elsewhere``: the Parquet dataset
    holding everything, when the summary needs more rows than Excel's (then 绩效指标明细 lists the first
    returns' indicators that fit, ``_data`` carries no documents, and 汇总说明 says so)."""
    workbook = xlsxwriter.Workbook(str(draft), {"in_memory": False, "strings_to_formulas": False,
                                                "strings_to_numbers": False, "strings_to_urls": False})
    year = consolidation.year
    workbook.set_properties({"title": f"{year or ''}年度部门项目支出绩效目标汇总", "author": "xlperf",
                             "comments": f"xlperf {__version__}, framework {consolidation.framework}",
                             "created": datetime(2000, 1, 1)})
    book = _Book(workbook, [ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA],
                 summary_title(consolidation))
    sheets = book.sheets
    partial = elsewhere is not None and rows_needed(consolidation) > EXCEL_MAX_ROWS
    shown = indicators_shown(consolidation) if partial else None
    figures = _project_figures(consolidation)
    totals = _write_projects(book, sheets[PROJECTS], consolidation, figures)
    _write_about(book, sheets[ABOUT], consolidation, totals,
                 (str(elsewhere), shown[0], returns_shown(consolidation, shown[1])) if partial else None)
    _write_indicators(book, sheets[INDICATORS], consolidation, shown)
    _write_statistics(book, sheets[STATISTICS], consolidation)
    _write_spending(book, sheets[SPENDING], consolidation, figures)
    _write_findings(book, sheets[FINDINGS], consolidation)
    _write_missing(book, sheets[MISSING], consolidation)
    _write_data(book, sheets[DATA], consolidation, partial)
    sheets[ABOUT].activate()
    workbook.close()
    return book.splices


def write_summary(consolidation: Consolidation, path: str | Path, elsewhere: str | Path | None = None) -> None:
    """Write the department summary workbook to ``path`` atomically (see ``build_summary``, ``_write_draft``)."""
    with atomic_path(path) as temporary:
        _build(consolidation, temporary, elsewhere)
