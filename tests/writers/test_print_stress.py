"""The print check on returns the bundled samples do not cover: long unit and project names, amounts of
hundreds of thousands of 万元, full indicator tables and long texts. Made small (two units, a few projects)
and printed by LibreOffice once per module."""

from __future__ import annotations

import csv
import re

import openpyxl
import pytest
from click.testing import CliRunner
from fill import fill_template

import lo
import printcheck
from xlperf.cli import cli
from xlperf.framework.spec import load_spec, project_layout
from xlperf.writers.sendout import make_templates

LONG_UNIT = "遵化市中小企业公共服务与产业发展促进中心（遵化市民营经济发展服务中心）"
LONG_PROJECT = "遵化市工业企业技术改造与智能制造示范引领专项资金项目（含数字化车间建设和工业互联网平台推广应用）"
LONG_DESCRIPTION = "本指标用于衡量项目实施后平台服务企业数量与质量，以年度内经验收合格的企业为准，" * 5
URL_GOAL = "完善平台建设，详见 https://www.zunhua.gov.cn/zwgk/czyjs/2022/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 。" * 12
LEVELS = [("产出指标", "数量指标"), ("产出指标", "质量指标"), ("产出指标", "时效指标"), ("效益指标", "社会效益指标"),
          ("满意度指标", "服务对象满意度指标")]


def _indicators(count: int) -> list[dict]:
    return [{"level1": level1, "level2": level2, "name": f"指标{number}企业数字化转型覆盖率",
             "description": "平台服务企业数量与质量 mixed ASCII text API v3.1",
             "target": "＝123456.78万元" if number == 2 else "≥99.99%",
             "basis": "根据《遵化市工业企业技术改造专项资金管理办法》（遵财建〔2021〕123号）"}
            for number, (level1, level2) in enumerate((LEVELS * 4)[:count], start=1)]


@pytest.fixture(scope="module")
def stress(tmp_path_factory):
    """Templates, returns and the summary of two units, one with a long name, and amounts of 123,456.78 万元
    and more; the summary printed to PDF."""
    lo.require_soffice()
    root = tmp_path_factory.mktemp("stress")
    projects = [("481001", "遵化市工业和信息化局本级", f"13028122P00306010{n:03d}X", LONG_PROJECT if n % 2 else f"项目{n}经费",
                 123456.78 + n, 86419.75 + n) for n in range(1, 5)]
    projects += [("481002", LONG_UNIT, "13028122P003072200031", "“专精特新”企业培育专项经费", 38.0, 38.0)]
    with open(root / "projects.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["单位编码", "单位名称", "项目编码", "项目名称", "预算数", "财政资金", "其他资金", "资金用途"])
        for code, name, project, title, total, fiscal in projects:
            writer.writerow([code, name, project, title, f"{total:.2f}", f"{fiscal:.2f}", f"{total - fiscal:.2f}",
                             "支持企业技术改造。"])
    made = make_templates(root / "projects.csv", root / "templates", year=2022, framework="cn-2020")
    for unit in made.manifest["units"]:
        template = root / "templates" / unit["file"]
        document = {"year": 2022, "unit": {"code": unit["unit_code"]},
                    "overall_goal": "围绕全市工业高质量发展，推进智能制造示范。", "measures": "（一）加强组织领导。",
                    "projects": [{"project_code": project, "goals": ["完成企业技术改造项目验收。"],
                                  "spending_plan": {"3月底": 25, "6月底": 50, "10月底": 80, "12月底": 100},
                                  "indicators": _indicators(20 if number == 1 else 5)}
                                 for number, (code, _, project, *_) in enumerate(projects)
                                 if code == unit["unit_code"]]}
        fill_template(template, document, root / "returns" / unit["file"])
    summary = root / "summary.xlsx"
    result = CliRunner().invoke(cli, ["merge", str(root / "returns"), "-o", str(summary), "--lang", "en"])
    assert summary.exists(), result.output
    # a return with long texts in every indicator row and a finding in each: its annotated copy
    first = next(unit for unit in made.manifest["units"] if unit["unit_code"] == "481001")
    long_rows = [{**indicator, "description": LONG_DESCRIPTION, "target": "≥≥95"} for indicator in _indicators(8)]
    fill_template(root / "templates" / first["file"],
                  {"year": 2022, "unit": {"code": "481001"}, "overall_goal": URL_GOAL, "measures": "加强领导。",
                   "projects": [{"project_code": project, "goals": ["完成验收。"], "indicators": long_rows,
                                 "spending_plan": {"3月底": 25, "6月底": 50, "10月底": 80, "12月底": 100}}
                                for code, _, project, *_ in projects if code == "481001"]},
                  root / "errors" / first["file"])
    CliRunner().invoke(cli, ["validate", str(root / "errors"), "--annotate", str(root / "annotated"), "--lang", "en"])
    annotated = root / "annotated" / first["file"]
    templates = sorted((root / "templates").glob("*.xlsx"))
    return {"summary": summary, "summary_pdf": lo.convert(summary, "pdf", root / "pdf"), "root": root,
            "annotated": annotated, "annotated_pdf": lo.convert(annotated, "pdf", root / "pdf" / "annotated"),
            "templates": templates, "template_pdfs": [lo.convert(path, "pdf", root / "pdf") for path in templates]}


def test_summary_totals_of_large_amounts_print_as_numbers_not_hashes(stress):
    """项目汇总's 合计 and 资金支出进度's 部门合计 (1,605,942.56-sized sums) are never ### on paper."""
    assert printcheck.cut_numbers(stress["summary_pdf"]) == []
    shown = printcheck.shown_cells(stress["summary"], stress["root"] / "csv")
    for sheet in ("项目汇总", "资金支出进度", "指标统计"):
        assert printcheck.not_on_paper(stress["summary_pdf"], shown[sheet]) == [], sheet
    assert "493,875.12" in printcheck.printed_text(stress["summary_pdf"])  # 预算数 合计: 123,456.78 × 4 + 1+2+3+4 + 38


def test_summary_long_unit_names_wrap_in_rows_that_grow(stress):
    """A long unit name in 指标统计 and 资金支出进度 wraps inside its own row, not over the next unit's."""
    pages = [page for page in printcheck.pages(stress["summary_pdf"])  # the sheet's name heads each page
             if {text for _, _, text in page.words} & {"指标统计", "资金支出进度"}]
    assert len(pages) == 2
    overlapping = {page.number: page.overlaps() for page in pages if page.overlaps()}
    assert overlapping == {}
    assert LONG_UNIT not in printcheck.not_on_paper(stress["summary_pdf"], [LONG_UNIT])


def test_template_titles_and_names_too_long_for_one_line_print_whole(stress):
    """A project's title (its 40-character name + 绩效目标表) is set smaller on one line; the name in 项目名称 and a
    long unit's title wrap in rows that grow: nothing drawn over 单位：万元 or cut in half by a 30-point row."""
    for pdf in stress["template_pdfs"]:
        pages = printcheck.pages(pdf)
        assert {page.number: page.overlaps() for page in pages if page.overlaps()} == {}, pdf.name
    unit_pdf, project_pdf = stress["template_pdfs"][1], stress["template_pdfs"][0]
    assert printcheck.not_on_paper(project_pdf, [f"{LONG_PROJECT}绩效目标表", LONG_PROJECT]) == []
    assert printcheck.not_on_paper(unit_pdf, [f"{LONG_UNIT}2022年度单位整体绩效目标"]) == []
    book = openpyxl.load_workbook(stress["templates"][1])
    assert book["单位整体"].row_dimensions[1].height > 50  # two lines of 16-point type
    book.close()
    book = openpyxl.load_workbook(stress["templates"][0])
    name_row = int(project_layout(load_spec())["fields"]["project_name"][1:])
    sheet = next(sheet for sheet in book.worksheets if sheet["A1"].value == f"{LONG_PROJECT}绩效目标表")
    assert sheet.row_dimensions[1].height == 30 and sheet.row_dimensions[name_row].height > 30
    book.close()


def test_annotated_copy_rows_of_long_indicator_texts_grow_and_print_whole(stress):
    """The annotated copy is rebuilt from what the unit typed: an indicator row of a 200-character 绩效指标描述
    is as tall as its text, so the rows print one under the other, not over each other."""
    pages = printcheck.pages(stress["annotated_pdf"])
    assert {page.number: page.overlaps() for page in pages if page.overlaps()} == {}
    assert printcheck.not_on_paper(stress["annotated_pdf"], [LONG_DESCRIPTION]) == []
    book = openpyxl.load_workbook(stress["annotated"])
    table = project_layout(load_spec())["indicators"]
    sheet = next(sheet for sheet in book.worksheets if sheet["A1"].value == f"{LONG_PROJECT}绩效目标表")
    assert sheet[f"{table['columns']['description']}{table['first_row']}"].value == LONG_DESCRIPTION
    assert all(sheet.row_dimensions[row].height > 100 for row in range(table["first_row"], table["first_row"] + 8))
    book.close()


@pytest.fixture(scope="module")
def stress_report(stress):
    """The report of the unit whose projects have 123,457.78-sized amounts, printed."""
    report = stress["root"] / "report.docx"
    result = CliRunner().invoke(cli, ["report", str(stress["root"] / "returns"), "-o", str(report), "--unit", "481001",
                                      "--lang", "en"])
    assert report.exists(), result.output
    return lo.convert(report, "pdf", stress["root"] / "pdf" / "report")


def test_report_amounts_of_six_digits_never_break_between_their_digits(stress_report):
    """预算数 123457.78 and 其中：财政资金 86420.75 each print on one line (a word of its own on paper); the
    labels beside them go on two short lines to make the room."""
    words = {text for page in printcheck.pages(stress_report) for _, _, text in page.words}
    for number in range(1, 5):
        assert {f"{123456.78 + number:.2f}", f"{86419.75 + number:.2f}", f"{37037.03:.2f}"} <= words, number
    assert {"其中：", "财政资金", "其他", "资金"} <= words


def test_report_with_two_line_amount_labels_imports_back(stress, stress_report):
    """``xlperf import`` reads the amounts beside 其中：/财政资金 and 其他/资金 as it reads the one-line labels."""
    out = stress["root"] / "imported"
    result = CliRunner().invoke(cli, ["import", str(stress["root"] / "report.docx"), "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    fields = project_layout(load_spec())["fields"]
    book = openpyxl.load_workbook(next(out.glob("*.xlsx")))
    sheet = next(sheet for sheet in book.worksheets if sheet[fields["project_code"]].value == "13028122P00306010001X")
    assert [sheet[fields[key]].value for key in ("budget_total", "fiscal", "other")] == [123457.78, 86420.75, 37037.03]
    book.close()


def test_summary_indicator_numbers_print_whole_not_rounded(stress):
    """绩效指标明细's 数值 of ＝123456.78万元 prints 123456.78: a General number too wide for its column would be
    shown rounded (123457), a different value from the 指标值 beside it."""
    pages = [page for page in printcheck.pages(stress["summary_pdf"])
             if "绩效指标明细" in {text for _, _, text in page.words}]
    words = {text for page in pages for _, _, text in page.words}
    assert "123456.78" in words and "123457" not in words


def test_annotated_unit_sheet_fits_long_urls_and_says_its_error_count(stress):
    """单位整体's 总体绩效目标 of unbreakable URLs (each starts a line of its own) is in a row tall enough to print
    whole; the note under 本表待修正问题 (on a row of its own) says the number of errors itself."""
    shown = printcheck.shown_cells(stress["annotated"], stress["root"] / "annotated-csv")
    assert printcheck.not_on_paper(stress["annotated_pdf"], [URL_GOAL]) == []
    page = next(page for page in printcheck.pages(stress["annotated_pdf"])
                if any(URL_GOAL[:6] in text for _, _, text in page.words))
    assert page.overlaps() == []
    notes = [text for text in shown["单位整体"] if "个错误（红色底纹）" in text]
    assert notes == ["0 个错误（红色底纹），另有警告 0 个（橙色底纹）；改正后自动减少"]


def test_no_internal_framework_id_on_paper(stress):
    """The framework is named by its Chinese title on every printed page (汇总说明, 填报说明), never cn-2020."""
    for pdf in (stress["summary_pdf"], *stress["template_pdfs"], stress["annotated_pdf"]):
        printed = printcheck.printed_text(pdf)
        assert "项目支出绩效目标表（2020版指标体系）" in printed and "cn-2020" not in printed, pdf.name


def test_report_indicator_values_of_long_numbers_keep_their_digits_together(stress_report):
    """指标值 ＝123456.78万元 prints 123456.78 on one line: the column takes the room from 绩效指标描述."""
    words = {text for page in printcheck.pages(stress_report) for _, _, text in page.words}
    assert any("123456.78" in word for word in words)
    assert not any(word.endswith("123456.7") or word.endswith("123456.") for word in words)


def test_spending_chart_axis_groups_its_thousands_as_the_table_does(stress):
    """资金支出进度's chart labels its 万元 axis 100,000 like the amounts in the table, not 100000."""
    page = next(page for page in printcheck.pages(stress["summary_pdf"])
                if "资金支出进度" in {text for _, _, text in page.words})
    words = [text for _, _, text in page.words]
    assert not [word for word in words if re.fullmatch(r"\d{5,}", word) and word not in ("481001", "481002")], words
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", word) for word in words)
