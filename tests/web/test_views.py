"""The portal's pages through Django's test client: the unit's page (upload, result, annotated copy, history,
JSON), the office's login, dashboard, unit history, links, summary, report, export and 催报单.

The checks run in django-tasks' database worker (``db_worker --batch``), as ``xlperf serve`` runs them."""
from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client
from web.webcommon import RETURNS, SAMPLES, WITH_ERRORS

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = RETURNS / "471002_遵化市中小企业服务中心.xlsx"
BAD = WITH_ERRORS / "471002_indicator-errors.xlsx"
PASSWORD = "a long passphrase"


def run_worker() -> None:
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0, interval=0)


@pytest.fixture
def portal():
    from xlperf.web import store

    round_, links = store.create_round(SAMPLES / "projects.csv", year=2022, base_url="http://testserver")
    store.add_office("finance", PASSWORD)
    paths = {link.unit.code: "/" + link.url.split("/", 3)[3] for link in links}
    return {"round": round_, "links": paths, "units": {link.unit.code: link.unit for link in links}}


@pytest.fixture
def office(portal):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/office/login/")
    response = client.post("/office/login/", {"username": "finance", "password": PASSWORD,
                                              "csrfmiddlewaretoken": csrf_of(page)})
    assert response.status_code == 302
    return client


def csrf_of(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def upload(client: Client, path: str, file, name: str | None = None, **extra):
    page = client.get(path)
    handle = io.BytesIO(file.read_bytes() if hasattr(file, "read_bytes") else file)
    handle.name = name or getattr(file, "name", "upload.xlsx")
    return client.post(path, {"file": handle, "csrfmiddlewaretoken": csrf_of(page)}, **extra)


def filename_of(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    return unquote(re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1))


def test_the_unit_downloads_its_template_uploads_and_sees_located_findings(portal):
    from xlperf.web import store
    from xlperf.web.models import AuditEvent

    path = portal["links"]["471002"]
    unit = Client(enforce_csrf_checks=True)
    page = unit.get(path)
    assert page.status_code == 200 and "遵化市中小企业服务中心（471002）" in page.content.decode()
    template = unit.get(f"{path}template")
    assert template.status_code == 200 and template["X-Content-Type-Options"] == "nosniff"
    assert filename_of(template) == "471002_遵化市中小企业服务中心.xlsx"
    assert template.content == store.template_path(portal["units"]["471002"]).read_bytes()

    response = upload(unit, path, BAD)
    assert response.status_code == 303
    checking = unit.get(path).content.decode()
    assert "正在校验" in checking and '<meta http-equiv="refresh" content="1">' in checking
    run_worker()
    shown = unit.get(path).content.decode()
    assert "正在校验" not in shown and "有错误" in shown
    sheet = "中小企业公共服务平台运行维护经费"
    assert f"工作表：{sheet}" in shown
    cells = re.findall(r'<tr class="finding"><td>([A-Z]+\d+)</td>', shown)
    assert "C12" in cells
    assert "不属于一级指标" in shown  # the message, in Chinese
    english = unit.get(path + "?lang=en").content.decode()
    assert "does not belong" in english and unit.cookies["xlperf_lang"].value == "en"

    annotated = unit.get(f"{path}v/1/annotated")
    assert annotated.status_code == 200 and filename_of(annotated) == "471002_遵化市中小企业服务中心_第1版_标注.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(annotated.content))
    assert "校验结果" in book.sheetnames
    original = unit.get(f"{path}v/1/file")
    assert original.content == BAD.read_bytes()
    assert original["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    upload(unit, path, GOOD)
    run_worker()
    fixed = unit.get(path + "?lang=zh").content.decode()  # back to Chinese
    assert "校验通过" in fixed and "汇总使用第 2 版" in fixed
    assert re.search(r"与上一版相比改动的单元格（\d+ 个）", fixed)
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"upload", "checked", "download_template", "download_annotated", "download_version"} <= kinds


def test_a_form_upload_without_the_csrf_token_is_refused(portal):
    from xlperf.web.models import Version

    handle = io.BytesIO(GOOD.read_bytes())
    handle.name = "good.xlsx"
    response = Client(enforce_csrf_checks=True).post(portal["links"]["471002"], {"file": handle})
    assert response.status_code == 403 and Version.objects.count() == 0


def test_the_json_api_answers_on_the_same_url(portal):
    path = portal["links"]["471002"]
    client = Client()
    handle = io.BytesIO(BAD.read_bytes())
    handle.name = "bad.xlsx"
    response = client.post(path + "?wait=0", {"file": handle}, headers={"Accept": "application/json"})
    assert response.status_code == 201
    assert response.json()["state"] == "checking" and response.json()["version"] == 1
    run_worker()
    latest = client.get(path, headers={"Accept": "application/json"}).json()["latest"]
    assert latest["version"] == 1 and latest["state"] == "errors"
    assert all(set(f) == {"code", "severity", "sheet", "cell", "message", "hint"} for f in latest["findings"])
    assert {"code": "LEVEL2_NOT_IN_LEVEL1", "severity": "error"}.items() <= latest["findings"][0].items()
    assert latest["annotated_url"].startswith("http://testserver/u/")
    assert client.get(latest["annotated_url"].replace("http://testserver", "")).status_code == 200
    # the same file again is the same version, answered at once
    handle.seek(0)
    again = client.post(path, {"file": handle}, headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json()["version"] == 1 and again.json()["state"] == "errors"


def test_a_double_click_stores_one_version(portal):
    from xlperf.web.models import Version

    path = portal["links"]["471002"]
    client = Client(enforce_csrf_checks=True)
    upload(client, path, GOOD)
    second = upload(client, path, GOOD, name="again.xlsx")
    assert second.status_code == 303 and "notice=repeated" in second["Location"]
    assert Version.objects.count() == 1
    assert "已经上传过（第 1 版）" in client.get(second["Location"]).content.decode()


def test_an_upload_over_the_limit_another_type_and_an_empty_post_are_refused(portal, settings):
    from xlperf.web.models import Version

    settings.MAX_UPLOAD_BYTES = 1000
    path = portal["links"]["471002"]
    client = Client()
    response = upload(client, path, GOOD)
    assert response.status_code == 413 and "文件过大" in response.content.decode()
    script = io.BytesIO(b"<script>alert(1)</script>")
    script.name = "报表.html"
    refused = client.post(path, {"file": script}, headers={"Accept": "application/json"})
    assert refused.status_code == 415
    assert refused.json() == {"error": "只接受工作簿（.xlsx / .xlsm / .xls / .ods），“报表.html”不是"}
    empty = client.post(path, {}, headers={"Accept": "application/json"})
    assert empty.status_code == 400 and empty.json() == {"error": "请选择要上传的文件"}
    assert Version.objects.count() == 0



def test_a_link_uploading_too_often_is_refused_before_its_bytes_are_kept(portal, settings):
    """A unit's script gone wrong (a new file every few seconds) gets 429 after the hourly limit: nothing more is
    stored or queued for checking, other units upload as before, and the refusal is in the audit log."""
    from xlperf.web import store
    from xlperf.web.models import AuditEvent, Version

    settings.MAX_UPLOADS_PER_HOUR = 2
    path = portal["links"]["471002"]
    client = Client()
    good = GOOD.read_bytes()
    for number in range(2):  # two different files: each a new version
        assert upload(client, path, good + b"\0" * (number + 1), name=f"v{number}.xlsx").status_code == 303
    kept = sorted(p.name for p in store.data_dir().rglob("*") if p.is_file())
    refused = upload(client, path, good + b"\0" * 3, name="v3.xlsx", headers={"Accept": "application/json"})
    assert refused.status_code == 429
    assert refused.json() == {"error": "一小时内已上传 2 次（上限 2 次），请稍后再试"}
    english = upload(client, path + "?lang=en", BAD)
    assert english.status_code == 429 and "2 uploads in the last hour (at most 2); try again later" in \
        english.content.decode()
    assert Version.objects.filter(unit__code="471002").count() == 2
    assert sorted(p.name for p in store.data_dir().rglob("*") if p.is_file()) == kept
    assert AuditEvent.objects.filter(kind="upload_refused", unit__code="471002").count() == 2
    assert upload(client, portal["links"]["471003"], BAD).status_code == 303  # another unit is not held back

def test_a_hostile_upload_gets_its_one_line_finding_and_the_portal_keeps_serving(portal, tmp_path):
    import hostile

    path = portal["links"]["471003"]
    client = Client()
    made = [hostile.truncated_xlsx(tmp_path), hostile.docx_renamed(tmp_path), hostile.billion_laughs(tmp_path)]
    for file in made:
        handle = io.BytesIO(file.read_bytes())
        handle.name = file.name
        assert client.post(path + "?wait=0", {"file": handle}, headers={"Accept": "application/json"}).status_code == 201
    run_worker()
    assert client.get(path, headers={"Accept": "application/json"}).json()["latest"]["version"] == len(made)
    from xlperf.web.models import Version

    for version in Version.objects.order_by("number"):
        assert version.state in ("unreadable", "errors"), version.findings
        assert len(version.findings) == 1 and version.findings[0]["code"].startswith("READ_")
        assert "\n" not in version.findings[0]["message"]["zh"]
    assert client.get(portal["links"]["471002"]).status_code == 200
    good = io.BytesIO(GOOD.read_bytes())
    good.name = "good.xlsx"
    client.post(portal["links"]["471002"] + "?wait=0", {"file": good}, headers={"Accept": "application/json"})
    run_worker()
    assert client.get(portal["links"]["471002"], headers={"Accept": "application/json"}).json()["latest"]["state"] == "passed"


def test_a_revoked_or_unknown_link_opens_nothing_and_a_unit_sees_only_its_own(portal):
    from xlperf.web import store

    client = Client()
    upload(client, portal["links"]["471002"], GOOD)
    assert client.get(portal["links"]["471001"] + "v/1/file").status_code == 404  # 471001 has no version 1
    assert client.get("/u/" + "x" * 32 + "/").status_code == 404
    store.revoke_link(portal["units"]["471002"])
    gone = client.get(portal["links"]["471002"])
    assert gone.status_code == 404 and "已被收回" in gone.content.decode()
    assert client.get(portal["links"]["471002"] + "v/1/file").status_code == 404
    assert client.get(portal["links"]["471002"], headers={"Accept": "application/json"}).status_code == 404


def test_the_office_logs_in_and_the_session_cookie_is_httponly_and_samesite(portal):
    from xlperf.web.models import AuditEvent

    client = Client(enforce_csrf_checks=True)
    assert client.get("/office/").status_code == 302
    page = client.get("/office/login/")
    wrong = client.post("/office/login/", {"username": "finance", "password": "wrong password",
                                           "csrfmiddlewaretoken": csrf_of(page)})
    assert wrong.status_code == 200 and "账号或密码不正确" in wrong.content.decode()
    assert AuditEvent.objects.filter(kind="login_failed").count() == 1
    no_token = client.post("/office/login/", {"username": "finance", "password": PASSWORD})
    assert no_token.status_code == 403
    response = client.post("/office/login/", {"username": "finance", "password": PASSWORD,
                                              "csrfmiddlewaretoken": csrf_of(page)})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert AuditEvent.objects.filter(kind="login", user__username="finance").count() == 1
    rounds = client.get("/office/").content.decode()
    assert portal["round"].title in rounds


def test_the_dashboard_shows_each_units_state_with_filters_and_search(office, portal):
    path = portal["links"]["471002"]
    upload(Client(), path, BAD)
    run_worker()
    upload(Client(), portal["links"]["471003"], RETURNS / "471003_遵化市无线电监测站.xlsx")
    run_worker()
    url = f"/office/round/{portal['round'].pk}/"
    page = office.get(url).content.decode()
    rows = dict(re.findall(r'<tr data-unit="(\d+)">.*?<span class="state state-(\w+)">', page, re.S))
    assert rows == {"471001": "not_returned", "471002": "errors", "471003": "passed"}
    assert "项目支出绩效目标表（2020 版指标体系）" in page  # the framework by its Chinese name, as every page names it
    assert re.findall(r'<tr data-unit="(\d+)">', office.get(url + "?state=errors").content.decode()) == ["471002"]
    assert re.findall(r'<tr data-unit="(\d+)">', office.get(url + "?q=无线电").content.decode()) == ["471003"]
    status = office.get(url + "?format=json").json()
    assert status["counts"]["passed"] == 1 and status["counts"]["errors"] == 1
    missing = office.get(url + "missing/").content.decode()
    assert re.findall(r"<td>(\d{6})</td>", missing) == ["471001", "471002"]


def test_the_office_reissues_and_revokes_a_link_and_downloads_every_version(office, portal):
    from xlperf.web.models import AuditEvent

    unit = portal["units"]["471002"]
    upload(Client(), portal["links"]["471002"], BAD)
    run_worker()
    url = f"/office/round/{portal['round'].pk}/unit/{unit.pk}/"
    page = office.get(url)
    assert "LEVEL2_NOT_IN_LEVEL1" not in page.content.decode() and "不属于一级指标" in page.content.decode()
    reissued = office.post(url, {"action": "reissue", "csrfmiddlewaretoken": csrf_of(page)}).content.decode()
    new_link = re.search(r'<code class="link" id="new-link">([^<]+)</code>', reissued).group(1)
    assert new_link.startswith("http://testserver/u/")
    assert Client().get(portal["links"]["471002"]).status_code == 404
    assert Client().get(new_link.replace("http://testserver", "")).status_code == 200
    upload(Client(), new_link.replace("http://testserver", ""), GOOD)  # the fix, through the new link
    run_worker()
    history = office.get(url).content.decode()
    assert re.search(r"与上一版相比改动 \d+ 个单元格", history)
    assert "中小企业公共服务平台运行维护经费!C12：社会效益指标 → 质量指标" in history
    revoked = office.post(url, {"action": "revoke", "csrfmiddlewaretoken": csrf_of(page)})
    assert "上传链接已收回" in revoked.content.decode()
    assert Client().get(new_link.replace("http://testserver", "")).status_code == 404
    version = unit.versions.get(number=1)
    original = office.get(f"/office/version/{version.pk}/file")
    assert original.content == BAD.read_bytes() and filename_of(original) == "471002_遵化市中小企业服务中心_第1版.xlsx"
    assert office.get(f"/office/version/{version.pk}/annotated").status_code == 200
    assert Client().get(f"/office/version/{version.pk}/file").status_code == 302  # not logged in: to the login
    assert {"link_reissued", "link_revoked", "office_download_file"} <= set(AuditEvent.objects.values_list("kind", flat=True))


def test_the_office_makes_the_summary_report_and_export_from_the_current_versions(office, portal):
    for code, file in (("471002", GOOD), ("471003", RETURNS / "471003_遵化市无线电监测站.xlsx")):
        upload(Client(), portal["links"][code], file)
    upload(Client(), portal["links"]["471001"], WITH_ERRORS / "471001_budget-and-plan-errors.xlsx")
    run_worker()
    base = f"/office/round/{portal['round'].pk}/"
    token = csrf_of(office.get(base))
    summary = office.post(base + "summary/", {"csrfmiddlewaretoken": token})
    assert summary.status_code == 200 and filename_of(summary).endswith("_汇总表.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(summary.content), read_only=True)
    codes = {row[0] for row in book["项目汇总"].iter_rows(values_only=True)}
    assert {"471002", "471003"} <= {str(code) for code in codes} and "471001" not in {str(c) for c in codes}
    missing = [row for row in book["未报送"].iter_rows(values_only=True) if "471001" in [str(c) for c in row]]
    assert missing  # the unit whose only return has errors is listed as not returned
    report = office.post(base + "report/", {"csrfmiddlewaretoken": token})
    assert report.status_code == 200 and filename_of(report).endswith("_绩效文本.docx")
    assert report.content[:2] == b"PK" and b"word/document.xml" in report.content
    export = office.post(base + "export/", {"csrfmiddlewaretoken": token})
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert sorted(names) == sorted(["returns/471002_遵化市中小企业服务中心_第1版.xlsx",
                                    "returns/471003_遵化市无线电监测站_第1版.xlsx", "汇总表.xlsx", "status.json",
                                    "manifest.json"])
    status = json.loads(zipfile.ZipFile(io.BytesIO(export.content)).read("status.json"))
    assert status["counts"] == {"not_returned": 0, "errors": 1, "unreadable": 0, "checking": 0, "warnings": 0,
                                "passed": 2}
    assert office.get(base + "summary/").status_code == 405  # made by a form's POST only


def test_the_office_creates_a_round_from_a_project_list(office, portal):
    from xlperf.web.models import AuditEvent, Round

    form = office.get("/office/round/new/")
    assert form.status_code == 200 and 'name="projects"' in form.content.decode()
    handle = io.BytesIO((SAMPLES / "projects.csv").read_bytes())
    handle.name = "项目清单.csv"
    made = office.post("/office/round/new/", {"projects": handle, "year": "2023", "framework": "cn-2020",
                                              "title": "", "csrfmiddlewaretoken": csrf_of(form)})
    page = made.content.decode()
    assert made.status_code == 200, page
    round_ = Round.objects.get(year=2023)
    assert f"已创建：{round_.title}" in page
    links = re.findall(r'<code class="link">(http://testserver/u/[^<]+)</code>', page)
    assert len(links) == 3
    unit_page = Client().get(links[1].replace("http://testserver", "")).content.decode()
    assert "遵化市中小企业服务中心（471002）" in unit_page and "2023" in unit_page
    data = unquote(re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', page).group(1))
    assert data.splitlines()[0] == "\ufeffunit_code,unit_name,url" and data.splitlines()[2].endswith(links[1])
    assert AuditEvent.objects.get(kind="round_created", round=round_).user.username == "finance"


def test_a_bad_project_list_in_the_form_is_listed_and_nothing_is_created(office, portal, tmp_path):
    from xlperf.web.models import Round

    form = office.get("/office/round/new/")
    handle = io.BytesIO("单位编码,单位名称,项目编码,项目名称,预算数,财政资金,其他资金\n471001,甲,P1,项目,10,5,1\n"
                        .encode("utf-8"))
    handle.name = "bad.csv"
    refused = office.post("/office/round/new/", {"projects": handle, "year": "2023", "framework": "cn-2020",
                                                 "csrfmiddlewaretoken": csrf_of(form)})
    page = refused.content.decode()
    assert refused.status_code == 400 and "项目清单有以下问题，未创建任何内容" in page
    assert re.search(r"<li>bad\.csv: .*</li>", page)
    assert Round.objects.count() == 1  # the fixture's round only
    missing = office.post("/office/round/new/", {"year": "1900", "framework": "nope",
                                                 "csrfmiddlewaretoken": csrf_of(form)})
    text = missing.content.decode()
    assert missing.status_code == 400 and "请选择项目清单文件" in text and "预算年度应为" in text and "请选择指标体系" in text


def test_the_task_queues_old_rows_are_pruned_and_the_results_stay_in_the_versions(portal):
    """``xlperf serve`` prunes the checking queue's rows of checks finished more than a week ago; what each check
    found stays on its version."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from xlperf.web import store
    from xlperf.web.models import Version

    client = Client()
    upload(client, portal["links"]["471002"], BAD)
    upload(client, portal["links"]["471003"], GOOD)
    run_worker()
    assert DBTaskResult.objects.finished().count() == 2
    states = sorted(Version.objects.values_list("unit__code", "state"))
    assert all(state != "checking" for _, state in states)  # both checked
    old = DBTaskResult.objects.order_by("enqueued_at").first()
    DBTaskResult.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    store.prune_task_results()
    assert DBTaskResult.objects.count() == 1 and not DBTaskResult.objects.filter(pk=old.pk).exists()
    assert sorted(Version.objects.values_list("unit__code", "state")) == states
