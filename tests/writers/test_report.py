"""report: the 部门预算绩效文本 (.docx, .pdf) read back cell by cell against the published tables of the seed."""
from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
import zipfile

import docx
import pytest
from conftest import SAMPLES
from docx.oxml.ns import qn

from xlperf.core.messages import MESSAGES
from xlperf.core import office

from xlperf.writers import report
from xlperf.writers.report import LABELS, LibreOfficeMissing, ReportError, ReturnsRefused, build_report, write_report

RETURNS = SAMPLES / "returns"
WITH_ERRORS = SAMPLES / "returns-with-errors" / "471003_missing-parts.xlsx"
SEED_UNIT = "471001"
PUBLISHED_MONEY = ["10.96", "11.00", "27.00", "16.00"]  # 预算数 and 其中：财政资金 as printed in the reference


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory):
    output = tmp_path_factory.mktemp("report") / "seed.docx"
    result = write_report([RETURNS], output, unit=SEED_UNIT)
    return result, docx.Document(str(output))


@pytest.fixture(scope="module")
def all_units_report(tmp_path_factory):
    output = tmp_path_factory.mktemp("report") / "all.docx"
    result = write_report([RETURNS], output)
    return result, docx.Document(str(output))


def texts(document, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == style]


def distinct_cells(table, row: int) -> list:
    """The cells of one row, each merged cell once (python-docx repeats a spanned cell per grid column)."""
    cells = []
    for column in range(len(table.columns)):
        cell = table.cell(row, column)
        if not cells or cells[-1]._tc is not cell._tc:
            cells.append(cell)
    return cells


def row_texts(table, row: int) -> list[str]:
    return [cell.text for cell in distinct_cells(table, row)]


def project_tables(document) -> list[tuple]:
    """(project block, indicator table) per project, in order: part 2 is the only place with tables."""
    tables = document.tables
    assert len(tables) % 2 == 0
    return list(zip(tables[0::2], tables[1::2]))


# --------------------------------------------------------------------------------------------- the seed's tables

def test_every_published_field_is_in_its_cell(seed_report, seed):
    result, document = seed_report
    assert (result.units, result.projects, result.exit_code) == ([("471001", "遵化市工业和信息化局本级")], 4, 0)
    pairs = project_tables(document)
    assert len(pairs) == len(seed["projects"]) == 4
    for project, money, (block, _) in zip(seed["projects"], PUBLISHED_MONEY, pairs):
        assert row_texts(block, 0) == [LABELS["project_code"], project["project_code"], LABELS["project_name"],
                                       project["project_name"]]
        assert row_texts(block, 1) == [LABELS["budget"], LABELS["budget_total"], money, LABELS["fiscal"], money,
                                       LABELS["other"], ""]
        assert float(money) == project["budget_total"] == project["fiscal"] and project["other"] is None
        assert row_texts(block, 2) == [LABELS["budget"], project["purpose"]]
        plan_label = "\n".join(LABELS["plan"])  # broken where the words part
        assert row_texts(block, 3) == [plan_label, *seed["spending_plan_milestones"]]
        assert row_texts(block, 4) == [plan_label, *(f"{project['spending_plan'][m]}%"
                                                         for m in seed["spending_plan_milestones"])]
        goals = "\n".join(f"{n}.{goal}" for n, goal in enumerate(project["goals"], start=1))
        assert row_texts(block, 5) == [LABELS["goal_row"], goals]
        # 预算规模及资金用途 and 资金支出计划 are each one cell over two rows
        assert block.cell(1, 0)._tc is block.cell(2, 0)._tc and block.cell(3, 0)._tc is block.cell(4, 0)._tc
        assert block.cell(2, 0)._tc is not block.cell(3, 0)._tc


def test_money_totals_match_the_merge(seed_report):
    result, document = seed_report
    projects = result.consolidation.projects
    projects = projects[projects["unit_code"] == SEED_UNIT]
    printed = [float(row_texts(block, 1)[2]) for block, _ in project_tables(document)]
    assert printed == list(projects["budget_total"])
    assert sum(printed) == pytest.approx(64.96)


def test_every_indicator_is_in_its_row(seed_report, seed):
    _, document = seed_report
    for project, (_, table) in zip(seed["projects"], project_tables(document)):
        assert row_texts(table, 0) == [label if isinstance(label, str) else "\n".join(label)
                                       for label in LABELS["indicator_header"]]
        assert len(table.rows) == 1 + len(project["indicators"])
        for row, indicator in enumerate(project["indicators"], start=1):
            assert row_texts(table, row) == [indicator[key] for key in
                                             ("level1", "level2", "name", "description", "target", "basis")]


def test_level1_cells_are_merged_over_their_rows(seed_report, seed):
    _, document = seed_report
    for project, (_, table) in zip(seed["projects"], project_tables(document)):
        level1 = [indicator["level1"] for indicator in project["indicators"]]
        for row in range(1, len(level1)):
            same = table.cell(row, 0)._tc is table.cell(row + 1, 0)._tc
            assert same == (level1[row - 1] == level1[row]), (project["project_name"], row)
        # in the XML: the first row of a group restarts the merge, the others continue it
        merges = [tr.tc_lst[0].vMerge for tr in table._tbl.tr_lst[1:]]
        for row, name in enumerate(level1):
            group = level1.count(name)
            first = level1.index(name) == row
            assert merges[row] == (None if group == 1 else "restart" if first else "continue")
    first_table = project_tables(document)[0][1]
    assert [len({table_row for table_row in range(1, 10) if first_table.cell(table_row, 0).text == name})
            for name in ("产出指标", "效益指标", "满意度指标")] == [4, 4, 1]


def test_header_rows_repeat_and_rows_do_not_split(seed_report):
    _, document = seed_report
    for block, table in project_tables(document):
        header = table._tbl.tr_lst[0].trPr
        assert header is not None and header.find(qn("w:tblHeader")) is not None
        assert all(tr.trPr.find(qn("w:tblHeader")) is None for tr in table._tbl.tr_lst[1:])
        assert all(tr.trPr.find(qn("w:cantSplit")) is not None for tr in table._tbl.tr_lst)
        for tbl in (block._tbl, table._tbl):
            borders = tbl.tblPr.find(qn("w:tblBorders"))
            assert [b.get(qn("w:val")) for b in borders] == ["single"] * 6


def test_captions_and_headings(seed_report, seed):
    _, document = seed_report
    names = [p["project_name"] for p in seed["projects"]]
    # the parts as the published document heads their pages: the part over its title, part 1's with the year
    assert texts(document, "Heading 1") == ["第一部分\n2022年部门整体绩效目标", "第二部分\n预算项目绩效目标"]
    assert texts(document, "Heading 2") == [LABELS["overall"], LABELS["sub_goals"], LABELS["measures"],
                                           *(f"{n}.{name}绩效目标表" for n, name in enumerate(names, start=1))]
    assert texts(document, "Heading 3") == [f"（{c}）{name}" for c, name in zip("一二三四", names)]
    captions = [p.text for p in document.paragraphs if p.text.endswith(LABELS["money_unit"])]
    assert captions == ["471001遵化市工业和信息化局本级\t单位：万元"] * 4
    styles = document.styles
    for level in (1, 2, 3):
        style = styles[f"Heading {level}"]
        assert style.element.pPr.find(qn("w:outlineLvl")).get(qn("w:val")) == str(level - 1)
        assert style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) in ("黑体", "楷体")
    assert styles["Normal"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"
    section = document.sections[-1]
    assert (section.page_width.cm, section.page_height.cm) == (pytest.approx(21.0, abs=0.01),
                                                               pytest.approx(29.7, abs=0.01))
    assert (section.left_margin.cm, section.top_margin.cm) == (pytest.approx(3.17, abs=0.01),
                                                               pytest.approx(2.54, abs=0.01))


def test_cover_toc_and_part_one(seed_report, seed):
    _, document = seed_report
    department = seed["department"]
    body = [p.text for p in document.paragraphs]
    assert body[:3] == ["遵化市工业和信息化局本级", "2022年部门预算绩效文本", "遵化市工业和信息化局本级编制"]
    assert not any(text.endswith("审核") for text in body)  # no reviewer given
    # the table of contents is a real field (Word/WPS/LibreOffice update its page numbers) whose shown result
    # already lists every heading of levels 1-2 (as the published contents do), so a Word user sees the
    # contents without doing anything
    toc = [p for p in document.paragraphs if p.style.name.startswith("toc ")]
    headings = [(int(p.style.name[-1]), report.contents_entry(p.text)) for p in document.paragraphs
                if p.style.name in ("Heading 1", "Heading 2")]
    assert [(int(p.style.name[-1]), p.text) for p in toc] == headings
    # the published document's contents, entry for entry
    assert [p.text for p in toc] == [LABELS["part1"], LABELS["overall"], LABELS["sub_goals"], LABELS["measures"],
                                     LABELS["part2"], *(f"{n}.{p['project_name']}绩效目标表"
                                                        for n, p in enumerate(seed["projects"], start=1))]
    kinds = [c.get(qn("w:fldCharType")) for p in toc for c in p._p.iter(qn("w:fldChar"))]
    assert kinds == ["begin", "separate", "end"]
    assert [t.text for t in toc[0]._p.iter(qn("w:instrText"))] == [' TOC \\o "1-2" \\h \\z \\u ']
    assert [c.get(qn("w:fldCharType")) for c in toc[-1]._p.iter(qn("w:fldChar"))] == ["end"]
    assert LABELS["toc_placeholder"] not in "\n".join(body)
    assert document.settings.element.find(qn("w:updateFields")).get(qn("w:val")) == "true"
    body = body[body.index(toc[-1].text) + 1:]  # the text itself, after its contents
    assert body.index(department["overall_goal"]) == body.index(LABELS["overall"]) + 1
    start = body.index(LABELS["measures"]) + 1
    assert body[start:start + len(department["measures"])] == department["measures"]
    for project in seed["projects"]:
        heading = next(i for i, text in enumerate(body) if text.endswith(project["project_name"]))
        purpose, goals, indicators = body[heading + 1:heading + 4]
        assert purpose == project["purpose"]
        assert goals == LABELS["goals"] + "".join(g if g.endswith("。") else g + "。" for g in project["goals"])
        first_output = next(i for i in project["indicators"] if i["level1"] == "产出指标")["description"]
        satisfaction = next(i for i in project["indicators"] if i["level1"] == "满意度指标")["target"]
        assert indicators.startswith(LABELS["indicators"] + first_output + "。")
        assert indicators.endswith(f"服务对象满意度指标达到{satisfaction.lstrip('≥')}以上。")
    # the published sentence for the second project, in the seed's wording
    assert body[body.index("（二）工信局安全生产执法监督管理经费") + 3].endswith("服务对象满意度指标达到90%以上。")


def test_same_inputs_give_the_same_bytes(tmp_path):
    first, second = tmp_path / "a.docx", tmp_path / "b.docx"
    write_report([RETURNS], first, unit=SEED_UNIT)
    write_report([RETURNS], second, unit=SEED_UNIT)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert not any("thumbnail" in name for name in archive.namelist())
    properties = docx.Document(str(first)).core_properties
    assert properties.created == properties.modified and properties.created.year == 2026  # the returns' save time
    assert properties.title == "遵化市工业和信息化局本级2022年部门预算绩效文本"


# --------------------------------------------------------------------------------------------- several units

def test_all_three_units_list_nine_projects_in_order(all_units_report):
    result, document = all_units_report
    merged = result.consolidation.projects
    names = list(merged["project_name"])
    assert len(names) == 9 and result.units == [("471001", "遵化市工业和信息化局本级"),
                                                 ("471002", "遵化市中小企业服务中心"), ("471003", "遵化市无线电监测站")]
    assert texts(document, "Heading 2")[3:] == [f"{n}.{name}绩效目标表" for n, name in enumerate(names, start=1)]
    units = ["遵化市工业和信息化局本级", "遵化市中小企业服务中心", "遵化市无线电监测站"]
    headings = [t.split("）", 1)[1] for t in texts(document, "Heading 3")]
    # part 1: every unit's overall goal under its name, the projects, every unit's measures under its name
    assert headings == units + names + units
    pairs = project_tables(document)
    assert [row_texts(block, 0)[1] for block, _ in pairs] == list(merged["project_code"])
    assert [float(row_texts(block, 1)[2]) for block, _ in pairs] == list(merged["budget_total"])
    # other funds print with two decimals where there are any, blank where there are none
    assert [row_texts(block, 1)[6] for block, _ in pairs] == ["", "", "", "", "4.50", "", "", "5.80", ""]
    captions = [p.text.split("\t")[0] for p in document.paragraphs if p.text.endswith(LABELS["money_unit"])]
    assert captions == ["471001遵化市工业和信息化局本级"] * 4 + ["471002遵化市中小企业服务中心"] * 3 \
        + ["471003遵化市无线电监测站"] * 2
    # the cover names the department: the one whose own office (本级) is among the units (--title otherwise)
    assert document.paragraphs[0].text == "遵化市工业和信息化局"


def test_part_one_keeps_every_units_overall_goal_and_measures(all_units_report):
    from xlperf.intake.reader import read_return

    _, document = all_units_report
    body = "\n".join(p.text for p in document.paragraphs)
    for path in sorted(RETURNS.glob("*.xlsx")):
        original = read_return(path).document
        for key in ("overall_goal", "measures"):
            for line in original[key].splitlines():
                assert line.strip() in body, (path.name, key, line)


def test_title_year_and_reviewer(tmp_path):
    output = tmp_path / "titled.docx"
    write_report([RETURNS], output, title="遵化市工业和信息化局", year=2023, reviewer="遵化市财政局")
    body = [p.text for p in docx.Document(str(output)).paragraphs]
    assert body[:4] == ["遵化市工业和信息化局", "2023年部门预算绩效文本", "遵化市工业和信息化局编制",
                        "遵化市财政局审核"]


# --------------------------------------------------------------------------------------------- refusals

def test_returns_with_errors_are_refused_unless_included(tmp_path):
    output = tmp_path / "report.docx"
    with pytest.raises(ReturnsRefused) as refused:
        write_report([RETURNS / "471001_遵化市工业和信息化局本级.xlsx", WITH_ERRORS], output)
    assert refused.value.files == [(str(WITH_ERRORS), "有 3 个错误，未汇总")]
    message = str(refused.value)
    assert str(WITH_ERRORS) in message and "有 3 个错误，未汇总" in message and "--include-invalid" in message
    assert not output.exists()
    with pytest.raises(ReportError, match="3 error"):
        write_report([WITH_ERRORS], output, lang="en")
    result = write_report([WITH_ERRORS], output, include_invalid=True)
    assert output.exists() and result.units[0][0] == "471003" and result.exit_code == 1


def test_unit_filter_only_minds_its_own_unit(tmp_path):
    output = tmp_path / "report.docx"
    result = write_report([RETURNS / "471001_遵化市工业和信息化局本级.xlsx", WITH_ERRORS], output, unit=SEED_UNIT)
    assert result.projects == 4 and result.exit_code == 0  # 471001 has warnings only
    with pytest.raises(ReportError, match="没有单位编码为 999999"):
        write_report([RETURNS], output, unit="999999")


def test_unit_text_stays_literal_text(seed_report):
    result, _ = seed_report
    consolidation = copy.deepcopy(result.consolidation)
    document = consolidation.documents[0]["document"]
    project = document["projects"][0]
    project["purpose"] = '=HYPERLINK("http://example.com","点我")'
    project["goals"] = ["{PAGE}", "第二\x01条\x0b目标\ufffe"]
    project["project_name"] = "工信局\t购置\n公务用车"
    project["indicators"][0]["description"] = "<w:fldSimple w:instr=\"PAGE\"/> & 说明"
    data = build_report(consolidation, unit=SEED_UNIT)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    assert xml.count("<w:instrText") == 1 and "<w:fldSimple" not in xml  # only the TOC field
    rendered = docx.Document(io.BytesIO(data))
    block, indicators = project_tables(rendered)[0]
    assert row_texts(block, 0)[3] == "工信局 购置 公务用车"
    assert row_texts(block, 2)[1] == '=HYPERLINK("http://example.com","点我")'
    assert row_texts(block, 5)[1] == "1.{PAGE}\n2.第二条目标"
    assert row_texts(indicators, 1)[3] == "<w:fldSimple w:instr=\"PAGE\"/> & 说明"


# --------------------------------------------------------------------------------------------- LibreOffice

def test_pdf_through_libreoffice(tmp_path, seed):
    assert shutil.which("soffice"), "LibreOffice (soffice) is required: apt-get install libreoffice-writer"
    assert shutil.which("pdftotext") and shutil.which("pdftoppm"), "poppler-utils is required"
    output = tmp_path / "seed.docx"
    result = write_report([RETURNS], output, unit=SEED_UNIT, pdf=True)
    assert result.pdf == tmp_path / "seed.pdf" and result.pdf.read_bytes().startswith(b"%PDF")
    assert result.notes == []  # the table of contents was updated
    text = subprocess.run(["pdftotext", "-layout", str(result.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert LABELS["toc_placeholder"] not in text
    pages = text.split("\f")
    table_page = next(number for number, page in enumerate(pages, start=1)
                      if seed["projects"][0]["project_code"] in page)
    flat = re.sub(r"\s+", "", text)  # table cells and headings may wrap
    position = flat.rindex(LABELS["part2"].split()[1])  # part 2 itself, not its line in the contents
    for number, project in enumerate(seed["projects"], start=1):  # each heading, then its table, in order
        position = flat.index(f"{number}.{project['project_name']}绩效目标表", position)
        position = flat.index(project["project_code"], position)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(result.pdf), str(tmp_path / "cover")],
                   check=True, capture_output=True)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(table_page), "-l", str(table_page), str(result.pdf),
                    str(tmp_path / "table")], check=True, capture_output=True)
    images = sorted(tmp_path.glob("*.png"))
    assert len(images) == 2 and all(image.read_bytes().startswith(b"\x89PNG") for image in images)


def test_pdf_asked_for_without_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    output = tmp_path / "report.docx"
    with pytest.raises(LibreOfficeMissing, match="LibreOffice"):
        write_report([RETURNS], output, pdf=True)
    assert not output.exists()


def test_pdf_without_the_contents_macro_still_converts(tmp_path, monkeypatch):
    """If LibreOffice cannot run the macro that updates the contents, the plain conversion is used and said so."""
    assert shutil.which("soffice"), "LibreOffice (soffice) is required: apt-get install libreoffice-writer"
    broken = office._MACRO.replace("getByIndex(i).update()", "getByIndex(i + 99).update()")
    monkeypatch.setattr(office, "_MACRO", broken)
    result = write_report([RETURNS], tmp_path / "seed.pdf", unit=SEED_UNIT, pdf=True)
    assert (result.output, result.pdf) == (tmp_path / "seed.docx", tmp_path / "seed.pdf")
    assert result.notes == [MESSAGES["toc_stale"][0]] and result.notes[0] in result.message()
    text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, text=True, check=True).stdout
    # not updated, the contents still list the headings (without their page numbers)
    assert LABELS["toc_placeholder"] not in text and text.count(LABELS["part2"]) == 1  # the contents' entry
    assert "第二部分\n预算项目绩效目标" in text  # and the part's own heading
