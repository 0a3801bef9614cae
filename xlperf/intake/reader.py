"""Returned workbook → canonical document. The one place that opens returned workbooks.

Values come from python-calamine (fast, reads .xlsx/.xlsm/.xls/.ods). Fields are found through the
template's hidden metadata (``_meta``), and the label at every place is checked first: a sheet whose
structure was changed is reported, never misread. openpyxl is used only when a text field holds a
number, to show it as the cell displayed it (``95%`` typed into a non-text cell is 0.95 underneath).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from zipfile import ZipFile

from ..core.errors import UnreadableError  # noqa: F401 (raised here)
from ..core.cells import split_cell
from ..core.findings import Finding, Location, cell_location
from ..core.model import (META_MARKER, PARTIAL_SUMMARY_MARKER, SUMMARY_MARKER, ReturnDocument, pointer,
                          read_summary_documents)
from ..core.resources import templates_root
from ..framework.spec import load_spec
from ..framework.targets import clean_text, format_number, parse_number
from .safety import Limits, Reading, Refused, check_path, claims_summary, opened_zip, preflight, stored_package

READABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_PACKAGED_SUFFIXES = (".xlsx", ".xlsm")  # read as Office Open XML by name: a package of them is read so too
DOCUMENTS_PARQUET = "documents.parquet"  # the documents of a `merge --parquet` dataset: an input like a summary
INDICATOR_KEYS = ("level1", "level2", "name", "description", "target", "basis")
_GOAL_NUMBER = re.compile(r"^\s*(?:[（(]?\s*(?:\d+|[一二三四五六七八九十]+)\s*[)）.、．:：]|[•·\-–])\s*")


def unreadable(path: str, code: str, **params) -> UnreadableError:
    return UnreadableError(Finding(code, Location(path), params=params))


class _Grid:
    """A sheet's values addressable by A1 cell names."""

    def __init__(self, rows: list[list[object]]):
        self.rows = rows  # from A1: calamine is asked not to skip the empty area

    def get(self, cell: str) -> object:
        row, column = split_cell(cell)
        return self.at(row - 1, column - 1)

    def at(self, r: int, c: int) -> object:
        """The value at 0-based row ``r`` and column ``c``; ``None`` for an empty or absent cell."""
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            value = self.rows[r][c]
            return None if value == "" else value
        return None

    def row_values(self, r: int, columns: tuple[int, ...]) -> list[object]:
        """``at(r, c)`` for each of ``columns`` (0-based, none negative)."""
        values = self.rows[r] if 0 <= r < len(self.rows) else ()
        width = len(values)
        return [None if c >= width or values[c] == "" else values[c] for c in columns]

    def last_row(self) -> int:
        return len(self.rows)


def _open(path: Path, package: bytes | None = None):
    """The workbook, from ``package`` when there is one: the bytes the preflight checked (``stored_package``)."""
    from python_calamine import CalamineWorkbook

    try:
        if package is None:
            return CalamineWorkbook.from_path(str(path))
        try:
            return CalamineWorkbook.from_filelike(io.BytesIO(package))
        except Exception:  # noqa: BLE001 - from bytes calamine guesses the format and says only that it could
            return _from_named_copy(package)  # not tell: read as an .xlsx file, the same bytes say what is wrong
    except Exception as exc:  # calamine's errors carry no stable types; all mean "not a workbook we can read"
        raise unreadable(str(path), "READ_NOT_WORKBOOK", reason=str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__) from None


def _from_named_copy(package: bytes):
    from python_calamine import CalamineWorkbook

    with tempfile.NamedTemporaryFile(prefix="xlperf-", suffix=".xlsx") as copy:
        copy.write(package)
        copy.flush()
        return CalamineWorkbook.from_path(copy.name)


class _Damaged(Exception):
    """calamine could open the file but not read a sheet of it."""


def _rows(workbook, name: str, **options) -> list[list[object]]:
    """A sheet's values; calamine's errors (an unclosed cell, a shared string out of range, bad UTF-8,
    a missing part) all mean the file is damaged, and are wrapped here, once."""
    from python_calamine import CalamineError

    try:
        return workbook.get_sheet_by_name(name).to_python(**options)
    except (CalamineError, ValueError, UnicodeError, KeyError, IndexError, OverflowError) as exc:
        raise _Damaged(str(exc)[:160]) from None


def _grid(workbook, name: str) -> _Grid:
    return _Grid(_rows(workbook, name, skip_empty_area=False))


def read_meta(workbook, path: str) -> dict:
    """The template metadata, or an UnreadableError saying this is not an xlperf template."""
    names = workbook.sheet_names
    if "_meta" not in names:
        raise unreadable(path, "READ_NOT_TEMPLATE")
    rows = _rows(workbook, "_meta")
    if not rows or not rows[0] or rows[0][0] != META_MARKER:
        raise unreadable(path, "READ_NOT_TEMPLATE")
    meta: dict = {"projects": []}
    try:
        for row in rows[1:]:
            if len(row) < 2 or not row[0]:
                continue
            value = json.loads(row[1])
            if row[0] == "project":
                meta["projects"].append(value)
            else:
                meta[row[0]] = value
    except (ValueError, KeyError, TypeError, RecursionError):
        raise unreadable(path, "READ_META_BROKEN") from None
    if not _meta_validator().is_valid(meta):  # every key and type the reader trusts, before it is used
        raise unreadable(path, "READ_META_BROKEN")
    return meta


@lru_cache(maxsize=1)
def _meta_validator():
    import jsonschema_rs

    with open(templates_root() / "meta.schema.json", encoding="utf-8") as handle:
        return jsonschema_rs.validator_for(json.load(handle))


# Labels, categories and much of what units type recur on every sheet and in every return; only short
# texts are remembered, so what a process holds stays small whatever the returns hold.
_cached_clean_text = lru_cache(maxsize=4096)(clean_text)
_CACHED_TEXT_LENGTH = 200


def _text_of(value: object) -> str | None:
    """A cell value as the text the unit sees (numbers shown in general format)."""
    if type(value) is str:  # most cells
        return _cached_clean_text(value) if len(value) <= _CACHED_TEXT_LENGTH else clean_text(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return format_number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return clean_text(str(value))


def _money_value(value: object) -> object:
    """A number when the cell holds one (or text that is one); otherwise the cleaned text, for the schema to flag."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return _text_of(value)
    text = clean_text(str(value))
    if text is None:
        return None
    number = parse_number(text)
    return number if number is not None else text


def _percent_value(value: object) -> object:
    """Spending-plan cells hold fractions (30% is 0.3); the document holds percent numbers (30)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value) * 100, 6) if math.isfinite(value) else repr(value)
    text = _text_of(value)
    if text is None:
        return None
    number = parse_number(text.rstrip("%").strip())
    return number if number is not None else text


def split_goals(text: str | None) -> list[str]:
    """``1.xxx\\n2.yyy`` → ['xxx', 'yyy']: one goal per line, numbering removed."""
    if not text:
        return []
    goals = []
    for line in text.split("\n"):
        goal = _GOAL_NUMBER.sub("", line, count=1).strip()
        if goal:
            goals.append(goal)
    return goals


def _displayed(path: Path, sheet: str, cells: list[str]) -> dict[str, str]:
    """How Excel showed numbers that sit in text fields, using the cells' number formats (xlsx only)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not cells:
        return {}
    import openpyxl

    shown: dict[str, str] = {}
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        worksheet = workbook[sheet]
        for cell in cells:
            row, column = split_cell(cell)
            target = worksheet.cell(row=row, column=column)
            value, number_format = target.value, (target.number_format or "General")
            if isinstance(value, (int, float)) and "%" in number_format:
                decimals = len(number_format.split(".")[1].split("%")[0]) if "." in number_format else 0
                shown[cell] = f"{value * 100:.{decimals}f}%"
    finally:
        workbook.close()
    return shown


class _SheetReader:
    """Reads one sheet's fields into the document, recording sources and raw values."""

    def __init__(self, result: ReturnDocument, grid: _Grid, sheet: str):
        self.result, self.grid, self.sheet = result, grid, sheet
        self.numbers_in_text: list[tuple[str, str]] = []  # (json pointer, cell)

    def locate(self, json_path: str, cell: str) -> None:
        self.result.sources[json_path] = cell_location(self.result.path, self.sheet, cell)

    def text(self, target: dict, key: str, json_path: str, cell: str) -> None:
        self.texts(target, (key,), (json_path,), (cell,), (self.grid.get(cell),))

    def texts(self, target: dict, keys: tuple[str, ...], json_paths: tuple[str, ...], cells: tuple[str, ...],
              values: list[object]) -> None:
        """``text`` for several fields whose values were already taken from their cells (a table row)."""
        path, sheet, sources, raw = self.result.path, self.sheet, self.result.sources, self.result.raw
        for key, json_path, cell, value in zip(keys, json_paths, cells, values):
            sources[json_path] = cell_location(path, sheet, cell)
            if value is None:
                continue
            raw[json_path] = value
            text = _text_of(value)
            if text is not None:
                target[key] = text
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.numbers_in_text.append((json_path, cell))

    def converted(self, target: dict, key: str, json_path: str, cell: str, convert) -> None:
        self.locate(json_path, cell)
        value = self.grid.get(cell)
        if value is None:
            return
        self.result.raw[json_path] = value
        converted = convert(value)
        if converted is not None:
            target[key] = converted

    def check_labels(self, labels: dict[str, str]) -> bool:
        ok = True
        for cell, expected, row, column, clean in _label_places(tuple(labels.items())):
            value = self.grid.at(row, column)
            if clean and value == expected:  # as typed in the template: what it shows is the label
                continue
            seen = _text_of(value)
            if seen != expected:
                self.result.findings.append(Finding("READ_LABEL_MOVED", Location(self.result.path, self.sheet, cell),
                                                    value=seen, params={"expected": expected}))
                ok = False
        return ok


@lru_cache(maxsize=16)
def _label_places(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, int, int, bool], ...]:
    """Each label's cell, text, 0-based row and column, and whether the text is as cleaning leaves it (then a cell
    holding exactly that text shows it), worked out once per layout."""
    return tuple((cell, expected, *(number - 1 for number in split_cell(cell)), clean_text(expected) == expected)
                 for cell, expected in labels)


def _preflight(path: Path, limits: Limits | None, summary: bool = False,
               archive: ZipFile | None = None, reading: Reading | None = None) -> list[Finding]:
    """The safety checks every input passes before a parser sees it (see safety.py); ``summary``: against a
    summary's limits; ``archive``: the input already opened as a zip (``opened_zip``), its parts counted (and
    kept) in ``reading``."""
    limits = limits or _spec_limits()
    try:
        check_path(path, limits, summary)  # a folder or a link is said as such, whatever its name
        if path.suffix.lower() not in READABLE_SUFFIXES:
            raise Refused("READ_UNSUPPORTED_TYPE", suffix=path.suffix or "（无）")
        return preflight(path, limits, summary, archive, reading)
    except Refused as refusal:
        raise UnreadableError(refusal.finding(path)) from None


def _preflight_as_claimed(path: Path, limits: Limits | None) -> tuple[bool, list[Finding], bytes | None]:
    """Whether the input says it is a summary, and its preflight against the limits that makes it its own (a
    summary's or a return's), the zip opened once for both; the file is opened only once the path checks (a
    link out of its folder, a folder) have passed. Last, for a return in the Office format, the package as
    checked for the parser to read (``stored_package``; None: it reads the file)."""
    try:
        check_path(path, limits or _spec_limits(), summary=True)
    except Refused as refusal:
        raise UnreadableError(refusal.finding(path)) from None
    if path.suffix.lower() not in READABLE_SUFFIXES:
        return False, _preflight(path, limits), None
    with opened_zip(path) as archive:
        claimed = claims_summary(path, archive) if archive is not None else False
        # calamine reads an .xlsx or .xlsm file as Office Open XML; bytes it would read as whatever they look like
        kept = archive is not None and not claimed and path.suffix.lower() in _PACKAGED_SUFFIXES
        reading = Reading(keep=kept)
        warnings = _preflight(path, limits, claimed, archive, reading)
        return claimed, warnings, stored_package(archive, reading) if kept else None



@lru_cache(maxsize=1)
def _spec_limits() -> Limits:
    """The template spec's limits, looked up once per process rather than once per file."""
    return load_spec().limits


def read_return(path: str | Path, limits: Limits | None = None,
                part: tuple[int, int] | None = None) -> ReturnDocument:
    """Read one returned workbook. Raises ``UnreadableError`` when it cannot be read as a return at all.
    ``part``: as ``read_workbook``'s."""
    documents = read_workbook(path, limits, part)
    if not documents or any(doc.meta.get("origin_file") for doc in documents):  # only a summary gives none
        raise unreadable(str(path), "READ_IS_SUMMARY")
    if len(documents) != 1:
        raise unreadable(str(path), "READ_NOT_TEMPLATE")
    return documents[0]


def _read(workbook, path: Path, meta: dict) -> ReturnDocument:
    shown_path = str(path)
    info = meta["workbook"]
    sheets = info["sheets"]
    document: dict = {"year": info.get("year"), "framework": info.get("framework"), "unit": {}, "projects": []}
    result = ReturnDocument(shown_path, document, {}, {}, meta)
    expected = [sheets["instructions"], sheets["unit"], *(p["sheet"] for p in meta["projects"]),
                sheets["lists"], sheets["meta"]]
    present = list(workbook.sheet_names)
    optional = {sheets.get("findings")}
    missing = [name for name in expected if name not in present]
    added = [name for name in present if name not in expected and name not in optional]
    renamed = _pair_renamed(workbook, meta, expected, [n for n in present if n not in optional], missing, added)
    for name in missing:
        if name in renamed:
            result.findings.append(Finding("READ_SHEET_RENAMED", Location(shown_path, renamed[name]),
                                           value=renamed[name], params={"expected": name}))
        else:
            result.findings.append(Finding("READ_SHEET_MISSING", Location(shown_path, name), value=name))
    for name in added:
        if name not in renamed.values():
            result.findings.append(Finding("READ_SHEET_ADDED", Location(shown_path, name), value=name))

    def actual(name: str) -> str | None:
        """Where the template's sheet ``name`` is in this workbook: read a renamed sheet all the
        same, so one rename is one finding rather than a cascade of blank fields."""
        return name if name in present else renamed.get(name)

    unit_layout = meta["layout.unit"]
    unit_sheet = actual(sheets["unit"])
    if unit_sheet:
        reader = _SheetReader(result, _grid(workbook, unit_sheet), unit_sheet)
        if reader.check_labels(unit_layout["labels"]):
            fields = unit_layout["fields"]
            reader.text(document["unit"], "code", "/unit/code", fields["unit_code"])
            reader.text(document["unit"], "name", "/unit/name", fields["unit_name"])
            reader.text(document, "overall_goal", "/overall_goal", fields["overall_goal"])
            reader.text(document, "measures", "/measures", fields["measures"])
            _fix_displayed(path, reader)
            for key, field in (("code", "unit_code"), ("name", "unit_name")):
                if document["unit"].get(key) != info.get(field):
                    result.findings.append(Finding("READ_UNIT_CHANGED", result.location(f"/unit/{key}"),
                                                   field=field, value=document["unit"].get(key),
                                                   params={"expected": info.get(field)}))
    if not document["unit"]:
        document["unit"] = {"code": info.get("unit_code"), "name": info.get("unit_name")}

    layout = meta["layout.project"]
    sent = result.meta["sent_projects"] = []
    for project_meta in meta["projects"]:
        sheet = actual(project_meta["sheet"])
        if not sheet:
            continue
        reader = _SheetReader(result, _grid(workbook, sheet), sheet)
        if not reader.check_labels(layout["labels"]):
            continue  # values of a moved layout would be misread
        index = len(document["projects"])
        project: dict = {}
        document["projects"].append(project)
        # the project as it was sent out: a changed prefilled code is one finding, not also a
        # project "not returned" plus one "never sent out" when returns are compared with the manifest
        sent.append([project_meta.get("project_code"), project_meta.get("project_name")])
        reader.locate(pointer("projects", index), "A1")
        _read_project(reader, project, index, layout)
        _fix_displayed(path, reader)
        for key, expected in (project_meta.get("prefilled") or {}).items():
            if project.get(key) != expected and not _same_money(project.get(key), expected):
                result.findings.append(Finding("READ_PREFILLED_CHANGED", result.location(pointer("projects", index, key)),
                                               field=key, value=project.get(key), params={"expected": expected}))
    return result


def _pair_renamed(workbook, meta: dict, expected: list[str], present: list[str], missing: list[str],
                  added: list[str]) -> dict[str, str]:
    """Pair each missing sheet with the extra sheet it was renamed to: a project sheet by the project
    code it holds, the unit sheet by its labels, any other by its place in the workbook; a single
    missing and a single extra sheet are a rename in any case."""
    if not missing or not added:
        return {}
    codes = {p["sheet"]: (meta["layout.project"]["fields"]["project_code"], p.get("project_code"))
             for p in meta["projects"]}
    unit_sheet = meta["workbook"]["sheets"]["unit"]
    unit_labels = meta["layout.unit"]["labels"]

    def holds(name: str, candidate: str) -> bool:
        grid = _grid(workbook, candidate)
        if name in codes:
            cell, code = codes[name]
            return code is not None and _text_of(grid.get(cell)) == code
        if name == unit_sheet:
            return all(_text_of(grid.get(cell)) == label for cell, label in unit_labels.items())
        return False

    pairs: dict[str, str] = {}
    free = list(added)
    for name in missing:
        match = next((c for c in free if holds(name, c)), None)
        if match is None and expected.index(name) < len(present) and present[expected.index(name)] in free:
            match = present[expected.index(name)]
        if match is not None:
            pairs[name] = match
            free.remove(match)
    unpaired = [name for name in missing if name not in pairs]
    if len(unpaired) == 1 and len(free) == 1:
        pairs[unpaired[0]] = free[0]
    return pairs


def _same_money(seen: object, expected: object) -> bool:
    numbers = (int, float)
    return isinstance(seen, numbers) and isinstance(expected, numbers) and round(seen - expected, 6) == 0


def _read_project(reader: _SheetReader, project: dict, index: int, layout: dict) -> None:
    fields = layout["fields"]
    for key in ("project_code", "project_name", "purpose"):
        reader.text(project, key, _project_pointer(index, key), fields[key])
    for key in ("budget_total", "fiscal", "other"):
        reader.converted(project, key, _project_pointer(index, key), fields[key], _money_value)
    if "other" not in project:
        project["other"] = None
    goals_cell = fields["goals"]
    holder: dict = {}
    reader.text(holder, "goals", _project_pointer(index, "goals"), goals_cell)
    goals = split_goals(holder.get("goals"))
    if goals:
        project["goals"] = goals
    for number in range(len(goals)):
        reader.locate(_project_pointer(index, "goals", number), goals_cell)
    plan: dict = {}
    milestones = layout.get("milestones") or [k.split("/", 1)[1] for k in fields if k.startswith("spending_plan/")]
    reader.locate(_project_pointer(index, "spending_plan"), fields[f"spending_plan/{milestones[0]}"])
    for milestone in milestones:
        reader.converted(plan, milestone, _project_pointer(index, "spending_plan", milestone),
                         fields[f"spending_plan/{milestone}"], _percent_value)
    project["spending_plan"] = plan
    table = layout["indicators"]
    columns = table["columns"]
    first_row, rows = table["first_row"], table["rows"]
    indicators: list[dict] = []
    reader.locate(_project_pointer(index, "indicators"), f"{columns['level1']}{first_row}")
    table = _table_cells(tuple(str(columns[key]) for key in INDICATOR_KEYS), first_row, rows) if rows > 0 else ()
    for table_row in table:
        values = table_row.values(reader.grid)
        if values.count(None) == len(values):  # an empty row
            continue
        indicator: dict = {}
        indicator_path, key_paths = _indicator_pointers(index, len(indicators))
        reader.locate(indicator_path, table_row.cells[0])
        reader.texts(indicator, INDICATOR_KEYS, key_paths, table_row.cells, values)
        indicators.append(indicator)
    project["indicators"] = indicators
    last_table_row = first_row + rows - 1
    for row in range(last_table_row + 1, reader.grid.last_row() + 1):
        for key in INDICATOR_KEYS:
            cell = f"{columns[key]}{row}"
            if reader.grid.get(cell) is not None:
                reader.result.findings.append(Finding("READ_OUTSIDE_FORM", Location(reader.result.path, reader.sheet, cell),
                                                      value=_text_of(reader.grid.get(cell)),
                                                      params={"last_row": last_table_row}))
                return


@lru_cache(maxsize=4096)
def _project_pointer(index: int, *keys: object) -> str:
    """``pointer("projects", index, *keys)``, worked out once: the same few dozen in every return."""
    return pointer("projects", index, *keys)


class _TableRow(NamedTuple):
    """One row of the indicator table: its cells in ``INDICATOR_KEYS`` order and where they are, 0-based."""

    cells: tuple[str, ...]
    positions: tuple[tuple[int, int], ...]
    shared_row: int | None  # the row of every cell (not so only if the metadata's columns hold digits)
    columns: tuple[int, ...]

    def values(self, grid: _Grid) -> list[object]:
        if self.shared_row is not None:
            return grid.row_values(self.shared_row, self.columns)
        return [grid.at(r, c) for r, c in self.positions]


@lru_cache(maxsize=64)
def _table_cells(columns: tuple[str, ...], first_row: int, rows: int) -> tuple[_TableRow, ...]:
    """The indicator table's rows, worked out once per layout."""
    table = []
    for row in range(first_row, first_row + rows):
        cells = tuple(f"{column}{row}" for column in columns)
        positions = tuple((r - 1, c - 1) for r, c in map(split_cell, cells))
        rows_of_cells = {r for r, _ in positions}
        shared_row = rows_of_cells.pop() if len(rows_of_cells) == 1 else None
        table.append(_TableRow(cells, positions, shared_row, tuple(c for _, c in positions)))
    return tuple(table)


@lru_cache(maxsize=4096)
def _indicator_pointers(index: int, number: int) -> tuple[str, tuple[str, ...]]:
    """The pointer of indicator ``number`` of project ``index``, and of each of its fields."""
    base = ("projects", index, "indicators", number)
    return pointer(*base), tuple(pointer(*base, key) for key in INDICATOR_KEYS)


def _fix_displayed(path: Path, reader: _SheetReader) -> None:
    """Replace numbers found in text fields by what the cell displayed (``0.95`` shown as ``95%``)."""
    if not reader.numbers_in_text:
        return
    shown = _displayed(path, reader.sheet, [cell for _, cell in reader.numbers_in_text])
    for json_path, cell in reader.numbers_in_text:
        if cell in shown:
            _set_pointer(reader.result.document, json_path, shown[cell])
    reader.numbers_in_text.clear()


def _set_pointer(document: dict, json_path: str, value: object) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in json_path.strip("/").split("/")]
    target = document
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, dict) and parts[-1] in target:
        target[parts[-1]] = value


def read_workbook(path: str | Path, limits: Limits | None = None,
                  part: tuple[int, int] | None = None) -> list[ReturnDocument]:
    """A return gives one document; a summary workbook gives every return it carries (hierarchical merge).
    ``part``: of a Parquet dataset's documents, only those of row groups ``range(*part)`` (``parquet_parts``)."""
    path = Path(path)
    if path.name.lower() == DOCUMENTS_PARQUET:
        return _parquet_documents(path, limits, part)
    claimed, warnings, package = _preflight_as_claimed(path, limits)
    workbook = _open(path, package)
    try:
        if "_data" in workbook.sheet_names:
            rows = _rows(workbook, "_data")
            if rows and rows[0] and rows[0][0] == SUMMARY_MARKER:
                return _carried_documents(path, rows)
            if rows and rows[0] and rows[0][0] == PARTIAL_SUMMARY_MARKER:
                raise unreadable(str(path), "READ_SUMMARY_PARTIAL")
        if claimed:  # it said it was a summary but is not one: read as a return, within a return's limits
            warnings = _preflight(path, limits)
        document = _read(workbook, path, read_meta(workbook, str(path)))
        document.findings[:0] = warnings
        return [document]
    except _Damaged:
        raise unreadable(str(path), "READ_DAMAGED") from None
    finally:
        workbook.close()


PARQUET_PART_BYTES = 20_000_000  # of a dataset's documents (uncompressed) read by one worker: about 300 returns,
# 6 s and 400 MB


def is_parquet_dataset(path: str | Path) -> bool:
    return Path(path).name.lower() == DOCUMENTS_PARQUET


def parquet_parts(path: str | Path, limits: Limits | None = None) -> list[tuple[int, int]]:
    """A dataset's documents.parquet as runs of row groups (start, stop) of at most ``PARQUET_PART_BYTES``
    each (a row group larger than that is a run of its own), from the file's footer: a merge reads each run
    in a worker of its own, so that a province's 20,000 returns are never in one process's memory."""
    path = Path(path)
    with _parquet_file(path, limits) as parquet:
        metadata = parquet.metadata
        sizes = [metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups)]
    parts, start, size = [], 0, 0
    for index, bytes_ in enumerate(sizes):
        if index > start and size + bytes_ > PARQUET_PART_BYTES:
            parts.append((start, index))
            start, size = index, 0
        size += bytes_
    return parts + [(start, len(sizes))]


@contextlib.contextmanager
def _parquet_file(path: Path, limits: Limits | None):
    """The dataset's documents.parquet opened with pyarrow, after the path checks; any failure to read it
    is ``UnreadableError`` (not an xlperf Parquet dataset)."""
    limits = limits or _spec_limits()
    try:
        check_path(path, limits)
    except Refused as refusal:
        raise UnreadableError(refusal.finding(path)) from None
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise unreadable(str(path), "READ_NOT_WORKBOOK", reason="pyarrow is not installed: pip install "
                                                                 "'xlperf[parquet]'") from None
    # Arrow's default allocator (mimalloc) reserves about a gigabyte of address space on the first read, which
    # the worker's address-space limit counts as used: the system allocator takes what it uses
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        with pq.ParquetFile(path) as parquet:
            yield parquet
    except (OSError, ValueError, KeyError, TypeError) as error:  # pyarrow's errors derive from these
        raise unreadable(str(path), "READ_NOT_WORKBOOK", reason=f"not an xlperf Parquet dataset "
                                                                f"({type(error).__name__})") from None


def _parquet_documents(path: Path, limits: Limits | None, part: tuple[int, int] | None = None
                       ) -> list[ReturnDocument]:
    """The documents a ``merge --parquet`` dataset carries (its documents.parquet), as from a summary: all of
    them, or those of the row groups ``range(*part)``."""
    with _parquet_file(path, limits) as parquet:
        groups = list(range(*part)) if part is not None else list(range(parquet.metadata.num_row_groups))
        table = parquet.read_row_groups(groups, columns=["document"], use_threads=False)
        carried = [json.loads(text) for text in table.column("document").to_pylist()]
    return _carried(path, carried)


def _carried_documents(path: Path, rows: list[list[object]]) -> list[ReturnDocument]:
    try:
        carried = read_summary_documents(rows)
    except (ValueError, KeyError, TypeError):
        raise unreadable(str(path), "READ_META_BROKEN") from None
    return _carried(path, carried)


def _carried(path: Path, carried: list) -> list[ReturnDocument]:
    """Carried documents (as a summary or a Parquet dataset holds them) as documents with their sources."""
    try:
        documents = []
        for item in carried:
            file, sheets = item["file"], item["sources"]["sheets"]
            sources = {key: Location(file, sheets[index], cell) for key, (index, cell) in item["sources"]["cells"].items()}
            meta = {"workbook": item["meta"]["workbook"], "origin_file": item["file"], "projects": []}
            documents.append(ReturnDocument(f"{path}::{item['file']}", item["document"], sources, {}, meta))
        return documents
    except (ValueError, KeyError, TypeError, IndexError):
        raise unreadable(str(path), "READ_META_BROKEN") from None


def saved_time(path: str | Path) -> str | None:
    """When the workbook was last saved, from its own properties (e-mail and copying change file times)."""
    import zipfile

    from defusedxml import ElementTree

    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("docProps/core.xml")
                if info.file_size > 1_000_000:
                    raise ValueError("oversized properties")
                root = ElementTree.fromstring(archive.read(info))
            for element in root.iter():
                if element.tag.endswith("}modified") and element.text:
                    return element.text.strip()
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        pass  # defusedxml's refusals are ValueErrors too: no saved time then, the file time instead
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OSError:
        return None
