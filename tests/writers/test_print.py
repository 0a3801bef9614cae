"""The print check: each kind of output printed by LibreOffice is A4, legible and whole (see printcheck.py)."""

from __future__ import annotations

import docx
import openpyxl
import pytest

import lo
import printcheck


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    lo.require_soffice()
    return printcheck.make_outputs(tmp_path_factory.mktemp("outputs"))


def _printed(path, tmp_path):
    pdf = lo.convert(path, "pdf", tmp_path / "pdf")
    return pdf, printcheck.pages(pdf)


@pytest.mark.parametrize("kind, most_pages", [("template", 12), ("annotated", 12), ("summary", 14)])
def test_every_sheet_prints_on_a4_at_70_percent_or_more_with_every_cell_on_paper(outputs, tmp_path, kind,
                                                                                    most_pages):
    pdf, pages = _printed(outputs[kind], tmp_path)
    assert 1 < len(pages) <= most_pages
    assert all(page.is_a4 for page in pages)
    scales = {page.number: page.scale() for page in pages}
    assert all(scale is None or scale >= 0.695 for scale in scales.values()), scales  # 0.5% for glyph rounding
    assert {page.number: page.overlaps() for page in pages if page.overlaps()} == {}  # no text over its neighbour
    if kind == "summary":  # every sheet of the summary is landscape; the template's 单位整体 is a portrait form
        assert all(page.landscape for page in pages)
    shown = printcheck.shown_cells(outputs[kind], tmp_path / "csv")
    assert sum(len(texts) for texts in shown.values()) > 100
    assert {sheet: printcheck.not_on_paper(pdf, texts) for sheet, texts in shown.items()} == {
        sheet: [] for sheet in shown}


def test_the_report_prints_every_table_cell_with_its_labels_unbroken(outputs, tmp_path):
    pdf, pages = _printed(outputs["report"], tmp_path)
    assert 10 < len(pages) <= 25 and all(page.is_a4 and not page.landscape for page in pages)
    document = docx.Document(outputs["report"])
    texts = {cell.text for table in document.tables for row in table.rows for cell in row.cells if cell.text.strip()}
    texts |= {paragraph.text for paragraph in document.paragraphs if paragraph.text.strip()}
    assert len(texts) > 200
    assert printcheck.not_on_paper(pdf, sorted(texts)) == []
    # a label a reader takes in at a glance is on one line: LibreOffice draws each line as one word
    words = {text for page in pages for _, _, text in page.words}
    for label in ("其中：财政资金", "预算规模及", "资金用途", "资金支出", "计划（%）", "满意度指标", "经济效益指标",
                  "确定依据", "10.96"):
        assert label in words, label


def test_a_long_text_typed_into_the_unit_sheet_grows_its_row_and_prints_whole(outputs, tmp_path):
    """单位整体's text cells are not merged and their rows not fixed: LibreOffice (like Excel and WPS) makes the
    row as tall as what the unit types, so a long 工作保障措施 is neither cut off nor drawn over 总体绩效目标."""
    measures = "".join(f"（{n}）加强组织领导，落实工作责任，确保各项工作任务按时保质完成，强化资金监管。" for n in range(1, 31))
    goal = "围绕全市中小企业发展需求，完善公共服务平台，提升企业经营管理水平。"
    lo.type_into(outputs["template"], [("单位整体", "B5", goal), ("单位整体", "B6", measures)], tmp_path / "typed.xlsx")
    book = openpyxl.load_workbook(tmp_path / "typed.xlsx")
    assert book["单位整体"].row_dimensions[6].height > 300  # from 220 points, grown to the text
    book.close()
    pdf, pages = _printed(tmp_path / "typed.xlsx", tmp_path)
    assert printcheck.not_on_paper(pdf, [goal, measures]) == []
    # nothing is drawn over 总体绩效目标. (LibreOffice's own row fit is about one line short of what it prints
    # at 30 lines, so the last line may touch the counter below: its fit, not ours; see the closing note.)
    overlapping = {word for page in pages for pair in page.overlaps() for word in pair}
    assert not any(word in goal for word in overlapping), overlapping
