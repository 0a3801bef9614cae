"""The exceptions xlperf raises when it cannot continue.

Problems *inside* a user's workbook are findings (see ``findings.py``), not exceptions.
Everything here is a "cannot continue" condition; the CLI maps it to exit code 2.
"""


class XlperfError(Exception):
    """Base class: a one-line message that is safe to show to a user."""


class UsageError(XlperfError):
    """Bad arguments or options."""


class FrameworkError(XlperfError):
    """A framework schema that cannot be used (invalid JSON Schema, no category tree)."""


class SpecError(XlperfError):
    """A template spec that does not fit its framework."""


class ProjectListError(XlperfError):
    """A project list that cannot be turned into templates; carries every located problem."""

    def __init__(self, source: str, findings: list):
        self.source = source
        self.findings = findings
        super().__init__(f"{source}: {len(findings)} problem(s) in the project list")


class OutputError(XlperfError):
    """An output that cannot be written (read-only or full location, output equal to an input)."""
