"""项目汇总's figures taken from one reading of the rows (``ProjectFigures``), or from readings of its parts put
together (a merge's workers read a return at a time), are those of the plain definitions: ``math.fsum`` of the
values ``is_number`` takes, per column and per unit, and ``measured_widths`` of the rows."""
from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xlperf.consolidate.figures as figures_module
from xlperf.consolidate.consolidation import SpooledTable
from xlperf.consolidate.figures import ProjectFigures, Widths, exact_partials, measured_widths, numbers_in
from xlperf.consolidate.rows import Column, is_number

ODD_VALUES = [1.5, 2, None, "", "12", "x", math.nan, math.inf, -math.inf, True, False, Decimal("2.25"),
              Fraction(1, 4), -3.0, 0, 10**6, 1e-9]


@pytest.mark.parametrize("values", [
    [1.5, 2.5, -0.25, math.nan, 1e300, math.inf],  # floats alone
    [1, 2, 3, 0, -7],  # ints alone
    [1.0, None, 2.0, None],
    ODD_VALUES,
    [True, False],
    [],
])
def test_numbers_are_the_values_is_number_takes_as_floats_in_order(values):
    expected = [float(value) for value in values if is_number(value)]
    found = numbers_in(values)
    assert found == expected and all(type(number) is float for number in found)


COLUMNS = [Column("unit_code", "单位编码"), Column("unit_name", "单位名称", widest=12),
           Column("project_code", "项目编码", width=14), Column("project_name", "项目名称", widest=16),
           Column("budget_total", "预算数", "money"), Column("plan_pct/6月", "6月支出比例", "percent"),
           Column("plan_amount/6月", "6月计划支出", "money"), Column("count/产出指标", "产出指标数", "count"),
           Column("status", "状态", show=lambda value: {"invalid": "有错误（仍汇总）"}.get(value, value))]


def _project_rows() -> list[list]:
    rows = []
    for number in range(23):
        unit = ["001", "002", 3, None, "001"][number % 5]  # a code that is a number, and none
        odd = ODD_VALUES[number % len(ODD_VALUES)]
        rows.append([unit, f"单位{unit}" * (1 + number % 3), f"P{number:03d}", "项目名称很长很长" * (number % 4),
                     odd if number % 2 else 100.0 + number * 1.25, 30.0, odd if number % 3 else number * 0.5,
                     number % 7 if number % 4 else odd, "invalid" if number % 6 == 0 else "included"])
    return rows


def _expected_spending(rows: list[list], spent_at: list[int]) -> dict[str, list[float]]:
    by_unit: dict[str, list[list[float]]] = {}
    for row in rows:
        code = row[0] if type(row[0]) is str else ("" if row[0] is None else str(row[0]))
        own = by_unit.setdefault(code, [[] for _ in spent_at])
        for index, kept in zip(spent_at, own):
            if is_number(row[index]):
                kept.append(float(row[index]))
    return {code: [math.fsum(kept) for kept in own] for code, own in by_unit.items()}


@pytest.mark.parametrize("batch", [2, 5, 2000])
def test_one_reading_gives_the_widths_totals_and_spending_of_their_definitions(monkeypatch, batch):
    monkeypatch.setattr(figures_module, "WIDTH_BATCH", batch)
    monkeypatch.setattr(SpooledTable, "BATCH", 3)
    rows = _project_rows()
    table = SpooledTable([column.key for column in COLUMNS], rows)
    spent = ["budget_total", "plan_amount/6月"]
    figures = ProjectFigures(COLUMNS, spent, iter(table))

    assert figures.widths == measured_widths(COLUMNS, [list(row) for row in rows])
    summed = ["budget_total", "plan_amount/6月", "count/产出指标"]
    assert figures.sums == {key: math.fsum(float(row[index]) for row in rows if is_number(row[index]))
                            for key, index in ((key, [c.key for c in COLUMNS].index(key)) for key in summed)}
    assert figures.by_unit == _expected_spending(rows, [4, 6])
    names = {"001": "甲", "002": "乙", "3": "丙", "009": "无项目的单位"}
    assert figures.spending(names) == [("", "部门合计", [figures.sums[key] for key in spent])] + [
        (code, name, figures.by_unit.get(code, [0.0, 0.0])) for code, name in sorted(names.items())]


@pytest.mark.parametrize("cuts", [[], [1], [5, 6, 17], list(range(1, 23))])
def test_figures_read_in_parts_and_put_together_are_those_of_one_reading(monkeypatch, cuts):
    """As a merge's workers read them: each part's ``state`` through JSON (as the cache keeps it), ``take``n in
    any order into empty figures. A unit's rows may be in several parts."""
    monkeypatch.setattr(figures_module, "WIDTH_BATCH", 4)
    rows = _project_rows()
    spent = ["budget_total", "plan_amount/6月"]
    whole = ProjectFigures(COLUMNS, spent, rows)
    bounds = [0, *cuts, len(rows)]
    parts = [json.loads(json.dumps(ProjectFigures(COLUMNS, spent, rows[start:end]).state()))
             for start, end in zip(bounds, bounds[1:])]
    for order in (parts, parts[::-1]):
        together, at_once = ProjectFigures(COLUMNS, spent), ProjectFigures(COLUMNS, spent)
        for state in order:
            together.take(state)
        at_once.take_all(order)  # as a merge takes its returns' figures
        for figures in (together, at_once):
            assert (figures.widths, figures.sums, figures.by_unit) == (whole.widths, whole.sums, whole.by_unit)
            assert figures.spending({"001": "甲"}) == whole.spending({"001": "甲"})


@pytest.mark.parametrize("cuts", [[], [1], [5, 6, 17], list(range(1, 23))])
def test_widths_packed_in_parts_and_taken_together_are_those_of_one_reading(cuts):
    """``Widths.take_packed``: many parts' states at once (an input's rows of 校验问题 each), amounts too."""
    rows = _project_rows()
    whole = Widths(COLUMNS)
    whole.measure(list(zip(*rows)))
    bounds = [0, *cuts, len(rows)]
    parts = []
    for start, end in itertools.pairwise(bounds):
        part = Widths(COLUMNS)
        if end > start:
            part.measure(list(zip(*rows[start:end])))
        parts.append(part.packed())
    for order in (parts, parts[::-1]):
        together = Widths(COLUMNS)
        together.take_packed(order)
        assert together.result() == whole.result() and together.state()[1:] == whole.state()[1:]
    assert not all(map(math.isnan, whole.state()[1 + len(whole.measuring):]))  # amounts were measured
    nothing = Widths(COLUMNS)
    nothing.take_packed([])
    assert nothing.result() == Widths(COLUMNS).result()
    with pytest.raises(ValueError):
        Widths(COLUMNS[:-1]).take_packed(parts)  # one measured column fewer


def test_figures_made_for_other_columns_are_refused():
    spent = ["budget_total", "plan_amount/6月"]
    state = ProjectFigures(COLUMNS, spent, _project_rows()).state()
    with pytest.raises(ValueError):
        ProjectFigures(COLUMNS[:-1], spent).take(state)  # one measured column fewer
    with pytest.raises(ValueError):
        ProjectFigures(COLUMNS, spent[:1]).take(state)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(min_value=-9e299, max_value=9e299), st.sampled_from([0.1, 0.2, 0.3, -0.0, 5e-324]),
                          st.decimals(min_value=-10**9, max_value=10**9, places=2).map(float)), max_size=60),
       st.lists(st.integers(min_value=0, max_value=60), max_size=6), st.randoms())
def test_exact_partials_of_parts_add_up_to_the_fsum_of_all(numbers, cuts, random):
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(numbers)), len(numbers)]
    partials = [partial for start, end in zip(bounds, bounds[1:]) for partial in exact_partials(numbers[start:end])]
    random.shuffle(partials)
    assert repr(math.fsum(partials)) == repr(math.fsum(numbers))
    assert len(exact_partials([round(0.01 * n, 2) for n in range(1000)])) <= 5  # a thousand amounts: a few


def test_numbers_too_large_to_add_in_parts_give_no_figures():
    assert exact_partials([1.0, 1e300]) is None and exact_partials([-1e300]) is None
    rows = _project_rows()
    rows[3][4] = 1e300
    assert ProjectFigures(COLUMNS, ["budget_total"], rows).state() is None
    with pytest.raises(ValueError):
        ProjectFigures(COLUMNS, ["budget_total"]).take(None)
