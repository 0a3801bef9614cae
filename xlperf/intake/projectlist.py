"""Read and check the project list a budget system exports (CSV or XLSX, Chinese or English headers).

Nothing is written when the list has problems: every problem becomes a located finding, and all of
them are raised together in one ``ProjectListError``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ProjectListError
from ..core.fields import FIELD_LABELS
from ..core.findings import Finding, Location
from ..core.model import cents
from ..framework.spec import load_spec
from ..framework.targets import clean_text, parse_number
from .safety import Refused, preflight

# field key → accepted headers (its Chinese label, its key); matched case-insensitively after cleaning
COLUMNS = {key: (FIELD_LABELS[key][0], key) for key in ("unit_code", "unit_name", "project_code", "project_name",
                                                        "budget_total", "fiscal", "other", "purpose")}
REQUIRED_COLUMNS = ("unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other")
TEXT_FIELDS = ("unit_code", "unit_name", "project_code", "project_name")
MONEY_FIELDS = ("budget_total", "fiscal", "other")


@dataclass(frozen=True)
class ProjectEntry:
    row: int
    unit_code: str
    unit_name: str
    project_code: str
    project_name: str
    budget_total: float
    fiscal: float
    other: float | None
    purpose: str | None


def _rows(path: Path) -> list[list[object]]:
    """All rows of the first sheet (XLSX/XLS/ODS) or of the CSV (UTF-8, UTF-8 with BOM, or GBK)."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        preflight(path, load_spec().limits)  # the same safety checks as returned workbooks

        with CalamineWorkbook.from_path(str(path)) as workbook:
            return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(io.StringIO(raw.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise ValueError("the CSV is neither UTF-8 nor GBK text")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code the spreadsheet stored as a number
    return clean_text(str(value))


def _money(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return parse_number(_text(value) or "")



def read_project_list(path: str | Path) -> list[ProjectEntry]:
    """Parse and check the list; raise ``ProjectListError`` carrying every located finding."""
    path = Path(path)
    source = str(path)
    try:
        rows = _rows(path)
    except Refused as refusal:
        raise ProjectListError(source, [refusal.finding(source)]) from None
    except Exception as exc:  # calamine, csv and OS errors all mean the same thing here
        reason = "file not found" if isinstance(exc, FileNotFoundError) else str(exc).splitlines()[0][:200]
        raise ProjectListError(source, [Finding("PL_UNREADABLE", Location(source), params={"reason": reason})]) from None
    rows = [row for row in rows if any(_text(v) for v in row)]
    if len(rows) < 2:
        raise ProjectListError(source, [Finding("PL_EMPTY", Location(source))])
    lookup = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, title in enumerate(rows[0]):
        key = lookup.get((_text(title) or "").lower())
        if key and key not in columns:
            columns[key] = index
    missing = [f"{COLUMNS[key][0]}/{COLUMNS[key][1]}" for key in REQUIRED_COLUMNS if key not in columns]
    if missing:
        finding = Finding("PL_MISSING_COLUMN", Location(source, row=1), params={"columns": ", ".join(missing)})
        raise ProjectListError(source, [finding])

    findings: list[Finding] = []
    entries: list[ProjectEntry] = []
    first_row_of_code: dict[str, int] = {}
    unit_names: dict[str, tuple[str, int]] = {}
    for row_number, row in enumerate(rows[1:], start=2):
        where = Location(source, row=row_number)
        cell = {key: (row[index] if index < len(row) else None) for key, index in columns.items()}
        text = {key: _text(cell.get(key)) for key in (*TEXT_FIELDS, "purpose")}
        row_findings = [Finding("PL_BLANK", where, field=key) for key in TEXT_FIELDS if not text[key]]
        code = text["project_code"]
        if code and code in first_row_of_code:
            row_findings.append(Finding("PL_DUPLICATE_CODE", where, "project_code", code,
                                        {"other_row": first_row_of_code[code]}))
        elif code:
            first_row_of_code[code] = row_number
        money: dict[str, float | None] = {}
        for key in MONEY_FIELDS:
            shown = _text(cell.get(key))
            amount = _money(cell.get(key)) if shown else None
            if shown is None and key == "other":
                money[key] = None
            elif shown is None:
                row_findings.append(Finding("PL_BLANK", where, field=key))
            elif amount is None:
                row_findings.append(Finding("PL_NOT_NUMBER", where, key, shown))
            elif amount < 0:
                row_findings.append(Finding("PL_NEGATIVE", where, key, amount))
            else:
                money[key] = amount
        if "budget_total" in money and "fiscal" in money and all(abs(v or 0) < 1e12 for v in money.values()):
            other = money.get("other") or 0.0
            if cents(money["budget_total"]) != cents(money["fiscal"]) + cents(other):
                row_findings.append(Finding("PL_SUM_MISMATCH", where, "budget_total", money["budget_total"],
                                            {"fiscal": money["fiscal"], "other": other, "total": money["budget_total"]}))
        unit_code, unit_name = text["unit_code"], text["unit_name"]
        if unit_code and unit_name:
            known_name, known_row = unit_names.setdefault(unit_code, (unit_name, row_number))
            if known_name != unit_name:
                row_findings.append(Finding("PL_UNIT_NAME_CONFLICT", where, "unit_name", unit_code,
                                            {"name": unit_name, "other_name": known_name, "other_row": known_row}))
        findings.extend(row_findings)
        if not row_findings:
            entries.append(ProjectEntry(row_number, unit_code, unit_name, code, text["project_name"],
                                        money["budget_total"], money["fiscal"], money["other"], text["purpose"]))
    if findings:
        raise ProjectListError(source, findings)
    return entries
