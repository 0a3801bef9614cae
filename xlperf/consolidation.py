"""The result of a merge: plain DataFrames plus per-input states. Shared by merge.py (which builds
it) and summary.py / exports.py (which only write it)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

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

PROJECT_COLUMNS = ["unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other",
                   # then plan_pct/<milestone> and plan_amount/<milestone> for each milestone,
                   # then count/<一级> for each 一级, then:
                   "indicator_count", "status", "source_file", "source_sheet"]
INDICATOR_COLUMNS = ["unit_code", "unit_name", "project_code", "project_name", "level1", "level2", "name",
                     "description", "target", "operator", "number", "unit", "kind", "basis",
                     "source_file", "source_sheet", "source_cell"]
FINDING_COLUMNS = ["file", "unit_code", "severity", "code", "sheet", "cell", "field", "value", "message", "hint"]
INPUT_COLUMNS = ["file", "state", "reason", "unit_code", "unit_name", "projects", "errors", "warnings",
                 "saved", "sha256"]
MISSING_COLUMNS = ["kind", "unit_code", "unit_name", "project_code", "project_name", "file"]


@dataclass
class Consolidation:
    """What ``merge_returns`` returns; every table is a DataFrame with the columns above."""

    year: int | None
    framework: str | None
    milestones: list[str]
    level1_names: list[str]
    level2_tree: dict[str, list[str]]
    projects: pd.DataFrame
    indicators: pd.DataFrame
    findings: pd.DataFrame
    inputs: pd.DataFrame
    missing: pd.DataFrame
    documents: list[dict] = field(default_factory=list)  # canonical data carried (hidden) in the summary
    made_from: str = ""  # what the summary was made from, for 汇总说明
    data_as_of: str | None = None  # newest save time among the inputs (deterministic, unlike "now")
    expect: str | None = None
    lang: str = "zh"

    def count(self, state: str) -> int:
        return int((self.inputs["state"] == state).sum()) if len(self.inputs) else 0

    @property
    def exit_code(self) -> int:
        """0 when every return was included cleanly (warnings allowed) and nothing is missing; else 1."""
        bad = {EXCLUDED, UNREADABLE}
        if len(self.inputs) and self.inputs["state"].isin(bad).any():
            return 1
        if len(self.inputs) and (self.inputs["errors"] > 0).any() and \
                self.inputs["state"].isin({INCLUDED, INCLUDED_WITH_WARNINGS}).any():
            return 1  # kept by --include-invalid, but not clean
        return 1 if len(self.missing) else 0
