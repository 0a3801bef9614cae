"""A signal that ends the run (Ctrl-C, SIGTERM, the terminal closing).

The handler raises ``Interrupted`` where the signal lands, so the run unwinds like KeyboardInterrupt (pools shut
down, temporary files removed). Python drops an exception raised while a generator is being closed or an object
finalized ("Exception ignored in ..."), and the run would go on as if nothing had happened; so the signal is
also remembered, and ``stop_if_interrupted`` (called before an output is put in place and when the command
returns) ends the run with it then.
"""
from __future__ import annotations

import signal
import sys

from . import exitcodes

_received: list[int] = []


class Interrupted(BaseException):
    """A signal ended the run: unwinds like KeyboardInterrupt (pools shut down, temporary files removed)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return exitcodes.signalled(self.signum)


def on_signal(signum, frame) -> None:
    _received.append(int(signum))
    raise Interrupted(signum)


def catch_signals() -> None:
    """For a command-line run: these signals end it with 128 + the signal, and an ``Interrupted`` that Python
    could only drop is not printed as a traceback (it is acted on at the next ``stop_if_interrupted``)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    sys.unraisablehook = _quiet_about_interruptions


def stop_if_interrupted() -> None:
    """Raise the signal received earlier whose ``Interrupted`` was lost, if any."""
    if _received:
        raise Interrupted(_received[0])


def _quiet_about_interruptions(unraisable, default=sys.unraisablehook) -> None:
    if not isinstance(unraisable.exc_value, Interrupted):
        default(unraisable)
