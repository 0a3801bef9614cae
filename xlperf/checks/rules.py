"""Business rules beyond the JSON Schema: each a small function yielding findings.

Every rule reads only the canonical document and its sources; none opens a file. Rules guard
their own types, because the schema pass reports wrong types separately.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator

from ..core.cells import split_cell
from ..core.findings import Finding, Location
from ..core.model import ReturnDocument, cents, pointer
from ..framework.frameworks import Framework
from ..framework.spec import Spec
from ..framework.targets import Target, format_number, is_money_unit, money_in_wan, parsed_target

MONEY_CEILING = 1e12  # beyond this the schema already reports the value; arithmetic on it means nothing

def _parsed_target(raw: str) -> Target | None:
    return parsed_target(raw)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) < MONEY_CEILING



def _projects(doc: ReturnDocument):
    for index, project in enumerate(doc.document.get("projects", [])):
        yield index, project


def budget_sum(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    for index, project in _projects(doc):
        total, fiscal, other = project.get("budget_total"), project.get("fiscal"), project.get("other")
        other = 0.0 if other is None else other
        if not (_is_number(total) and _is_number(fiscal) and _is_number(other)):
            continue
        if cents(fiscal) + cents(other) != cents(total):
            yield Finding("BUDGET_SUM_MISMATCH", doc.location(pointer("projects", index, "fiscal")), "fiscal", fiscal,
                          {"fiscal": f"{fiscal:.2f}", "other": f"{other:.2f}", "total": f"{total:.2f}"})


def spending_plan(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    milestones = spec.milestones
    for index, project in _projects(doc):
        plan = project.get("spending_plan") or {}
        previous = None
        for milestone in milestones:
            value = plan.get(milestone)
            if not _is_number(value) or not 0 <= value <= 100:
                previous = None
                continue
            if previous is not None and value < previous[1] - 1e-9:
                yield Finding("PLAN_DECREASING", doc.location(pointer("projects", index, "spending_plan", milestone)),
                              f"spending_plan/{milestone}", format_number(value),
                              {"milestone": milestone, "previous": previous[0], "previous_value": format_number(previous[1])})
            previous = (milestone, value)
        last = plan.get(milestones[-1])
        if _is_number(last) and 0 <= last <= 100 and abs(last - 100) > 1e-6:
            yield Finding("PLAN_NOT_100", doc.location(pointer("projects", index, "spending_plan", milestones[-1])),
                          f"spending_plan/{milestones[-1]}", format_number(last), {"milestone": milestones[-1]})


def level1_coverage(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    for index, project in _projects(doc):
        indicators = project.get("indicators") or []
        if not indicators:
            continue  # the schema's minItems already says "no indicators"
        present = {indicator.get("level1") for indicator in indicators}
        missing = [level1 for level1 in framework.level1_names if level1 not in present]
        if missing:
            where = _room_for_indicator(doc, index, len(indicators))
            for level1 in missing:
                yield Finding("LEVEL1_MISSING", where, "level1", None, {"level1": level1})


def _room_for_indicator(doc: ReturnDocument, index: int, count: int) -> Location:
    """Where a missing indicator goes: the 一级 cell of the table's first empty row, or of its header row
    when the table is full (never a correct indicator's row)."""
    table = (doc.meta.get("layout.project") or {}).get("indicators")
    start = doc.location(pointer("projects", index, "indicators"))
    if not table or start.cell is None:
        return start
    used = {split_cell(doc.location(pointer("projects", index, "indicators", number)).cell or "A1")[0]
            for number in range(count)}
    first, rows, column = table["first_row"], table["rows"], table["columns"]["level1"]
    empty = next((row for row in range(first, first + rows) if row not in used), first - 1)
    return dataclasses.replace(start, cell=f"{column}{empty}")


def duplicate_indicators(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    for index, project in _projects(doc):
        first_seen: dict[str, int] = {}
        for number, indicator in enumerate(project.get("indicators") or []):
            name = indicator.get("name")
            if not name:
                continue
            if name in first_seen:
                other = doc.location(pointer("projects", index, "indicators", first_seen[name], "name"))
                yield Finding("DUPLICATE_INDICATOR", doc.location(pointer("projects", index, "indicators", number, "name")),
                              "name", name, {"other_cell": other.cell or ""})
            else:
                first_seen[name] = number


def targets(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    """指标值: parseable or qualitative; numbers where the framework expects them; costs in money within budget."""
    for index, project in _projects(doc):
        budget = project.get("budget_total")
        for number, indicator in enumerate(project.get("indicators") or []):
            raw = indicator.get("target")
            if not isinstance(raw, str):
                continue
            problem = _target_problem(_parsed_target(raw), indicator, framework, budget)
            if problem is not None:
                code, params = problem
                where = doc.location(pointer("projects", index, "indicators", number, "target"))
                yield Finding(code, where, "target", raw, params)


def _target_problem(target: Target | None, indicator: dict, framework: Framework,
                    budget: object) -> tuple[str, dict] | None:
    """The code and parameters of what is wrong with one indicator's parsed target, if anything."""
    if target is None:
        return None
    if target.kind == "invalid":
        return "TARGET_INVALID", {}
    level2 = indicator.get("level2")
    expects = framework.expectations.get(level2)
    if expects and target.kind == "qualitative":
        return "TARGET_NOT_NUMBER", {"level2": level2}
    if expects == "money" and not is_money_unit(target.unit):
        return "COST_NOT_MONEY", {"name": indicator.get("name") or ""}
    if expects == "money" and _is_number(budget):
        amount = money_in_wan(target)
        if amount is not None and _is_number(amount) and cents(amount) > cents(budget):
            return "COST_OVER_BUDGET", {"name": indicator.get("name") or "", "total": f"{budget:.2f}"}
    return None


def project_codes(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    pattern = re.compile(spec.rules["project_code_pattern"])
    first_sheet: dict[str, str] = {}
    for index, project in _projects(doc):
        code = project.get("project_code")
        if not isinstance(code, str):
            continue
        where = doc.location(pointer("projects", index, "project_code"))
        if not pattern.fullmatch(code):
            yield Finding("CODE_PATTERN", where, "project_code", code, {"example": spec.rules["project_code_example"]})
        if code in first_sheet:
            yield Finding("DUPLICATE_PROJECT", where, "project_code", code, {"other_sheet": first_sheet[code]})
        else:
            first_sheet[code] = where.sheet or ""


_UNIT_TEXTS = ("overall_goal", "measures")  # free-text fields, where they are in a document
_PROJECT_TEXTS = ("project_name", "purpose")  # then "goals", its lines joined
_INDICATOR_TEXTS = ("name", "description", "target", "basis")
_TEXT_FIELDS = (*_UNIT_TEXTS, *_PROJECT_TEXTS, "goals", *_INDICATOR_TEXTS)


def _text_fields(doc: ReturnDocument, longer_than: int = 0) -> Iterator[tuple[str, str, tuple]]:
    """(value, field, pointer parts) of every free-text field (``_TEXT_FIELDS``) holding text longer than
    ``longer_than``, in document order."""
    document = doc.document
    for key in _UNIT_TEXTS:
        if isinstance(value := document.get(key), str) and len(value) > longer_than:
            yield value, key, (key,)
    for index, project in _projects(doc):
        for key in _PROJECT_TEXTS:
            if isinstance(value := project.get(key), str) and len(value) > longer_than:
                yield value, key, ("projects", index, key)
        goals = project.get("goals")
        if isinstance(goals, list) and len(value := "\n".join(str(g) for g in goals)) > longer_than:
            yield value, "goals", ("projects", index, "goals")
        for number, indicator in enumerate(project.get("indicators") or []):
            for key in _INDICATOR_TEXTS:
                if isinstance(value := indicator.get(key), str) and len(value) > longer_than:
                    yield value, key, ("projects", index, "indicators", number, key)


def text_lengths(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    limits = {key: spec.max_text_length(key) for key in _TEXT_FIELDS}
    for value, key, parts in _text_fields(doc, longer_than=min(limits.values())):  # most texts are far shorter
        if len(value) > limits[key]:
            yield Finding("TEXT_TOO_LONG", doc.location(pointer(*parts)), key, None,
                          {"length": len(value), "limit": limits[key]})


def library_units(doc: ReturnDocument, framework: Framework, spec: Spec) -> Iterator[Finding]:
    """A 三级 from the indicator library used with a value in another unit (库中为 %，填了 次)."""
    units = framework.library_units
    for index, project in _projects(doc):
        for number, indicator in enumerate(project.get("indicators") or []):
            expected = units.get((indicator.get("level2"), indicator.get("name")))
            raw = indicator.get("target")
            if not expected or not isinstance(raw, str):
                continue
            target = _parsed_target(raw)
            if target is not None and target.kind == "quantitative" and target.unit != expected:
                yield Finding("LIBRARY_UNIT_MISMATCH",
                              doc.location(pointer("projects", index, "indicators", number, "target")), "target", raw,
                              {"name": indicator.get("name"), "unit": expected})


RULES = (budget_sum, spending_plan, level1_coverage, duplicate_indicators, targets, project_codes, text_lengths,
         library_units)
