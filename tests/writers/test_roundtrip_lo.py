"""Round trips through LibreOffice: a filled return re-saved as .xlsx or converted to .ods reads back the same,
and the sample summary opens, prints and recalculates to the same totals."""
from __future__ import annotations

import csv

import openpyxl
import pytest
from conftest import SAMPLES
from fill import fill_template, seed_document

import lo
from xlperf.consolidate.merge import merge_returns
from xlperf.intake.reader import read_return
from xlperf.writers.summary import write_summary
from xlperf.checks.validate import validate_paths


@pytest.fixture(scope="module")
def seed_return(sample_templates, seed, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    return fill_template(sample_templates["471001"], seed_document(seed), folder / "471001.xlsx")


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_saved_return_reads_back_the_same(seed_return, tmp_path, fmt):
    converted = lo.convert(seed_return, fmt, tmp_path)
    original = read_return(seed_return)
    again = read_return(converted)
    assert again.findings == [] or all(f.code.startswith("READ_HAS") for f in again.findings)
    assert again.document == original.document
    assert {k: (v.sheet, v.cell) for k, v in again.sources.items()} == \
        {k: (v.sheet, v.cell) for k, v in original.sources.items()}
    result = validate_paths([converted])[0]
    assert result.errors == 0


def test_libreoffice_xls_is_refused_with_how_to_save(seed_return, tmp_path):
    converted = lo.convert(seed_return, "xls", tmp_path)
    result = validate_paths([converted])[0]
    assert result.unreadable and result.findings[0].code == "READ_XLS_REFUSED"
    assert "另存为" in result.findings[0].hint("zh")


def test_libreoffice_xls_renamed_to_xlsx_is_named_as_such_not_as_password(seed_return, tmp_path):
    """A unit that 'converts' by renaming must be told to Save As, not to remove a password it never set."""
    renamed = lo.convert(seed_return, "xls", tmp_path).rename(tmp_path / "renamed.xlsx")
    finding = validate_paths([renamed])[0].findings[0]
    assert finding.code == "READ_XLS_RENAMED"
    assert "renamed.xlsx" in finding.message("en") and "password" not in finding.message("en") + finding.hint("en")
    assert "另存为" in finding.hint("zh") and "密码" not in finding.message("zh") + finding.hint("zh")


@pytest.fixture(scope="module")
def sample_summary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary")
    merged = merge_returns([SAMPLES / "returns"], expect=SAMPLES / "templates" / "manifest.json")
    path = folder / "summary.xlsx"
    write_summary(merged, path)
    return merged, path


def test_sample_summary_values_totals_and_provenance(sample_summary):
    merged, path = sample_summary
    book = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    projects = book["项目汇总"]
    header = [c.value for c in projects[1]]
    budget_column = header.index("预算数") + 1
    total_row = projects.max_row
    assert projects.cell(total_row, budget_column).value.startswith("=SUM(")
    assert values["项目汇总"].cell(total_row, budget_column).value == pytest.approx(193.86)
    codes = [projects.cell(r, header.index("项目编码") + 1).value for r in range(2, total_row)]
    assert codes == list(merged.projects["project_code"])
    detail = book["绩效指标明细"]
    detail_header = [c.value for c in detail[1]]
    rows = [[c.value for c in row] for row in detail.iter_rows(min_row=2)]
    target = next(r for r in rows if r[detail_header.index("三级指标")] == "项目所需资金")
    assert target[detail_header.index("指标值")] == "＝16万元"
    assert (target[detail_header.index("来源工作表")], target[detail_header.index("来源单元格")]) == ("科技发展工作经费", "F14")
    assert str(target[detail_header.index("来源文件")]).endswith("471001_遵化市工业和信息化局本级.xlsx")
    assert book["指标统计"]._charts and book["资金支出进度"]._charts
    for sheet in book.worksheets:  # no formula in any text cell: the only formulas are totals
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert sheet.title in ("项目汇总", "汇总说明", "资金支出进度", "指标统计"), (sheet.title, cell.coordinate)


def test_libreoffice_recalculates_the_sample_totals(sample_summary, tmp_path):
    _, path = sample_summary
    sheets = lo.convert_csv(path, tmp_path)
    with open(sheets["项目汇总"], encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = [name.replace("\n", "") for name in rows[0]]  # headers break into lines where the words part
    total = rows[-1]
    assert total[0] == "合计" or "合计" in total
    assert float(total[header.index("预算数")].replace(",", "")) == pytest.approx(193.86)
    assert float(total[header.index("财政资金")].replace(",", "")) == pytest.approx(183.56)
    pdf = lo.convert(path, "pdf", tmp_path)
    assert pdf.stat().st_size > 10_000
