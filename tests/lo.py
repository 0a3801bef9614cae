"""Drive a headless LibreOffice from the tests: convert documents, and type into cells like a person.

Every call starts its own soffice with a private, throw-away user profile (``-env:UserInstallation``), so parallel
or repeated runs never talk to each other's office, and kills what it started (by process id) when done or when
the time limit passes. The profile is seeded so that LibreOffice always recalculates formulas on load
(``OOXMLRecalcMode``/``ODFRecalcMode`` = 0): exported values are then LibreOffice's own results, never the
cached results the file was written with.

Behaviours found with LibreOffice 7.4 (and relied on by ``test_template_lo.py``):

* CSV: the filter options ``44,34,76,1,,0,false,true,false,false,false,-1`` (UTF-8, formulas evaluated,
  "as shown" off, sheet -1) write every sheet to ``<stem>-<sheet>.csv`` (LibreOffice >= 7.2) and print
  ``Writing sheet X -> path`` for each; a positive last field exports only that (1-based) sheet, still named
  ``<stem>-<sheet>.csv``. Older versions write only the first sheet to ``<stem>.csv``.
* Typing into a locked cell of a protected sheet: EnterString leaves it unchanged and raises a message box that
  headless soffice cancels - but the second such box in one session crashes soffice 7.4, so ``type_into`` reports
  locked cells (as LibreOffice sees them after import) as refused without typing.
* ``.uno:EnterString`` honours sheet protection and number formats (``30%`` → 0.3 in a ``0%`` cell, ``100%`` and
  ``0015`` stay text in a ``@`` cell) but does not check validation; see ``lo_uno_driver.py``.
* Typing with real key events (the UITest ``TYPE`` action) checks validation, but in a cell formatted ``0%``
  Calc's percent autocompletion appends a ``%`` after the first digit, so typing ``30%`` produces ``30%%`` (text,
  refused by the decimal validation): the keyboard path cannot be used to type percentages verbatim.
* A document opened from a folder gets a ``.~lock.<name>#`` file; if soffice is killed before closing it, the next
  open of that file fails ("document in use" is cancelled headless). ``type_into`` therefore opens a private copy.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

TIMEOUT = 120
DRIVER = Path(__file__).resolve().parent / "lo_uno_driver.py"
UNO_PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/lib/libreoffice/program/python")
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
CONVERT_FILTERS = {
    "ods": "ods",
    "pdf": "pdf",
    "xlsx": 'xlsx:Calc MS Excel 2007 XML',
    "xls": 'xls:MS Excel 97',
    "csv": CSV_FILTER,
}
RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""
MISSING = ("LibreOffice is required for these tests but `soffice` was not found on PATH. Install it "
           "(Debian/Ubuntu: apt-get install libreoffice-calc python3-uno poppler-utils fonts-noto-cjk fonts-crosextra-carlito), "
           "or set XLPERF_SOFFICE to the soffice executable.")


class LibreOfficeError(RuntimeError):
    pass


def soffice_path() -> str | None:
    configured = os.environ.get("XLPERF_SOFFICE")
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    return shutil.which("soffice") or shutil.which("libreoffice")


def soffice_available() -> bool:
    return soffice_path() is not None


def require_soffice() -> str:
    path = soffice_path()
    if path is None:
        raise LibreOfficeError(MISSING)
    return path


@lru_cache(maxsize=None)
def uno_python() -> str | None:
    """A Python interpreter that can ``import uno`` (Debian's python3-uno is for /usr/bin/python3)."""
    configured = os.environ.get("XLPERF_UNO_PYTHON")
    for candidate in ([configured] if configured else []) + list(UNO_PYTHON_CANDIDATES):
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import uno"], capture_output=True, timeout=60)
            if probe.returncode == 0:
                return candidate
    return None


def make_profile() -> Path:
    """A fresh private user profile that makes LibreOffice recalculate every formula on load."""
    profile = Path(tempfile.mkdtemp(prefix="xlperf-lo-profile-"))
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
    return profile


def _group_members(group: int) -> list[int]:
    """Process ids still in process group ``group`` (a group this module created), from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == group:
                members.append(int(entry))
    return members


def _kill_group(group: int) -> None:
    for pid in _group_members(group):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a command in a new process group; kill that group's processes (only ours) if it outlives ``timeout``."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               start_new_session=True, **kwargs)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        stdout, stderr = process.communicate()
        raise LibreOfficeError(f"timed out after {timeout} s: {' '.join(command)}\nstdout: "
                               f"{stdout.decode(errors='replace')}\nstderr: {stderr.decode(errors='replace')}")
    _kill_group(process.pid)  # anything soffice left behind in the group (normally nothing)
    return subprocess.CompletedProcess(command, process.returncode, stdout.decode(errors="replace"),
                                       stderr.decode(errors="replace"))


def _convert(path: Path, fmt: str, outdir: Path, timeout: float) -> subprocess.CompletedProcess:
    soffice = require_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    target = CONVERT_FILTERS.get(fmt, fmt)
    profile = make_profile()
    try:
        return _run([soffice, "--headless", "--norestore", "--nologo", "--nolockcheck",
                     f"-env:UserInstallation={profile.as_uri()}", "--convert-to", target,
                     "--outdir", str(outdir), str(path)], timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def convert(path: str | Path, fmt: str, outdir: str | Path, *, timeout: float = TIMEOUT) -> Path:
    """Convert ``path`` with LibreOffice into ``outdir``; returns the written file.

    ``fmt`` is an extension (ods, pdf, xlsx, xls, csv) or a full ``--convert-to`` argument. For csv every sheet
    is exported (see ``convert_csv``) and the first sheet's file is returned.
    """
    path, outdir = Path(path), Path(outdir)
    if fmt == "csv":
        sheets = convert_csv(path, outdir, timeout=timeout)
        return next(iter(sheets.values()))
    extension = fmt.split(":", 1)[0]
    expected = outdir / f"{path.stem}.{extension}"
    if expected.resolve() == path.resolve():
        raise ValueError(f"converting {path} to {fmt} into its own folder would overwrite it")
    expected.unlink(missing_ok=True)
    result = _convert(path, fmt, outdir, timeout)
    if result.returncode != 0 or not expected.exists() or expected.stat().st_size == 0:
        raise LibreOfficeError(f"LibreOffice could not convert {path} to {fmt} (exit {result.returncode})\n"
                               f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return expected


def convert_csv(path: str | Path, outdir: str | Path, *, timeout: float = TIMEOUT) -> dict[str, Path]:
    """Every sheet as UTF-8 CSV with formulas evaluated (by LibreOffice): sheet name → file, in sheet order."""
    path, outdir = Path(path), Path(outdir)
    result = _convert(path, "csv", outdir, timeout)
    sheets: dict[str, Path] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"Writing sheet (.*) -> (.*)$", line.strip())
        if match:
            sheets[match.group(1)] = Path(match.group(2))
    if not sheets and (outdir / f"{path.stem}.csv").exists():  # LibreOffice < 7.2: the first sheet only
        sheets[""] = outdir / f"{path.stem}.csv"
    if result.returncode != 0 or not sheets or not all(file.exists() for file in sheets.values()):
        raise LibreOfficeError(f"LibreOffice could not convert {path} to csv (exit {result.returncode})\n"
                               f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return sheets


def type_into(path: str | Path, entries: list[tuple[str, str, str]], save_as: str | Path | None, *,
              watch: list[tuple[str, str]] = (), type_locked: bool = False, timeout: float = TIMEOUT) -> dict:
    """Open ``path`` in a headless LibreOffice, type each ``(sheet, cell, text)`` like a person, save as ``save_as``.

    Returns the driver's JSON (see ``lo_uno_driver.py``): for each entry ``accepted`` (False when protection or
    a Stop validation refused it, with ``reason`` "protected"/"validation"), the cell ``before``/``after``
    (type, value, string, formula, number format) and the ``watch`` cells after it; ``watch_before``,
    ``watch_after`` and ``watch_after_hard_recalc`` for the watched cells; ``cells_after`` for every typed cell;
    sheet protection/visibility and the named ranges LibreOffice sees. Locked cells are not typed into unless
    ``type_locked`` (then at most one locked entry per call: a second protection message crashes soffice 7.4).
    """
    require_soffice()
    python = uno_python()
    if python is None:
        raise LibreOfficeError("no Python with LibreOffice's `uno` module: install python3-uno (Debian/Ubuntu) "
                               "or set XLPERF_UNO_PYTHON")
    profile = make_profile()
    try:
        request = {
            "path": str(Path(path).resolve()),
            "save_as": str(Path(save_as).resolve()) if save_as else None,
            "profile": str(profile),
            "entries": [list(entry) for entry in entries],
            "watch": [list(cell) for cell in watch],
            "type_locked": type_locked,
            "timeout": max(5.0, timeout - 10),
            "result_path": str(profile / "result.json"),
        }
        request_path = profile / "request.json"
        request_path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        completed = _run([python, str(DRIVER), str(request_path)], timeout, env=environment)
        result_path = Path(request["result_path"])
        if not result_path.exists():
            raise LibreOfficeError(f"the UNO driver wrote no result (exit {completed.returncode})\n"
                                   f"stdout: {completed.stdout}\nstderr: {completed.stderr}")
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if not result.get("ok"):
            raise LibreOfficeError(f"the UNO driver failed: {result.get('error')}\n{result.get('traceback', '')}"
                                   f"\nstderr: {completed.stderr}")
        return result
    finally:
        shutil.rmtree(profile, ignore_errors=True)
