"""The command line: exact output and exit codes (click's CliRunner)."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from xlperf.cli import cli
from xlperf.core.findings import CATALOG, Finding, Location
from xlperf.framework.frameworks import load_framework

ERRORS = SAMPLES / "returns-with-errors"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_frameworks_lists_both():
    result = run("frameworks", "--lang", "en")
    assert result.exit_code == 0
    assert "cn-2020" in result.output and "cn-2021" in result.output
    assert "成本指标（经济成本指标、社会成本指标、生态环境成本指标）" in result.output


def test_schema_prints_the_schema():
    result = run("schema", "--framework", "cn-2021")
    assert result.exit_code == 0
    assert json.loads(result.output) == load_framework("cn-2021").schema


@pytest.mark.parametrize("content, message", [
    ("not json", "not valid JSON"),
    ('{"type": 12}', "not a valid JSON Schema"),
    ('{"type": "object"}', "no category tree"),
])
def test_bad_framework_file_is_refused(tmp_path, content, message):
    path = tmp_path / "fw.json"
    path.write_text(content)
    result = run("schema", "--framework", path, "--lang", "en")
    assert result.exit_code == 2
    assert result.output.startswith("xlperf: error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_framework():
    result = run("schema", "--framework", "cn-1999", "--lang", "en")
    assert result.exit_code == 2
    assert "unknown framework 'cn-1999' (built-in: cn-2020, cn-2021" in result.output


def test_template_from_samples(tmp_path):
    result = run("template", SAMPLES / "projects.csv", "-o", tmp_path, "--lang", "zh", "--year", "2022")
    assert result.exit_code == 0
    assert result.output == (f"已生成 3 个单位模板（共 9 个项目）：{tmp_path}\n报送清单：{tmp_path / 'manifest.json'}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "471001_遵化市工业和信息化局本级.xlsx", "471002_遵化市中小企业服务中心.xlsx", "471003_遵化市无线电监测站.xlsx",
        "manifest.json"]


def test_custom_framework_file(tmp_path):
    shutil.copy(load_framework("cn-2021").source, tmp_path / "mine.json")
    result = run("template", SAMPLES / "projects.csv", "-o", tmp_path / "out", "--framework", tmp_path / "mine.json")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["framework"] == "cn-2021"


BAD_LISTS = {
    "missing column": ("单位编码,单位名称,项目编码,项目名称,预算数,财政资金\n1,a,P1,x,1,1\n",
                       ["  {p}: 第 1 行 缺少列：其他资金/other"]),
    "blank, duplicate, money": ("unit_code,unit_name,project_code,project_name,budget_total,fiscal,other\n"
                                "1,a,P1,x,10,10,\n1,a,,y,5,5,\n1,a,P1,z,abc,-1,\n1,a,P4,w,10,9,0.5\n",
                                ["  {p}: 第 3 行 项目编码为空",
                                 "  {p}: 第 4 行 项目编码 P1 与第 2 行重复",
                                 "  {p}: 第 4 行 预算数不是数字：abc",
                                 "  {p}: 第 4 行 财政资金为负数：-1.00",
                                 "  {p}: 第 5 行 财政资金 9.00 + 其他资金 0.50 ≠ 预算数 10.00"]),
    "empty": ("", ["  {p}: 项目清单中没有项目"]),
}


@pytest.mark.parametrize("name", BAD_LISTS)
def test_bad_project_lists_write_nothing(tmp_path, name):
    content, lines = BAD_LISTS[name]
    path = tmp_path / "list.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["template", str(path), "-o", str(out), "--lang", "zh"])
    assert result.exit_code == 2
    expected = [f"项目清单有 {len(lines)} 个问题，未生成任何文件："] + [line.format(p=path) for line in lines]
    assert result.output.splitlines() == expected
    assert not out.exists()


def test_gbk_project_list(tmp_path):
    text = (SAMPLES / "projects.csv").read_text(encoding="utf-8").replace("“", "").replace("”", "")
    (tmp_path / "gbk.csv").write_bytes(text.encode("gbk"))
    result = run("template", tmp_path / "gbk.csv", "-o", tmp_path / "out")
    assert result.exit_code == 0
    # the GBK text arrived as the same Chinese, not mojibake: names in the workbooks and the manifest
    import csv

    import openpyxl
    with open(SAMPLES / "projects.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {row["项目名称"].replace("“", "").replace("”", "") for row in rows}
    written = set()
    for path in sorted((tmp_path / "out").glob("*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        written |= {book[name]["E3"].value for name in book.sheetnames if name not in ("填报说明", "单位整体", "_lists",
                                                                                        "_meta")}
        book.close()
    assert written == names and "工信局购置公务用车" in written
    assert {row["单位名称"] for row in rows} == {path.stem.split("_", 1)[1] for path in (tmp_path / "out").glob("*.xlsx")}


def test_xlsx_project_list_with_english_headers(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other"])
    book.active.append([471001, "单位", "13028122P00306010001X", "项目", 10.96, 10.96, None])
    book.save(tmp_path / "list.xlsx")
    result = run("template", tmp_path / "list.xlsx", "-o", tmp_path / "out", "--lang", "en")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "out" / "471001_单位.xlsx")
    assert (book["单位整体"]["B3"].value, book["单位整体"]["B4"].value) == ("471001", "单位")  # a code, as text
    sheet = book["项目"]
    assert [sheet[cell].value for cell in ("B3", "E3", "C4", "E4")] == ["13028122P00306010001X", "项目", 10.96, 10.96]
    assert sheet["G4"].value is None


def test_blank_template_cli(tmp_path):
    result = run("template", "--blank", 2, "--unit-code", "9", "--unit-name", "新单位", "-o", tmp_path, "--lang", "en", "--year", "2022")
    assert result.exit_code == 0
    assert result.output == f"wrote a blank template (2 project sheets): {tmp_path / '9_新单位.xlsx'}\n"
    result = run("template", "--blank", 2, "-o", tmp_path, "--lang", "en")
    assert result.exit_code == 2 and "--blank needs --unit-code and --unit-name" in result.output


def test_validate_clean_samples():
    result = run("validate", SAMPLES / "returns", "--lang", "zh")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "共 3 个文件：2 个通过，1 个仅有警告，0 个有错误，0 个无法读取"


def test_validate_errors_exact_lines():
    """The unit changed two prefilled amounts: each change is one error saying what to put back, and the
    budget sum they break is not reported a third time (one mistake, one finding)."""
    result = run("validate", ERRORS / "471001_budget-and-plan-errors.xlsx", "--lang", "zh")
    assert result.exit_code == 1
    changed = Finding("READ_PREFILLED_CHANGED", Location(None, "工信局购置公务用车", "E4"), "fiscal", 10.0,
                      {"expected": 10.96})
    lines = result.output.splitlines()
    assert f"  错误  {changed.line('zh')}  [READ_PREFILLED_CHANGED]" in lines
    assert "  错误  工信局购置公务用车!E4 财政资金应为“10.96”，实为“10.00”（预填内容被改动）  [READ_PREFILLED_CHANGED]" in lines
    assert f"        → {CATALOG['READ_PREFILLED_CHANGED'].hint_zh}" in lines
    assert "BUDGET_SUM_MISMATCH" not in result.output
    assert lines[0].endswith("4 个错误，2 个警告")


def test_validate_json_and_english():
    result = run("validate", ERRORS, "--format", "json", "--lang", "en")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert result.output == json.dumps(report, ensure_ascii=False, indent=2) + "\n"  # laid out as json.dumps does
    assert [f["state"] for f in report["files"]] == ["errors", "errors", "errors"]
    assert [f["unit"]["code"] for f in report["files"]] == ["471001", "471002", "471003"]
    codes = {f["code"] for file in report["files"] for f in file["findings"]}
    assert {"READ_PREFILLED_CHANGED", "PLAN_DECREASING", "PLAN_NOT_100", "LEVEL2_NOT_IN_LEVEL1", "TARGET_INVALID",
            "COST_OVER_BUDGET", "TARGET_NOT_NUMBER", "DUPLICATE_INDICATOR", "COST_NOT_MONEY", "REQUIRED_MISSING",
            "LEVEL1_MISSING"} <= codes
    finding = next(f for file in report["files"] for f in file["findings"] if f["code"] == "PLAN_NOT_100")
    assert finding == {"code": "PLAN_NOT_100", "severity": "error", "file": str(ERRORS / "471001_budget-and-plan-errors.xlsx"),
                       "sheet": "工信局安全生产执法监督管理经费", "cell": "E7", "row": None, "field": "spending_plan/12月底",
                       "value": "95", "message": "spending plan 12月底 is 95%; the last milestone must be 100%",
                       "hint": "the year-end cumulative percentage must be 100%"}


def test_validate_unreadable_is_exit_2_and_others_still_reported(tmp_path):
    shutil.copy(SAMPLES / "returns" / "471002_遵化市中小企业服务中心.xlsx", tmp_path / "good.xlsx")
    (tmp_path / "bad.xlsx").write_bytes(b"")
    result = run("validate", tmp_path, "--lang", "en")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == (f"{tmp_path / 'bad.xlsx'}: unreadable — the file is empty (0 bytes); the transfer may have "
                        "failed; ask the unit to send it again")
    assert lines[1] == f"{tmp_path / 'good.xlsx'}: OK"


def test_validate_nothing_found(tmp_path):
    result = run("validate", tmp_path, "--lang", "en")
    assert result.exit_code == 2
    assert result.output == f"xlperf: error: no workbook found in: {tmp_path}\n"


def test_every_catalog_entry_renders_in_both_languages():
    """Each message and hint, given a value for every placeholder it names, renders whole in both languages:
    every placeholder filled, English words in the English message, no field key in the Chinese one."""
    import re
    import string

    for code, entry in CATALOG.items():
        texts = (entry.zh, entry.en, entry.hint_zh, entry.hint_en)
        names = {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}
        params = {name: f"<{name}>" for name in names - {"value", "field"}}
        finding = Finding(code, Location("x.xlsx", "表", "B3"), field="fiscal", value="<value>", params=params)
        rendered = {lang: (finding.message(lang), finding.hint(lang)) for lang in ("zh", "en")}
        pairs = [(entry.zh, rendered["zh"][0]), (entry.hint_zh, rendered["zh"][1]),
                 (entry.en, rendered["en"][0]), (entry.hint_en, rendered["en"][1])]
        for text, shown in pairs:
            assert shown and "{" not in shown and "}" not in shown, (code, shown)
            for _, name, _, _ in string.Formatter().parse(text):
                if name and name not in ("value", "field"):
                    assert f"<{name}>" in shown, (code, name, shown)  # every placeholder given its value
        assert re.search(r"[a-z]{3}", rendered["en"][0]) and re.search(r"[\u4e00-\u9fff]", rendered["zh"][0]), code
        chinese = re.sub(r"<[^>]*>", "", "".join(rendered["zh"]))
        assert "fiscal" not in chinese, (code, rendered["zh"])  # a field key is shown by its label


def test_merge_clean_samples_exact_output(tmp_path):
    out = tmp_path / "summary.xlsx"
    result = run("merge", SAMPLES / "returns", "-o", out, "--expect", SAMPLES / "templates" / "manifest.json",
                 "--json", tmp_path / "s.json", "--csv", tmp_path / "csv", "--lang", "zh")
    assert result.exit_code == 0
    returns = SAMPLES / "returns"
    assert result.output.splitlines() == [
        f"已汇总（有警告）: {returns / '471001_遵化市工业和信息化局本级.xlsx'}",
        f"已汇总: {returns / '471002_遵化市中小企业服务中心.xlsx'}",
        f"已汇总: {returns / '471003_遵化市无线电监测站.xlsx'}",
        f"汇总完成：{out}（9 个项目，71 条指标；已汇总 2，已汇总（有警告） 1）",
    ]
    assert out.is_file() and (tmp_path / "s.json").is_file()
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "findings.csv", "indicators.csv", "inputs.csv", "missing.csv", "projects.csv"]


def test_merge_with_problems_is_exit_1_and_still_writes(tmp_path):
    out = tmp_path / "summary.xlsx"
    result = run("merge", SAMPLES / "returns", ERRORS / "471003_missing-parts.xlsx", "-o", out, "--lang", "en")
    assert result.exit_code == 1 and out.is_file()
    lines = result.output.splitlines()
    assert lines[3] == f"excluded: {ERRORS / '471003_missing-parts.xlsx'} — 3 error(s); left out"
    assert lines[4] == "    单位整体!B6 measures (工作保障措施) is blank"


def test_merge_usage_errors(tmp_path):
    result = run("merge", SAMPLES / "returns", "-o", SAMPLES / "returns" / "471002_遵化市中小企业服务中心.xlsx",
                 "--lang", "en")
    assert result.exit_code == 2 and "is one of the inputs" in result.output
    result = run("merge", tmp_path, "-o", tmp_path / "s.xlsx", "--lang", "en")
    assert result.exit_code == 2 and result.output == f"xlperf: error: no workbook found in: {tmp_path}\n"


@pytest.mark.parametrize("lang, expected", [
    ("zh", "xlperf: 错误: 未知的指标体系“cn-1999”（内置："),
    ("en", "xlperf: error: unknown framework 'cn-1999' (built-in: "),
])
def test_why_a_command_stops_is_said_in_the_users_language(tmp_path, lang, expected):
    result = run("--lang", lang, "template", SAMPLES / "projects.csv", "-o", tmp_path / "t", "--framework", "cn-1999")
    assert result.exit_code == 2 and result.output.startswith(expected), result.output
    inside = next((SAMPLES / "returns").glob("*.xlsx"))
    same = run("--lang", lang, "merge", SAMPLES / "returns", "-o", inside)
    assert same.exit_code == 2
    assert ("是输入之一，请换一个输出路径" if lang == "zh" else "is one of the inputs; choose another output path") in \
        same.output


def test_what_a_folder_holds_besides_workbooks_is_said_not_skipped_silently(tmp_path):
    """A unit that sent a PDF, a backup copy, an empty folder given by mistake: each gets a line on stderr, in
    validate's JSON too; lock files, hidden files and the tables beside a Parquet dataset are nobody's return."""
    import os

    from xlperf.checks.validate import scan_inputs

    folder = tmp_path / "returns"
    folder.mkdir()
    shutil.copy(next((SAMPLES / "returns").glob("471002*.xlsx")), folder)
    for name in ("471001_绩效目标表.pdf", "471003.xlsx.bak", "~$471002.xlsx", ".~lock.471002.xlsx#", ".DS_Store",
                 "Thumbs.db"):
        (folder / name).write_bytes(b"x")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("x")
    dataset = folder / "dept"
    dataset.mkdir()
    for name in ("documents.parquet", "projects.parquet", "indicators.parquet"):
        (dataset / name).write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()
    found, skipped = scan_inputs([folder, empty, folder / "471003.xlsx.bak"])
    assert found == [*folder.glob("471002*.xlsx"), dataset / "documents.parquet", folder / "471003.xlsx.bak"]
    assert skipped == [
        (folder / "471001_绩效目标表.pdf", "not_workbook"), (folder / "471003.xlsx.bak", "not_workbook"),
        (empty, "empty_folder")]

    os.remove(dataset / "documents.parquet")  # now the folder holds Parquet files that are not a dataset's
    result = CliRunner().invoke(cli, ["--lang", "zh", "validate", str(folder), str(empty), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"已跳过（不是工作簿，未读取）：{folder / '471001_绩效目标表.pdf'}",
        f"已跳过（不是工作簿，未读取）：{folder / '471003.xlsx.bak'}",
        f"已跳过（不是工作簿，未读取）：{dataset / 'indicators.parquet'}",
        f"已跳过（不是工作簿，未读取）：{dataset / 'projects.parquet'}",
        f"已跳过（文件夹中没有工作簿）：{empty}"]
    assert [entry["reason"] for entry in json.loads(result.stdout)["skipped"]] == ["not_workbook"] * 4 + ["empty_folder"]
    merged = CliRunner().invoke(cli, ["--lang", "en", "merge", str(folder), "-o", str(tmp_path / "s.xlsx")])
    assert merged.exit_code == 0 and f"skipped (not a workbook, not read): {folder / '471001_绩效目标表.pdf'}" in \
        merged.stderr


def test_merge_refuses_to_write_over_one_of_its_inputs(tmp_path):
    """By its own name, and through a link of another name in another folder: the input is left as it was."""
    folder = tmp_path / "returns"
    shutil.copytree(SAMPLES / "returns", folder)
    first = sorted(folder.glob("*.xlsx"))[0]
    before = first.read_bytes()
    link = tmp_path / "elsewhere" / "summary.xlsx"
    link.parent.mkdir()
    link.symlink_to(first)
    for output in (first, link):
        result = run("merge", folder, "-o", output, "--no-cache", "--lang", "zh")
        assert result.exit_code == 2, output
        assert result.output.strip() == f"xlperf: 错误: 输出 {output} 是输入之一，请换一个输出路径", output
    assert first.read_bytes() == before
    fresh = tmp_path / "new.xlsx"
    assert run("merge", folder, "-o", fresh, "--no-cache").exit_code == 0 and fresh.is_file()


def test_validate_json_is_laid_out_as_json_dumps_does_whatever_it_holds():
    """``results_json_text`` (orjson): the text json.dumps(indent=2) makes, the same numbers where a float's
    exponent is written otherwise, and json itself for an integer orjson cannot hold."""
    from xlperf.cli.output import results_json_text

    plain = {"skipped": [], "files": [{"path": "甲/乙.xlsx", "errors": 0, "unit": None, "findings": [
        {"value": "≥95%", "row": 3, "number": 10.96, "small": 0.5, "nested": {"empty": [], "also": {}}}]}]}
    assert results_json_text(plain) == json.dumps(plain, ensure_ascii=False, indent=2)
    odd = {"files": [{"value": 1e16, "tiny": 1e-05, "negative": -2.5e-7}]}
    assert json.loads(results_json_text(odd)) == odd
    huge = {"files": [{"value": 2 ** 70}]}
    assert results_json_text(huge) == json.dumps(huge, ensure_ascii=False, indent=2)
