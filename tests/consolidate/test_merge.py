"""merge_returns: input states, duplicates, the manifest, the tables."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES

from xlperf.consolidate.consolidation import (
    DUPLICATE,
    EXCLUDED,
    INCLUDED,
    INCLUDED_WITH_WARNINGS,
    UNREADABLE,
)
from xlperf.consolidate.merge import merge_returns
from xlperf.core.errors import UsageError

RETURNS = SAMPLES / "returns"
SEED_RETURN = RETURNS / "471001_遵化市工业和信息化局本级.xlsx"
MANIFEST = SAMPLES / "templates" / "manifest.json"


def states(consolidation) -> dict[str, str]:
    return {os.path.basename(f): s for f, s in zip(consolidation.inputs["file"], consolidation.inputs["state"])}


def test_samples_merge_cleanly():
    merged = merge_returns([RETURNS], expect=MANIFEST)
    assert set(states(merged).values()) <= {INCLUDED, INCLUDED_WITH_WARNINGS}
    assert merged.exit_code == 0
    assert len(merged.projects) == 9 and merged.missing.empty
    assert merged.projects["budget_total"].sum() == pytest.approx(10.96 + 11 + 27 + 16 + 24.5 + 38 + 12.6 + 45.8 + 8)
    seed_rows = merged.projects[merged.projects["unit_code"] == "471001"]
    assert list(seed_rows["project_code"]) == ["13028122P00306010001X", "13028122P003058100014",
                                               "13028122P003055100013", "13028122P00305610001Q"]
    first = seed_rows.iloc[0]
    assert first["plan_amount/3月底"] == 3.29  # 10.96 × 30% = 3.288, to the cent as shown and summed
    assert first["count/产出指标"] == 4 and first["count/效益指标"] == 4 and first["count/满意度指标"] == 1
    assert first["source_sheet"] == "工信局购置公务用车" and first["source_file"].endswith(SEED_RETURN.name)


def test_indicator_rows_keep_provenance_and_parse():
    merged = merge_returns([SEED_RETURN])
    row = merged.indicators[(merged.indicators["name"] == "项目所需资金")].iloc[0]
    assert (row["target"], row["operator"], row["number"], row["unit"], row["kind"]) == ("＝16万元", "=", 16.0, "万元", "quantitative")
    assert (row["source_sheet"], row["source_cell"]) == ("科技发展工作经费", "F14")
    qualitative = merged.indicators[merged.indicators["target"] == "提升生态环境质量"]
    assert set(qualitative["kind"]) == {"qualitative"}
    assert len(merged.indicators) == 9 + 9 + 9 + 10


def test_every_input_gets_one_state(tmp_path):
    shutil.copy(SEED_RETURN, tmp_path / "a.xlsx")
    shutil.copy(SEED_RETURN, tmp_path / "b-same-bytes.xlsx")
    shutil.copy(SAMPLES / "returns-with-errors" / "471003_missing-parts.xlsx", tmp_path / "c.xlsx")
    (tmp_path / "d.xlsx").write_bytes(b"garbage")
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    merged = merge_returns([tmp_path])
    assert states(merged) == {"a.xlsx": INCLUDED_WITH_WARNINGS, "b-same-bytes.xlsx": DUPLICATE, "c.xlsx": EXCLUDED,
                              "d.xlsx": UNREADABLE}
    reasons = dict(zip(merged.inputs["file"].map(os.path.basename), merged.inputs["reason"]))
    assert reasons["b-same-bytes.xlsx"] == f"与 {tmp_path / 'a.xlsx'} 内容完全相同，已跳过"
    assert reasons["c.xlsx"] == "有 3 个错误，未汇总"
    assert merged.exit_code == 1
    assert set(merged.projects["unit_code"]) == {"471001"}  # the excluded unit adds nothing to the figures


def test_include_invalid_keeps_and_flags(tmp_path):
    merged = merge_returns([SAMPLES / "returns-with-errors" / "471003_missing-parts.xlsx"], include_invalid=True)
    assert list(merged.inputs["state"]) == [INCLUDED_WITH_WARNINGS]
    assert set(merged.projects["status"]) == {"invalid"}
    assert merged.exit_code == 1


def test_returns_left_out_are_not_tabulated(tmp_path, monkeypatch):
    """Without include_invalid, a return with errors is left out: its rows and tables are not made, and the
    result is the same as a merge's that made them (from the cache of an --include-invalid run)."""
    from xlperf.consolidate import merge as merge_module
    from xlperf.writers.summary import build_summary

    inputs = [SEED_RETURN, SAMPLES / "returns-with-errors"]
    merge_returns(inputs, cache_dir=tmp_path / "cache", include_invalid=True)  # every entry with its rows
    tabulated = merge_returns(inputs, cache_dir=tmp_path / "cache")
    made = []
    real = merge_module._rendered
    monkeypatch.setattr(merge_module, "_rendered", lambda *tables: made.append(tables) or real(*tables))
    merged = merge_returns(inputs)
    assert len(made) == 1  # the one return without errors
    assert list(states(merged).values()).count(EXCLUDED) == 3 and states(merged) == states(tabulated)
    for name in ("projects", "indicators", "findings", "inputs", "missing"):
        assert merged.records(name) == tabulated.records(name)
    assert build_summary(merged) == build_summary(tabulated)


def test_tables_not_kept_are_read_again_when_asked_for(monkeypatch):
    """keep_tables=False (a merge that writes only the summary, no cache): the returns' full tables are not
    made; the summary is the same, and the tables, asked for anyway, are read from the files again."""
    from xlperf.consolidate import merge as merge_module
    from xlperf.writers.summary import build_summary

    kept = merge_returns([RETURNS])
    made = []
    real = merge_module._tables_json
    monkeypatch.setattr(merge_module, "_tables_json", lambda *args: made.append(args[-1]) or real(*args))
    lean = merge_returns([RETURNS], keep_tables=False)
    assert made == []
    assert build_summary(lean) == build_summary(kept)
    assert lean.records("indicators") == kept.records("indicators")
    assert sorted(made) == sorted(str(path) for path in RETURNS.glob("*.xlsx"))
    assert list(lean.iter_documents()) == list(kept.iter_documents())


def _resaved(source, target, modified: str):
    """A copy of a return whose saved time (docProps/core.xml) is ``modified`` (so its bytes differ too)."""
    import re
    import zipfile

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"<dcterms:modified([^>]*)>[^<]*<", rb"<dcterms:modified\1>" + modified.encode() + b"Z<", data)
            copy.writestr(info, data)
    return target


def test_same_project_code_twice_is_an_error(tmp_path):
    older = _resaved(SEED_RETURN, tmp_path / "older.xlsx", "2022-01-05T10:00:00")
    newer = _resaved(SEED_RETURN, tmp_path / "newer.xlsx", "2022-01-06T10:00:00")
    merged = merge_returns([older, newer])
    assert states(merged) == {"older.xlsx": EXCLUDED, "newer.xlsx": EXCLUDED}
    assert "13028122P00306010001X" in merged.inputs["reason"].iloc[0]
    assert merged.projects.empty and merged.exit_code == 1


def test_on_duplicate_latest_keeps_the_newest(tmp_path):
    older = _resaved(SEED_RETURN, tmp_path / "b-older.xlsx", "2022-01-05T10:00:00")
    newer = _resaved(SEED_RETURN, tmp_path / "a-newer.xlsx", "2022-01-06T10:00:00")
    merged = merge_returns([older, newer], on_duplicate="latest")
    assert states(merged) == {"b-older.xlsx": DUPLICATE, "a-newer.xlsx": INCLUDED_WITH_WARNINGS}
    reasons = dict(zip(merged.inputs["file"].map(os.path.basename), merged.inputs["reason"]))
    assert str(newer) in reasons["b-older.xlsx"] and str(older) in reasons["a-newer.xlsx"]
    assert len(merged.projects) == 4


def test_manifest_reports_missing_and_unexpected(tmp_path):
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    manifest["units"][0]["projects"].append({"project_code": "13028122P00399999999Z", "project_name": "未报项目",
                                             "sheet": "x"})
    manifest["units"][0]["projects"] = [p for p in manifest["units"][0]["projects"]
                                        if p["project_code"] != "13028122P00305610001Q"]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    merged = merge_returns([SEED_RETURN], expect=path)
    rows = [[kind, unit, code if isinstance(code, str) else None]
            for kind, unit, code in merged.missing[["kind", "unit_code", "project_code"]].values.tolist()]
    assert rows == [["project", "471001", "13028122P00399999999Z"], ["unit", "471002", None],
                    ["unit", "471003", None], ["unexpected", "471001", "13028122P00305610001Q"]]
    assert merged.exit_code == 1


def test_output_that_is_an_input_is_refused():
    with pytest.raises(UsageError):
        merge_returns([RETURNS], output=SEED_RETURN)


def test_bad_manifest_is_a_usage_error(tmp_path):
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(UsageError):
        merge_returns([RETURNS], expect=tmp_path / "m.json")


def test_progress_is_reported():
    calls = []
    merge_returns([RETURNS], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_inputs_are_not_modified(tmp_path):
    copy = shutil.copytree(RETURNS, tmp_path / "r")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in copy.iterdir()}
    merge_returns([copy])
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in copy.iterdir()} == before


def test_summary_is_an_input_to_a_higher_level_merge(tmp_path):
    from xlperf.writers.summary import write_summary

    department = tmp_path / "department.xlsx"
    write_summary(merge_returns([RETURNS]), department)
    other = tmp_path / "other"
    other.mkdir()
    higher = merge_returns([department])
    direct = merge_returns([RETURNS])
    assert list(higher.inputs["state"]) == [INCLUDED_WITH_WARNINGS]
    assert list(higher.projects["project_code"]) == list(direct.projects["project_code"])
    assert list(higher.indicators["target"]) == list(direct.indicators["target"])
    # provenance: still the unit's own file, sheet and cell
    row = higher.indicators[higher.indicators["name"] == "项目所需资金"].iloc[0]
    assert row["source_file"].endswith(SEED_RETURN.name)
    assert (row["source_sheet"], row["source_cell"]) == ("科技发展工作经费", "F14")
    # and the bureau-level summary can carry it on again
    bureau = tmp_path / "bureau.xlsx"
    write_summary(higher, bureau)
    assert list(merge_returns([bureau]).projects["project_code"]) == list(direct.projects["project_code"])


def test_formula_looking_text_stays_text_end_to_end(tmp_path):
    import csv as csv_module

    import openpyxl

    from xlperf.writers.exports import write_csvs
    from xlperf.writers.summary import write_summary

    nasty = ['=HYPERLINK("http://example.invalid","x")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\t=1"]
    book = openpyxl.load_workbook(RETURNS / "471002_遵化市中小企业服务中心.xlsx")
    sheet = book["中小企业公共服务平台运行维护经费"]
    for row, text in enumerate(nasty, start=11):
        sheet[f"E{row}"].value = text
        sheet[f"E{row}"].data_type = "s"
    book.save(tmp_path / "r.xlsx")
    merged = merge_returns([tmp_path / "r.xlsx"])
    nasty[-1] = "=1"  # surrounding whitespace is cleaned off on reading; what is left must still be inert
    write_summary(merged, tmp_path / "s.xlsx")
    detail = openpyxl.load_workbook(tmp_path / "s.xlsx")["绩效指标明细"]
    cells = [c for row in detail.iter_rows() for c in row if c.value in nasty]
    assert len(cells) == len(nasty) and all(c.data_type == "s" for c in cells)
    written = write_csvs(merged, tmp_path / "csv")
    with open(next(p for p in written if p.name == "indicators.csv"), encoding="utf-8-sig") as handle:
        descriptions = [row["绩效指标描述"] for row in csv_module.DictReader(handle)]
    assert [d for d in descriptions if d.startswith("'")] == ["'" + text for text in nasty]


@pytest.mark.parametrize("inputs", [["returns"], ["returns-with-errors"]])
def test_rows_made_during_the_merge_are_the_rows_made_from_the_tables(tmp_path, inputs):
    """The merge makes the big sheets' rows in its workers (``Prepared``); a summary written from the same
    tables without them must hold exactly the same worksheet XML."""
    import zipfile

    from xlperf.consolidate.consolidation import Consolidation
    from xlperf.writers.summary import write_summary

    merged = merge_returns([SAMPLES / name for name in inputs], include_invalid=True, expect=MANIFEST)
    assert merged.prepared is not None
    plain = Consolidation(
        year=merged.year, framework=merged.framework, milestones=merged.milestones,
        level1_names=merged.level1_names, level2_tree=merged.level2_tree, projects=merged.projects,
        findings=merged.findings, inputs=merged.inputs, missing=merged.missing, indicators=merged.indicators,
        documents=merged.documents, made_from=merged.made_from, data_as_of=merged.data_as_of,
        expect=merged.expect, lang=merged.lang)
    write_summary(merged, tmp_path / "prepared.xlsx")
    write_summary(plain, tmp_path / "plain.xlsx")
    with zipfile.ZipFile(tmp_path / "prepared.xlsx") as prepared, zipfile.ZipFile(tmp_path / "plain.xlsx") as made:
        assert prepared.namelist() == made.namelist()
        for name in prepared.namelist():
            assert prepared.read(name) == made.read(name), name
    assert merged.indicator_count == len(merged.indicators) > 20


def test_json_export_of_a_merge_is_streamed_as_one_dump_would_write_it(tmp_path):
    from xlperf.writers.exports import consolidation_data, write_json

    merged = merge_returns([SAMPLES / "returns-with-errors"], expect=MANIFEST, include_invalid=True)
    write_json(merged, tmp_path / "merged.json")
    text = (tmp_path / "merged.json").read_text(encoding="utf-8")
    data = consolidation_data(merged)
    assert text == json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    assert len(data["indicators"]) == merged.indicator_count > 20 and len(data["documents"]) == 3
    assert data["documents"] == merged.documents


def test_csv_export_of_a_merge_is_what_pandas_writes_from_its_tables(tmp_path):
    from reference_csv import pandas_csv

    from xlperf.writers.exports import write_csvs

    merged = merge_returns([SAMPLES / "returns-with-errors"], expect=MANIFEST, include_invalid=True)
    for path in write_csvs(merged, tmp_path / "csv", lang="en"):
        assert path.read_bytes() == pandas_csv(getattr(merged, path.stem)), path.name


def test_the_year_comes_from_every_return_and_another_year_is_a_finding(tmp_path):
    """Every return says 2022: the summary says so (title, 预算年度, JSON). A return of another year is an
    error on that return (left out), not a silent pick of whichever came first."""
    import openpyxl

    from xlperf.writers.exports import consolidation_data
    from xlperf.writers.summary import write_summary

    merged = merge_returns([SAMPLES / "returns"], cache_dir=None)
    assert merged.year == 2022 and consolidation_data(merged)["year"] == 2022
    write_summary(merged, tmp_path / "s.xlsx")
    about = openpyxl.load_workbook(tmp_path / "s.xlsx")["汇总说明"]
    # the department whose own office (…本级) is among the units, and the year
    assert about["A1"].value == "遵化市工业和信息化局2022年度部门项目支出绩效目标汇总"
    assert {row[0]: row[1] for row in about.iter_rows(values_only=True) if row[0]}["预算年度"] == 2022

    book = openpyxl.load_workbook(SAMPLES / "returns" / "471003_遵化市无线电监测站.xlsx")
    for row in book["_meta"].iter_rows():
        if row[0].value == "workbook":
            info = json.loads(row[1].value)
            info["year"] = 2021
            row[1].value = json.dumps(info, ensure_ascii=False)
    folder = tmp_path / "mixed"
    folder.mkdir()
    book.save(folder / "old_year.xlsx")
    for source in sorted((SAMPLES / "returns").glob("47100[12]*.xlsx")):
        shutil.copy(source, folder)
    mixed = merge_returns([folder], cache_dir=None, lang="en")
    assert mixed.year == 2022
    rows = {Path(r["file"]).name: r for r in mixed.records("inputs")}
    assert rows["old_year.xlsx"]["state"] == "excluded"
    finding = [f for f in mixed.records("findings") if f["code"] == "READ_YEAR_MISMATCH"]
    assert len(finding) == 1 and finding[0]["message"] == "这是 2021 年度的模板，本次收取的是 2022 年度"


def _decimal(value: float):
    from decimal import Decimal

    return Decimal(str(value))


def test_money_is_summed_as_shown(tmp_path):
    """Planned amounts like 3.288 万元 are stored to the cent, so every total is the sum of the rows shown."""
    import openpyxl

    from xlperf.writers.summary import write_summary

    merged = merge_returns([SAMPLES / "returns"], cache_dir=None)
    write_summary(merged, tmp_path / "s.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["项目汇总"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body, total = [str(name).replace("\n", "") for name in rows[0]], rows[1:-1], rows[-1]
    cached_totals = list(openpyxl.load_workbook(tmp_path / "s.xlsx", data_only=True)["项目汇总"].iter_rows(
        values_only=True))[-1]
    money = [i for i, name in enumerate(header) if name in ("预算数", "财政资金", "其他资金") or "计划支出" in str(name)]
    assert len(money) == 7
    for column in money:
        values = [row[column] for row in body if row[column] is not None]
        assert all(round(v, 2) == v for v in values), header[column]
        assert str(total[column]).startswith("=SUM(")
        # the value Excel shows is the sum of the values shown, to the cent (no 0.01 off)
        assert round(cached_totals[column], 2) == round(sum(values), 2) == float(sum(map(_decimal, values)))
    from xlperf.writers.exports import consolidation_data
    data = consolidation_data(merged)
    assert any(p["plan_amount/3月底"] == 3.29 for p in data["projects"])  # 10.96 × 30% = 3.288
