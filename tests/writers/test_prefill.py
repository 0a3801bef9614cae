"""Next year from this year: prefilled templates read back with last year's content."""
from __future__ import annotations

import csv

import openpyxl
from click.testing import CliRunner
from conftest import SAMPLES
from fill import template_meta

from xlperf.cli import cli
from xlperf.framework.frameworks import load_framework
from xlperf.framework.frameworks import map_indicator
from xlperf.intake.reader import read_return
from xlperf.writers.sendout import make_templates
from xlperf.writers.template import CARRIED_FILL

RETURNS = SAMPLES / "returns"


def _last_year(unit_code: str) -> dict:
    return next(read_return(p).document for p in RETURNS.glob(f"{unit_code}_*.xlsx"))


def test_prefilled_template_reads_back_last_years_content(tmp_path):
    result = make_templates(SAMPLES / "projects.csv", tmp_path, year=2023, prefill=[RETURNS])
    assert len(result.prefill.matched) == 9 and result.prefill.dropped == []
    new = read_return(result.files[0]).document
    old = _last_year("471001")
    for new_project, old_project in zip(new["projects"], old["projects"]):
        assert new_project["indicators"] == old_project["indicators"]
        assert new_project["goals"] == old_project["goals"]
        assert new_project["purpose"] == old_project["purpose"]
        assert new_project["spending_plan"] == {}  # the plan is never carried over
        assert new_project["budget_total"] == old_project["budget_total"]  # from the new list
    assert new["year"] == 2023


def test_carried_cells_are_marked_and_editable(tmp_path):
    result = make_templates(SAMPLES / "projects.csv", tmp_path, year=2023, prefill=[RETURNS])
    book = openpyxl.load_workbook(result.files[1])  # 471002: purpose blank in the list for two projects
    sheet = book["“专精特新”企业培育专项经费"]
    for cell in ("C5", "B8", "B11", "F11"):
        assert sheet[cell].protection.locked is False
        assert sheet[cell].fill.fgColor.rgb.endswith(CARRIED_FILL.lstrip("#"))
    assert "上年结转" in sheet["A8"].comment.text and "上年结转" in sheet["B10"].comment.text
    notes = [c.value for c in book["填报说明"]["B"] if isinstance(c.value, str) and "预填自上年度" in c.value]
    assert len(notes) == 3
    assert template_meta(book)["projects"][1]["carried"] == ["goals", "indicators", "purpose"]


def test_money_and_list_values_come_from_the_new_list(tmp_path):
    text = (SAMPLES / "projects.csv").read_text(encoding="utf-8").replace("10.96,10.96", "12.00,12.00")
    (tmp_path / "list.csv").write_text(text, encoding="utf-8")
    result = make_templates(tmp_path / "list.csv", tmp_path / "out", prefill=[RETURNS])
    first = read_return(result.files[0]).document["projects"][0]
    assert (first["budget_total"], first["fiscal"]) == (12.0, 12.0)


def test_match_by_name_within_the_unit(tmp_path):
    with (SAMPLES / "projects.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[1][2] = "13028122P00306010009Z"  # new code, same name and unit
    with (tmp_path / "list.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = make_templates(tmp_path / "list.csv", tmp_path / "out", prefill=[RETURNS])
    assert result.prefill.matched["13028122P00306010009Z"] == "name"


def test_cost_indicators_mapped_into_cn2021():
    cn2021 = load_framework("cn-2021")
    cost = {"level1": "产出指标", "level2": "成本指标", "name": "n", "description": "d", "target": "≤1万元", "basis": "b"}
    assert map_indicator(cost, cn2021, "cn-2020")[("level1")] == "成本指标"
    assert map_indicator(cost, cn2021, "cn-2020")["level2"] == "经济成本指标"
    assert map_indicator({**cost, "level2": "不存在"}, cn2021, "cn-2020") is None


def test_cli_reports_what_was_left_out(tmp_path):
    result = CliRunner().invoke(cli, ["template", str(SAMPLES / "projects.csv"), "-o", str(tmp_path), "--rows", "6",
                                      "--prefill", str(RETURNS), "--lang", "zh", "--framework", "cn-2021"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[2] == "上年结转：9/9 个项目已预填上年度的资金用途、绩效目标和指标（其中 0 个按项目名称匹配），绿色底纹标出，单位需核实"
    assert "未结转：项目 13028122P00306010001X 的指标“群众满意度”（满意度指标/服务对象满意度指标）超出模板行数（可用 --rows 增加）" in lines


def test_prefill_from_last_years_summary(tmp_path):
    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import write_summary

    write_summary(merge_returns([RETURNS]), tmp_path / "summary-2022.xlsx")
    result = make_templates(SAMPLES / "projects.csv", tmp_path / "2023", year=2023, framework="cn-2021",
                            prefill=[tmp_path / "summary-2022.xlsx"])
    assert len(result.prefill.matched) == 9 and result.prefill.dropped == []
    new = read_return(result.files[0]).document
    old = _last_year("471001")
    for new_project, old_project in zip(new["projects"], old["projects"]):
        moved = [{**i, "level1": "成本指标", "level2": "经济成本指标"} if i["level2"] == "成本指标" else i
                 for i in old_project["indicators"]]
        assert new_project["indicators"] == moved  # 成本指标 mapped into cn-2021's own 一级
