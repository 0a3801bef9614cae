"""校验问题's rows made ahead, an input at a time where it is read (and kept in the merge's cache), give the tables,
the English texts and the summary the merge process would have made itself, byte for byte."""
from __future__ import annotations

import copy
import dataclasses
import io
import json
import shutil
import zipfile

import openpyxl
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import xlperf.consolidate.merge as merge_module
import xlperf.writers.summary as summary_module
from xlperf.consolidate.figures import measured_widths
from xlperf.consolidate.merge import merge_returns
from xlperf.consolidate.rows import (
    FINDING_TABLE,
    capped_widths,
    render_rows,
    standard_formats,
)
from xlperf.core import workers
from xlperf.writers.summary import FINDINGS, build_summary


def _made_here(consolidation):
    """The same consolidation, but with 校验问题's rows left for the summary to make of the findings table."""
    other = copy.copy(consolidation)
    other.prepared = dataclasses.replace(consolidation.prepared, finding_rows=None, finding_widths=None)
    return other


def _parts(summary: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(summary)) as package:
        return {name: package.read(name) for name in package.namelist()}


def _same_summary_either_way(consolidation, monkeypatch):
    """The same workbook, part for part (the rows deflated in other pieces: an input's own, or the summary's)."""
    assert consolidation.prepared.finding_rows is not None and consolidation.size("findings") > 0
    for rows in (summary_module.SEGMENT_ROWS, 3, 1):
        monkeypatch.setattr(summary_module, "SEGMENT_ROWS", rows)
        assert _parts(build_summary(consolidation)) == _parts(build_summary(_made_here(consolidation))), rows


def _counting_rows(monkeypatch) -> list[str]:
    """The inputs whose rows of 校验问题 are made in this process."""
    made = []
    real = merge_module._finding_table_rows
    monkeypatch.setattr(merge_module, "_finding_table_rows",
                        lambda findings, docs, shown: made.append(shown) or real(findings, docs, shown))
    return made


def _texts(consolidation, lang):
    return list(consolidation.in_lang("findings", lang)), consolidation.records("inputs")


def test_rows_made_ahead_are_the_rows_the_merge_makes_itself(tmp_path, monkeypatch):
    """Tables (Chinese), the command line's English texts and the summary: the same whether each input's rows of
    校验问题 were made where it was read, in worker processes, from the cache, or by the merge itself."""
    monkeypatch.setattr(workers, "PARALLEL_MIN_ITEMS", 2)
    inputs = [shutil.copytree(SAMPLES / folder, tmp_path / folder) for folder in ("returns", "returns-with-errors")]
    cache = tmp_path / "cache"
    with monkeypatch.context() as patched:
        patched.setattr(merge_module._MadeFindings, "of_use", lambda self, item: False)
        itself = merge_returns(inputs, lang="en")
    in_workers = merge_returns(inputs, lang="en", jobs=2, cache_dir=cache)
    made = _counting_rows(monkeypatch)
    from_cache = merge_returns(inputs, lang="en", cache_dir=cache)
    assert made == []  # every input's rows taken from its entry
    assert itself.size("findings") == from_cache.size("findings") > 10
    for merged in (in_workers, from_cache):
        assert _texts(merged, "en") == _texts(itself, "en") and _texts(merged, "zh") == _texts(itself, "zh")
        assert build_summary(merged) == build_summary(itself)
    _same_summary_either_way(from_cache, monkeypatch)
    english = [(row["message"], row["hint"]) for row in from_cache.in_lang("findings", "en")]
    chinese = [(row["message"], row["hint"]) for row in from_cache.records("findings")]  # the table's
    assert all(en[0] != zh[0] and en[1] != zh[1] for en, zh in zip(english, chinese))


def test_rows_made_for_another_path_are_made_again_by_the_merge(tmp_path, monkeypatch):
    first = shutil.copytree(SAMPLES / "returns-with-errors", tmp_path / "first")
    cache = tmp_path / "cache"
    merge_returns([first], cache_dir=cache)
    moved = first.rename(tmp_path / "moved")
    made = _counting_rows(monkeypatch)
    hit = merge_returns([moved], cache_dir=cache)  # the entries' rows name the first folder's files
    assert sorted(made) == sorted(str(path) for path in moved.glob("*.xlsx"))
    assert build_summary(hit) == build_summary(merge_returns([moved]))
    files = {row["file"] for row in hit.records("findings")}
    assert files and all(file.startswith(str(moved)) for file in files)
    _same_summary_either_way(hit, monkeypatch)


def test_a_finding_the_merge_adds_has_its_inputs_rows_made_by_the_merge(tmp_path, monkeypatch):
    """A return of another year gets READ_YEAR_MISMATCH from the merge itself, after its rows were made where it
    was read: its rows of 校验问题 are made again, the others' are taken as made."""
    book = openpyxl.load_workbook(SAMPLES / "returns" / "471003_遵化市无线电监测站.xlsx")
    for row in book["_meta"].iter_rows():
        if row[0].value == "workbook":
            row[1].value = json.dumps({**json.loads(row[1].value), "year": 2021}, ensure_ascii=False)
    folder = tmp_path / "mixed"
    shutil.copytree(SAMPLES / "returns-with-errors", folder)
    book.save(folder / "old_year.xlsx")
    cache = tmp_path / "cache"
    merge_returns([folder], cache_dir=cache)
    made = _counting_rows(monkeypatch)
    merged = merge_returns([folder], cache_dir=cache)
    assert made == [str(folder / "old_year.xlsx")]
    codes = [row["code"] for row in merged.records("findings") if row["file"] == str(folder / "old_year.xlsx")]
    assert codes[-1] == "READ_YEAR_MISMATCH"
    _same_summary_either_way(merged, monkeypatch)
    path = tmp_path / "summary.xlsx"
    path.write_bytes(build_summary(merged))
    shown = [[cell.value for cell in row] for row in openpyxl.load_workbook(path)[FINDINGS].iter_rows(min_row=2)]
    assert [row[3] for row in shown] == [row["code"] for row in merged.records("findings")]
    assert any(row[3] == "READ_YEAR_MISMATCH" and row[2] == "错误" for row in shown)


def test_an_unreadable_input_has_its_row_made_where_it_was_refused(tmp_path, monkeypatch):
    folder = shutil.copytree(SAMPLES / "returns-with-errors", tmp_path / "in")
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    cache = tmp_path / "cache"
    first = merge_returns([folder], cache_dir=cache)
    made = _counting_rows(monkeypatch)
    again = merge_returns([folder], cache_dir=cache)
    assert made == []
    assert [row["file"] for row in again.records("findings")].count(str(folder / "broken.xlsx")) == 1
    assert build_summary(again) == build_summary(first)
    _same_summary_either_way(again, monkeypatch)


def test_rows_an_entry_states_wrongly_are_made_by_the_merge(tmp_path, monkeypatch):
    """An entry's rows of 校验问题 not as a merge makes them (a row missing, widths of other columns): that input's
    rows are made again by the merge, the summary is the same."""
    folder = shutil.copytree(SAMPLES / "returns-with-errors", tmp_path / "in")
    cache = tmp_path / "cache"
    first = merge_returns([folder], cache_dir=cache)
    entries = sorted(cache.rglob("*.entry"))
    damaged = {}
    for path, damage in zip(entries, ("row", "widths", "said")):
        head, _, blob = path.read_bytes().partition(b"\n")
        head = json.loads(head)
        made = head["finding_rows"]
        if damage == "row":
            made["rows"] = made["rows"][1:]
        elif damage == "widths":
            made["widths"] = made["widths"][:-12]
        else:
            made["said"] = None
        path.write_bytes(json.dumps(head, ensure_ascii=False).encode() + b"\n" + blob)
        damaged[made["for"]] = damage
    assert len(damaged) == 3
    made = _counting_rows(monkeypatch)
    again = merge_returns([folder], cache_dir=cache)
    assert sorted(made) == sorted(damaged)
    assert build_summary(again) == build_summary(first)


TEXT = st.text(alphabet=st.sampled_from("ab 中文问题\n≥%"), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, st.sampled_from(["error", "warning"]),
                          st.sampled_from([None, "budget_total", "description"])), min_size=1, max_size=12))
def test_finding_rows_made_with_the_widest_widths_are_those_made_with_the_measured_ones(values):
    """What made-ahead rows of 校验问题 rest on (``rows.finding_segments``): a row made with each column at its
    ``widest`` is the row made with the widths measured over all of them."""
    rows = [[file, "471001", severity, "CODE", file[:5], "D4", field, value, message, message[::-1]]
            for file, value, message, severity, field in values]
    styles = standard_formats().table_styles(FINDING_TABLE)
    measured = render_rows(FINDING_TABLE, rows, measured_widths(FINDING_TABLE, rows), styles)
    assert render_rows(FINDING_TABLE, rows, capped_widths(FINDING_TABLE), styles) == measured
