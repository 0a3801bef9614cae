"""项目汇总's rows made ahead, a return at a time in the merge's workers (and kept in its cache), give the
summary the merge process would have made itself, byte for byte."""
from __future__ import annotations

import base64
import copy
import dataclasses
import json
import math
import shutil
from array import array

import pytest
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import xlperf.consolidate.rows as rows_module
import xlperf.writers.summary as summary_module
from xlperf.consolidate.consolidation import DeferredTable, SpooledTable
from xlperf.consolidate.merge import merge_returns
from xlperf.consolidate.rows import capped_widths, project_table, render_rows, standard_formats
from xlperf.consolidate.figures import measured_widths
from xlperf.writers.summary import build_summary

MILESTONES = ["3月底", "6月底", "10月底", "12月底"]
LEVEL1 = ["产出指标", "效益指标", "满意度指标"]


def _made_here(consolidation):
    """The same consolidation, but with 项目汇总's rows and their figures left for the summary to make."""
    other = copy.copy(consolidation)
    other.prepared = dataclasses.replace(consolidation.prepared, project_rows=None, project_figures=None)
    return other


def _same_summary_either_way(consolidation, monkeypatch, segment_rows=(summary_module.SEGMENT_ROWS, 3, 1)):
    assert consolidation.prepared.project_rows is not None and consolidation.prepared.project_figures is not None
    for rows in segment_rows:
        monkeypatch.setattr(summary_module, "SEGMENT_ROWS", rows)
        assert build_summary(consolidation) == build_summary(_made_here(consolidation)), rows


def test_rows_made_in_workers_and_cache_give_the_same_summary(tmp_path, monkeypatch):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "returns")
    cache = tmp_path / "cache"
    _same_summary_either_way(merge_returns([inputs]), monkeypatch)
    merge_returns([inputs], cache_dir=cache)
    again = merge_returns([inputs], cache_dir=cache)  # every entry from the cache
    _same_summary_either_way(again, monkeypatch)
    assert build_summary(again) == build_summary(merge_returns([inputs]))


def test_a_returns_rows_split_into_segments_the_same_way_either_way(tmp_path, monkeypatch):
    """A return with more projects than a segment holds: its segments made in the worker are the summary's."""
    monkeypatch.setattr(rows_module, "PROJECT_SEGMENT_ROWS", 2)
    merged = merge_returns([SAMPLES / "returns"])
    made = list(merged.prepared.project_rows())
    assert len(made) > len(list((SAMPLES / "returns").glob("*.xlsx")))  # a return's rows in more than one
    _same_summary_either_way(merged, monkeypatch)


def test_rows_of_returns_with_errors_included_are_made_for_their_status(monkeypatch):
    merged = merge_returns([SAMPLES / "returns-with-errors"], include_invalid=True)
    assert set(merged.projects["status"]) == {"invalid"}
    _same_summary_either_way(merged, monkeypatch)


def test_rows_made_for_another_path_are_made_again_by_the_summary(tmp_path):
    first = shutil.copytree(SAMPLES / "returns", tmp_path / "first")
    cache = tmp_path / "cache"
    merge_returns([first], cache_dir=cache)
    moved = first.rename(tmp_path / "moved")
    hit = merge_returns([moved], cache_dir=cache)  # the entries' rows name the first folder's files
    assert hit.prepared.project_rows is None
    assert build_summary(hit) == build_summary(merge_returns([moved]))


TEXT = st.text(alphabet=st.sampled_from("ab 中文项目\n"), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, st.sampled_from(["included", "invalid", "included_with_warnings"])),
                min_size=1, max_size=12))
def test_rows_made_with_the_widest_widths_are_those_made_with_the_measured_ones(values):
    """The claim ``capped_widths`` rests on: whatever the other rows, a row made with each measured column at
    its ``widest`` is the row made with the widths ``measured_widths`` measures over all of them."""
    columns = project_table(MILESTONES, LEVEL1)
    keys = [column.key for column in columns]
    rows = []
    for unit_name, project_name, source, status in values:
        row = dict.fromkeys(keys, 1.0)
        row.update(unit_code=unit_name[:6], unit_name=unit_name, project_code="P", project_name=project_name,
                   status=status, source_file=source, source_sheet=source)
        rows.append([row[key] for key in keys])
    styles = standard_formats().table_styles(columns)
    measured = render_rows(columns, rows, measured_widths(columns, rows), styles)
    assert render_rows(columns, rows, capped_widths(columns), styles) == measured


def test_a_return_whose_status_the_merge_changes_has_its_rows_made_by_the_summary(tmp_path, monkeypatch):
    """A return of another year gets READ_YEAR_MISMATCH from the merge itself, after its rows were made: with
    --include-invalid it is shown as 有错误, not as the worker made it, so the summary makes every row."""
    import json

    import openpyxl

    book = openpyxl.load_workbook(SAMPLES / "returns" / "471003_遵化市无线电监测站.xlsx")
    for row in book["_meta"].iter_rows():
        if row[0].value == "workbook":
            row[1].value = json.dumps({**json.loads(row[1].value), "year": 2021}, ensure_ascii=False)
    folder = tmp_path / "mixed"
    folder.mkdir()
    book.save(folder / "old_year.xlsx")
    for source in sorted((SAMPLES / "returns").glob("47100[12]*.xlsx")):
        shutil.copy(source, folder)
    merged = merge_returns([folder], include_invalid=True)
    status = dict(zip(merged.projects["source_file"], merged.projects["status"]))
    assert status[str(folder / "old_year.xlsx")] == "invalid"
    assert merged.prepared.project_rows is None
    proper = merge_returns([folder, SAMPLES / "returns" / "471003_遵化市无线电监测站.xlsx"])
    assert proper.prepared.project_rows is not None  # the return of 2021 left out (its error)
    _same_summary_either_way(proper, monkeypatch, segment_rows=(3,))


def test_statistics_rows_spliced_are_the_rows_xlsxwriter_wrote(tmp_path, monkeypatch):
    """Past MAX_UNIT_SERIES units 指标统计's unit rows are spliced in (made rows) instead of written by XlsxWriter:
    the same values, number formats, fonts and row heights (a long unit name grows its row either way)."""
    import openpyxl

    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import STATISTICS, write_summary

    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "returns")
    merged = merge_returns([inputs])
    long_name = "遵化市工业和信息化局下属事业单位综合服务与保障中心（含多个内设科室）"
    merged.prepared.unit_names["471002"] = long_name
    books = {}
    for series in (10, 1):
        monkeypatch.setattr(summary_module, "MAX_UNIT_SERIES", series)
        write_summary(merged, tmp_path / f"{series}.xlsx")
        books[series] = openpyxl.load_workbook(tmp_path / f"{series}.xlsx")[STATISTICS]
    written, spliced = books[10], books[1]
    assert written.max_row == spliced.max_row >= 6 and written["B4"].value == long_name
    for row_written, row_spliced in zip(written.iter_rows(), spliced.iter_rows()):
        for a, b in zip(row_written, row_spliced):
            assert (a.value, a.number_format, a.font.b, a.alignment.wrap_text) == \
                (b.value, b.number_format, b.font.b, b.alignment.wrap_text), a.coordinate
    heights = [(written.row_dimensions[row].height, spliced.row_dimensions[row].height) for row in range(3, 6)]
    assert all(abs((a or 0) - (b or 0)) <= 0.25 for a, b in heights) and heights[1][1] > 20  # the long name's row


def test_a_summary_with_rows_and_figures_made_ahead_never_tabulates_the_projects(tmp_path):
    """项目汇总's table is made only when read (exports, the report): a merge's summary has what it needs of it
    from the workers, and the table made afterwards is the one the rows were made from."""
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "returns")
    merge_returns([inputs], cache_dir=tmp_path / "cache")
    for merged in (merge_returns([inputs]), merge_returns([inputs], cache_dir=tmp_path / "cache")):
        assert isinstance(merged._given["projects"], DeferredTable) and merged.size("projects") == 9
        summary = build_summary(merged)
        assert isinstance(merged._given["projects"], DeferredTable)  # not made
        assert summary == build_summary(_made_here(merged))  # which makes it, from the same projects
        assert isinstance(merged._given["projects"], SpooledTable) and len(merged.table("projects")) == 9


def _two_zeros(packed: array) -> array:
    return array("d", [0.0, 0.0])


def _a_width_of_infinity(packed: array) -> array:
    packed[1] = math.inf
    return packed


@pytest.mark.parametrize("damage", [_two_zeros, _a_width_of_infinity, None])
def test_figures_a_cache_entry_states_wrongly_leave_the_summary_to_measure_the_table(tmp_path, damage):
    """An entry whose figures cannot be taken (damaged in its JSON line, which its rows' CRC does not cover):
    the summary makes 项目汇总's rows and reads their figures from the table, as when nothing was made ahead."""
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "returns")
    merge_returns([inputs], cache_dir=tmp_path / "cache")
    entry = next((tmp_path / "cache").rglob("*.entry"))
    head, rest = entry.read_bytes().split(b"\n", 1)
    stated = json.loads(head)
    if damage is None:  # none stated
        del stated["project_rows"]["figures"]
    else:
        packed = array("d")
        packed.frombytes(base64.b64decode(stated["project_rows"]["figures"]["packed"]))
        stated["project_rows"]["figures"]["packed"] = base64.b64encode(damage(packed).tobytes()).decode("ascii")
    entry.write_bytes(json.dumps(stated, ensure_ascii=False).encode("utf-8") + b"\n" + rest)
    merged = merge_returns([inputs], cache_dir=tmp_path / "cache")
    assert merged.prepared.project_figures is None and merged.prepared.project_rows is None
    assert build_summary(merged) == build_summary(merge_returns([inputs]))
