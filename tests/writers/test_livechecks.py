"""The live checks of a template, written once (xlperf/writers/livechecks.py): the problem counter Excel
recalculates and the value Python stores for it agree, on projects with every kind of problem the
formulas see. LibreOffice recalculates every formula on load (tests/lo.py's profile)."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES

import lo
from xlperf.framework.frameworks import load_framework
from xlperf.framework.spec import load_spec, project_layout
from xlperf.intake.projectlist import read_project_list
from xlperf.writers.livechecks import LiveCheck, project_checks
from xlperf.writers.sendout import unit_plans
from xlperf.writers.template import SheetPlan, WorkbookPlan, build_workbook

GOOD = {"level1": "产出指标", "level2": "数量指标", "name": "车辆数", "description": "保障车辆", "target": "≥1辆",
        "basis": "计划标准"}
PLAN = {"3月底": 25, "6月底": 50, "10月底": 80, "12月底": 100}
# project values -> the problems the counter must count (budget 10.96 = fiscal 10.96 in the sample list)
CASES = {
    "clean": {"purpose": "用途", "goals": ["目标"], "spending_plan": PLAN, "indicators": [GOOD]},
    "budget": {"purpose": "用途", "goals": ["目标"], "spending_plan": PLAN, "indicators": [GOOD], "fiscal": 9.0},
    "plan falls": {"purpose": "用途", "goals": ["目标"], "indicators": [GOOD],
                   "spending_plan": {"3月底": 30, "6月底": 20, "10月底": 10, "12月底": 100}},
    "plan short": {"purpose": "用途", "goals": ["目标"], "indicators": [GOOD],
                   "spending_plan": {"3月底": 25, "6月底": 50, "10月底": 80, "12月底": 90}},
    "rows": {"purpose": "用途", "goals": ["目标"], "spending_plan": PLAN,
             "indicators": [GOOD, {**GOOD, "basis": None}, {**GOOD, "level2": "社会效益指标"}]},
    "blank": {},
}


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> tuple[Path, list[str]]:
    plan = unit_plans(read_project_list(SAMPLES / "projects.csv"), 2022, load_spec(), None, None)[0]
    base = plan.sheets[0]
    sheets = [SheetPlan(name=f"{base.name[:20]}{index}", project={**base.project, **values}, locked=base.locked)
              for index, values in enumerate(CASES.values())]
    filled = WorkbookPlan(year=plan.year, unit_code=plan.unit_code, unit_name=plan.unit_name, sheets=sheets,
                          unit_values=plan.unit_values, indicator_rows=plan.indicator_rows, password=plan.password)
    path = tmp_path_factory.mktemp("live") / "cases.xlsx"
    path.write_bytes(build_workbook(filled, load_framework("cn-2020"), load_spec()))
    return path, [sheet.name for sheet in sheets]


def test_python_and_libreoffice_count_the_same_problems(workbook, tmp_path):
    path, names = workbook
    lo.require_soffice()
    cached = openpyxl.load_workbook(path, data_only=True)
    counter = load_spec().data["project_sheet"]["problem_count"]["cell"]
    sheets = lo.convert_csv(path, tmp_path)
    python, office = {}, {}
    for case, name in zip(CASES, names):
        with open(sheets[name], encoding="utf-8", newline="") as handle:
            grid = list(csv.reader(handle))
        row, column = openpyxl.utils.cell.coordinate_to_tuple(counter)
        python[case], office[case] = cached[name][counter].value, int(grid[row - 1][column - 1])
    assert office == python
    # each problem counted once on top of the clean sheet; the blank one has every input open
    assert python["clean"] == 0
    assert python["budget"] == python["plan short"] == 1
    assert python["plan falls"] == 2 and python["rows"] == 2 and python["blank"] > 5


def test_every_check_marks_cells_and_makes_its_references_absolute_only_when_shared():
    spec = load_spec()
    checks = project_checks(project_layout(spec)["fields"], spec.milestones)
    assert len(checks) == 1 + 3 + 1 and all(check.marks for check in checks)
    assert checks[0].criteria.startswith("=AND(COUNT($") and "$" not in checks[1].criteria
    assert checks[0].found({"budget_total": 10.96, "fiscal": 9, "other": None})
    assert not checks[0].found({"budget_total": 10.96, "fiscal": 10.96, "other": None})
    assert LiveCheck("A1>B2", ("A1", "B2"), bool).criteria == "=$A$1>$B$2"
