"""The portal's commands, run as a user runs them: round create, office add, round status; and without the
web extra."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from web.webcommon import SAMPLES


def xlperf(*args, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("XLPERF_WEB_") and key != "DJANGO_SETTINGS_MODULE"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "xlperf", *args], input=stdin, capture_output=True, text=True,
                          env=environment, timeout=120)


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    data = tmp_path_factory.mktemp("portal")
    result = xlperf("round", "create", str(SAMPLES / "projects.csv"), "--data", str(data), "--year", "2022",
                    "--url", "https://portal.example/", "--lang", "zh")
    return data, result


def test_round_create_writes_one_secret_link_per_unit(created):
    data, result = created
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "已创建报送轮次 1：遵化市工业和信息化局2022年度项目支出绩效目标（2022 年，3 个单位）",
        f"上传链接（每单位一条，请分别发送，勿外传）：{data / 'links.csv'}"]
    with open(data / "links.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["unit_code"], row["unit_name"]) for row in rows] == [
        ("471001", "遵化市工业和信息化局本级"), ("471002", "遵化市中小企业服务中心"), ("471003", "遵化市无线电监测站")]
    assert all(row["url"].startswith("https://portal.example/u/") and len(row["url"]) > 50 for row in rows)
    assert oct((data / "links.csv").stat().st_mode & 0o777) == "0o600"
    # the store holds the office's password hashes and the sessions: its owner's alone, whatever the umask
    assert oct((data / "portal.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in (data / "rounds" / "1" / "templates").iterdir()) == sorted(
        p.name for p in (SAMPLES / "templates").iterdir())


def test_office_add_reads_the_password_from_stdin(created):
    data, _ = created
    result = xlperf("office", "add", "财务科", "--data", str(data), "--password-stdin", "--lang", "en",
                    stdin="a long passphrase\n")
    assert (result.returncode, result.stdout.strip()) == (0, "office account created: 财务科"), result.stderr
    short = xlperf("office", "add", "x", "--data", str(data), "--password-stdin", "--lang", "en", stdin="abc\n")
    assert short.returncode == 2 and short.stderr.startswith("xlperf: error: the password is not acceptable:")
    missing = xlperf("office", "add", "x", "--data", str(data), "--lang", "zh")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "xlperf: 错误：请从标准输入提供密码（--password-stdin）"


def test_round_status_prints_the_dashboards_state(created):
    data, _ = created
    text = xlperf("round", "status", "--data", str(data), "--lang", "zh")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[2:] == [
        "471001  遵化市工业和信息化局本级  未报送  0  -", "471002  遵化市中小企业服务中心  未报送  0  -",
        "471003  遵化市无线电监测站  未报送  0  -", "未报送 3"]
    status = json.loads(xlperf("round", "status", "--data", str(data), "--format", "json").stdout)
    assert status["counts"]["not_returned"] == 3 and len(status["units"]) == 3
    assert status["units"][0] == {"unit_code": "471001", "unit_name": "遵化市工业和信息化局本级",
                                  "state": "not_returned", "versions": 0, "last_upload": None,
                                  "current_version": None, "link": "active"}



def test_round_status_gives_times_in_beijing_time_whatever_the_machines_zone(tmp_path):
    """A server keeps UTC (or New York); the office reads 北京时间, as on the dashboard, and the header says so."""
    data = tmp_path / "portal"
    assert xlperf("round", "create", str(SAMPLES / "projects.csv"), "--data", str(data), "--year", "2022").returncode == 0
    script = ("import sys, datetime\n"
              "from xlperf.web.commands import boot\n"
              "boot(sys.argv[1])\n"
              "from xlperf.web import store\n"
              "from xlperf.web.models import Unit, Version\n"
              "unit = Unit.objects.get(code='471002')\n"
              "version, _ = store.record_upload(unit, [b'not a workbook'], 'r.xlsx')\n"
              "moment = datetime.datetime(2022, 3, 1, 17, 30, tzinfo=datetime.timezone.utc)\n"
              "Version.objects.filter(pk=version.pk).update(uploaded_at=moment)\n")
    subprocess.run([sys.executable, "-c", script, str(data)], check=True, capture_output=True, timeout=120)
    for zone in ("UTC", "America/New_York"):
        result = xlperf("round", "status", "--data", str(data), "--lang", "zh", env={"TZ": zone})
        lines = result.stdout.splitlines()
        assert lines[1].endswith("最近上传（北京时间）"), lines
        assert "471002  遵化市中小企业服务中心  校验中  1  2022-03-02 01:30" in lines, (zone, lines)
    english = xlperf("round", "status", "--data", str(data), "--lang", "en", env={"TZ": "UTC"}).stdout
    assert "last upload (Beijing time, UTC+8)" in english

def test_round_status_of_an_empty_store_says_so(tmp_path):
    result = xlperf("round", "status", "--data", str(tmp_path / "empty"), "--lang", "en")
    assert result.returncode == 2
    assert "has no round yet" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_project_list_is_listed_and_nothing_is_created(tmp_path):
    bad = tmp_path / "projects.csv"
    bad.write_text("单位编码,单位名称,项目编码,项目名称,预算数,财政资金,其他资金\n471001,甲,P1,项目,10,5,1\n",
                   encoding="utf-8")
    data = tmp_path / "store"
    result = xlperf("round", "create", str(bad), "--data", str(data), "--year", "2022", "--lang", "en")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}: " in result.stderr and not (data / "links.csv").exists()


def test_without_the_web_extra_the_commands_say_how_to_install_it(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    # a site directory where `import django` fails, as in an environment without the extra
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['django'] = None\n")
    for args in (["serve"], ["round", "status"], ["office", "add", "x", "--password-stdin"]):
        result = xlperf(*args, "--data", str(tmp_path / "d"), "--lang", "en", stdin="password123\n",
                        env={"PYTHONPATH": str(blocker)})
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip() == ("xlperf: error: the portal needs the web extra: pip install '.[web]' "
                                         "(missing django)")
    assert not (tmp_path / "d").exists()
