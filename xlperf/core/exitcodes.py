"""The exit-code policy of every command, in one place (each command's --help states its codes).

- ``OK`` (0): done, and nothing in the inputs needs fixing (warnings allowed).
- ``FINDINGS`` (1): done, but the inputs have problems someone must act on: errors in a return, a return
  left out or missing, something an import could not place. The outputs are still written.
- ``UNUSABLE`` (2): bad usage, an input that cannot be read at all, or an output that cannot be written.
- ``128 + N``: ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 the terminal closed), as shells expect.
"""
from __future__ import annotations

OK, FINDINGS, UNUSABLE = 0, 1, 2


def signalled(signum: int) -> int:
    return 128 + int(signum)


def for_validation(unreadable: bool, errors: bool) -> int:
    """validate: 2 when an input cannot be read at all, else 1 when any return has errors."""
    return UNUSABLE if unreadable else FINDINGS if errors else OK


def for_consolidation(left_out: bool, kept_with_errors: bool, missing: bool) -> int:
    """merge: 1 when a return was left out (errors, unreadable), kept despite errors (--include-invalid), or
    an expected one is missing."""
    return FINDINGS if left_out or kept_with_errors or missing else OK


def for_report(reported_with_errors: bool) -> int:
    """report: 1 when a return with errors was reported as it is (--include-invalid)."""
    return FINDINGS if reported_with_errors else OK


def for_import(unplaced: bool, unreadable: bool = False) -> int:
    """import: 2 when a document could not be read at all (the others are imported), else 1 when anything in
    the documents was not placed (or a document holds no table)."""
    return UNUSABLE if unreadable else FINDINGS if unplaced else OK
