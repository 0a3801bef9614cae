"""Schema pass + business rules → findings, for one canonical document or many files.

The validator never opens a file itself: ``validate_file`` asks the reader for the document.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

from ..core.errors import FrameworkError
from ..core.findings import Finding, Location
from ..core.model import ReturnDocument, pointer, value_at
from ..core.workers import Boundary, Crash, map_in_workers
from ..framework.frameworks import Framework, builtin_hashes, load_framework, with_library
from ..framework.spec import Spec, load_spec
from ..intake.reader import (DOCUMENTS_PARQUET, READABLE_SUFFIXES, UnreadableError, is_parquet_dataset, parquet_parts,
                             read_return)
from .rules import RULES

T = TypeVar("T")

@dataclass
class FileResult:
    """What became of one input file."""

    path: str
    document: ReturnDocument | None
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.is_error)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors


def _field_key(path: list) -> str | None:
    """The field name a schema path ends in (``['projects', 0, 'fiscal']`` → ``fiscal``)."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return None
    if len(keys) >= 2 and keys[-2] == "spending_plan":
        return f"spending_plan/{keys[-1]}"
    if keys[-1] in ("code", "name") and keys[0] == "unit" and len(keys) == 2:
        return f"unit_{keys[-1]}"
    return keys[-1]


def _bound(schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{low}–{high}"
    return f"≥{low}" if low is not None else f"≤{high}"


@dataclass(frozen=True)
class SchemaError:
    """One JSON Schema error as the findings need it, whichever validator found it: the keyword that failed,
    its value in the schema and the schema object holding it, the failing instance, and (for ``type`` and any
    error without a finding code of its own) the reference validator's message."""

    keyword: str
    value: object
    schema: dict
    instance: object
    message: str


def schema_findings(doc: ReturnDocument, framework: Framework) -> list[Finding]:
    """Each JSON Schema error mapped to a coded finding at the cell it came from.

    The compiled validator says whether the document is valid; only when it is not are the errors explained,
    and then only over the projects (and within them the indicators) that fail on their own: explaining costs
    in proportion to the errors, not to the document. The compiled validator's own errors explain them where
    each maps to a finding exactly as the reference (pure-Python) validator's would; any other error (an
    ``anyOf``, a keyword without a finding code) has the reference validator explain that part. The findings
    are the same as explaining the whole document with the reference validator, in the same order."""
    if framework.fast_validator.is_valid(doc.document):
        return []
    instance, index_of = _failing_part(doc.document, framework)
    errors = _compiled_errors(instance, framework)
    if errors is None:
        errors = _reference_errors(instance, framework)
    findings: dict[tuple, Finding] = {}
    for path, error in errors:
        if index_of is not None and len(path) > 1 and path[0] == "projects" and isinstance(path[1], int):
            project, indicators = index_of[path[1]]
            path[1] = project  # back to the project's place in the whole document, and the indicator's
            if indicators is not None and len(path) > 3 and path[2] == "indicators" and isinstance(path[3], int):
                path[3] = indicators[path[3]]
        for finding in _map_error(doc, error, path):
            # one `required` error per missing property, each mapped to all of them
            findings.setdefault((finding.code, finding.location, finding.field), finding)
    return list(findings.values()) if findings else explain_whole(doc, framework)


def explain_whole(doc: ReturnDocument, framework: Framework) -> list[Finding]:
    """The reference: every error of the whole document explained by the pure-Python validator (what
    ``schema_findings`` must equal)."""
    findings: dict[tuple, Finding] = {}
    for path, error in _reference_errors(doc.document, framework):
        for finding in _map_error(doc, error, path):
            findings.setdefault((finding.code, finding.location, finding.field), finding)
    return list(findings.values())


def _reference_errors(instance: object, framework: Framework) -> Iterator[tuple[list, SchemaError]]:
    """The pure-Python validator's errors: slower to import (~0.2 s) and to run, but it explains anything."""
    from jsonschema.exceptions import best_match

    for error in framework.validator.iter_errors(instance):
        path = list(error.absolute_path)
        if error.validator in ("anyOf", "oneOf") and error.context:
            error = best_match(error.context)
            path += list(error.relative_path)  # context errors are relative to the parent
        yield path, SchemaError(error.validator, error.validator_value, error.schema, error.instance, error.message)


# the keywords whose errors map to a finding without the reference validator's message
_COMPILED_KEYWORDS = frozenset({"required", "minLength", "minItems", "minimum", "maximum", "type"})


def _compiled_errors(instance: object, framework: Framework) -> list[tuple[list, SchemaError]] | None:
    """The compiled validator's errors in the reference validator's order, or ``None`` where one of them needs
    the reference validator: a keyword whose finding carries the reference's own message, or an error whose
    place in the schema cannot be followed."""
    ordered = []
    for error in framework.fast_validator.iter_errors(instance):
        path, schema_path = list(error.instance_path), list(error.schema_path)
        keyword = schema_path[-1] if schema_path else None
        key = _field_key(path)
        if not (keyword in _COMPILED_KEYWORDS or (keyword == "enum" and key in ("level1", "level2"))
                or (keyword == "const" and key == "framework")):
            return None
        schema = value_at(framework.schema, schema_path[:-1])  # the object holding the keyword
        order = _reference_order(framework, list(error.evaluation_path), path)
        if not isinstance(schema, dict) or keyword not in schema or order is None:
            return None
        value, failing = schema[keyword], value_at(instance, path)
        message = ""
        if keyword == "required":
            order += (value.index(error.kind.property),)
        elif keyword == "type":  # the reference validator's words, kept in the finding's detail
            types = value if isinstance(value, list) else [value]
            message = f"{failing!r} is not of type {', '.join(repr(name) for name in types)}"
        ordered.append((order, path, SchemaError(keyword, value, schema, failing, message)))
    ordered.sort(key=lambda entry: entry[0])
    return [(path, error) for _, path, error in ordered]


_IN_PLACE_OF_IF = {"then": 1, "else": 2}  # the reference validator checks `then` and `else` within `if`


def _reference_order(framework: Framework, evaluation_path: list, instance_path: list) -> tuple | None:
    """Where the reference validator meets an error, as a sortable key: it walks the schema depth first, each
    object's keywords in their written order, ``properties`` in theirs and ``items`` by index, so the key is
    the positions taken along the error's evaluation path. ``None`` for a path it cannot follow."""
    node, steps, places, key = framework.schema, iter(evaluation_path), iter(instance_path), []
    for keyword in steps:
        if not isinstance(node, dict):
            return None
        names = list(node)
        looked_up = "if" if keyword in _IN_PLACE_OF_IF else keyword
        if looked_up not in names:
            return None
        key.append(names.index(looked_up))
        if keyword in _IN_PLACE_OF_IF:
            key.append(_IN_PLACE_OF_IF[keyword])
            node = node[keyword]
        elif keyword == "$ref":
            node = framework.local_schema({"$ref": node["$ref"]})
        elif keyword == "properties":
            name = next(steps, None)
            if name not in node["properties"] or next(places, None) != name:
                return None
            key.append(list(node["properties"]).index(name))
            node = node["properties"][name]
        elif keyword == "items":
            index = next(places, None)
            if not isinstance(index, int):
                return None
            key.append(index)
            node = node["items"]
        elif keyword in ("allOf", "anyOf", "oneOf"):
            index = next(steps, None)
            if not isinstance(index, int):
                return None
            key.append(index)
            node = node[keyword][index]
        elif next(steps, None) is not None:  # a keyword that checks the instance itself ends the path
            return None
    return tuple(key)


def _failing_part(document: dict, framework: Framework) -> tuple[dict, list[tuple[int, list[int] | None]] | None]:
    """The document with only its failing projects (at least one, so a minimum count still holds), and in
    each of those only its failing indicators (at least one, likewise); for each project kept its index in
    the whole and the indices of the indicators kept (``None``: all of them). The document itself when it
    cannot be cut apart."""
    projects = document.get("projects") if isinstance(document, dict) else None
    project_check = framework.fast_project_validator
    if project_check is None or not isinstance(projects, list) or not projects or not _cuttable(framework):
        return document, None
    failing = [index for index, project in enumerate(projects) if not project_check.is_valid(project)]
    kept = failing or [0]
    indicator_check = framework.fast_indicator_validator if _indicators_cuttable(framework) else None
    parts, index_of = [], []
    for index in kept:
        project, indicators_kept = projects[index], None
        indicators = project.get("indicators") if isinstance(project, dict) else None
        if indicator_check is not None and isinstance(indicators, list) and len(indicators) > 1:
            wrong = [number for number, indicator in enumerate(indicators) if not indicator_check.is_valid(indicator)]
            if len(wrong or [0]) < len(indicators):
                indicators_kept = wrong or [0]
                project = {**project, "indicators": [indicators[number] for number in indicators_kept]}
        parts.append(project)
        index_of.append((index, indicators_kept))
    if len(kept) == len(projects) and all(inner is None for _, inner in index_of):
        return document, None
    return {**document, "projects": parts}, index_of


_PART_ARRAY_KEYWORDS = {"type", "items", "minItems", "description", "title"}


def _cuttable(framework: Framework) -> bool:
    """Whether the projects array has only constraints that hold for part of it (no maxItems, uniqueItems,
    contains...): then explaining the failing projects alone finds every error."""
    projects = framework.schema.get("properties", {}).get("projects", {})
    return set(projects) <= _PART_ARRAY_KEYWORDS


def _indicators_cuttable(framework: Framework) -> bool:
    """The same for a project's indicators, and the project itself has no keyword whose error would
    show the project as a whole (which then shows fewer indicators): only its type, required and
    additional properties, and each property's own schema."""
    project = framework.local_schema(framework.schema.get("properties", {}).get("projects", {}).get("items"))
    if not isinstance(project, dict) or \
            not set(project) <= {"type", "required", "properties", "additionalProperties", "description", "title"}:
        return False
    indicators = (project.get("properties") or {}).get("indicators")
    return isinstance(indicators, dict) and set(indicators) <= _PART_ARRAY_KEYWORDS


def _map_error(doc: ReturnDocument, error: SchemaError, path: list) -> list[Finding]:
    keyword = error.keyword
    if keyword == "required":
        missing = [name for name in error.value if name not in error.instance]
        return [Finding("REQUIRED_MISSING", doc.location(pointer(*path, name)), _field_key(path + [name]))
                for name in missing]
    where = doc.location(pointer(*path))
    key = _field_key(path)
    shown = doc.raw.get(pointer(*path), error.instance)
    if keyword == "minLength" or (keyword == "minItems" and key != "indicators"):
        return [Finding("REQUIRED_MISSING", where, key)]
    if keyword == "minItems":
        return [Finding("NO_INDICATORS", where, key)]
    if keyword == "type":
        return [Finding("VALUE_NOT_NUMBER" if "number" in str(error.value) else "SCHEMA_OTHER", where, key,
                        shown, {"detail": error.message})]
    if keyword in ("minimum", "maximum"):
        return [Finding("VALUE_OUT_OF_RANGE", where, key, error.instance, {"bound": _bound(error.schema)})]
    if keyword == "enum" and key == "level2":
        indicator = value_at(doc.document, path[:-1])
        level1 = indicator.get("level1") if isinstance(indicator, dict) else None
        return [Finding("LEVEL2_NOT_IN_LEVEL1", where, key, error.instance,
                        {"level1": level1, "allowed": "、".join(error.value)})]
    if keyword == "enum" and key == "level1":
        return [Finding("LEVEL1_UNKNOWN", where, key, error.instance, {"allowed": "、".join(error.value)})]
    if keyword == "const" and key == "framework":
        return [Finding("READ_FRAMEWORK_MISMATCH", where, key, error.instance, {"expected": error.value})]
    return [Finding("SCHEMA_OTHER", where, key, shown, {"detail": error.message})]


def check_document(doc: ReturnDocument, framework: Framework, spec: Spec | None = None) -> list[Finding]:
    """All findings of one document: reading findings, schema findings, then each business rule."""
    spec = spec or load_spec()
    findings = list(doc.findings)
    findings.extend(schema_findings(doc, framework))
    for rule in RULES:
        findings.extend(rule(doc, framework, spec))
    return without_follow_ons(findings)


BUDGET_FIELDS = frozenset({"budget_total", "fiscal", "other"})  # one sum rule ties them together


def without_follow_ons(findings: list[Finding]) -> list[Finding]:
    """One mistake, one finding: where a unit changed a prefilled value, the checks that only repeat
    it (the code's pattern, the budget sum of a changed amount) are left out; the
    ``READ_PREFILLED_CHANGED`` finding already says what to put back."""
    changed = {(f.location.sheet, f.field) for f in findings if f.code == "READ_PREFILLED_CHANGED"}
    if not changed:
        return findings

    def repeats(finding: Finding) -> bool:
        related = BUDGET_FIELDS if finding.field in BUDGET_FIELDS else {finding.field}
        return any((finding.location.sheet, name) in changed for name in related)

    return [f for f in findings if f.code == "READ_PREFILLED_CHANGED" or not repeats(f)]


class FrameworkResolver:
    """Loads each framework once; pins one when the user asked for it explicitly."""

    def __init__(self, framework: str | Framework | None = None, library: str | Path | None = None):
        self.library = library
        self.pinned = self._extended(load_framework(framework) if isinstance(framework, str) else framework)
        self.cache: dict[str, Framework] = {}

    def _extended(self, framework: Framework | None) -> Framework | None:
        return with_library(framework, self.library) if framework is not None and self.library else framework

    def for_document(self, doc: ReturnDocument) -> tuple[Framework | None, list[Finding]]:
        info = doc.meta["workbook"]
        framework_id = info.get("framework")
        where = Location(doc.path, doc.meta["workbook"]["sheets"].get("instructions"))
        if self.pinned is not None:
            if framework_id != self.pinned.id:
                return None, [Finding("READ_FRAMEWORK_MISMATCH", where, "framework", framework_id,
                                      {"expected": self.pinned.id})]
            framework = self.pinned
        else:
            if framework_id not in self.cache:
                try:
                    self.cache[framework_id] = self._extended(load_framework(str(framework_id)))
                except FrameworkError:
                    return None, [Finding("READ_FRAMEWORK_MISMATCH", where, "framework", framework_id,
                                          {"expected": "cn-2020 / cn-2021"})]
            framework = self.cache[framework_id]
        findings = []
        if info.get("framework_sha256") != framework.sha256:
            findings.append(Finding("READ_FRAMEWORK_CHANGED", where, "framework", framework.id))
        return framework, findings

    def by_id(self, framework_id: str) -> Framework | None:
        """The framework a document named (as ``for_document`` found it), or None if there is none by that id."""
        if self.pinned is not None:
            return self.pinned if framework_id == self.pinned.id else None
        if framework_id not in self.cache:
            try:
                self.cache[framework_id] = self._extended(load_framework(str(framework_id)))
            except FrameworkError:
                return None
        return self.cache[framework_id]


def validate_file(path: str | Path, resolver: FrameworkResolver, year: int | None = None,
                  spec: Spec | None = None, part: tuple[int, int] | None = None) -> FileResult:
    """Read and check one return; an unreadable file becomes a result, never an exception. ``part``: of a
    Parquet dataset, only the documents of these row groups (``parquet_parts``)."""
    try:
        doc = read_return(path, part=part)
    except UnreadableError as error:
        return FileResult(str(path), None, [error.finding], unreadable=True)
    framework, findings = resolver.for_document(doc)
    if year is not None and doc.meta["workbook"].get("year") != year:
        findings.append(Finding("READ_YEAR_MISMATCH", Location(doc.path), "year", doc.meta["workbook"].get("year"),
                                {"expected": year}))
    if framework is None:
        return FileResult(str(path), doc, findings + doc.findings)
    return FileResult(str(path), doc, findings + check_document(doc, framework, spec))


# what a folder holds besides returns that is nobody's return: not worth a line
_NOT_A_RETURN = ("~$", ".~lock.", ".")  # Excel and LibreOffice lock files, hidden files
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}


def scan_inputs(paths: list[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The inputs given, in one walk: (found, skipped).

    found: files given, and workbooks (and Parquet datasets' documents.parquet) found recursively in folders
    given; Excel lock files (``~$``) are left out. skipped: what a person may have meant as a return and is
    not read — (path, ``not_workbook``) for a file of another type in a folder (a unit's PDF or Word file, a
    ``.bak``), (folder, ``empty_folder``) for a folder given with nothing found in it. Lock files, hidden and
    system files and the tables beside a dataset's documents.parquet are not listed."""
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for given in map(Path, paths):
        if not given.is_dir():
            if not given.name.startswith("~$"):  # a link named on the command line: read its target
                found.append(given.resolve() if given.is_symlink() and given.exists() else given)
            continue
        found_before = len(found)
        for root, dirs, files in os.walk(given):
            dirs.sort()
            for name in [d for d in dirs if d.lower().endswith(READABLE_SUFFIXES) or os.path.islink(os.path.join(root, d))]:
                dirs.remove(name)  # a folder named like a workbook, or a link to one, is reported, not searched
                found.append(Path(root) / name)
            hidden = any(part.startswith(".") for part in Path(root).relative_to(given).parts)
            dataset = DOCUMENTS_PARQUET in (name.lower() for name in files)
            for name in sorted(files):
                lowered = name.lower()
                if lowered.endswith(READABLE_SUFFIXES) or lowered == DOCUMENTS_PARQUET:
                    if not name.startswith("~$"):
                        found.append(Path(root) / name)
                elif not (hidden or name.startswith(_NOT_A_RETURN) or lowered in _SYSTEM_FILES
                          or (dataset and lowered.endswith(".parquet"))):
                    skipped.append((Path(root) / name, "not_workbook"))
        if len(found) == found_before:
            skipped.append((given, "empty_folder"))
    return found, skipped


def collect_inputs(paths: list[str | Path]) -> list[Path]:
    """The inputs ``scan_inputs`` finds."""
    return scan_inputs(paths)[0]


def validate_paths(paths: list[str | Path], framework: str | Framework | None = None,
                   year: int | None = None, library: str | Path | None = None,
                   jobs: int | None = None, documents: bool = True, isolate: bool = False) -> list[FileResult]:
    """Validate every input; one unreadable file never stops the others. ``isolate``: each file is read
    in a worker process under the spec's limits (``max_read_memory_bytes``, ``max_read_seconds``), so a
    parser that aborts, crashes, runs out of memory or hangs takes only that file down (the command line
    always isolates). ``jobs`` > 1: that many worker processes. ``documents=False`` keeps only each
    return's unit with its findings (what a report needs), not the whole document and its source cells."""
    return list(iter_validate_paths(paths, framework, year, library, jobs, documents, isolate))


def iter_validate_paths(paths: list[str | Path], framework: str | Framework | None = None,
                        year: int | None = None, library: str | Path | None = None,
                        jobs: int | None = None, documents: bool = True,
                        isolate: bool = False, found: list[Path] | None = None) -> Iterator[FileResult]:
    """``validate_paths`` a file at a time, in input order, as each is done (for showing progress). A Parquet
    dataset is read in parts, each by a worker of its own (``map_in_parts``), and is still one input with one
    result: what reading it whole gives. ``found``: what ``scan_inputs`` found in ``paths``, when the caller
    has looked already."""
    framework_ref = framework.source if isinstance(framework, Framework) else framework
    tasks = [(str(path), framework_ref, year, str(library) if library else None, documents, None)
             for path in (collect_inputs(paths) if found is None else found)]
    if tasks:
        warm_up(framework_ref, str(library) if library else None)
    for _, results in map_in_parts(_validate_task, tasks, jobs, isolate, on_crash=_crashed, refused=_refused):
        yield _one_input(results)


def map_in_parts(function: Callable[[tuple], T], tasks: list[tuple], jobs: int | None, isolate: bool,
                 on_crash: Callable[[tuple, Crash], T], refused: Callable[[tuple, Finding], T],
                 between: Iterator[object] | None = None) -> Iterator[tuple[int, Iterator[T]]]:
    """``function`` over each task (an input's path first, the part to read last: ``None``, all of it), in
    workers under the read boundary as ``map_in_workers`` runs it, but a Parquet dataset's documents in parts
    (``parquet_parts``, found by a worker first: the footer is untrusted too), a task for each: a province's
    20,000 returns never in one worker. For each task in order: (the parts read, their results as they come),
    one result for a file read whole (or a dataset of one part), ``refused(task, finding)`` alone (0 parts)
    when the parts cannot be found. Take each task's results before the next task's (what is left is taken
    and dropped). ``between``: as ``map_in_workers``', while the tasks are read."""
    datasets = [index for index, task in enumerate(tasks) if is_parquet_dataset(task[0])]
    plans = dict(zip(datasets, list(map_in_workers(_parts_task, [tasks[index][0] for index in datasets], jobs,
                                                   on_crash=crash_finding, isolate=isolate,
                                                   boundary=read_boundary()))))
    expanded, counts = [], []
    for index, task in enumerate(tasks):
        plan = plans.get(index, [None])
        parts = [] if isinstance(plan, Finding) else [None] if len(plan) == 1 else plan
        expanded += [(*task[:-1], part) for part in parts]
        counts.append(len(parts))
    results = map_in_workers(function, expanded, jobs, on_crash=on_crash, isolate=isolate, boundary=read_boundary(),
                             between=between)
    for index, count in enumerate(counts):
        own = islice(results, count)
        yield count, own if count else iter([refused(tasks[index], plans[index])])
        for _ in own:
            pass
    for _ in results:  # to its end here, so the pool shuts down in this frame: a signal that lands while it
        pass  # does is raised here, not dropped as it would be when Python closes an abandoned generator


def _parts_task(path: str) -> list[tuple[int, int]] | Finding:
    def plan() -> list[tuple[int, int]] | Finding:
        try:
            return parquet_parts(path)
        except UnreadableError as error:
            return error.finding
    return guarded(path, plan, lambda finding: finding)


def _one_input(results: Iterator[FileResult]) -> FileResult:
    """An input's result from its parts' (one, unless it is a dataset read in parts): as reading it whole, a
    dataset is a summary (``READ_IS_SUMMARY``) unless a part cannot be read, and then the first such says why."""
    first = next(results)
    return next((result for result in chain([first], results)
                 if [finding.code for finding in result.findings] != ["READ_IS_SUMMARY"]), first)


def read_boundary() -> Boundary:
    """The limits of one file's reading in a worker, from the spec."""
    limits = _spec().limits
    return Boundary(memory_bytes=limits.max_read_memory_bytes, seconds=limits.max_read_seconds)


def crash_finding(path: str, crash: Crash) -> Finding:
    """What to say of a file whose reading took its worker down (or failed inside xlperf)."""
    where = Location(path)
    if crash.kind == "out_of_memory":
        return Finding("READ_OUT_OF_MEMORY", where, params={"limit": _size(_spec().limits.max_read_memory_bytes)})
    if crash.kind == "timeout":
        return Finding("READ_TIMEOUT", where, params={"seconds": crash.detail})
    if crash.kind == "internal":
        return Finding("READ_INTERNAL", where, params={"detail": crash.detail})
    return Finding("READ_CRASHED", where, params={"detail": crash.detail})


def _size(count: int) -> str:
    return f"{count / 1e9:g} GB" if count >= 1e9 else f"{count / 1e6:g} MB"


def guarded(path: str, work: Callable[[], T], failed: Callable[[Finding], T]) -> T:
    """The per-file boundary: whatever goes wrong while handling one input is a finding on that input."""
    try:
        return work()
    except MemoryError:
        return failed(crash_finding(path, Crash("out_of_memory")))
    except RecursionError:
        return failed(crash_finding(path, Crash("internal", "RecursionError")))
    except Exception as error:  # noqa: BLE001 - the boundary: one file's failure is that file's finding
        return failed(crash_finding(path, Crash("internal", f"{type(error).__name__}: {error}"[:200])))


_RESOLVERS: dict[tuple, FrameworkResolver] = {}


@lru_cache(maxsize=1)
def _spec() -> Spec:
    """The template spec, looked up once per process rather than once per file."""
    return load_spec()


def _validate_task(task: tuple) -> FileResult:
    return guarded(task[0], lambda: _validate_one(task), lambda finding: _refused(task, finding))


def worker_resolver(framework_ref: str | None, library: str | None) -> FrameworkResolver:
    """The resolver a process keeps for a framework and library: each framework loaded once, not once a file."""
    key = (framework_ref, library)
    if key not in _RESOLVERS:
        _RESOLVERS[key] = FrameworkResolver(framework_ref, library)
    return _RESOLVERS[key]


def warm_up(framework_ref: str | None, library: str | None) -> None:
    """What each worker would do first, done once a run before they are forked: import the readers and
    compile the frameworks (15 ms here against 25-70 ms in each worker, for a run of few files most of its
    time). The resolver is made afresh, so a run reads the framework and library files as they are now (a
    process that runs many, as the portal does, sees them edited), and its workers inherit it."""
    import defusedxml.ElementTree  # noqa: F401 (the reader imports it when it first reads a workbook's properties)
    import python_calamine  # noqa: F401

    resolver = _RESOLVERS[(framework_ref, library)] = FrameworkResolver(framework_ref, library)
    for framework_id in builtin_hashes():
        resolver.by_id(framework_id)
    _spec()


def _validate_one(task: tuple) -> FileResult:
    path, framework_ref, year, library, documents, part = task
    result = validate_file(path, worker_resolver(framework_ref, library), year, _spec(), part)
    if not documents and result.document is not None:  # less to send back from a worker, less to hold
        unit = {"unit": result.document.document.get("unit")}
        result.document = ReturnDocument(result.document.path, unit, {}, {}, {"workbook": result.document.meta["workbook"]})
    return result


def _crashed(task: tuple, crash: Crash) -> FileResult:
    return _refused(task, crash_finding(task[0], crash))


def _refused(task: tuple, finding: Finding) -> FileResult:
    return FileResult(task[0], None, [finding], unreadable=True)
