"""Findings → a marked-up copy of the return for the unit.

The copy is rebuilt with the template writer from what was read, not re-saved from the unit's file:
openpyxl loses cross-sheet list validations when it re-saves a workbook Excel or LibreOffice saved,
and a rebuilt copy keeps protection, dropdowns and metadata exactly as the template had them.
Each problem cell is highlighted and carries a comment; a 校验结果 sheet lists every finding.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..checks.validate import FileResult
from ..core.cells import column_index, quote_sheet, split_cell
from ..core.fileio import atomic_write_bytes
from ..core.fields import field_label
from ..core.findings import Finding
from ..core.model import ReturnDocument, pointer
from ..framework.frameworks import load_framework
from ..framework.spec import load_spec, project_layout, unit_layout
from .template import Note, SheetPlan, WorkbookPlan, build_workbook

STRUCTURE_CODES = {"READ_SHEET_MISSING", "READ_SHEET_ADDED", "READ_SHEET_RENAMED", "READ_LABEL_MOVED",
                   "READ_FRAMEWORK_MISMATCH"}


def can_annotate(result: FileResult) -> bool:
    """Only a return whose every sheet was read can be rebuilt without losing what the unit typed."""
    return (result.document is not None and not result.unreadable
            and not any(finding.code in STRUCTURE_CODES for finding in result.findings))


def _indicator_rows(doc: ReturnDocument, index: int, first_row: int, project: dict) -> list[dict]:
    """Indicators at the rows the unit used, so finding cells still point at the right row."""
    placed: list[dict] = []
    for number, indicator in enumerate(project.get("indicators") or []):
        location = doc.sources.get(pointer("projects", index, "indicators", number))
        row = split_cell(location.cell)[0] if location and location.cell else first_row + len(placed)
        while len(placed) < row - first_row:
            placed.append({})
        placed.append(indicator)
    return placed


def relocate_cell(cell: str, old: dict, new: dict) -> str:
    """A cell of a sheet laid out as ``old`` → the cell holding the same field (or indicator column and row)
    in ``new``: a return made from an earlier template is rebuilt in today's layout."""
    for key, where in old["fields"].items():
        if where == cell and key in new["fields"]:
            return new["fields"][key]
    if cell == old.get("problem_count") and new.get("problem_count"):
        return new["problem_count"]
    old_table, new_table = old.get("indicators"), new.get("indicators")
    if not old_table or not new_table:
        return cell
    row, column = split_cell(cell)
    key = next((key for key, letter in old_table["columns"].items() if column_index(letter) == column), None)
    if key in new_table["columns"] and old_table["first_row"] <= row < old_table["first_row"] + old_table["rows"]:
        return f"{new_table['columns'][key]}{row - old_table['first_row'] + new_table['first_row']}"
    return cell


def _in_todays_layout(findings: list[Finding], meta: dict) -> list[Finding]:
    """Findings of a return whose template had another layout, pointed at the cells of the rebuilt copy."""
    spec = load_spec()
    project_old = meta["layout.project"]
    project_new = project_layout(spec, project_old["indicators"]["rows"])
    unit_old, unit_new = meta.get("layout.unit"), unit_layout(spec)
    if project_old == project_new and unit_old in (None, unit_new):
        return findings
    moved = []
    for finding in findings:
        location = finding.location
        if not (location.sheet and location.cell):
            moved.append(finding)
            continue
        old, new = (unit_old, unit_new) if location.sheet == spec.sheets["unit"] else (project_old, project_new)
        if old is None:
            moved.append(finding)
            continue
        params = dict(finding.params)
        if params.get("other_cell"):
            params["other_cell"] = relocate_cell(params["other_cell"], old, new)
        moved.append(dataclasses.replace(finding, params=params, location=dataclasses.replace(
            location, cell=relocate_cell(location.cell, old, new))))
    return moved


def annotation_plan(result: FileResult) -> WorkbookPlan:
    doc = result.document
    meta = doc.meta
    info = meta["workbook"]
    layout = meta["layout.project"]
    findings = _in_todays_layout(result.findings, meta)
    first_row = layout["indicators"]["first_row"]
    sheets = []
    projects = {doc.sources[pointer("projects", i)].sheet: (i, p) for i, p in enumerate(doc.document["projects"])}
    for project_meta in meta["projects"]:
        index, project = projects.get(project_meta["sheet"], (None, {}))
        values = dict(project)
        if index is not None:
            values["indicators"] = _indicator_rows(doc, index, first_row, project)
        sheets.append(SheetPlan(name=project_meta["sheet"], project=values, locked=frozenset(project_meta["locked"])))
    notes = _notes(findings)
    rows = [[f.level.label("zh"), f.location.sheet or "", _link(f),
             field_label(f.field, "zh") if f.field else "", f.message("zh"), f.hint("zh"), f.code]
            for f in sorted(findings, key=lambda f: not f.is_error)]
    return WorkbookPlan(
        year=info["year"], unit_code=info["unit_code"], unit_name=info["unit_name"], sheets=sheets,
        unit_values={key: doc.document.get(key) for key in ("overall_goal", "measures")},
        indicator_rows=layout["indicators"]["rows"], notes=notes, findings_sheet=rows,
    )


def _link(finding: Finding) -> tuple[str, str] | str:
    """The finding's cell as a link to it (the sheet has its own column: a link's text does not wrap in
    LibreOffice, so a long sheet name in it would be cut off on paper)."""
    location = finding.location
    if location.sheet and location.cell:
        return f"{quote_sheet(location.sheet)}!{location.cell}", location.cell
    return ""


def _notes(findings: list[Finding]) -> list[Note]:
    """One comment per marked cell (all its findings), red if any is an error, orange for warnings only."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.location.sheet and finding.location.cell:
            by_cell.setdefault((finding.location.sheet, finding.location.cell), []).append(finding)
    notes = []
    for (sheet, cell), found in by_cell.items():
        texts = []
        for finding in found:
            text = f"{finding.level.label('zh')}：{finding.message('zh')}"
            if finding.hint("zh"):
                text += f"\n→ {finding.hint('zh')}"
            texts.append(text)
        errors = sum(1 for f in found if f.is_error)
        notes.append(Note(sheet, cell, "\n".join(texts), "error" if errors else "warning", errors,
                          len(found) - errors))
    return notes


def annotate_results(results: list[FileResult], outdir: str | Path) -> dict[str, Path | None]:
    """Write one annotated copy per return that can be rebuilt: input path → copy (None: no copy)."""
    outdir = Path(outdir)
    spec = load_spec()
    written: dict[str, Path | None] = {}
    used: set[str] = set()
    inputs = {str(Path(r.path).resolve()) for r in results}
    for result in results:
        written[result.path] = None
        if not can_annotate(result):
            continue
        framework = load_framework(result.document.meta["workbook"]["framework"])
        stem = Path(result.path).stem
        name = f"{stem}.xlsx"
        suffix = 2
        while name in used:
            name = f"{stem}({suffix}).xlsx"
            suffix += 1
        used.add(name)
        target = outdir / name
        if str(target.resolve()) in inputs:
            continue  # never overwrite an input
        atomic_write_bytes(target, build_workbook(annotation_plan(result), framework, spec))
        written[result.path] = target
    return written
