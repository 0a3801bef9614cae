"""Run one function over many inputs, each input behind its own process boundary when asked.

A parser may abort, crash, exhaust memory or hang on a hostile file (python-calamine aborts the whole
process when a file declares billions of shared strings). With ``isolate`` (what the command line
always asks for) every input is handled in a worker process under limits: its address space
(RLIMIT_AS) may grow by at most ``Boundary.memory_bytes`` and one input may take at most
``Boundary.seconds``. A worker that dies, runs out of memory or overruns is replaced, and only the input
it was working on is lost: ``on_crash(item, crash)`` says what to report for it (an input it had been
given but not started goes to another worker). Each worker has its next input in its pipe while it works on
one, so it never waits for this process to answer. Results come back in input order, each as soon as it and
those before it are done.

Workers are forked (cheap, and they inherit the loaded frameworks; a library user's script needs no
``if __name__ == "__main__"`` guard), die with their parent whatever ends it (PR_SET_PDEATHSIG), leave
Ctrl-C to the parent, and are killed when the run ends early for any reason.
"""
from __future__ import annotations

import ctypes
import faulthandler
import gc
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_MIN_ITEMS = 40  # without isolation, below this starting worker processes costs more than it saves
TASKS_AHEAD = 2  # given to a worker at a time: the next input is in its pipe when it finishes one
_STDERR_TAIL = 8192
_OUT_OF_MEMORY_SIGNS = ("memory allocation of", "MemoryError", "Cannot allocate memory", "out of memory")
_FINISHED = object()


@dataclass(frozen=True)
class Boundary:
    """The limits one input is handled under: extra address space and wall time."""

    memory_bytes: int = 2_000_000_000
    seconds: float = 30.0


@dataclass(frozen=True)
class Crash:
    """What took a worker down while it handled one input."""

    kind: str  # "crashed", "out_of_memory", "timeout"
    detail: str = ""  # the signal or exit status, or the limit that was hit


def default_jobs() -> int:
    """What the command line uses: one worker per core."""
    return os.cpu_count() or 1


def map_in_workers(function: Callable[[Item], Result], items: list[Item], jobs: int | None,
                   on_crash: Callable[[Item, Crash], Result], isolate: bool = False,
                   boundary: Boundary | None = None, between: Iterator[object] | None = None) -> Iterator[Result]:
    """``function(item)`` for each item, in order. With ``isolate`` or with ``jobs`` > 1 and enough
    items, in ``jobs`` worker processes under ``boundary``; otherwise here, in this process. ``between``: other
    work of this process, done a step (one ``next``) at a time while the workers work and none has answered;
    what is left of it when the results are all in (or when there are no workers) is the caller's to finish."""
    jobs = max(1, jobs or 1)
    if not isolate and (jobs <= 1 or len(items) < PARALLEL_MIN_ITEMS):
        for item in items:
            yield function(item)
        return
    if not items:
        return
    yield from _Pool(function, min(jobs, len(items)), boundary or Boundary()).map(items, on_crash, between)


def _address_space() -> int:
    """This process's current virtual size: a forked worker starts with all of it."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _worker_start(memory_bytes: int, stderr_path: str) -> None:
    """In each worker: die with the parent (Linux PR_SET_PDEATHSIG), leave Ctrl-C to the parent, cap the
    address space, and keep what a crashing parser prints for the parent to read."""
    faulthandler.disable()  # a crash here is reported by the parent, not dumped on the user's terminal
    # never collect what was inherited: an open file is shared with the parent (one offset), and a temporary file
    # left over from the parent's earlier work, closed here, would move the offset under the parent's own copy
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() == 1:  # the parent ended before prctl took effect
        os._exit(1)
    if memory_bytes > 0:
        limit = _address_space() + memory_bytes
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        except (ValueError, OSError):  # a hard limit below ours: keep the hard one
            pass
    try:
        target = os.open(stderr_path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, 2)
        os.close(target)
    except OSError:
        pass


def _serve(connection, function, memory_bytes: int, stderr_path: str) -> None:
    """A worker's life: take an input, send back what the function made of it, until told to stop."""
    _worker_start(memory_bytes, stderr_path)
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        index, item = task
        try:
            reply = (index, True, function(item))
        except MemoryError:
            reply = (index, False, Crash("out_of_memory", "MemoryError"))
        except Exception as error:  # the function's own boundary missed it: still only this input's problem
            reply = (index, False, Crash("crashed", f"{type(error).__name__}: {error}"[:200]))
        try:
            connection.send(reply)
        except MemoryError:
            connection.send((index, False, Crash("out_of_memory", "MemoryError")))
    os._exit(0)


class _Worker:
    def __init__(self, context, function, memory_bytes: int):
        handle, self.stderr_path = tempfile.mkstemp(prefix="xlperf-worker-", suffix=".log")
        os.close(handle)
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, function, memory_bytes, self.stderr_path),
                                       daemon=True)
        self.process.start()
        child.close()
        self.tasks: deque[tuple] = deque()  # (index, item), in the order given: the first is being worked on
        self.deadline = 0.0  # for the first task

    def give(self, index: int, item, seconds: float) -> bool:
        """Send it an input; False if it can take none (it has ended: its end is seen by the pool)."""
        try:
            self.connection.send((index, item))
        except OSError:  # a broken pipe
            return False
        if not self.tasks:
            self.deadline = time.monotonic() + seconds
        self.tasks.append((index, item))
        return True

    def done_with_first(self, seconds: float) -> tuple:
        """The first task answered: the next one (already sent) starts now."""
        task = self.tasks.popleft()
        self.deadline = time.monotonic() + seconds
        return task

    def crash(self) -> Crash:
        """Why the worker ended (it has), from its exit status and what it printed last."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        printed = ""
        try:  # the first lines say what failed (a backtrace follows), the last what ended it
            with open(self.stderr_path, "rb") as log:
                head = log.read(_STDERR_TAIL)
                log.seek(max(len(head), os.path.getsize(self.stderr_path) - _STDERR_TAIL))
                printed = (head + log.read()).decode("utf-8", "replace")
        except OSError:
            pass
        if any(sign in printed for sign in _OUT_OF_MEMORY_SIGNS):
            return Crash("out_of_memory")
        if code is not None and code < 0:
            try:
                return Crash("crashed", signal.Signals(-code).name)
            except ValueError:
                return Crash("crashed", f"signal {-code}")
        return Crash("crashed", f"exit status {code}")

    def stop(self, kill: bool) -> None:
        if kill:
            try:
                self.process.kill()
            except (OSError, ValueError, AttributeError):
                pass
        else:
            try:
                self.connection.send(None)
            except (OSError, ValueError):
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.connection.close()
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass


class _Pool:
    def __init__(self, function, jobs: int, boundary: Boundary):
        self.function, self.jobs, self.boundary = function, jobs, boundary
        self.context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")

    def _start(self) -> _Worker:
        return _Worker(self.context, self.function, self.boundary.memory_bytes)

    def _replace(self, workers: list[_Worker], position: int, pending: deque, kill: bool) -> None:
        """A new worker in place of one that is done for; the inputs it had not started go back first in line."""
        worker = workers[position]
        pending.extendleft(reversed(worker.tasks))
        worker.tasks.clear()
        worker.stop(kill=kill)
        workers[position] = self._start()

    def map(self, items: list, on_crash, between: Iterator[object] | None = None) -> Iterator:
        pending = deque(enumerate(items))
        done: dict[int, object] = {}
        workers: list[_Worker] = []
        next_out = 0
        seconds = self.boundary.seconds
        try:
            workers = [self._start() for _ in range(self.jobs)]
            while next_out < len(items):
                for position in range(len(workers)):  # each worker has its next input waiting while it works
                    while len(workers[position].tasks) < TASKS_AHEAD and pending:
                        if workers[position].give(*pending[0], seconds):
                            pending.popleft()
                        elif not workers[position].tasks:  # ended while idle: no input of ours took it down
                            self._replace(workers, position, pending, kill=True)
                        else:  # ended on its first input: said below, once its end is seen
                            break
                busy = [worker for worker in workers if worker.tasks]
                timeout = 0.0 if between is not None else \
                    max(0.0, min(worker.deadline for worker in busy) - time.monotonic())
                ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy], timeout))
                if not ready and between is not None and next(between, _FINISHED) is _FINISHED:
                    between = None
                for position, worker in enumerate(workers):
                    if not worker.tasks:
                        continue
                    if worker.connection in ready or worker.process.sentinel in ready:
                        try:
                            while worker.tasks and worker.connection.poll():
                                _, finished, value = worker.connection.recv()
                                index, item = worker.done_with_first(seconds)
                                done[index] = value if finished else on_crash(item, value)
                        except (EOFError, OSError):
                            pass
                        if worker.tasks and not worker.process.is_alive():  # it died on its first input
                            index, item = worker.tasks.popleft()
                            done[index] = on_crash(item, worker.crash())
                            self._replace(workers, position, pending, kill=True)
                    elif time.monotonic() >= worker.deadline:
                        index, item = worker.tasks.popleft()
                        done[index] = on_crash(item, Crash("timeout", f"{seconds:g}"))
                        self._replace(workers, position, pending, kill=True)
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
        finally:  # finished, interrupted or abandoned: no worker outlives the run
            finished_cleanly = next_out == len(items)
            for worker in workers:
                worker.stop(kill=not finished_cleanly)
