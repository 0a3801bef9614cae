"""Annotated copies: problem cells highlighted with comments, a 校验结果 sheet, still a working template."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES
from fill import template_meta

import lo
import printcheck
from xlperf.writers.annotate import annotate_results
from xlperf.checks.validate import validate_paths

ERRORS = SAMPLES / "returns-with-errors"


def _annotate(path, outdir):
    results = validate_paths([path])
    written = [copy for copy in annotate_results(results, outdir).values() if copy]
    return results[0], written


@pytest.fixture(scope="module")
def lo_saved_return(tmp_path_factory):
    """A return with mistakes as LibreOffice saves it (openpyxl would drop its cross-sheet validations)."""
    return lo.convert(ERRORS / "471002_indicator-errors.xlsx", "xlsx", tmp_path_factory.mktemp("lo"))


def test_annotated_copy_marks_every_located_finding(tmp_path, lo_saved_return):
    result, written = _annotate(lo_saved_return, tmp_path / "annotated")
    assert len(written) == 1
    book = openpyxl.load_workbook(written[0])
    located = [f for f in result.findings if f.location.sheet and f.location.cell]
    assert located
    for finding in located:
        comment = book[finding.location.sheet][finding.location.cell].comment
        assert comment is not None and finding.message("zh") in comment.text, finding.code
    sheet = book["校验结果"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.findings)
    assert {row[6] for row in rows} == {f.code for f in result.findings}
    link = next(c for c in sheet["C"][1:] if c.hyperlink is not None)
    assert link.hyperlink.location and "!" in link.hyperlink.location
    assert sheet.protection.sheet


def test_annotated_copy_is_still_a_working_template(tmp_path, lo_saved_return):
    _, written = _annotate(lo_saved_return, tmp_path / "annotated")
    book = openpyxl.load_workbook(written[0])
    assert book.security.lockStructure
    sheet = book["中小企业公共服务平台运行维护经费"]
    assert sheet.protection.sheet
    validations = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert validations["B11:B30"] == "xl_l1" and validations["C11:C30"].startswith("INDIRECT(")
    meta = template_meta(book)
    assert meta["workbook"]["unit_code"] == "471002"
    # and xlperf reads it back with the same findings as the original
    again = validate_paths([written[0]])[0]
    original = validate_paths([lo_saved_return])[0]
    assert sorted((f.code, f.location.sheet, f.location.cell) for f in again.findings) == \
        sorted((f.code, f.location.sheet, f.location.cell) for f in original.findings)



def test_a_return_of_the_six_column_layout_is_annotated_in_todays_layout(tmp_path):
    """A return made from a layout-1.0 template (indicators in A–F) comes back rebuilt in today's layout:
    each mark and comment on the cell that now holds the field, the copy reading back with the findings of
    the same return made from today's template."""
    old_return = Path(__file__).resolve().parents[1] / "data" / "layout-1.0" / "471002_indicator-errors.xlsx"
    result, written = _annotate(old_return, tmp_path / "annotated")
    sheet = "中小企业公共服务平台运行维护经费"
    assert ("LEVEL2_NOT_IN_LEVEL1", sheet, "B12") in {(f.code, f.location.sheet, f.location.cell)
                                                     for f in result.findings}
    book = openpyxl.load_workbook(written[0])
    assert "不属于一级指标" in book[sheet]["C12"].comment.text and book[sheet]["B12"].comment is None
    assert book[sheet]["A4"].value == "预算规模及资金用途"
    duplicate = book["企业经营管理人才培训经费"]["D12"].comment.text
    assert "另见 D11" in duplicate  # the other cell named in the message moved too
    again = validate_paths([written[0]])[0]
    today = validate_paths([ERRORS / "471002_indicator-errors.xlsx"])[0]
    assert sorted((f.code, f.location.sheet, f.location.cell) for f in again.findings) == \
        sorted((f.code, f.location.sheet, f.location.cell) for f in today.findings)
    listed = [row[2] for row in book["校验结果"].iter_rows(min_row=2, values_only=True)]
    assert "C12" in listed and "B12" not in listed

def test_values_stay_where_the_unit_typed_them(tmp_path):
    _, written = _annotate(ERRORS / "471003_missing-parts.xlsx", tmp_path)
    original = openpyxl.load_workbook(ERRORS / "471003_missing-parts.xlsx")
    copy = openpyxl.load_workbook(written[0])
    for name in ("无线电频谱监测设备运行维护费", "重大活动无线电安全保障经费"):
        for row in range(11, 31):
            for column in "BCDEFG":
                assert copy[name][f"{column}{row}"].value == original[name][f"{column}{row}"].value


def test_formula_looking_text_stays_text_in_the_copy(tmp_path):
    book = openpyxl.load_workbook(SAMPLES / "returns" / "471002_遵化市中小企业服务中心.xlsx")
    sheet = book["中小企业公共服务平台运行维护经费"]
    sheet["E11"].value = '=HYPERLINK("http://example.invalid","x")'
    sheet["E11"].data_type = "s"  # typed as text in a text cell
    book.save(tmp_path / "r.xlsx")
    _, written = _annotate(tmp_path / "r.xlsx", tmp_path / "out")
    cell = openpyxl.load_workbook(written[0])["中小企业公共服务平台运行维护经费"]["E11"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://example.invalid","x")'


def test_structure_changed_returns_get_no_copy(tmp_path):
    book = openpyxl.load_workbook(SAMPLES / "returns" / "471003_遵化市无线电监测站.xlsx")
    book["重大活动无线电安全保障经费"].insert_rows(3)
    book.save(tmp_path / "moved.xlsx")
    _, written = _annotate(tmp_path / "moved.xlsx", tmp_path / "out")
    assert written == []


def test_the_findings_sheet_opens_first_in_chinese_and_prints_whole(tmp_path):
    """A unit opening its annotated copy sees the findings first, with Chinese field names (no `fiscal`,
    `spending_plan/6月底`), and printed on A4 every message and fix is on paper, nothing cut off."""
    import re
    import subprocess

    results = validate_paths([SAMPLES / "returns-with-errors"])
    written = annotate_results(results, tmp_path)
    copy = written[str(SAMPLES / "returns-with-errors" / "471001_budget-and-plan-errors.xlsx")]
    book = openpyxl.load_workbook(copy)
    assert book.sheetnames[0] == "校验结果" and book.active.title == "校验结果"
    rows = list(book["校验结果"].iter_rows(values_only=True))
    assert rows[0] == ("严重程度", "工作表", "单元格", "字段", "问题", "修改建议", "代码")
    fields = [row[3] for row in rows[1:]]
    assert "财政资金" in fields and "资金支出计划 6月底" in fields
    assert not any(re.fullmatch(r"[a-z_/0-9月底]+", field or "") for field in fields)
    again = validate_paths([copy])[0]  # still a return, read as such with the findings sheet first
    assert not again.unreadable and not any(f.code.startswith("READ_SHEET") for f in again.findings)

    pdf = lo.convert(copy, "pdf", tmp_path / "pdf")
    first_page = subprocess.run(["pdftotext", "-raw", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                                text=True, check=True).stdout
    flat = re.sub(r"\s+", "", first_page)
    for row in rows[1:]:
        for text in row[:6]:
            assert re.sub(r"\s+", "", str(text or "")) in flat, text
    assert printcheck.pages(pdf)[0].overlaps() == []  # no text runs out of its cell over the next
    size = subprocess.run(["pdfinfo", "-f", "1", "-l", "1", str(pdf)], capture_output=True, text=True).stdout
    assert "841.89 x 595.3" in size  # A4 landscape
    # whose findings and which year, atop the page, and the page's number below, as on every other sheet
    assert "471001遵化市工业和信息化局本级2022年度项目支出绩效目标表校验结果" in flat
    assert re.search(r"第1页，共\d+页", flat)


def _fill_under(pdf, text: str) -> tuple[int, int, int]:
    """The colour LibreOffice printed just right of where a cell's ``text`` ends (the cell's fill), on the
    first page after the findings sheet that shows it."""
    import re
    import subprocess

    from PIL import Image

    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for number, page in enumerate(bbox.split("<page ")[1:], start=1):
        words = re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)
        found = [(float(b), float(a), float(c)) for a, b, c, word in words if word.startswith(text)]
        if number > 1 and found:
            break
    else:
        raise AssertionError(f"{text} is not printed")
    x, top, bottom = found[0]
    stem = pdf.with_name(f"{pdf.stem}-{number}")
    subprocess.run(["pdftoppm", "-r", "150", "-f", str(number), "-l", str(number), "-singlefile", "-png", str(pdf),
                    str(stem)], check=True)
    scale = 150 / 72
    image = Image.open(f"{stem}.png").convert("RGB")
    return image.getpixel((int((x + 3) * scale), int((top + bottom) / 2 * scale)))


def test_marks_are_red_for_errors_orange_for_warnings_and_clear_when_the_unit_changes_the_value(tmp_path):
    """Printed by LibreOffice: an error cell is red, a warnings-only cell orange; once a person types another
    value into the error cell (LibreOffice, as a unit would), its mark is gone and the warning's stays."""
    results = validate_paths([SAMPLES / "returns-with-errors" / "471002_indicator-errors.xlsx"])
    copy = annotate_results(results, tmp_path)[results[0].path]
    sheet = "中小企业公共服务平台运行维护经费"
    assert openpyxl.load_workbook(copy).sheetnames[0] == "校验结果"
    pdf = lo.convert(copy, "pdf", tmp_path / "before")
    red, orange = _fill_under(pdf, "社会效益指标"), _fill_under(pdf, "非常满意")
    assert red[0] > 240 and 180 < red[1] < 215, red  # #FFC7CE: an error (二级 outside its 一级)
    assert orange[0] > 240 and 200 < orange[1] < 225 and orange[2] < 185, orange  # #FFD8A8: a warning only
    typed = lo.type_into(copy, [(sheet, "C12", "质量指标")], tmp_path / "typed.xlsx")
    assert typed["entries"][0]["accepted"]
    pdf = lo.convert(tmp_path / "typed.xlsx", "pdf", tmp_path / "after")
    # the unit changed the value: the cell is back to the input fill of its unmarked neighbours
    assert _fill_under(pdf, "质量指标") == _fill_under(pdf, "时效指标") != red
    assert _fill_under(pdf, "非常满意") == orange


def test_counts_equal_the_findings_marked_and_fall_as_the_unit_corrects(tmp_path):
    """本表待修正问题 counts the error findings marked on its sheet, the note beside it the warnings, and
    全部待修正问题 their sum; LibreOffice computes them, and after a person types a fix the counts drop."""
    result = validate_paths([SAMPLES / "returns-with-errors" / "471002_indicator-errors.xlsx"])[0]
    copy = annotate_results([result], tmp_path)[result.path]
    sheets = ["单位整体", *[name for name in openpyxl.load_workbook(copy).sheetnames
                           if name not in ("校验结果", "填报说明", "单位整体", "_lists", "_meta")]]
    counts = {name: (sum(1 for f in result.findings if f.location.sheet == name and f.location.cell and f.is_error),
                     sum(1 for f in result.findings if f.location.sheet == name and f.location.cell and not f.is_error))
              for name in sheets}
    assert sum(e for e, _ in counts.values()) == result.errors and sum(w for _, w in counts.values()) > 0
    cells = {name: ("B7", "A8") if name == "单位整体" else ("B9", "C9") for name in sheets}
    watch = [(name, cell) for name in sheets for cell in cells[name]] + [("填报说明", "B7")]
    typed = lo.type_into(copy, [("中小企业公共服务平台运行维护经费", "C12", "质量指标")], None, watch=watch)
    before, after = typed["watch_before"], typed["watch_after_hard_recalc"]
    for name in sheets:
        errors, warnings = counts[name]
        count_cell, note_cell = (f"{name}!{cell}" for cell in cells[name])
        assert before[count_cell]["value"] == errors, name
        assert f"另有警告 {warnings} 个" in before[note_cell]["string"], name
    fixed = "中小企业公共服务平台运行维护经费"
    assert after[f"{fixed}!B9"]["value"] == counts[fixed][0] - 1
    total = next(state for key, state in before.items() if key.startswith("填报说明!"))
    assert total["value"] == result.errors


def test_long_unit_texts_get_rows_tall_enough_to_print_whole(tmp_path):
    """单位整体's fixed row heights cut long measures on paper: a copy holding 30 lines of them makes the row
    tall enough, and LibreOffice's PDF shows the last line."""
    import subprocess

    result = validate_paths([SAMPLES / "returns" / "471001_遵化市工业和信息化局本级.xlsx"])[0]
    lines = [f"（{n}）加强组织领导，明确责任分工，做好第{n}项保障工作，确保项目按期保质完成。" for n in range(1, 31)]
    result.document.document["measures"] = "\n".join(lines)
    copy = annotate_results([result], tmp_path)[result.path]
    assert openpyxl.load_workbook(copy)["单位整体"].row_dimensions[6].height >= 14 * 30
    pdf = lo.convert(copy, "pdf", tmp_path / "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "做好第30项保障工作" in text.replace("\n", "")
