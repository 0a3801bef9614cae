"""The package's shape: stages as sub-packages whose imports flow one way, down the pipeline, and no
module imports another that (directly or not) imports it back."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xlperf"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The xlperf modules ``path`` imports, at its top or inside a function (a lazy import is still one)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {candidate for candidate in candidates if candidate in modules and candidate != name}
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    return {_module_name(path): _imports(path, modules) - {"xlperf"} for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that reach each other through imports (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 20 and "xlperf.intake.reader" in graph["xlperf.checks.validate"]  # the walk sees the package
    assert cycles(graph) == []


# The stages, lowest first: a module may import its own stage and the stages before it, never one after.
STAGES = ["core", "framework", "intake", "checks", "consolidate", "writers", "web", "cli"]


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) for every import of a later stage by an earlier one."""
    found = []
    for module, imported in graph.items():
        stage = _stage(module)
        for other in imported:
            if stage and _stage(other) and STAGES.index(_stage(other)) > STAGES.index(stage):
                found.append((module, other))
    return sorted(found)


def test_the_upward_import_finder_finds_one():
    graph = {"xlperf.core.a": {"xlperf.writers.b"}, "xlperf.writers.b": {"xlperf.core.a", "xlperf.writers.c"},
             "xlperf.writers.c": set()}
    assert upward_imports(graph) == [("xlperf.core.a", "xlperf.writers.b")]


def test_every_module_lives_in_a_stage_and_imports_flow_down_the_stages():
    graph = import_graph()
    loose = [module for module in graph
             if module.count(".") == 1 and module.split(".")[1] not in STAGES and module != "xlperf.__main__"]
    assert loose == [], "modules outside the stage packages"
    assert {module.split(".")[1] for module in graph if module.count(".") >= 1} - {"__main__"} <= set(STAGES)
    assert upward_imports(graph) == []


def test_every_stage_says_what_comes_in_and_what_goes_out():
    import importlib

    for stage in STAGES:
        if (PACKAGE / stage / "__init__.py").is_file():
            doc = importlib.import_module(f"xlperf.{stage}").__doc__ or ""
            assert len(doc) > 80, stage


README = PACKAGE.parent / "README.md"


def test_every_public_name_and_every_name_the_readme_uses_resolves():
    import re

    import xlperf

    for name in xlperf.__all__:
        assert getattr(xlperf, name) is not None, name
    used = set(re.findall(r"\bxlperf\.([a-z_][A-Za-z_]*)\(", README.read_text(encoding="utf-8")))
    assert {"make_templates", "validate_paths", "merge_returns", "write_summary"} <= used
    assert used <= set(xlperf.__all__), used - set(xlperf.__all__)


def test_every_command_the_readme_runs_exists():
    import re

    from xlperf.cli import cli

    text = README.read_text(encoding="utf-8")  # run in a shell line, or named in the text as `xlperf merge …`
    code = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S))
    commands = set(re.findall(r"(?:^|&& )\s*xlperf (?:--lang \w+ )?([a-z]+)\b", code, flags=re.M))
    commands |= set(re.findall(r"`xlperf ([a-z]+)\b", text))
    assert {"template", "validate", "merge", "report", "import"} <= commands
    assert commands <= set(cli.commands), commands - set(cli.commands)


def test_one_exit_code_policy():
    from xlperf.core import exitcodes

    assert (exitcodes.OK, exitcodes.FINDINGS, exitcodes.UNUSABLE) == (0, 1, 2)
    assert [exitcodes.signalled(n) for n in (2, 15, 1)] == [130, 143, 129]
    assert [exitcodes.for_validation(u, e) for u, e in ((False, False), (False, True), (True, False), (True, True))] \
        == [0, 1, 2, 2]
    assert exitcodes.for_consolidation(left_out=False, kept_with_errors=False, missing=False) == 0
    assert all(exitcodes.for_consolidation(**{name: True, **{o: False for o in ("left_out", "kept_with_errors",
                                                                                "missing") if o != name}}) == 1
               for name in ("left_out", "kept_with_errors", "missing"))
    assert (exitcodes.for_report(False), exitcodes.for_report(True)) == (0, 1)
    assert (exitcodes.for_import(False), exitcodes.for_import(True)) == (0, 1)


def test_the_department_is_named_only_where_the_units_say_it():
    from xlperf.consolidate.consolidation import own_department

    assert own_department(["遵化市工业和信息化局本级", "遵化市无线电监测站"]) == "遵化市工业和信息化局"
    assert own_department(["甲单位"]) == "甲单位"
    assert own_department(["甲单位", "乙单位"]) == ""


def test_one_definition_of_the_project_table_for_the_merge_and_the_summary(tmp_path):
    import openpyxl
    from conftest import SAMPLES

    from xlperf.consolidate.consolidation import project_columns
    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import write_summary

    merged = merge_returns([SAMPLES / "returns"], cache_dir=None)
    keys = project_columns(merged.milestones, merged.level1_names)
    assert keys[:2] == ["unit_code", "unit_name"] and "plan_pct/3月底" in keys and "count/产出指标" in keys
    assert list(merged.projects.columns) == keys  # what the merge fills
    write_summary(merged, tmp_path / "s.xlsx")
    header = [cell.value for cell in next(openpyxl.load_workbook(tmp_path / "s.xlsx")["项目汇总"].iter_rows())]
    assert len(header) == len(keys) and header[keys.index("plan_pct/3月底")] == "3月底\n支出比例"


def test_every_summary_table_shows_the_consolidation_columns_in_their_order():
    from xlperf.consolidate import consolidation, rows
    from xlperf.writers import summary

    for columns, table in (("INDICATOR_COLUMNS", "INDICATOR_TABLE"), ("FINDING_COLUMNS", "FINDING_TABLE"),
                           ("INPUT_COLUMNS", "INPUT_TABLE"), ("MISSING_COLUMNS", "MISSING_TABLE")):
        shown = getattr(summary, table, None) or getattr(rows, table)
        assert [column.key for column in shown] == getattr(consolidation, columns), table


def test_one_message_catalog_every_text_in_both_languages_with_the_same_values():
    import string

    from xlperf.core.messages import MESSAGES, say

    def names(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert len(MESSAGES) > 60
    for key, (zh, en) in MESSAGES.items():
        assert names(zh) == names(en), key
        values = {name: f"<{name}>" for name in names(zh)}
        assert say(key, "zh", **values) != say(key, "en", **values) or zh == en, key
        assert all(f"<{name}>" in say(key, "en", **values) for name in values), key


def test_no_other_module_keeps_a_table_of_zh_en_texts():
    """The library's zh/en texts live in core/messages.py, the field labels in core/fields.py and the finding
    catalog in core/findings.py, nowhere else (the portal, an optional interface with its own pages, keeps its texts in web/)."""
    import re

    pair = re.compile(r'^\s*"\w+": \("([^"]*[\u4e00-\u9fff][^"]*)",\s*\n?\s*"([^"]*)"', re.M)

    def has_pairs(text: str) -> bool:
        return any(re.search("[A-Za-z]", en) and not re.search("[\u4e00-\u9fff]", en)
                   for _, en in pair.findall(text))

    elsewhere = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if has_pairs(path.read_text(encoding="utf-8"))}
    assert {"core/messages.py", "core/fields.py"} <= elsewhere  # the test sees the tables
    assert {path for path in elsewhere if not path.startswith("web/")} <= {"core/messages.py", "core/fields.py",
                                                                          "core/findings.py"}


def test_one_table_of_field_labels_that_the_template_layout_and_the_tables_use():
    import json

    from xlperf.consolidate.rows import INDICATOR_TABLE, PROJECT_FIXED
    from xlperf.core.fields import FIELD_LABELS, label
    from xlperf.writers.report import LABELS

    spec = json.loads((PACKAGE.parent / "workbook_templates" / "spec.json").read_text(encoding="utf-8"))
    for sheet in ("unit_sheet", "project_sheet"):
        for key, field in spec[sheet]["fields"].items():
            if key in FIELD_LABELS:  # the official table's wording may put 其中： before a part of a sum
                assert field["label"].removeprefix("其中：") == label(key), key
    for column in spec["project_sheet"]["indicators"]["columns"]:
        assert column["label"] == label(column["key"]), column
    shown = {column.key: column.header for column in [*INDICATOR_TABLE, *PROJECT_FIXED.values()]}
    assert all(header == label(key) for key, header in shown.items() if key in FIELD_LABELS)
    assert len([key for key in shown if key in FIELD_LABELS]) >= 13
    assert LABELS["fiscal"] == "其中：财政资金" and LABELS["indicator_header"][:5] == tuple(
        map(label, ("level1", "level2", "name", "description", "target")))


def test_every_exception_of_the_library_is_in_core_errors():
    """One exception module: the portal keeps its own (web/), and private control-flow markers (a leading
    underscore) or a signal's BaseException stay where they are raised and caught."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        relative = str(path.relative_to(PACKAGE))
        if relative.startswith("web/") or relative == "core/errors.py":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                if bases & {"Exception", "XlperfError"} or any(name.endswith("Error") for name in bases):
                    found.append(f"{relative}:{node.name}")
    assert found == []


def test_every_reason_a_command_stops_is_said_in_both_languages():
    """A command that cannot continue says why in the user's language: the library raises its errors with a
    catalog key (``UsageError(key=...)``), never with an English-only text, and every key is in the catalog."""
    import re

    from xlperf.core.messages import MESSAGES

    keyed = re.compile(r'(?:Usage|Framework|Spec|Output|Xlperf)Error\(key="(\w+)"')
    english_only = re.compile(r'raise (?:Usage|Framework|Spec|Output|Xlperf)Error\(\s*f?"')
    keys, plain = set(), []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys |= set(keyed.findall(text))
        plain += [f"{path.relative_to(PACKAGE)}: {match.group(0)}" for match in english_only.finditer(text)]
    assert len(keys) > 30 and keys <= set(MESSAGES), keys - set(MESSAGES)
    # the one left is a programming error (a bad cell address in the spec), not a user's
    assert plain == ['core/cells.py: raise SpecError(f"'], plain
