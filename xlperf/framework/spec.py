"""The template spec: layout, labels, milestones and rule thresholds, read from workbook_templates/spec.json.

``sheet_layout`` turns the spec into the concrete field → cell map that the template writer uses and
stores in each workbook's metadata; the reader then trusts the metadata, never this file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from ..core.cells import cell_name, column_index
from ..core.errors import SpecError
from ..core.resources import templates_root
from .frameworks import Framework
from .limits import Limits


@dataclass(frozen=True)
class Spec:
    data: dict
    source: str

    @property
    def version(self) -> str:
        return self.data["template_version"]

    @property
    def sheets(self) -> dict[str, str]:
        return self.data["sheets"]

    @property
    def rules(self) -> dict:
        return self.data["rules"]

    @property
    def milestones(self) -> list[str]:
        return list(self.data["project_sheet"]["spending_plan"]["milestones"])

    @property
    def indicator_columns(self) -> list[dict]:
        return self.data["project_sheet"]["indicators"]["columns"]

    @cached_property  # asked for once per input in a merge; Limits is frozen
    def limits(self) -> Limits:
        return Limits.from_mapping(self.data.get("limits", {}))

    def max_text_length(self, field: str) -> int:
        limits = self.rules["max_text_length"]
        return int(limits.get(field, limits["default"]))


@lru_cache(maxsize=None)
def _load(path: str) -> Spec:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(key="spec_unreadable", path=path, error=exc) from None
    return Spec(data, path)


def load_spec(path: str | Path | None = None) -> Spec:
    return _load(str(path or templates_root() / "spec.json"))


def check_spec_fits(spec: Spec, framework: Framework) -> None:
    """The spec's milestones must be exactly the ones the framework's schema requires."""
    plan = framework.schema.get("$defs", {}).get("project", {}).get("properties", {}).get("spending_plan", {})
    schema_milestones = plan.get("required")
    if schema_milestones is not None and list(schema_milestones) != spec.milestones:
        raise SpecError(key="spec_milestones", framework=framework.id, expected=schema_milestones,
                        actual=spec.milestones)


def project_layout(spec: Spec, indicator_rows: int | None = None) -> dict:
    """Field → cell map and label → cell map of one project sheet.

    Returned shape (also stored in the workbook metadata)::

        {"fields": {"project_code": "B3", ..., "spending_plan/3月底": "B7"},
         "labels": {"A3": "项目编码", ...},
         "indicators": {"first_row": 11, "rows": 20, "columns": {"level1": "B", ...}},
         "problem_count": "B9"}
    """
    sheet = spec.data["project_sheet"]
    fields: dict[str, str] = {}
    labels: dict[str, str] = {}
    for key, field in sheet["fields"].items():
        fields[key] = field["cell"]
        labels[field["label_cell"]] = field["label"]
    plan = sheet["spending_plan"]
    labels[plan["label_cell"]] = plan["label"]
    first_column = column_index(plan["first_column"])
    for offset, milestone in enumerate(plan["milestones"]):
        column = first_column + offset
        labels[cell_name(plan["label_row"], column)] = milestone
        fields[f"spending_plan/{milestone}"] = cell_name(plan["input_row"], column)
    if "budget_group" in sheet:
        labels[sheet["budget_group"]["label_cell"]] = sheet["budget_group"]["label"]
    indicators = sheet["indicators"]
    header_row = indicators["header_row"]
    if "label_column" in indicators:
        labels[f"{indicators['label_column']}{header_row + 1}"] = indicators["label"]
    for column in indicators["columns"]:
        labels[f"{column['column']}{header_row}"] = column["label"]
    labels[sheet["problem_count"]["label_cell"]] = sheet["problem_count"]["label"]
    return {
        "fields": fields,
        "labels": labels,
        "milestones": list(plan["milestones"]),  # in order; the metadata stores dicts with sorted keys
        "indicators": {
            "first_row": header_row + 1,
            "rows": int(indicator_rows or indicators["rows"]),
            "columns": {column["key"]: column["column"] for column in indicators["columns"]},
        },
        "problem_count": sheet["problem_count"]["cell"],
    }


def unit_layout(spec: Spec) -> dict:
    sheet = spec.data["unit_sheet"]
    fields = {key: field["cell"] for key, field in sheet["fields"].items()}
    labels = {field["label_cell"]: field["label"] for field in sheet["fields"].values()}
    labels[sheet["problem_count"]["label_cell"]] = sheet["problem_count"]["label"]
    return {"fields": fields, "labels": labels, "problem_count": sheet["problem_count"]["cell"]}
