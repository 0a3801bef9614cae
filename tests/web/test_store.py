"""The portal's store, on SQLite and on PostgreSQL: rounds and links, uploads as versions, checks, status."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from web.webcommon import DATABASES, RETURNS, SAMPLES, WITH_ERRORS

pytestmark = pytest.mark.django_db(databases=DATABASES)

GOOD = RETURNS / "471002_遵化市中小企业服务中心.xlsx"
BAD = WITH_ERRORS / "471002_indicator-errors.xlsx"
OTHER_UNIT = RETURNS / "471003_遵化市无线电监测站.xlsx"


def chunks(path: Path, size: int = 4096):
    data = path.read_bytes()
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.fixture
def round_and_links(store_db):
    from xlperf.web import store

    return store.create_round(SAMPLES / "projects.csv", year=2022, base_url="http://portal.example")


def unit_of(round_and_links, code: str):
    round_, links = round_and_links
    return next(link.unit for link in links if link.unit.code == code)


def test_round_keeps_templates_and_gives_each_unit_a_secret_link(round_and_links):
    from xlperf.web import store
    from xlperf.web.models import Unit

    from xlperf.web.models import Round

    round_, links = round_and_links
    other = next(alias for alias in DATABASES if alias != round_._state.db)
    assert Round.objects.using(round_._state.db).count() == 1 and Round.objects.using(other).count() == 0
    assert round_.year == 2022 and round_.framework == "cn-2020"
    assert round_.title == "遵化市工业和信息化局2022年度项目支出绩效目标"
    assert [link.unit.code for link in links] == ["471001", "471002", "471003"]
    for link in links:
        assert link.url.startswith("http://portal.example/u/")
        token = link.url.rstrip("/").rsplit("/", 1)[1]
        assert len(token) >= 32  # 24 random bytes: 192 bits
        unit = Unit.objects.get(pk=link.unit.pk)
        assert unit.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in unit.token_hash
        assert store.unit_for_token(token) == unit
        assert store.template_path(unit).read_bytes()[:2] == b"PK"
    assert store.unit_for_token("not-a-token") is None
    assert len({link.url for link in links}) == 3


def test_reissued_link_replaces_the_old_one_and_revoked_link_opens_nothing(round_and_links):
    from xlperf.web import store
    from xlperf.web.models import AuditEvent

    unit = unit_of(round_and_links, "471001")
    old = next(link.url for link in round_and_links[1] if link.unit == unit).rstrip("/").rsplit("/", 1)[1]
    new = store.reissue_link(unit, base_url="http://x").rstrip("/").rsplit("/", 1)[1]
    assert store.unit_for_token(old) is None and store.unit_for_token(new) == unit
    store.revoke_link(unit)
    assert store.unit_for_token(new) is None
    kinds = list(AuditEvent.objects.filter(unit=unit).order_by("id").values_list("kind", flat=True))
    assert kinds == ["link_reissued", "link_revoked"]


def test_a_bad_project_list_leaves_the_store_as_it_was(store_db, tmp_path, web_store):
    import xlperf
    from xlperf.web import store
    from xlperf.web.models import Round

    bad = tmp_path / "projects.csv"
    bad.write_text("单位编码,单位名称,项目编码,项目名称,预算数,财政资金,其他资金\n471001,甲,P1,项目,10,5,1\n",
                   encoding="utf-8")
    rounds_before = sorted((web_store / "rounds").glob("*")) if (web_store / "rounds").exists() else []
    with pytest.raises(xlperf.XlperfError):
        store.create_round(bad, year=2022)
    assert Round.objects.count() == 0
    assert (sorted((web_store / "rounds").glob("*")) if (web_store / "rounds").exists() else []) == rounds_before
    assert not list((web_store / "work").glob("round-*"))


def test_an_upload_is_kept_by_hash_and_the_same_content_twice_is_one_version(round_and_links):
    from django_tasks_db.models import DBTaskResult

    from xlperf.web import store

    unit = unit_of(round_and_links, "471002")
    first, created = store.record_upload(unit, chunks(GOOD), "报表.xlsx", address="10.0.0.1")
    again, created_again = store.record_upload(unit, chunks(GOOD), "报表(1).xlsx")
    assert created and not created_again and again.pk == first.pk
    assert first.number == 1 and first.state == "checking"
    assert store.file_path(first.sha256).read_bytes() == GOOD.read_bytes()
    assert first.sha256 == hashlib.sha256(GOOD.read_bytes()).hexdigest()
    second, created = store.record_upload(unit, chunks(BAD), "改过.xlsx")
    assert created and second.number == 2
    assert DBTaskResult.objects.count() == 2  # one check each, queued with the upload
    assert not list((store.work_dir()).glob("incoming-*"))


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(round_and_links, settings):
    from xlperf.web import store
    from xlperf.web.models import Version

    settings.MAX_UPLOAD_BYTES = 1000
    unit = unit_of(round_and_links, "471002")
    with pytest.raises(store.TooLarge):
        store.record_upload(unit, chunks(GOOD), "big.xlsx")
    assert Version.objects.count() == 0
    assert not list(store.work_dir().glob("incoming-*"))


def test_checks_give_located_findings_an_annotated_copy_and_the_current_version(round_and_links):
    from xlperf.web import store

    round_, _ = round_and_links
    unit = unit_of(round_and_links, "471002")
    good, _ = store.record_upload(unit, chunks(GOOD), "good.xlsx")
    good = store.check_version(good.pk)
    assert (good.state, good.errors, good.warnings, good.findings) == ("passed", 0, 0, [])
    assert store.file_path(good.annotated_sha256).read_bytes()[:2] == b"PK"

    bad, _ = store.record_upload(unit, chunks(BAD), "bad.xlsx")
    bad = store.check_version(bad.pk)
    assert bad.state == "errors" and bad.errors > 0
    located = [f for f in bad.findings if f["severity"] == "error"]
    assert all(f["sheet"] and f["cell"] and f["message"]["zh"] and f["message"]["en"] for f in located)
    # the same findings as the library gives for that file
    import xlperf

    expected = xlperf.validate_paths([BAD], framework="cn-2020", year=2022)[0].findings
    assert sorted((f["code"], f["sheet"], f["cell"]) for f in bad.findings) == \
        sorted((f.code, f.location.sheet, f.location.cell) for f in expected)
    assert bad.changed_cells  # the cells the unit changed since version 1
    assert all({"sheet", "cell", "before", "after"} <= set(change) for change in bad.changed_cells)

    row = next(r for r in store.round_status(round_) if r.unit == unit)
    assert (row.state, row.versions, row.current.number, row.latest.number) == ("errors", 2, 1, 2)


def test_an_unreadable_upload_is_kept_and_marked_but_never_current(round_and_links, tmp_path):
    from xlperf.web import store

    unit = unit_of(round_and_links, "471001")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00not a workbook" * 100)
    version, _ = store.record_upload(unit, chunks(junk), "junk.xlsx")
    version = store.check_version(version.pk)
    assert version.state == "unreadable" and version.errors == 1
    assert version.findings[0]["code"].startswith("READ_")
    assert store.file_path(version.sha256).exists()
    assert store.current_version(unit) is None
    assert store.check_version(version.pk).state == "unreadable"  # checked once: a second run changes nothing


def test_another_units_return_through_a_units_link_is_an_error(round_and_links):
    from xlperf.web import store

    unit = unit_of(round_and_links, "471002")
    version, _ = store.record_upload(unit, chunks(OTHER_UNIT), "471003.xlsx")
    version = store.check_version(version.pk)
    assert version.state == "errors"
    assert [f["code"] for f in version.findings] == ["PORTAL_OTHER_UNIT"]
    assert version.findings[0]["sheet"] and version.findings[0]["cell"]


def test_status_counts_each_state(round_and_links):
    from xlperf.web import store

    round_, _ = round_and_links
    version, _ = store.record_upload(unit_of(round_and_links, "471002"), chunks(GOOD), "good.xlsx")
    status = store.status_json(round_)
    assert status["counts"]["not_returned"] == 2 and status["counts"]["checking"] == 1
    assert [u["state"] for u in status["units"]] == ["not_returned", "checking", "not_returned"]
    store.check_version(version.pk)
    assert store.status_json(round_)["counts"]["passed"] == 1


def test_office_accounts_are_hashed_with_argon2(store_db):
    from django.contrib.auth import authenticate
    from django.core.exceptions import ValidationError

    from xlperf.web import store

    user, created = store.add_office("财务科", "correct horse 1")
    assert created and user.password.startswith("argon2$")
    assert authenticate(username="财务科", password="correct horse 1") == user
    _, created = store.add_office("财务科", "another pass 2")
    assert not created and authenticate(username="财务科", password="another pass 2") == user
    with pytest.raises(ValidationError):
        store.add_office("x", "short")


def test_the_store_is_consistent_after_uploads(round_and_links):
    from xlperf.web import store

    unit = unit_of(round_and_links, "471002")
    store.record_upload(unit, chunks(GOOD), "good.xlsx")
    assert store.check_consistency() == []
    damaged, _ = store.record_upload(unit, chunks(BAD), "bad.xlsx")
    path = store.file_path(damaged.sha256)
    saved = path.read_bytes()
    try:
        path.write_bytes(saved[:-10])
        assert store.check_consistency() == [f"version {damaged.pk}: file {damaged.sha256} does not match"]
    finally:
        path.write_bytes(saved)


def test_a_parser_that_crashes_or_hangs_on_an_upload_is_that_uploads_finding_and_the_next_check_is_fine(
        round_and_links, monkeypatch):
    """The reliability issue's crash cases through the portal's check: the parser aborts the process on one
    upload and never ends on another (it reads them in a forked, limited worker); each becomes its
    version's one finding, neither becomes current, and the next upload is checked as usual."""
    import os
    import time

    import xlperf.checks.validate
    import xlperf.intake.reader
    from xlperf.web import store

    unit = unit_of(round_and_links, "471001")
    crashing, _ = store.record_upload(unit, chunks(RETURNS / "471001_遵化市工业和信息化局本级.xlsx"), "a.xlsx")
    hanging, _ = store.record_upload(unit, chunks(WITH_ERRORS / "471001_budget-and-plan-errors.xlsx"), "b.xlsx")
    real_open = xlperf.intake.reader._open

    def hostile_open(path, package=None):
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest == crashing.sha256:
            os.abort()
        if digest == hanging.sha256:
            time.sleep(120)
        return real_open(path, package)

    monkeypatch.setattr(xlperf.intake.reader, "_open", hostile_open)  # the forked workers inherit both
    monkeypatch.setattr(xlperf.checks.validate, "read_boundary", lambda: xlperf.checks.validate.Boundary(seconds=2))
    started = time.monotonic()
    crashed, hung = store.check_version(crashing.pk), store.check_version(hanging.pk)
    assert time.monotonic() - started < 60
    assert (crashed.state, [f["code"] for f in crashed.findings]) == ("unreadable", ["READ_CRASHED"])
    assert (hung.state, [f["code"] for f in hung.findings]) == ("unreadable", ["READ_TIMEOUT"])
    assert store.current_version(unit) is None
    fine, _ = store.record_upload(unit_of(round_and_links, "471002"), chunks(GOOD), "471002.xlsx")
    assert store.check_version(fine.pk).state in ("passed", "warnings")
