"""Every field of a return by key, with the label the official table (绩效目标表) and our workbooks give it
and an English name: the one table of field labels that templates, findings, the annotated copy, project
lists, the summary and the report all read."""
from __future__ import annotations


FIELD_LABELS: dict[str, tuple[str, str]] = {
    "unit_code": ("单位编码", "unit code (单位编码)"),
    "unit_name": ("单位名称", "unit name (单位名称)"),
    "project_code": ("项目编码", "project code (项目编码)"),
    "project_name": ("项目名称", "project name (项目名称)"),
    "budget_total": ("预算数", "budget total (预算数)"),
    "fiscal": ("财政资金", "fiscal funds (财政资金)"),
    "other": ("其他资金", "other funds (其他资金)"),
    "purpose": ("资金用途", "purpose (资金用途)"),
    "goals": ("绩效目标", "goals (绩效目标)"),
    "overall_goal": ("总体绩效目标", "overall goal (总体绩效目标)"),
    "measures": ("工作保障措施", "measures (工作保障措施)"),
    "spending_plan": ("资金支出计划", "spending plan (资金支出计划)"),
    "indicators": ("绩效指标", "indicators (绩效指标)"),
    "level1": ("一级指标", "level-1 indicator (一级指标)"),
    "level2": ("二级指标", "level-2 indicator (二级指标)"),
    "name": ("三级指标", "level-3 indicator (三级指标)"),
    "description": ("绩效指标描述", "description (绩效指标描述)"),
    "target": ("指标值", "target value (指标值)"),
    "basis": ("指标值确定依据", "basis (指标值确定依据)"),
    "year": ("年度", "year"),
    "framework": ("指标体系", "framework"),
}


def field_label(field_key: str | None, lang: str) -> str:
    if not field_key:
        return ""
    base = field_key.split("/")[0]
    if base == "spending_plan" and "/" in field_key:
        milestone = field_key.split("/", 1)[1]
        return f"资金支出计划 {milestone}" if lang == "zh" else f"spending plan {milestone}"
    labels = FIELD_LABELS.get(base)
    if not labels:
        return field_key
    return labels[0] if lang == "zh" else labels[1]


def label(field_key: str) -> str:
    """The Chinese label of a field (``budget_total`` → 预算数), as headers and workbooks show it."""
    return FIELD_LABELS[field_key][0]
