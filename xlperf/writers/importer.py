"""Old Word documents → filled workbooks: read 绩效目标表 tables from .docx files shaped like the seed.

Real documents vary: spaces inside labels (``其中：财政    资金``), full-width characters, the
indicator table split from the project block, 一级 cells merged vertically or simply left blank,
missing columns. Labels are matched after removing all spaces; everything that cannot be placed is
reported, never guessed.
"""
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from ..core.errors import DocxError  # noqa: F401 (raised here)
from ..core.fileio import atomic_write_bytes
from ..core.resources import templates_root
from ..framework.frameworks import Framework, load_framework, map_indicator
from ..framework.spec import Spec, check_spec_fits, load_spec
from ..framework.targets import clean_text, fold_width, operator_symbol, parse_number
from ..intake.reader import split_goals
from .sendout import workbook_file_name
from .template import SheetPlan, WorkbookPlan, build_workbook, sheet_names_for

HEADER_LABELS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "name", "绩效指标描述": "description",
                 "指标值": "target", "指标值确定依据": "basis"}  # as the missing ones are named
LOCKED_FROM_DOCUMENT = frozenset({"project_code", "project_name", "budget_total", "fiscal", "other"})
# a unit as published above its tables: 471001遵化市…, [015001]名称, 【015001】名称, 820001-名称, 820001 名称
_UNIT_LINE = re.compile(r"^[\[【(（]?([0-9]{3,12})(?![0-9]|\s*年)[\]】)）]?\s*[-—－:：]?\s*(\S.*?)\s*"
                        r"(?:(?:金额)?单位[:：]\s*(?:万元|元|千元))?$")
_YEAR = re.compile(r"(20[0-9]{2})\s*年")
_PART_HEADINGS = {"总体绩效目标": "overall_goal", "工作保障措施": "measures"}


@dataclass
class Unplaced:
    file: str
    where: str
    text: str
    reason: str


@dataclass
class Converted:
    """An amount written in another unit than 万元, and what it became."""

    file: str
    where: str
    text: str
    wan: float

    @property
    def shown(self) -> str:
        """The amount as stored, exactly: two decimals (10.96), more where the cent of 万元 does not hold it
        (109601 元 → 10.9601)."""
        exact = f"{self.wan:.6f}".rstrip("0")
        return exact if len(exact.partition(".")[2]) > 2 else f"{self.wan:.2f}"

    @property
    def to_the_cent(self) -> bool:
        """Whether the amount is a whole number of cents of 万元 (100 元), as the template's money is."""
        return len(self.shown.partition(".")[2]) <= 2


@dataclass
class ImportResult:
    files: list[Path] = field(default_factory=list)
    projects: int = 0
    indicators: int = 0
    unplaced: list[Unplaced] = field(default_factory=list)
    converted: list[Converted] = field(default_factory=list)
    from_doc: list[str] = field(default_factory=list)  # old Word documents converted by LibreOffice
    unreadable: list[DocxError] = field(default_factory=list)  # documents that could not be read at all


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, dict[str, str]]:
    """workbook_templates/import_vocabulary.json as label → key, per kind ("indicator_headers", "fields",
    "department_fields", "listing_headers")."""
    with open(templates_root() / "import_vocabulary.json", encoding="utf-8") as handle:
        data = json.load(handle)
    kinds = {kind: {canonical_label(label): key for key, labels in data[kind].items() for label in labels}
             for kind in ("indicator_headers", "fields", "department_fields")}
    return {**kinds, "listing_headers": {canonical_label(label): "listing" for label in data["listing_headers"]}}


def canonical_label(text: str | None) -> str:
    """A label as the vocabulary matches it: ``label_key`` without a leading ``*`` or a bracketed remark
    (``*指标值（包含数字及文字描述）`` → ``指标值``, ``成本指标(0-20)分`` → ``成本指标分``)."""
    return re.sub(r"\([^()]*\)", "", label_key(text)).lstrip("*")


def category_label(text: str) -> str:
    """A 一级/二级 as the framework names it, without the noise of published tables: a line break or spaces
    inside (``经济效益\n指标``), a score (``成本指标(0-20)分``, ``产出指标（50分）``)."""
    bare = re.sub(r"\([^()]*\)", "", label_key(text))
    bare = re.sub(r"(指标)(?:[0-9.]+)?分$", r"\1", bare)
    return bare or text


def header_key(text: str | None) -> str | None:
    """The indicator column a header cell names (``level1``, …, ``basis``), if any."""
    return vocabulary()["indicator_headers"].get(canonical_label(text))


def field_key(text: str | None) -> str | None:
    """The template field a label of the project block names, if any (its unit remark ignored)."""
    return vocabulary()["fields"].get(canonical_label(text))


def label_key(text: str | None) -> str:
    """A label as matched: cleaned, width-folded, every space removed (``其中：财政    资金`` → ``其中:财政资金``)."""
    return re.sub(r"\s+", "", fold_width(clean_text(text) or "")).replace("：", ":").replace("（", "(").replace("）", ")")


def _rows(table) -> list[list]:
    """Each row's distinct cells in order (a horizontally merged cell appears once)."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell)
        rows.append(cells)
    return rows


def _grid_rows(table) -> list[list]:
    """Each row's cells by grid column: a horizontally merged cell stands in every column it covers, its
    text counted in the first (``_grid_texts``), so the columns after it keep their place."""
    return [list(row.cells) for row in table.rows]


def _grid_texts(cells: list) -> list[str]:
    return [_text(cell) if index == 0 or cell._tc is not cells[index - 1]._tc else ""
            for index, cell in enumerate(cells)]


def _text(cell) -> str:
    return clean_text("\n".join(p.text for p in cell.paragraphs)) or ""


# Money in the published tables is in 万元 unless the table says otherwise: a caption (单位：元, 金额单位：元),
# a header (预算数（元）) or the amount itself (109600元, 10.96万). Amounts are stored in 万元.
WAN_PER_UNIT = {"元": Decimal("0.0001"), "千元": Decimal("0.1"), "万元": Decimal(1), "万": Decimal(1),
                "百万元": Decimal(100), "亿元": Decimal(10000), "亿": Decimal(10000)}
_UNIT_WORDS = "百万元|亿元|千元|万元|亿|万|元"
_DECLARED_UNIT = re.compile(rf"(?:金额|资金)?单位[:：]\s*(?:人民币)?({_UNIT_WORDS})(?![\w])")
_BRACKETED_UNIT = re.compile(rf"[（(]\s*(?:单位[:：]\s*)?({_UNIT_WORDS})\s*[)）]")
_AMOUNT = re.compile(rf"^([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*({_UNIT_WORDS})?$")


def declared_unit(text: str | None) -> str | None:
    """The money unit a caption, paragraph or header declares (``金额单位：元``, ``预算数（万元）``)."""
    folded = fold_width(clean_text(text) or "")
    match = _DECLARED_UNIT.search(folded) or _BRACKETED_UNIT.search(folded)
    return match.group(1) if match else None


def amount_in_wan(text: str, unit: str | None) -> tuple[float | None, str]:
    """An amount in 万元, and the unit it was written in: the amount's own (``109600元``), else the table's
    (``unit``), else 万元. ``None`` when the text is not one amount."""
    folded = re.sub(r"\s+", "", fold_width(clean_text(text) or "")).replace("，", ",")
    match = _AMOUNT.fullmatch(folded)
    if not match:
        return (parse_number(text), "万元") if text else (None, "万元")
    written = match.group(2) or unit or "万元"
    try:
        number = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None, written
    return float(number * WAN_PER_UNIT[written]), written


def _bare(key: str) -> str:
    """A label without the unit it states: ``预算数(元)`` → ``预算数``."""
    return _BRACKETED_UNIT.sub("", key)


def _after(cells: list, index: int) -> str:
    return _text(cells[index + 1]) if index + 1 < len(cells) else ""


@dataclass
class _Project:
    values: dict
    where: str
    indicators: list[dict] = field(default_factory=list)
    unit: tuple[str, str] | None = None
    rows: list[tuple[int, int]] = field(default_factory=list)  # (table, row) each indicator was read from


@dataclass
class _Department:
    """A 部门（单位）整体支出绩效目标表: its unit, and what fits the unit's 单位整体 sheet (总体目标, 保障措施).
    Its indicators are read as a project's are, only to be reported: 单位整体 has no place for them."""

    where: str
    name: str | None
    values: dict
    unit: tuple[str, str] | None = None
    indicators: list[dict] = field(default_factory=list)
    rows: list[tuple[int, int]] = field(default_factory=list)
    file: str = ""


def _below(rows: list[list], row_number: int, cell):
    """The cell under ``cell`` (same grid column) in the next row, if any."""
    if row_number + 1 >= len(rows):
        return None
    return next((other for other in rows[row_number + 1] if other._tc.left == cell._tc.left), None)


def goals_of(text: str) -> list[str]:
    """Goals as the template lists them, numbered on lines of their own or in one run of text
    (``1.推广新技术10项；2.培训农民1000人次。``), without numbers or the separator between them."""
    lines = re.sub(r"(?<=[；;。])\s*(?=(?:[0-9]{1,2}|[一二三四五六七八九十]{1,2})[.．、)）])", "\n", text or "")
    return [goal.rstrip("；;，,") for goal in split_goals(lines)]


def _is_column_header(text: str) -> bool:
    """Whether the text beside 项目名称 is another column's header (合计, 一般公共预算拨款, 项目名称: the vocabulary's
    listing_headers and labels), as in a list of projects, rather than the project's name."""
    return bool(field_key(text) or header_key(text) or canonical_label(text) in vocabulary()["listing_headers"])


class _Part:
    """One side of a cell written ``label：value`` (资金总额：100万元), read as if it were two cells."""

    def __init__(self, text: str, tc) -> None:
        self.paragraphs = [type("Text", (), {"text": text})()]
        self._tc = tc


def _label_and_value(cell) -> list:
    """A cell, or the label and the value it holds both (资金总额：100, 财政拨款：80, 项目名称：某项目)."""
    label, colon, value = _text(cell).replace("：", ":").partition(":")
    if colon and value.strip() and field_key(label) not in (None, "unit") and "\n" not in label:
        return [_Part(label, cell._tc), _Part(value.strip(), cell._tc)]
    return [cell]


def _read_project_block(rows: list[list], file: str, table_number: int, result: ImportResult,
                        money_unit: str | None = None) -> tuple[_Project | None, str | None]:
    """The project block of a table: codes, money (in 万元, converted from the unit the table or the amount
    states), purpose, spending plan, goals; and the unit line."""
    values: dict = {}
    used: set[int] = set()  # the cells read (labels and values); any other cell with text is reported
    for cells in rows:  # a caption (单位：元) or a money header (预算数（元）) counts for the whole table
        for cell in cells:
            text = fold_width(_text(cell))
            if len(text) < 30 and (_DECLARED_UNIT.search(text) or (
                    _BRACKETED_UNIT.search(text) and any(word in text for word in ("预算", "资金", "金额")))):
                money_unit = declared_unit(text)
                used.add(id(cell._tc))

    def take(cells: list, *indexes: int) -> None:
        used.update(id(cells[index]._tc) for index in indexes if index < len(cells))

    def money(key: str, cells: list, index: int) -> None:
        text = _after(cells, index)
        unit = declared_unit(_text(cells[index])) or money_unit
        value, written = amount_in_wan(text, unit) if text else (None, "万元")
        values[key] = value
        if value is not None and written not in ("万元", "万") or (text and re.search(r"万(?!元)", text)):
            result.converted.append(Converted(file, f"表{table_number} {_text(cells[index])}", text, value))

    unit_line = None
    named: list[tuple[list, int]] = []  # 主管部门及代码 | [128001]某某局, 实施单位 | 某某局
    plan_labels: list[str] | None = None
    after_budget = False
    code_cell = None  # 主管部门编码 | 610828001 beside 主管部门 | 某某局
    for row_number, cells in enumerate(rows):
        cells = [part for cell in cells for part in _label_and_value(cell)]
        keys = [label_key(_text(c)) for c in cells]
        if after_budget and len(cells) == 2 and keys[0] in ("", "预算规模及资金用途", "资金用途"):
            values["purpose"] = _text(cells[1])  # the row under 预算数 (its first cell merged or blank)
            take(cells, 0, 1)
            after_budget = False
            continue
        after_budget = any(field_key(_text(c)) == "budget_total" for c in cells)
        if plan_labels is not None and len(cells) > 1:
            take(cells, *range(len(cells)))
            percent = [_text(c) for c in cells[1:]]
            values["spending_plan"] = {m: parse_number(p.rstrip("%％").strip()) for m, p in zip(plan_labels, percent)
                                       if parse_number(p.rstrip("%％").strip()) is not None}
            plan_labels = None
            continue
        for index, key in enumerate(keys):
            known = field_key(_text(cells[index]))
            if known == "money_caption":  # 项目资金（万元） heading the amounts beside it
                take(cells, index)
            elif known is not None or key.startswith("资金支出计划") or key == "资金用途":
                take(cells, index, index + 1)
            if key.startswith("资金支出计划"):
                take(cells, *range(index, len(cells)))
            if known in ("project_code", "project_name") and _is_column_header(_after(cells, index)):
                return None, unit_line  # 项目编码 | 项目名称 | 合计 …: a list of projects (项目支出表), not a form
            if known in ("project_code", "project_name"):
                values[known] = _after(cells, index)
            elif known in ("budget_total", "fiscal", "other"):
                money(known, cells, index)
            elif known == "goals":
                text = _after(cells, index)
                below = _below(rows, row_number, cells[index]) if not text else None
                if below is not None:  # 总体目标 | 中期目标 | 年度目标 over a row of their texts
                    text = _text(below)
                    used.add(id(below._tc))
                values["goals"] = goals_of(text)
            elif known == "unit":  # 单位名称及代码 | [015001]某某局 (a name without code: below)
                named.append((cells, index))
            elif known == "unit_code" and re.fullmatch(r"[0-9]{3,12}", _after(cells, index)):
                code_cell = _after(cells, index)
            elif key.startswith("资金支出计划"):
                plan_labels = [_text(c) for c in cells[index + 1:]]
            elif key == "资金用途" and not after_budget:
                values["purpose"] = _after(cells, index)
        if len(cells) <= 3 and _DECLARED_UNIT.search(keys[-1]) and len(keys) > 1:  # 471001某某局 | 单位：元
            unit_line = _text(cells[0])
            take(cells, 0, len(cells) - 1)
        elif len(cells) == 1 and not values and _UNIT_LINE.match(_text(cells[0]) or "x"):
            unit_line = _text(cells[0])
            take(cells, 0)
    coded = [_unit_of(_after(cells, index)) for cells, index in named]
    if code_cell and not any(coded) and named and _after(*named[0]):  # the code and the name in cells of their own
        coded[0] = (code_cell, _after(*named[0]))
    unit_line = next((f"{unit[0]}{unit[1]}" for unit in coded if unit), unit_line)
    for (cells, index), unit in zip(named, coded):  # a unit named without code is placed when it is that unit
        if not unit and _unit_of(unit_line) and _after(cells, index) != _unit_of(unit_line)[1]:
            used.difference_update(id(cell._tc) for cell in cells[index:index + 2])
    if "project_code" not in values and "project_name" not in values:
        return None, unit_line
    for row_number, cells in enumerate(rows, start=1):  # a label the template has no field for, and its value
        left = list(dict.fromkeys(text for cell in cells if id(cell._tc) not in used for text in [_text(cell)]
                                  if text and not _is_caption(text)))
        used.update(id(cell._tc) for cell in cells)  # a label merged down over rows is listed once
        if left:
            result.unplaced.append(Unplaced(file, f"表{table_number} 第{row_number}行", _clip(" | ".join(left), 80),
                                            "block_cell"))
    return _Project(values, f"{file} 表{table_number}"), unit_line


def department_key(text: str | None) -> str | None:
    """The part of a 部门整体支出绩效目标表 a label names (``unit_name``, ``overall_goal``, ``budget``, …)."""
    return vocabulary()["department_fields"].get(canonical_label(text))


def _is_department_table(rows: list[list]) -> bool:
    """A 部门（单位）整体 table: a 年度总体目标 and a 部门名称 or 年度预算申请, and no project code or name."""
    keys = {department_key(_text(cell)) for cells in rows for cell in cells[:2]}
    fields = {field_key(_text(cell)) for cells in rows for cell in cells}
    return "overall_goal" in keys and bool(keys & {"unit_name", "budget"}) and not fields & {
        "project_code", "project_name"}


def _looks_like_target_table(rows: list[list]) -> bool:
    """A table that speaks of performance targets (绩效目标, 绩效指标, 指标值, 三级指标, 年度总体目标),
    though it was not read as one: it is reported rather than passed over."""
    for cells in rows:
        for cell in cells:
            text = _text(cell)
            if len(text) > 40 or _is_caption(text):
                continue
            if header_key(text) or field_key(text) == "goals" or \
                    department_key(text) in ("overall_goal", "indicators") or "绩效目标" in text or "绩效指标" in text:
                return True
    return False


def _is_caption(text: str) -> bool:
    """A table's title or caption row (部门整体支出绩效目标表, （2023年度）, 单位：万元): no data of its own."""
    bare = re.sub(r"\(?(?:20[0-9]{2}年度?)\)?", "", label_key(text))
    return bool(not bare or ("绩效目标" in bare and bare.endswith("表"))
                or (declared_unit(text) and len(bare) < 12))


def _read_department(rows: list[list], file: str, table_number: int, result: ImportResult) -> _Department:
    """What a 部门整体 table says before its indicator header: name and unit code, 总体目标 and 保障措施 for
    the unit's 单位整体 sheet; the budget, duties and any other labelled row are reported as not placed."""
    values: dict[str, str] = {}
    name = unit_line = None
    previous_label = None
    for row_number, cells in enumerate(rows, start=1):
        texts = [_text(cell) for cell in cells]
        if not any(texts):
            continue
        where = f"表{table_number} 第{row_number}行"
        distinct = set(filter(None, texts))
        if len(distinct) == 1 and _is_caption(next(iter(distinct))):
            continue
        label_index = next((i for i, text in enumerate(texts) if text), 0)
        label = texts[label_index]
        if previous_label is not None and cells[0]._tc is previous_label:
            key = department_key(_text(cells[0]))  # a row under a label merged down (年度预算申请 | 其中：…)
            label_index = 0
        else:
            key = department_key(label)
        previous_label = cells[label_index]._tc
        rest = [text for text in texts[label_index + 1:] if text]
        value = "\n".join(rest)
        if key == "unit_name" or field_key(label) == "unit":
            name = name or value
            unit_line = value if _unit_of(value) else unit_line
        elif key in ("overall_goal", "measures") and value:
            values[key] = f"{values[key]}\n{value}" if key in values else value
        elif rest or key is None:
            shown = " | ".join(texts[label_index:]) if key is None else f"{label}：{' | '.join(rest)}"
            result.unplaced.append(Unplaced(file, where, _clip(shown, 80), "department_field"))
    department = _Department(f"{file} 表{table_number}", name, values, file=file)
    department.unit = _unit_of(unit_line)
    if department.unit:
        department.name = department.unit[1]
    return department


def _report_department_indicators(department: _Department, result: ImportResult) -> None:
    for indicator, (table, row) in zip(department.indicators, department.rows):
        text = "/".join(indicator.get(key, "") for key in ("level1", "level2", "name"))
        target = indicator.get("target", "")
        result.unplaced.append(Unplaced(department.file, f"表{table} 第{row}行", f"{text}：{target}" if target else text,
                                        "department_indicator"))


def _indicator_columns(header_cells: list, file: str, table_number: int, result: ImportResult | None,
                       body: list[list] = ()) -> dict[str, int]:
    """Which column holds which part of an indicator, from a header row; missing columns are reported
    (unless ``result`` is None), and so are columns the template has no place for whose ``body`` cells
    hold text."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header_cells):
        key = header_key(_text(cell))
        if key is not None and key not in columns:
            columns[key] = index
    if "target" not in columns and "target_operator" in columns:  # 指标性质 | 值 | 度量单位, the value unnamed
        columns["target"] = columns["target_operator"] + 1
    if result is None:
        return columns
    for missing in [label for label, key in HEADER_LABELS.items() if key not in columns]:
        result.unplaced.append(Unplaced(file, f"表{table_number}", missing, "missing_column"))
    mapped = set(columns.values())
    filled = {index for cells in body if not _is_header(cells) for index, text in enumerate(_grid_texts(cells)) if text}
    for index, text in enumerate(_grid_texts(header_cells)):  # a column the template has no place for (分值, 备注)
        if text and index not in mapped and index in filled and not label_key(text).endswith("绩效指标"):
            result.unplaced.append(Unplaced(file, f"表{table_number}", text, "extra_column"))  # not 年度绩效指标
    return columns


# 指标性质 written in words some tables use for the direction of a target rather than a comparison
_DIRECTIONS = {"正向": "≥", "正向指标": "≥", "反向": "≤", "反向指标": "≤", "定性": "", "定性指标": "", "定量": "",
               "定量指标": ""}


def joined_target(indicator: dict) -> dict:
    """指标性质 | 指标值 | 度量单位 in three columns (≥ | 95 | %) joined into one target (≥95%), as the template
    holds it; a target that already says its comparison or unit keeps them once."""
    operator = indicator.pop("target_operator", "")
    unit = indicator.pop("target_unit", "")
    value = indicator.get("target", "")
    if not (operator or unit) or not value:
        return indicator
    symbol = operator_symbol(operator)
    symbol = _DIRECTIONS.get(label_key(operator), operator) if symbol is None else symbol
    if symbol and not value.startswith(symbol) and operator_symbol(value[:1]) is None:
        value = symbol + value
    if unit and not value.endswith(unit) and re.search(r"[0-9]$", value):
        value += unit
    indicator["target"] = value
    return indicator


def _is_header(cells: list) -> bool:
    return {"level1", "target"} <= {header_key(_text(c)) for c in cells}


# the label of a section of indicators for more than the year: 长期绩效指标, 中期绩效指标, 总目标绩效指标
_LONG_TERM = re.compile(r"(长期|中期|总目标|总体目标|实施期)[^年]*指标")


def _read_indicators(rows: list[list], columns: dict[str, int], width: int, project: _Project, file: str,
                     table_number: int, result: ImportResult, first_number: int = 1,
                     previous_level1: str | None = None) -> str | None:
    """The indicator rows of a table (``rows`` after its header, or a continuation after a page break);
    returns the last 一级 seen, which carries over into a continuation."""
    previous_level2 = None
    mapped = set(columns.values())
    for row_number, cells in enumerate(rows, start=first_number):
        texts = _grid_texts(cells)
        if not any(texts) or _is_header(cells):  # a header repeated inside the table is not an indicator
            continue
        if any(_LONG_TERM.search(text) for index, text in enumerate(texts) if index not in mapped):
            result.unplaced.append(Unplaced(file, f"表{table_number} 第{row_number}行", _clip(" | ".join(
                texts[index] for index in sorted(mapped) if index < len(texts) and texts[index]), 80), "long_term"))
            continue  # 长期绩效指标 beside 年度绩效指标 (a table of both): the template holds the year's
        indicator = joined_target(
            {key: texts[index] for key, index in columns.items() if index < len(texts) and texts[index]})
        one_cell = len({id(cells[index]._tc) for index in mapped if index < len(cells)}) == 1 < len(mapped)
        if not indicator or one_cell:  # a note under the table (其他说明的问题 | 无), one cell across the columns
            result.unplaced.append(Unplaced(file, f"表{table_number} 第{row_number}行", _clip(" | ".join(
                filter(None, texts)), 80), "row_shape"))
            continue
        for key in ("level1", "level2"):
            if key in indicator:
                indicator[key] = category_label(indicator[key])
        if "level1" not in indicator and previous_level1 and len(texts) >= width:
            indicator["level1"] = previous_level1  # 一级 cells left blank under a merged-looking first cell
        if indicator.get("level1") != previous_level1:
            previous_level2 = None
        previous_level1 = indicator.get("level1", previous_level1)
        if indicator and set(indicator) <= {"level1", "level2"}:  # a row that only heads a group of indicators
            previous_level2 = indicator.get("level2", previous_level2)
            continue
        if "level2" not in indicator and previous_level2:
            indicator["level2"] = previous_level2  # under a 二级 written once in a row of its own
        if len(texts) != width and "level1" not in indicator:
            result.unplaced.append(Unplaced(file, f"表{table_number} 第{row_number}行", " | ".join(filter(None, texts)),
                                            "row_shape"))
            continue
        project.indicators.append(indicator)
        project.rows.append((table_number, row_number))
    return previous_level1


def _continues_indicators(rows: list[list], width: int, framework_names: set[str]) -> bool:
    """A table without header or project block whose rows look like indicator rows of the previous table
    (same number of columns, a 一级 or 二级 the framework knows, or a blank 一级): the rest after a page break."""
    shaped = [cells for cells in rows if any(_text(c) for c in cells)]
    return bool(shaped) and all(len(cells) == width for cells in shaped) and any(
        category_label(_text(cells[0])) in framework_names or category_label(_text(cells[1])) in framework_names
        for cells in shaped if len(cells) > 1)


def _part_one(document) -> dict[str, dict[str | None, str]]:
    """总体绩效目标 and 工作保障措施 from part 1, when the document has them: per key, the text under each
    unit's heading (``（一）单位名称``, as a report of several units has them), or under ``None``."""
    found: dict[str, dict[str | None, list[str]]] = {}
    current = unit = None
    for paragraph in document.paragraphs:
        text = clean_text(paragraph.text) or ""
        bare = re.sub(r"^[一二三四五六七八九十]+、", "", label_key(text))
        if bare in _PART_HEADINGS:
            current, unit = _PART_HEADINGS[bare], None
            found[current] = {}
            continue
        if current and (re.match(r"^[一二三四五六七八九十]+、", text) or text.startswith("第二部分")
                        or paragraph.style.name.lower().startswith("heading 1")):
            current = None
        if current and paragraph.style.name.lower().startswith("heading 3"):
            heading = re.match(r"^（[一二三四五六七八九十百]+）(.+)$", text)
            if heading:
                unit = heading.group(1).strip()
                found[current].setdefault(unit, [])
                continue
        if current and text:
            found[current].setdefault(unit, []).append(text)
    return {key: {unit: "\n".join(lines) for unit, lines in by_unit.items() if lines}
            for key, by_unit in found.items()}


def _category_names(framework: Framework) -> frozenset[str]:
    names = set(framework.categories)
    for level2_names in framework.categories.values():
        names.update(level2_names)
    for mapping in framework.level2_from.values():
        names.update(part for key in mapping for part in key.split("/"))
    return frozenset(names)


def _in_framework(indicator: dict, framework: Framework) -> dict:
    """An indicator under the chosen framework's categories: published tables use the older tree (cn-2020),
    mapped through the framework's ``level2_from`` as ``--prefill`` does; kept as it is otherwise (validate
    then says what does not fit)."""

    for source in [None, *framework.level2_from]:
        mapped = map_indicator(indicator, framework, source)
        if mapped is not None:
            return mapped
    return indicator


def _give_unit_texts(unit_values: dict, units: dict[str, dict], first: dict) -> None:
    """Part 1's texts to their units: a text under a unit's name to that unit, the rest (a single unit's
    report, or a heading naming no unit found) to the document's first unit."""
    by_name = {unit["name"]: unit for unit in units.values()}
    for key in ("overall_goal", "measures"):
        for name, text in (unit_values.get(key) or {}).items():
            target = by_name.get(name, first)
            if name is not None and name not in by_name:
                text = f"{name}\n{text}"
            previous = target["values"].get(key)
            target["values"][key] = f"{previous}\n{text}" if previous else text


def _new_unit(name: str | None, path: str | Path, year: int | None) -> dict:
    """A unit's workbook to be: its name, projects and 单位整体 values, the year and the document it came from."""
    return {"name": name, "projects": [], "values": {}, "year": year, "file": str(path)}


def _department_unit(department: _Department, units: dict[str, dict], document_units: list[dict],
                     unit_code: str | None, unit_name: str | None, new: dict) -> dict | None:
    """The unit a 部门整体 table belongs to: the one its code names (or --unit-code), else the document's unit
    of that name (a 部门 is also its 本级 office: 某某局 → 某某局本级), else, the table naming none, the
    document's only unit."""
    code, name = department.unit or (None, department.name)
    code, name = unit_code or code, unit_name or name
    if code:
        return units.setdefault(code, {**new, "name": name or code})
    candidates = list({id(unit): unit for unit in document_units}.values())
    for matches in (lambda unit: unit["name"] == name, lambda unit: unit["name"] == f"{name}本级",
                    lambda unit: bool(name) and unit["name"].startswith(name)):
        found = [unit for unit in candidates if matches(unit)]
        if found:
            return found[0]
    return candidates[0] if len(candidates) == 1 and not name else None


def read_docx(path: str | Path, result: ImportResult, categories: frozenset[str] = frozenset()
              ) -> tuple[dict, list[_Project], list[_Department], int | None]:
    """(unit values, projects, 部门整体 tables, year) found in one document; ``categories``: the 一级/二级 names a table
    continued after a page break is recognised by."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    file = str(path)
    try:
        document = docx.Document(_old_word_converted(path, result) or str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError, zipfile.BadZipFile, XMLSyntaxError) as exc:
        name = type(exc).__name__
        raise DocxError(path, f"不是可读取的 .docx 文件（{name}）", f"not a readable .docx ({name})") from None
    year = _document_year(document)
    unit_values = _part_one(document)
    projects: list[_Project] = []
    departments: list[_Department] = []
    current_unit: tuple[str, str] | None = None
    owner = None  # the project or 部门整体 table that indicator rows without a project block belong to
    last_table = None  # (columns, width, last 一级) of the last indicator table, for a continuation
    for table_number, block in enumerate(_tables_with_units(document), start=1):
        table, paragraph_unit, money_unit = block
        current_unit = _unit_of(paragraph_unit) or current_unit
        rows, grid = _rows(table), _grid_rows(table)
        header_row = next((i for i, cells in enumerate(grid) if _is_header(cells)), None)
        if header_row is None and last_table and owner and _continues_indicators(grid, last_table[1], categories):
            last = _read_indicators(grid, last_table[0], last_table[1], owner, file, table_number, result,
                                    previous_level1=last_table[2])
            last_table = (last_table[0], last_table[1], last)
            continue
        block_rows = rows if header_row is None else rows[:header_row]
        if _is_department_table(block_rows):
            owner = _read_department(block_rows, file, table_number, result)
            owner.unit = owner.unit or (current_unit if owner.name in (None, (current_unit or ("", ""))[1]) else None)
            current_unit = owner.unit or current_unit
            departments.append(owner)
            project = None
        else:
            project, line = _read_project_block(block_rows, file, table_number, result, money_unit)
            current_unit = _unit_of(line) or current_unit
            after_indicators = bool(last_table) and all(len(cells) == last_table[1] for cells in grid)
            if project is None and header_row is None and (after_indicators or _looks_like_target_table(rows)):
                shown = " | ".join(dict.fromkeys(text for cells in rows for text in map(_text, cells) if text))
                result.unplaced.append(Unplaced(file, f"表{table_number}", _clip(shown, 60), "unrecognised_table"))
        if project is not None:
            project.unit = current_unit
            projects.append(project)
            owner, last_table = project, None
        if header_row is not None:
            if owner is None:
                result.unplaced.append(Unplaced(file, f"表{table_number}", "一级指标", "no_project"))
                continue
            columns = _indicator_columns(grid[header_row], file, table_number,
                                         None if isinstance(owner, _Department) else result, grid[header_row + 1:])
            width = len(grid[header_row])
            carried = last_table[2] if project is None and last_table else None  # the header repeated after a break
            last = _read_indicators(grid[header_row + 1:], columns, width, owner, file, table_number, result,
                                    first_number=header_row + 2, previous_level1=carried)
            last_table = (columns, width, last)
    for paragraph in document.paragraphs:  # a table turned into text by a conversion: say so, never skip it
        key = label_key(paragraph.text)
        if "项目编码" in key and any(header in key for header in ("一级指标", "绩效目标", "预算数")):
            result.unplaced.append(Unplaced(file, "", _clip(paragraph.text), "table_as_text"))
    for department in departments:
        _report_department_indicators(department, result)
    return unit_values, projects, departments, year


def _document_year(document) -> int | None:
    """The budget year a document states: in a title paragraph (2022年部门预算绩效文本), else in a table's title
    or year row (（2023年度）, a web page's form)."""
    for paragraph in document.paragraphs[:40]:
        match = _YEAR.search(paragraph.text)
        if match:
            return int(match.group(1))
    for block in _tables_with_units(document):
        for row in block[0].rows:
            for cell in row.cells:
                text = _text(cell)
                match = _YEAR.search(text) if len(text) < 40 and ("年度" in text or "绩效" in text) else None
                if match:
                    return int(match.group(1))
    return None


def _clip(text: str, length: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[:length] + "…"


_UNIT_NAME_FIRST = re.compile(r"^(\S.*?)\s*[\[【(（]([0-9]{3,12})[\]】)）]$")


def _old_word_converted(path: str | Path, result: ImportResult):
    """An old Word document (.doc, whatever its name ends with) as .docx bytes converted by LibreOffice;
    None for any other file. Without LibreOffice it is refused with how to save it as .docx."""
    import io

    from ..core import office
    from ..intake.safety import OLE2_MAGIC

    try:
        with open(path, "rb") as handle:
            if handle.read(len(OLE2_MAGIC)) != OLE2_MAGIC:
                return None
    except OSError:
        return None  # python-docx says what is wrong with it
    try:
        data = office.convert_doc_to_docx(path)
    except office.OfficeError as error:
        if error.kind == "missing":
            raise DocxError(path, "是旧版 Word 文档（.doc）：请在 Word 或 WPS 中“另存为” .docx 后导入（装有 LibreOffice 时"
                                  "会自动转换）",
                            "an old Word document (.doc): save it as .docx in Word or WPS and import that (with "
                            "LibreOffice installed it is converted by itself)") from None
        raise DocxError(path, f"是旧版 Word 文档（.doc），LibreOffice 未能转换（{error.kind}）：请在 Word 或 WPS 中另存为 "
                              ".docx 后导入",
                        f"an old Word document (.doc) that LibreOffice could not convert ({error.kind}): save it as "
                        ".docx in Word or WPS and import that") from None
    result.from_doc.append(str(path))
    return io.BytesIO(data)


def _unit_of(line: str | None) -> tuple[str, str] | None:
    """(code, name) from a unit line: 015001某某局, [015001]某某局, 820001-某某局, or 某某局（015001）."""
    match = _UNIT_LINE.match(line or "")
    if match:
        return match.group(1), match.group(2).strip()
    match = _UNIT_NAME_FIRST.match((line or "").strip())
    return (match.group(2), match.group(1).strip()) if match else None


def _unit_label_removed(text: str) -> str:
    """A paragraph naming the unit of the tables after it, without its label: ``单位名称及代码：[015002]某某中学``."""
    label, colon, rest = text.replace("：", ":").partition(":")
    return rest.strip() if colon and field_key(label) == "unit" else text


def _laid_out(table):
    """A table, or the tables inside it when it is a 1x1 layout table (a web page saved as Word)."""
    rows = table.rows
    if len(rows) == 1 and len(rows[0].cells) == 1 and rows[0].cells[0].tables:
        for inner in rows[0].cells[0].tables:
            yield from _laid_out(inner)
    else:
        yield table


def _tables_with_units(document):
    """Each table in body order, with the last 单位：万元 line seen in a paragraph before it and the money unit
    the last paragraph stating one declared (金额单位：元 holds for the tables after it)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    unit_line = money_unit = None
    for child in document.element.body.iterchildren():
        if child.tag.endswith("}p"):
            text = clean_text(Paragraph(child, document).text) or ""
            if _DECLARED_UNIT.search(label_key(text)) and _unit_of(_DECLARED_UNIT.sub("", text).strip()):
                unit_line = _DECLARED_UNIT.sub("", text).strip()  # 471001某某局    单位：元
            elif len(text) < 60 and _unit_of(_unit_label_removed(text)):
                unit_line = _unit_label_removed(text)  # 单位名称及代码：[015002]某某中学 above the table
            money_unit = declared_unit(text) if len(text) < 60 and declared_unit(text) else money_unit
        elif child.tag.endswith("}tbl"):
            for table in _laid_out(Table(child, document)):
                yield table, unit_line, money_unit
                unit_line = None


def import_documents(paths: list[str | Path], outdir: str | Path, *, year: int | None = None,
                     framework: str | Framework = "cn-2020", unit_code: str | None = None,
                     unit_name: str | None = None, spec: Spec | None = None) -> ImportResult:
    """Write one filled workbook per unit found in the documents; report what could not be placed."""
    framework = framework if isinstance(framework, Framework) else load_framework(framework)
    spec = spec or load_spec()
    check_spec_fits(spec, framework)
    rows_available = spec.data["project_sheet"]["indicators"]["rows"]
    result = ImportResult()
    units: dict[str, dict] = {}
    default_year = datetime.date.today().year + 1  # as template and prefill take it, when a document states none
    for path in paths:
        try:
            unit_values, projects, departments, found_year = read_docx(path, result, _category_names(framework))
        except DocxError as error:  # one unreadable document never stops the others
            result.unreadable.append(error)
            continue
        if not projects and not departments:  # nothing like a 绩效目标表: say so rather than write nothing
            result.unplaced.append(Unplaced(str(path), "", "", "no_table"))
        document_units: list[dict] = []
        for project in projects:
            code, name = project.unit or (None, None)
            code, name = unit_code or code, unit_name or name
            if not code or not name:
                result.unplaced.append(Unplaced(project.where, "", "单位编码/单位名称", "no_unit"))
                code, name = code or "000000", name or Path(path).stem
            unit = units.setdefault(code, _new_unit(name, path, year or found_year))
            unit["projects"].append(project)
            document_units.append(unit)
        for department in departments:
            unit = _department_unit(department, units, document_units, unit_code, unit_name,
                                    _new_unit(department.name, path, year or found_year))
            if unit is None:
                result.unplaced.append(Unplaced(department.where, "", "单位编码/单位名称", "no_unit"))
                unit = units.setdefault("000000", _new_unit(department.name or Path(path).stem, path, year or found_year))
            document_units.append(unit)
            for key, text in department.values.items():
                previous = unit["values"].get(key)
                if not previous or text not in previous:
                    unit["values"][key] = f"{previous}\n{text}" if previous else text
        if document_units:
            _give_unit_texts(unit_values, units, document_units[0])
    for code, unit in units.items():
        names = sheet_names_for([p.values.get("project_name") or "" for p in unit["projects"]], set(spec.sheets.values()))
        sheets = []
        for name, project in zip(names, unit["projects"]):
            indicators = [_in_framework(indicator, framework) for indicator in project.indicators]
            if len(indicators) > rows_available:
                for extra in indicators[rows_available:]:
                    result.unplaced.append(Unplaced(project.where, name, extra.get("name", ""), "no_room"))
                indicators = indicators[:rows_available]
            values = {**project.values, "indicators": indicators}
            sheets.append(SheetPlan(name=name, project=values,
                                    locked=frozenset(k for k in LOCKED_FROM_DOCUMENT if values.get(k) is not None)))
            result.projects += 1
            result.indicators += len(indicators)
        if not unit["year"]:  # said, never guessed in silence
            result.unplaced.append(Unplaced(unit["file"], "", str(default_year), "no_year"))
        plan = WorkbookPlan(year=unit["year"] or default_year, unit_code=code, unit_name=unit["name"], sheets=sheets,
                            unit_values=unit["values"])
        target = Path(outdir) / workbook_file_name(plan)
        atomic_write_bytes(target, build_workbook(plan, framework, spec))
        result.files.append(target)
    return result
