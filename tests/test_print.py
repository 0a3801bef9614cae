"""The print check: each kind of output printed by LibreOffice is A4, legible and whole (see printcheck.py)."""

from __future__ import annotations

import docx
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
