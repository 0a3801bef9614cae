"""The command line as a careful user meets it: outputs never destroyed by an empty run, honest exit
codes, no process of a run left behind after a signal. Through the real `xlperf` process where
signals and exit codes matter."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlperf.cli import cli

ROOT = Path(__file__).resolve().parents[2]
RETURNS = ROOT / "samples" / "returns"
XLPERF = [sys.executable, "-c", "from xlperf.cli import main; main()"]


def run(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(XLPERF + list(args), capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, **kwargs)


@pytest.fixture(scope="module")
def good_summary(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "summary.xlsx"
    result = CliRunner().invoke(cli, ["merge", str(RETURNS), "-o", str(out), "--no-cache", "--lang", "en"])
    assert result.exit_code == 0, result.output
    return out


def test_mistyped_input_leaves_the_good_summary_untouched(good_summary, tmp_path):
    out = tmp_path / "summary.xlsx"
    shutil.copy(good_summary, out)
    before = out.read_bytes()
    json_out = tmp_path / "summary.json"
    json_out.write_text("previous")
    result = run("merge", str(ROOT / "samples" / "retruns"), "-o", str(out), "--json", str(json_out),
                 "--lang", "en", "--no-cache")
    assert result.returncode == 2, result.stderr
    assert out.read_bytes() == before and json_out.read_text() == "previous"
    assert "nothing was written and existing outputs are untouched" in result.stderr
    assert "--allow-empty" in result.stderr and "summary written" not in result.stdout
    assert "Traceback" not in result.stderr


def test_unreadable_inputs_only_refuse_in_chinese_too(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook at all")
    out = tmp_path / "summary.xlsx"
    result = CliRunner().invoke(cli, ["--lang", "zh", "merge", str(bad), "-o", str(out), "--no-cache"])
    assert result.exit_code == 2
    assert not out.exists()
    assert "无法读取: " in result.output or "无法读取：" in result.output
    assert "未写出任何文件，已有的输出保持不变" in result.output


def test_allow_empty_writes_an_empty_summary(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook at all")
    out = tmp_path / "summary.xlsx"
    result = CliRunner().invoke(cli, ["merge", str(bad), "-o", str(out), "--no-cache", "--allow-empty",
                                      "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert out.is_file() and "summary written" in result.output


def test_lang_before_the_command_and_from_the_environment(tmp_path):
    missing = str(tmp_path / "nothing-here")
    before = CliRunner().invoke(cli, ["--lang", "zh", "validate", missing])
    assert before.exit_code == 2 and "无法读取 — 文件不存在" in before.output
    from_env = CliRunner().invoke(cli, ["validate", missing], env={"XLPERF_LANG": "zh", "LANG": "C.UTF-8"})
    assert from_env.exit_code == 2 and "无法读取 — 文件不存在" in from_env.output
    # the command's own --lang wins over both
    after = CliRunner().invoke(cli, ["--lang", "zh", "validate", missing, "--lang", "en"],
                               env={"XLPERF_LANG": "zh"})
    assert "unreadable" in after.output and "无法读取" not in after.output


@pytest.mark.parametrize("command", ["template", "validate", "merge", "report", "import"])
def test_every_command_documents_its_exit_codes(command):
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit code" in text and "130" in text and "143" in text


def test_usage_error_exits_2_through_the_real_process():
    result = run("merge", "--no-such-option")
    assert result.returncode == 2 and "No such option" in result.stderr and "Traceback" not in result.stderr


def test_broken_pipe_exits_141_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone away, as `| head -c 0` does
    proc = subprocess.Popen(XLPERF + ["schema"], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    _, stderr = proc.communicate(timeout=60)
    stderr = stderr.decode()
    assert proc.returncode == 141
    assert stderr == ""


@pytest.fixture(scope="module")
def many_returns(tmp_path_factory) -> Path:
    """Nine hundred returns (copies of the samples): a merge long enough to be interrupted (three hundred were
    merged in little more than the second the signal tests wait, once merging got faster)."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(300):
        for source in sorted(RETURNS.glob("*.xlsx")):
            copy = folder / f"{i:03d}_{source.name}"
            shutil.copy(source, copy)
            with zipfile.ZipFile(copy, "a") as package:  # other bytes, so each copy is read
                package.comment = f"copy {i}".encode()
    return folder


def session_processes(sid: int) -> list[int]:
    """Pids of live processes in session ``sid`` (a run started with start_new_session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129),
                                          (signal.SIGKILL, -signal.SIGKILL)])
def test_a_signal_mid_merge_leaves_no_process_and_no_output(many_returns, tmp_path, signum, code):
    out = tmp_path / "summary.xlsx"
    proc = subprocess.Popen(XLPERF + ["merge", str(many_returns), "-o", str(out), "--no-cache", "--jobs", "2",
                                      "--lang", "en"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(session_processes(proc.pid)) < 3:  # the parent and its workers are running
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert b"Traceback" not in stderr
    deadline = time.monotonic() + 5
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_processes(proc.pid)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]


# --- one mistake, one finding ---------------------------------------------------------------------------

SEED_RETURN = RETURNS / "471001_遵化市工业和信息化局本级.xlsx"


def _edited(tmp_path: Path, name: str, edit) -> Path:
    import openpyxl

    book = openpyxl.load_workbook(SEED_RETURN)
    edit(book)
    path = tmp_path / name
    book.save(path)
    return path


def _codes(result: subprocess.CompletedProcess | object) -> list[str]:
    import json

    data = json.loads(result.output if hasattr(result, "output") else result.stdout)
    return [f["code"] for entry in data["files"] for f in entry["findings"]]


def _validate_json(path: Path):
    result = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--lang", "en"])
    assert result.exit_code in (0, 1), result.output
    return result


def test_renamed_sheets_are_renames_and_are_still_read(tmp_path):
    """Renaming the 单位整体 sheet and a project sheet (one also moved) gives one READ_SHEET_RENAMED each,
    and their filled fields are read, not reported blank."""
    def rename(book):
        projects = [n for n in book.sheetnames if not n.startswith("_")][2:]
        book["单位整体"].title = "整体情况"
        book[projects[0]].title = "项目一"
        book[projects[1]].title = "项目二"
        book.move_sheet("项目二", offset=-3)
    path = _edited(tmp_path, "renamed.xlsx", rename)
    clean = _codes(_validate_json(SEED_RETURN))
    codes = _codes(_validate_json(path))
    assert sorted(codes) == sorted(clean + ["READ_SHEET_RENAMED"] * 3), codes
    report = CliRunner().invoke(cli, ["validate", str(path), "--lang", "en"]).output
    assert "sheet '单位整体' was renamed to '整体情况'" in report
    assert "sheet '工信局购置公务用车' was renamed to '项目一'" in report


@pytest.mark.parametrize("cell, value, field", [("B3", "X1", "project_code"), ("E4", 12, "fiscal"),
                                                ("C4", 12, "budget_total"), ("E3", "改了名", "project_name")])
def test_one_changed_prefilled_cell_is_one_finding(tmp_path, cell, value, field):
    def change(book):
        book["工信局购置公务用车"][cell] = value
    path = _edited(tmp_path, f"changed_{field}.xlsx", change)
    clean = _codes(_validate_json(SEED_RETURN))
    assert sorted(_codes(_validate_json(path))) == sorted(clean + ["READ_PREFILLED_CHANGED"])
    merged = CliRunner().invoke(cli, ["merge", str(path), "-o", str(tmp_path / "s.xlsx"), "--lang", "en",
                                      "--expect", str(ROOT / "samples" / "templates" / "manifest.json")])
    assert "never sent out" not in merged.output and "not returned: project" not in merged.output, merged.output


# --- advice that does not loop, defaults that do not surprise -----------------------------------------------

def test_report_on_an_unreadable_file_does_not_advise_include_invalid(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    out = tmp_path / "report.docx"
    for extra in ([], ["--include-invalid"]):
        result = run("--lang", "en", "report", str(tmp_path / "bad.xlsx"), str(RETURNS), "-o", str(out), *extra)
        assert result.returncode == 2, result.stderr
        assert "unreadable files cannot go into any report, not even with --include-invalid" in result.stderr
        assert "add --include-invalid" not in result.stderr
        assert not out.exists()


def test_report_year_other_than_the_returns_is_said(tmp_path):
    result = CliRunner().invoke(cli, ["--lang", "en", "report", str(RETURNS), "-o", str(tmp_path / "r.docx"),
                                      "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "the returns are for budget year 2022; the report is labelled 2025" in result.output
    same = CliRunner().invoke(cli, ["--lang", "en", "report", str(RETURNS), "-o", str(tmp_path / "r.docx"),
                                    "--year", "2022"])
    assert same.exit_code == 0 and "note:" not in same.output


def test_template_year_defaults_to_next_year_and_says_so(tmp_path):
    import datetime

    import openpyxl

    result = CliRunner().invoke(cli, ["--lang", "en", "template", str(ROOT / "samples" / "projects.csv"),
                                      "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    year = datetime.date.today().year + 1
    assert result.output.splitlines()[-1] == f"budget year: {year} (no --year given, so next year; add --year for another)"
    book = openpyxl.load_workbook(next(tmp_path.glob("*.xlsx")), read_only=True)
    meta = [row for row in book["_meta"].iter_rows(values_only=True) if row[0] == "workbook"][0]
    book.close()
    assert f'"year": {year}' in meta[1]


@pytest.mark.parametrize("command, name", [("merge", "summary.csv"), ("merge", "summary.xls"),
                                           ("report", "report.doc"), ("report", "report.xlsx")])
def test_an_output_named_for_another_format_is_refused(tmp_path, command, name):
    out = tmp_path / name
    result = run("--lang", "en", command, str(RETURNS), "-o", str(out))
    assert result.returncode == 2
    assert f"the output {out} must end in" in result.stderr and not out.exists()
    assert not list(tmp_path.iterdir())


def test_validate_names_a_summary_and_says_what_to_run(good_summary):
    result = run("--lang", "en", "validate", str(good_summary))
    assert result.returncode == 2
    assert "this is an xlperf summary workbook, not a unit's return" in result.stdout
    assert "xlperf merge" in result.stdout and "xlperf report" in result.stdout


# --- the reader's language inside files, the user's on the command line -------------------------------------

ERRORS = ROOT / "samples" / "returns-with-errors"


def _csv_rows(path: Path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_workbooks_are_chinese_whatever_the_cli_language(tmp_path):
    import openpyxl

    out = tmp_path / "summary.xlsx"
    result = run("merge", str(ERRORS), "-o", str(out), "--include-invalid", "--no-cache", "--csv", str(tmp_path / "zh"),
                 env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "XLPERF_LANG": "en"})
    assert result.returncode == 1, result.stderr
    assert "summary written" in result.stdout and "4 error(s); kept by --include-invalid" in result.stdout
    book = openpyxl.load_workbook(out)
    about = {row[0]: row[1] for row in book["汇总说明"].iter_rows(values_only=True) if row and row[0]}
    assert about["汇总来源"] == "3 个文件"
    findings = list(book["校验问题"].iter_rows(values_only=True))
    assert findings[0][8:10] == ("问题", "修改建议")
    messages = [row[8] for row in findings[1:]]
    assert "财政资金应为“10.96”，实为“10.00”（预填内容被改动）" in messages
    assert not any("should" in message or "(blank)" in message for message in messages)
    reasons = [row[2] for row in book["汇总说明"].iter_rows(values_only=True) if row and row[1] == "已汇总（有警告）"]
    assert reasons == ["有 4 个错误，按 --include-invalid 仍汇总", "有 4 个错误，按 --include-invalid 仍汇总",
                       "有 3 个错误，按 --include-invalid 仍汇总"]


def test_csv_exports_carry_the_summarys_chinese_and_formulas_only_are_guarded(tmp_path):
    result = run("--lang", "zh", "merge", str(ERRORS), "-o", str(tmp_path / "s.xlsx"), "--include-invalid",
                 "--no-cache", "--csv", str(tmp_path / "zh"))
    assert result.returncode == 1, result.stderr
    indicators = _csv_rows(tmp_path / "zh" / "indicators.csv")
    header = indicators[0]
    assert header[:9] == ["单位编码", "单位名称", "项目编码", "项目名称", "一级指标", "二级指标", "三级指标",
                          "绩效指标描述", "指标值"]
    rows = [dict(zip(header, row)) for row in indicators[1:]]
    assert {row["类型"] for row in rows} <= {"定量", "定性", "无法识别"} and "定量" in {row["类型"] for row in rows}
    assert "=" in {row["比较符"] for row in rows} and "'=" not in {row["比较符"] for row in rows}
    findings = _csv_rows(tmp_path / "zh" / "findings.csv")
    assert findings[0][:3] == ["文件", "单位编码", "严重程度"] and findings[1][2] == "错误"
    assert "财政资金" in {row[6] for row in findings[1:]}
    english = run("--lang", "en", "merge", str(ERRORS), "-o", str(tmp_path / "s2.xlsx"), "--include-invalid",
                  "--no-cache", "--csv", str(tmp_path / "en"))
    assert english.returncode == 1
    findings_en = _csv_rows(tmp_path / "en" / "findings.csv")
    assert findings_en[0][:3] == ["file", "unit_code", "severity"] and findings_en[1][2] == "error"
    assert any("should be '10.96'" in row[8] for row in findings_en[1:])
    assert _csv_rows(tmp_path / "en" / "indicators.csv")[1][12] == "quantitative"


def test_validate_prints_each_file_as_it_is_done(many_returns):
    """On 900 returns the first file's result is on stdout while the others are still being read."""
    process = subprocess.Popen(XLPERF + ["--lang", "en", "validate", str(many_returns), "--jobs", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = process.stdout.readline()
        still_running = process.poll() is None
        # the rest through the same reader: communicate() reads the pipe itself and would miss what readline()
        # had already taken into the reader's buffer (the next lines, when the run printed them quickly)
        rest = process.stdout.read()
        process.wait(timeout=300)
    finally:
        process.kill()
        process.stdout.close()
    assert first.startswith(str(many_returns / "000_")) and still_running
    lines = (first + rest).splitlines()
    assert lines[-1] == "900 file(s): 600 passed, 300 with warnings only, 0 with errors, 0 unreadable"
    assert sum(1 for line in lines if line.startswith(str(many_returns))) == 900


@pytest.mark.parametrize("args, problem", [
    (["--lang", "zh", "merge", "x"], "错误：缺少选项 -o"),
    (["merge", "--lang", "zh", "x", "--outt", "y"], "错误：没有这个选项：--outt（是否想用：--output）"),
    (["--lang=zh", "template", "p.csv", "-o", "x", "--year", "abc"], "错误：--year 的值无效："),
    (["--lang", "zh", "frob"], "错误：没有这个命令：frob"),
])
def test_usage_errors_in_chinese(args, problem):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("用法：xlperf") and "--help”查看帮助" in lines[1]
    assert lines[2].startswith(problem), lines


def test_usage_errors_in_english_stay_clicks():
    result = run("--lang", "en", "merge", "x")
    assert result.returncode == 2 and "Error: Missing option '-o' / '--output'." in result.stderr


# --- a signal that lands where Python cannot raise it -----------------------------------------------------

SIGNAL_AS_WORKERS_STOP = """
import os, signal, sys
from xlperf.core import workers
stop = workers._Worker.stop
def stop_and_signal(self, kill):
    if not getattr(workers, "signalled", False):  # the terminal closes as the pool shuts its workers down
        workers.signalled = True
        os.kill(os.getpid(), signal.SIGHUP)
    stop(self, kill)
workers._Worker.stop = stop_and_signal
from xlperf.cli import main
sys.argv = ["xlperf"] + sys.argv[1:]
main()
"""


@pytest.mark.parametrize("command", ["merge", "validate"])
def test_a_signal_while_the_workers_stop_ends_the_run_without_output(tmp_path, command):
    """The pool's workers are stopped in a generator's `finally`: when Python closes an abandoned generator, an
    exception raised there is dropped ("Exception ignored in ...") and the run went on to write its outputs."""
    out = tmp_path / "out" / "summary.xlsx"
    args = ["-o", str(out), "--no-cache"] if command == "merge" else ["--format", "json"]
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AS_WORKERS_STOP, command, str(RETURNS), *args,
                           "--lang", "en"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 129, proc.stderr
    assert "interrupted" in proc.stderr and "SIGHUP" in proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


INTERNAL_ERROR = """
import sys
import xlperf.checks.validate as validate
def broken(*args, **kwargs):
    raise RuntimeError("a defect of ours")
validate.scan_inputs = broken
from xlperf.cli import main
sys.argv = ["xlperf"] + sys.argv[1:]
main()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_one_line_and_a_traceback_only_with_debug(debug):
    args = ["validate", str(RETURNS), "--lang", "en"] + (["--debug"] if debug else [])
    proc = subprocess.run([sys.executable, "-c", INTERNAL_ERROR, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "RuntimeError: a defect of ours" in proc.stderr.splitlines()[-1]
    assert ("Traceback (most recent call last)" in proc.stderr) is debug
