"""Figures of a summary's tables beyond their rows: how wide each column must be, and 项目汇总's totals, in
total and by unit. Read a batch of rows at a time; 项目汇总's can be read in parts (a merge's workers, a return at
a time) and put together exactly (``ProjectFigures.state``, ``take``)."""
from __future__ import annotations

import base64
import functools
import math
from array import array
from itertools import groupby
from typing import Iterable, Iterator, Sequence

from ..core.styles import display_width
from .rows import Column, is_blank, is_number, shown_value, unit_text

HEADER_WIDTH = 8  # a header wider than this wraps rather than widening its column


def numbers_in(values: Sequence) -> list[float]:
    """The values that are numbers (``is_number``), as floats, in order. A column's values are mostly of one
    type: floats or ints alone are taken without a test of each value."""
    kinds = set(map(type, values))
    if kinds == {float}:
        return list(filter(math.isfinite, values))
    if kinds == {int}:
        return list(map(float, values))
    return [float(value) for value in values if _is_number(value)]


def _is_number(value: object) -> bool:
    """``is_number``, with the types of a table's cells tested first."""
    kind = type(value)
    if kind is float:
        return value - value == 0
    if kind is int:
        return True
    return kind is not str and value is not None and is_number(value)


WIDTH_BATCH = 2000  # rows measured together


def measured_widths(columns: list[Column], rows: Iterable[Sequence]) -> list[int]:
    """Wide enough for each column's values (up to its ``widest``); long headers wrap instead of widening.

    Read a batch of rows at a time; a thousand returns repeat their units and categories, so each batch's
    distinct values are measured (anything not hashable as its text). The widths are those of all the
    distinct values of each column: text is measured in each batch it is in (the same text, the same width),
    other values only the first time an equal value is met (as one set of all the values would keep it); of
    amounts only the largest and the smallest are kept."""
    widths = Widths(columns)
    for batch in _batches(rows if widths.measuring else (), WIDTH_BATCH):
        widths.measure(list(zip(*batch)))
    return widths.result()


def _batches(rows: Iterable[Sequence], size: int) -> Iterator[list[Sequence]]:
    batch: list[Sequence] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@functools.lru_cache(maxsize=512)  # measured once a process, not once for each return a merge's worker reads
def _header_width(column: Column) -> int:
    widest = max(display_width(line) for line in column.shown_header.split("\n"))
    return widest if column.lines else min(widest, HEADER_WIDTH)


_KEPT_AS_THEY_ARE = {str, int, float, type(None)}  # values a width's set of distinct values holds as they are


class Widths:
    """``measured_widths``, a batch of rows at a time (so that one reading of a table can serve other sums too)."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.measuring = [index for index, column in enumerate(columns) if column.width is None]
        self.widest = {index: _header_width(columns[index]) for index in self.measuring}
        self.amounts: dict[int, list] = {index: [] for index in self.measuring}  # the largest and smallest so far
        self.seen: dict[int, set] = {index: set() for index in self.measuring}  # values other than text met so far
        self.any_rows = False

    def measure(self, batch: list[Sequence]) -> None:
        """Measure a batch of rows, given as its columns (each column's values in row order)."""
        self.any_rows = True
        widest, amounts, seen = self.widest, self.amounts, self.seen
        for index in self.measuring:
            column = self.columns[index]
            if column.kind == "percent":
                continue
            values = batch[index]
            if set(map(type, values)) <= _KEPT_AS_THEY_ARE:
                distinct = set(values)
            else:
                distinct = {value if value is None or isinstance(value, (str, int, float)) else str(value)
                            for value in values}
            if column.kind == "money":  # the largest and smallest amount, however often met (no set of them all)
                if set(map(type, distinct)) <= {float, type(None)}:  # amounts as stored: nothing else to measure
                    numbers = [value for value in distinct if value is not None and value - value == 0]
                else:
                    numbers = [value for value in distinct if is_number(value)]
                    others = [display_width(str(value)) for value in distinct
                              if not is_number(value) and not is_blank(value)]
                    widest[index] = max([widest[index]] + others)
                if numbers:
                    amounts[index] = [max(numbers + amounts[index][:1]), min(numbers + amounts[index][1:])]
            else:
                met = seen[index]
                fresh = [value for value in distinct if type(value) is str or value not in met]
                met.update(value for value in fresh if type(value) is not str)
                for value in fresh:
                    if not is_blank(value):
                        value = shown_value(column, value)
                        widest[index] = max(widest[index], display_width(value if type(value) is str else str(value)))

    def state(self) -> list[float]:
        """What has been measured, as numbers (``take`` adds them to another's): whether any rows were, then
        each measured column's widest text, then its largest and smallest amount (NaN: none), in ``measuring``
        order."""
        nothing = [math.nan, math.nan]
        return [float(self.any_rows), *(self.widest[index] for index in self.measuring),
                *(value for index in self.measuring for value in (self.amounts[index] or nothing))]

    def packed(self) -> bytes:
        """``state`` as doubles (``array("d")`` bytes): a merge's workers measure an input's rows of 校验问题."""
        return array("d", self.state()).tobytes()

    def take_packed(self, states: Iterable[bytes]) -> None:
        """Other readings' ``packed`` states added to this one (a merge's thousand inputs at once): the widths of
        all the rows any has measured, their doubles side by side so that each column's widest is the largest of
        one slice. ``ValueError`` if one was made for other columns."""
        stride, count = 1 + 3 * len(self.measuring), len(self.measuring)
        values = array("d")
        for state in states:
            if len(state) != 8 * stride:
                raise ValueError("widths measured for other columns")
            values.frombytes(state)
        if not values:
            return
        self.any_rows = self.any_rows or any(values[0::stride])
        for offset, index in enumerate(self.measuring):
            self.widest[index] = max(self.widest[index], int(max(values[1 + offset::stride])))
            largest = [value for value in values[1 + count + 2 * offset::stride] if not math.isnan(value)]
            if largest:
                smallest = [value for value in values[2 + count + 2 * offset::stride] if not math.isnan(value)]
                mine = self.amounts[index]
                self.amounts[index] = [max([*largest, *mine[:1]]), min([*smallest, *mine[1:]])]

    def result(self) -> list[int]:
        widths = []
        for index, column in enumerate(self.columns):
            if column.width is not None:
                widths.append(column.width)
                continue
            wide = self.widest[index]
            amounts = self.amounts[index]
            if column.kind == "percent" and self.any_rows:
                wide = max(wide, 5)
            elif column.kind == "money" and amounts:
                wide = max([wide] + [len(f"{value:,.2f}") for value in (max(amounts), min(amounts))])
            widths.append(min(wide, column.widest) + 2)
        return widths


class ProjectFigures:
    """What 项目汇总 and 资金支出进度 need of the projects beyond their rows: each column's width (``widths``
    of the rows), the total of each amount and count, and each unit's totals of the budget and the planned
    amounts. A total is ``math.fsum`` of the column's numbers (``is_number``) as floats, kept in arrays until
    they are added: so figures read in parts (``add``, or a merge's workers a return at a time, ``state`` and
    ``take``) are exactly those of one reading of all the rows, in any order."""

    def __init__(self, columns: list[Column], spent: list[str], rows: Iterable[Sequence] = ()):
        self.columns, self.spent = columns, spent
        self._position = {column.key: index for index, column in enumerate(columns)}
        summed = [column.key for column in columns[4:] if column.kind in ("money", "count")]
        summed += [key for key in spent if key not in summed]
        self._numbers = {key: array("d") for key in summed}
        self._by_unit: dict[str, list[array]] = {}
        self._widths = Widths(columns)
        self.add(rows)

    def add(self, rows: Iterable[Sequence]) -> None:
        """Rows of 项目汇总 (values in ``columns`` order)."""
        position, numbers, by_unit, spent = self._position, self._numbers, self._by_unit, self.spent
        unit_at, spent_at = position["unit_code"], [position[key] for key in spent]
        for batch in _batches(rows, WIDTH_BATCH):
            values = list(zip(*batch))  # the batch's columns
            self._widths.measure(values)
            for key, kept in numbers.items():
                kept.extend(numbers_in(values[position[key]]))
            codes = [code if type(code) is str else unit_text(code) for code in values[unit_at]]
            start = 0
            for code, run in groupby(codes):  # a unit's rows mostly follow each other: taken as slices
                end = start + len(list(run))
                own = by_unit.get(code)
                if own is None:
                    own = by_unit[code] = [array("d") for _ in spent]
                for index, kept in zip(spent_at, own):
                    kept.extend(numbers_in(values[index][start:end]))
                start = end

    def state(self) -> dict | None:
        """The figures so far, for ``take``: the units' codes, and packed as doubles (base64, as JSON carries
        it) the widths (``Widths.state``), then for each summed column and then for each unit and each amount
        of ``spent``, how many numbers follow and numbers that add up to exactly its own (``exact_partials``).
        A few hundred bytes a return, read without making an object of each number. None if numbers are too
        large for that (``EXACT_LIMIT``)."""
        packed = array("d", self._widths.state())
        for kept in [*self._numbers.values(), *(kept for own in self._by_unit.values() for kept in own)]:
            partials = exact_partials(kept)
            if partials is None:
                return None
            packed.append(len(partials))
            packed.extend(partials)
        return {"codes": list(self._by_unit), "packed": base64.b64encode(packed.tobytes()).decode("ascii")}

    def take(self, state: dict | None) -> None:
        """Another reading's ``state`` added: ``ValueError`` if there is none, or it was made for other columns."""
        self.take_all([state])

    def take_all(self, states: Iterable[dict | None]) -> None:
        """``take`` of many states (a merge's thousand returns), their widths taken together (``take_packed``)."""
        self._widths.take_packed([self._take_sums(state) for state in states])

    def _take_sums(self, state: dict | None) -> bytes:
        """A state's totals added; its widths left to take (packed)."""
        if state is None:
            raise ValueError("figures not stated")
        packed = array("d")
        packed.frombytes(base64.b64decode(state["packed"], validate=True))
        widths = 1 + 3 * len(self._widths.measuring)
        if len(packed) < widths:
            raise ValueError("figures made for other columns")
        at = widths
        by_unit, spent = self._by_unit, self.spent
        owners = [*self._numbers.values()]
        for code in state["codes"]:
            own = by_unit.get(code)
            if own is None:
                own = by_unit[code] = [array("d") for _ in spent]
            owners.extend(own)
        for kept in owners:
            count = int(packed[at])
            kept.extend(packed[at + 1:at + 1 + count])
            at += 1 + count
        if at != len(packed):
            raise ValueError("figures made for other columns")
        return packed[:widths].tobytes()

    @property
    def widths(self) -> list[int]:
        return self._widths.result()

    @property
    def sums(self) -> dict[str, float]:
        return {key: math.fsum(kept) for key, kept in self._numbers.items()}

    @property
    def by_unit(self) -> dict[str, list[float]]:
        return {code: [math.fsum(kept) for kept in own] for code, own in self._by_unit.items()}

    def spending(self, names: dict[str, str]) -> list[tuple[str, str, list[float]]]:
        """(unit code, unit name, the totals of ``spent`` over the unit's projects): the department first
        (code ''), then every unit named, by code."""
        nothing = [0.0] * len(self.spent)
        sums, by_unit = self.sums, self.by_unit
        return [("", "部门合计", [sums[key] for key in self.spent])] + [
            (code, name, by_unit.get(code, nothing)) for code, name in sorted(names.items())]


EXACT_LIMIT = 1e300  # numbers this large or larger: math.fsum may overflow midway where exact_partials do not


def exact_partials(numbers: Iterable[float]) -> list[float] | None:
    """Finite floats whose exact sum is that of ``numbers`` (Shewchuk's non-overlapping partials, as in the
    recipe ``math.fsum`` follows): so ``math.fsum`` of them with any other numbers is ``math.fsum`` of
    ``numbers`` with those, to the bit. A thousand amounts in cents come down to four. None if a number's
    magnitude reaches ``EXACT_LIMIT``."""
    partials: list[float] = []
    for x in numbers:
        if not -EXACT_LIMIT < x < EXACT_LIMIT:
            return None
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]
    return partials


def spent_keys(milestones: list[str]) -> list[str]:
    """资金支出进度's amounts: the budget, then the cumulative plan at each milestone."""
    return ["budget_total"] + [f"plan_amount/{milestone}" for milestone in milestones]
