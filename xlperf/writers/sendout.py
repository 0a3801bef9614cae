"""Project list → one locked workbook per unit, plus the manifest of what was sent out."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..core.errors import UsageError
from ..core.fileio import atomic_write_bytes, atomic_write_text, safe_file_stem
from ..framework.frameworks import Framework, load_framework
from ..framework.spec import Spec, check_spec_fits, load_spec
from ..intake.projectlist import ProjectEntry, read_project_list
from .prefill import PrefillReport, last_year_projects, prefill_plans
from .template import SheetPlan, WorkbookPlan, build_workbook, sheet_names_for

MANIFEST_NAME = "manifest.json"
LIST_FIELDS = ("project_code", "project_name", "budget_total", "fiscal", "other")


@dataclass(frozen=True)
class TemplateResult:
    files: list[Path]
    manifest_path: Path
    manifest: dict
    prefill: PrefillReport | None = None


def unit_plans(entries: list[ProjectEntry], year: int, spec: Spec, indicator_rows: int | None,
               password: str | None) -> list[WorkbookPlan]:
    """Group the list by unit (in list order) and decide each sheet's name and locked fields."""
    units: dict[str, list[ProjectEntry]] = {}
    for entry in entries:
        units.setdefault(entry.unit_code, []).append(entry)
    reserved = set(spec.sheets.values())
    plans = []
    for unit_code, projects in units.items():
        names = sheet_names_for([p.project_name for p in projects], reserved)
        sheets = []
        for name, entry in zip(names, projects):
            project = {key: getattr(entry, key) for key in LIST_FIELDS}
            locked = set(LIST_FIELDS)
            if entry.purpose:
                project["purpose"] = entry.purpose
                locked.add("purpose")
            sheets.append(SheetPlan(name=name, project=project, locked=frozenset(locked)))
        plans.append(WorkbookPlan(year=year, unit_code=unit_code, unit_name=projects[0].unit_name, sheets=sheets,
                                  indicator_rows=indicator_rows, password=password))
    return plans


def workbook_file_name(plan: WorkbookPlan) -> str:
    return safe_file_stem(f"{plan.unit_code}_{plan.unit_name}") + ".xlsx"


def make_templates(project_list: str | Path, outdir: str | Path, *, year: int = 2022,
                   framework: str | Framework = "cn-2020", password: str | None = None,
                   indicator_rows: int | None = None, spec: Spec | None = None,
                   prefill: list[str | Path] | None = None, isolate: bool = False) -> TemplateResult:
    """Check the project list, then write one template per unit and ``manifest.json`` into ``outdir``.

    ``prefill``: last year's summary or returns; matching projects carry their purpose, goals and
    indicators over as editable inputs (see prefill.py)."""
    framework = framework if isinstance(framework, Framework) else load_framework(framework)
    spec = spec or load_spec()
    check_spec_fits(spec, framework)
    _check_rows(indicator_rows)
    entries = read_project_list(project_list)  # raises with every problem before anything is written
    plans = unit_plans(entries, year, spec, indicator_rows, password)
    report = None
    if prefill:
        pairs, from_framework, report = last_year_projects(prefill, isolate=isolate)
        rows = indicator_rows or spec.data["project_sheet"]["indicators"]["rows"]
        plans = prefill_plans(plans, pairs, from_framework, framework, rows, report)
    outdir = Path(outdir)
    files = []
    for plan in plans:
        path = outdir / workbook_file_name(plan)
        atomic_write_bytes(path, build_workbook(plan, framework, spec))
        files.append(path)
    manifest = build_manifest(plans, files, framework, spec, year, source=Path(project_list).name)
    manifest_path = outdir / MANIFEST_NAME
    atomic_write_text(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return TemplateResult(files, manifest_path, manifest, report)


def make_blank_template(outdir: str | Path, *, count: int, unit_code: str, unit_name: str, year: int = 2022,
                        framework: str | Framework = "cn-2020", password: str | None = None,
                        indicator_rows: int | None = None, spec: Spec | None = None) -> TemplateResult:
    """A template with ``count`` empty project sheets, for units whose projects are not in a list."""
    framework = framework if isinstance(framework, Framework) else load_framework(framework)
    spec = spec or load_spec()
    check_spec_fits(spec, framework)
    _check_rows(indicator_rows)
    if count < 1 or count > 200:
        raise UsageError(key="blank_range")
    if not unit_code or not unit_name:
        raise UsageError(key="blank_needs_unit")
    names = sheet_names_for([f"项目{i}" for i in range(1, count + 1)], set(spec.sheets.values()))
    plan = WorkbookPlan(year=year, unit_code=unit_code, unit_name=unit_name,
                        sheets=[SheetPlan(name=name, project={}, locked=frozenset()) for name in names],
                        indicator_rows=indicator_rows, password=password)
    path = Path(outdir) / workbook_file_name(plan)
    atomic_write_bytes(path, build_workbook(plan, framework, spec))
    manifest = build_manifest([plan], [path], framework, spec, year, source=None)
    manifest_path = Path(outdir) / MANIFEST_NAME
    atomic_write_text(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return TemplateResult([path], manifest_path, manifest)


def _check_rows(indicator_rows: int | None) -> None:
    if indicator_rows is not None and not 1 <= indicator_rows <= 500:
        raise UsageError(key="rows_range")


def build_manifest(plans: list[WorkbookPlan], files: list[Path], framework: Framework, spec: Spec, year: int,
                   source: str | None) -> dict:
    return {
        "kind": "xlperf-manifest",
        "xlperf_version": __version__,
        "template_version": spec.version,
        "year": year,
        "framework": framework.id,
        "framework_sha256": framework.sha256,
        "project_list": source,
        "units": [
            {
                "unit_code": plan.unit_code,
                "unit_name": plan.unit_name,
                "file": path.name,
                "projects": [
                    {"project_code": sheet.project.get("project_code"),
                     "project_name": sheet.project.get("project_name"), "sheet": sheet.name}
                    for sheet in plan.sheets
                ],
            }
            for plan, path in zip(plans, files)
        ],
    }
