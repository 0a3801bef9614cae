"""A merge keeps 项目汇总 and 校验问题 out of memory (``SpooledTable``: rows in a temporary file, read back a
row at a time), so that twenty thousand returns do not hold 160,000 project rows as Python objects. What is
written from them must be what the same tables held in memory give: the summary byte for byte (widths, totals,
spending per unit, findings), the CSV, JSON and Parquet exports. Batches are made tiny here so that every
batch boundary (stored rows, measured widths) is crossed."""
from __future__ import annotations

import math

import pytest
from conftest import SAMPLES

from xlperf.consolidate import consolidation as consolidation_module
from xlperf.consolidate import figures as figures_module
from xlperf.consolidate.consolidation import Consolidation, SpooledTable
from xlperf.consolidate.merge import merge_returns
from xlperf.writers import summary as summary_module
from xlperf.writers.exports import write_csvs, write_json, write_parquet
from xlperf.writers.summary import write_summary


def test_rows_come_back_as_they_went_in_across_batches(monkeypatch):
    monkeypatch.setattr(SpooledTable, "BATCH", 3)
    rows = [[n, float(n) / 3, None, f"项目{n}", "=1+1", math.inf, True] for n in range(10)]
    table = SpooledTable(["n", "x", "none", "name", "formula", "inf", "flag"], rows[:4])
    table.extend(rows[4:])
    assert len(table) == 10 and bool(table)
    for _ in range(2):  # read as often as asked for
        back = list(table)
        assert back == rows
        assert [type(value) for value in back[7]] == [int, float, type(None), str, str, float, bool]
    assert table.column("name") == [f"项目{n}" for n in range(10)]
    assert next(table.dicts()) == dict(zip(table.columns, rows[0]))
    assert not SpooledTable(["a"]) and list(SpooledTable(["a"])) == []


def _in_memory(spooled: Consolidation) -> Consolidation:
    """The same consolidation with its tables as lists of dicts (how they were held before)."""
    return Consolidation(
        year=spooled.year, framework=spooled.framework, milestones=spooled.milestones,
        level1_names=spooled.level1_names, level2_tree=spooled.level2_tree,
        projects=spooled.records("projects"), findings=spooled.records("findings"),
        inputs=spooled.records("inputs"), missing=spooled.records("missing"),
        columns={"projects": spooled.columns("projects")}, made_from=spooled.made_from,
        data_as_of=spooled.data_as_of, expect=spooled.expect, lang=spooled.lang, prepared=spooled.prepared)


def _outputs(consolidation: Consolidation, folder) -> dict[str, bytes]:
    write_summary(consolidation, folder / "summary.xlsx")
    write_json(consolidation, folder / "summary.json")
    write_csvs(consolidation, folder / "csv", lang="zh")
    write_parquet(consolidation, folder / "parquet")
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# the returns with errors left out beside the good ones, or kept (alone: they share the good ones' codes)
@pytest.mark.parametrize("folders, include_invalid", [(["returns", "returns-with-errors"], False),
                                                      (["returns-with-errors"], True)])
def test_outputs_from_spooled_tables_are_those_of_the_tables_in_memory(tmp_path, monkeypatch, folders,
                                                                        include_invalid):
    monkeypatch.setattr(SpooledTable, "BATCH", 2)
    monkeypatch.setattr(figures_module, "WIDTH_BATCH", 2)
    spooled = merge_returns([SAMPLES / folder for folder in folders], include_invalid=include_invalid,
                            expect=SAMPLES / "templates" / "manifest.json")
    assert isinstance(spooled.table("projects"), consolidation_module.SpooledTable)
    assert isinstance(spooled.table("findings"), consolidation_module.SpooledTable)
    assert spooled.size("projects") >= 9 and spooled.size("findings") >= 11
    in_memory = _in_memory(spooled)
    assert not isinstance(in_memory.table("projects"), SpooledTable)
    (tmp_path / "spooled").mkdir()
    (tmp_path / "memory").mkdir()
    written = _outputs(spooled, tmp_path / "spooled")
    expected = _outputs(in_memory, tmp_path / "memory")
    assert sorted(written) == sorted(expected) and len(written) == 13  # summary, JSON, 5 CSV, 6 Parquet
    for name in expected:
        assert written[name] == expected[name], name


def test_widths_measured_a_batch_at_a_time_are_those_of_all_the_values(monkeypatch):
    columns = [summary_module.Column("amount", "金额", "money", widest=40),
               summary_module.Column("count", "数", "count", widest=40),
               summary_module.Column("name", "名称", widest=40)]
    rows = [(123456789.0, 3, "甲"), (-98765.5, 3.0, {"a": 1}), (None, None, "很长很长很长的名称"), (1.0, 12, None),
            (float("nan"), 2, "乙")]
    monkeypatch.setattr(figures_module, "WIDTH_BATCH", 10_000)
    whole = figures_module.measured_widths(columns, rows)
    monkeypatch.setattr(figures_module, "WIDTH_BATCH", 2)
    assert figures_module.measured_widths(columns, rows) == whole
    # "123,456,789.00" (14), the count 12 (3.0 is the 3 met first), the long name (18: wider than the dict)
    assert whole == [14 + 2, 2 + 2, 18 + 2]


def test_the_merges_spool_gives_back_what_was_put_whatever_was_read_between():
    """``_Spool`` keeps its end itself (no seek before each of a re-merge's thousands of puts): puts after reads
    still go to the end, and every span reads back its own bytes."""
    from xlperf.consolidate.merge import _Spool

    spool = _Spool(lambda path: {})
    pieces = [bytes([n]) * (n * 37 % 500 + 1) for n in range(60)]
    spans = []
    for number, piece in enumerate(pieces):
        spans.append(spool.put(piece))
        if number % 7 == 3:  # read something back in between, as a summary written early would
            assert spool.get(spans[number // 2]) == pieces[number // 2]
    assert [spool.get(span) for span in spans] == pieces
    assert spans[-1][0] + spans[-1][1] == sum(map(len, pieces)) == spool.main.file.seek(0, 2)


@pytest.mark.parametrize("run_bytes", [1, 700, 1 << 20])
def test_spooled_segments_come_back_in_their_order_read_a_run_at_a_time(monkeypatch, run_bytes):
    """Each table's segments apart in the spool, read back a run of neighbours at a time (at most
    ``RUN_BYTES``): in the order asked, whatever the order they were put in or the tables between them."""
    from xlperf.consolidate import merge as merge_module
    from xlperf.core.sheetxml import Segment

    monkeypatch.setattr(merge_module, "RUN_BYTES", run_bytes)
    spool = merge_module._Spool(lambda path: {})
    put: dict[str, list] = {"indicators": [], "data": [], "findings": []}
    for number in range(90):  # as a merge puts them: a return's tables in turn, some returns later than others
        table = ("indicators", "data", "findings")[number % 3]
        segment = Segment(bytes([number]) * (number * 53 % 400 + 1), number * 7, number * 11)
        put[table].append((segment, spool.put_segment(segment, table)))
    for table, pairs in put.items():
        order = pairs[3:] + pairs[:3]  # the first three returns' rows last (read after the others)
        made = list(merge_module._SpooledSegments(spool, [stored for _, stored in order]))
        assert made == [segment for segment, _ in order], table
        assert list(merge_module._SpooledSegments(spool, [stored for _, stored in order])) == made  # again
