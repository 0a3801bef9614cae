"""Reading returned workbooks: round trips, normalisation, changed structure, arbitrary text."""
from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES
from fill import fill_template, seed_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlperf.intake.reader import UnreadableError, read_return, split_goals
from xlperf.checks.validate import FrameworkResolver, collect_inputs, validate_file, validate_paths

SHEET = "工信局购置公务用车"


def expected_projects(seed: dict) -> list[dict]:
    projects = []
    for project in seed["projects"]:
        projects.append({**project, "spending_plan": {k: float(v) for k, v in project["spending_plan"].items()}})
    return projects


def test_seed_round_trip(seed_template, seed, tmp_path):
    filled = fill_template(seed_template, seed_document(seed), tmp_path / "return.xlsx")
    doc = read_return(filled)
    assert doc.findings == []
    document = doc.document
    assert document["unit"] == {"code": "471001", "name": "遵化市工业和信息化局本级"}
    assert (document["year"], document["framework"]) == (2022, "cn-2020")
    assert document["overall_goal"] == seed["department"]["overall_goal"]
    assert document["measures"] == "\n".join(seed["department"]["measures"])
    assert document["projects"] == expected_projects(seed)


def test_every_value_keeps_its_cell(seed_template, seed, tmp_path):
    doc = read_return(fill_template(seed_template, seed_document(seed), tmp_path / "r.xlsx"))
    where = doc.sources
    assert (where["/projects/0/fiscal"].sheet, where["/projects/0/fiscal"].cell) == (SHEET, "E4")
    assert where["/projects/0/spending_plan/10月底"].cell == "D7"
    assert where["/projects/1/indicators/3/target"].cell == "F14"
    assert where["/projects/1/indicators/3/target"].sheet == "工信局安全生产执法监督管理经费"
    assert where["/measures"].cell == "B6" and where["/measures"].sheet == "单位整体"
    assert doc.location("/projects/0/indicators/2/basis").cell == "G13"
    assert doc.location("/projects/0/goals/1").cell == "B8"


def test_blank_cells_still_have_a_location(seed_template):
    doc = read_return(seed_template)
    assert "goals" not in doc.document["projects"][0]
    assert doc.location("/projects/0/goals").cell == "B8"
    assert doc.location("/projects/0/spending_plan/3月底").cell == "B7"


@pytest.mark.parametrize("typed, expected", [
    ("１０．９６", 10.96), ("1,234.50", 1234.5), ("\u00a010.96 ", 10.96), ("10.96\u200b", 10.96), ("abc", "abc"),
])
def test_money_as_text_is_normalised(tmp_path, typed, expected):
    from xlperf.writers.sendout import make_blank_template

    template = make_blank_template(tmp_path, count=1, unit_code="1", unit_name="u").files[0]
    path = fill_template(template, {"projects": []}, tmp_path / "r.xlsx", {("项目1", "C4"): typed})
    doc = read_return(path)
    assert doc.document["projects"][0]["budget_total"] == expected
    assert doc.raw["/projects/0/budget_total"] == typed


def test_text_cells_normalised_and_displayed_as_shown(seed_template, tmp_path):
    book = openpyxl.load_workbook(seed_template)
    sheet = book[SHEET]
    sheet["F11"] = 0.95
    sheet["F11"].number_format = "0%"  # Excel turned a typed 95% into a number
    sheet["F12"] = "＝１６万元"
    sheet["D11"] = "\u200b审核\u00a0金额 "
    sheet["B7"] = "30%"  # a percentage stored as text
    sheet["C7"] = 0.6
    sheet["E11"] = 15.0  # a number in a text field with General format
    path = tmp_path / "r.xlsx"
    book.save(path)
    doc = read_return(path)
    indicators = doc.document["projects"][0]["indicators"]
    assert indicators[0]["target"] == "95%"
    assert indicators[1]["target"] == "＝１６万元"  # kept as typed; the parser folds the width
    from xlperf.framework.targets import parse_target
    parsed = parse_target(indicators[1]["target"])
    assert (parsed.operator, parsed.number, parsed.unit) == ("=", 16, "万元")
    assert indicators[0]["name"] == "审核 金额"
    assert indicators[0]["description"] == "15"
    assert doc.raw["/projects/0/indicators/1/target"] == "＝１６万元"
    assert doc.document["projects"][0]["spending_plan"] == {"3月底": 30.0, "6月底": 60.0}


def test_goals_split_into_lines():
    assert split_goals("1.严格按照管理办法。\n2、加强监督。\n\n（3）保障运转") == ["严格按照管理办法。", "加强监督。", "保障运转"]
    assert split_goals("一、提高效益") == ["提高效益"]
    assert split_goals("2022年完成") == ["2022年完成"]


def _codes(path, **kwargs) -> list[str]:
    return [f.code for f in validate_file(path, FrameworkResolver(kwargs.get("framework")), kwargs.get("year")).findings]


def test_renamed_sheet(seed_template, tmp_path):
    book = openpyxl.load_workbook(seed_template)
    book[SHEET].title = "公务用车"
    book.save(tmp_path / "r.xlsx")
    result = validate_file(tmp_path / "r.xlsx", FrameworkResolver())
    renamed = [f for f in result.findings if f.code == "READ_SHEET_RENAMED"]
    assert renamed and renamed[0].message("zh") == "工作表“工信局购置公务用车”被改名为“公务用车”"


def test_deleted_and_added_sheets(seed_template, tmp_path):
    book = openpyxl.load_workbook(seed_template)
    del book["科技发展工作经费"]
    book.create_sheet("新项目")
    book.create_sheet("另一个")
    book.save(tmp_path / "r.xlsx")
    codes = _codes(tmp_path / "r.xlsx")
    assert "READ_SHEET_MISSING" in codes and codes.count("READ_SHEET_ADDED") == 2


def test_inserted_rows_are_detected_not_misread(seed_template, seed, tmp_path):
    filled = fill_template(seed_template, seed_document(seed), tmp_path / "filled.xlsx")
    book = openpyxl.load_workbook(filled)
    book[SHEET].insert_rows(5)
    book.save(tmp_path / "r.xlsx")
    doc = read_return(tmp_path / "r.xlsx")
    moved = [f for f in doc.findings if f.code == "READ_LABEL_MOVED"]
    assert moved and moved[0].location.sheet == SHEET
    assert [p["project_code"] for p in doc.document["projects"]] == [p["project_code"] for p in seed["projects"][1:]]


def test_not_our_template(tmp_path):
    book = openpyxl.Workbook()
    book.active["A1"] = "项目编码"
    book.save(tmp_path / "other.xlsx")
    with pytest.raises(UnreadableError) as raised:
        read_return(tmp_path / "other.xlsx")
    assert raised.value.finding.code == "READ_NOT_TEMPLATE"


def test_other_year_or_framework(seed_template):
    assert "READ_YEAR_MISMATCH" in _codes(seed_template, year=2023)
    assert "READ_YEAR_MISMATCH" not in _codes(seed_template, year=2022)
    assert _codes(seed_template, framework="cn-2021") == ["READ_FRAMEWORK_MISMATCH"]


def test_content_below_the_form(seed_template, tmp_path):
    book = openpyxl.load_workbook(seed_template)
    book[SHEET]["C32"] = "多写的一行"
    book.save(tmp_path / "r.xlsx")
    found = [f for f in read_return(tmp_path / "r.xlsx").findings if f.code == "READ_OUTSIDE_FORM"]
    assert found and found[0].location.cell == "C32"


def test_lock_files_skipped_and_folders_searched(tmp_path, seed_template):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "~$lock.xlsx").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    found = collect_inputs([tmp_path])
    assert found == [seed_template]


def test_unreadable_does_not_stop_others(tmp_path, seed_template):
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    results = validate_paths([tmp_path])
    states = {Path(r.path).name: r.unreadable for r in results}
    assert states == {"broken.xlsx": True, seed_template.name: False}
    broken = next(r for r in results if r.unreadable)
    assert [f.code for f in broken.findings] == ["READ_TEXT_FILE"]


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(st.sampled_from(["C4", "E4", "C5", "B7", "E7", "B8", "B11", "C11", "F11", "G30"]),
                                 st.one_of(TEXT, st.floats(allow_nan=True), st.integers())), min_size=1, max_size=6))
def test_arbitrary_values_in_input_cells_never_crash(blank_template_path, values):
    with tempfile.TemporaryDirectory() as folder:
        overrides = {("项目1", cell): _storable(value) for cell, value in values}
        path = fill_template(blank_template_path, {"projects": []}, Path(folder) / "r.xlsx", overrides)
        result = validate_file(path, FrameworkResolver())
        assert not result.unreadable
        for finding in result.findings:
            assert finding.message("zh") and finding.message("en")


def _storable(value):
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch in "\n\t") or None  # XML cannot hold the rest
    return value


@pytest.fixture(scope="module")
def blank_template_path(tmp_path_factory):
    from xlperf.writers.sendout import make_blank_template

    return make_blank_template(tmp_path_factory.mktemp("blank"), count=1, unit_code="1", unit_name="u").files[0]


@pytest.mark.parametrize("columns", [("A", "B", "C", "D", "E", "F"), ("F", "A", "AB", "C", "B", "H"),
                                     ("A", "B1", "C", "D", "E", "F")])  # digits in a column: cells of other rows
def test_indicator_table_rows_read_as_single_cells(columns):
    from xlperf.intake.reader import _Grid, _table_cells

    grid = _Grid([[f"r{r}c{c}" if (r + c) % 3 else "" for c in range(1 + r % 7)] for r in range(40)])
    for table_row in _table_cells(columns, 11, 20):
        assert table_row.values(grid) == [grid.get(cell) for cell in table_row.cells]


def test_a_missing_level1_is_placed_on_the_first_empty_row_not_a_correct_one(tmp_path):
    """LEVEL1_MISSING points where the unit adds the indicator: the first empty row of the table (B16
    after the five rows filled), never the first indicator's row (B11), which is right."""
    from xlperf.checks.validate import validate_paths

    result = validate_paths([SAMPLES / "returns-with-errors" / "471003_missing-parts.xlsx"])[0]
    missing = [f for f in result.findings if f.code == "LEVEL1_MISSING"]
    assert [(f.location.sheet, f.location.cell) for f in missing] == [("重大活动无线电安全保障经费", "B16")]
    filled = [f.location.cell for f in result.findings if f.location.sheet == "重大活动无线电安全保障经费"
              and f.code != "LEVEL1_MISSING"]
    assert "B16" not in filled


LAYOUT_1_0 = Path(__file__).resolve().parents[1] / "data" / "layout-1.0"


def test_returns_of_the_six_column_layout_still_read():
    """Returns filled in templates of layout 1.0 (indicators in A–F, no 预算规模及资金用途 label column: kept
    in tests/data/layout-1.0 as units sent them) read as the same document as today's, each finding at the
    cell of the workbook it is about."""
    old = read_return(LAYOUT_1_0 / "471002_遵化市中小企业服务中心.xlsx")
    new = read_return(SAMPLES / "returns" / "471002_遵化市中小企业服务中心.xlsx")
    assert old.findings == [] and new.findings == []
    assert old.document == new.document and len(new.document["projects"]) == 3
    assert old.location("/projects/0/fiscal").cell == "D4" and new.location("/projects/0/fiscal").cell == "E4"

    def located(path):
        return sorted((f.code, f.location.sheet, f.location.cell) for f in validate_file(path, FrameworkResolver()).findings)

    old_findings = located(LAYOUT_1_0 / "471002_indicator-errors.xlsx")
    new_findings = located(SAMPLES / "returns-with-errors" / "471002_indicator-errors.xlsx")
    assert [(code, sheet) for code, sheet, _ in old_findings] == [(code, sheet) for code, sheet, _ in new_findings]
    shifted = {"A": "B", "B": "C", "C": "D", "D": "E", "E": "F", "F": "G"}  # indicator columns moved right by one
    assert [shifted[cell[0]] + cell[1:] for _, _, cell in old_findings] == [cell for _, _, cell in new_findings]
    assert ("LEVEL2_NOT_IN_LEVEL1", "中小企业公共服务平台运行维护经费", "B12") in old_findings
