"""Next year starts from this year: carry purpose, goals and indicators into the new templates.

A project is matched by its code, or failing that by its exact name within the same unit. Money, the
spending plan and whatever the new project list provides always come from the new list. Indicators
whose 二级 no longer exists in this year's framework are mapped through the framework's declared
``x-xlperf.level2_from`` mapping, or left out and reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..checks.validate import collect_inputs, crash_finding, guarded, read_boundary
from ..core.errors import UsageError
from ..core.findings import Finding
from ..core.workers import map_in_workers
from ..framework.frameworks import Framework, map_indicator
from ..intake.reader import UnreadableError, read_workbook
from .template import WorkbookPlan


@dataclass
class Dropped:
    unit_code: str
    project_code: str
    indicator: str
    category: str
    reason: str  # "unmapped" (no 二级 in this framework and no mapping) or "no_room" (more than the rows)


@dataclass
class PrefillReport:
    matched: dict[str, str] = field(default_factory=dict)  # new project code → "code" or "name"
    dropped: list[Dropped] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreadable_findings: list = field(default_factory=list)  # the same, as findings (to show in any language)


def last_year_projects(paths: list[str | Path], isolate: bool = False,
                       ) -> tuple[list[tuple[dict, dict]], str | None, PrefillReport]:
    """(unit, project) pairs from last year's summary or returns, and the framework they used. Last year's
    files are inputs like any other: read behind the same per-file boundary (``isolate``: in a worker
    process under the spec's limits, as the command line does)."""
    report = PrefillReport()
    pairs: list[tuple[dict, dict]] = []
    framework_id = None
    files = [str(path) for path in collect_inputs(paths)]
    outcomes = map_in_workers(_read_last_year, files, None, on_crash=lambda path, crash: crash_finding(path, crash),
                              isolate=isolate, boundary=read_boundary())
    for outcome, path in zip(outcomes, files):  # the workers' results first: zip takes them to their end
        if isinstance(outcome, Finding):
            report.unreadable.append(f"{path}: {outcome.message('zh')}")
            report.unreadable_findings.append(outcome)
            continue
        report.sources.append(path)
        for document in outcome:
            framework_id = framework_id or document.get("framework")
            unit = document.get("unit") or {}
            pairs.extend((unit, project) for project in document.get("projects", []))
    if not pairs:
        raise UsageError(key="prefill_nothing", paths=", ".join(map(str, paths)))
    return pairs, framework_id, report


def _read_last_year(path: str) -> list[dict] | Finding:
    """One of last year's files: its documents, or the finding that says why it cannot be read."""
    def read() -> list[dict] | Finding:
        try:
            return [doc.document for doc in read_workbook(path)]
        except UnreadableError as error:
            return error.finding
    return guarded(path, read, lambda finding: finding)


def prefill_plans(plans: list[WorkbookPlan], pairs: list[tuple[dict, dict]], from_framework: str | None,
                  framework: Framework, indicator_rows: int, report: PrefillReport) -> list[WorkbookPlan]:
    """New plans whose matching sheets carry last year's purpose, goals and indicators as inputs."""
    by_code = {project.get("project_code"): project for _, project in pairs if project.get("project_code")}
    by_name = {(str(unit.get("code")), project.get("project_name")): project for unit, project in pairs}
    result = []
    for plan in plans:
        sheets = []
        for sheet in plan.sheets:
            code = sheet.project.get("project_code")
            old = by_code.get(code)
            how = "code"
            if old is None:
                old, how = by_name.get((plan.unit_code, sheet.project.get("project_name"))), "name"
            if old is None:
                sheets.append(sheet)
                continue
            report.matched[code] = how
            project = dict(sheet.project)
            carried = set()
            if old.get("purpose") and "purpose" not in sheet.locked:
                project["purpose"] = old["purpose"]
                carried.add("purpose")
            if old.get("goals"):
                project["goals"] = list(old["goals"])
                carried.add("goals")
            indicators = []
            for indicator in old.get("indicators") or []:
                mapped = map_indicator(indicator, framework, from_framework)
                category = f"{indicator.get('level1')}/{indicator.get('level2')}"
                if mapped is None:
                    report.dropped.append(Dropped(plan.unit_code, code, indicator.get("name") or "", category, "unmapped"))
                elif len(indicators) >= indicator_rows:
                    report.dropped.append(Dropped(plan.unit_code, code, indicator.get("name") or "", category, "no_room"))
                else:
                    indicators.append(mapped)
            if indicators:
                project["indicators"] = indicators
                carried.add("indicators")
            sheets.append(replace(sheet, project=project, carried=frozenset(carried)))
        result.append(replace(plan, sheets=sheets))
    return result
