"""Spec + framework + values → one locked 绩效目标表 workbook (bytes).

The same writer makes blank templates from a project list, and filled copies (annotated returns,
imported documents): what differs is which values are present and which fields are locked.
XlsxWriter writes the workbook; it cannot lock the workbook structure, so ``lock_structure``
adds ``<workbookProtection lockStructure="1"/>`` to ``xl/workbook.xml`` afterwards.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

import xlsxwriter

from .. import __version__
from ..core.cells import column_index, column_letter, quote_sheet, split_cell
from ..core.fields import field_label
from ..core.findings import Severity
from ..core.model import META_MARKER
from ..core.styles import LABEL_FILL, display_width
from .livechecks import level2_outside_level1, project_checks
from ..core.xlsxprivate import CachingWorksheet, add_worksheet
from ..framework.frameworks import Framework
from ..framework.spec import Spec, project_layout, unit_layout

LEVEL1_NAME = "xl_l1"
LEVEL2_PREFIX = "xl_l2_"
LEVEL2_ALL_NAME = "xl_l2_all"
LIBRARY_PREFIX = "xl_lib_"
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\']")

INPUT_FILL = "#FFF7D6"
LOCKED_FILL = "#F2F2F2"
PROBLEM_FILL = "#FFC7CE"
WARNING_FILL = "#FFD8A8"  # an annotated copy's warnings: orange, apart from the red of errors
PROBLEM_FONT, WARNING_FONT = "#9C0006", "#7F3F00"  # their text: a marked cell, a severity in 校验结果
MARK_COLUMN = 60  # 0-based: where an annotated copy keeps each marked cell's value as read (hidden, locked)
CARRIED_FILL = "#E2EFDA"  # inputs prefilled from last year: still editable, visibly different
CARRIED_NOTE = "上年结转：内容来自上年度，请核实后修改。"
CARRIED_LABELS = {"purpose": "资金用途", "goals": "绩效目标", "indicators": "绩效指标"}


@dataclass
class Note:
    """A comment to put on a cell of a filled copy (used by annotated returns): the cell is marked red for an
    error, orange for warnings only, until the unit changes what the copy holds there."""

    sheet: str
    cell: str
    text: str
    severity: str = "error"
    errors: int = 1  # the findings at this cell, as the sheet's counters count them
    warnings: int = 0


@dataclass
class SheetPlan:
    """One project sheet: its name, the values to show and which fields are locked (prefilled)."""

    name: str
    project: dict
    locked: frozenset[str]
    carried: frozenset[str] = frozenset()  # fields prefilled from last year: purpose, goals, indicators


@dataclass
class WorkbookPlan:
    year: int
    unit_code: str
    unit_name: str
    sheets: list[SheetPlan]
    unit_values: dict = field(default_factory=dict)
    indicator_rows: int | None = None
    password: str | None = None
    notes: list[Note] = field(default_factory=list)
    findings_sheet: list[list[object]] | None = None


def sheet_names_for(project_names: list[str], reserved: set[str]) -> list[str]:
    """Readable, unique sheet names of at most 31 characters without ``[]:*?/\\'``."""
    names: list[str] = []
    taken = {name.lower() for name in reserved}
    for index, project_name in enumerate(project_names, start=1):
        base = _FORBIDDEN_IN_SHEET_NAME.sub("_", project_name or "").strip() or f"项目{index}"
        candidate = base[:31]
        suffix = 2
        while candidate.lower() in taken:
            tag = f"({suffix})"
            candidate = base[: 31 - len(tag)] + tag
            suffix += 1
        taken.add(candidate.lower())
        names.append(candidate)
    return names


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel stores for sheet and workbook protection (ECMA-376 part 4, 14.7.1)."""
    hash_value = 0
    for char in reversed(password):
        hash_value = ((hash_value >> 14) & 0x01) | ((hash_value << 1) & 0x7FFF)
        hash_value ^= ord(char)
    hash_value = ((hash_value >> 14) & 0x01) | ((hash_value << 1) & 0x7FFF)
    hash_value ^= len(password)
    hash_value ^= 0xCE4B
    return f"{hash_value:04X}"


def lock_structure(xlsx: bytes, password: str | None, growing_rows: dict[str, set[int]] | None = None) -> bytes:
    """Add workbook structure protection (no adding, deleting, renaming or unhiding sheets).

    ``growing_rows`` (sheet part → 1-based rows): rows whose height is where they start, not fixed, so Excel,
    WPS and LibreOffice make them taller as the unit types a long text (XlsxWriter marks every height it
    sets as custom, and a custom height never grows: the text would be cut off on paper)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in (growing_rows or {}):
                rows = "|".join(str(row) for row in sorted(growing_rows[info.filename]))
                data = re.sub(rf'(<row r="(?:{rows})"[^>]*?) customHeight="1"'.encode(), rb"\1", data)
            if info.filename == "xl/workbook.xml":
                attributes = ' lockStructure="1"'
                if password:
                    attributes = f' workbookPassword="{legacy_password_hash(password)}"' + attributes
                text = data.decode("utf-8")
                text = text.replace("<bookViews>", f"<workbookProtection{attributes}/><bookViews>", 1)
                data = text.encode("utf-8")
            target.writestr(info, data)
    return output.getvalue()


def _add_sheet(workbook, name: str):
    return add_worksheet(workbook, name)


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1, "text_wrap": True}
        add = workbook.add_format
        self.title = add({**base, "border": 0, "bold": True, "font_size": 16, "align": "center"})
        # a title a little too long for one line is set a little smaller rather than on a second line
        self.title_shrunk = add({**base, "border": 0, "bold": True, "font_size": 16, "align": "center",
                                 "text_wrap": False, "shrink": True})
        self.plain = add({**base, "border": 0})
        self.note = add({**base, "border": 0, "align": "right"})
        self.label = add({**base, "bold": True, "align": "center", "bg_color": LABEL_FILL})
        self.locked_text = add({**base, "bg_color": LOCKED_FILL, "num_format": "@"})
        self.locked_money = add({**base, "bg_color": LOCKED_FILL, "num_format": "0.00", "align": "right"})
        self.input_text = add({**base, "locked": False, "bg_color": INPUT_FILL, "num_format": "@"})
        self.input_money = add({**base, "locked": False, "bg_color": INPUT_FILL, "num_format": "0.00"})
        self.input_carried = add({**base, "locked": False, "bg_color": CARRIED_FILL, "num_format": "@"})
        self.input_percent = add({**base, "locked": False, "bg_color": INPUT_FILL, "num_format": "0%", "align": "center"})
        self.counter = add({**base, "bold": True, "align": "center", "bg_color": LOCKED_FILL})
        self.problem = add({"bg_color": PROBLEM_FILL, "font_color": PROBLEM_FONT})
        self.warning = add({"bg_color": WARNING_FILL, "font_color": WARNING_FONT})
        self.link = add({"font_color": "blue", "underline": 1, "font_name": "宋体", "font_size": 10, "text_wrap": True,
                         "valign": "vcenter"})
        self.header = add({**base, "bold": True, "bg_color": LABEL_FILL, "align": "center"})
        self.cell = add(base)  # a bordered table cell of plain text (the 校验结果 list)
        self.cell_link = add({**base, "font_color": "blue", "underline": 1})
        self.cell_error = add({**base, "bold": True, "font_color": PROBLEM_FONT})
        self.cell_warning = add({**base, "font_color": WARNING_FONT})


# the help shown when an input cell is selected: its title is the field's label (core/fields.py),
# or the title below for inputs that are not one field
INPUT_TITLES = {"money": "金额（万元）", "percent": "累计支出比例"}
INPUT_MESSAGES = {
    "money": "以万元为单位填写，可含两位小数，例：10.96",
    "percent": "填写截至该月底累计支出占预算的比例，例：30%（直接输入 30 亦可）。须在 0%–100% 之间、逐期不减少，12月底为 100%。",
    "project_code": "填写预算系统中的项目编码，例：13028122P00306010001X",
    "project_name": "填写项目全称。",
    "purpose": "简述资金用途，例：保障公车经费及时、顺畅报销。",
    "goals": "每行一条目标，可编号，例：1.及时排查安全隐患。单元格内换行：Excel/WPS 按 Alt+Enter，LibreOffice 按 Ctrl+Enter。",
    "overall_goal": "概述本单位本年度的总体绩效目标。",
    "measures": "分条写明保障绩效目标实现的措施，例：（一）加强领导……",
    "level1": "从下拉列表选择一级指标。",
    "level2": "先选一级指标，再从下拉列表选择其下的二级指标。",
    "name": "可从下拉列表选用常用指标（随二级指标变化），也可直接填写，例：执法行动次数。",
    "description": "说明指标含义或计算方法，例：安全生产执法行动的次数。",
    "target": "填写比较符、数值和单位，例：≥95%、＝16万元、≥20次；无法量化时填写定性描述，例：提升生态环境质量。",
    "basis": "例：根据年初工作计划安排。",
}


def _input_message(key: str) -> dict:
    return {"input_title": INPUT_TITLES.get(key) or field_label(key, "zh"), "input_message": INPUT_MESSAGES[key]}


def _money_validation() -> dict:
    return {"validate": "decimal", "criteria": ">=", "value": 0, "error_title": "金额有误",
            "error_message": "金额须为不小于 0 的数字，以万元为单位，例：10.96。", **_input_message("money")}


def _percent_validation() -> dict:
    return {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1, "error_title": "比例有误",
            "error_message": "请输入 0%–100% 之间的百分比，例：30%。", **_input_message("percent")}


def _any_validation(key: str) -> dict:
    return {"validate": "any", **_input_message(key)}


def _write_value(sheet, cell: str, value: object, fmt) -> None:
    """Unit text is always written as a string, so nothing a unit typed can become a formula."""
    _remember(sheet, cell, value)
    row, column = split_cell(cell)
    if value is None or value == "":
        sheet.write_blank(row - 1, column - 1, None, fmt)
    elif isinstance(value, bool):
        sheet.write_string(row - 1, column - 1, str(value), fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(row - 1, column - 1, value, fmt)
    else:
        sheet.write_string(row - 1, column - 1, str(value), fmt)


def _remember(sheet, cell: str, value: object) -> None:
    if isinstance(sheet, CachingWorksheet):
        sheet.values[cell] = value


def _merge_or_write(sheet, merge: str | None, cell: str, value: object, fmt) -> None:
    if merge:
        first, last = merge.split(":")
        _remember(sheet, first, value)
        (r1, c1), (r2, c2) = split_cell(first), split_cell(last)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            sheet.merge_range(r1 - 1, c1 - 1, r2 - 1, c2 - 1, None, fmt)
            sheet.write_number(r1 - 1, c1 - 1, value, fmt)
        else:
            sheet.merge_range(r1 - 1, c1 - 1, r2 - 1, c2 - 1, "", fmt)
            if value not in (None, ""):
                sheet.write_string(r1 - 1, c1 - 1, str(value), fmt)
    else:
        _write_value(sheet, cell, value, fmt)


def _protect(sheet, password: str | None) -> None:
    sheet.protect(password or "", {"select_locked_cells": True, "select_unlocked_cells": True, "objects": True})


DEFAULT_ROW_POINTS = 15
UNIT_LABEL_WIDTH, UNIT_TEXT_WIDTH = 16, 80  # 单位整体: A4 portrait at full size
MOST_FROZEN_POINTS = 300  # about 400 pixels: half of what a laptop shows of a sheet


def page_heading(plan) -> str:
    """Atop every printed page of a unit's workbook: whose it is and for which year."""
    return f"{plan.unit_code} {plan.unit_name}　{plan.year}年度项目支出绩效目标表"


def _print_setup(sheet, last_row: int, repeat_row: int | None, last_column: int = 5, heading: str = "") -> None:
    """A4 landscape, one page wide; ``heading`` (the unit and the year) atop every page."""
    if heading:  # no size code before it: the unit code's digits would be read as the size
        sheet.set_header(f"&L&\"宋体\"{heading}")
        sheet.set_footer("&C&\"宋体\"&9第 &P 页，共 &N 页")
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.center_horizontally()
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.print_area(0, 0, last_row - 1, last_column)
    if repeat_row:
        sheet.repeat_rows(repeat_row - 1)


_WRAP_UNITS = re.compile(r"[!-~]+|.")  # a run of Latin letters, digits and signs (a word, a URL) or one character


def wrapped_lines(text: str, width: int) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` characters wide: Chinese breaks between any
    two characters, a Latin word or a URL only at its ends (or, longer than a line, where the line ends)."""
    usable = max(1, width - 1)
    total = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0
        for unit in _WRAP_UNITS.findall(paragraph):
            size = display_width(unit)
            if used + size <= usable:
                used += size
            elif unit.isspace():
                continue  # a space at a line's end takes no room
            else:
                lines += 1 + (size - 1) // usable if used else (size - 1) // usable
                used = (size - 1) % usable + 1
        total += lines
    return total


TITLE_POINTS = 16  # the title's font size (formats.title)
TITLE_SHRINK = 1.35  # a title up to this much wider than its row is shrunk to fit (to 12 points), not wrapped


def title_fit(text: str, widths) -> tuple[float, bool]:
    """The title row's height and whether the title is shrunk onto one line: 30 points for a title that fits
    (or nearly: shrunk) in 16-point type across columns of these ``widths``; else as many lines as it takes
    (a long unit or project name wraps; a fixed row would print its lines cut in half)."""
    points = sum(int(width * 7 + 0.5) + 5 for width in widths) * 0.75 - 8  # column widths as Excel lays them out
    needed = display_width(text) * TITLE_POINTS / 2
    if needed <= points * TITLE_SHRINK:
        return 30, needed > points
    return -(-needed // points) * 22 + 8, False


def _write_title(sheet, last_column: int, text: str, widths, formats: _Formats) -> float:
    """The sheet's title merged across its columns, in a row tall enough for it; returns the row's height."""
    height, shrunk = title_fit(text, widths)
    sheet.merge_range(0, 0, 0, last_column, text, formats.title_shrunk if shrunk else formats.title)
    sheet.set_row(0, height)
    return height


def _fitted_height(field_spec: dict, value: object, width_of) -> float:
    """A text field's row: the spec's height, or taller when what it holds needs more lines (spreadsheet
    programs do not grow a row on opening, and print what the row shows: nothing may be cut off)."""
    height = field_spec["height"]
    if not isinstance(value, str) or not value:
        return height
    first, last = (field_spec.get("merge") or f"{field_spec['cell']}:{field_spec['cell']}").split(":")
    width = sum(width_of(column) or 9 for column in range(split_cell(first)[1], split_cell(last)[1] + 1))
    return max(height, 14 * wrapped_lines(value, width) + 6)


def goals_text(goals: list[str] | None) -> str | None:
    """Goals are one cell in the template: numbered lines, as in the published table."""
    if not goals:
        return None
    return "\n".join(f"{index}.{goal}" for index, goal in enumerate(goals, start=1))


def indicator_row_formula(row: int, columns: dict[str, str], count: int) -> str:
    """1 for a partly filled row, +1 for a 二级 outside its row's 一级, 0 for a blank or good row."""
    first, last = columns["level1"], columns["basis"]
    level1, level2 = f"{columns['level1']}{row}", f"{columns['level2']}{row}"
    filled = f"COUNTA({first}{row}:{last}{row})"
    mismatch = f"IF({level2_outside_level1(level1, level2, LEVEL1_NAME, LEVEL2_PREFIX)},1,0)"
    return f"=IF({filled}=0,0,IF({filled}<{count},1,0)+{mismatch})"


def project_counter_formula(layout: dict, required_inputs: list[str], check_column: str,
                            milestones: list[str]) -> str:
    """The per-sheet count of open problems, mirrored by ``initial_project_problems``."""
    fields = layout["fields"]
    first, *others = [f"IF({check.condition},1,0)" for check in project_checks(fields, milestones)]
    parts = [first, *(f"COUNTBLANK({fields[key]})" for key in required_inputs), *others]
    table = layout["indicators"]
    first_row, last_row = table["first_row"], table["first_row"] + table["rows"] - 1
    columns = table["columns"]
    parts.append(f"IF(COUNTA({columns['level1']}{first_row}:{columns['basis']}{last_row})=0,1,0)")
    parts.append(f"SUM({check_column}{first_row}:{check_column}{last_row})")
    return "=" + "+".join(parts)


def initial_project_problems(project: dict, layout: dict, required_inputs: list[str], framework: Framework,
                             milestones: list[str]) -> int:
    """The value ``project_counter_formula`` has for these values, stored as the formula's cached result."""
    count = sum(check.found(project) for check in project_checks(layout["fields"], milestones))
    values = {**project, **{f"spending_plan/{m}": (project.get("spending_plan") or {}).get(m) for m in milestones}}
    values["goals"] = goals_text(project.get("goals"))
    count += sum(1 for key in required_inputs if values.get(key) in (None, ""))
    indicators = project.get("indicators") or []
    count += not indicators
    keys = ("level1", "level2", "name", "description", "target", "basis")
    count += sum(_row_problems({key: indicator.get(key) for key in keys}, framework, len(keys))
                 for indicator in indicators)
    return int(count)


def build_workbook(plan: WorkbookPlan, framework: Framework, spec: Spec) -> bytes:
    """Write the workbook described by ``plan``; returns the .xlsx bytes (deterministic)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {
        "in_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    })
    workbook.set_properties({
        "title": f"{plan.unit_name}{plan.year}年度项目支出绩效目标表",
        "author": "xlperf",
        "comments": f"xlperf {__version__} template {spec.version}, framework {framework.id}",
        "created": datetime(plan.year - 1, 1, 1),
    })
    formats = _Formats(workbook)
    sheet_names = spec.sheets
    layout = project_layout(spec, plan.indicator_rows)
    unit_sheet_layout = unit_layout(spec)
    problem_cells: list[tuple[str, str]] = []

    # an annotated copy opens on its findings, the first tab, where the unit sees them first
    findings_sheet = _add_sheet(workbook, sheet_names["findings"]) if plan.findings_sheet is not None else None
    instructions = _add_sheet(workbook, sheet_names["instructions"])
    unit_sheet = _add_sheet(workbook, sheet_names["unit"])
    project_sheets = [_add_sheet(workbook, sheet.name) for sheet in plan.sheets]
    lists = _add_sheet(workbook, sheet_names["lists"])
    meta = _add_sheet(workbook, sheet_names["meta"])

    _write_lists(workbook, lists, framework, sheet_names["lists"])
    unit_problems = _write_unit_sheet(unit_sheet, plan, spec, unit_sheet_layout, formats)
    problem_cells.append((sheet_names["unit"], unit_sheet_layout["problem_count"]))
    total_initial = unit_problems
    for sheet_plan, sheet in zip(plan.sheets, project_sheets):
        total_initial += _write_project_sheet(sheet, sheet_plan, plan, framework, spec, layout, formats)
        problem_cells.append((sheet_plan.name, layout["problem_count"]))
    if plan.findings_sheet is not None:  # an annotated copy counts the findings it marks, errors only here
        total_initial = sum(note.errors for note in plan.notes
                            if note.sheet in {name for name, _ in problem_cells})
    _write_instructions(instructions, plan, framework, spec, problem_cells, total_initial, formats)
    if findings_sheet is not None:
        _write_findings_sheet(findings_sheet, plan, formats)
    _write_marks(workbook, plan.notes, formats)
    if plan.findings_sheet is not None:
        notes_cells = {sheet_names["unit"]: spec.data["unit_sheet"]["problem_count"]["note_merge"].split(":")[0]}
        notes_cells.update((sheet.name, spec.data["project_sheet"]["problem_count"]["note_merge"].split(":")[0])
                           for sheet in plan.sheets)
        _write_mark_counters(workbook, plan.notes, dict(problem_cells), notes_cells, formats)
    _write_meta(meta, plan, framework, spec, layout, unit_sheet_layout)
    lists.hide()
    meta.very_hidden()
    (findings_sheet or instructions).activate()
    workbook.close()
    unit_part = f"xl/worksheets/sheet{workbook.worksheets().index(unit_sheet) + 1}.xml"
    text_rows = {split_cell(field["cell"])[0] for field in spec.data["unit_sheet"]["fields"].values()
                 if field.get("height")}
    return lock_structure(buffer.getvalue(), plan.password, {unit_part: text_rows})


def _write_marks(workbook, notes: list[Note], formats: _Formats) -> None:
    """Each note as a comment and a mark that holds while the cell keeps the value it was read with: the
    value is kept in a hidden column of the same sheet, and the mark's condition compares the two as text
    (so 10.96 typed again, or a blank left blank, keeps it; any change clears it)."""
    marked_sheets = set()
    for note in notes:
        target = workbook.get_worksheet_by_name(note.sheet)
        if target is None:
            continue
        row, column = split_cell(note.cell)
        target.write_comment(row - 1, column - 1, note.text, {"x_scale": 2.5, "y_scale": 2})
        keep_row, keep_column = row - 1, MARK_COLUMN + column - 1
        value = target.values.get(note.cell) if isinstance(target, CachingWorksheet) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            target.write_number(keep_row, keep_column, value)
        elif value not in (None, ""):
            target.write_string(keep_row, keep_column, str(value))
        kept = f"${column_letter(keep_column + 1)}${row}"
        target.conditional_format(row - 1, column - 1, row - 1, column - 1, {
            "type": "formula", "criteria": f'={note.cell}&""={kept}&""',
            "format": formats.problem if note.severity == "error" else formats.warning})
        marked_sheets.add(target)
    for target in marked_sheets:
        target.set_column(MARK_COLUMN, MARK_COLUMN + 15, None, None, {"hidden": True})


def _still_marked(note: Note) -> str:
    row, column = split_cell(note.cell)
    return f'IF({note.cell}&""=${column_letter(MARK_COLUMN + column)}${row}&"",1,0)'


def _write_mark_counters(workbook, notes: list[Note], count_cells: dict[str, str], note_cells: dict[str, str],
                         formats: _Formats) -> None:
    """In an annotated copy each sheet's 本表待修正问题 counts the error findings still marked on it, and the
    note beside it the warnings, so that the counts are those of the marks (and fall as the unit corrects)."""
    for sheet_name, cell in count_cells.items():
        sheet = workbook.get_worksheet_by_name(sheet_name)
        if sheet is None:
            continue
        own = [note for note in notes if note.sheet == sheet_name]
        errors = "+".join(f"{note.errors}*{_still_marked(note)}" for note in own if note.errors) or "0"
        warnings = "+".join(f"{note.warnings}*{_still_marked(note)}" for note in own if note.warnings) or "0"
        row, column = split_cell(cell)
        sheet.write_formula(row - 1, column - 1, f"={errors}", formats.counter, sum(n.errors for n in own))
        note_row, note_column = split_cell(note_cells[sheet_name])
        warning_count = sum(n.warnings for n in own)
        # beside the count the note goes on from it ("3 | 个错误…"); on a row of its own it says the count itself
        text = f'个错误（红色底纹），另有警告 "&({warnings})&" 个（橙色底纹）；改正后自动减少"'
        cached = f"个错误（红色底纹），另有警告 {warning_count} 个（橙色底纹）；改正后自动减少"
        if note_row != row:
            text, cached = f'({errors})&" {text}', f"{sum(n.errors for n in own)} {cached}"
        else:
            text = f'"{text}'
        sheet.write_formula(note_row - 1, note_column - 1, f"={text}", formats.plain, cached)


def _write_lists(workbook, sheet, framework: Framework, sheet_name: str) -> None:
    sheet.write_string(0, 0, "一级指标")
    for row, level1 in enumerate(framework.level1_names, start=1):
        sheet.write_string(row, 0, level1)
    workbook.define_name(LEVEL1_NAME, f"={quote_sheet(sheet_name)}!$A$2:$A${len(framework.level1_names) + 1}")
    for index, (level1, level2_names) in enumerate(framework.categories.items(), start=1):
        sheet.write_string(0, index, level1)
        for row, level2 in enumerate(level2_names, start=1):
            sheet.write_string(row, index, level2)
        column = column_letter(index + 1)
        workbook.define_name(f"{LEVEL2_PREFIX}{index}",
                             f"={quote_sheet(sheet_name)}!${column}$2:${column}${len(level2_names) + 1}")
    # the indicator library: one column of suggested 三级 names per 二级, found by the 二级's position
    all_column = len(framework.categories) + 1
    sheet.write_string(0, all_column, "二级指标")
    level2_names = framework.level2_names
    for row, level2 in enumerate(level2_names, start=1):
        sheet.write_string(row, all_column, level2)
    letter = column_letter(all_column + 1)
    workbook.define_name(LEVEL2_ALL_NAME, f"={quote_sheet(sheet_name)}!${letter}$2:${letter}${len(level2_names) + 1}")
    for index, level2 in enumerate(level2_names, start=1):
        column = all_column + index
        sheet.write_string(0, column, f"{level2}（常用三级指标）")
        names = [entry["name"] for entry in framework.library_for(level2)]
        for row, name in enumerate(names, start=1):
            sheet.write_string(row, column, name)
        letter = column_letter(column + 1)
        workbook.define_name(f"{LIBRARY_PREFIX}{index}",
                             f"={quote_sheet(sheet_name)}!${letter}$2:${letter}${max(len(names), 1) + 1}")
    _protect(sheet, None)


def _write_unit_sheet(sheet, plan: WorkbookPlan, spec: Spec, layout: dict, formats: _Formats) -> int:
    unit_spec = spec.data["unit_sheet"]
    # one wide input column, no merged cells: a row grows as the unit types only where its cell is not merged
    sheet.set_column(0, 0, UNIT_LABEL_WIDTH)
    sheet.set_column(1, 1, UNIT_TEXT_WIDTH)
    _write_title(sheet, 1, f"{plan.unit_name}{plan.year}年度{unit_spec['title']}", (UNIT_LABEL_WIDTH, UNIT_TEXT_WIDTH),
                 formats)
    values = {"unit_code": plan.unit_code, "unit_name": plan.unit_name, **plan.unit_values}
    blank_inputs = []
    for key, field_spec in unit_spec["fields"].items():
        _write_value(sheet, field_spec["label_cell"], field_spec["label"], formats.label)
        locked = key in ("unit_code", "unit_name")
        _merge_or_write(sheet, field_spec.get("merge"), field_spec["cell"], values.get(key),
                        formats.locked_text if locked else formats.input_text)
        if not locked:
            row, column = split_cell(field_spec["cell"])
            sheet.data_validation(row - 1, column - 1, row - 1, column - 1, _any_validation(key))
            if values.get(key) in (None, ""):
                blank_inputs.append(field_spec["cell"])
        if field_spec.get("height"):
            sheet.set_row(split_cell(field_spec["cell"])[0] - 1,
                          _fitted_height(field_spec, values.get(key),
                                         lambda column: UNIT_LABEL_WIDTH if column == 1 else UNIT_TEXT_WIDTH))
    counter = unit_spec["problem_count"]
    _write_value(sheet, counter["label_cell"], counter["label"], formats.label)
    formula = "=" + "+".join(f"COUNTBLANK({unit_spec['fields'][k]['cell']})" for k in ("overall_goal", "measures"))
    row, column = split_cell(counter["cell"])
    sheet.write_formula(row - 1, column - 1, formula, formats.counter, len(blank_inputs))
    _merge_or_write(sheet, counter["note_merge"], counter["note_merge"].split(":")[0],
                    "为 0 表示本表必填项已填写", formats.plain)
    note_row, _ = split_cell(counter["note_merge"].split(":")[0])
    _print_setup(sheet, max(note_row, split_cell(counter["cell"])[0]), None, last_column=1,
                 heading=page_heading(plan))
    sheet.set_portrait()
    _protect(sheet, plan.password)
    return len(blank_inputs)


def _write_project_sheet(sheet, sheet_plan: SheetPlan, plan: WorkbookPlan, framework: Framework, spec: Spec,
                         layout: dict, formats: _Formats) -> int:
    """One project's sheet in the official layout; returns its open problems (the counter's cached value)."""
    project_spec = spec.data["project_sheet"]
    project = sheet_plan.project
    last_column = _set_project_columns(sheet, project_spec)

    title = f"{project.get('project_name') or ''}{spec.data['title_suffix']}"
    title_points = _write_title(sheet, last_column, title, _project_widths(project_spec), formats)
    _write_value(sheet, project_spec["money_unit_cell"], spec.data["money_unit_note"], formats.note)
    group = project_spec["budget_group"]
    _merge_or_write(sheet, group["label_merge"], group["label_cell"], group["label"], formats.label)
    required_inputs, heights = _write_project_fields(sheet, sheet_plan, plan, project_spec, formats)
    heights[0] = title_points
    required_inputs += _write_spending_plan(sheet, project, project_spec["spending_plan"], layout, last_column,
                                            formats)
    table = layout["indicators"]
    header_row, first_row = table["first_row"] - 1, table["first_row"]
    last_row = first_row + table["rows"] - 1
    check_column = project_spec["indicators"]["check_column"]
    _write_indicator_table(sheet, sheet_plan, project_spec, table, check_column, framework, formats)

    counter = project_spec["problem_count"]
    _write_value(sheet, counter["label_cell"], counter["label"], formats.label)
    row, column = split_cell(counter["cell"])
    initial = initial_project_problems(project, layout, required_inputs, framework, spec.milestones)
    sheet.write_formula(row - 1, column - 1,
                        project_counter_formula(layout, required_inputs, check_column, spec.milestones),
                        formats.counter, initial)
    _merge_or_write(sheet, counter["note_merge"], counter["note_merge"].split(":")[0],
                    "红色底纹处有问题；为 0 表示本表已无可自动发现的问题", formats.plain)
    _live_checks(sheet, layout, table["columns"], first_row, last_row, spec.milestones, formats)
    _print_setup(sheet, last_row, header_row, last_column, heading=page_heading(plan))
    # the indicator columns' names stay in sight while the rows are filled, unless the rows above them (long
    # texts carried over) would fill a laptop's window and leave no room to scroll the indicators through
    if sum(heights.get(row, DEFAULT_ROW_POINTS) for row in range(header_row)) <= MOST_FROZEN_POINTS:
        sheet.freeze_panes(header_row, 0)
    _protect(sheet, plan.password)
    return initial


def _project_widths(project_spec: dict) -> list[float]:
    """The printed columns' widths of a project sheet: the label column, then the indicator columns."""
    indicators = project_spec["indicators"]
    return [project_spec["label_width"]] + [column_spec["width"] for column_spec in indicators["columns"]]


def _set_project_columns(sheet, project_spec: dict) -> int:
    """Column widths of a project sheet (the label column, the indicator columns, the hidden row checks);
    returns the last printed column (0-based)."""
    indicators = project_spec["indicators"]
    label_column = column_index(indicators["label_column"]) - 1
    sheet.set_column(label_column, label_column, project_spec["label_width"])
    for column_spec in indicators["columns"]:
        index = column_index(column_spec["column"]) - 1
        sheet.set_column(index, index, column_spec["width"])
    check_column = column_index(indicators["check_column"]) - 1
    sheet.set_column(check_column, check_column, 6, None, {"hidden": True})
    return max(column_index(column_spec["column"]) for column_spec in indicators["columns"]) - 1


def _write_project_fields(sheet, sheet_plan: SheetPlan, plan: WorkbookPlan, project_spec: dict,
                          formats: _Formats) -> tuple[list[str], dict[int, float]]:
    """Each field's label and value (locked where prefilled); returns the inputs a unit must fill and the
    heights given to rows (points, by 0-based row)."""
    project, locked = sheet_plan.project, sheet_plan.locked
    widths = {column_index(c["column"]): c["width"] for c in project_spec["indicators"]["columns"]}
    values = {key: project.get(key) for key in project_spec["fields"]}
    values["unit"] = f"{plan.unit_code}{plan.unit_name}"
    values["goals"] = goals_text(project.get("goals"))
    heights = {0: 30}  # points, of the rows given a height
    required_inputs: list[str] = []
    for key, field_spec in project_spec["fields"].items():
        _write_value(sheet, field_spec["label_cell"], field_spec["label"], formats.label)
        kind = field_spec.get("kind", "text")
        is_locked = key == "unit" or key in locked
        if is_locked:
            fmt = formats.locked_money if kind == "money" else formats.locked_text
        elif key in sheet_plan.carried:
            fmt = formats.input_carried
        else:
            fmt = formats.input_money if kind == "money" else formats.input_text
        _merge_or_write(sheet, field_spec.get("merge"), field_spec["cell"], values.get(key), fmt)
        if not is_locked:
            row, column = split_cell(field_spec["cell"])
            validation = _money_validation() if kind == "money" else _any_validation(key)
            sheet.data_validation(row - 1, column - 1, row - 1, column - 1, validation)
            if key != "other":
                required_inputs.append(key)
        row_index = split_cell(field_spec["cell"])[0] - 1
        if field_spec.get("height"):
            heights[row_index] = _fitted_height(field_spec, values.get(key), widths.get)
            sheet.set_row(row_index, heights[row_index])
        elif kind == "text" and isinstance(values.get(key), str):  # a long project or unit name wraps: its row grows
            fitted = _fitted_height({**field_spec, "height": DEFAULT_ROW_POINTS}, values.get(key), widths.get)
            if fitted > 20 and fitted > heights.get(row_index, 0):  # 20: one line's fit
                heights[row_index] = fitted
                sheet.set_row(row_index, fitted)
        if key in sheet_plan.carried:
            row, column = split_cell(field_spec["label_cell"])
            sheet.write_comment(row - 1, column - 1, CARRIED_NOTE)
    return required_inputs, heights


def _write_spending_plan(sheet, project: dict, plan_spec: dict, layout: dict, last_column: int,
                         formats: _Formats) -> list[str]:
    """资金支出计划: a label over each milestone and its percentage input; returns the inputs' keys."""
    _merge_or_write(sheet, plan_spec["label_merge"], plan_spec["label_cell"], plan_spec["label"], formats.label)
    spending_plan = project.get("spending_plan") or {}
    plan_cells, keys = [], []
    for key, cell in layout["fields"].items():
        if not key.startswith("spending_plan/"):
            continue
        milestone = key.split("/", 1)[1]
        row, column = split_cell(cell)
        sheet.write_string(plan_spec["label_row"] - 1, column - 1, milestone, formats.label)
        value = spending_plan.get(milestone)
        _write_value(sheet, cell, value / 100 if isinstance(value, (int, float)) else value, formats.input_percent)
        plan_cells.append((row, column))
        keys.append(key)
    first_plan, last_plan = plan_cells[0], plan_cells[-1]
    sheet.data_validation(first_plan[0] - 1, first_plan[1] - 1, last_plan[0] - 1, last_plan[1] - 1,
                          _percent_validation())
    if last_plan[1] <= last_column:  # cells right of the milestones stay a locked, bordered block
        sheet.merge_range(plan_spec["label_row"] - 1, last_plan[1], plan_spec["input_row"] - 1, last_column, "",
                          formats.locked_text)
    return keys


def _write_indicator_table(sheet, sheet_plan: SheetPlan, project_spec: dict, table: dict, check_column: str,
                           framework: Framework, formats: _Formats) -> None:
    """The indicator header, its input rows (each with its hidden row check) and their dropdowns."""
    header_row, first_row = table["first_row"] - 1, table["first_row"]
    last_row = first_row + table["rows"] - 1
    columns = table["columns"]
    # 绩效指标 beside the input rows only: a merge across the frozen header row would be split by the freeze
    label_column = project_spec["indicators"]["label_column"]
    _write_value(sheet, f"{label_column}{header_row}", None, formats.label)
    _merge_or_write(sheet, f"{label_column}{first_row}:{label_column}{last_row}", f"{label_column}{first_row}",
                    project_spec["indicators"]["label"], formats.label)
    for column_spec in project_spec["indicators"]["columns"]:
        _write_value(sheet, f"{column_spec['column']}{header_row}", column_spec["label"], formats.header)
    if "indicators" in sheet_plan.carried:
        first_column = column_index(columns["level1"]) - 1
        sheet.write_comment(header_row - 1, first_column, CARRIED_NOTE)
    indicators = sheet_plan.project.get("indicators") or []
    widths = {column_spec["column"]: column_spec["width"] for column_spec in project_spec["indicators"]["columns"]}
    for offset in range(table["rows"]):
        row = first_row + offset
        indicator = indicators[offset] if offset < len(indicators) else {}
        carried = bool(indicator) and "indicators" in sheet_plan.carried
        for key, column in columns.items():
            _write_value(sheet, f"{column}{row}", indicator.get(key), formats.input_carried if carried else formats.input_text)
        # a row written with long texts (carried over, or an annotated copy) is as tall as its longest cell:
        # spreadsheet programs do not grow it on opening, and would print the texts over each other
        lines = max([wrapped_lines(str(indicator[key]), widths[column]) for key, column in columns.items()
                     if indicator.get(key) not in (None, "")] or [1])
        if lines > 1:
            sheet.set_row(row - 1, 14 * lines + 6)
        check_row, check_column_index = split_cell(f"{check_column}{row}")
        sheet.write_formula(check_row - 1, check_column_index - 1,
                            indicator_row_formula(row, columns, len(columns)), None,
                            _row_problems(indicator, framework, len(columns)))
    for key, column in columns.items():
        c = column_index(column) - 1
        sheet.data_validation(first_row - 1, c, last_row - 1, c, _indicator_validation(key, columns, first_row))


def _indicator_validation(key: str, columns: dict[str, str], first_row: int) -> dict:
    """An indicator column's dropdown: 一级 from the framework, 二级 from the row's 一级, 三级 suggested."""
    if key == "level1":
        return {"validate": "list", "source": f"={LEVEL1_NAME}", "error_title": "一级指标",
                "error_message": "请从下拉列表中选择一级指标。", **_input_message(key)}
    if key == "level2":
        source = f'=INDIRECT("{LEVEL2_PREFIX}"&MATCH(${columns["level1"]}{first_row},{LEVEL1_NAME},0))'
        return {"validate": "list", "source": source, "error_title": "二级指标",
                "error_message": "该二级指标不属于本行的一级指标。请先选择一级指标，再从下拉列表选择二级指标。",
                **_input_message(key)}
    if key == "name":  # suggestions from the library; free text still accepted (no error alert)
        source = f'=INDIRECT("{LIBRARY_PREFIX}"&MATCH(${columns["level2"]}{first_row},{LEVEL2_ALL_NAME},0))'
        return {"validate": "list", "source": source, "show_error": False, **_input_message(key)}
    return _any_validation(key)


def _row_problems(indicator: dict, framework: Framework, column_count: int) -> int:
    filled = sum(1 for value in indicator.values() if value not in (None, ""))
    if not filled:
        return 0
    mismatch = bool(indicator.get("level2")) and indicator.get("level2") not in framework.categories.get(
        indicator.get("level1"), ())
    return int(filled < column_count) + int(mismatch)


def _live_checks(sheet, layout: dict, columns: dict[str, str], first_row: int, last_row: int,
                 milestones: list[str], formats: _Formats) -> None:
    for check in project_checks(layout["fields"], milestones):
        for cell in check.marks:
            row, column = split_cell(cell)
            sheet.conditional_format(row - 1, column - 1, row - 1, column - 1,
                                     {"type": "formula", "criteria": check.criteria, "format": formats.problem})
    first_col, last_col = columns["level1"], columns["basis"]
    sheet.conditional_format(first_row - 1, column_index(first_col) - 1, last_row - 1, column_index(last_col) - 1, {
        "type": "formula", "format": formats.problem,
        "criteria": f'=AND(COUNTA(${first_col}{first_row}:${last_col}{first_row})>0,{first_col}{first_row}="")'})
    level1, level2 = f"${columns['level1']}{first_row}", f"${columns['level2']}{first_row}"
    c = column_index(columns["level2"]) - 1
    sheet.conditional_format(first_row - 1, c, last_row - 1, c, {
        "type": "formula", "format": formats.problem,
        "criteria": "=" + level2_outside_level1(level1, level2, LEVEL1_NAME, LEVEL2_PREFIX)})


def _write_instructions(sheet, plan: WorkbookPlan, framework: Framework, spec: Spec,
                        problem_cells: list[tuple[str, str]], total_initial: int, formats: _Formats) -> None:
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 90)
    _write_title(sheet, 1, f"{plan.unit_name}{plan.year}年度项目支出绩效目标填报说明", (22, 90), formats)
    facts = [
        ("单位", f"{plan.unit_code} {plan.unit_name}"),
        ("预算年度", str(plan.year)),
        ("指标体系", framework.title),  # by its title only: the id is in _meta
        ("项目数", str(len(plan.sheets))),
    ]
    row = 2
    for label, value in facts:
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.locked_text)
        row += 1
    sheet.write_string(row, 0, "全部待修正问题", formats.label)
    total = "=" + "+".join(f"{quote_sheet(name)}!{cell}" for name, cell in problem_cells)
    sheet.write_formula(row, 1, total, formats.counter, total_initial)
    row += 2
    milestones = "、".join(spec.milestones)
    level1 = "、".join(framework.level1_names)
    steps = [
        "浅黄色单元格为填报区，其余单元格（标签及项目清单预填的内容）已锁定，无需也无法修改。",
        f"在“{spec.sheets['unit']}”表填写总体绩效目标和工作保障措施。",
        "每个项目一张工作表：填写资金用途（如未预填）、绩效目标（每行一条）。",
        f"资金支出计划：填写截至{milestones}的累计支出比例，如 30%（单元格已设为百分比格式，直接输入 30 也是 30%）；"
        "须在 0%–100% 之间、逐期不减少，最后一期为 100%。",
        f"绩效指标：先在“一级指标”列下拉选择（{level1}），再选择其下的“二级指标”；然后填写三级指标、"
        "绩效指标描述、指标值和指标值确定依据。每个一级指标下至少填写一条指标；一行要么全部填写，要么全部留空。",
        "指标值写法：比较符＋数值＋单位，如 ≥95%、＝16万元、≥20次；无法量化的写定性描述，如“提升生态环境质量”。",
        "红色底纹表示该处有问题。各表“本表待修正问题”及上方“全部待修正问题”随填写自动更新，报送前请确认为 0。",
        *(["校验结果（退回修改的副本）：红色底纹为错误，必须改正；橙色底纹为警告，请核实；鼠标停在单元格上可看批注。"
           "改动该单元格的内容后，标记自动消失。"] if plan.notes else []),
        "请勿改动表名、插入或删除行列；报送时保存为 .xlsx 格式（Excel、WPS、LibreOffice 均可）。",
    ]
    sheet.write_string(row, 0, "填写步骤", formats.label)
    for number, step in enumerate(steps, start=1):
        sheet.write_string(row, 1, f"{number}. {step}", formats.plain)
        sheet.set_row(row, 15 * (len(step) // 48 + 1))  # spreadsheet programs do not grow wrapped rows on open
        row += 1
    row += 1
    sheet.write_string(row, 0, "工作表", formats.label)
    for name, _ in problem_cells:
        sheet.write_url(row, 1, f"internal:{quote_sheet(name)}!A1", formats.link, name)
        row += 1
    carried = [sheet_plan for sheet_plan in plan.sheets if sheet_plan.carried]
    if carried:
        row += 1
        sheet.write_string(row, 0, "上年结转", formats.label)
        for sheet_plan in carried:
            fields = "、".join(CARRIED_LABELS[key] for key in CARRIED_LABELS if key in sheet_plan.carried)
            sheet.write_string(row, 1, f"{sheet_plan.name}：{fields}预填自上年度（绿色底纹），请逐项核实修改", formats.plain)
            row += 1
    _print_setup(sheet, row, None, heading=page_heading(plan))  # landscape, as the project sheets it explains
    _protect(sheet, plan.password)


def _write_findings_sheet(sheet, plan: WorkbookPlan, formats: _Formats) -> None:
    rows = plan.findings_sheet or []
    headers = ["严重程度", "工作表", "单元格", "字段", "问题", "修改建议", "代码"]
    widths = [10, 24, 8, 16, 40, 32, 22]
    link_column = headers.index("单元格")
    severity_formats = {Severity.ERROR.label("zh"): formats.cell_error, Severity.WARNING.label("zh"): formats.cell_warning}
    for index, (header, width) in enumerate(zip(headers, widths)):
        sheet.set_column(index, index, width)
        sheet.write_string(0, index, header, formats.header)
    for row_index, row in enumerate(rows, start=1):
        for column_index_, value in enumerate(row):
            if column_index_ == link_column and isinstance(value, tuple):
                target, text = value
                sheet.write_url(row_index, link_column, f"internal:{target}", formats.cell_link, text)
            else:
                fmt = severity_formats.get(value, formats.cell) if column_index_ == 0 else formats.cell
                sheet.write_string(row_index, column_index_, "" if value is None else str(value), fmt)
        shown = [value[1] if isinstance(value, tuple) else str(value or "") for value in row[:-1]]
        lines = max(wrapped_lines(text, width) for text, width in zip(shown, widths))
        sheet.set_row(row_index, 14 * lines + 4)  # tall enough for the wrapped text: nothing cut off on paper
    sheet.freeze_panes(1, 0)
    # on A4 landscape, one page wide, whose and which year atop every page with the column names below it
    # (the code column is for the office, off paper)
    _print_setup(sheet, max(len(rows), 1) + 1, 1, len(headers) - 2, heading=f"{page_heading(plan)}　校验结果")
    _protect(sheet, plan.password)


def _write_meta(sheet, plan: WorkbookPlan, framework: Framework, spec: Spec, layout: dict, unit_sheet: dict) -> None:
    workbook_meta = {
        "kind": "template",
        "template_version": spec.version,
        "xlperf_version": __version__,
        "framework": framework.id,
        "framework_sha256": framework.sha256,
        "year": plan.year,
        "unit_code": plan.unit_code,
        "unit_name": plan.unit_name,
        "sheets": {"instructions": spec.sheets["instructions"], "unit": spec.sheets["unit"],
                   "lists": spec.sheets["lists"], "meta": spec.sheets["meta"], "findings": spec.sheets["findings"]},
    }
    rows = [("workbook", workbook_meta), ("layout.project", layout), ("layout.unit", unit_sheet)]
    for index, sheet_plan in enumerate(plan.sheets):
        rows.append(("project", {
            "index": index,
            "sheet": sheet_plan.name,
            "project_code": sheet_plan.project.get("project_code"),
            "project_name": sheet_plan.project.get("project_name"),
            "locked": sorted(sheet_plan.locked),
            "prefilled": {key: sheet_plan.project.get(key) for key in sorted(sheet_plan.locked)},
            "carried": sorted(sheet_plan.carried),
        }))
    sheet.write_string(0, 0, META_MARKER)
    sheet.write_string(0, 1, "1")
    for row, (key, value) in enumerate(rows, start=1):
        sheet.write_string(row, 0, key)
        sheet.write_string(row, 1, json.dumps(value, ensure_ascii=False, sort_keys=True))
    _protect(sheet, None)
