"""A signal ends the run even where Python cannot raise its exception: in a generator that Python closes
because it was abandoned, the exception is dropped, so the signal is remembered and acted on before an output
is put in place and when the command returns."""
from __future__ import annotations

import subprocess
import sys

import pytest

from xlperf.core import interrupt
from xlperf.core.fileio import atomic_path, atomic_write_bytes
from xlperf.core.interrupt import Interrupted

DROPPED_IN_A_GENERATOR = """
import gc, os, signal, sys
from xlperf.core.interrupt import Interrupted, catch_signals, stop_if_interrupted
catch_signals()
def pool():
    try:
        yield 1
        yield 2
    finally:  # as the worker pool shuts down
        os.kill(os.getpid(), signal.SIGHUP)
results = pool()
next(results)
del results  # abandoned: Python closes it, and drops what its finally raised
gc.collect()
print("went on")
try:
    stop_if_interrupted()
except Interrupted as interrupted:
    print("stopped", interrupted.signum == signal.SIGHUP, interrupted.exit_code)
"""


def test_a_signal_dropped_in_a_closed_generator_is_acted_on_at_the_next_check():
    proc = subprocess.run([sys.executable, "-c", DROPPED_IN_A_GENERATOR], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.split("\n")[:2] == ["went on", "stopped True 129"], proc.stderr
    assert proc.stderr == ""  # not "Exception ignored in: <generator ...>" and its traceback


@pytest.fixture
def signal_received(monkeypatch):
    monkeypatch.setattr(interrupt, "_received", [])
    with pytest.raises(Interrupted):
        interrupt.on_signal(15, None)


@pytest.mark.parametrize("write", ["bytes", "path"])
def test_no_output_is_put_in_place_after_a_signal(signal_received, tmp_path, write):
    target = tmp_path / "summary.xlsx"
    target.write_bytes(b"last run's")
    with pytest.raises(Interrupted) as raised:
        if write == "bytes":
            atomic_write_bytes(target, b"this run's")
        else:
            with atomic_path(target) as temporary:
                temporary.write_bytes(b"this run's")
    assert raised.value.exit_code == 143
    assert target.read_bytes() == b"last run's"
    assert [path.name for path in tmp_path.iterdir()] == ["summary.xlsx"]  # no .part left
