"""Hostile inputs: every bad file gives one clear line, never a traceback, never a crash, and never
changes what the good files next to it give.

Each case runs the real command line (``python -m xlperf``) in a subprocess under an address-space
limit and a timeout, on a folder holding the bad file and a copy of one good return. The files are
built at test time by ``hostile.py``; expected texts are built from ``xlperf.core.findings.CATALOG``.
"""
from __future__ import annotations

import builtins
import csv
import http.server
import io
import json
import os
import re
import resource
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import hostile
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xlperf.intake import safety
from xlperf.core.findings import CATALOG, Finding, Location
from xlperf.cli.output import finding_lines, results_json, results_text
from xlperf.core.messages import say as word
from xlperf.framework.spec import load_spec
from xlperf.checks.validate import validate_paths

ROOT = Path(__file__).resolve().parents[2]
# Address space for each command. A normal run needs ~250 MB here (python, pandas, calamine); the
# bombs must stay within it as well. BLAS threads are pinned to one so the bound does not scale with
# the machine's core count (OpenBLAS reserves a buffer per thread).
MEMORY_LIMIT = 2 * 1024 ** 3
TIMEOUT = 60  # seconds per command; a run near it fails the test
PRLIMIT = shutil.which("prlimit")
LIMITS = load_spec().limits
MEASURED: dict[str, dict] = {}  # case → elapsed seconds and peak RSS, printed at the end (pytest -s)


# --- running the command line ----------------------------------------------------------------------------

@dataclass
class Run:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    max_rss_kb: int

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


# Linux hands a child the peak RSS of the process it was forked from (here pytest), so the command is
# started from a small launcher that forks it and reports the grandchild's own peak from wait4.
LAUNCHER = """import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


def run_xlperf(*args, label: str | None = None) -> Run:
    """``python -m xlperf ARGS --lang en`` under the memory limit and the timeout; records its peak RSS."""
    import tempfile

    command = [sys.executable, "-m", "xlperf", *map(str, args), "--lang", "en"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    with open(os.devnull, "rb") as stdin, _Capture() as out, _Capture() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        launched = [sys.executable, "-c", LAUNCHER, rss.name, *command]
        if PRLIMIT:
            launched = [PRLIMIT, f"--as={MEMORY_LIMIT}", *launched]
        started = time.monotonic()
        process = subprocess.Popen(launched, stdin=stdin, stdout=out.handle, stderr=err.handle, cwd=ROOT, env=env,
                                   start_new_session=True, preexec_fn=None if PRLIMIT else _limit_memory)
        timer = threading.Timer(TIMEOUT, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, _ = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        max_rss_kb = int(rss.read() or 0)
    run = Run(command, process.returncode, out.text, err.text, elapsed, max_rss_kb)
    if label:
        MEASURED[label] = {"seconds": round(elapsed, 2), "max_rss_mb": round(max_rss_kb / 1024, 1),
                           "exit": run.returncode}
    assert elapsed < TIMEOUT, f"{command} took {elapsed:.0f} s (killed at {TIMEOUT} s)"
    return run


class _Capture:
    def __enter__(self):
        import tempfile

        self.handle = tempfile.TemporaryFile()
        return self

    def __exit__(self, *exc_info):
        self.handle.seek(0)
        self.text = self.handle.read().decode("utf-8", "replace")
        self.handle.close()
        return False


def assert_clean_stderr(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert "internal error" not in run.stderr, run.stderr
    assert "panicked" not in run.stderr, run.stderr
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: {run.stderr[-2000:]}"
    assert run.stderr.strip() == "", run.stderr


# --- expected texts, from the catalog --------------------------------------------------------------------

def catalog_pattern(code: str, separator: str = "; ", **known) -> str:
    """A regex for ``message; hint`` of ``code`` in English: known parameters exactly, others as groups."""
    entry = CATALOG[code]
    pattern, groups = "", set()
    for literal, name, _, _ in string.Formatter().parse(f"{entry.en}{separator}{entry.hint_en}"):
        pattern += re.escape(literal)
        if name is None:
            continue
        if name in known:
            pattern += re.escape(str(known[name]))
        elif name in groups:
            pattern += f"(?P={name})"
        else:
            groups.add(name)
            pattern += f"(?P<{name}>.+?)"
    return pattern


def unreadable_line(path: Path, code: str, **known) -> re.Pattern:
    return re.compile(rf"{re.escape(str(path))}: {re.escape(word('unreadable', 'en'))} — {catalog_pattern(code, **known)}")


def lines_naming(run: Run, path: Path) -> list[str]:
    return [line for line in run.lines if str(path) in line]


def file_block(run: Run, path: Path, folder: Path) -> list[str]:
    """A file's heading and its indented finding lines, with the folder's path replaced by <DIR>."""
    block, inside = [], False
    for line in run.lines:
        if line.startswith(f"{path}:"):
            inside = True
        elif inside and not line.startswith(" "):
            break
        if inside:
            block.append(line.replace(str(folder), "<DIR>"))
    return block


def file_hashes(folder: Path, extra: list[Path] = ()) -> dict[str, str]:
    hashes = {}
    for path in sorted([*folder.rglob("*"), *extra]):
        if path.is_file():  # broken links and folders have no content to change
            hashes[str(path)] = hostile.file_sha256(path)
    return hashes


# --- the world the cases live in: a canary file and a local web server that must never be asked ----------

class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).requests.append(self.path)
        body = hostile.CANARY_SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@dataclass
class World:
    root: Path
    canary: Path
    url: str
    requests: list[str]
    folders: dict[str, tuple[Path, Path, list[Path]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    canary = root / "canary.txt"
    canary.write_text(hostile.CANARY_SECRET)
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield World(root, canary, f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests)
    server.shutdown()
    server.server_close()
    if MEASURED:
        print("\nhostile inputs: elapsed seconds and peak RSS per command")
        for label, figures in sorted(MEASURED.items()):
            print(f"  {label:45} {figures}")


@pytest.fixture(scope="module")
def baseline(world):
    """The good return alone: what validate says about it, and what merge makes of it."""
    folder = world.root / "baseline"
    folder.mkdir()
    good = folder / hostile.GOOD.name
    shutil.copy(hostile.GOOD, good)
    validate = run_xlperf("validate", folder, label="baseline validate")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    result = {"folder": folder, "block": file_block(validate, good, folder), "validate": validate}
    out = world.root / "baseline-out"
    merge = run_xlperf("merge", folder, "-o", out / "summary.xlsx", "--json", out / "summary.json",
                       "--csv", out / "csv", label="baseline merge")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    result["merge"] = good_return_data(out / "summary.json", folder)
    return result


def good_return_data(json_path: Path, folder: Path) -> dict:
    """What the good return (unit 471002) contributes to a merge, with its folder replaced by <DIR>."""
    data = json.loads(json_path.read_text(encoding="utf-8").replace(str(folder), "<DIR>"))
    unit = "471002"
    return {
        "projects": [row for row in data["projects"] if row["unit_code"] == unit],
        "indicators": [row for row in data["indicators"] if row["unit_code"] == unit],
        "inputs": [row for row in data["inputs"] if row["unit_code"] == unit],
        "documents": [doc for doc in data["documents"] if doc["document"]["unit"]["code"] == unit],
    }


# --- the cases -------------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    code: str | None = None  # the one finding of an unreadable file
    known: dict = field(default_factory=dict)  # parameters of its message that are known in advance
    findings: tuple[str, ...] = ()  # codes a readable bad file must show
    validate_exit: int = 2
    merge_exit: int = 1
    merge_state: str = "unreadable"
    summary: dict = field(default_factory=lambda: {"clean": 1, "warned": 0, "failed": 0, "unreadable": 1})

    def build(self, folder: Path, world: World) -> Path:
        builder = getattr(hostile, self.name)
        if self.name == "xxe_file":
            return builder(folder, world.canary)
        if self.name == "xxe_url":
            return builder(folder, world.url)
        return builder(folder)


CASES = [
    Case("empty_file", "READ_EMPTY_FILE"),
    Case("random_bytes", "READ_NOT_WORKBOOK", {"reason": "unknown binary format"}),
    Case("truncated_xlsx", "READ_DAMAGED"),
    Case("docx_renamed", "READ_WRONG_KIND", {"kind": "a Word document"}),
    Case("csv_renamed", "READ_TEXT_FILE"),
    Case("folder_named_xlsx", "READ_IS_FOLDER"),
    Case("broken_symlink", "READ_BROKEN_LINK"),
    Case("symlink_outside", "READ_SYMLINK"),
    Case("zip_bomb", "READ_LIMIT", {"limit_name": "max_part_bytes", "limit": LIMITS.max_part_bytes}),
    Case("many_sheets", "READ_LIMIT", {"limit_name": "max_sheets", "limit": LIMITS.max_sheets, "seen": 600}),
    Case("far_cell", "READ_LIMIT", {"limit_name": "max_rows", "limit": LIMITS.max_rows, "seen": 1048576}),
    Case("full_grid_dimension", "READ_LIMIT", {"limit_name": "max_rows", "limit": LIMITS.max_rows}),
    Case("huge_shared_strings", "READ_LIMIT", {"limit_name": "max_part_bytes", "limit": LIMITS.max_part_bytes}),
    Case("billion_laughs", "READ_UNSAFE_XML", {"part": "xl/workbook.xml"}),
    Case("xxe_file", "READ_UNSAFE_XML", {"part": hostile.unit_sheet_part()}),
    Case("xxe_url", "READ_UNSAFE_XML", {"part": "docProps/core.xml"}),
    Case("encrypted", "READ_ENCRYPTED"),
    Case("legacy_xls", "READ_XLS_REFUSED"),
    Case("macro_enabled", findings=("READ_HAS_MACROS",), validate_exit=0, merge_exit=0,
         merge_state="included_with_warnings", summary={"clean": 1, "warned": 1, "failed": 0, "unreadable": 0}),
    Case("external_links", findings=("READ_HAS_LINKS",), validate_exit=0, merge_exit=0,
         merge_state="included_with_warnings", summary={"clean": 1, "warned": 1, "failed": 0, "unreadable": 0}),
    Case("content_nasties", findings=("VALUE_OUT_OF_RANGE", "VALUE_NOT_NUMBER", "READ_PREFILLED_CHANGED",
                                      "TEXT_TOO_LONG"),
         validate_exit=1, merge_exit=1, merge_state="excluded",
         summary={"clean": 1, "warned": 0, "failed": 1, "unreadable": 0}),
    Case("formula_injection", validate_exit=0, merge_exit=0, merge_state="included",
         summary={"clean": 2, "warned": 0, "failed": 0, "unreadable": 0}),
]


def make_case_folder(case: Case, world: World) -> tuple[Path, Path, list[Path]]:
    """The case's folder (the bad file and a copy of the good return), the bad path, and files outside."""
    if case.name not in world.folders:
        folder = world.root / case.name
        folder.mkdir()
        shutil.copy(hostile.GOOD, folder / hostile.GOOD.name)
        bad = case.build(folder, world)
        outside = sorted((world.root / f"{case.name}-outside").glob("*"))
        world.folders[case.name] = (folder, bad, outside)
    return world.folders[case.name]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(case, world, baseline):
    folder, bad, outside = make_case_folder(case, world)
    good = folder / hostile.GOOD.name
    before = file_hashes(folder, outside)

    run = run_xlperf("validate", folder, label=f"{case.name} validate")
    assert_clean_stderr(run)
    assert run.returncode == case.validate_exit, run.stdout
    naming = lines_naming(run, bad)
    if case.code:
        assert len(naming) == 1, run.stdout  # one line: the file, what is wrong, what to do
        match = unreadable_line(bad, case.code, **case.known).fullmatch(naming[0])
        assert match, f"{naming[0]!r}\n does not match the catalog's {case.code}"
        if case.code == "READ_LIMIT":
            assert int(match.groupdict().get("seen") or case.known["seen"]) > case.known["limit"]
    else:
        check_readable_bad_file(case, run, bad)
    assert file_block(run, good, folder) == baseline["block"], "the good file's report changed"
    if case.name.startswith("xxe"):
        assert_no_canary(world, [run.stdout, run.stderr], [])
    assert run.lines[-1] == word("summary", "en", files=2, **case.summary)

    check_merge(case, world, folder, bad, baseline)

    assert file_hashes(folder, outside) == before, "an input file was modified"


def check_readable_bad_file(case: Case, run: Run, bad: Path) -> None:
    """One heading names the file; each finding says what is wrong and, on the next line, what to do;
    the same results as JSON are strict JSON (no NaN or Infinity leaks out of a cell)."""
    as_json = run_xlperf("validate", bad, "--format", "json")
    assert_clean_stderr(as_json)
    files = json.loads(as_json.stdout, parse_constant=_no_constants)["files"]
    assert [f["path"] for f in files] == [str(bad)] and files[0]["state"] != "unreadable"
    assert {f["code"] for f in files[0]["findings"]} >= set(case.findings)
    naming = lines_naming(run, bad)
    assert len(naming) == 1 and naming[0].startswith(f"{bad}: "), run.stdout
    block = file_block(run, bad, bad.parent)
    for code in case.findings:
        if CATALOG[code].severity.value == "warning" and code.startswith("READ_HAS"):
            expected = finding_lines(Finding(code, Location(str(bad))), "en")
            assert all(line in block for line in expected), (expected, block)
        else:
            assert any(line.rstrip().endswith(f"[{code}]") for line in block), (code, block)
    finding_rows = [index for index, line in enumerate(block) if re.search(r"\[[A-Z0-9_]+\]$", line)]
    for index in finding_rows:  # every finding says what to do, on the line after it
        code = re.search(r"\[([A-Z0-9_]+)\]$", block[index]).group(1)
        assert block[index + 1].strip().startswith("→ ") and CATALOG[code].hint_en.split("{")[0] in block[index + 1]


def check_merge(case: Case, world: World, folder: Path, bad: Path, baseline: dict) -> None:
    out = world.root / f"{case.name}-merged"
    summary, json_path, csv_dir = out / "summary.xlsx", out / "summary.json", out / "csv"
    run = run_xlperf("merge", folder, "-o", summary, "--json", json_path, "--csv", csv_dir, label=f"{case.name} merge")
    assert_clean_stderr(run)
    assert run.returncode == case.merge_exit, run.stdout
    from xlperf.consolidate.consolidation import STATE_LABELS

    naming = [line for line in run.lines  # the one state line per input (later lines may repeat the path in a hint)
              if any(line.startswith(f"{labels[1]}: {bad}") for labels in STATE_LABELS.values())]
    assert len(naming) == 1, run.stdout
    label = STATE_LABELS[case.merge_state][1]
    if case.code:
        pattern = rf"{re.escape(label)}: {re.escape(str(bad))} — {catalog_pattern(case.code, **case.known)}"
        assert re.fullmatch(pattern, naming[0]), naming[0]
    else:
        assert naming[0].startswith(f"{label}: {bad}"), naming[0]
    data = json.loads(json_path.read_text(encoding="utf-8"), parse_constant=_no_constants)
    states = {row["file"]: row["state"] for row in data["inputs"]}
    assert states[str(bad)] == case.merge_state
    if case.code:
        assert [row["code"] for row in data["findings"] if row["file"] == str(bad)] == [case.code]
    assert good_return_data(json_path, folder) == baseline["merge"], "the good return's data changed"
    if case.name.startswith("xxe"):
        assert_no_canary(world, [run.stdout, run.stderr], [summary, json_path, *csv_dir.glob("*.csv")])
    if case.name == "formula_injection":
        check_inert_text(data, summary, csv_dir)


def _no_constants(name: str):
    raise AssertionError(f"{name} in the JSON output")


def assert_no_canary(world: World, texts: list[str], files: list[Path]) -> None:
    secret = hostile.CANARY_SECRET
    for text in texts:
        assert secret not in text
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data, path
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    assert secret.encode() not in archive.read(name), f"{path}!{name}"
    assert world.requests == [], f"the local web server was asked for {world.requests}"


def check_inert_text(data: dict, summary: Path, csv_dir: Path) -> None:
    """Formula-like text stays text: plain strings in JSON, string cells in the summary, neutralised CSV."""
    import openpyxl

    typed = set(hostile.INJECTIONS.values())
    seen = {value for row in data["indicators"] for value in row.values() if isinstance(value, str)}
    visible = {text.strip() for text in typed}
    assert {t for t in typed if t == t.strip()} <= seen  # kept exactly as typed
    assert {t.strip() for t in typed if t != t.strip()} <= seen  # surrounding blanks are cleaned, nothing else
    book = openpyxl.load_workbook(summary)
    try:
        found = 0
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and (cell.value in visible or cell.value.lstrip("'") in visible):
                        assert cell.data_type == "s", f"{sheet.title}!{cell.coordinate} is {cell.data_type}"
                        found += 1
                    if cell.data_type == "f":
                        assert not any(t in str(cell.value) for t in ("HYPERLINK", "cmd|", "SUM(1)", "1+1")), \
                            f"{sheet.title}!{cell.coordinate} = {cell.value}"
        assert found >= len(visible)
    finally:
        book.close()
    with zipfile.ZipFile(summary) as archive:
        for name in archive.namelist():
            for formula in re.findall(rb"<f[ >][^<]*", archive.read(name)):
                assert b"HYPERLINK" not in formula and b"cmd|" not in formula, (name, formula)
    triggers = ("=", "+", "-", "@", "\t", "\r")
    for path in csv_dir.glob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")):
            for value in row:
                if value.lstrip("'") in visible | typed:
                    assert not value.startswith(triggers), (path.name, value)


def test_xxe_never_reached_the_web_server(world):
    """Runs after the xxe cases (module order): nothing ever asked the local server for anything."""
    assert world.requests == []


# --- the preflight really is what keeps python-calamine alive -------------------------------------------

CALAMINE_EVERY_SHEET = (
    "import sys\n"
    "from python_calamine import CalamineWorkbook\n"
    "book = CalamineWorkbook.from_path(sys.argv[1])\n"
    "for name in book.sheet_names:\n"
    "    book.get_sheet_by_name(name).to_python(skip_empty_area=False)\n"
    "print('survived')\n")

TRICKS = [*hostile.SHEET_TRICKS, "sheet_outside_worksheets"]


def _trick(folder: Path, name: str) -> Path:
    """The file for one trick (or the far cell), built once per module."""
    made = {"far_cell": folder / "far_cell.xlsx"}.get(name, folder / f"trick_{name}.xlsx")
    if not made.exists():
        made = hostile.sheet_trick(folder, name) if name in hostile.SHEET_TRICKS else getattr(hostile, name)(folder)
    return made


@pytest.fixture(scope="module")
def tricks_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("tricks")


@pytest.mark.parametrize("name", ["far_cell", *TRICKS])
def test_calamine_aborts_on_it_without_the_preflight(tricks_folder, name):
    """Proof that the cases are real: python-calamine itself, given the file, dies (SIGABRT on a failed
    allocation) under the same memory limit. Only ever run in a child process."""
    command = [sys.executable, "-c", CALAMINE_EVERY_SHEET, str(_trick(tricks_folder, name))]
    process = subprocess.run([PRLIMIT, f"--as={MEMORY_LIMIT}", *command] if PRLIMIT else command,
                             preexec_fn=None if PRLIMIT else _limit_memory, capture_output=True, text=True,
                             timeout=TIMEOUT, env={**os.environ, "RUST_BACKTRACE": "0"})
    # if a newer python-calamine survives, this fails on purpose: look again at what the preflight guards
    assert process.returncode == -signal.SIGABRT or "memory allocation" in process.stderr, \
        f"calamine survived: exit {process.returncode}, {process.stdout[-200:]} {process.stderr[-200:]}"


@pytest.mark.parametrize("name", TRICKS + ["lying_zip_header"])
def test_preflight_refuses_trick(tricks_folder, name):
    path = _trick(tricks_folder, name)
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, LIMITS)
    assert refused.value.code in ("READ_LIMIT", "READ_DAMAGED")
    if refused.value.code == "READ_LIMIT":
        assert refused.value.params["seen"] > refused.value.params["limit"]


def test_lying_zip_header_is_damaged_not_parsed(tricks_folder):
    """calamine itself notices the lie (an error, not a crash); the preflight already says the file is damaged."""
    path = _trick(tricks_folder, "lying_zip_header")
    with zipfile.ZipFile(path) as archive:  # zipfile alone would trust the header and see a harmless sheet
        part = hostile.unit_sheet_part()
        assert b"XFD1048576" not in archive.read(part)
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, LIMITS)
    assert refused.value.code == "READ_DAMAGED"


BLANKS = st.sampled_from(["", " ", "\t", "\n", "\r\n", "  "])
SEPARATORS = st.sampled_from([" ", "\t", "\n", "\r", ""])  # quick-xml even takes a="1"r="2"


@st.composite
def far_cell_spellings(draw) -> bytes:
    """A cell at XFD1048576 or ZZ99999 (70 million cells of grid) spelled any way python-calamine reads it."""
    column, row = draw(st.sampled_from([("XFD", "1048576"), ("ZZ", "99999"), ("ALL", "2001")]))
    column = "".join(draw(st.sampled_from([c, c.lower()])) for c in column)
    reference = column + "0" * draw(st.integers(0, 4)) + row
    quote = draw(st.sampled_from(['"', "'"]))
    r = f"r{draw(BLANKS)}={draw(BLANKS)}{quote}{reference}{quote}"
    decoys = draw(st.lists(st.sampled_from(['t="n"', "s='3'", 'a="<>"', "b='\"'", 'c=">"', 'xr:r="A1"', 'rr="B2"']),
                           max_size=3))
    attributes = draw(st.permutations([r, *decoys]))
    text = "".join(f"{' ' if i == 0 else draw(SEPARATORS)}{a}" for i, a in enumerate(attributes))
    prefix = draw(st.sampled_from(["", "x:", "é:", "s-1.a:", ":", "a=:", "a/:", "a!:", "a?:", "a\x0b:"]))
    head = f'<row r="{row}">' if draw(st.booleans()) else "<row>"
    return f"{head}<{prefix}c{text}{draw(BLANKS)}><v>1</v></{prefix}c></row>".encode()


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(cell=far_cell_spellings())
def test_fuzz_far_cell_spellings_are_refused(tricks_folder, cell):
    """However the far cell is written, the preflight refuses the sheet (calamine reads every one of these
    spellings: lower case, leading zeros, either quote, blanks around '=', any prefix, no blank between
    attributes, '<' and '>' inside other values)."""
    part = hostile.unit_sheet_part()
    path = hostile.rewrite_zip(hostile.BASE, tricks_folder / "spelling.xlsx",
                               replace={part: lambda xml: hostile.add_before(xml, b"</sheetData>", cell)})
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, LIMITS)
    assert refused.value.code in ("READ_LIMIT", "READ_DAMAGED"), cell


def test_corrupt_deflate_stream_is_damaged(tmp_path):
    """zlib's own error (not a BadZipFile) used to escape the preflight as an internal error."""
    shutil.copy(hostile.GOOD, tmp_path)
    bad = hostile.corrupt_deflate(tmp_path)
    results = {Path(r.path).name: r for r in validate_paths([tmp_path])}
    assert [f.code for f in results[bad.name].findings] == ["READ_DAMAGED"] and results[bad.name].unreadable
    assert not results[hostile.GOOD.name].findings


def test_all_tricks_in_one_folder(tricks_folder, tmp_path):
    """Every trick next to a good return, in one run: one line each, the good return untouched."""
    folder = tmp_path / "tricks"
    folder.mkdir()
    for name in [*TRICKS, "lying_zip_header"]:
        shutil.copy(_trick(tricks_folder, name), folder)
    shutil.copy(hostile.GOOD, folder)
    run = run_xlperf("validate", folder, label="all tricks validate")
    assert_clean_stderr(run)
    assert run.returncode == 2
    for path in sorted(folder.glob("trick_*.xlsx")):
        naming = lines_naming(run, path)
        assert len(naming) == 1, run.stdout
        assert any(unreadable_line(path, code).fullmatch(naming[0]) for code in ("READ_LIMIT", "READ_DAMAGED")), \
            naming[0]
    assert f"{folder / hostile.GOOD.name}: {word('ok', 'en')}" in run.lines


def test_legitimate_returns_still_pass_the_preflight():
    """The stricter preflight refuses nothing Excel, WPS or LibreOffice write: all samples still pass."""
    samples = sorted((ROOT / "samples").glob("returns*/*.xlsx"))
    assert samples
    for path in samples:
        assert safety.inspect(path, LIMITS) == []


def test_a_big_plain_sheet_passes_in_reasonable_time(tmp_path):
    """50,000 rows x 19 columns (950,000 cells, under every limit) pass, in seconds."""
    part = hostile.project_sheet_parts()[0]
    columns = [bytes([65 + i]) for i in range(19)]
    rows = b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d" t="n"><v>%d</v></c>' % (c, r, r) for c in columns)
                    + b"</row>" for r in range(31, 50_001))
    path = hostile.rewrite_zip(hostile.BASE, tmp_path / "big.xlsx",
                               replace={part: lambda xml: hostile.add_before(xml, b"</sheetData>", rows)})
    started = time.monotonic()
    assert safety.inspect(path, LIMITS) == []
    assert time.monotonic() - started < 20


# --- permission denied (tests run as root: chmod 000 stops nothing, so the error is injected) ------------

def test_permission_denied_on_the_path(tmp_path, monkeypatch):
    shutil.copy(hostile.GOOD, tmp_path)
    denied = tmp_path / "denied.xlsx"
    shutil.copy(hostile.BASE, denied)
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)
    monkeypatch.setattr(safety.os, "lstat", lstat)
    results = {Path(r.path).name: r for r in validate_paths([tmp_path])}
    assert results["denied.xlsx"].unreadable
    assert [f.code for f in results["denied.xlsx"].findings] == ["READ_NO_PERMISSION"]
    assert not results[hostile.GOOD.name].unreadable and not results[hostile.GOOD.name].findings


@pytest.fixture
def unopenable(tmp_path, monkeypatch) -> Path:
    """A folder with the good return and ``denied.xlsx``, which open() refuses (root ignores chmod)."""
    shutil.copy(hostile.GOOD, tmp_path)
    denied = tmp_path / "denied.xlsx"
    shutil.copy(hostile.BASE, denied)
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", guarded_open)
    return denied


def test_permission_denied_on_open(tmp_path, unopenable):
    denied = unopenable
    results = {Path(r.path).name: r for r in validate_paths([tmp_path])}
    assert [f.code for f in results["denied.xlsx"].findings] == ["READ_NO_PERMISSION"]
    assert not results[hostile.GOOD.name].findings
    line = results_text([results["denied.xlsx"]], "en").splitlines()[0]
    assert unreadable_line(denied, "READ_NO_PERMISSION").fullmatch(line)


def test_permission_denied_in_merge(tmp_path, unopenable):
    from xlperf.consolidate.merge import merge_returns

    denied = unopenable
    merged = merge_returns([tmp_path], lang="en", cache_dir=None)
    rows = merged.findings[merged.findings["file"] == str(denied)]
    assert list(rows["code"]) == ["READ_NO_PERMISSION"]


def test_merge_cache_does_not_mix_up_names(tmp_path):
    cache = tmp_path / "cache"
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    content = hostile.legacy_xls(first).read_bytes()  # refused as .xls; the same bytes as .xlsx are a renamed .xls
    (second / "same_bytes.xlsx").write_bytes(content)
    for folder in (first, second):
        run = run_xlperf("merge", folder, "-o", tmp_path / f"{folder.name}.xlsx", "--cache-dir", cache,
                         "--allow-empty")  # only an unreadable file: the summary is asked for anyway
        assert_clean_stderr(run)
    naming = lines_naming(run, second / "same_bytes.xlsx")
    assert len(naming) == 1
    assert re.fullmatch(rf"unreadable: {re.escape(str(second / 'same_bytes.xlsx'))} — "
                        rf"{catalog_pattern('READ_XLS_RENAMED')}", naming[0]), naming[0]


# --- a damaged return that passes the preflight must still be one unreadable file, not a crash ----------

DAMAGED_AFTER_PREFLIGHT = {
    # XML the preflight lets through (no DTD, cells within the limits) but calamine cannot parse
    "unclosed_cell": lambda xml: xml.replace(b"<sheetData>", b'<sheetData><row r="1"><c r="A1"><v>1</v></row>', 1),
    "shared_string_out_of_range": lambda xml: hostile.add_before(
        xml, b"</sheetData>", b'<row r="40"><c r="A40" t="s"><v>99999</v></c></row>'),
    "undeclared_entity": lambda xml: xml.replace(b"<t>", b"<t>&nope;", 1),
}


@pytest.mark.parametrize("damage", list(DAMAGED_AFTER_PREFLIGHT))
def test_damaged_sheet_is_one_unreadable_file(tmp_path, damage):
    shutil.copy(hostile.GOOD, tmp_path)
    part = hostile.unit_sheet_part()
    bad = hostile.rewrite_zip(hostile.BASE, tmp_path / f"damaged_{damage}.xlsx",
                              replace={part: DAMAGED_AFTER_PREFLIGHT[damage]})
    assert safety.inspect(bad, LIMITS) == []  # the preflight has no reason to refuse it
    run = run_xlperf("validate", tmp_path)
    assert_clean_stderr(run)
    assert run.returncode == 2
    naming = lines_naming(run, bad)
    assert len(naming) == 1 and unreadable_line(bad, "READ_DAMAGED").fullmatch(naming[0]), run.stdout
    assert f"{tmp_path / hostile.GOOD.name}: {word('ok', 'en')}" in run.lines
    # merge reads the same way (serially below 40 files): the same escape ends the whole merge
    merged = run_xlperf("merge", tmp_path, "-o", tmp_path.parent / f"{damage}.xlsx", "--no-cache")
    assert_clean_stderr(merged)
    assert merged.returncode == 1
    assert [line for line in merged.lines if line.startswith(f"unreadable: {bad}")]


# --- links named on the command line, and links to folders -----------------------------------------------

def test_link_named_on_the_command_line_is_read(tmp_path):
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    shutil.copy(hostile.GOOD, outside / "real.xlsx")
    (inside / "named.xlsx").symlink_to(outside / "real.xlsx")
    results = validate_paths([inside / "named.xlsx"])
    assert not results[0].unreadable, [f.code for f in results[0].findings]


def test_link_to_a_folder_is_reported(tmp_path):
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    shutil.copy(hostile.BASE, outside)
    shutil.copy(hostile.GOOD, inside)
    (inside / "more_returns").symlink_to(outside, target_is_directory=True)
    results = validate_paths([inside])
    assert any(r.unreadable and r.findings[0].code == "READ_SYMLINK" for r in results), [r.path for r in results]


# --- fuzzing: mutate a valid return; validate_paths returns results, whatever it is given -------------------

with zipfile.ZipFile(hostile.BASE) as _base:
    XML_PARTS = _base.namelist()
SHEETS = list(hostile.sheet_parts(hostile.BASE))
CELL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 18, 10 ** 18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.datetimes(), st.sampled_from(["=1+1", "NaN", "inf", "１２．５", "-0", "1e309", "≥95%", "\u202e12"]))


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _mutate_bytes(data: st.DataObject, target: Path) -> None:
    part = data.draw(st.sampled_from(XML_PARTS), label="part")
    with zipfile.ZipFile(hostile.BASE) as archive:
        content = bytearray(archive.read(part))
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        offset = data.draw(st.integers(0, len(content)), label="offset")
        noise = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        if data.draw(st.booleans(), label="insert"):
            content[offset:offset] = noise
        else:
            content[offset:offset + len(noise)] = noise
    hostile.rewrite_zip(hostile.BASE, target, replace={part: bytes(content)})


def _mutate_cells(data: st.DataObject, target: Path) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell

    book = openpyxl.load_workbook(hostile.BASE)
    for _ in range(data.draw(st.integers(1, 6), label="cells")):
        sheet = book[data.draw(st.sampled_from(SHEETS), label="sheet")]
        row, column = data.draw(st.integers(1, 35), label="row"), data.draw(st.integers(1, 8), label="column")
        value = data.draw(CELL_VALUES, label="value")
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = sheet.cell(row=row, column=column)
        if not isinstance(cell, MergedCell):  # only a merge's top-left cell holds a value
            cell.value = value
    book.save(target)


def _drop_part(data: st.DataObject, target: Path) -> None:
    part = data.draw(st.sampled_from(XML_PARTS), label="dropped")
    hostile.rewrite_zip(hostile.BASE, target, drop=(part,))


ESCAPED: list[str] = []  # parser errors the fuzz saw escape validate_paths (a reader bug, see below)


@settings(max_examples=40, deadline=None, derandomize=True, database=None, report_multiple_bugs=False,
          phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_validate_paths_always_returns_results(fuzz_folder, data):
    from python_calamine import CalamineError

    mutation = data.draw(st.sampled_from([_mutate_bytes, _mutate_cells, _drop_part]), label="mutation")
    target = fuzz_folder / f"fuzzed_{time.monotonic_ns()}.xlsx"
    mutation(data, target)
    try:
        results = validate_paths([target])
    except CalamineError as error:  # recorded, and reported by the test below
        ESCAPED.append(f"{mutation.__name__}: {type(error).__name__}: {error}")
        return
    assert len(results) == 1
    result = results[0]
    if result.unreadable:
        assert len(result.findings) == 1 and result.findings[0].code.startswith("READ_")
    else:
        assert result.document is not None
    for finding in result.findings:
        assert finding.code in CATALOG
        for lang in ("en", "zh"):
            assert finding.message(lang) and finding.hint(lang) is not None
    results_text(results, "en")
    json.dumps(results_json(results, "en"), allow_nan=False)
    target.unlink()


def test_fuzz_no_parser_error_escaped():
    assert ESCAPED == [], f"{len(ESCAPED)} of 40 fuzzed returns raised out of validate_paths: {ESCAPED[:5]}"


def test_unknown_zip_compression_is_refused_before_parsing(tmp_path):
    """A member stored with a method no spreadsheet program writes is refused by name, not left to
    whatever zipfile or calamine would do with it."""
    bad = tmp_path / "odd.xlsx"
    data = bytearray(hostile.BASE.read_bytes())
    with zipfile.ZipFile(hostile.BASE) as archive:
        first = archive.infolist()[0]
    # compression method lives at offset 8 of the local header and offset 10 of the central entry
    data[first.header_offset + 8:first.header_offset + 10] = (99).to_bytes(2, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 10:central + 12] = (99).to_bytes(2, "little")
    bad.write_bytes(bytes(data))
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(bad, LIMITS)
    assert refused.value.code == "READ_NOT_WORKBOOK"
    assert refused.value.params == {"reason": "zip compression method 99"}
