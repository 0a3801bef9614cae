"""Many returns → one consolidation: every input gets exactly one state, nothing is silently dropped."""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .consolidation import (DUPLICATE, EXCLUDED, FINDING_COLUMNS, INCLUDED, INCLUDED_WITH_WARNINGS, INDICATOR_COLUMNS,
                            INPUT_COLUMNS, MISSING_COLUMNS, UNREADABLE, Consolidation)
from .errors import UsageError
from .cache import ResultCache, document_from_json, document_to_json, finding_from_json, finding_to_json
from .findings import Finding, Location
from .frameworks import Framework, list_frameworks
from .model import ReturnDocument, pointer
from .reader import UnreadableError, read_workbook, saved_time
from .safety import Refused, check_path
from .spec import load_spec
from .targets import parse_target
from .validate import FrameworkResolver, check_document, collect_inputs
from .workers import map_in_workers

REASONS = {
    "errors": ("有 {errors} 个错误，未汇总", "{errors} error(s); left out"),
    "errors_kept": ("有 {errors} 个错误，按 --include-invalid 仍汇总", "{errors} error(s); kept by --include-invalid"),
    "same_file": ("与 {other} 内容完全相同，已跳过", "same content as {other}; skipped"),
    "code_clash": ("项目编码 {codes} 同时出现在 {other}，均未汇总（可用 --on-duplicate latest 保留最新的）",
                   "project code(s) {codes} also in {other}; both left out (--on-duplicate latest keeps the newest)"),
    "replaced": ("项目编码 {codes} 已由更新的 {other} 取代", "project code(s) {codes} replaced by the newer {other}"),
    "replaces": ("取代了较早的 {other}", "replaces the older {other}"),
}


def reason_text(key: str, lang: str, **values) -> str:
    zh, en = REASONS[key]
    return (zh if lang == "zh" else en).format(**values)


@dataclass
class _Input:
    path: Path
    sha256: str
    saved: str | None = None
    state: str = INCLUDED
    reason: str = ""
    docs: list[ReturnDocument] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    frameworks: list[Framework] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def shown(self) -> str:
        return str(self.path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def merge_returns(paths: list[str | Path], *, expect: str | Path | None = None, on_duplicate: str = "error",
                  include_invalid: bool = False, framework: str | Framework | None = None, lang: str = "zh",
                  output: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
                  cache_dir: str | Path | None = None, jobs: int | None = None,
                  library: str | Path | None = None) -> Consolidation:
    """Read and validate every input, decide its state, and tabulate the included returns.

    ``cache_dir``: keep what each file gave (keyed by its content) so a re-run re-reads only new or
    changed files; ``None`` disables the cache. ``jobs``: worker processes (default: none, read here).
    """
    if on_duplicate not in ("error", "latest"):
        raise UsageError("--on-duplicate must be 'error' or 'latest'")
    files = collect_inputs(paths)
    if output is not None:
        target = Path(output).resolve()
        if any(Path(p).resolve() == target for p in files):
            raise UsageError(f"the output {output} is one of the inputs; choose another output path")
    manifest = _load_manifest(expect) if expect else None
    resolver = FrameworkResolver(framework, library)
    spec = load_spec()
    framework_ref = None if framework is None else framework.source if isinstance(framework, Framework) else framework
    cache = ResultCache(cache_dir, {"spec": spec.data, "framework": framework_ref, "library": _file_digest(library)}) \
        if cache_dir else None
    current = _framework_hashes(resolver)
    inputs: list[_Input] = []
    seen_content: dict[str, _Input] = {}
    pending: list[_Input] = []
    for path in files:
        item = _identify(path, seen_content, spec, lang)
        inputs.append(item)
        if item.state == INCLUDED:  # identified, not yet read
            entry = cache.get(_cache_key(item), current) if cache else None
            if entry is None:
                pending.append(item)
            else:
                _apply(item, entry, resolver, lang)
    done = len(inputs) - len(pending)
    for item, entry in _examine_all(pending, jobs, framework_ref, library):
        _apply(item, entry, resolver, lang)
        if cache:
            cache.put(_cache_key(item), entry)
        done += 1
        if progress:
            progress(done, len(inputs))
    _settle_states(inputs, include_invalid, lang)
    _resolve_code_clashes(inputs, on_duplicate, lang)
    return _tabulate(inputs, manifest, expect, spec, lang, files)


def _cache_key(item: "_Input") -> str:
    """The content, and the extension: the same bytes named .xls and .xlsx get different verdicts."""
    return f"{item.sha256}{item.path.suffix.lower()}"


def _file_digest(path: str | Path | None) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None


def _framework_hashes(resolver: FrameworkResolver) -> dict[str, str]:
    """Each framework a cached entry may name, with its hash as it is now."""
    hashes = {framework.id: framework.sha256 for framework in list_frameworks()}
    if resolver.pinned is not None:
        hashes[resolver.pinned.id] = resolver.pinned.sha256
    return hashes


def _identify(path: Path, seen_content: dict[str, "_Input"], spec, lang: str) -> "_Input":
    """Path checks and the content hash; exact copies of an earlier input are duplicates."""
    try:
        check_path(path, spec.limits)
        sha = _sha256(path)
    except Refused as refusal:
        return _unreadable(path, "", Finding(refusal.code, Location(str(path)), params=refusal.params), lang)
    except PermissionError:
        return _unreadable(path, "", Finding("READ_NO_PERMISSION", Location(str(path))), lang)
    except OSError as exc:
        finding = Finding("READ_NOT_WORKBOOK", Location(str(path)), params={"reason": exc.strerror or str(exc)})
        return _unreadable(path, "", finding, lang)
    if sha in seen_content:
        return _Input(path, sha, state=DUPLICATE, reason=reason_text("same_file", lang, other=seen_content[sha].shown))
    item = _Input(path, sha)
    seen_content[sha] = item
    return item


def _unreadable(path: Path, sha: str, finding: Finding, lang: str) -> "_Input":
    separator = "；" if lang == "zh" else "; "
    return _Input(path, sha, state=UNREADABLE, reason=f"{finding.message(lang)}{separator}{finding.hint(lang)}",
                  findings=[finding])


_WORKER_RESOLVERS: dict[tuple, FrameworkResolver] = {}


def examine(path_text: str, framework_ref: str | None = None, library: str | None = None) -> dict:
    """Read and check one input into a JSON-able entry. Runs in worker processes; never raises for
    a bad file (an unreadable one is an entry too)."""
    key = (framework_ref, library)
    if key not in _WORKER_RESOLVERS:
        _WORKER_RESOLVERS[key] = FrameworkResolver(framework_ref, library)
    resolver = _WORKER_RESOLVERS[key]
    path = Path(path_text)
    try:
        documents = read_workbook(path)
    except UnreadableError as error:
        return {"unreadable": True, "docs": [], "findings": [finding_to_json(error.finding, path_text)],
                "saved": None, "frameworks": {}}
    spec = load_spec()
    findings: list[Finding] = []
    frameworks: dict[str, str] = {}
    for doc in documents:
        found, framework_findings = resolver.for_document(doc)
        findings.extend(framework_findings)
        if found is None:
            findings.extend(doc.findings)
        else:
            findings.extend(check_document(doc, found, spec))
            frameworks[found.id] = found.sha256
    for doc in documents:  # a merge needs the workbook facts, not the layout: keep entries small
        doc.meta = {key: value for key, value in doc.meta.items() if key in ("workbook", "origin_file")}
    return {"unreadable": False, "docs": [document_to_json(doc, path_text) for doc in documents],
            "findings": [finding_to_json(f, path_text) for f in findings], "saved": saved_time(path),
            "frameworks": frameworks}


def _examine_all(items: list["_Input"], jobs: int | None, framework_ref: str | None, library):
    """(item, entry) for each item, in order; in worker processes when there are enough files."""
    library = str(library) if library else None
    tasks = [(str(item.path), framework_ref, library) for item in items]
    entries = map_in_workers(_examine_task, tasks, jobs, on_crash=_crashed_entry)
    yield from zip(items, entries)


def _examine_task(task: tuple) -> dict:
    return examine(*task)


def _crashed_entry(task: tuple) -> dict:
    finding = Finding("READ_CRASHED", Location(task[0]))
    return {"unreadable": True, "docs": [], "findings": [finding_to_json(finding, task[0])], "saved": None,
            "frameworks": {}}


def _apply(item: "_Input", entry: dict, resolver: FrameworkResolver, lang: str) -> None:
    path = str(item.path)
    item.findings = [finding_from_json(f, path) for f in entry["findings"]]
    if entry["unreadable"]:
        unreadable = _unreadable(item.path, item.sha256, item.findings[0], lang)
        item.state, item.reason = unreadable.state, unreadable.reason
        return
    item.docs = [document_from_json(d, path) for d in entry["docs"]]
    item.saved = entry["saved"]
    for doc in item.docs:
        found, _ = resolver.for_document(doc)
        if found is not None:
            item.frameworks.append(found)


def _settle_states(inputs: list[_Input], include_invalid: bool, lang: str) -> None:
    for item in inputs:
        if item.state != INCLUDED:
            continue
        if item.errors and not include_invalid:
            item.state, item.reason = EXCLUDED, reason_text("errors", lang, errors=item.errors)
        elif item.errors:
            item.state, item.reason = INCLUDED_WITH_WARNINGS, reason_text("errors_kept", lang, errors=item.errors)
        elif item.findings:
            item.state = INCLUDED_WITH_WARNINGS


def _codes(item: _Input) -> set[str]:
    return {p.get("project_code") for doc in item.docs for p in doc.document.get("projects", [])
            if isinstance(p.get("project_code"), str)}


def _resolve_code_clashes(inputs: list[_Input], on_duplicate: str, lang: str) -> None:
    """The same project code in two included returns: both out (error) or the newest kept (latest)."""
    holders: dict[str, list[_Input]] = {}
    for item in inputs:
        if item.state in (INCLUDED, INCLUDED_WITH_WARNINGS):
            for code in _codes(item):
                holders.setdefault(code, []).append(item)
    clashes = {code: items for code, items in sorted(holders.items()) if len(items) > 1}
    if on_duplicate == "latest":
        for code, items in clashes.items():
            live = [item for item in items if item.state != DUPLICATE]
            newest = max(live, key=lambda item: (item.saved or "", str(item.path)))
            for older in live:
                if older is not newest:
                    shared = "、".join(sorted(_codes(older) & _codes(newest)))
                    older.state = DUPLICATE
                    older.reason = reason_text("replaced", lang, codes=shared, other=newest.shown)
                    newest.reason = reason_text("replaces", lang, other=older.shown)
        return
    clashing: dict[int, tuple[_Input, set[str], set[str]]] = {}
    for code, items in clashes.items():
        for item in items:
            entry = clashing.setdefault(id(item), (item, set(), set()))
            entry[1].add(code)
            entry[2].update(other.shown for other in items if other is not item)
    for item, codes, others in clashing.values():
        item.state = EXCLUDED
        item.reason = reason_text("code_clash", lang, codes="、".join(sorted(codes)), other="、".join(sorted(others)))


def _load_manifest(expect: str | Path) -> dict:
    try:
        manifest = json.loads(Path(expect).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{expect}: cannot read the manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "xlperf-manifest":
        raise UsageError(f"{expect}: not a manifest written by xlperf template")
    return manifest


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def _tabulate(inputs: list[_Input], manifest: dict | None, expect, spec, lang: str, files: list[Path]) -> Consolidation:
    frameworks = [fw for item in inputs for fw in item.frameworks]
    framework = frameworks[0] if frameworks else None
    milestones = spec.milestones
    level1_names = list(framework.level1_names) if framework else []
    project_rows, indicator_rows, documents = [], [], []
    for item in inputs:
        if item.state not in (INCLUDED, INCLUDED_WITH_WARNINGS):
            continue
        status = "invalid" if item.errors else item.state
        for doc in item.docs:
            documents.append(_carried(doc))
            for index, project in enumerate(doc.document.get("projects", [])):
                project_rows.append(_project_row(doc, index, project, milestones, level1_names, status))
                indicator_rows.extend(_indicator_rows(doc, index, project))
    finding_rows = [_finding_row(item, finding, lang) for item in inputs for finding in item.findings]
    input_rows = [{
        "file": item.shown, "state": item.state, "reason": item.reason,
        "unit_code": "、".join(sorted({str(d.document.get("unit", {}).get("code")) for d in item.docs})) or None,
        "unit_name": "、".join(sorted({str(d.document.get("unit", {}).get("name")) for d in item.docs})) or None,
        "projects": sum(len(d.document.get("projects", [])) for d in item.docs),
        "errors": item.errors, "warnings": len(item.findings) - item.errors,
        "saved": item.saved, "sha256": item.sha256,
    } for item in inputs]
    project_columns = (["unit_code", "unit_name", "project_code", "project_name", "budget_total", "fiscal", "other"]
                       + [f"plan_pct/{m}" for m in milestones] + [f"plan_amount/{m}" for m in milestones]
                       + [f"count/{l1}" for l1 in level1_names]
                       + ["indicator_count", "status", "source_file", "source_sheet"])
    saved_times = [item.saved for item in inputs if item.saved]
    return Consolidation(
        year=next((d.document.get("year") for item in inputs for d in item.docs), manifest.get("year") if manifest else None),
        framework=framework.id if framework else (manifest.get("framework") if manifest else None),
        milestones=milestones,
        level1_names=level1_names,
        level2_tree={k: list(v) for k, v in framework.categories.items()} if framework else {},
        projects=pd.DataFrame(project_rows, columns=project_columns),
        indicators=_compact(pd.DataFrame(indicator_rows, columns=INDICATOR_COLUMNS)),
        findings=pd.DataFrame(finding_rows, columns=FINDING_COLUMNS),
        inputs=pd.DataFrame(input_rows, columns=INPUT_COLUMNS),
        missing=pd.DataFrame(_missing(inputs, manifest) if manifest else [], columns=MISSING_COLUMNS),
        documents=documents,
        made_from=f"{len(files)} 个文件" if lang == "zh" else f"{len(files)} file(s)",
        data_as_of=max(saved_times) if saved_times else None,
        expect=str(expect) if expect else None,
        lang=lang,
    )


REPEATED_COLUMNS = ("unit_code", "unit_name", "project_code", "project_name", "level1", "level2", "basis",
                    "operator", "unit", "kind", "source_file", "source_sheet")


def _compact(indicators: pd.DataFrame) -> pd.DataFrame:
    """Columns that repeat on every row of a unit or project as categories: a fifth of the memory."""
    for column in REPEATED_COLUMNS:
        indicators[column] = indicators[column].astype("category")
    return indicators


def _project_row(doc: ReturnDocument, index: int, project: dict, milestones: list[str], level1_names: list[str],
                 status: str) -> dict:
    unit = doc.document.get("unit", {})
    budget = _number(project.get("budget_total"))
    plan = project.get("spending_plan") or {}
    row = {"unit_code": unit.get("code"), "unit_name": unit.get("name"),
           "project_code": project.get("project_code"), "project_name": project.get("project_name"),
           "budget_total": budget, "fiscal": _number(project.get("fiscal")), "other": _number(project.get("other"))}
    for milestone in milestones:
        pct = _number(plan.get(milestone))
        row[f"plan_pct/{milestone}"] = pct
        row[f"plan_amount/{milestone}"] = round(budget * pct / 100, 6) if pct is not None and budget is not None else None
    indicators = project.get("indicators") or []
    for level1 in level1_names:
        row[f"count/{level1}"] = sum(1 for i in indicators if i.get("level1") == level1)
    location = doc.location(pointer("projects", index))
    row.update(indicator_count=len(indicators), status=status, source_file=location.file or doc.path,
               source_sheet=location.sheet)
    return row


def _indicator_rows(doc: ReturnDocument, index: int, project: dict) -> list[dict]:
    unit = doc.document.get("unit", {})
    rows = []
    for number, indicator in enumerate(project.get("indicators") or []):
        target = parse_target(indicator.get("target")) if isinstance(indicator.get("target"), str) else None
        location = doc.location(pointer("projects", index, "indicators", number, "target"))
        rows.append({
            "unit_code": unit.get("code"), "unit_name": unit.get("name"),
            "project_code": project.get("project_code"), "project_name": project.get("project_name"),
            **{key: indicator.get(key) for key in ("level1", "level2", "name", "description", "target", "basis")},
            "operator": target.operator if target else None, "number": target.number if target else None,
            "unit": target.unit if target else None, "kind": target.kind if target else None,
            "source_file": location.file or doc.path, "source_sheet": location.sheet, "source_cell": location.cell,
        })
    return rows


def _finding_row(item: _Input, finding: Finding, lang: str) -> dict:
    unit_codes = sorted({str(d.document.get("unit", {}).get("code")) for d in item.docs})
    return {"file": finding.location.file or item.shown, "unit_code": "、".join(unit_codes) or None,
            "severity": finding.level.value, "code": finding.code, "sheet": finding.location.sheet,
            "cell": finding.location.cell, "field": finding.field,
            "value": None if finding.value is None else str(finding.value),
            "message": finding.message(lang), "hint": finding.hint(lang)}


def _carried(doc: ReturnDocument) -> dict:
    """A document as the summary carries it, with each value's original sheet and cell.

    Every value of a return comes from its one file, so the file is stated once and each source is
    [index into "sheets", cell]: a third of the size of repeating file and sheet name for every value."""
    sheets: dict[str, int] = {}
    cells = {key: [sheets.setdefault(loc.sheet, len(sheets)), loc.cell] for key, loc in doc.sources.items()}
    return {"document": doc.document, "meta": {"workbook": doc.meta["workbook"]},
            "sources": {"sheets": list(sheets), "cells": cells},
            "file": doc.meta.get("origin_file", doc.path)}


def _missing(inputs: list[_Input], manifest: dict) -> list[dict]:
    """Sent out but not come back (units, projects), and returns that were never sent out."""
    returned: dict[str, set[str]] = {}
    for item in inputs:
        if item.state == UNREADABLE or (item.state == DUPLICATE and not item.docs):
            continue
        for doc in item.docs:
            code = str(doc.document.get("unit", {}).get("code"))
            returned.setdefault(code, set()).update(
                p.get("project_code") for p in doc.document.get("projects", []) if p.get("project_code"))
    rows = []
    sent_units = {}
    for unit in manifest.get("units", []):
        sent_units[unit["unit_code"]] = {p["project_code"] for p in unit["projects"]}
        if unit["unit_code"] not in returned:
            rows.append({"kind": "unit", "unit_code": unit["unit_code"], "unit_name": unit["unit_name"],
                         "project_code": None, "project_name": None, "file": unit.get("file")})
            continue
        for project in unit["projects"]:
            if project["project_code"] not in returned[unit["unit_code"]]:
                rows.append({"kind": "project", "unit_code": unit["unit_code"], "unit_name": unit["unit_name"],
                             "project_code": project["project_code"], "project_name": project["project_name"],
                             "file": unit.get("file")})
    for item in inputs:
        for doc in item.docs:
            code = str(doc.document.get("unit", {}).get("code"))
            unexpected = [p for p in doc.document.get("projects", [])
                          if p.get("project_code") not in sent_units.get(code, set())]
            if code not in sent_units or unexpected:
                for project in unexpected or [{}]:
                    rows.append({"kind": "unexpected", "unit_code": code,
                                 "unit_name": doc.document.get("unit", {}).get("name"),
                                 "project_code": project.get("project_code"),
                                 "project_name": project.get("project_name"), "file": item.shown})
    return rows
