"""A summary larger than any return may be (a county's, of more than about 950 returns) is an input of a
higher-level merge: checked against a summary's limits and read only as a summary, with its totals and
provenance kept. A return stays held to a return's limits, also when it claims to be a summary.

The county is made quickly "by writing rows": the samples' three returns, as a `merge --parquet` dataset carries
them, copied 330 times under other unit and project codes (990 returns). Such a summary of sample-sized returns
is smaller than one of 990 real returns (8 projects x 12 indicators: 102 MB of 绩效指标明细 at 1,000), so the
return limits are lowered here to below its parts, as the defaults are below a real county's."""
from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from xlperf.cli import cli
from xlperf.framework.limits import Limits
from xlperf.intake import reader
from xlperf.intake.safety import Refused, claims_summary, inspect

COPIES = 330


def _copy(row: dict, k: int) -> dict:
    """One carried return as another unit's: unit code and name, its projects' codes, its file."""
    item = json.loads(row["document"])
    document, workbook = item["document"], item["meta"]["workbook"]
    code = f"{int(document['unit']['code']) + 1000 * k:06d}"
    name = f"{document['unit']['name']}{k}"
    document["unit"] = {"code": code, "name": name}
    workbook["unit_code"], workbook["unit_name"] = code, name
    for project in document["projects"]:
        project["project_code"] = project["project_code"][:-7] + f"{k:06d}" + project["project_code"][-1]
    item["file"] = f"returns/{code}_{name}.xlsx"
    return {"file": item["file"], "unit_code": code, "year": row["year"],
            "document": json.dumps(item, ensure_ascii=False, sort_keys=True)}


def _merge(*args: str) -> str:
    result = CliRunner().invoke(cli, ["--lang", "en", "merge", *args, "--no-cache"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("county")
    _merge(str(SAMPLES / "returns"), "-o", str(folder / "dept.xlsx"), "--parquet", str(folder / "dept"))
    table = pq.read_table(folder / "dept" / "documents.parquet")
    rows = [_copy(row, k) for k in range(COPIES) for row in table.to_pylist()]
    (folder / "units").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), folder / "units" / "documents.parquet")
    output = _merge(str(folder / "units" / "documents.parquet"), "-o", str(folder / "county.xlsx"),
                    "--parquet", str(folder / "county"))
    assert f"({9 * COPIES} projects, {71 * COPIES} indicators;" in output
    return folder


def _return_limits(summary) -> Limits:
    """A return's limits, below the summary's file and largest part (as the defaults are below a county's)."""
    with zipfile.ZipFile(summary) as archive:
        largest = max(info.file_size for info in archive.infolist())
    return Limits(max_file_bytes=summary.stat().st_size // 2, max_part_bytes=largest // 2)


def test_a_summary_over_a_returns_limits_is_merged_again_with_totals_and_provenance(county, tmp_path, monkeypatch):
    summary = county / "county.xlsx"
    limits = _return_limits(summary)
    with pytest.raises(Refused) as refused:  # as a return, it would be refused
        inspect(summary, limits)
    assert refused.value.params["limit_name"] == "max_file_bytes"
    assert claims_summary(summary)
    inspect(summary, limits, summary=True)
    monkeypatch.setattr(reader, "_spec_limits", lambda: limits)  # the workers are forked: they see it too
    output = _merge(str(summary), "-o", str(tmp_path / "province.xlsx"), "--parquet", str(tmp_path / "province"))
    assert f"({9 * COPIES} projects, {71 * COPIES} indicators;" in output
    for name in ("projects", "indicators"):  # the same rows: totals, and each row's unit file, sheet and cell
        lower = pd.read_parquet(county / "county" / f"{name}.parquet")
        upper = pd.read_parquet(tmp_path / "province" / f"{name}.parquet")
        pd.testing.assert_frame_equal(lower, upper)
    projects = pd.read_parquet(tmp_path / "province" / "projects.parquet")
    assert projects["budget_total"].sum() == pytest.approx(193.86 * COPIES)
    indicators = pd.read_parquet(tmp_path / "province" / "indicators.parquet")
    assert indicators["source_file"].str.fullmatch(r"returns/\d{6}_.+\.xlsx").all()
    assert indicators["source_cell"].str.fullmatch(r"F\d+").all()


def _without_marker(summary, target) -> None:
    """The summary with its _data!A1 marker changed (same length): it still claims to be a summary."""
    with zipfile.ZipFile(summary) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/sharedStrings.xml":
                assert b">xlperf-summary<" in data
                data = data.replace(b">xlperf-summary<", b">xlperf-summarx<")
            copy.writestr(info, data)


def test_a_workbook_claiming_to_be_a_summary_is_held_to_a_returns_limits(county, tmp_path, monkeypatch):
    summary = county / "county.xlsx"
    fake = tmp_path / "fake.xlsx"
    _without_marker(summary, fake)
    assert claims_summary(fake)
    limits = _return_limits(summary)
    monkeypatch.setattr(reader, "_spec_limits", lambda: limits)
    result = CliRunner().invoke(cli, ["--lang", "en", "merge", str(fake), "-o", str(tmp_path / "x.xlsx"), "--no-cache"])
    assert result.exit_code == 2 and not (tmp_path / "x.xlsx").exists()
    assert f"unreadable: {fake} — exceeds the safety limit max_file_bytes = {limits.max_file_bytes}" in result.output
    # and each of a return's size limits: a part larger than a return's, with the file within them
    with zipfile.ZipFile(fake) as archive:
        largest = max(info.file_size for info in archive.infolist())
    with pytest.raises(reader.UnreadableError) as unreadable:
        reader.read_workbook(fake, Limits(max_part_bytes=largest // 2))
    assert (unreadable.value.finding.code, unreadable.value.finding.params["limit_name"]) == \
        ("READ_LIMIT", "max_part_bytes")
