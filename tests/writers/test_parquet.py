"""`merge --parquet DIR`: the merge's tables as Parquet (read with pandas and DuckDB), with the summary's
columns and types and each row's provenance; the folder is an input of a higher-level merge; a summary
too large for Excel is refused with the way out, or left to Parquet."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from xlperf.cli import cli
from xlperf.consolidate.merge import merge_returns


@pytest.fixture(scope="module")
def department(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parquet")
    result = CliRunner().invoke(cli, ["--lang", "en", "merge", str(SAMPLES / "returns"), "-o", str(folder / "s.xlsx"),
                                      "--parquet", str(folder / "dept"), "--no-cache"])
    assert result.exit_code == 0, result.output
    return folder


def test_tables_with_the_summarys_columns_types_and_provenance(department):
    import openpyxl

    merged = merge_returns([SAMPLES / "returns"], cache_dir=None)
    for name in ("projects", "indicators", "findings", "inputs", "missing"):
        frame = pd.read_parquet(department / "dept" / f"{name}.parquet")
        assert list(frame.columns) == merged.columns(name), name
        assert len(frame) == merged.size(name) if name != "indicators" else merged.indicator_count
    projects = pd.read_parquet(department / "dept" / "projects.parquet")
    assert str(projects["budget_total"].dtype) == "float64" and str(projects["indicator_count"].dtype) == "int64"
    assert projects["budget_total"].sum() == pytest.approx(193.86)
    indicators = pd.read_parquet(department / "dept" / "indicators.parquet")
    book = openpyxl.load_workbook(department / "s.xlsx", read_only=True)
    shown = [row for row in book["绩效指标明细"].iter_rows(min_row=2, values_only=True)]
    book.close()
    assert [row[8] for row in shown] == list(indicators["target"])  # the same rows as the sheet, in order
    assert set(indicators["source_file"]) == {str(p) for p in sorted((SAMPLES / "returns").glob("*.xlsx"))}
    assert indicators["source_cell"].str.fullmatch(r"F\d+").all()


def test_duckdb_reads_the_dataset(department):
    import duckdb

    rows = duckdb.sql(f"select unit_code, round(sum(budget_total), 2) from '{department / 'dept' / 'projects.parquet'}' "
                      "group by unit_code order by unit_code").fetchall()
    assert rows == [("471001", 64.96), ("471002", 75.1), ("471003", 53.8)]


def test_the_dataset_is_an_input_of_a_higher_merge_with_provenance(department, tmp_path):
    result = CliRunner().invoke(cli, ["--lang", "en", "merge", str(department / "dept"), "-o", str(tmp_path / "b.xlsx"),
                                      "--parquet", str(tmp_path / "bureau"), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "(9 projects, 71 indicators;" in result.output
    lower = pd.read_parquet(department / "dept" / "indicators.parquet")
    upper = pd.read_parquet(tmp_path / "bureau" / "indicators.parquet")
    pd.testing.assert_frame_equal(lower, upper)  # the original returns' files, sheets and cells kept
    validated = CliRunner().invoke(cli, ["--lang", "en", "validate", str(department / "dept" / "documents.parquet")])
    assert validated.exit_code == 2 and "this is an xlperf summary workbook" in validated.output


def test_a_summary_too_large_for_excel_is_refused_or_left_to_parquet(tmp_path, monkeypatch):
    import openpyxl

    import xlperf.writers.summary

    monkeypatch.setattr(xlperf.writers.summary, "EXCEL_MAX_ROWS", 50)  # 71 indicator rows do not fit
    out = tmp_path / "s.xlsx"
    refused = CliRunner().invoke(cli, ["--lang", "en", "merge", str(SAMPLES / "returns"), "-o", str(out), "--no-cache"])
    assert refused.exit_code == 2 and not out.exists()
    assert "the summary would need 72 rows, more than Excel's 1,048,576" in refused.output
    assert "add --parquet DIR" in refused.output
    kept = CliRunner().invoke(cli, ["--lang", "en", "merge", str(SAMPLES / "returns"), "-o", str(out), "--no-cache",
                                    "--parquet", str(tmp_path / "data")])
    assert kept.exit_code == 0
    assert f"all the data is in the Parquet files in {tmp_path / 'data'}" in kept.output
    assert len(pd.read_parquet(tmp_path / "data" / "indicators.parquet")) == 71
    # the workbook is still written, valid: 绩效指标明细 to the whole returns that fit, 汇总说明 saying the rest
    # is only in the Parquet files; it carries no documents, so a higher-level merge is sent to the dataset
    assert f"{out} lists the 37 indicators of the first 1 returns (of 71)" in kept.output
    book = openpyxl.load_workbook(out)
    detail = [row for row in book["绩效指标明细"].iter_rows(min_row=2, values_only=True)]
    first = pd.read_parquet(tmp_path / "data" / "indicators.parquet").head(37)
    assert [row[8] for row in detail] == list(first["target"])
    about = {row[0]: row[1] for row in book["汇总说明"].iter_rows(values_only=True) if row[0]}
    assert about["指标数"] == 71
    assert about["超出 Excel 上限"] == (f"Excel 每个工作表最多 50 行：绩效指标明细只列出前 1 份报送的 37 条指标，其余 34 条只在 "
                                     f"Parquet 数据集 {tmp_path / 'data'} 的 indicators.parquet 中；各报送的原始数据（上级"
                                     "汇总用）也只在其 documents.parquet 中，本表不能再用于上级汇总，请汇总该文件夹")
    upward = CliRunner().invoke(cli, ["--lang", "en", "merge", str(out), "-o", str(tmp_path / "up.xlsx"), "--no-cache"])
    assert upward.exit_code == 2 and "this xlperf summary was too large for Excel" in upward.output
    # when 项目汇总 does not fit either, only the Parquet files are written
    monkeypatch.setattr(xlperf.writers.summary, "EXCEL_MAX_ROWS", 10)  # 9 projects and the 合计 row do not fit
    none = tmp_path / "none.xlsx"
    only = CliRunner().invoke(cli, ["--lang", "en", "merge", str(SAMPLES / "returns"), "-o", str(none), "--no-cache",
                                    "--parquet", str(tmp_path / "d2")])
    assert only.exit_code == 0 and not none.exists()
    assert f"so {none} was not written; all the data is in the Parquet files in {tmp_path / 'd2'}" in only.output


def _sheets(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")}


def test_a_large_dataset_is_read_in_parts_each_in_a_worker_of_its_own(tmp_path, monkeypatch):
    """A province's dataset (20,000 returns, 1 GB of documents) does not fit one worker's memory: its row
    groups are read in parts, each by a worker, and what the parts give is what the whole file gives."""
    import pyarrow.parquet as pq

    from xlperf.intake import reader
    from xlperf.writers import exports

    monkeypatch.setattr(exports, "_PARQUET_BATCH", 1)  # one row group a return
    dataset = tmp_path / "dept"
    result = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns"), "-o", str(tmp_path / "s.xlsx"),
                                      "--parquet", str(dataset), "--no-cache"])
    assert result.exit_code == 0, result.output
    # one row group a return, and an empty one where the last batch was written
    assert pq.ParquetFile(dataset / "documents.parquet").metadata.num_row_groups == 4
    assert reader.parquet_parts(dataset / "documents.parquet") == [(0, 4)]
    outputs = {}
    for name, part_bytes in (("whole", reader.PARQUET_PART_BYTES), ("parts", 1)):
        monkeypatch.setattr(reader, "PARQUET_PART_BYTES", part_bytes)
        out = tmp_path / name
        result = CliRunner().invoke(cli, ["merge", str(dataset), "-o", str(out / "up.xlsx"), "--no-cache",
                                          "--json", str(out / "up.json"), "--csv", str(out / "csv"),
                                          "--parquet", str(out / "up")])
        assert result.exit_code == 0, result.output
        outputs[name] = out
    assert reader.parquet_parts(dataset / "documents.parquet") == [(0, 1), (1, 2), (2, 3), (3, 4)]
    whole, parts = outputs["whole"], outputs["parts"]
    files = sorted(path.relative_to(whole) for path in whole.rglob("*") if path.is_file() and path.suffix != ".xlsx")
    assert len(files) == 1 + 5 + 6
    for name in files:
        assert (parts / name).read_bytes() == (whole / name).read_bytes(), name
    assert _sheets(parts / "up.xlsx") == _sheets(whole / "up.xlsx")  # rows spliced from three parts, the same XML
    projects = pd.read_parquet(parts / "up" / "projects.parquet")
    assert len(projects) == 9 and projects["budget_total"].sum() == pytest.approx(193.86)
    assert set(projects["source_file"]) == {str(p) for p in sorted((SAMPLES / "returns").glob("*.xlsx"))}


def test_a_damaged_part_of_a_dataset_leaves_the_whole_dataset_out(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xlperf.intake import reader

    good = pq.read_table(SAMPLES_DATASET(tmp_path))
    rows = good.to_pylist()
    rows[1]["document"] = "{not json"
    broken = tmp_path / "broken"
    broken.mkdir()
    with pq.ParquetWriter(broken / "documents.parquet", good.schema) as writer:
        for row in rows:
            writer.write_table(pa.Table.from_pylist([row], schema=good.schema))
    monkeypatch.setattr(reader, "PARQUET_PART_BYTES", 1)
    assert len(reader.parquet_parts(broken / "documents.parquet")) == 3
    merged = merge_returns([broken], isolate=True, jobs=2)
    (row,) = merged.records("inputs")
    assert row["state"] == "unreadable" and merged.size("projects") == 0
    assert merged.records("findings")[0]["code"] == "READ_NOT_WORKBOOK"


def SAMPLES_DATASET(tmp_path):
    folder = tmp_path / "samples-dataset"
    result = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns"), "-o", str(tmp_path / "samples.xlsx"),
                                      "--parquet", str(folder), "--no-cache"])
    assert result.exit_code == 0, result.output
    return folder / "documents.parquet"


def test_a_finding_of_a_carried_return_names_that_returns_unit(tmp_path):
    """A dataset (or summary) carries many units: each finding's row names the unit of the return it is in,
    not every unit of the input (a province's 20,000 codes on each row of 校验问题)."""
    result = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns-with-errors"), "-o", str(tmp_path / "s.xlsx"),
                                      "--parquet", str(tmp_path / "dept"), "--no-cache", "--include-invalid"])
    assert result.exit_code == 1, result.output
    first = merge_returns([SAMPLES / "returns-with-errors"], include_invalid=True)
    own = {row["file"]: row["unit_code"] for row in first.records("findings")}
    upward = merge_returns([tmp_path / "dept"], include_invalid=True, isolate=True, jobs=2)
    rows = upward.records("findings")
    carried = [row for row in rows if row["file"] in own]
    assert len(carried) >= 11 and len({row["unit_code"] for row in carried}) == 3
    assert all(row["unit_code"] == own[row["file"]] and "、" not in row["unit_code"] for row in carried)


def test_a_dataset_past_excels_rows_says_how_many_returns_fit_not_parts(tmp_path, monkeypatch):
    """Merged upward in parts, the partial summary counts the returns whose indicators it lists (a part of a
    province's dataset holds about 300), not the parts."""
    import pyarrow.parquet as pq

    import xlperf.writers.summary
    from xlperf.intake import reader
    from xlperf.writers import exports

    monkeypatch.setattr(exports, "_PARQUET_BATCH", 2)  # row groups of two returns, then one
    dataset = tmp_path / "dept"
    made = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns"), "-o", str(tmp_path / "s.xlsx"),
                                    "--parquet", str(dataset), "--no-cache"])
    assert made.exit_code == 0, made.output
    indicators = pd.read_parquet(dataset / "indicators.parquet")
    first_two = int(indicators["source_file"].isin(indicators["source_file"].unique()[:2]).sum())
    assert pq.ParquetFile(dataset / "documents.parquet").metadata.row_group(0).num_rows == 2
    monkeypatch.setattr(reader, "PARQUET_PART_BYTES", 1)
    monkeypatch.setattr(xlperf.writers.summary, "EXCEL_MAX_ROWS", first_two + 1)  # the first part fits, not all
    out = tmp_path / "up.xlsx"
    upward = CliRunner().invoke(cli, ["--lang", "en", "merge", str(dataset), "-o", str(out), "--no-cache",
                                      "--parquet", str(tmp_path / "up")])
    assert upward.exit_code == 0, upward.output
    assert f"lists the {first_two} indicators of the first 2 returns (of {len(indicators)})" in upward.output
