"""Run one function over many inputs, in worker processes when there are enough of them.

Workers are started with ``spawn`` (never ``fork``: the parent may hold threads and open files).
If a worker dies — a parser that still crashed on some file — the inputs not yet finished are run
again one at a time, each in a fresh process, so only the file that kills a process is lost, and
``on_crash`` says what to report for it.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_MIN_ITEMS = 40  # below this, starting worker processes costs more than it saves
CHUNK = 8


def default_jobs() -> int:
    """What the command line uses: one worker per core."""
    return os.cpu_count() or 1


def map_in_workers(function: Callable[[Item], Result], items: list[Item], jobs: int | None,
                   on_crash: Callable[[Item], Result]) -> Iterator[Result]:
    """``function(item)`` for each item, in order. ``jobs=None`` runs in this process: worker processes
    re-import the caller's main module, which a library user's unguarded script cannot survive, so
    only the command line (which knows its main module) asks for them."""
    jobs = jobs or 1
    if jobs <= 1 or len(items) < PARALLEL_MIN_ITEMS:
        for item in items:
            yield function(item)
        return
    context = multiprocessing.get_context("spawn")
    finished = 0
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for result in pool.map(function, items, chunksize=CHUNK):
                finished += 1
                yield result
    except BrokenProcessPool:
        # the culprit was among the chunks in flight: run those one by one, isolated, the rest as before
        suspects = items[finished:finished + jobs * CHUNK]
        for item in suspects:
            try:
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                    yield pool.submit(function, item).result()
            except BrokenProcessPool:
                yield on_crash(item)
        yield from map_in_workers(function, items[finished + len(suspects):], jobs, on_crash)
