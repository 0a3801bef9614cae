"""Worker processes: results in order, and an input that crashes, exhausts memory or hangs its worker
takes down only itself, whatever the number of workers."""
from __future__ import annotations

import itertools
import os
import signal
import time

import pytest

from xlperf.core.workers import Boundary, Crash, map_in_workers


def double_or_die(number: int) -> int:
    if number == 7:
        os._exit(3)  # what a parser abort looks like from outside
    return number * 2


def hostile(number: int) -> int:
    """Each kind of failure a parser may have on a hostile file, by input."""
    if number == 3:
        os.abort()  # SIGABRT, as python-calamine on a failed allocation
    if number == 5:
        os.kill(os.getpid(), signal.SIGSEGV)
    if number == 8:
        return len(bytearray(3_000_000_000))  # beyond the address-space limit: MemoryError
    if number == 11:
        time.sleep(60)  # a parser that never ends
    if number == 13:
        raise KeyError("layout.unit")  # a bug of ours on an odd file
    return number * 2


def test_results_in_order_and_a_crash_isolated():
    results = list(map_in_workers(double_or_die, list(range(45)), 2, on_crash=lambda number, crash: -number))
    assert results == [-7 if n == 7 else n * 2 for n in range(45)]


def test_small_batches_run_in_process():
    assert list(map_in_workers(abs, [-1, -2], 2, on_crash=lambda n, crash: None)) == [1, 2]


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_kind_of_failure_takes_only_its_input(jobs):
    started = time.monotonic()
    results = list(map_in_workers(hostile, list(range(16)), jobs, on_crash=lambda number, crash: crash, isolate=True,
                                  boundary=Boundary(memory_bytes=1_000_000_000, seconds=2)))
    assert time.monotonic() - started < 30
    expected = {3: Crash("crashed", "SIGABRT"), 5: Crash("crashed", "SIGSEGV"), 8: Crash("out_of_memory", "MemoryError"),
                11: Crash("timeout", "2")}
    for number, result in enumerate(results):
        if number == 13:
            assert result.kind == "crashed" and "KeyError" in result.detail
        else:
            assert result == expected.get(number, number * 2), number


def test_isolated_run_leaves_no_worker_behind():
    before = set(os.listdir("/proc"))
    assert list(map_in_workers(abs, [-1, -2, -3], 2, on_crash=lambda n, crash: None, isolate=True)) == [1, 2, 3]
    children = [pid for pid in set(os.listdir("/proc")) - before if pid.isdigit()
                and _parent(pid) == os.getpid()]
    assert children == []


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def slow_double(number: int) -> int:
    time.sleep(0.3)
    return number * 2


def test_work_between_is_done_while_the_workers_work():
    """The merge takes its cache entries while the workers read the files that have none: each step is done
    when no worker has answered, so all of a short job is done before the first answer comes."""
    steps: list[float] = []

    def between():
        for _ in range(20):
            steps.append(time.monotonic())
            yield

    answers = [(result, time.monotonic()) for result in map_in_workers(
        slow_double, [1, 2, 3, 4], 2, on_crash=lambda number, crash: crash, isolate=True, between=between())]
    assert [result for result, _ in answers] == [2, 4, 6, 8]
    assert len(steps) == 20 and steps[-1] < answers[0][1]


def test_work_between_that_outlasts_the_workers_is_left_to_the_caller_and_a_hang_still_found():
    endless = itertools.count()
    results = list(map_in_workers(hostile, [10, 11, 12], 2, on_crash=lambda number, crash: crash, isolate=True,
                                  boundary=Boundary(seconds=1), between=endless))
    assert results == [20, Crash("timeout", "1"), 24]
    assert next(endless) > 0  # steps were taken, and what is left is still there


class _Spooled:
    """As a merge's spool keeps a temporary file: closed when its owner is collected."""

    def __init__(self):
        import tempfile
        import weakref

        self.file = tempfile.TemporaryFile()
        weakref.finalize(self, self.file.close)


def _collect_garbage(_):
    import gc

    return gc.collect()


def test_a_worker_never_closes_what_it_inherited(tmp_path):
    """Open files are shared with forked workers (one file offset for both): a worker that collected an inherited
    temporary file left over from earlier work (the portal's worker runs merge after merge) closed it there,
    moving the offset under the parent's buffered file, which then failed to close (EINVAL) or read elsewhere.
    Workers freeze what they inherit, so only the parent ever closes its files."""
    import gc
    import sys

    raised = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: raised.append(unraisable.exc_value)
    try:
        gc.disable()  # the leftovers stay uncollected here until the workers have run
        for _ in range(4):
            owner = _Spooled()
            owner.file.write(b"x" * 100_000)
            owner.file.seek(10)
            owner.file.read(5)  # read ahead: the buffered file's own offset is behind the one it shares
            owner.cycle = owner  # garbage only a collection finds, as a merge's leftovers are
            del owner
        assert list(map_in_workers(_collect_garbage, [1, 2, 3, 4], jobs=2, on_crash=lambda item, crash: crash,
                                   isolate=True))
        gc.collect()
    finally:
        gc.enable()
        sys.unraisablehook = hook
    assert raised == []
