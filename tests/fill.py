"""Fill a generated template the way another program would: open it with openpyxl, type into the
input cells named by its hidden metadata, save. Independent of xlperf's own writer on purpose, so
that a round trip through it tests the template layout and the reader, not the writer twice.
"""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl


def template_meta(workbook) -> dict:
    sheet = workbook["_meta"]
    meta: dict = {"projects": []}
    for key, value in sheet.iter_rows(min_row=2, max_col=2, values_only=True):
        if key == "project":
            meta["projects"].append(json.loads(value))
        elif key:
            meta[key] = json.loads(value)
    return meta


def seed_document(seed: dict) -> dict:
    """The seed's published tables as a canonical document."""
    department = seed["department"]
    return {
        "year": seed["year"],
        "unit": {"code": department["unit_code"], "name": department["unit_name"]},
        "overall_goal": department["overall_goal"],
        "measures": "\n".join(department["measures"]),
        "projects": seed["projects"],
    }


def fill_template(template: Path, document: dict, out: Path, overrides: dict | None = None) -> Path:
    """Write ``document``'s values into the template's input cells and save to ``out``.

    ``overrides`` maps (sheet, cell) → value, written last: the way tests plant mistakes.
    """
    workbook = openpyxl.load_workbook(template)
    meta = template_meta(workbook)
    unit_fields = meta["layout.unit"]["fields"]
    unit_sheet = workbook[meta["workbook"]["sheets"]["unit"]]
    for key in ("overall_goal", "measures"):
        if document.get(key):
            unit_sheet[unit_fields[key]] = document[key]
    layout = meta["layout.project"]
    fields = layout["fields"]
    by_code = {project["project_code"]: project for project in document["projects"]}
    for project_meta in meta["projects"]:
        project = by_code.get(project_meta["project_code"])
        if project is None:
            continue
        sheet = workbook[project_meta["sheet"]]
        locked = set(project_meta["locked"])
        for key in ("project_code", "project_name", "budget_total", "fiscal", "other", "purpose"):
            if key not in locked and project.get(key) is not None:
                sheet[fields[key]] = project[key]
        if project.get("goals"):
            sheet[fields["goals"]] = "\n".join(f"{n}.{goal}" for n, goal in enumerate(project["goals"], start=1))
        for milestone, value in (project.get("spending_plan") or {}).items():
            sheet[fields[f"spending_plan/{milestone}"]] = value / 100 if isinstance(value, (int, float)) else value
        table = layout["indicators"]
        for offset, indicator in enumerate(project.get("indicators") or []):
            row = table["first_row"] + offset
            for key, column in table["columns"].items():
                if indicator.get(key) is not None:
                    sheet[f"{column}{row}"] = indicator[key]
    for (sheet_name, cell), value in (overrides or {}).items():
        workbook[sheet_name][cell] = value
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out
