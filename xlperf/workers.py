"""Run one function over many inputs, in worker processes when there are enough of them.

Workers are started with ``spawn`` (never ``fork``: the parent may hold threads and open files).
If a worker dies — a parser that still crashed on some file — the inputs not yet finished are run
again one at a time, each in a fresh process, so only the file that kills a process is lost, and
``on_crash`` says what to report for it.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_MIN_ITEMS = 40  # below this, starting worker processes costs more than it saves
CHUNK = 8


def _worker_start() -> None:
    """In each worker: die with the parent, whatever ends it (Linux PR_SET_PDEATHSIG), and leave Ctrl-C
    to the parent, which shuts the pool down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() == 1:  # the parent ended before prctl took effect
        os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now: queued work dropped, workers killed (the run is being abandoned)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass
    for process in processes:
        try:
            process.join(timeout=5)
        except (OSError, ValueError, AssertionError):
            pass


def _pool(jobs: int, context) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_start)


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
        pool = _pool(jobs, context)
        try:
            for result in pool.map(function, items, chunksize=CHUNK):
                finished += 1
                yield result
        except BaseException:  # a signal or the caller stopped early: no worker may outlive this
            _stop(pool)
            raise
        pool.shutdown(wait=True)
    except BrokenProcessPool:
        # the culprit was among the chunks in flight: run those one by one, isolated, the rest as before
        suspects = items[finished:finished + jobs * CHUNK]
        for item in suspects:
            try:
                pool = _pool(1, context)
                try:
                    result = pool.submit(function, item).result()
                except BaseException:
                    _stop(pool)
                    raise
                pool.shutdown(wait=True)
                yield result
            except BrokenProcessPool:
                yield on_crash(item)
        yield from map_in_workers(function, items[finished + len(suspects):], jobs, on_crash)
