"""The rules of the form as data: indicator frameworks (a JSON Schema of 一级/二级 categories, with the
indicator library), the template layout (spec.json), the input limits, and 指标值 parsing (targets).
In: the JSON files under workbook_templates/. Out: Framework, Spec, Limits, Target. Uses only core."""
