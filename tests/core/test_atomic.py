"""Outputs are written atomically: a killed run leaves the previous output or the complete new one."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from xlperf.cli import cli
from xlperf.core.errors import OutputError
from xlperf.core.fileio import atomic_write_bytes, safe_file_stem


def _intact_xlsx(path) -> bool:
    with zipfile.ZipFile(path) as archive:
        if archive.testzip() is not None:
            return False
    openpyxl.load_workbook(path, read_only=True).close()
    return True


@pytest.fixture(scope="module")
def many_returns(tmp_path_factory):
    """Enough distinct returns that a merge runs for a while (copies differ in one text cell)."""
    folder = tmp_path_factory.mktemp("many")
    source = SAMPLES / "returns" / "471002_遵化市中小企业服务中心.xlsx"
    for number in range(40):
        book = openpyxl.load_workbook(source)
        book["单位整体"]["B5"] = f"总体目标 {number}"
        book.save(folder / f"r{number:02d}.xlsx")
    return folder


@pytest.mark.parametrize("command", ["merge", "annotate"])
def test_kill_minus_9_never_leaves_a_truncated_output(tmp_path, many_returns, command):
    out = tmp_path / "out"
    if command == "merge":
        target = out / "summary.xlsx"
        args = ["merge", str(many_returns), "-o", str(target), "--no-cache", "--jobs", "1", "--on-duplicate", "latest"]
    else:
        target = out / "r00.xlsx"
        args = ["validate", str(many_returns), "--annotate", str(out)]
    base = [sys.executable, "-m", "xlperf", *args, "--lang", "en"]
    subprocess.run(base, capture_output=True, timeout=300)
    previous = target.read_bytes()
    started = time.monotonic()
    subprocess.run(base, capture_output=True, timeout=300)
    duration = time.monotonic() - started
    for trial in range(8):
        process = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * (trial + 0.5) / 8)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert target.exists()
        data = target.read_bytes()
        assert data == previous or _intact_xlsx(target), f"trial {trial}: truncated output"
        assert _intact_xlsx(target)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.xlsx"
    target.write_bytes(b"previous")

    def full_disk(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.xlsx"]


def test_unwritable_output_location_is_exit_2():
    result = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns"), "-o", "/proc/xlperf-test/summary.xlsx",
                                      "--no-cache", "--lang", "en"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith("xlperf: error: /proc/xlperf-test/summary.xlsx: cannot write here")


@pytest.mark.parametrize("text, expected", [
    ("../../etc/passwd", "_.._etc_passwd"), ("a/b\\c", "a_b_c"), ("CON", "_CON"), ("..", "unnamed"),
    (".hidden", "hidden"), ("单位\x00名", "单位_名"),
])
def test_file_names_from_unit_text_cannot_escape(text, expected):
    assert safe_file_stem(text) == expected


def test_template_file_names_stay_in_the_output_folder(tmp_path):
    (tmp_path / "list.csv").write_text(
        "单位编码,单位名称,项目编码,项目名称,预算数,财政资金,其他资金\n../x,../../evil,13028122P00306010001X,p,1,1,\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["template", str(tmp_path / "list.csv"), "-o", str(out)])
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["_x_.._.._evil.xlsx", "manifest.json"]
    assert not (tmp_path / "evil.xlsx").exists()
