"""A1 cell addresses: column letters ↔ numbers, ``B7`` ↔ (row, column). One home for every stage that
names cells (the spec's layout, the preflight's declared sizes, the reader, the writers)."""
from __future__ import annotations

import re
from functools import lru_cache

from .errors import SpecError

_A1 = re.compile(r"^([A-Z]{1,3})([1-9][0-9]*)$")


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index


@lru_cache(maxsize=8192)
def split_cell(cell: str) -> tuple[int, int]:
    """'B7' → (row 7, column 2), both 1-based."""
    match = _A1.match(cell)
    if not match:
        raise SpecError(f"not a cell address: {cell!r}")
    return int(match.group(2)), column_index(match.group(1))


def cell_name(row: int, column: int) -> str:
    return f"{column_letter(column)}{row}"


def quote_sheet(name: str) -> str:
    """A sheet name as a formula names it: ``'项目汇总'!A1``."""
    return "'" + name.replace("'", "''") + "'"
