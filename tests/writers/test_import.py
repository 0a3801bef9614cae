"""Importing old Word documents: seed-shaped tables with real documents' quirks → workbooks that validate."""
from __future__ import annotations

import docx
import pytest
from click.testing import CliRunner

from xlperf.cli import cli
from xlperf.writers.importer import import_documents, label_key
from xlperf.intake.reader import read_return
from xlperf.checks.validate import validate_paths

COLUMNS = ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]
KEYS = ["level1", "level2", "name", "description", "target", "basis"]


def build_seed_docx(path, seed, *, spaced_labels=False, full_width=False, blank_level1=False, drop_basis=False,
                    money_unit="caption_wan", words=None, unit_caption="{code}{name}"):
    """A document shaped like the published one: a project block table, then an indicator table.
    ``money_unit``: how the amounts say their unit, as real documents do: ``caption_wan`` (单位：万元 in the
    table, the seed's way), ``caption_yuan`` (单位：元 there, amounts in 元), ``paragraph_yuan`` (a paragraph
    金额单位：元 before the tables), ``cell_yuan`` (each amount written 109600元), ``cell_wan`` (10.96万),
    ``header_yuan`` (预算数（元）)."""
    department = seed["department"]
    words = words or {}
    document = docx.Document()
    document.add_paragraph(department["unit_name"].replace("本级", ""))
    document.add_paragraph(f"{seed['year']}年部门预算绩效文本")
    document.add_paragraph("一、总体绩效目标")
    document.add_paragraph(department["overall_goal"])
    document.add_paragraph("三、工作保障措施")
    for measure in department["measures"]:
        document.add_paragraph(measure)
    document.add_paragraph("第二部分")
    fiscal_label = "其中：财政    资金" if spaced_labels else "其中：财政资金"
    for number, project in enumerate(seed["projects"], start=1):
        document.add_paragraph(f"{number}.{project['project_name']}绩效目标表")
        money = (lambda x: f"{x:.2f}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))) if full_width \
            else (lambda x: f"{x:.2f}")
        in_yuan = money_unit in ("caption_yuan", "paragraph_yuan", "cell_yuan", "header_yuan")
        if in_yuan:
            money = (lambda x: f"{round(x * 10000):d}元") if money_unit == "cell_yuan" else (lambda x: f"{round(x * 10000):d}")
        elif money_unit == "cell_wan":
            money = lambda x: f"{x:g}万"  # noqa: E731
        if money_unit == "paragraph_yuan":
            document.add_paragraph("金额单位：元")
        block = document.add_table(rows=7, cols=7)
        block.cell(0, 0).merge(block.cell(0, 5)).text = unit_caption.format(code=department["unit_code"],
                                                                             name=department["unit_name"])
        block.cell(0, 6).text = "单位：元" if money_unit == "caption_yuan" else \
            "" if money_unit in ("paragraph_yuan", "header_yuan") else "单位：万元"
        block.cell(1, 0).text = "项目 编码" if spaced_labels else words.get("项目编码", "项目编码")
        block.cell(1, 1).merge(block.cell(1, 2)).text = project["project_code"]
        block.cell(1, 3).text = words.get("项目名称", "项目名称")
        block.cell(1, 4).merge(block.cell(1, 6)).text = project["project_name"]
        block.cell(2, 0).merge(block.cell(3, 0)).text = "预算规模及资金用途"
        for column, text in enumerate(["预算数（元）" if money_unit == "header_yuan" else words.get("预算数", "预算数"),
                                       money(project["budget_total"]), words.get("其中：财政资金", fiscal_label),
                                       money(project["fiscal"]), "其他资金", ""], start=1):
            block.cell(2, column).text = text
        block.cell(3, 1).merge(block.cell(3, 6)).text = project["purpose"]
        block.cell(4, 0).merge(block.cell(5, 0)).text = "资金支出计划（%）"
        for column, milestone in enumerate(["3月底", "6月底", "10月底", "12月底"], start=1):
            block.cell(4, column).text = milestone
            block.cell(5, column).text = f"{project['spending_plan'][milestone]}%"
        block.cell(6, 0).text = words.get("绩效目标", "绩效目标")
        block.cell(6, 1).merge(block.cell(6, 6)).text = "\n".join(
            f"{n}.{goal}" for n, goal in enumerate(project["goals"], start=1))
        columns = COLUMNS[:-1] if drop_basis else COLUMNS
        table = document.add_table(rows=1 + len(project["indicators"]), cols=len(columns))
        for column, label in enumerate(columns):
            table.cell(0, column).text = words.get(label, label)
        start = None
        for row, indicator in enumerate(project["indicators"], start=1):
            for column, key in enumerate(KEYS[: len(columns)]):
                table.cell(row, column).text = indicator[key]
            first_of_group = row == 1 or project["indicators"][row - 2]["level1"] != indicator["level1"]
            if first_of_group:
                start = row
            elif blank_level1:
                table.cell(row, 0).text = ""
            else:
                table.cell(start, 0).merge(table.cell(row, 0)).text = indicator["level1"]
    document.save(path)
    return path


def test_label_key():
    assert label_key("其中：财政    资金") == "其中:财政资金"
    assert label_key("资金支出计划（%）") == "资金支出计划(%)"
    assert label_key("\u3000项目\u00a0编码 ") == "项目编码"


@pytest.mark.parametrize("quirks", [{}, {"spaced_labels": True, "full_width": True}, {"blank_level1": True}])
def test_seed_shaped_documents_round_trip(seed, tmp_path, quirks):
    path = build_seed_docx(tmp_path / "seed.docx", seed, **quirks)
    result = import_documents([path], tmp_path / "out")
    assert result.unplaced == [] and result.projects == 4 and result.indicators == 37
    document = read_return(result.files[0]).document
    assert document["unit"] == {"code": "471001", "name": "遵化市工业和信息化局本级"}
    assert document["year"] == 2022
    assert document["overall_goal"] == seed["department"]["overall_goal"]
    for got, published in zip(document["projects"], seed["projects"]):
        for key in ("project_code", "project_name", "budget_total", "fiscal", "purpose", "goals", "indicators"):
            assert got[key] == published[key], key
        assert got["spending_plan"] == {k: float(v) for k, v in published["spending_plan"].items()}
    results = validate_paths(result.files)
    assert not any(f.code.startswith("READ_") for f in results[0].findings)
    assert results[0].errors == 0


def test_missing_column_is_reported(seed, tmp_path):
    path = build_seed_docx(tmp_path / "seed.docx", seed, drop_basis=True)
    result = import_documents([path], tmp_path / "out")
    assert {(u.text, u.reason) for u in result.unplaced} == {("指标值确定依据", "missing_column")}
    findings = validate_paths(result.files)[0].findings
    assert {f.code for f in findings if f.is_error} == {"REQUIRED_MISSING"}  # 依据 is blank in every row
    assert not any(f.code.startswith("READ_") for f in findings)


def test_import_cli(seed, tmp_path):
    path = build_seed_docx(tmp_path / "seed.docx", seed)
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (f"已导入 4 个项目、37 条指标，写出 1 个工作簿：{tmp_path / 'out'}")


def test_not_a_docx(tmp_path):
    (tmp_path / "x.docx").write_bytes(b"nope")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "x.docx"), "-o", str(tmp_path / "out"), "--lang", "en"])
    assert result.exit_code == 2
    assert result.output.strip() == f"xlperf: error: {tmp_path / 'x.docx'}: not a readable .docx (PackageNotFoundError)"


def test_report_docx_imports_back_to_the_same_returns(tmp_path):
    from conftest import SAMPLES

    from xlperf.writers.report import write_report

    write_report([SAMPLES / "returns"], tmp_path / "report.docx")
    result = import_documents([tmp_path / "report.docx"], tmp_path / "imported", year=2022)
    assert result.unplaced == []
    originals = {read_return(p).document["unit"]["code"]: read_return(p).document
                 for p in sorted((SAMPLES / "returns").glob("*.xlsx"))}
    imported = {read_return(p).document["unit"]["code"]: read_return(p).document for p in result.files}
    assert sorted(imported) == sorted(originals)
    for code, original in originals.items():
        got = imported[code]
        assert got["unit"] == original["unit"]
        # part 1 gives every unit back its own 单位整体 texts, not the first unit's for all
        assert got["overall_goal"] == original["overall_goal"] and got["measures"] == original["measures"], code
        for new, old in zip(got["projects"], original["projects"], strict=True):
            for key in ("project_code", "project_name", "budget_total", "fiscal", "purpose", "goals",
                        "spending_plan", "indicators"):
                assert new[key] == old[key], (code, key)
    assert all(not any(f.code.startswith("READ_") for f in r.findings) for r in validate_paths(result.files))


@pytest.mark.parametrize("money_unit", ["caption_yuan", "paragraph_yuan", "cell_yuan", "cell_wan", "header_yuan"])
def test_amounts_in_yuan_are_converted_to_wan_and_said(seed, tmp_path, money_unit):
    """A table in 元 must never give 10,000 times the budget: 109600 元 is 10.96 万元, and the command says
    which amounts it converted."""
    path = build_seed_docx(tmp_path / f"{money_unit}.docx", seed, money_unit=money_unit)
    result = import_documents([path], tmp_path / "out", year=2022)
    document = read_return(result.files[0]).document
    for got, published in zip(document["projects"], seed["projects"], strict=True):
        assert got["budget_total"] == pytest.approx(published["budget_total"]), money_unit
        assert got["fiscal"] == pytest.approx(published["fiscal"]), money_unit
    assert result.converted and all(c.wan < 1000 for c in result.converted)
    output = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "cli"), "--lang", "zh"]).output
    first = seed["projects"][0]
    written = {"cell_wan": f"{first['budget_total']:g}万", "cell_yuan": f"{round(first['budget_total'] * 10000)}元"}.get(
        money_unit, f"{round(first['budget_total'] * 10000)}")
    assert f"“{written}” → {first['budget_total']:.2f} 万元" in output, output
    assert all(r.errors == 0 for r in validate_paths(result.files))


@pytest.mark.parametrize("words", [
    {"指标值": "*指标值（包含数字及文字描述）", "三级指标": "指标内容", "绩效指标描述": "指标解释"},
    {"指标值": "当年预期实现值", "预算数": "预算金额", "其中：财政资金": "其中：当年财政拨款", "绩效目标": "年度绩效目标"},
    {"指标值": "指标值及单位", "项目名称": "项目支出名称", "项目编码": "项目代码", "预算数": "年度资金总额",
     "指标值确定依据": "指标值设定依据"},
])
def test_other_real_wordings_of_headers_and_fields_import_the_same(seed, tmp_path, words):
    """Headers and labels as other regions publish them (import_vocabulary.json) give the same return as the
    seed's own wording: no indicator, amount, goal or name lost."""
    plain = import_documents([build_seed_docx(tmp_path / "plain.docx", seed)], tmp_path / "a", year=2022)
    worded = import_documents([build_seed_docx(tmp_path / "worded.docx", seed, words=words)], tmp_path / "b", year=2022)
    assert worded.unplaced == [] and worded.indicators == plain.indicators > 0
    expected = read_return(plain.files[0]).document
    got = read_return(worded.files[0]).document
    assert got["projects"] == expected["projects"]


def test_noisy_category_labels_and_the_2021_framework(seed, tmp_path):
    """一级/二级 with a line break or a score in them are the framework's names; with --framework cn-2021 the
    published 产出指标/成本指标 is mapped to 成本指标/经济成本指标 as prefill maps it, so nothing is flagged."""
    document_path = build_seed_docx(tmp_path / "noisy.docx", seed, words={"一级指标": "一级指标"})
    document = docx.Document(str(document_path))
    for table in document.tables:
        for row in table.rows[1:]:
            cells = row.cells
            if len(cells) == 6 and cells[1].text == "成本指标":
                cells[1].text = "成本指标(0-20)分"
            elif len(cells) == 6 and cells[1].text == "社会效益指标":
                cells[1].text = "社会效益\n指标"
    document.save(document_path)
    result = import_documents([document_path], tmp_path / "out", year=2022, framework="cn-2021")
    doc = read_return(result.files[0]).document
    categories = {(i["level1"], i["level2"]) for p in doc["projects"] for i in p["indicators"]}
    assert ("成本指标", "经济成本指标") in categories and ("产出指标", "成本指标") not in categories
    assert ("效益指标", "社会效益指标") in categories
    codes = {f.code for r in validate_paths(result.files) for f in r.findings}
    assert not codes & {"LEVEL1_UNKNOWN", "LEVEL2_NOT_IN_LEVEL1", "LEVEL1_MISSING"}, codes


@pytest.mark.parametrize("caption", ["[{code}]{name}", "【{code}】{name}", "{code}-{name}", "{code} {name}"])
def test_unit_codes_written_other_ways(seed, tmp_path, caption):
    path = build_seed_docx(tmp_path / "unit.docx", seed, unit_caption=caption)
    result = import_documents([path], tmp_path / "out", year=2022)
    assert result.unplaced == [] and len(result.files) == 1
    unit = read_return(result.files[0]).document["unit"]
    assert unit == {"code": seed["department"]["unit_code"], "name": seed["department"]["unit_name"]}


def _split_after(table, keep: int, repeat_header: bool):
    """Cut ``table`` after ``keep`` rows into two tables, as a page break in a converted PDF leaves it;
    the second repeats the header row inside it when ``repeat_header``."""
    import copy as copying

    second = copying.deepcopy(table._tbl)
    rows = table._tbl.findall(docx.oxml.ns.qn("w:tr"))
    for row in rows[keep:]:
        table._tbl.remove(row)
    copied = second.findall(docx.oxml.ns.qn("w:tr"))
    for index, row in enumerate(copied[:keep]):
        if not (repeat_header and index == 0):
            second.remove(row)
    paragraph = docx.oxml.OxmlElement("w:p")
    table._tbl.addnext(paragraph)
    paragraph.addnext(second)


@pytest.mark.parametrize("repeat_header", [False, True])
def test_indicator_tables_split_over_pages_lose_nothing(seed, tmp_path, repeat_header):
    """An indicator table cut by a page break, with or without its header repeated, gives every indicator
    once (no header row as an indicator), its 一级 carried over where the continuation left it blank."""
    plain = import_documents([build_seed_docx(tmp_path / "plain.docx", seed)], tmp_path / "a", year=2022)
    path = build_seed_docx(tmp_path / "split.docx", seed, blank_level1=True)
    document = docx.Document(str(path))
    indicator_tables = [t for t in document.tables if t.rows[0].cells[0].text == "一级指标"]
    _split_after(indicator_tables[0], keep=4, repeat_header=repeat_header)
    document.save(path)
    split = import_documents([path], tmp_path / "b", year=2022)
    assert split.unplaced == [] and split.indicators == plain.indicators
    assert read_return(split.files[0]).document["projects"] == read_return(plain.files[0]).document["projects"]
