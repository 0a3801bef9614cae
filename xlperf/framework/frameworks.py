"""Indicator frameworks: a JSON Schema (Draft 2020-12) per framework is the single source of truth.

The category tree (一级 → allowed 二级) is read from the schema itself: ``$defs.indicator`` holds
``properties.level1.enum`` and one ``allOf`` branch per 一级 of the form
``{"if": {"properties": {"level1": {"const": L1}}}, "then": {"properties": {"level2": {"enum": [...]}}}}``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import FrameworkError
from ..core.resources import templates_root

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


@dataclass(frozen=True)
class Framework:
    """A loaded framework: its schema plus what xlperf reads out of it."""

    id: str
    title: str
    schema: dict
    sha256: str
    categories: dict[str, tuple[str, ...]]
    expectations: dict[str, str]
    level2_from: dict[str, dict[str, str]]
    source: str
    library: tuple[dict, ...] = field(default=(), compare=False)

    @property
    def level2_names(self) -> tuple[str, ...]:
        return tuple(level2 for names in self.categories.values() for level2 in names)

    def library_for(self, level2: str) -> list[dict]:
        return [entry for entry in self.library if entry["level2"] == level2]

    @property
    def level1_names(self) -> tuple[str, ...]:
        return tuple(self.categories)

    def level1_of(self, level2: str) -> str | None:
        for level1, level2_names in self.categories.items():
            if level2 in level2_names:
                return level1
        return None

    @cached_property
    def library_units(self) -> dict[tuple[str, str], str | None]:
        """(二级, 三级 name) → the unit the indicator library gives it."""
        return {(entry["level2"], entry["name"]): entry.get("unit") for entry in self.library}

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The reference validator: explains each error (keyword, path) for the findings."""
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schema, format_checker=None)

    @cached_property
    def fast_validator(self):
        """A compiled (Rust) validator, built once per framework: answers "valid?" ~200x faster, so
        the explaining validator only runs on documents that have errors."""
        import jsonschema_rs

        return jsonschema_rs.validator_for(self.schema)

    @cached_property
    def fast_project_validator(self):
        """A compiled validator of one project (the schema's ``projects`` items, with its ``$defs``), so that
        only the projects that fail are explained; ``None`` for a schema shaped otherwise."""
        return self._fast_part_validator((self.schema.get("properties") or {}).get("projects"))

    @cached_property
    def fast_indicator_validator(self):
        """The same for one indicator of a project (the project's ``indicators`` items): within a failing
        project only the failing indicators are explained; ``None`` for a schema shaped otherwise."""
        project = self.local_schema(((self.schema.get("properties") or {}).get("projects") or {}).get("items"))
        indicators = (project.get("properties") or {}).get("indicators") if isinstance(project, dict) else None
        return self._fast_part_validator(indicators)

    def local_schema(self, schema: object) -> object:
        """``schema``, or what its lone local ``$ref`` (``#/$defs/name``) names; ``None`` for any other ``$ref``."""
        if not isinstance(schema, dict) or "$ref" not in schema:
            return schema
        ref = schema["$ref"]
        if set(schema) - {"$ref", "description", "title"} or not isinstance(ref, str) \
                or not ref.startswith(("#/$defs/", "#/definitions/")):
            return None
        section, _, name = ref[2:].partition("/")
        return (self.schema.get(section) or {}).get(name)

    def _fast_part_validator(self, array: object):
        import jsonschema_rs

        items = array.get("items") if isinstance(array, dict) else None
        if not isinstance(items, dict):
            return None
        wrapper = {key: value for key, value in self.schema.items() if key in ("$schema", "$defs", "definitions")}
        try:
            return jsonschema_rs.validator_for({**wrapper, **items})
        except Exception:  # noqa: BLE001 - a custom schema this cannot cut apart: explain it whole
            return None


def builtin_dir() -> Path:
    return templates_root() / "frameworks"


def builtin_ids() -> list[str]:
    return sorted(p.name for p in builtin_dir().iterdir() if (p / "schema.json").is_file())


def list_frameworks() -> list[Framework]:
    return [load_framework(framework_id) for framework_id in builtin_ids()]


def builtin_hashes() -> dict[str, str]:
    """Each built-in framework's id and hash, read without building the framework (a cache checks its
    entries against these on every run)."""
    hashes = {}
    for framework_id in builtin_ids():
        schema = json.loads((builtin_dir() / framework_id / "schema.json").read_text(encoding="utf-8"))
        hashes[_schema_id(schema) or framework_id] = schema_sha256(schema)
    return hashes


def _schema_id(schema: dict) -> object:
    return (schema.get("x-xlperf") or {}).get("id") or (schema.get("properties", {}).get("framework", {}).get("const"))


def schema_sha256(schema: dict) -> str:
    """Hash of the schema's canonical JSON, so reformatting the file does not change it."""
    canonical = json.dumps(schema, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_framework(name_or_path: str | Path) -> Framework:
    """Load a built-in framework by id (``cn-2020``) or a user's schema file by path."""
    text = str(name_or_path)
    builtin = builtin_dir() / text / "schema.json"
    if "/" not in text and "\\" not in text and not text.endswith(".json"):
        if not builtin.is_file():
            known = ", ".join(builtin_ids())
            raise FrameworkError(key="framework_unknown", name=text, known=known)
        path = builtin
    else:
        path = Path(text)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrameworkError(key="framework_missing", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FrameworkError(key="framework_unreadable", path=path, error=exc) from None
    except json.JSONDecodeError as exc:
        raise FrameworkError(key="framework_not_json", path=path, line=exc.lineno, column=exc.colno,
                             error=exc.msg) from None
    framework = framework_from_schema(schema, str(path))
    library_path = path.parent / "library.json" if path.name == "schema.json" else path.with_suffix(".library.json")
    return with_library(framework, library_path) if library_path.is_file() else framework


def with_library(framework: Framework, path: str | Path) -> Framework:
    """The framework with the indicator library in ``path`` added (a finance office's own file)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrameworkError(key="library_missing", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameworkError(key="library_unreadable", path=path, error=exc) from None
    entries = data.get("indicators") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise FrameworkError(key="library_shape", path=path)
    known = set(framework.level2_names)
    library = list(framework.library)
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("name") or entry.get("level2") not in known:
            raise FrameworkError(key="library_entry", path=path, number=number, framework=framework.id,
                                 got=entry.get("level2") if isinstance(entry, dict) else repr(entry))
        library = [e for e in library if (e["level2"], e["name"]) != (entry["level2"], entry["name"])]
        library.append({key: entry.get(key) for key in ("level2", "name", "description", "unit", "target")})
    return replace(framework, library=tuple(library))


def framework_from_schema(schema: object, source: str) -> Framework:
    if not isinstance(schema, dict):
        raise FrameworkError(key="schema_not_object", source=source)
    # checked against the metaschema by the Rust validator: importing the pure-Python jsonschema and
    # checking there took 260 ms of a one-file validate (it is imported only to explain errors)
    import jsonschema_rs

    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        where = "/".join(str(p) for p in exc.instance_path) or "(top level)"
        raise FrameworkError(key="schema_invalid", source=source, where=where, error=exc.message) from None
    categories = read_category_tree(schema, source)
    extension = schema.get("x-xlperf") or {}
    framework_id = _schema_id(schema)
    if not isinstance(framework_id, str) or not framework_id:
        raise FrameworkError(key="schema_no_id", source=source)
    expectations = extension.get("expectations") or {}
    unknown = sorted(set(expectations) - {l2 for l2s in categories.values() for l2 in l2s})
    if unknown:
        raise FrameworkError(key="schema_unknown_expectations", source=source, unknown=unknown)
    return Framework(
        id=framework_id,
        title=str(schema.get("title") or framework_id),
        schema=schema,
        sha256=schema_sha256(schema),
        categories=categories,
        expectations=dict(expectations),
        level2_from=dict(extension.get("level2_from") or {}),
        source=source,
    )


def read_category_tree(schema: dict, source: str = "schema") -> dict[str, tuple[str, ...]]:
    """Read 一级 → 二级 from the indicator definition; refuse a schema where it cannot be read."""
    indicator = schema.get("$defs", {}).get("indicator")
    if not isinstance(indicator, dict):
        raise FrameworkError(key="schema_no_indicator", source=source)
    level1_enum = indicator.get("properties", {}).get("level1", {}).get("enum")
    if not isinstance(level1_enum, list) or not level1_enum:
        raise FrameworkError(key="schema_no_level1", source=source)
    tree: dict[str, tuple[str, ...]] = {}
    for branch in indicator.get("allOf", []):
        try:
            level1 = branch["if"]["properties"]["level1"]["const"]
            level2_names = branch["then"]["properties"]["level2"]["enum"]
        except (KeyError, TypeError):
            continue
        if level1 in tree:
            raise FrameworkError(key="schema_two_branches", source=source, level1=level1)
        if not level2_names or not all(isinstance(x, str) and x for x in level2_names):
            raise FrameworkError(key="schema_no_level2", source=source, level1=level1)
        tree[level1] = tuple(level2_names)
    missing = [name for name in level1_enum if name not in tree]
    extra = [name for name in tree if name not in level1_enum]
    if missing or extra:
        raise FrameworkError(key="schema_tree_unreadable", source=source, missing=missing, extra=extra)
    return {name: tree[name] for name in level1_enum}


def map_indicator(indicator: dict, framework: Framework, from_framework: str | None) -> dict | None:
    """The indicator under this year's categories, or None when its 二级 cannot be placed."""
    level1, level2 = indicator.get("level1"), indicator.get("level2")
    if level2 in framework.categories.get(level1, ()):
        return dict(indicator)
    mapping = framework.level2_from.get(from_framework or "", {})
    target = mapping.get(f"{level1}/{level2}")
    if target:
        new_level1, new_level2 = target.split("/", 1)
        if new_level2 in framework.categories.get(new_level1, ()):
            return {**indicator, "level1": new_level1, "level2": new_level2}
    return None


def framework_shown(framework_id: object, with_id: bool = True) -> object:
    """A framework by its Chinese title, with its id for reference (``with_id``; not on printed pages, where
    readers know it by its title only)."""
    if not framework_id:
        return framework_id
    try:
        title = load_framework(str(framework_id)).title
    except Exception:  # noqa: BLE001 - a custom or unknown framework: its id is all there is
        return framework_id
    return f"{title}，{framework_id}" if with_id else title
