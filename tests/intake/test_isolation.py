"""No input can take a run down: each file is read behind its own boundary (a worker process under
address-space and time limits, and a per-file exception boundary), and declared sizes are checked before
any parser sees them. Through the real command and the library API, on real crafted files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import hostile
import xlperf.checks.validate
from xlperf.cli import cli
from xlperf.checks.validate import validate_paths

ROOT = Path(__file__).resolve().parents[2]
RETURNS = ROOT / "samples" / "returns"
XLPERF = [sys.executable, "-c", "from xlperf.cli import main; main()"]


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    hostile.declared_shared_strings(folder)
    hostile.meta_key_removed(folder)
    return folder


def _json_results(*paths: Path) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["validate", *map(str, paths), "--format", "json", "--lang", "en"])
    return {Path(entry["path"]).name: entry for entry in json.loads(result.output)["files"]}


def test_the_two_reported_files_are_refused_in_one_line_each(hostile_folder):
    result = subprocess.run(XLPERF + ["--lang", "en", "validate", str(hostile_folder)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{hostile_folder / 'declared_shared_strings.xlsx'}: unreadable — xl/sharedStrings.xml "
                        "declares sst count = 4294967296, beyond the limit or what the part holds (at most 2000000); "
                        "the file may be malicious or badly damaged; ask the unit to save it again as .xlsx and resend")
    assert lines[1] == (f"{hostile_folder / 'meta_key_removed.xlsx'}: unreadable — the template metadata is damaged; "
                        "fields cannot be located; fill in a freshly issued template")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_merge_over_them_keeps_every_good_return(hostile_folder, tmp_path, jobs):
    import openpyxl

    inputs = tmp_path / "in"
    shutil.copytree(hostile_folder, inputs)
    for source in RETURNS.glob("*.xlsx"):
        shutil.copy(source, inputs)
    out = tmp_path / "summary.xlsx"
    result = subprocess.run(XLPERF + ["--lang", "en", "merge", str(inputs), "-o", str(out), "--no-cache",
                                      "--jobs", jobs], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "summary written" in result.stdout and "(9 projects, 71 indicators;" in result.stdout
    assert "Traceback" not in result.stderr
    book = openpyxl.load_workbook(out, read_only=True)
    states = {Path(row[0]).name: row[1] for row in book["汇总说明"].iter_rows(values_only=True)
              if row and isinstance(row[0], str) and row[0].startswith(str(inputs))}
    book.close()
    assert states == {"declared_shared_strings.xlsx": "无法读取", "meta_key_removed.xlsx": "无法读取",
                      "471001_遵化市工业和信息化局本级.xlsx": "已汇总（有警告）",
                      "471002_遵化市中小企业服务中心.xlsx": "已汇总", "471003_遵化市无线电监测站.xlsx": "已汇总"}


def test_a_parser_abort_takes_only_its_file_down(hostile_folder, monkeypatch):
    """Without the preflight's check, python-calamine really aborts on the declared 2^32 strings: the worker
    under RLIMIT_AS dies, the file is reported as out of memory, the other results are exactly as alone."""
    import xlperf.intake.safety

    monkeypatch.setattr(xlperf.intake.safety, "_check_declared", lambda *args: None)  # forked workers inherit it
    crafted = hostile_folder / "declared_shared_strings.xlsx"
    goods = sorted(RETURNS.glob("*.xlsx"))
    for jobs in (1, 2):
        results = validate_paths([goods[0], crafted, *goods[1:]], jobs=jobs, isolate=True)
        assert [r.path for r in results] == [str(goods[0]), str(crafted), *map(str, goods[1:])]
        bad = results[1]
        assert bad.unreadable and [f.code for f in bad.findings] == ["READ_OUT_OF_MEMORY"]
        assert "2 GB" in bad.findings[0].message("en")
        alone = validate_paths(goods)
        assert [(r.path, r.findings, r.document.document) for r in results[:1] + results[2:]] == \
            [(r.path, r.findings, r.document.document) for r in alone]


def test_a_hang_is_stopped_at_the_time_limit(monkeypatch):
    import time

    import xlperf.intake.reader
    import xlperf.checks.validate

    slow = sorted(RETURNS.glob("*.xlsx"))[1]
    real_open = xlperf.intake.reader._open

    def hanging_open(path, package=None):
        if Path(path).name == slow.name:
            time.sleep(120)
        return real_open(path, package)
    monkeypatch.setattr(xlperf.intake.reader, "_open", hanging_open)
    monkeypatch.setattr(xlperf.checks.validate, "read_boundary", lambda: xlperf.checks.validate.Boundary(seconds=2))
    started = time.monotonic()
    results = validate_paths(sorted(RETURNS.glob("*.xlsx")), isolate=True)
    assert time.monotonic() - started < 30
    assert [f.code for f in results[1].findings] == ["READ_TIMEOUT"]
    assert "longer than 2 s" in results[1].findings[0].message("en")
    assert not results[0].unreadable and not results[2].unreadable


def test_an_internal_error_on_one_file_is_that_files_finding(monkeypatch):
    """The per-file boundary, in this process too: a bug of ours on one file does not end the run."""
    import xlperf.checks.rules

    target = sorted(RETURNS.glob("*.xlsx"))[2]

    def broken_rule(doc, framework, spec):
        if doc.path == str(target):
            raise KeyError("layout.unit")
        return iter(())
    monkeypatch.setattr(xlperf.checks.validate, "RULES", [*xlperf.checks.validate.RULES, broken_rule])
    results = validate_paths(sorted(RETURNS.glob("*.xlsx")))
    assert [f.code for f in results[2].findings] == ["READ_INTERNAL"]
    assert "KeyError: 'layout.unit'" in results[2].findings[0].message("en")
    assert not results[0].unreadable and not results[1].unreadable



def test_last_years_files_for_prefill_are_behind_the_same_boundary(hostile_folder, tmp_path, monkeypatch):
    """--prefill reads files from outside too: a crafted one is reported, the others carry over."""
    import xlperf.intake.safety

    result = CliRunner().invoke(cli, ["--lang", "en", "template", str(ROOT / "samples" / "projects.csv"),
                                      "-o", str(tmp_path / "a"), "--year", "2023", "--prefill", str(RETURNS),
                                      "--prefill", str(hostile_folder)])
    assert result.exit_code == 0, result.output
    assert "carried over: 9 of 9 projects" in result.output
    assert (f"last year's file skipped, unreadable: {hostile_folder / 'declared_shared_strings.xlsx'}: "
            "xl/sharedStrings.xml declares sst count = 4294967296") in result.output
    assert f"{hostile_folder / 'meta_key_removed.xlsx'}: the template metadata is damaged" in result.output

    monkeypatch.setattr(xlperf.intake.safety, "_check_declared", lambda *args: None)  # calamine aborts in its worker
    from xlperf.writers.sendout import make_templates

    made = make_templates(ROOT / "samples" / "projects.csv", tmp_path / "b", year=2023, isolate=True,
                          prefill=[RETURNS, hostile_folder / "declared_shared_strings.xlsx"])
    assert len(made.prefill.matched) == 9
    assert [f.code for f in made.prefill.unreadable_findings] == ["READ_OUT_OF_MEMORY"]
