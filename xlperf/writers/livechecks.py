"""The checks a template makes while the unit types, each rule written once: the Excel condition that is
true while the problem is there, the cells it colours, and the same rule in Python. The sheet's problem
counter adds the conditions up, the conditional formats show them, and the Python side gives the
counter's cached value (what Excel, WPS and LibreOffice show before they recalculate). checks/rules.py
holds the full rules; these are the part a formula can see."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_REFERENCE = re.compile(r"(?<![A-Z$])([A-Z]{1,3})(\d+)\b")


@dataclass(frozen=True)
class LiveCheck:
    condition: str  # an Excel condition over A1 references, true while the problem is there
    marks: tuple[str, ...]  # the cells coloured while it is true
    found: Callable[[dict], bool]  # the same rule over the project's values (budget in 万元, plan in %)

    @property
    def criteria(self) -> str:
        """The conditional format's formula. A condition shown on several cells must point at the same
        cells from each of them, so its references are made absolute there."""
        condition = _REFERENCE.sub(r"$\1$\2", self.condition) if len(self.marks) > 1 else self.condition
        return "=" + condition


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _budget_mismatch(project: dict) -> bool:
    budget, fiscal = _number(project.get("budget_total")), _number(project.get("fiscal"))
    if budget is None or fiscal is None:
        return False
    return round(fiscal + (_number(project.get("other")) or 0) - budget, 2) != 0


def _plan(project: dict, milestone: str) -> float | None:
    """A spending-plan value as its cell holds it: 25 (%) is 0.25."""
    value = _number((project.get("spending_plan") or {}).get(milestone))
    return None if value is None else value / 100


def project_checks(fields: dict[str, str], milestones: list[str]) -> list[LiveCheck]:
    """The checks of one project sheet whose fields sit at ``fields`` (field key → cell)."""
    budget, fiscal, other = fields["budget_total"], fields["fiscal"], fields["other"]
    checks = [LiveCheck(f"AND(COUNT({budget},{fiscal})=2,ROUND({fiscal}+N({other})-{budget},2)<>0)",
                        (budget, fiscal, other), _budget_mismatch)]
    cells = [fields[f"spending_plan/{milestone}"] for milestone in milestones]
    for (earlier, later), (first, then) in zip(zip(cells, cells[1:]), zip(milestones, milestones[1:])):
        checks.append(LiveCheck(
            f"AND(ISNUMBER({earlier}),ISNUMBER({later}),{later}<{earlier})", (later,),
            lambda project, first=first, then=then: None not in (_plan(project, first), _plan(project, then))
            and _plan(project, then) < _plan(project, first)))
    last = milestones[-1]
    checks.append(LiveCheck(f"AND(ISNUMBER({cells[-1]}),ROUND({cells[-1]},4)<>1)", (cells[-1],),
                            lambda project: _plan(project, last) is not None and round(_plan(project, last), 4) != 1))
    return checks


def level2_outside_level1(level1: str, level2: str, level1_name: str, level2_prefix: str) -> str:
    """True when the 二级 in ``level2`` is filled and not one of the 一级 in ``level1``'s (the named lists
    ``level1_name`` and ``level2_prefix``N of the template's _lists sheet)."""
    return (f'AND({level2}<>"",ISERROR(MATCH({level2},INDIRECT("{level2_prefix}"&MATCH({level1},'
            f'{level1_name},0)),0)))')
