"""The summary workbook, JSON and CSV exports, from a Consolidation built by hand (no merge involved).

Two units × a few projects × a few indicators, every input state, findings of both severities, every kind of
missing row, and unit text that looks like formulas planted in names, targets and findings.
"""
from __future__ import annotations

import csv
import io
import json
import math
import posixpath
import re
import subprocess
import zipfile
from pathlib import Path

import lo
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from reference_csv import pandas_csv

from xlperf.consolidate.consolidation import (
    DUPLICATE,
    EXCLUDED,
    FINDING_COLUMNS,
    INCLUDED,
    INCLUDED_WITH_WARNINGS,
    INDICATOR_COLUMNS,
    INPUT_COLUMNS,
    MISSING_COLUMNS,
    STATE_LABELS,
    UNREADABLE,
    Consolidation,
)
from xlperf.consolidate.rows import CHUNK_SIZE, INDICATOR_TABLE
from xlperf.intake.reader import read_workbook
from xlperf.writers.exports import (
    consolidation_data,
    neutralise_csv_text,
    write_csvs,
    write_json,
)
from xlperf.writers.summary import (
    ABOUT,
    ALL_RETURNED,
    DATA,
    FINDINGS,
    INDICATORS,
    MIN_PRINT_SCALE,
    MISSING,
    NO_MANIFEST,
    PROJECTS,
    SPENDING,
    STATISTICS,
    STATUS_LABELS,
    build_summary,
    read_summary_documents,
    write_summary,
)

MILESTONES = ["3月底", "6月底", "10月底", "12月底"]
LEVEL2_TREE = {"产出指标": ["数量指标", "质量指标", "时效指标", "成本指标"],
               "效益指标": ["经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"],
               "满意度指标": ["服务对象满意度指标"]}
LEVEL1 = list(LEVEL2_TREE)
PLANTED = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1)", "\t=1"]
UNITS = {"471001": "甲单位", "471002": "乙单位"}
FILES = {"471001": "returns/471001_甲单位.xlsx", "471002": "returns/471002_乙单位.xlsx"}
NaN = float("nan")

# unit, code, name, budget, fiscal, other, plan percentages, status, indicators (level1, level2, name, target,
# operator, number, unit, kind)
PROJECTS_IN = [
    ("471001", "P001", PLANTED[0], 100.0, 80.0, 20.0, [30, 60, 90, 100], INCLUDED_WITH_WARNINGS, [
        ("产出指标", "数量指标", "培训人次", "≥20人次", "≥", 20.0, "人次", "quantitative"),
        ("产出指标", "质量指标", "合格率", "≥95%", "≥", 95.0, "%", "quantitative"),
        ("效益指标", "社会效益指标", "服务水平", "提升服务水平", None, None, None, "qualitative"),
        ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "≥", 90.0, "%", "quantitative")]),
    ("471001", "P002", PLANTED[1], 50.5, 50.5, NaN, [25, 50, NaN, 100], INCLUDED_WITH_WARNINGS, [
        ("产出指标", "成本指标", "成本控制", "-2%", "=", -2.0, "%", "quantitative"),
        ("效益指标", "经济效益指标", "节约", PLANTED[4], None, None, None, "invalid")]),
    ("471001", "P003", "办公设备购置", 12.34, 12.34, NaN, [10, 40, 80, 100], INCLUDED_WITH_WARNINGS, [
        ("产出指标", "时效指标", "及时性", "100%", "=", 100.0, "%", "quantitative")]),
    ("471002", "P101", PLANTED[2], 200.0, 150.0, 50.0, [20, 50, 80, 100], INCLUDED, [
        ("产出指标", "数量指标", "检查次数", "≥12次", "≥", 12.0, "次", "quantitative"),
        ("效益指标", "生态效益指标", "环境", PLANTED[3], None, None, None, "invalid"),
        ("效益指标", "不在体系内", "其他效益", "良好", None, None, None, "qualitative")]),
    ("471002", "P102", PLANTED[3], 7.25, 7.25, NaN, [0, 50, 75, 100], "invalid", [
        ("满意度指标", "服务对象满意度指标", "满意度", "≥85%", "≥", 85.0, "%", "quantitative")]),
]
PROJECT_HEADERS = (["单位编码", "单位名称", "项目编码", "项目名称", "预算数", "财政资金", "其他资金"]
                   + [f"{m}支出比例" for m in MILESTONES] + [f"{m}计划支出" for m in MILESTONES]
                   + [f"{l1}数" for l1 in LEVEL1] + ["指标数", "状态", "来源文件", "来源工作表"])
INDICATOR_HEADERS = ["单位编码", "单位名称", "项目编码", "项目名称", "一级指标", "二级指标", "三级指标", "绩效指标描述",
                     "指标值", "比较符", "数值", "单位", "类型", "指标值确定依据", "来源文件", "来源工作表", "来源单元格"]
FINDING_HEADERS = ["文件", "单位编码", "严重程度", "代码", "工作表", "单元格", "字段", "填报值", "问题", "修改建议"]


def carried(unit_code: str, text: str = "") -> dict:
    """A document as merge carries it (the shape ``reader`` reads back from a summary's _data sheet)."""
    unit = {"code": unit_code, "name": UNITS.get(unit_code)}
    return {"document": {"year": 2022, "framework": "cn-2020", "unit": unit, "overall_goal": text, "projects": []},
            "meta": {"workbook": {"kind": "template", "unit_code": unit_code}},
            "sources": {"sheets": ["单位整体"], "cells": {"/unit/code": [0, "B3"]}},
            "file": FILES.get(unit_code, "x.xlsx")}


def big_text() -> str:
    """Over 100,000 characters: runs of spaces at chunk edges, an escape-looking run, characters beyond the BMP."""
    return ("  目标 " * 12000) + "_x0041_" + ("𠀀" * 20000) + (" " * 31000) + "=1+1" + "尾"


def make_consolidation(expect: str | None = "manifest.json", missing: bool = True) -> Consolidation:
    projects, indicators = [], []
    for unit, code, name, budget, fiscal, other, pcts, status, items in PROJECTS_IN:
        row = {"unit_code": unit, "unit_name": UNITS[unit], "project_code": code, "project_name": name,
               "budget_total": budget, "fiscal": fiscal, "other": other}
        row.update({f"plan_pct/{m}": float(p) for m, p in zip(MILESTONES, pcts)})
        row.update({f"plan_amount/{m}": budget * p / 100 for m, p in zip(MILESTONES, pcts)})
        row.update({f"count/{l1}": sum(1 for item in items if item[0] == l1) for l1 in LEVEL1})
        row.update(indicator_count=len(items), status=status, source_file=FILES[unit], source_sheet=f"表{code}")
        projects.append(row)
        for number, (level1, level2, indicator, target, operator, value, unit_text, kind) in enumerate(items):
            indicators.append({"unit_code": unit, "unit_name": UNITS[unit], "project_code": code,
                               "project_name": name, "level1": level1, "level2": level2, "name": indicator,
                               "description": "=1+2" if number == 0 else f"{indicator}说明", "target": target,
                               "operator": operator, "number": value, "unit": unit_text, "kind": kind,
                               "basis": "根据年初工作计划安排", "source_file": FILES[unit], "source_sheet": f"表{code}",
                               "source_cell": f"F{11 + number}"})
    project_columns = (["unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other"]
                       + [f"plan_pct/{m}" for m in MILESTONES] + [f"plan_amount/{m}" for m in MILESTONES]
                       + [f"count/{l1}" for l1 in LEVEL1]
                       + ["indicator_count", "status", "source_file", "source_sheet"])
    findings = [
        {"file": FILES["471001"], "unit_code": "471001", "severity": "warning", "code": "COST_NOT_MONEY",
         "sheet": "表P001", "cell": "F14", "field": "target", "value": "=1+1", "message": "成本类指标的指标值不是金额",
         "hint": "成本指标写金额，如 ≤16万元"},
        {"file": "returns/471003_丙单位.xlsx", "unit_code": "471003", "severity": "error", "code": "PLAN_NOT_100",
         "sheet": "表P201", "cell": "F7", "field": "spending_plan/12月底", "value": "95", "message": "12月底应为 100%",
         "hint": "年底累计支出比例应为 100%"},
        {"file": "returns/broken.xlsx", "unit_code": None, "severity": "error", "code": "READ_NOT_WORKBOOK",
         "sheet": None, "cell": None, "field": None, "value": None, "message": "不是 Excel 工作簿",
         "hint": "请另存为 .xlsx 后重新报送"},
    ]
    inputs = [
        {"file": FILES["471001"], "state": INCLUDED_WITH_WARNINGS, "reason": "", "unit_code": "471001",
         "unit_name": "甲单位", "projects": 3, "errors": 0, "warnings": 1, "saved": "2021-12-01T09:00:00Z",
         "sha256": "a" * 64},
        {"file": FILES["471002"], "state": INCLUDED, "reason": "", "unit_code": "471002", "unit_name": "乙单位",
         "projects": 2, "errors": 0, "warnings": 0, "saved": "2021-12-02T09:00:00Z", "sha256": "b" * 64},
        {"file": "returns/471003_丙单位.xlsx", "state": EXCLUDED, "reason": "有 1 个错误，未汇总", "unit_code": "471003",
         "unit_name": "丙单位", "projects": 1, "errors": 1, "warnings": 0, "saved": "2021-12-03T09:00:00Z",
         "sha256": "c" * 64},
        {"file": "returns/broken.xlsx", "state": UNREADABLE, "reason": "不是 Excel 工作簿", "unit_code": None,
         "unit_name": None, "projects": 0, "errors": 1, "warnings": 0, "saved": None, "sha256": "d" * 64},
        {"file": "returns/471002_乙单位 - 副本.xlsx", "state": DUPLICATE, "reason": f"与 {FILES['471002']} 内容完全相同，已跳过",
         "unit_code": "471002", "unit_name": "乙单位", "projects": 2, "errors": 0, "warnings": 0,
         "saved": "2021-12-02T09:00:00Z", "sha256": "b" * 64},
    ]
    missing_rows = [
        {"kind": "unit", "unit_code": "471004", "unit_name": "丁单位", "project_code": None, "project_name": None,
         "file": "471004_丁单位.xlsx"},
        {"kind": "project", "unit_code": "471001", "unit_name": "甲单位", "project_code": "P004",
         "project_name": "未报项目", "file": "471001_甲单位.xlsx"},
        {"kind": "unexpected", "unit_code": "471009", "unit_name": "@未知单位", "project_code": "P900",
         "project_name": "=cmd|' /C calc'!A0", "file": "returns/471009.xlsx"},
    ] if missing else []
    return Consolidation(
        year=2022, framework="cn-2020", milestones=MILESTONES, level1_names=LEVEL1, level2_tree=LEVEL2_TREE,
        projects=pd.DataFrame(projects, columns=project_columns),
        indicators=pd.DataFrame(indicators, columns=INDICATOR_COLUMNS),
        findings=pd.DataFrame(findings, columns=FINDING_COLUMNS),
        inputs=pd.DataFrame(inputs, columns=INPUT_COLUMNS),
        missing=pd.DataFrame(missing_rows, columns=MISSING_COLUMNS),
        documents=[carried("471001", big_text()), carried("471002", PLANTED[0])],
        made_from="5 个文件", data_as_of="2021-12-03T09:00:00Z", expect=expect)


def total(column: str) -> float:
    frame = make_consolidation().projects
    return math.fsum(frame[column].dropna())


@pytest.fixture(scope="module")
def summary_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("summary") / "部门汇总.xlsx"
    write_summary(make_consolidation(), path)
    return path


@pytest.fixture(scope="module")
def book(summary_path):
    return openpyxl.load_workbook(summary_path)


@pytest.fixture(scope="module")
def values(summary_path):
    return openpyxl.load_workbook(summary_path, data_only=True)


def rows_of(sheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def unbroken(header_row: list) -> list:
    """A header row as its labels: the cells break long headers into lines where the words part."""
    return [value.replace("\n", "") if isinstance(value, str) else value for value in header_row]


def column_of(headers: list[str], header: str) -> str:
    return openpyxl.utils.get_column_letter(headers.index(header) + 1)


# ----- workbook structure -----

def test_sheets_in_order_with_data_very_hidden(book):
    assert book.sheetnames == [ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA]
    assert [book[name].sheet_state for name in book.sheetnames] == ["visible"] * 7 + ["veryHidden"]
    assert book.active.title == ABOUT


def test_print_setup_on_every_visible_sheet(book):
    for sheet in book.worksheets[:-1]:
        assert sheet.page_setup.paperSize == 9, sheet.title  # A4
        assert sheet.page_setup.orientation == "landscape", sheet.title
        if sheet.sheet_properties.pageSetUpPr and sheet.sheet_properties.pageSetUpPr.fitToPage:  # one page wide
            assert sheet.page_setup.fitToWidth in (None, 1), sheet.title  # 1 is the default, left out of the XML
            assert sheet.page_setup.fitToHeight == 0, sheet.title
        else:  # too wide for one page at a legible size: 70%, pages across repeat what names the row
            assert (sheet.page_setup.scale, sheet.page_setup.pageOrder) == (MIN_PRINT_SCALE, "overThenDown")
            assert sheet.print_title_cols in ("$A:$D", "$A:$B"), sheet.title
        assert sheet.print_title_rows in ("$1:$1", "$1:$2"), sheet.title
        if sheet.title != ABOUT:  # its own first row is the title; the others print it atop every page
            assert sheet.oddHeader.center.text == "2022年度部门项目支出绩效目标汇总", sheet.title
    # the source columns (来源文件, 来源工作表) are not printed
    assert book[PROJECTS].print_area == f"'{PROJECTS}'!$A$1:${column_of(PROJECT_HEADERS, '状态')}$7"


def test_fonts_are_songti_10(book):
    for sheet in book.worksheets[:-1]:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert (cell.font.name, cell.font.sz) in (("宋体", 10), ("宋体", 16)), (sheet.title, cell.coordinate)


# ----- 项目汇总 -----

def test_project_sheet_headers_and_rows(book):
    rows = rows_of(book[PROJECTS])
    assert unbroken(rows[0]) == PROJECT_HEADERS
    shown = dict(zip(PROJECT_HEADERS, rows[0]))
    assert (shown["财政资金"], shown["3月底支出比例"], shown["3月底计划支出"], shown["产出指标数"]) == (
        "财政\n资金", "3月底\n支出比例", "3月底\n计划支出", "产出\n指标数")
    first = dict(zip(PROJECT_HEADERS, rows[1]))
    assert first["单位编码"] == "471001" and first["单位名称"] == "甲单位" and first["项目编码"] == "P001"
    assert first["项目名称"] == PLANTED[0]
    assert (first["预算数"], first["财政资金"], first["其他资金"]) == (100, 80, 20)
    assert [first[f"{m}支出比例"] for m in MILESTONES] == [0.3, 0.6, 0.9, 1.0]  # 30 → 0.30 shown as 30%
    assert [first[f"{m}计划支出"] for m in MILESTONES] == [30, 60, 90, 100]
    assert [first[f"{l1}数"] for l1 in LEVEL1] + [first["指标数"]] == [2, 1, 1, 4]
    assert first["状态"] == STATE_LABELS[INCLUDED_WITH_WARNINGS][0]
    assert (first["来源文件"], first["来源工作表"]) == (FILES["471001"], "表P001")
    second = dict(zip(PROJECT_HEADERS, rows[2]))
    assert second["其他资金"] is None and second["10月底支出比例"] is None  # NaN → blank
    assert dict(zip(PROJECT_HEADERS, rows[5]))["状态"] == STATUS_LABELS["invalid"]
    assert [row[3] for row in rows[1:6]] == [p[2] for p in PROJECTS_IN]


def test_project_sheet_formats_freeze_and_filter(book):
    sheet = book[PROJECTS]
    for header, expected in (("预算数", "#,##0.00"), ("3月底支出比例", "0%"), ("12月底计划支出", "#,##0.00"),
                             ("指标数", "0")):
        letter = column_of(PROJECT_HEADERS, header)
        assert sheet[f"{letter}2"].number_format == expected, header
        assert sheet[f"{letter}7"].number_format == expected, header  # the 合计 row too
    assert sheet.freeze_panes == "E2"
    last = column_of(PROJECT_HEADERS, "来源工作表")
    assert sheet.auto_filter.ref == f"A1:{last}6"  # header and data rows, not the 合计 row
    assert sheet.column_dimensions["D"].width > sheet.column_dimensions["A"].width


def test_totals_row_has_sum_formulas_with_cached_values(book, values):
    sheet, cached = book[PROJECTS], values[PROJECTS]
    assert sheet["A7"].value == "合计"
    for header, key in [("预算数", "budget_total"), ("财政资金", "fiscal"), ("其他资金", "other"),
                        *((f"{m}计划支出", f"plan_amount/{m}") for m in MILESTONES),
                        *((f"{l1}数", f"count/{l1}") for l1 in LEVEL1), ("指标数", "indicator_count")]:
        letter = column_of(PROJECT_HEADERS, header)
        assert sheet[f"{letter}7"].value == f"=SUM({letter}2:{letter}6)", header
        assert cached[f"{letter}7"].value == pytest.approx(total(key)), header
    assert cached["E7"].value == pytest.approx(370.09)
    budget = column_of(PROJECT_HEADERS, "预算数")
    for m in MILESTONES:  # the department's cumulative share, from the totals
        letter, amount = column_of(PROJECT_HEADERS, f"{m}支出比例"), column_of(PROJECT_HEADERS, f"{m}计划支出")
        assert sheet[f"{letter}7"].value == f"={'IF'}({budget}7=0,0,{amount}7/{budget}7)"
        assert cached[f"{letter}7"].value == pytest.approx(total(f"plan_amount/{m}") / total("budget_total"))


def test_only_totals_are_formulas_and_unit_text_stays_text(book):
    formulas = {(sheet.title, cell.coordinate) for sheet in book.worksheets for row in sheet.iter_rows()
                for cell in row if cell.data_type == "f"}
    total_columns = [column_of(PROJECT_HEADERS, h) for h in PROJECT_HEADERS[4:-3]]
    about_totals = {(ABOUT, f"B{row}") for row in (15, 16, 17)}  # 预算数/财政资金/其他资金合计 → 项目汇总
    assert formulas == {(PROJECTS, f"{letter}7") for letter in total_columns} | about_totals
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@", "\t")) \
                        and (sheet.title, cell.coordinate) not in formulas:
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    texts.append(cell.value)
    for planted in PLANTED + ["=1+2", "=1+1", "=cmd|' /C calc'!A0"]:
        assert planted in texts, planted


def test_no_hyperlinks_or_formulas_in_the_xml(summary_path):
    with zipfile.ZipFile(summary_path) as archive:
        sheets = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
    assert not any("<hyperlink" in xml for xml in sheets)
    assert sum(xml.count("<f>") for xml in sheets) == len(PROJECT_HEADERS[4:-3]) + 3


# ----- 汇总说明 -----

def test_about_sheet_facts_and_inputs(book, values):
    sheet, cached = book[ABOUT], values[ABOUT]
    assert sheet["A1"].value == "2022年度部门项目支出绩效目标汇总"
    facts = {sheet.cell(row, 1).value: sheet.cell(row, 2).value for row in range(3, 22)}
    # the framework by its Chinese title, times in Beijing time with the zone named (no raw UTC, no English)
    assert facts["预算年度"] == 2022 and facts["指标体系"] == "项目支出绩效目标表（2020 版指标体系）"
    assert facts["数据截至"] == "2021-12-03 17:00（北京时间）" and facts["汇总来源"] == "5 个文件"
    assert facts["报送清单"] == "manifest.json"
    for labels in STATE_LABELS.values():
        assert facts[f"文件数：{labels[0]}"] == 1
    assert facts["项目数"] == 5 and facts["指标数"] == 11
    assert facts["预算数合计（万元）"] == f"='{PROJECTS}'!$E$7"
    assert facts["财政资金合计（万元）"] == f"='{PROJECTS}'!$F$7"
    assert facts["其他资金合计（万元）"] == f"='{PROJECTS}'!$G$7"
    assert [cached[f"B{row}"].value for row in (15, 16, 17)] == pytest.approx([370.09, 300.09, 70.0])
    assert (facts["未报送单位数"], facts["未报送项目数"], facts["未下发的报送数"]) == (1, 1, 1)
    rows = rows_of(sheet)
    header = rows.index(["文件", "状态", "原因", "单位编码", "单位名称", "项目数", "错误数", "警告数", "保存时间\n（北京时间）"])
    table = rows[header + 1:]
    assert [row[1] for row in table] == [STATE_LABELS[s][0] for s in (INCLUDED_WITH_WARNINGS, INCLUDED, EXCLUDED,
                                                                      UNREADABLE, DUPLICATE)]
    assert table[2] == ["returns/471003_丙单位.xlsx", "未汇总（有错误）", "有 1 个错误，未汇总", "471003", "丙单位", 1, 1, 0,
                        "2021-12-03 17:00"]  # the zone is in the header: the time stays on one line
    assert table[3][3:5] == [None, None] and table[3][8] is None


def test_about_sheet_without_manifest(tmp_path):
    path = tmp_path / "s.xlsx"
    write_summary(make_consolidation(expect=None, missing=False), path)
    book = openpyxl.load_workbook(path)
    facts = {row[0]: row[1] for row in rows_of(book[ABOUT]) if row[0]}
    assert facts["报送清单"] == "未提供" and facts["未报送"] == NO_MANIFEST
    assert rows_of(book[MISSING]) == [[NO_MANIFEST]]


# ----- 绩效指标明细, 指标统计, 资金支出进度 -----

def test_indicator_sheet(book):
    sheet = book[INDICATORS]
    rows = rows_of(sheet)
    assert unbroken(rows[0]) == INDICATOR_HEADERS and len(rows) == 12
    assert rows[1] == ["471001", "甲单位", "P001", PLANTED[0], "产出指标", "数量指标", "培训人次", "=1+2", "≥20人次", "≥",
                       20, "人次", "定量", "根据年初工作计划安排", FILES["471001"], "表P001", "F11"]
    kinds = {row[8]: (row[10], row[12]) for row in rows[1:]}
    assert kinds["提升服务水平"] == (None, "定性") and kinds[PLANTED[4]] == (None, "无法识别")
    assert kinds["-2%"] == (-2, "定量")
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:Q12"


def test_indicator_statistics(book):
    rows = rows_of(book[STATISTICS])
    assert rows[1][2:6] == LEVEL1 + ["合计"]
    level2 = [name for names in LEVEL2_TREE.values() for name in names]
    # 乙单位 has one 效益指标 whose 二级 is outside the framework: an 其他 column under 效益指标
    assert rows[1][6:] == level2[:4] + level2[4:8] + ["其他"] + level2[8:]
    assert rows[0][6] == "产出指标" and rows[0][10] == "效益指标" and rows[0][15] == "满意度指标"
    assert rows[2][:6] == ["471001", "甲单位", 4, 2, 1, 7]
    assert rows[3][:6] == ["471002", "乙单位", 1, 2, 1, 4]
    assert rows[4][0] == "合计" and rows[4][2:6] == [5, 4, 2, 11]
    assert rows[4][6:] == [2, 1, 1, 1, 1, 1, 1, 0, 1, 2]


def test_spending_progress(book):
    rows = rows_of(book[SPENDING])
    assert rows[1][3:11] == MILESTONES * 2
    department = rows[2]
    assert department[0] == "部门合计" and department[2] == pytest.approx(370.09)
    amounts = [total(f"plan_amount/{m}") for m in MILESTONES]
    assert department[3:7] == pytest.approx(amounts)
    assert department[7:11] == pytest.approx([a / 370.09 for a in amounts])
    assert rows[3][:3] == ["471001", "甲单位", pytest.approx(162.84)]
    assert rows[4][3:7] == pytest.approx([40, 103.625, 165.4375, 207.25])
    assert book[SPENDING]["H3"].number_format == "0.0%"


def charts_by_sheet(path: Path) -> dict[str, list[str]]:
    """Sheet name → the chart parts its drawing shows, following the package relationships."""
    def rels(archive, part):
        folder, name = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", name + ".rels")
        if rels_part not in archive.namelist():
            return {}
        xml = archive.read(rels_part).decode()
        return {rid: posixpath.normpath(posixpath.join(folder, target))
                for rid, target in re.findall(r'Id="(\w+)"[^>]*Target="([^"]+)"', xml)}

    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        targets = rels(archive, "xl/workbook.xml")
        result = {}
        for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+"(?: state="\w+")? r:id="(\w+)"', workbook):
            sheet_part = targets[rid]
            drawings = re.findall(r'<drawing r:id="(\w+)"', archive.read(sheet_part).decode())
            sheet_rels = rels(archive, sheet_part)
            result[name] = [chart for rid in drawings for chart in rels(archive, sheet_rels[rid]).values()
                            if "/charts/" in chart]
        return result


def test_charts_on_statistics_and_spending_sheets(summary_path):
    charts = charts_by_sheet(summary_path)
    assert set(charts) == {ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING, DATA}
    assert {name for name, parts in charts.items() if parts} == {STATISTICS, SPENDING}
    with zipfile.ZipFile(summary_path) as archive:
        statistics = archive.read(charts[STATISTICS][0]).decode()
        spending = archive.read(charts[SPENDING][0]).decode()
    assert "<c:barChart>" in statistics and '<c:grouping val="stacked"/>' in statistics
    assert statistics.count("<c:ser>") == 2  # one series per unit
    assert f"<c:f>{STATISTICS}!$C$2:$E$2</c:f>" in statistics  # categories: the 一级 headers
    assert f"<c:f>{STATISTICS}!$C$3:$E$3</c:f>" in statistics and f"<c:f>{STATISTICS}!$B$4</c:f>" in statistics
    assert "<c:lineChart>" in spending and f"<c:f>{SPENDING}!$D$3:$G$3</c:f>" in spending  # the 部门合计 row
    # the values cached in each chart are those of its cells (a viewer that does not calculate shows them)
    book = openpyxl.load_workbook(summary_path)
    stacked = [[book[STATISTICS].cell(row, column).value for column in (3, 4, 5)] for row in (3, 4)]
    cached = [[int(value) for value in re.findall(r"<c:v>(\d+)</c:v>", series.split("<c:val>")[1])]
              for series in statistics.split("<c:ser>")[1:]]
    assert cached == stacked and all(map(any, stacked))
    planned = [book[SPENDING].cell(3, column).value for column in (4, 5, 6, 7)]
    assert [float(value) for value in re.findall(r"<c:v>([\d.]+)</c:v>", spending.split("<c:val>")[1])] == planned


# ----- 校验问题, 未报送 -----

def test_findings_sheet(book):
    sheet = book[FINDINGS]
    rows = rows_of(sheet)
    assert rows[0] == FINDING_HEADERS
    assert rows[1] == [FILES["471001"], "471001", "警告", "COST_NOT_MONEY", "表P001", "F14", "指标值", "=1+1",
                       "成本类指标的指标值不是金额", "成本指标写金额，如 ≤16万元"]
    assert rows[2][2] == "错误" and rows[2][6] == "资金支出计划 12月底"
    assert rows[3][1] is None and rows[3][4:8] == [None, None, None, None]
    assert sheet["C3"].font.color.rgb.endswith("9C0006")
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J4"


def test_missing_sheet(book, tmp_path):
    rows = rows_of(book[MISSING])
    assert rows[0] == ["类别", "单位编码", "单位名称", "项目编码", "项目名称", "文件"]
    assert [row[0] for row in rows[1:]] == ["未报送单位", "未报送项目", "未下发的报送"]
    assert rows[3][2] == "@未知单位" and rows[3][4] == "=cmd|' /C calc'!A0"
    path = tmp_path / "all-back.xlsx"
    write_summary(make_consolidation(missing=False), path)
    assert rows_of(openpyxl.load_workbook(path)[MISSING]) == [[ALL_RETURNED]]


# ----- _data: the canonical documents for a higher-level merge -----

def test_data_sheet_round_trips_through_calamine(summary_path):
    rows = CalamineWorkbook.from_path(str(summary_path)).get_sheet_by_name(DATA).to_python()
    assert rows[0][0] == "xlperf-summary"
    assert [row[0] for row in rows[1:]] == ["document", "document"]
    expected = make_consolidation().documents
    assert len(json.dumps(expected[0], ensure_ascii=False)) > 100_000
    big_row = [cell for cell in rows[1][1:] if cell != ""]
    assert len(big_row) >= 4
    assert all(len(cell.encode("utf-16-le")) // 2 <= CHUNK_SIZE for cell in big_row)  # Excel counts UTF-16 units
    assert read_summary_documents(rows) == expected


def test_read_summary_documents_rejects_other_sheets():
    with pytest.raises(ValueError):
        read_summary_documents([["xlperf-meta", "1"]])
    with pytest.raises(ValueError):
        read_summary_documents([])
    with pytest.raises(ValueError):
        read_summary_documents([["xlperf-summary", "1"], ["document", '{"broken": ', ""]])
    rows = [["xlperf-summary", "1", ""], ["", "", ""], ["document", '{"a": ', '1}']]  # padded as calamine pads
    assert read_summary_documents(rows) == [{"a": 1}]


def test_reader_reads_the_summary_back_as_documents(summary_path):
    documents = read_workbook(summary_path)
    assert [doc.document["unit"]["code"] for doc in documents] == ["471001", "471002"]
    assert documents[0].document["overall_goal"] == big_text()
    assert documents[1].path.endswith("::" + FILES["471002"])


def test_same_consolidation_gives_identical_bytes(summary_path, tmp_path):
    again = tmp_path / "again.xlsx"
    write_summary(make_consolidation(), again)
    assert again.read_bytes() == summary_path.read_bytes() == build_summary(make_consolidation())


def test_empty_consolidation_still_writes(tmp_path):
    empty = Consolidation(year=None, framework=None, milestones=MILESTONES, level1_names=[], level2_tree={},
                          projects=make_consolidation().projects.iloc[0:0],
                          indicators=pd.DataFrame(columns=INDICATOR_COLUMNS),
                          findings=pd.DataFrame(columns=FINDING_COLUMNS), inputs=pd.DataFrame(columns=INPUT_COLUMNS),
                          missing=pd.DataFrame(columns=MISSING_COLUMNS))
    path = tmp_path / "empty.xlsx"
    write_summary(empty, path)
    book = openpyxl.load_workbook(path)
    assert book[ABOUT]["A1"].value == "部门项目支出绩效目标汇总"
    assert book[PROJECTS]["A2"].value == "合计" and book[PROJECTS]["E2"].value == "=0"


# ----- exports -----

@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), (PLANTED[0], "'" + PLANTED[0]), ("正常文本", "正常文本"), ("a=1", "a=1"), ("", ""),
    (-2.0, -2.0), (5, 5), (None, None), ("+A1", "'+A1"), ("-A1*2", "'-A1*2"), ("=", "="), ("-", "-"),
    # not formulas: a lone operator (the ＝ of ＝16万元), numbers and percentages as text
    ("+1", "+1"), ("-2%", "-2%"), ("-0.5", "-0.5"), ("@", "@"),
])
def test_neutralise_csv_text(value, expected):
    assert neutralise_csv_text(value) == expected


def test_csv_exports(tmp_path):
    consolidation = make_consolidation()
    paths = write_csvs(consolidation, tmp_path / "csv", lang="en")
    assert [path.name for path in paths] == ["projects.csv", "indicators.csv", "findings.csv", "inputs.csv",
                                             "missing.csv"]
    for path in paths:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    tables = {path.stem: list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))) for path in paths}
    projects = tables["projects"]
    assert projects[0] == list(consolidation.projects.columns)
    assert [row[3] for row in projects[1:]] == ["'" + PLANTED[0], "'+1+1", "办公设备购置", "'-2+3", "'@SUM(1)"]
    assert projects[1][4:7] == ["100.0", "80.0", "20.0"] and projects[2][6] == ""
    indicators = {row[8]: row for row in tables["indicators"][1:]}
    assert indicators["-2%"][10] == "-2.0"  # a negative number stays a number, and -2% is no formula
    assert "'\t=1" in indicators and "'@SUM(1)" in indicators
    assert tables["findings"][1][7] == "'=1+1"
    assert tables["missing"][3][2:5] == ["'@未知单位", "P900", "'=cmd|' /C calc'!A0"]
    assert len(tables["inputs"]) == 6
    for path in paths:  # written a row at a time, the same bytes as pandas writes from the DataFrame
        assert path.read_bytes() == pandas_csv(getattr(consolidation, path.stem)), path.name


def test_json_export_loads_back_equal(tmp_path):
    consolidation = make_consolidation()
    path = tmp_path / "out" / "summary.json"
    write_json(consolidation, path)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "甲单位" in text  # ensure_ascii=False
    data = json.loads(text)
    assert data == consolidation_data(consolidation)
    # written a record at a time, the text is what one json.dumps of the whole would give
    assert text == json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    assert (data["year"], data["framework"], data["milestones"]) == (2022, "cn-2020", MILESTONES)

    def records(frame):
        return [{k: (None if not isinstance(v, str) and v is not None and pd.isna(v) else v) for k, v in row.items()}
                for row in frame.astype(object).to_dict("records")]

    for name in ("inputs", "projects", "indicators", "findings", "missing"):
        assert data[name] == records(getattr(consolidation, name)), name
    assert data["projects"][1]["other"] is None and data["projects"][0]["count/产出指标"] == 2
    assert data["documents"] == consolidation.documents


def test_json_export_writes_any_document_as_json_dumps_of_its_plain_values(tmp_path):
    """The export lays out each record itself (the standard library indents in pure Python): any value a
    document may hold comes out as ``json.dumps(indent=1)`` of the plain values (``consolidation_data``)."""
    import decimal
    import enum

    import numpy as np

    class Named(str):
        pass

    class Level(enum.IntEnum):
        HIGH = 3

    awkward = {"text": "引号\"、反斜杠\\、换行\n、\x01、\u2028、😀", "empty": {}, "none": [], "pair": ("a", 1),
               "numbers": [0, -1, 10**30, 1.5, -0.0, 1e300, math.nan, math.inf, -math.inf, True, False, None],
               "odd": [decimal.Decimal("1.10"), np.int64(5), np.float64(2.5), np.float64("nan"), pd.NA, Level.HIGH,
                       Named("子类")],
               1: "key 1", 1.5: {True: None, None: [[], [{}]]}, Named("k"): "key of a subclass"}
    consolidation = Consolidation(year=2022, framework="cn-2020", milestones=MILESTONES, level1_names=LEVEL1,
                                  level2_tree=LEVEL2_TREE, projects=[], indicators=[], findings=[], inputs=[],
                                  missing=[], documents=[{"document": awkward, "file": "a.xlsx"}, {"document": {}}])
    path = tmp_path / "summary.json"
    write_json(consolidation, path)
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(consolidation_data(consolidation), ensure_ascii=False, indent=1) + "\n"
    assert json.loads(text)["documents"][0]["document"]["1.5"] == {"True": None, "None": [[], [{}]]}


# ----- LibreOffice: it opens, prints and recalculates the summary -----

@pytest.fixture(scope="module")
def libreoffice_csv(summary_path, tmp_path_factory) -> dict[str, Path]:
    return lo.convert_csv(summary_path, tmp_path_factory.mktemp("lo-csv"))


def test_libreoffice_prints_the_summary(summary_path, tmp_path):
    pdf = lo.convert(summary_path, "pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                             check=True).stdout).group(1))
    assert 7 <= pages <= 12  # one or two pages per sheet, every sheet one page wide
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    assert len(list(tmp_path.glob("page-*.png"))) == pages
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for label in ("2022年度部门项目支出绩效目标汇总", "合计", "部门累计计划支出进度", "未报送单位"):
        assert label in text
    assert "来源工作表" not in text.split("绩效指标明细")[0]  # source columns are not printed on 项目汇总


def test_libreoffice_recalculates_the_same_totals(libreoffice_csv):
    assert list(libreoffice_csv)[:7] == [ABOUT, PROJECTS, INDICATORS, STATISTICS, SPENDING, FINDINGS, MISSING]
    rows = list(csv.reader(io.StringIO(libreoffice_csv[PROJECTS].read_text(encoding="utf-8"))))
    assert unbroken(rows[0]) == PROJECT_HEADERS
    totals = dict(zip(PROJECT_HEADERS, rows[6]))
    assert totals["单位编码"] == "合计"
    assert float(totals["预算数"]) == pytest.approx(370.09)
    assert float(totals["其他资金"]) == pytest.approx(70.0)
    for m in MILESTONES:
        assert float(totals[f"{m}计划支出"]) == pytest.approx(total(f"plan_amount/{m}"))
        # LibreOffice writes percent-formatted cells with their % sign even when not "as shown"
        assert float(totals[f"{m}支出比例"].rstrip("%")) / 100 == pytest.approx(total(f"plan_amount/{m}") / 370.09)
    assert [int(totals[f"{l1}数"]) for l1 in LEVEL1] + [int(totals["指标数"])] == [5, 4, 2, 11]
    assert [row[3] for row in rows[1:6]] == [p[2] for p in PROJECTS_IN]  # planted text is still text
    about = list(csv.reader(io.StringIO(libreoffice_csv[ABOUT].read_text(encoding="utf-8"))))
    facts = {row[0]: row[1] for row in about if row}
    assert float(facts["预算数合计（万元）"]) == pytest.approx(370.09)
    assert float(facts["财政资金合计（万元）"]) == pytest.approx(300.09)


def test_libreoffice_reads_every_indicator_row_in_its_place(libreoffice_csv):
    """The rows after the header carry no row or cell references (see ``sheetxml``): LibreOffice must still
    put every value in its own row and column."""
    rows = list(csv.reader(io.StringIO(libreoffice_csv[INDICATORS].read_text(encoding="utf-8"))))
    frame = make_consolidation().indicators
    assert unbroken(rows[0]) == [column.header for column in INDICATOR_TABLE]
    assert len(rows) == len(frame) + 1
    for key in ("unit_code", "name", "target", "source_cell"):
        position = [column.key for column in INDICATOR_TABLE].index(key)
        assert [row[position] for row in rows[1:]] == [str(value) for value in frame[key]], key


def test_values_that_are_not_text_or_numbers_are_written_as_their_text(tmp_path):
    """A crafted summary read back can carry a list where a name goes, or a dict as a finding's value: the
    summary measures and writes them as text rather than failing."""
    consolidation = make_consolidation()
    projects = consolidation.projects.copy()
    projects["unit_name"] = projects["unit_name"].astype(object)
    projects.at[0, "unit_name"] = ["甲", "乙"]
    findings = consolidation.findings.copy().astype(object)
    findings.at[0, "value"] = {"a": 1}
    crafted = Consolidation(year=2022, framework="cn-2020", milestones=MILESTONES, level1_names=LEVEL1,
                            level2_tree=LEVEL2_TREE, projects=projects, indicators=consolidation.indicators,
                            findings=findings, inputs=consolidation.inputs, missing=consolidation.missing)
    write_summary(crafted, tmp_path / "crafted.xlsx")
    book = openpyxl.load_workbook(tmp_path / "crafted.xlsx")
    assert book[PROJECTS]["B2"].value == "['甲', '乙']"
    assert book[FINDINGS]["H2"].value == "{'a': 1}"
