"""The generated templates, opened with openpyxl: protection, unlocked cells, validations, lists, metadata."""
from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from fill import template_meta
from openpyxl.utils import range_boundaries

from xlperf.framework.frameworks import load_framework
from xlperf.writers.sendout import make_blank_template, make_templates
from xlperf.framework.spec import load_spec, project_layout
from xlperf.writers.template import legacy_password_hash, sheet_names_for

SEED_SHEETS = ["工信局购置公务用车", "工信局安全生产执法监督管理经费", "公共场所无线局域网建设和免费开放项目服务费及验收费",
               "科技发展工作经费"]


@pytest.fixture(scope="module")
def seed_book(sample_templates):
    return openpyxl.load_workbook(sample_templates["471001"])


def _unlocked(sheet) -> set[str]:
    """Unlocked cells, counting a merged range once (by its top-left cell)."""
    covered = set()
    for merged in sheet.merged_cells.ranges:
        min_col, min_row, max_col, max_row = range_boundaries(str(merged))
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                if (row, col) != (min_row, min_col):
                    covered.add(sheet.cell(row=row, column=col).coordinate)
    return {cell.coordinate for row in sheet.iter_rows() for cell in row
            if cell.protection.locked is False and cell.coordinate not in covered}


def test_sheets_in_order_and_hidden(seed_book):
    assert seed_book.sheetnames == ["填报说明", "单位整体", *SEED_SHEETS, "_lists", "_meta"]
    assert seed_book["_lists"].sheet_state == "hidden"
    assert seed_book["_meta"].sheet_state == "veryHidden"
    assert all(seed_book[name].sheet_state == "visible" for name in ["填报说明", "单位整体", *SEED_SHEETS])


def test_every_sheet_protected_and_structure_locked(seed_book):
    assert seed_book.security.lockStructure
    for sheet in seed_book.worksheets:
        assert sheet.protection.sheet, sheet.title
        assert sheet.protection.password is None  # no password by default


def test_exact_unlocked_cells(seed_book):
    layout = project_layout(load_spec())
    indicator_cells = {f"{col}{row}" for col in "BCDEFG" for row in range(11, 31)}
    # the seed list gives 资金用途, so it is prefilled and locked; 绩效目标 and the plan are inputs
    expected = {"B8", "B7", "C7", "D7", "E7"} | indicator_cells
    for name in SEED_SHEETS:
        assert _unlocked(seed_book[name]) == expected, name
    assert layout["fields"]["goals"] == "B8"
    assert _unlocked(seed_book["单位整体"]) == {"B5", "B6"}
    for name in ("填报说明", "_lists", "_meta"):
        assert _unlocked(seed_book[name]) == set()


def test_unit_without_purpose_has_purpose_input(sample_templates):
    book = openpyxl.load_workbook(sample_templates["471002"])
    assert "C5" in _unlocked(book["“专精特新”企业培育专项经费"])
    assert "C5" not in _unlocked(book["中小企业公共服务平台运行维护经费"])


def test_published_codes_names_budgets(seed_book, seed):
    for name, project in zip(SEED_SHEETS, seed["projects"]):
        sheet = seed_book[name]
        assert sheet["B3"].value == project["project_code"]
        assert sheet["E3"].value == project["project_name"]
        assert sheet["C4"].value == project["budget_total"]
        assert sheet["E4"].value == project["fiscal"]
        assert sheet["G4"].value is None
        assert sheet["C5"].value == project["purpose"]
        assert sheet["A1"].value == f"{project['project_name']}绩效目标表"
        assert sheet["B2"].value == "471001遵化市工业和信息化局本级"
        assert sheet["G2"].value == "单位：万元"


def test_labels_are_the_official_texts(seed_book):
    sheet = seed_book[SEED_SHEETS[0]]
    labels = {cell: sheet[cell].value for cell in ("A3", "D3", "A4", "B4", "D4", "F4", "B5", "A6", "A8", "A10",
                                                   "A11", "B6", "C6", "D6", "E6")}
    assert labels == {"A3": "项目编码", "D3": "项目名称", "A4": "预算规模及资金用途", "B4": "预算数",
                      "D4": "其中：财政资金", "F4": "其他资金", "B5": "资金用途", "A6": "资金支出计划（%）",
                      "A8": "绩效目标", "A10": None, "A11": "绩效指标", "B6": "3月底", "C6": "6月底", "D6": "10月底", "E6": "12月底"}
    # the official table's grid: the group labels span their rows, the texts span the table's width; 绩效指标
    # spans the input rows, below the frozen header row (a merge across the freeze would be cut in two)
    assert {"A4:A5", "A6:A7", "C5:G5", "B8:G8", "E3:G3", "A11:A30"} <= {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.freeze_panes == "A11"
    assert [sheet.cell(row=10, column=c).value for c in range(2, 8)] == [
        "一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]


def test_every_printed_page_says_whose_workbook_and_which_year(seed_book):
    for name in ("填报说明", "单位整体", SEED_SHEETS[0]):
        header = seed_book[name].oddHeader.left.text
        assert header == "471001 遵化市工业和信息化局本级　2022年度项目支出绩效目标表", name
        assert seed_book[name].oddFooter.center.text == "第 &P 页，共 &N 页"


def test_indicator_header_stays_in_sight_while_scrolling(seed_book):
    sheet = seed_book[SEED_SHEETS[0]]
    assert sheet.freeze_panes == "A11"  # rows 1-10: the project block and the indicator columns' names


def _validations(sheet) -> dict[str, object]:
    return {str(v.sqref): v for v in sheet.data_validations.dataValidation}


def test_validations_and_their_sources(seed_book):
    validations = _validations(seed_book[SEED_SHEETS[0]])
    assert validations["B11:B30"].type == "list" and validations["B11:B30"].formula1 == "xl_l1"
    level2 = validations["C11:C30"]
    assert level2.type == "list"
    assert level2.formula1 == 'INDIRECT("xl_l2_"&MATCH($B11,xl_l1,0))'
    plan = validations["B7:E7"]
    assert (plan.type, plan.operator or "between", plan.formula1, plan.formula2) == ("decimal", "between", "0", "1")
    for ref in ("D11:D30", "E11:E30", "F11:F30", "G11:G30", "B8"):
        assert validations[ref].promptTitle and validations[ref].prompt, ref  # an input message on every input
    assert "≥95%" in validations["F11:F30"].prompt
    restricting = {ref: v for ref, v in validations.items() if v.type not in ("none", None) and ref != "D11:D30"}
    assert all(v.showErrorMessage for v in restricting.values())
    # 三级: suggestions from the indicator library, free text still accepted
    library = validations["D11:D30"]
    assert library.type == "list" and not library.showErrorMessage
    assert library.formula1 == 'INDIRECT("xl_lib_"&MATCH($C11,xl_l2_all,0))'
    # no inline list anywhere: Excel drops inline lists over 255 characters
    for sheet in seed_book.worksheets:
        for validation in sheet.data_validations.dataValidation:
            assert not (validation.type == "list" and validation.formula1.startswith('"'))


def test_formats_percent_and_text(seed_book):
    sheet = seed_book[SEED_SHEETS[0]]
    assert all(sheet[c].number_format == "0%" for c in ("B7", "C7", "D7", "E7"))
    assert all(sheet[f"{c}11"].number_format == "@" for c in "BCDEFG")
    assert sheet["B8"].number_format == "@"


def test_cascading_lists_resolve_for_every_level1(seed_book):
    framework = load_framework("cn-2020")
    names = seed_book.defined_names

    def values(name):
        sheet_name, ref = next(iter(names[name].destinations))
        return [c.value for row in seed_book[sheet_name][ref.replace("$", "")] for c in row]

    assert values("xl_l1") == list(framework.level1_names)
    for index, level1 in enumerate(framework.level1_names, start=1):  # MATCH gives this index for this 一级
        assert values(f"xl_l2_{index}") == list(framework.categories[level1])
    assert values("xl_l2_all") == list(framework.level2_names)
    for index, level2 in enumerate(framework.level2_names, start=1):
        suggested = [v for v in values(f"xl_lib_{index}") if v]
        assert suggested == [entry["name"] for entry in framework.library_for(level2)]
    assert "执法行动次数" in values(f"xl_lib_{framework.level2_names.index('数量指标') + 1}")


def test_metadata(seed_book, seed):
    meta = template_meta(seed_book)
    framework = load_framework("cn-2020")
    info = meta["workbook"]
    assert (info["kind"], info["year"], info["framework"], info["framework_sha256"]) == (
        "template", 2022, "cn-2020", framework.sha256)
    assert (info["unit_code"], info["unit_name"]) == ("471001", "遵化市工业和信息化局本级")
    assert info["template_version"] == load_spec().version
    assert [p["project_code"] for p in meta["projects"]] == [p["project_code"] for p in seed["projects"]]
    assert [p["sheet"] for p in meta["projects"]] == SEED_SHEETS
    assert meta["layout.project"] == project_layout(load_spec())


def test_print_setup(seed_book):
    sheet = seed_book[SEED_SHEETS[0]]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth or 1) == 1 and sheet.page_setup.fitToHeight == 0  # 1 is the default
    assert sheet.print_title_rows == "$10:$10"
    # 填报说明 prints as the project sheets it explains do: A4 landscape, one page wide
    instructions = seed_book["填报说明"]
    assert instructions.page_setup.orientation == "landscape" and instructions.page_setup.paperSize == 9


def test_problem_counter_formulas_and_cached_values(seed_book, sample_templates):
    sheet = seed_book[SEED_SHEETS[0]]
    assert sheet["B9"].value.startswith("=") and "SUM(H11:H30)" in sheet["B9"].value
    assert seed_book["填报说明"]["B7"].value.startswith("=")
    values = openpyxl.load_workbook(sample_templates["471001"], data_only=True)
    # purpose prefilled, so per project: goals blank 1 + four milestones blank 4 + no indicator 1
    assert [values[name]["B9"].value for name in SEED_SHEETS] == [6, 6, 6, 6]
    assert values["单位整体"]["B7"].value == 2
    assert values["填报说明"]["B7"].value == 26


def test_same_inputs_same_bytes(tmp_path):
    from conftest import SAMPLES

    first = make_templates(SAMPLES / "projects.csv", tmp_path / "a")
    second = make_templates(SAMPLES / "projects.csv", tmp_path / "b")
    for a, b in zip(first.files, second.files):
        assert a.read_bytes() == b.read_bytes()
    assert first.manifest == second.manifest


def test_manifest(sample_templates):
    manifest = sample_templates["manifest"]
    on_disk = json.loads((sample_templates["dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["framework"] == "cn-2020" and manifest["year"] == 2022
    assert manifest["framework_sha256"] == load_framework("cn-2020").sha256
    assert [u["unit_code"] for u in manifest["units"]] == ["471001", "471002", "471003"]
    assert sum(len(u["projects"]) for u in manifest["units"]) == 9


def test_password_protects_sheets_and_structure(tmp_path):
    from conftest import SAMPLES

    result = make_templates(SAMPLES / "projects.csv", tmp_path, password="s3cret")
    book = openpyxl.load_workbook(result.files[0])
    assert book.security.workbookPassword == legacy_password_hash("s3cret")
    assert book["工信局购置公务用车"].protection.password == legacy_password_hash("s3cret")
    with zipfile.ZipFile(result.files[0]) as archive:
        assert b'lockStructure="1"' in archive.read("xl/workbook.xml")


def test_known_password_hash():
    assert legacy_password_hash("password") == "83AF"  # the value Excel writes for "password"


def test_blank_template(tmp_path):
    result = make_blank_template(tmp_path, count=3, unit_code="471009", unit_name="测试单位", year=2023)
    book = openpyxl.load_workbook(result.files[0])
    assert book.sheetnames[2:5] == ["项目1", "项目2", "项目3"]
    unlocked = _unlocked(book["项目1"])
    assert {"B3", "E3", "C4", "E4", "G4", "C5", "B8"} <= unlocked
    validations = _validations(book["项目1"])
    assert validations["C4"].type == "decimal" and validations["C4"].operator == "greaterThanOrEqual"


def test_sheet_names_are_safe_and_unique():
    names = sheet_names_for(["a/b:c*d?e[f]g\\h", "x" * 40, "x" * 40, "填报说明", "", "'q'"], {"填报说明", "_meta"})
    assert names[0] == "a_b_c_d_e_f_g_h"
    assert names[1] == "x" * 31 and names[2] == "x" * 28 + "(2)"
    assert names[3] == "填报说明(2)"
    assert names[4] == "项目5"
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len(set(names)) == len(names)


def test_cn2021_template_lists(tmp_path):
    from conftest import SAMPLES

    result = make_templates(SAMPLES / "projects.csv", tmp_path, framework="cn-2021")
    book = openpyxl.load_workbook(result.files[0])
    lists = book["_lists"]
    assert [c.value for c in lists["A"] if c.value][1:] == ["产出指标", "效益指标", "满意度指标", "成本指标"]
    assert template_meta(book)["workbook"]["framework"] == "cn-2021"
