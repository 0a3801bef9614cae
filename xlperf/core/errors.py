"""The exceptions xlperf raises when it cannot continue.

Problems *inside* a user's workbook are findings (see ``findings.py``), not exceptions.
Everything here is a "cannot continue" condition; the CLI maps it to exit code 2 (a refused report: 1).
``Refused`` is the preflight's: it carries the finding that makes a file unreadable.
"""
from __future__ import annotations

from pathlib import Path

from .findings import Finding, Location
from .messages import say


class XlperfError(Exception):
    """Base class: a one-line message that is safe to show to a user. Raised with ``key=`` (and the values its
    text names), it is said in the user's language by ``text(lang)``; ``str()`` is the English."""

    def __init__(self, message: str = "", *, key: str | None = None, **values):
        self.key, self.values = key, values
        super().__init__(say(key, "en", **values) if key else message)

    def text(self, lang: str) -> str:
        return say(self.key, lang, **self.values) if self.key else str(self)


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


class ReportError(XlperfError):
    """The report cannot be made: refused returns, an unknown unit, a failed PDF conversion."""


class ReturnsRefused(ReportError):
    """Returns that cannot go into the report (errors, unreadable, clashing codes); ``files`` = [(file, reason)]."""

    def __init__(self, message: str, files: list[tuple[str, str]], unreadable: bool = False):
        super().__init__(message)
        self.files, self.unreadable = files, unreadable


class LibreOfficeMissing(ReportError):
    """A PDF was asked for but LibreOffice (``soffice``) is not installed."""


class DocxError(XlperfError):
    """A document that cannot be opened at all; ``message(lang)`` says why and what to do."""

    def __init__(self, path: str | Path, zh: str, en: str):
        self.path, self.texts = str(path), (zh, en)
        super().__init__(f"{path}: {en}")

    def message(self, lang: str = "en") -> str:
        return f"{self.path}: {self.texts[0] if lang == 'zh' else self.texts[1]}"

    def text(self, lang: str) -> str:
        return self.message(lang)


class UnreadableError(XlperfError):
    """The file cannot be read as a return at all; carries the finding to report."""

    def __init__(self, finding: Finding):
        self.finding = finding
        super().__init__(finding.message("en"))

    def text(self, lang: str) -> str:
        return self.finding.message(lang)


class OfficeError(XlperfError):
    """LibreOffice is missing, timed out, or produced nothing; ``kind`` says which."""

    def __init__(self, kind: str, **details):
        self.kind, self.details = kind, details
        super().__init__(f"LibreOffice {kind}: {details}")


class Refused(Exception):
    """Raised inside the preflight; carries the finding that makes the input unreadable."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params

    def finding(self, path: object) -> Finding:
        """The refusal as the finding on the file at ``path`` (the one conversion every caller uses)."""
        return Finding(self.code, Location(str(path)), params=self.params)
