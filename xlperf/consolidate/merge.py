"""Many returns → one consolidation: every input gets exactly one state, nothing is silently dropped."""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import pickle
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from ..checks.validate import (FrameworkResolver, check_document, collect_inputs, crash_finding, guarded, map_in_parts,
                               warm_up, worker_resolver)
from ..core.errors import UsageError
from ..core.findings import Finding, Location
from ..core.messages import say
from ..core.model import ReturnDocument, cents, pointer
from ..core.sheetxml import Segment
from ..core.workers import Crash
from ..framework.frameworks import Framework, builtin_hashes
from ..framework.spec import load_spec
from ..framework.targets import parsed_target
from ..intake.reader import UnreadableError, read_workbook, saved_time
from ..intake.safety import Refused, check_path
from .cache import FileHashes, ResultCache, StoredTables, file_sha256, finding_from_json, finding_to_json
from .cache import here as _file
from .cache import resolve_here as _back
from .consolidation import (DUPLICATE, EXCLUDED, FINDING_COLUMNS, INCLUDED, INCLUDED_WITH_WARNINGS, INDICATOR_COLUMNS,
                            UNREADABLE, Consolidation, DeferredTable, Prepared, SpooledTable)
from .consolidation import project_columns as consolidation_project_columns
from .figures import ProjectFigures, Widths, spent_keys
from .rows import (FINDING_SEGMENT_ROWS, FINDING_TABLE, carried_text, data_segment, finding_segments, indicator_segment,
                   indicator_tally, project_segments, project_table, rows_layout, standard_formats, unit_text)



def reasons(key: str, **values) -> dict[str, str]:
    """A reason in both languages: the summary shows the Chinese, the command line the user's."""
    return {lang: say(key, lang, **values) for lang in ("zh", "en")}


def finding_reasons(finding: Finding) -> dict[str, str]:
    return {"zh": f"{finding.message('zh')}；{finding.hint('zh')}", "en": f"{finding.message('en')}; {finding.hint('en')}"}


@dataclass
class _Input:
    """One input through the merge. What it gave is kept small: its rows for the big sheets are already
    deflated (``segments``) and the rest is in the spool until the summary or an export asks for it."""

    path: Path
    sha256: str
    saved: str | None = None
    state: str = INCLUDED
    reason: dict[str, str] = field(default_factory=lambda: {"zh": "", "en": ""})  # in both languages
    docs: list[dict] = field(default_factory=list)  # per document: unit_code, unit_name, projects [[code, name]]
    findings: list[Finding] = field(default_factory=list)
    framework_ids: list[str] = field(default_factory=list)
    projects: list[tuple[int, int]] = field(default_factory=list)  # where in the spool its projects' facts for
    # 项目汇总 are (``_project_facts``, pickled; one list of them for each part read)
    tally: Counter = field(default_factory=Counter)  # (unit code, 一级, 二级) → indicators
    indicator_count: int = 0
    segments: dict[str, list[tuple]] = field(default_factory=dict)  # "indicators", "data": rows made for the
    # summary, in the spool (``_Spool.put_segment``), one for each part read (``parquet_parts``)
    segment_counts: list[int] = field(default_factory=list)  # the indicator rows in each of those parts
    segment_documents: list[int] = field(default_factory=list)  # and the returns (documents) in each
    data_columns: int = 0
    project_rows: tuple[str, str, int, list[tuple], dict | None] | None = None  # its 项目汇总 rows made ahead:
    # framework, status, rows, their segments in the spool (``_Spool.put_segment``) and their figures
    # (``_project_rows``); None: made by the summary if it is included
    tables: list[tuple[int, int]] | StoredTables | None = None  # its indicator rows and carried documents: where
    # in the spool (each part's), or in the cache; None: not kept (``keep_tables``) or not made (left out)
    finding_rows: _MadeFindings | None = None  # its rows of 校验问题 as its entry made them

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def shown(self) -> str:
        return str(self.path)


def merge_returns(paths: list[str | Path], *, expect: str | Path | None = None, on_duplicate: str = "error",
                  include_invalid: bool = False, framework: str | Framework | None = None, lang: str = "zh",
                  output: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
                  cache_dir: str | Path | None = None, jobs: int | None = None,
                  library: str | Path | None = None, isolate: bool = False, keep_tables: bool = True,
                  found: list[Path] | None = None) -> Consolidation:
    """Read and validate every input, decide its state, and tabulate the included returns.

    ``cache_dir``: keep what each file gave (keyed by its content) so a re-run re-reads only new or
    changed files; ``None`` disables the cache. ``jobs``: worker processes (default: none, read here).
    ``isolate``: read each file in a worker process under the spec's limits, so that a parser crash,
    exhausted memory or a hang takes only that file down (the command line always isolates).
    ``keep_tables=False``: only the summary will be written, so without a cache the returns' full tables (the
    rows of 绩效指标明细 and the documents, for ``Consolidation.indicators``, ``documents`` and the exports) are
    not kept; asked for anyway, they are read from the files again. ``found``: what ``scan_inputs`` found in
    ``paths``, when the caller has looked already (the command line says first what it will not read).
    """
    if on_duplicate not in ("error", "latest"):
        raise UsageError(key="on_duplicate")
    files = collect_inputs(paths) if found is None else found
    if output is not None and _is_among(Path(output), files):
        raise UsageError(key="output_is_input", output=output)
    manifest = _load_manifest(expect) if expect else None
    resolver = FrameworkResolver(framework, library)
    spec = load_spec()
    framework_ref = None if framework is None else framework.source if isinstance(framework, Framework) else framework
    cache = ResultCache(cache_dir, {"spec": spec.data, "framework": framework_ref, "library": _file_digest(library),
                                    "rows": rows_layout()}) if cache_dir else None
    current = _framework_hashes(resolver)
    hashes = FileHashes(cache_dir) if cache_dir else None
    # a return with errors that this run leaves out needs no rows or tables made; its cache entry says so
    # (``left_out``) and is of no use to a run that includes such returns
    tabulate_failing = include_invalid
    keep_tables = keep_tables or cache is not None
    spool = _Spool(lambda path: examine(path, framework_ref, library))
    inputs: list[_Input] = []
    seen_content: dict[str, _Input] = {}
    cached: list[_Input] = []
    pending: list[_Input] = []
    for path in files:
        item = _identify(path, seen_content, spec, lang, hashes.sha256 if hashes else file_sha256)
        inputs.append(item)
        if item.state == INCLUDED:  # identified, not yet read
            (cached if cache is not None and cache.holds(_cache_key(item)) else pending).append(item)
    unusable: list[_Input] = []  # an entry there but of no use (made otherwise, damaged): read the file again
    # the entries are taken while the workers read the files without one (each is a step between their answers)
    taking = _take_cached(cached, cache, current, tabulate_failing, spool, lang, unusable)
    examined = 0
    for batch in (pending, unusable):
        for item, entry in _examine_all(batch, jobs, framework_ref, library, isolate, spool, tabulate_failing,
                                        keep_tables, between=taking if batch is pending else None):
            # a crash or overrun may not recur: never kept; nor a dataset read in parts (a province's returns)
            if cache and not entry.get("transient") and not entry.get("parts"):
                cache.put(_cache_key(item), entry)
            _apply(item, entry, spool, lang)
            examined += 1
            if progress:
                progress(len(inputs) - len(pending) - len(unusable) + examined, len(inputs))
        for _ in taking:  # the entries left when the workers were done (or there were none): then unusable is whole
            pass
    if hashes:
        hashes.save()
    year = _check_years(inputs, manifest)
    _settle_states(inputs, include_invalid, lang)
    _resolve_code_clashes(inputs, on_duplicate, lang)
    return _tabulate(inputs, manifest, expect, spec, lang, files, resolver, spool, year)


def _take_cached(items: list["_Input"], cache: "ResultCache", frameworks: dict[str, str], tabulated: bool,
                 spool: "_Spool", lang: str, unusable: list["_Input"]) -> Iterator[None]:
    """Each item's cache entry applied, one a step; an item whose entry cannot be used goes to ``unusable``."""
    for item in items:
        entry = cache.get(_cache_key(item), frameworks, tabulated=tabulated)
        try:
            if entry is not None:
                _apply(item, entry, spool, lang)
                yield None
                continue
        except (OSError, ValueError):  # its stored tables, needed now, are damaged: read the file again
            pass
        unusable.append(item)
        yield None


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
    hashes = builtin_hashes()
    if resolver.pinned is not None:
        hashes[resolver.pinned.id] = resolver.pinned.sha256
    return hashes


def _is_among(output: Path, files: list[Path]) -> bool:
    """Whether ``output`` is one of ``files`` (the same file by any name or link); one stat a file, not a
    resolve of every path (a re-merge of a thousand returns spent 0.1 s on that)."""
    try:
        target = os.stat(output)
    except OSError:  # not there yet: none of the inputs found is it
        return False
    for path in files:
        try:
            found = os.stat(path)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def _identify(path: Path, seen_content: dict[str, "_Input"], spec, lang: str,
              sha256: Callable[[Path], str] = file_sha256) -> "_Input":
    """Path checks and the content hash; exact copies of an earlier input are duplicates."""
    try:
        check_path(path, spec.limits)
        sha = sha256(path)
    except Refused as refusal:
        return _unreadable(path, "", refusal.finding(path), lang)
    except PermissionError:
        return _unreadable(path, "", Finding("READ_NO_PERMISSION", Location(str(path))), lang)
    except OSError as exc:
        finding = Finding("READ_NOT_WORKBOOK", Location(str(path)), params={"reason": exc.strerror or str(exc)})
        return _unreadable(path, "", finding, lang)
    if sha in seen_content:
        return _Input(path, sha, state=DUPLICATE, reason=reasons("same_file", other=seen_content[sha].shown))
    item = _Input(path, sha)
    seen_content[sha] = item
    return item


def _unreadable(path: Path, sha: str, finding: Finding, lang: str) -> "_Input":
    return _Input(path, sha, state=UNREADABLE, reason=finding_reasons(finding),
                  findings=[finding])


def _warm_up(framework_ref: str | None, library: str | None) -> None:
    """``checks.validate.warm_up``, and the summary's formats numbered, before the workers are forked."""
    warm_up(framework_ref, library)
    standard_formats()


def examine(path_text: str, framework_ref: str | None = None, library: str | None = None,
            part: tuple[int, int] | None = None, tabulate_failing: bool = True, keep_tables: bool = True) -> dict:
    """Read and check one input into an entry (JSON-able, but for its ``segments``). Runs in worker
    processes; never raises for a bad file (an unreadable one is an entry too).

    Paths inside an entry are the cache's ``HERE``, so a moved or copied file can reuse it; the rows in
    ``segments`` were made for ``rendered_for`` and are made again for any other path. ``part``: of a Parquet
    dataset, only the documents of these row groups (``parquet_parts``; the parts' entries are ``_combined``).
    ``tabulate_failing=False``: a whole file with errors (which a merge without ``include_invalid`` leaves out)
    gets only what its state and listing need (``left_out``), not its rows and tables. ``keep_tables=False``: a
    whole file's entry has the summary's rows but no ``tables`` (``merge_returns``' ``keep_tables``)."""
    resolver = worker_resolver(framework_ref, library)
    path = Path(path_text)
    try:
        documents = read_workbook(path, part=part)
    except UnreadableError as error:
        return _refused_entry(error, path_text)
    spec = load_spec()
    findings: list[Finding] = []
    frameworks: dict[str, str] = {}
    used: dict[str, Framework] = {}
    for doc in documents:
        found, framework_findings = resolver.for_document(doc)
        findings.extend(framework_findings)
        if found is None:
            findings.extend(doc.findings)
        else:
            findings.extend(check_document(doc, found, spec))
            frameworks[found.id], used[found.id] = found.sha256, found
    docs = _docs(documents)
    entry = {"unreadable": False, "findings": [finding_to_json(f, path_text) for f in findings],
             "saved": saved_time(path), "frameworks": frameworks, "docs": docs,
             "finding_rows": _finding_rows(findings, docs, path_text) if part is None else None}
    if not tabulate_failing and part is None and any(finding.is_error for finding in findings):
        return {**entry, "left_out": True}
    projects, indicators, carried = _tables(documents, spec.milestones)
    indicator_rows, data, data_columns = _rendered(indicators, carried)
    tally = indicator_tally(*zip(*((row[UNIT_CODE], row[LEVEL1], row[LEVEL2]) for row in indicators))) \
        if indicators else Counter()
    return {**entry,
            "project_rows": _project_rows(projects, used, findings, spec.milestones) if part is None else None,
            "projects": [_with_source_file(facts, _file(facts[FACT_FILE], path_text)) for facts in projects],
            "tally": [[*key, count] for key, count in tally.items()], "indicator_count": len(indicators),
            "tables": _tables_json(indicators, carried, path_text) if keep_tables or part is not None else None,
            "rendered_for": path_text, "segments": {"indicators": indicator_rows, "data": data},
            "data_columns": data_columns}


def _project_rows(projects: list[list], used: dict[str, Framework], findings: list[Finding],
                  milestones: list[str]) -> dict | None:
    """The return's rows of 项目汇总 as the summary will show them if the return is included, deflated
    (``rows.project_segments``), and their widths and totals (``ProjectFigures.state``), made here with the
    rest: the status it will then have, and the framework whose 一级 names count its indicators. The summary
    uses them when every included return's status and framework are those (``_prepared``), else makes every
    row itself. None unless the file's documents have one framework."""
    if len(used) != 1:
        return None
    framework = next(iter(used.values()))
    status = "invalid" if any(finding.is_error for finding in findings) else \
        INCLUDED_WITH_WARNINGS if findings else INCLUDED
    level1_names = list(framework.level1_names)
    rows = [_project_row(facts, level1_names, status) for facts in projects]
    columns = project_table(milestones, level1_names)
    return {"framework": framework.id, "status": status, "count": len(rows),
            "segments": list(project_segments(columns, rows)),
            "figures": ProjectFigures(columns, spent_keys(milestones), rows).state()}


def _tables_json(indicators: list[list], carried: list[dict], path_text: str) -> bytes:
    """The rows of 绩效指标明细 and the carried documents, paths as the cache's HERE, as JSON: passed on and
    kept as bytes, parsed only when the full tables are asked for (or a moved file's rows are made again)."""
    return json.dumps({
        "indicators": [[*row[:SOURCE_FILE], _file(row[SOURCE_FILE], path_text), *row[SOURCE_FILE + 1:]]
                       for row in indicators],
        "carried": [{**item, "file": _file(item["file"], path_text)} for item in carried],
    }, ensure_ascii=False).encode("utf-8")


_TABLES_HEAD, _CARRIED_HEAD = '{"indicators": ', ', "carried": '  # how _tables_json's text starts, its second key
_JSON = json.JSONDecoder()


def _tables_from_json(data: bytes, path_text: str, documents: bool = True) -> tuple[list[list], list[dict]]:
    """``_tables_json`` back, paths as they are here. ``documents=False``: the rows only; the documents after them
    (four fifths of the text, what the CSV files and the indicators' Parquet file do not need) are not parsed."""
    text = data.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
    if not text.startswith(_TABLES_HEAD):
        raise ValueError("not a return's tables")
    rows, end = _JSON.raw_decode(text, len(_TABLES_HEAD))
    indicators = [[*row[:SOURCE_FILE], _back(row[SOURCE_FILE], path_text), *row[SOURCE_FILE + 1:]] for row in rows]
    if not documents:
        return indicators, []
    if not text.startswith(_CARRIED_HEAD, end):
        raise ValueError("not a return's tables")
    carried, end = _JSON.raw_decode(text, end + len(_CARRIED_HEAD))
    if text[end:] != "}":
        raise ValueError("not a return's tables")
    return indicators, [{**item, "file": _back(item["file"], path_text)} for item in carried]


SOURCE_FILE = INDICATOR_COLUMNS.index("source_file")
UNIT_CODE, LEVEL1, LEVEL2 = (INDICATOR_COLUMNS.index(key) for key in ("unit_code", "level1", "level2"))


def _docs(documents: list[ReturnDocument]) -> list[dict]:
    """What every input's state and listing need of its documents: per document its unit, year, file, and its
    projects' codes and names."""
    docs = []
    for doc in documents:
        unit = doc.document.get("unit", {})
        typed = [[project.get("project_code"), project.get("project_name")]
                 for project in doc.document.get("projects", [])]
        sent = doc.meta.get("sent_projects") or []
        docs.append({"unit_code": unit.get("code"), "unit_name": unit.get("name"), "year": doc.document.get("year"),
                     "file": doc.meta.get("origin_file"),  # a document carried by a summary or dataset: its return
                     "projects": [s if s[0] else t for s, t in zip(sent, typed)] if len(sent) == len(typed) else typed})
    return docs


def _tables(documents: list[ReturnDocument], milestones: list[str]):
    """What the summary needs of a return's documents: the facts of each project, the rows of 绩效指标明细
    (lists in INDICATOR_COLUMNS order), the carried documents."""
    projects, indicators, carried = [], [], []
    for doc in documents:
        for index, project in enumerate(doc.document.get("projects", [])):
            projects.append(_project_facts(doc, index, project, milestones))
            indicators.extend(_indicator_rows(doc, index, project))
        carried.append(_carried(doc))
    return projects, indicators, carried


def _rendered(indicators: list[list], carried: list[dict]) -> tuple[Segment, Segment, int]:
    """A return's rows of 绩效指标明细 and of ``_data``, made for the summary (paths as they are given)."""
    data, data_columns = data_segment(carried_text(item) for item in carried)
    return indicator_segment(indicators), data, data_columns


def _refused_entry(error: UnreadableError, path_text: str) -> dict:
    return {"unreadable": True, "findings": [finding_to_json(error.finding, path_text)], "saved": None,
            "frameworks": {}, "finding_rows": _finding_rows([error.finding], [], path_text)}


def _finding_rows(findings: list[Finding], docs: list[dict], path_text: str) -> dict:
    """An input's rows of 校验问题 made where it is read, as ``_tabulate`` would make them of the findings it takes
    from the entry (through JSON, so made of those): the rows (Chinese, as the summary and the exports show them),
    each finding's message and hint in English (for a command line in English), the rows deflated for the summary
    and their widths (``_rendered_findings``). They name ``path_text`` (``for``)."""
    taken = [finding_from_json(finding_to_json(finding, path_text), path_text) for finding in findings]
    rows = _finding_table_rows(taken, docs, path_text)
    segments, widths = _rendered_findings(rows)
    return {"for": path_text, "rows": rows, "said": [list(finding.message_and_hint("en")) for finding in taken],
            "segments": segments, "widths": base64.b64encode(widths).decode("ascii")}


def _rendered_findings(rows: list[list]) -> tuple[list[Segment], bytes]:
    """Rows of 校验问题 deflated for the summary (``rows.finding_segments``) and their widths (``Widths.packed``):
    made alike by a worker for its input and by the merge for an input whose made rows are of no use."""
    widths = Widths(FINDING_TABLE)
    if rows:
        widths.measure(list(zip(*rows)))
    return list(finding_segments(rows)), widths.packed()


def _examine_all(items: list["_Input"], jobs: int | None, framework_ref: str | None, library, isolate: bool,
                 spool: "_Spool", tabulate_failing: bool = True, keep_tables: bool = True,
                 between: Iterator[object] | None = None):
    """(item, entry) for each item, in order; in worker processes when isolated or there are enough files.

    A Parquet dataset's documents are read in parts (``map_in_parts``), each part by a worker of its own, and
    the parts' entries combined as they come, their rows and tables put in ``spool`` at once: twenty thousand
    returns never in one process."""
    library = str(library) if library else None
    if items:
        _warm_up(framework_ref, library)
    tasks = [(str(item.path), framework_ref, library, tabulate_failing, keep_tables, None) for item in items]
    parts = map_in_parts(_examine_task, tasks, jobs, isolate, on_crash=_crashed_entry,
                         refused=lambda task, finding: _unreadable_entry(task[0], finding), between=between)
    for (count, entries), item in zip(parts, items):  # parts first: zip takes it to its end (map_in_parts)
        yield item, next(entries) if count <= 1 else _combined(entries, spool)


def _combined(entries: Iterator[dict], spool: "_Spool") -> dict:
    """One dataset's entry from its parts' (in order), each part's project facts, rows and tables put in the
    spool as it comes (``spooled``: one of each per part). The first unreadable part makes the dataset
    unreadable (the parts after it are still taken from the workers); parts without documents are dropped,
    and a dataset without any is its first part's entry."""
    combined = {"unreadable": False, "findings": [], "saved": None, "frameworks": {}, "docs": [], "projects": [],
                "tally": [], "indicator_count": 0, "indicator_counts": [], "document_counts": [], "tables": [],
                "rendered_for": None,
                "segments": {"indicators": [], "data": []}, "data_columns": 0, "parts": 0, "spooled": True}
    broken = empty = None
    for entry in entries:
        if broken is not None or entry["unreadable"]:
            broken = broken or entry
            continue
        combined["findings"] += entry["findings"]
        if not entry["docs"]:
            empty = empty or entry
            continue
        path = entry["rendered_for"]
        combined["parts"] += 1
        combined["saved"], combined["rendered_for"] = entry["saved"], path
        combined["frameworks"].update(entry["frameworks"])
        combined["docs"] += entry["docs"]
        combined["projects"].append(spool.put(_pickled(_facts_back(entry["projects"], path))))
        combined["tally"] += entry["tally"]
        combined["indicator_count"] += entry["indicator_count"]
        combined["indicator_counts"].append(entry["indicator_count"])
        combined["document_counts"].append(len(entry["docs"]))
        combined["tables"].append(spool.put(entry["tables"]))
        for name, segment in entry["segments"].items():
            combined["segments"][name].append(spool.put_segment(segment, name))
        combined["data_columns"] = max(combined["data_columns"], entry["data_columns"])
    if broken is not None:
        return broken
    return combined if combined["parts"] else {**empty, "findings": combined["findings"], "parts": 1}


def _facts_back(projects: list[list], path: str) -> list[list]:
    """An entry's project facts with their source file as it is here (entries say ``HERE``)."""
    return [_with_source_file(facts, _back(facts[FACT_FILE], path)) for facts in projects]


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _examine_task(task: tuple) -> dict:
    """``examine`` of (path, framework, library, tabulate_failing, keep_tables, part): ``map_in_parts`` puts
    the part last."""
    path, framework_ref, library, tabulate_failing, keep_tables, part = task
    return guarded(path, lambda: examine(path, framework_ref, library, part, tabulate_failing, keep_tables),
                   lambda finding: _unreadable_entry(path, finding))


def _crashed_entry(task: tuple, crash: Crash) -> dict:
    return _unreadable_entry(task[0], crash_finding(task[0], crash))


def _unreadable_entry(path: str, finding: Finding) -> dict:
    return {"unreadable": True, "findings": [finding_to_json(finding, path)], "saved": None, "frameworks": {},
            "transient": True, "finding_rows": _finding_rows([finding], [], path)}


@dataclass(frozen=True)
class _MadeFindings:
    """An input's rows of 校验问题 as its entry made them (``_finding_rows``), their segments in the spool: of use
    while the input's findings are the entry's (the same list, as long: the merge adds one to a return of another
    year, ``_check_years``)."""

    findings: list[Finding]
    rows: list[list]
    said: list[list[str]]
    segments: list[tuple]
    widths: bytes  # ``Widths.packed``

    def of_use(self, item: _Input) -> bool:
        return item.findings is self.findings and len(self.findings) == len(self.rows)


def _made_findings(findings: list[Finding], made: dict, spool: _Spool) -> _MadeFindings | None:
    """An entry's rows of 校验问题 (``_finding_rows``), their segments put in the spool; None if they are not as
    made (one of them, or one text, for each finding; widths of 校验问题's columns)."""
    try:
        rows, said, widths = made["rows"], made["said"], base64.b64decode(made["widths"], validate=True)
        if not (len(rows) == len(said) == len(findings)) or len(widths) != len(_FINDING_WIDTHS):
            return None
        return _MadeFindings(findings, rows, said, [spool.put_segment(segment, "findings")
                                                    for segment in made["segments"]], widths)
    except (KeyError, TypeError, ValueError):
        return None


_FINDING_WIDTHS = Widths(FINDING_TABLE).packed()  # what an input's measured widths of 校验问题 are packed into


def _apply(item: "_Input", entry: dict, spool: "_Spool", lang: str) -> None:
    """Take what an entry says of ``item``: the small facts are kept, the rows go to the spool."""
    path = str(item.path)
    item.findings = [finding_from_json(f, path) for f in entry["findings"]]
    made = entry.get("finding_rows")
    if made and made["for"] == path:
        item.finding_rows = _made_findings(item.findings, made, spool)
    if entry["unreadable"]:
        unreadable = _unreadable(item.path, item.sha256, item.findings[0], lang)
        item.state, item.reason = unreadable.state, unreadable.reason
        return
    item.saved = entry["saved"]
    item.framework_ids = list(entry["frameworks"])
    item.docs = entry["docs"]
    if entry.get("left_out"):  # has errors, and is left out: nothing of it is tabulated
        return
    if entry.get("spooled"):  # a dataset read in parts (``_combined``): its facts, rows and tables are there
        item.projects, item.tables, item.segments = entry["projects"], entry["tables"], entry["segments"]
    else:
        item.projects = [spool.put(_pickled(_facts_back(entry["projects"], path)))]
    item.tally = Counter()
    for code, level1, level2, count in entry["tally"]:  # a dataset's parts may each count one unit
        item.tally[(code, level1, level2)] += count
    item.indicator_count = entry["indicator_count"]
    item.segment_counts = entry.get("indicator_counts") or [item.indicator_count]
    item.segment_documents = entry.get("document_counts") or [len(item.docs)]
    item.data_columns = entry["data_columns"]
    if entry.get("spooled"):
        return
    tables = entry["tables"]
    if entry["rendered_for"] == path:
        segments, item.data_columns = entry["segments"], entry["data_columns"]
        made = entry.get("project_rows")
        if made:
            item.project_rows = (made["framework"], made["status"], made["count"],
                                 [spool.put_segment(segment, "projects") for segment in made["segments"]],
                                 made.get("figures"))
    else:  # a cached entry of the same content under another name: its rows name the other file
        tables = tables.read() if isinstance(tables, StoredTables) else tables
        indicator_rows, data, item.data_columns = _rendered(*_tables_from_json(tables, path))
        segments = {"indicators": indicator_rows, "data": data}
    item.segments = {name: [spool.put_segment(segment, name)] for name, segment in segments.items()}
    item.tables = tables if tables is None or isinstance(tables, StoredTables) else [spool.put(tables)]


@dataclass(frozen=True)
class _Stored:
    """Where an included input's tables are, once the merge is done with the input itself."""

    path: Path
    sha256: str
    tables: list[tuple[int, int]] | StoredTables | None


RUN_BYTES = 1 << 20  # segments that follow each other in the spool are read together, this much at most


class _SpooledSegments:
    """Segments left in the spool, read each time they are written into a summary: those that follow each other
    there (a table's, from the returns in their order) a run at a time, not one read each (a thousand returns'
    three big tables are 3,000 segments)."""

    def __init__(self, spool: "_Spool", stored: list[tuple[int, int, int, int, str]]):
        self.spool, self.stored = spool, stored

    def __iter__(self):
        stored, index = self.stored, 0
        while index < len(stored):
            where, length, _, _, table = stored[index]
            end, last = where + length, index + 1
            while last < len(stored) and stored[last][0] == end and stored[last][4] == table \
                    and end - where < RUN_BYTES:
                end += stored[last][1]
                last += 1
            run, at = self.spool.get_segments(table, where, end - where), 0
            for _, length, crc, size, _ in stored[index:last]:
                yield Segment(run[at:at + length], crc, size)
                at += length
            index = last


class _Appended:
    """An anonymous temporary file, written at its end and read anywhere."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="xlperf-merge-")
        self.end, self.at_end = 0, True  # what is written; whether the file is positioned there (no get since)
        weakref.finalize(self, self.file.close)  # lives as long as a result (or a copy of it) reads it

    def put(self, data: bytes) -> tuple[int, int]:
        if not self.at_end:  # a seek writes out what is buffered: a re-merge puts thousands of small segments
            self.file.seek(self.end)
            self.at_end = True
        at = self.end
        self.file.write(data)
        self.end += len(data)
        return at, len(data)

    def get(self, where: int, length: int) -> bytes:
        self.at_end = False
        self.file.seek(where)
        return self.file.read(length)


class _Spool:
    """What the merge does not keep in memory (every indicator row, every carried document), in an
    anonymous temporary file that disappears with the merge's result, or left in the cache."""

    def __init__(self, examine_again: Callable[[str], dict]):
        self.main = _Appended()
        self.segments: dict[str, _Appended] = {}  # each table's rows apart: read back in runs
        self.examine_again = examine_again

    def __deepcopy__(self, memo) -> "_Spool":
        return self  # written once by the merge, only read after it: copies of a result share it

    def tables(self, item: "_Input | _Stored") -> Iterator[bytes]:
        """The item's tables as JSON bytes, one for each part read. Tables not kept (``keep_tables``), or a cache
        entry damaged since the merge used it: the file is read again, and must still be what the merge read."""
        if isinstance(item.tables, list):
            return map(self.get, item.tables)
        if item.tables is not None:
            try:
                return iter([item.tables.read()])
            except (OSError, ValueError):
                pass
        if file_sha256(item.path) != item.sha256:
            raise UsageError(key="input_changed", path=item.path)
        entry = self.examine_again(str(item.path))
        if entry["unreadable"]:
            raise UsageError(key="input_gone", path=item.path)
        return iter([entry["tables"]])

    def put(self, data: bytes) -> tuple[int, int]:
        return self.main.put(data)

    def get(self, span: tuple[int, int]) -> bytes:
        return self.main.get(*span)

    def put_segment(self, segment: Segment, table: str) -> tuple[int, int, int, int, str]:
        """A segment of ``table``'s rows put here, as ``_SpooledSegments`` reads it back: (where, length, crc,
        size, table)."""
        appended = self.segments.get(table)
        if appended is None:
            appended = self.segments[table] = _Appended()
        return (*appended.put(segment.data), segment.crc, segment.size, table)

    def get_segments(self, table: str, where: int, length: int) -> bytes:
        return self.segments[table].get(where, length)


def _check_years(inputs: list[_Input], manifest: dict | None) -> int | None:
    """The budget year of the run: the manifest's, else the one most returns are for (the later one on a
    tie). A return of another year is an error finding on it, never a silent pick."""
    counts = Counter(doc.get("year") for item in inputs if item.state == INCLUDED for doc in item.docs
                     if isinstance(doc.get("year"), int))
    year = manifest.get("year") if manifest and isinstance(manifest.get("year"), int) else \
        max(counts, key=lambda y: (counts[y], y)) if counts else None
    if year is None:
        return None
    for item in inputs:
        if item.state != INCLUDED:
            continue
        others = sorted({doc.get("year") for doc in item.docs if isinstance(doc.get("year"), int)} - {year})
        for other in others:
            item.findings.append(Finding("READ_YEAR_MISMATCH", Location(item.shown), "year", other,
                                         {"expected": year}))
    return year


def _settle_states(inputs: list[_Input], include_invalid: bool, lang: str) -> None:
    for item in inputs:
        if item.state != INCLUDED:
            continue
        if item.errors and not include_invalid:
            item.state, item.reason = EXCLUDED, reasons("errors", errors=item.errors)
        elif item.errors:
            item.state, item.reason = INCLUDED_WITH_WARNINGS, reasons("errors_kept", errors=item.errors)
        elif item.findings:
            item.state = INCLUDED_WITH_WARNINGS


def _codes(item: _Input) -> set[str]:
    return {code for doc in item.docs for code, _ in doc["projects"] if isinstance(code, str)}


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
                    older.reason = reasons("replaced", codes=shared, other=newest.shown)
                    newest.reason = reasons("replaces", other=older.shown)
        return
    clashing: dict[int, tuple[_Input, set[str], set[str]]] = {}
    for code, items in clashes.items():
        for item in items:
            entry = clashing.setdefault(id(item), (item, set(), set()))
            entry[1].add(code)
            entry[2].update(other.shown for other in items if other is not item)
    for item, codes, others in clashing.values():
        item.state = EXCLUDED
        item.reason = reasons("code_clash", codes="、".join(sorted(codes)), other="、".join(sorted(others)))


def _load_manifest(expect: str | Path) -> dict:
    try:
        manifest = json.loads(Path(expect).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(key="manifest_unreadable", path=expect, error=exc) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "xlperf-manifest":
        raise UsageError(key="not_a_manifest", path=expect)
    return manifest


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def _tabulate(inputs: list[_Input], manifest: dict | None, expect, spec, lang: str, files: list[Path],
              resolver: FrameworkResolver, spool: _Spool, year: int | None) -> Consolidation:
    framework_id = next((framework_id for item in inputs for framework_id in item.framework_ids), None)
    framework = resolver.by_id(framework_id) if framework_id else None
    milestones = spec.milestones
    level1_names = list(framework.level1_names) if framework else []
    included = [item for item in inputs if item.state in (INCLUDED, INCLUDED_WITH_WARNINGS)]
    project_columns = consolidation_project_columns(milestones, level1_names)
    project_table, unit_names, tally = _project_table(included, project_columns, level1_names, spool)
    # the tables are for the summary and the report, read in Chinese whatever the command line's language;
    # what the command line prints of them is kept in its language too
    finding_rows = SpooledTable(FINDING_COLUMNS)
    translated_findings = None if lang == "zh" else SpooledTable(["message", "hint"])
    finding_widths, made_widths, finding_segments_at = Widths(FINDING_TABLE), [], []
    for item in inputs:
        made = item.finding_rows
        if made is not None and made.of_use(item):
            finding_rows.extend(made.rows)
            if translated_findings is not None:  # any language but Chinese is English
                translated_findings.extend(made.said)
            made_widths.append(made.widths)
            finding_segments_at += made.segments
            continue
        for start in range(0, len(item.findings), FINDING_SEGMENT_ROWS):  # findings the merge added, or rows that
            findings = item.findings[start:start + FINDING_SEGMENT_ROWS]  # name another file: made here
            rows = _finding_table_rows(findings, item.docs, item.shown)
            finding_rows.extend(rows)
            if translated_findings is not None:
                translated_findings.extend(list(finding.message_and_hint(lang)) for finding in findings)
            segments, widths = _rendered_findings(rows)
            made_widths.append(widths)
            finding_segments_at += [spool.put_segment(segment, "findings") for segment in segments]
    finding_widths.take_packed(made_widths)
    translated = None if lang == "zh" else {
        "findings": translated_findings, "inputs": [{"reason": item.reason[lang]} for item in inputs]}
    input_rows = [_input_row(item) for item in inputs]
    saved_times = [item.saved for item in inputs if item.saved]

    prepared = _prepared(included, spool, tally, unit_names, framework.id if framework else None, milestones,
                         level1_names)
    prepared.finding_rows = lambda: iter(_SpooledSegments(spool, finding_segments_at))
    prepared.finding_widths = finding_widths.result()
    consolidation = Consolidation(
        year=year,
        framework=framework.id if framework else (manifest.get("framework") if manifest else None),
        milestones=milestones,
        level1_names=level1_names,
        level2_tree={k: list(v) for k, v in framework.categories.items()} if framework else {},
        projects=project_table, findings=finding_rows, inputs=input_rows,
        missing=_missing(inputs, manifest) if manifest else [], columns={"projects": project_columns},
        made_from=f"{len(files)} 个文件",
        data_as_of=max(saved_times) if saved_times else None,
        expect=str(expect) if expect else None,
        lang=lang, translated=translated,
        prepared=prepared,
    )
    for item in inputs:  # tabulated: what is left of them is in the tables and the spool
        item.docs, item.findings, item.finding_rows = [], [], None
    return consolidation


def _project_table(included: list[_Input], project_columns: list[str], level1_names: list[str], spool: "_Spool"
                   ) -> tuple[DeferredTable, dict[str, str], Counter]:
    """项目汇总, made when first read (a summary with its rows and figures made ahead never reads it) and then
    kept out of memory (``SpooledTable``: twenty thousand returns' projects are 160,000 rows); the unit names by
    code and the indicator tally. Each item gives up its facts to it."""
    unit_names, tally = {}, Counter()
    facts_at = [(_status(item), item.projects) for item in included]
    count = 0
    for item in included:
        for doc in item.docs:
            count += len(doc["projects"])  # a project's facts for each project a document has (``_tables``)
            if doc["projects"]:
                unit_names.setdefault(unit_text(doc["unit_code"]), unit_text(doc["unit_name"]))
        tally.update(item.tally)
        item.projects, item.tally = [], Counter()  # tabulated

    def make() -> SpooledTable:
        table = SpooledTable(project_columns)
        for status, spans in facts_at:
            for span in spans:
                for facts in pickle.loads(spool.get(span)):
                    table.append(_project_row(facts, level1_names, status))
        if len(table) != count:
            raise RuntimeError(f"项目汇总 has {len(table)} rows, its returns {count} projects")
        return table

    return DeferredTable(project_columns, count, make), unit_names, tally


def _status(item: _Input) -> str:
    """An included input's status in 项目汇总."""
    return "invalid" if item.errors else item.state


def _input_row(item: _Input) -> dict:
    """One input as 汇总说明's list of inputs shows it."""
    return {
        "file": item.shown, "state": item.state, "reason": item.reason["zh"],
        "unit_code": "、".join(sorted({str(doc["unit_code"]) for doc in item.docs})) or None,
        "unit_name": "、".join(sorted({str(doc["unit_name"]) for doc in item.docs})) or None,
        "projects": sum(len(doc["projects"]) for doc in item.docs),
        "errors": item.errors, "warnings": len(item.findings) - item.errors,
        "saved": item.saved, "sha256": item.sha256,
    }


def _prepared(included: list[_Input], spool: _Spool, tally: Counter, unit_names: dict[str, str],
              framework_id: str | None, milestones: list[str], level1_names: list[str]) -> Prepared:
    """The rows made ahead in the workers, read back from the spool as the summary writes them."""

    stored = [_Stored(item.path, item.sha256, item.tables) for item in included]  # not the items: they go

    def iter_indicators():
        for item in stored:
            for tables in spool.tables(item):
                yield from _tables_from_json(tables, str(item.path), documents=False)[0]

    def iter_documents():
        for item in stored:
            for tables in spool.tables(item):
                yield from _tables_from_json(tables, str(item.path))[1]

    indicator_parts = [(segment, count, documents) for item in included for segment, count, documents
                       in zip(item.segments["indicators"], item.segment_counts, item.segment_documents) if count]
    made = [item.project_rows for item in included]
    project_rows = figures = None
    if all(rows is not None and rows[:2] == (framework_id, _status(item)) for rows, item in zip(made, included)):
        def project_rows():
            return iter(_SpooledSegments(spool, [segment for _, _, _, segments, _ in made for segment in segments]))
        figures = ProjectFigures(project_table(milestones, level1_names), spent_keys(milestones))
        try:
            figures.take_all(state for *_, state in made)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):  # an entry's figures not as made: the
            project_rows = figures = None  # summary makes the rows and reads their figures itself

    return Prepared(
        indicator_segments=_SpooledSegments(spool, [segment for segment, _, _ in indicator_parts]),
        data_segments=_SpooledSegments(spool, [segment for item in included if item.docs
                                               for segment in item.segments["data"]]),
        indicator_count=sum(item.indicator_count for item in included),
        document_count=sum(len(item.docs) for item in included),
        data_columns=max((item.data_columns for item in included), default=0),
        pairs=tally, unit_names=unit_names, iter_indicators=iter_indicators, iter_documents=iter_documents,
        project_rows=project_rows, project_figures=figures,
        indicator_counts=[count for _, count, _ in indicator_parts],
        indicator_documents=[documents for _, _, documents in indicator_parts])


def _project_facts(doc: ReturnDocument, index: int, project: dict, milestones: list[str]) -> list:
    """A project's row of 项目汇总 but for its status and counts by 一级: unit code and name, project code and
    name, budget, fiscal, other, the plan's percentages then amounts per milestone, the indicator count, source
    file and sheet, and the count of each 一级 (a dict). A list: a thousand returns' projects pass through."""
    unit = doc.document.get("unit", {})
    budget = _number(project.get("budget_total"))
    plan = project.get("spending_plan") or {}
    percents = [_number(plan.get(milestone)) for milestone in milestones]
    # money to the cent, as the summary shows it, so that its totals are the sums of the rows shown
    amounts = [_money(budget * pct / 100) if pct is not None and budget is not None else None for pct in percents]
    indicators = project.get("indicators") or []
    location = doc.location(pointer("projects", index))
    return [unit.get("code"), unit.get("name"), project.get("project_code"), project.get("project_name"),
            _money(budget), _money(_number(project.get("fiscal"))), _money(_number(project.get("other"))),
            *percents, *amounts,
            len(indicators), location.file or doc.path, location.sheet,  # FACT_TAIL, in its order
            dict(Counter(i.get("level1") for i in indicators if isinstance(i.get("level1"), str)))]


def _money(amount: float | None) -> float | None:
    return None if amount is None else float(cents(amount))


# A project's facts (``_project_facts``) end with these, after its 项目汇总 values; read by these names,
# never by counting from the end
FACT_TAIL = ("indicator_count", "source_file", "source_sheet", "level1_counts")  # unpacked so in _project_row
FACT_FILE = FACT_TAIL.index("source_file") - len(FACT_TAIL)


def _with_source_file(facts: list, source_file: object) -> list:
    changed = list(facts)
    changed[FACT_FILE] = source_file
    return changed


def _project_row(facts: list, level1_names: list[str], status: str) -> list:
    """A project's facts (``_project_facts``) as its row of 项目汇总 (``consolidation.project_columns``)."""
    *head, indicator_count, source_file, source_sheet, level1_counts = facts  # FACT_TAIL, in its order
    return [*head, *map(level1_counts.get, level1_names, repeat(0)), indicator_count, status, source_file,
            source_sheet]


def _indicator_rows(doc: ReturnDocument, index: int, project: dict) -> list[list]:
    """The project's rows of 绩效指标明细, values in INDICATOR_COLUMNS order."""
    unit = doc.document.get("unit", {})
    owner = [unit.get("code"), unit.get("name"), project.get("project_code"), project.get("project_name")]
    indicators = pointer("projects", index, "indicators")  # then "/<number>/target": nothing there to escape
    rows = []
    for number, indicator in enumerate(project.get("indicators") or []):
        text = indicator.get("target")
        target = parsed_target(text) if isinstance(text, str) else None
        location = doc.location(f"{indicators}/{number}/target")
        rows.append([*owner, indicator.get("level1"), indicator.get("level2"), indicator.get("name"),
                     indicator.get("description"), text,
                     *((target.operator, target.number, target.unit, target.kind) if target else _NO_TARGET),
                     indicator.get("basis"), location.file or doc.path, location.sheet, location.cell])
    return rows


_NO_TARGET = (None, None, None, None)  # operator, number, unit, kind


def _finding_table_rows(findings: list[Finding], docs: list[dict], shown: str) -> list[list]:
    """Rows of 校验问题 (FINDING_COLUMNS order, texts in Chinese) of an input's findings: its documents' unit codes
    on each, or the code of the return a summary or a dataset carries (by the return's file, as its findings
    name it or as the document is known while read): a finding is its own return's, not the whole input's
    (twenty thousand codes on every row)."""
    unit_codes = "、".join(sorted({str(doc["unit_code"]) for doc in docs})) or None
    own = {}
    for doc in docs:
        if doc.get("file"):
            own[str(doc["file"])] = own[f"{shown}::{doc['file']}"] = str(doc["unit_code"])
    rows = []
    for finding in findings:
        location = finding.location
        rows.append([location.file or shown, own.get(location.file, unit_codes), finding.level.value, finding.code,
                     location.sheet, location.cell, finding.field,
                     None if finding.value is None else str(finding.value), *finding.message_and_hint("zh")])
    return rows


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
            returned.setdefault(str(doc["unit_code"]), set()).update(code for code, _ in doc["projects"] if code)
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
            code = str(doc["unit_code"])
            unexpected = [(project_code, name) for project_code, name in doc["projects"]
                          if project_code not in sent_units.get(code, set())]
            if code not in sent_units or unexpected:
                for project_code, name in unexpected or [(None, None)]:
                    rows.append({"kind": "unexpected", "unit_code": code, "unit_name": doc["unit_name"],
                                 "project_code": project_code, "project_name": name, "file": item.shown})
    return rows
