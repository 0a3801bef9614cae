"""Worker processes: results in order, and a crashing input takes down only itself."""
from __future__ import annotations

import os

from xlperf.workers import map_in_workers


def double_or_die(number: int) -> int:
    if number == 7:
        os._exit(3)  # what a parser abort looks like from outside
    return number * 2


def test_results_in_order_and_a_crash_isolated():
    results = list(map_in_workers(double_or_die, list(range(45)), 2, on_crash=lambda number: -number))
    assert results == [-7 if n == 7 else n * 2 for n in range(45)]


def test_small_batches_run_in_process():
    assert list(map_in_workers(abs, [-1, -2], 2, on_crash=lambda n: None)) == [1, 2]
