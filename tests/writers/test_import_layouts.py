"""Import: layouts real documents use beyond the seed's own (issue 18), each built as a .docx and imported."""
from __future__ import annotations

import docx
from click.testing import CliRunner

from xlperf.cli import cli
from xlperf.writers.importer import import_documents
from xlperf.intake.reader import read_return

HEADER = ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]
ROWS = [["产出指标", "数量指标", "采购台数", "购置办公设备台数", "≥20台", "年度计划"],
        ["效益指标", "社会效益指标", "服务保障", "保障机关正常运转", "有效保障", "工作要求"],
        ["满意度指标", "服务对象满意度指标", "职工满意度", "职工满意程度", "≥95%", "往年情况"]]


def _block(container, unit_row=("单位名称及代码", "[015001]某某市教育局")):
    """A project block as a 6-column table: unit, code/name, money, goals."""
    rows = [list(unit_row) + ["", "", "", ""] if unit_row else None,
            ["项目编码", "P2023001", "项目名称", "办公设备购置", "", ""],
            ["预算数", "12.5", "其中：财政资金", "12.5", "其他资金", ""],
            ["绩效目标", "保障办公设备正常更新", "", "", "", ""]]
    rows = [row for row in rows if row]
    table = container.add_table(rows=len(rows), cols=6)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    return table


def _indicators(container, header=HEADER, rows=ROWS):
    table = container.add_table(rows=1 + len(rows), cols=len(header))
    for c, text in enumerate(header):
        table.cell(0, c).text = text
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    return table


def _imported(path, tmp_path):
    result = import_documents([path], tmp_path / "out")
    return result, [read_return(file).document for file in result.files]


def test_comparison_value_and_unit_in_three_columns_are_joined(tmp_path):
    document = docx.Document()
    document.add_paragraph("2023年部门预算项目绩效目标表")
    _block(document)
    header = ["一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "指标值确定依据"]
    rows = [["产出指标", "数量指标", "采购台数", "≥", "20", "台", "年度计划"],
            ["产出指标", "质量指标", "验收合格率", "大于等于", "95", "%", "标准"],
            ["产出指标", "成本指标", "设备单价", "正向指标", "0.6", "万元", "市场价"],
            ["效益指标", "社会效益指标", "服务保障", "定性", "有效保障", "", "工作要求"],
            ["满意度指标", "服务对象满意度指标", "职工满意度", "≥", "95%", "%", "往年情况"]]
    _indicators(document, header, rows)
    path = tmp_path / "three.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    targets = [indicator["target"] for indicator in doc["projects"][0]["indicators"]]
    assert targets == ["≥20台", "≥95%", "≥0.6万元", "有效保障", "≥95%"]
    assert [(u.text, u.reason) for u in result.unplaced] == [("绩效指标描述", "missing_column")]  # none in it
    assert doc["unit"] == {"code": "015001", "name": "某某市教育局"}  # from 单位名称及代码


def test_a_form_nested_in_a_one_cell_layout_table_is_found(tmp_path):
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    layout = document.add_table(rows=1, cols=1)
    cell = layout.cell(0, 0)
    _block(cell)
    _indicators(cell)
    path = tmp_path / "nested.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    assert result.unplaced == [] and result.projects == 1
    assert [i["name"] for i in doc["projects"][0]["indicators"]] == ["采购台数", "服务保障", "职工满意度"]


def test_horizontally_merged_cells_keep_the_columns_in_place(tmp_path):
    """A 三级 cell merged over the 描述 column (a row with no description) must not shift 指标值 and 依据."""
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    _block(document)
    table = _indicators(document)
    merged = table.cell(2, 2).merge(table.cell(2, 3))
    merged.text = "服务保障"
    path = tmp_path / "merged.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    second = doc["projects"][0]["indicators"][1]
    assert (second["name"], second["target"], second["basis"]) == ("服务保障", "有效保障", "工作要求")
    assert not second.get("description")
    assert result.unplaced == []


def test_name_first_unit_codes_are_understood(tmp_path):
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    _block(document, unit_row=("主管部门及代码", "某某市教育局（015）"))
    _indicators(document)
    path = tmp_path / "name-first.docx"
    document.save(path)
    _, (doc,) = _imported(path, tmp_path)
    assert doc["unit"] == {"code": "015", "name": "某某市教育局"}


def test_exit_codes_say_whether_everything_was_placed(tmp_path):
    empty = docx.Document()
    empty.add_paragraph("2023年部门预算绩效文本：本单位无项目支出。")
    empty.save(tmp_path / "empty.docx")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "empty.docx"), "-o", str(tmp_path / "out"),
                                      "--lang", "zh"])
    assert result.exit_code == 1
    assert f"未能导入：{tmp_path / 'empty.docx'} 中没有可识别的绩效目标表" in result.output

    partial = docx.Document()
    partial.add_paragraph("2023年项目支出绩效目标表")
    _block(partial)
    _indicators(partial, HEADER[:-1], [row[:-1] for row in ROWS])  # no 依据 column
    partial.save(tmp_path / "partial.docx")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "partial.docx"), "-o", str(tmp_path / "out2"),
                                      "--lang", "en"])
    assert result.exit_code == 1 and "has no '指标值确定依据' column" in result.output
    assert len(list((tmp_path / "out2").glob("*.xlsx"))) == 1  # written all the same

    whole = docx.Document()
    whole.add_paragraph("2023年项目支出绩效目标表")
    _block(whole)
    _indicators(whole)
    whole.save(tmp_path / "whole.docx")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "whole.docx"), "-o", str(tmp_path / "out3")])
    assert result.exit_code == 0, result.output


def _seed_doc(seed, tmp_path):
    """The seed-shaped document saved by LibreOffice as an old Word document (.doc)."""
    import lo
    from test_import import build_seed_docx

    docx_path = build_seed_docx(tmp_path / "seed.docx", seed)
    document = docx.Document(docx_path)  # as Word writes it, a paragraph after the last table (.doc needs one:
    document.add_paragraph("")          # without it LibreOffice turns the last table into text)
    document.save(docx_path)
    return lo.convert(docx_path, "doc", tmp_path / "doc")


def test_a_table_that_a_conversion_turned_into_text_is_reported(seed, tmp_path):
    import lo
    from test_import import build_seed_docx

    doc_path = lo.convert(build_seed_docx(tmp_path / "seed.docx", seed), "doc", tmp_path / "doc")  # ends in a table
    result = import_documents([doc_path], tmp_path / "out")
    assert result.projects == 3  # the last table came back from the .doc as a paragraph...
    lost = [u for u in result.unplaced if u.reason == "table_as_text"]
    assert len(lost) == 1 and lost[0].text.startswith("471001遵化市工业和信息化局本级")  # ...and it is said


def test_an_old_word_document_is_converted_by_libreoffice_and_imported(seed, tmp_path):
    doc_path = _seed_doc(seed, tmp_path)
    before = doc_path.read_bytes()
    result = CliRunner().invoke(cli, ["import", str(doc_path), "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert f"已用 LibreOffice 把旧版 Word 文档转换为 .docx 后导入：{doc_path}" in result.output
    assert "已导入 4 个项目、37 条指标" in result.output
    document = read_return(next((tmp_path / "out").glob("*.xlsx"))).document
    assert [p["project_code"] for p in document["projects"]] == [p["project_code"] for p in seed["projects"]]
    assert doc_path.read_bytes() == before  # the input is never touched


def test_without_libreoffice_an_old_word_document_is_refused_with_the_way_out(seed, tmp_path, monkeypatch):
    doc_path = _seed_doc(seed, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # a machine without soffice on its PATH
    for lang, expected in (("zh", "是旧版 Word 文档（.doc）：请在 Word 或 WPS 中“另存为” .docx 后导入"),
                           ("en", "an old Word document (.doc): save it as .docx in Word or WPS")):
        result = CliRunner().invoke(cli, ["import", str(doc_path), "-o", str(tmp_path / "out"), "--lang", lang])
        assert result.exit_code == 2
        assert result.output.strip().startswith("xlperf: ") and expected in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_several_units_in_one_document_each_get_their_workbook(tmp_path):
    """Units named in the block (单位名称及代码), in a paragraph with a label or as code+name before their
    tables: each unit's projects go to its own workbook, none to a merged 000000 one."""
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    _block(document, unit_row=("单位名称及代码", "[015001]某某市教育局"))
    _indicators(document)
    document.add_paragraph("单位名称及代码：015002某某市第一中学")
    _block(document, unit_row=None)
    _indicators(document, rows=ROWS[:2])
    document.add_paragraph("2023年项目支出绩效目标表")
    document.add_paragraph("015003-某某市第二中学")
    _block(document, unit_row=None)
    _indicators(document, rows=ROWS[:1])
    path = tmp_path / "units.docx"
    document.save(path)
    result, documents = _imported(path, tmp_path)
    assert result.unplaced == []
    got = {doc["unit"]["code"]: (doc["unit"]["name"], len(doc["projects"][0]["indicators"])) for doc in documents}
    assert got == {"015001": ("某某市教育局", 3), "015002": ("某某市第一中学", 2), "015003": ("某某市第二中学", 1)}
    assert sorted(p.name for p in result.files) == ["015001_某某市教育局.xlsx", "015002_某某市第一中学.xlsx",
                                                     "015003_某某市第二中学.xlsx"]


def test_a_row_that_only_names_a_group_is_no_indicator(tmp_path):
    """二级 written once in a row of its own heads the indicators under it (no half-filled indicator row)."""
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    _block(document)
    rows = [["产出指标", "数量指标", "", "", "", ""],
            ["产出指标", "", "采购台数", "购置办公设备台数", "≥20台", "年度计划"],
            ["产出指标", "", "培训人次", "培训人次", "≥30人次", "年度计划"],
            ["满意度指标", "服务对象满意度指标", "", "", "", ""],
            ["满意度指标", "", "职工满意度", "职工满意程度", "≥95%", "往年情况"]]
    _indicators(document, HEADER, rows)
    path = tmp_path / "groups.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    indicators = doc["projects"][0]["indicators"]
    assert [(i["level1"], i["level2"], i["name"]) for i in indicators] == [
        ("产出指标", "数量指标", "采购台数"), ("产出指标", "数量指标", "培训人次"),
        ("满意度指标", "服务对象满意度指标", "职工满意度")]
    assert result.unplaced == []


GOAL = "1.保障全市中小学正常运转；2.完成校舍维修改造12所。"


def _department_table(document, name_row=("部门（单位）名称", "某某市教育局")):
    """A 部门（单位）整体支出绩效目标表 as Hunan and Hubei publish it: title and year rows, name, a budget of two
    rows under one merged label, duties, 年度总体目标, then 年度绩效指标 (merged down) over the indicators,
    三级 and 指标值 each merged over two grid columns."""
    table = document.add_table(rows=12, cols=7)

    def put(row, texts):
        for column, text in enumerate(texts):
            table.cell(row, column).text = text

    table.cell(0, 0).merge(table.cell(0, 6)).text = "部门（单位）整体支出绩效目标表"
    table.cell(1, 0).merge(table.cell(1, 6)).text = "（2023年度）"
    table.cell(2, 0).text = name_row[0]
    table.cell(2, 1).merge(table.cell(2, 6)).text = name_row[1]
    put(3, ["年度预算申请（万元）", "资金总额", "1200", "其中：财政拨款", "1000", "其他资金", "200"])
    put(4, ["", "按支出性质分", "", "其中：基本支出", "800", "项目支出", "400"])
    table.cell(3, 0).merge(table.cell(4, 0))
    table.cell(5, 0).text = "部门职能职责概述"
    table.cell(5, 1).merge(table.cell(5, 6)).text = "主管全市基础教育。"
    table.cell(6, 0).text = "年度总体目标"
    table.cell(6, 1).merge(table.cell(6, 6)).text = GOAL
    rows = [["一级指标", "二级指标", "三级指标", "指标值"], ["产出指标", "数量指标", "维修校舍数", "12所"],
            ["产出指标", "时效指标", "按时完成率", "100%"], ["满意度指标", "服务对象满意度指标", "家长满意度", "≥90%"],
            ["效益指标", "社会效益指标", "入学率", "≥99%"]]
    for row, texts in enumerate(rows, start=7):
        table.cell(row, 1).text, table.cell(row, 2).text = texts[0], texts[1]
        table.cell(row, 3).merge(table.cell(row, 4)).text = texts[2]
        table.cell(row, 5).merge(table.cell(row, 6)).text = texts[3]
    table.cell(7, 0).merge(table.cell(11, 0)).text = "年度绩效指标"
    return table


def test_a_department_table_goes_to_the_units_sheet_and_the_rest_is_listed(tmp_path):
    """部门整体支出绩效目标表: its 年度总体目标 becomes the unit's 总体绩效目标 (the unit its name names), and
    what 单位整体 has no place for (budget, duties, each indicator) is listed, so the import exits 1."""
    document = docx.Document()
    document.add_paragraph("某某市教育局2023年部门预算绩效目标")
    _department_table(document)
    document.add_paragraph("2023年项目支出绩效目标表")
    _block(document)
    _indicators(document)
    path = tmp_path / "department.docx"
    document.save(path)
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("已导入 1 个项目、3 条指标，写出 1 个工作簿")
    where = f"{path} 表1"
    assert lines[1:] == [
        f"未能放置：{where} 第4行 的部门整体表内容“年度预算申请（万元）：资金总额 | 1200 | 其中：财政拨款 | 1000 | 其他资金 | "
        "200”在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第5行 的部门整体表内容“年度预算申请（万元）：按支出性质分 | 其中：基本支出 | 800 | 项目支出 | 400”"
        "在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第6行 的部门整体表内容“部门职能职责概述：主管全市基础教育。”在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第9行 的部门整体绩效指标“产出指标/数量指标/维修校舍数：12所”在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第10行 的部门整体绩效指标“产出指标/时效指标/按时完成率：100%”在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第11行 的部门整体绩效指标“满意度指标/服务对象满意度指标/家长满意度：≥90%”在“单位整体”表中没有对应栏目",
        f"未能放置：{where} 第12行 的部门整体绩效指标“效益指标/社会效益指标/入学率：≥99%”在“单位整体”表中没有对应栏目",
    ]
    (workbook,) = (tmp_path / "out").glob("*.xlsx")
    doc = read_return(workbook).document
    assert doc["unit"] == {"code": "015001", "name": "某某市教育局"} and doc["overall_goal"] == GOAL
    assert [p["project_code"] for p in doc["projects"]] == ["P2023001"]
    assert len(doc["projects"][0]["indicators"]) == 3  # the department's indicators are not the project's


def test_a_document_with_only_a_department_table_gives_the_units_workbook(tmp_path):
    document = docx.Document()
    _department_table(document, name_row=("单位名称及代码", "[015001]某某市教育局"))
    path = tmp_path / "only.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    assert doc["unit"] == {"code": "015001", "name": "某某市教育局"} and doc["overall_goal"] == GOAL
    assert doc["projects"] == [] and result.projects == 0
    assert sorted({u.reason for u in result.unplaced}) == ["department_field", "department_indicator"]
    assert sum(u.reason == "department_indicator" for u in result.unplaced) == 4


def test_nothing_is_passed_over_in_silence(tmp_path):
    """A labelled cell the template has no field for, a column it has no place for, a table that looks like a
    绩效目标表 but cannot be read, and indicator-shaped rows after a table that are not a continuation: each
    listed once, located (document, table, row) with its text; a table of other content is no concern."""
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    block = _block(document)
    extra = block.add_row().cells
    extra[0].text, extra[1].text, extra[2].text, extra[3].text = "项目负责人", "张三", "联系电话", "12345"
    _indicators(document, HEADER + ["分值"], [row + ["10"] for row in ROWS])
    document.add_paragraph("其他说明")
    goals_only = document.add_table(rows=1, cols=2)
    goals_only.cell(0, 0).text, goals_only.cell(0, 1).text = "绩效目标", "（见附件）"
    unknown = document.add_table(rows=1, cols=7)
    for column, text in enumerate(["自定义类", "某类", "某项", "某描述", "5项", "计划", "10"]):
        unknown.cell(0, column).text = text
    document.add_paragraph("收入支出表")
    other = document.add_table(rows=2, cols=2)
    other.cell(0, 0).text, other.cell(0, 1).text, other.cell(1, 0).text, other.cell(1, 1).text = "收入", "100", "支出", "90"
    path = tmp_path / "extras.docx"
    document.save(path)
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"未能放置：{path} 表1 第5行 的“项目负责人 | 张三 | 联系电话 | 12345”在模板中没有对应栏目",
        f"未能放置：{path} 表2 的“分值”列在模板中没有对应栏目，该列内容未导入",
        f"未能导入：{path} 表3 像是绩效目标表，但找不到项目编码/项目名称或指标表头：绩效目标 | （见附件）",
        f"未能导入：{path} 表4 像是绩效目标表，但找不到项目编码/项目名称或指标表头：自定义类 | 某类 | 某项 | 某描述 | 5项 | 计划 | 10",
    ]
    (workbook,) = (tmp_path / "out").glob("*.xlsx")
    assert len(read_return(workbook).document["projects"][0]["indicators"]) == 3  # the rest still imported
    english = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "en"), "--lang", "en"])
    assert f"not placed: the '分值' column of {path} 表2 has no place in the template" in english.output
    assert len(english.output.splitlines()) == 5


def test_an_amount_in_yuan_that_is_no_whole_cent_of_wan_is_kept_exact_and_said(tmp_path):
    """109601 元 is 10.9601 万元: stored exactly, printed exactly, and said to go beyond the template's cents."""
    document = docx.Document()
    document.add_paragraph("2023年项目支出绩效目标表")
    document.add_paragraph("金额单位：元")
    block = _block(document)
    block.cell(2, 1).text, block.cell(2, 3).text = "109601", "109600"
    _indicators(document)
    path = tmp_path / "cents.docx"
    document.save(path)
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        f"已换算为万元：{path} 表1 预算数 “109601” → 10.9601 万元（不是整百元，按原值保留，超过两位小数，请核实）",
        f"已换算为万元：{path} 表1 其中：财政资金 “109600” → 10.96 万元"]
    project = read_return(next((tmp_path / "out").glob("*.xlsx"))).document["projects"][0]
    assert (project["budget_total"], project["fiscal"]) == (10.9601, 10.96)


def test_a_list_of_projects_is_no_project(tmp_path):
    """A 部门预算 document lists its projects (项目支出表: 项目编码 | 项目名称 | 合计 | …) before the 绩效目标表: the
    list is neither a project named 合计 nor a table to report; a project whose name ends in 资金 is a project."""
    document = docx.Document()
    document.add_paragraph("项目支出表")
    listing = document.add_table(rows=3, cols=4)
    for r, row in enumerate([["项目编码", "项目名称", "合计", "一般公共预算拨款"], ["P2023001", "办公设备购置", "12.5", "12.5"],
                             ["P2023002", "教育专项资金", "3", "3"]]):
        for c, text in enumerate(row):
            listing.cell(r, c).text = text
    document.add_paragraph("2023年项目支出绩效目标表")
    block = _block(document)
    block.cell(1, 3).text = "教育专项资金"
    _indicators(document)
    path = tmp_path / "listing.docx"
    document.save(path)
    result, (doc,) = _imported(path, tmp_path)
    assert result.unplaced == [] and [p["project_name"] for p in doc["projects"]] == ["教育专项资金"]


def test_an_unreadable_document_never_stops_the_others(tmp_path):
    whole = docx.Document()
    whole.add_paragraph("2023年项目支出绩效目标表")
    _block(whole)
    _indicators(whole)
    whole.save(tmp_path / "good.docx")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "broken.docx"), str(tmp_path / "good.docx"),
                                      "-o", str(tmp_path / "out"), "--lang", "zh"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"xlperf: 错误: {tmp_path / 'broken.docx'}: 不是可读取的 .docx 文件（PackageNotFoundError）"
    assert result.stdout.splitlines()[0].startswith("已导入 1 个项目、3 条指标，写出 1 个工作簿")
    assert [p.name for p in (tmp_path / "out").glob("*.xlsx")] == ["015001_某某市教育局.xlsx"]


def test_the_year_is_found_in_a_table_or_said_to_be_missing(tmp_path):
    """A form whose year is only in its own title row (a web page's form) gives that year; a document stating
    none is written for next year and says so, never an old year in silence."""
    import datetime

    dated = docx.Document()
    layout = dated.add_table(rows=1, cols=1).cell(0, 0)
    layout.add_table(rows=1, cols=1).cell(0, 0).text = "项目支出绩效目标表（2021年度）"
    _block(layout)
    _indicators(layout)
    dated.save(tmp_path / "dated.docx")
    result, (doc,) = _imported(tmp_path / "dated.docx", tmp_path)
    assert doc["year"] == 2021 and result.unplaced == []

    undated = docx.Document()
    _block(undated)
    _indicators(undated)
    undated.save(tmp_path / "undated.docx")
    run = CliRunner().invoke(cli, ["import", str(tmp_path / "undated.docx"), "-o", str(tmp_path / "u"), "--lang", "zh"])
    next_year = datetime.date.today().year + 1
    assert run.exit_code == 1
    assert run.output.splitlines()[1:] == [
        f"未能确定：{tmp_path / 'undated.docx'} 中找不到预算年度，已按 {next_year} 年写出（可用 --year 指定）"]
    assert read_return(next((tmp_path / "u").glob("*.xlsx"))).document["year"] == next_year
    given = CliRunner().invoke(cli, ["import", str(tmp_path / "undated.docx"), "-o", str(tmp_path / "g"), "--year", "2020"])
    assert given.exit_code == 0, given.output
