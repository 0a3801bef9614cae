"""cell_location makes the very Location that Location(file, sheet, cell) makes, only sooner."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from xlperf.core.findings import Location, cell_location


@pytest.mark.parametrize("file, sheet, cell", [("a/b.xlsx", "项目一", "B7"), (None, None, None), ("x", None, "A1")])
def test_a_cell_location_is_a_location(file, sheet, cell):
    made = cell_location(file, sheet, cell)
    expected = Location(file, sheet, cell)
    assert type(made) is Location
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert dataclasses.astuple(made) == (file, sheet, cell, None)
    assert pickle.loads(pickle.dumps(made)) == expected
    assert dataclasses.replace(made, cell="C1") == Location(file, sheet, "C1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.cell = "C1"
