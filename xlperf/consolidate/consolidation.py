"""The result of a merge: its tables plus per-input states. Shared by merge.py (which builds
it) and summary.py / exports.py (which only write it)."""
from __future__ import annotations

import os
import pickle
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..core import exitcodes
from ..core.sheetxml import Segment


def own_department(unit_names) -> str:
    """The department the units make up, when the names say it: one unit's own name, or the department whose
    own office (…本级) is among them (遵化市工业和信息化局本级 → 遵化市工业和信息化局); else ''."""
    names = {str(name).strip() for name in unit_names if name is not None and str(name).strip()}
    if len(names) == 1:
        return next(iter(names))
    own = sorted(name[:-len("本级")] for name in names if name.endswith("本级") and len(name) > len("本级"))
    return own[0] if own else ""


# Each input ends in exactly one of these states.
INCLUDED = "included"
INCLUDED_WITH_WARNINGS = "included_with_warnings"
EXCLUDED = "excluded"
UNREADABLE = "unreadable"
DUPLICATE = "duplicate"
STATES = (INCLUDED, INCLUDED_WITH_WARNINGS, EXCLUDED, UNREADABLE, DUPLICATE)
STATE_LABELS = {
    INCLUDED: ("已汇总", "included"),
    INCLUDED_WITH_WARNINGS: ("已汇总（有警告）", "included with warnings"),
    EXCLUDED: ("未汇总（有错误）", "excluded"),
    UNREADABLE: ("无法读取", "unreadable"),
    DUPLICATE: ("重复文件", "duplicate"),
}

PROJECT_HEAD = ["unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other"]
PROJECT_TAIL = ["indicator_count", "status", "source_file", "source_sheet"]


def project_columns(milestones: list[str], level1_names: list[str]) -> list[str]:
    """The columns of 项目汇总, in order: the one definition the merge fills and the summary, the exports
    and Parquet show (plan percentages and amounts per milestone, then a count per 一级, between the two)."""
    return (PROJECT_HEAD + [f"plan_pct/{m}" for m in milestones] + [f"plan_amount/{m}" for m in milestones]
            + [f"count/{level1}" for level1 in level1_names] + PROJECT_TAIL)
INDICATOR_COLUMNS = ["unit_code", "unit_name", "project_code", "project_name", "level1", "level2", "name",
                     "description", "target", "operator", "number", "unit", "kind", "basis",
                     "source_file", "source_sheet", "source_cell"]
FINDING_COLUMNS = ["file", "unit_code", "severity", "code", "sheet", "cell", "field", "value", "message", "hint"]
INPUT_COLUMNS = ["file", "state", "reason", "unit_code", "unit_name", "projects", "errors", "warnings",
                 "saved", "sha256"]
MISSING_COLUMNS = ["kind", "unit_code", "unit_name", "project_code", "project_name", "file"]


@dataclass
class Prepared:
    """What a merge made ahead of the summary, so that rows need not be kept or made again: the
    绩效指标明细 rows and the carried documents as deflated worksheet XML (``sheetxml.Segment``), the
    indicator count and (unit code, 一级, 二级) tally, the unit names, and loaders for the full tables."""

    indicator_segments: list
    data_segments: list
    indicator_count: int
    document_count: int
    data_columns: int  # the most cells in one _data row
    pairs: Counter
    unit_names: dict[str, str]
    iter_indicators: Callable[[], Iterator[list]]  # rows in INDICATOR_COLUMNS order, a return at a time
    iter_documents: Callable[[], Iterator[dict]]
    project_rows: Callable[[], Iterator[Segment]] | None = None  # 项目汇总's rows made ahead, deflated, each
    # included return's in segments of their own (``rows.project_segments``); None: the summary makes them
    project_figures: object | None = None  # their widths and totals (``figures.ProjectFigures``: it reads the
    # rows' columns, which need this module), read with them a return at a time
    indicator_counts: list[int] = field(default_factory=list)  # rows of each of indicator_segments
    indicator_documents: list[int] = field(default_factory=list)  # and the returns whose rows they are
    finding_rows: Callable[[], Iterator[Segment]] | None = None  # 校验问题's rows made ahead, deflated, an input's
    # in segments of their own (``rows.finding_segments``); None: the summary makes them of the findings table
    finding_widths: list[int] | None = None  # their columns' widths, measured an input at a time

    def load_indicators(self) -> list[list]:
        return list(self.iter_indicators())

    def load_documents(self) -> list[dict]:
        return list(self.iter_documents())


TABLES = ("projects", "indicators", "findings", "inputs", "missing")


class SpooledTable:
    """A table kept out of memory: its rows (lists in ``columns`` order) in an anonymous temporary file,
    a batch at a time, read back one row at a time as often as they are asked for. What a merge of
    twenty thousand returns has of 项目汇总 and 校验问题 (160,000 projects, their findings) is held here
    rather than as Python objects, so that memory does not grow with the returns.

    The file is this process's own (``tempfile.TemporaryFile``: no name, gone when closed), so the rows
    are stored with pickle, which keeps their types exactly (int, float, None, text)."""

    BATCH = 1000  # rows per stored batch

    def __init__(self, columns: list[str], rows: Iterable[list] = ()):
        self.columns = list(columns)
        self._file = tempfile.TemporaryFile(prefix="xlperf-table-")
        weakref.finalize(self, self._file.close)
        self._spans: list[tuple[int, int]] = []
        self._pending: list[list] = []
        self._count = 0
        self.extend(rows)

    def __deepcopy__(self, memo) -> "SpooledTable":
        return self  # only read once written: copies of a result share it

    def append(self, row: list) -> None:
        self._pending.append(row)
        self._count += 1
        if len(self._pending) >= self.BATCH:
            self._flush()

    def extend(self, rows: Iterable[list]) -> None:
        for row in rows:
            self.append(row)

    def _flush(self) -> None:
        if self._pending:
            data = pickle.dumps(self._pending, protocol=pickle.HIGHEST_PROTOCOL)
            self._file.seek(0, os.SEEK_END)
            self._spans.append((self._file.tell(), len(data)))
            self._file.write(data)
            self._pending = []

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[list]:
        self._flush()
        for at, length in list(self._spans):
            self._file.seek(at)
            yield from pickle.loads(self._file.read(length))

    def column(self, key: str) -> list:
        index = self.columns.index(key)
        return [row[index] for row in self]

    def dicts(self) -> Iterator[dict]:
        columns = self.columns
        return (dict(zip(columns, row)) for row in self)


class DeferredTable:
    """A table made only when first read (``make``), whose columns and length are known before: 项目汇总 of
    a merge whose summary has its rows and figures made ahead (a re-merge need not tabulate its projects)."""

    def __init__(self, columns: list[str], count: int, make: Callable[[], SpooledTable]):
        self.columns, self.count, self.make = list(columns), count, make

    def __len__(self) -> int:
        return self.count


class Consolidation:
    """What ``merge_returns`` returns. Each table is there as records (``records(name)``: a list of dicts)
    and as a pandas DataFrame (``projects``, ``indicators``, ``findings``, ``inputs``, ``missing``), made
    when first asked for: the command line never needs pandas, whose import alone costs half a second.

    Tables may be given as DataFrames, lists of dicts or dicts of column lists (with ``columns``). ``indicators`` and
    ``documents`` (the canonical data carried, hidden, in the summary) may be left out when ``prepared`` is
    given: they are then loaded once, when first asked for, from where the merge put them."""

    def __init__(self, *, year: int | None, framework: str | None, milestones: list[str], level1_names: list[str],
                 level2_tree: dict[str, list[str]], projects, findings, inputs, missing, indicators=None,
                 documents: list[dict] | None = None, made_from: str = "", data_as_of: str | None = None,
                 expect: str | None = None, lang: str = "zh", prepared: Prepared | None = None,
                 columns: dict[str, list[str]] | None = None, translated: dict[str, list[dict]] | None = None):
        self.year, self.framework, self.milestones = year, framework, milestones
        self.level1_names, self.level2_tree = level1_names, level2_tree
        self._given = {"projects": projects, "indicators": indicators, "findings": findings, "inputs": inputs,
                       "missing": missing}
        self._columns = {"indicators": INDICATOR_COLUMNS, "findings": FINDING_COLUMNS, "inputs": INPUT_COLUMNS,
                         "missing": MISSING_COLUMNS, **(columns or {})}
        self._records: dict[str, list[dict]] = {}
        self._frames: dict = {}
        self._documents, self.prepared = documents, prepared
        self.made_from = made_from  # what the summary was made from, for 汇总说明
        self.data_as_of = data_as_of  # newest save time among the inputs (deterministic, unlike "now")
        self.expect, self.lang = expect, lang
        self._translated = translated or {}  # table → per row, texts in ``lang`` where the table holds Chinese

    def in_lang(self, name: str, lang: str) -> Iterator[dict]:
        """The table's records with their texts in ``lang`` where the consolidation has them (an
        English export of an English run), else as the tables hold them."""
        rows = self._translated.get(name) if lang == self.lang else None
        if rows is None:
            yield from self.iter_records(name)
            return
        if isinstance(rows, SpooledTable):
            rows = rows.dicts()
        for record, texts in zip(self.iter_records(name), rows):
            yield {**record, **texts}

    def said(self, name: str, index: int, key: str) -> object:
        """A text of row ``index`` of a table as the command line shows it: in ``lang``. The tables
        themselves hold Chinese, the language of the summary and the report."""
        rows = self._translated.get(name)
        if isinstance(rows, SpooledTable):
            rows = list(rows.dicts())
        if rows is not None and key in rows[index]:
            return rows[index][key]
        return self.records(name)[index][key]

    def _made(self, name: str):
        """The table as given; one given deferred (``DeferredTable``) is made now, once."""
        given = self._given[name]
        if isinstance(given, DeferredTable):
            given = self._given[name] = given.make()
        return given

    def table(self, name: str):
        """One table as it was given (a list of dicts, a dict of column lists or a DataFrame): what the
        summary reads, without making another copy of a large table."""
        given = self._made(name)
        return self.records(name) if given is None else given

    def columns(self, name: str) -> list[str]:
        """The table's columns, in order."""
        given = self._given[name]
        if isinstance(given, DeferredTable):
            return list(given.columns)
        if given is not None and not isinstance(given, (list, dict)):
            return [str(column) for column in given.columns]
        if isinstance(given, dict):
            return list(given)
        if isinstance(given, SpooledTable):
            return list(given.columns)
        return list(self._columns.get(name) or (self.records(name)[0] if self.records(name) else []))

    def size(self, name: str) -> int:
        given = self._given[name]
        if isinstance(given, dict):
            return len(next(iter(given.values()), []))
        return len(self.records(name) if given is None else given)  # a SpooledTable or DeferredTable knows its length

    def records(self, name: str) -> list[dict]:
        """One table as a list of dicts (NaN where a DataFrame held a missing number). A table kept out
        of memory (``SpooledTable``) is read into a new list each time: prefer ``iter_records``."""
        if isinstance(self._made(name), SpooledTable):
            return list(self._given[name].dicts())
        if name not in self._records:
            given = self._given[name]
            if given is None and name == "indicators" and self.prepared is not None:
                given = [dict(zip(INDICATOR_COLUMNS, row)) for row in self.prepared.load_indicators()]
            elif given is None:
                given = []
            elif isinstance(given, dict):  # column lists
                given = [dict(zip(given, values)) for values in zip(*given.values())]
            self._records[name] = given if isinstance(given, list) else given.to_dict("records") if len(given) else []
        return self._records[name]

    def _frame(self, name: str):
        if name not in self._frames:
            import pandas as pd

            given = self._made(name)
            if isinstance(given, pd.DataFrame):
                frame = given
            elif given is None and name == "indicators" and self.prepared is not None:
                frame = pd.DataFrame(self.prepared.load_indicators(), columns=INDICATOR_COLUMNS)
            elif isinstance(given, SpooledTable):
                frame = pd.DataFrame({key: list(values) for key, values in zip(given.columns, zip(*given))}
                                     if given else [], columns=given.columns)
            else:
                frame = pd.DataFrame(given or [], columns=self._columns.get(name))
            self._frames[name] = _compact(frame) if name == "indicators" and given is None else frame
        return self._frames[name]

    projects = property(lambda self: self._frame("projects"))
    indicators = property(lambda self: self._frame("indicators"))
    findings = property(lambda self: self._frame("findings"))
    inputs = property(lambda self: self._frame("inputs"))
    missing = property(lambda self: self._frame("missing"))

    def iter_records(self, name: str) -> Iterator[dict]:
        """``records(name)``, one at a time: the indicators a merge left in its spool are not all loaded."""
        if name == "indicators" and self._given[name] is None and self.prepared is not None \
                and name not in self._records:
            return (dict(zip(INDICATOR_COLUMNS, row)) for row in self.prepared.iter_indicators())
        given = self._made(name)
        if isinstance(given, SpooledTable):
            return given.dicts()
        if isinstance(given, dict) and name not in self._records:  # column lists (项目汇总): no list of dicts kept
            return (dict(zip(given, values)) for values in zip(*given.values()))
        return iter(self.records(name))

    def iter_documents(self) -> Iterator[dict]:
        """``documents``, one at a time (see ``iter_records``)."""
        if self._documents is None and self.prepared is not None:
            return self.prepared.iter_documents()
        return iter(self.documents)

    @property
    def documents(self) -> list[dict]:
        if self._documents is None:
            self._documents = self.prepared.load_documents() if self.prepared else []
        return self._documents

    @property
    def indicator_count(self) -> int:
        return self.prepared.indicator_count if self.prepared and self._given["indicators"] is None \
            else len(self.records("indicators"))

    def count(self, state: str) -> int:
        return sum(1 for row in self.records("inputs") if row["state"] == state)

    @property
    def exit_code(self) -> int:
        """0 when every return was included cleanly (warnings allowed) and nothing is missing; else 1."""
        inputs = self.records("inputs")
        return exitcodes.for_consolidation(
            left_out=any(row["state"] in (EXCLUDED, UNREADABLE) for row in inputs),
            kept_with_errors=any(row["errors"] > 0 for row in inputs)
            and any(row["state"] in (INCLUDED, INCLUDED_WITH_WARNINGS) for row in inputs),
            missing=bool(self.records("missing")))


REPEATED_COLUMNS = ("unit_code", "unit_name", "project_code", "project_name", "level1", "level2", "basis",
                    "operator", "unit", "kind", "source_file", "source_sheet")


def _compact(indicators):
    """Columns that repeat on every row of a unit or project as categories: a fifth of the memory."""
    for column in REPEATED_COLUMNS:
        indicators[column] = indicators[column].astype("category")
    return indicators
