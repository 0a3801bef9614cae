"""What the portal does to its store, apart from any web page: rounds, links, uploads, checks, status.

The commands and the views both call these functions. Files live under the store's folder by content hash;
rows are written in one transaction each. The validation, the annotated copy, the summary and the report
come from the library (``import xlperf``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django_tasks import task

import xlperf

from . import router
from .models import (CHECKING, ERRORS, NOT_RETURNED, PASSED, UNREADABLE, USABLE, WARNINGS, AuditEvent, Round,
                     Unit, Version)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
TOKEN_BYTES = 24  # 192 random bits in every link
CHUNK = 1 << 16


class StoreError(Exception):
    """A request the store refuses, said in both languages."""

    def __init__(self, zh: str, en: str):
        super().__init__(zh)
        self.zh, self.en = zh, en

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class TooLarge(StoreError):
    pass


class TooOften(StoreError):
    """More uploads through one link in an hour than settings.MAX_UPLOADS_PER_HOUR."""


# ------------------------------------------------------------------------------------------- the folder

def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def file_path(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return data_dir() / "files" / sha256


def work_dir() -> Path:
    """Scratch space inside the store (same file system as ``files/``, so a finished file is renamed in)."""
    path = data_dir() / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_file(chunks: Iterable[bytes], limit: int | None = None) -> tuple[str, int]:
    """Write the bytes to the store by their sha256; return (sha256, size). Atomic: the file appears under
    its hash only when complete and on disk, so a crash leaves at most a stray scratch file."""
    folder = data_dir() / "files"
    folder.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle = tempfile.NamedTemporaryFile(dir=work_dir(), prefix="incoming-", delete=False)
    try:
        with handle:
            for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise TooLarge(f"文件超过 {limit / 1e6:g} MB 的上限", f"the file is over the {limit / 1e6:g} MB limit")
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        sha = digest.hexdigest()
        target = folder / sha
        if target.exists():
            os.unlink(handle.name)
        else:
            os.replace(handle.name, target)
            _fsync_dir(folder)
        return sha, size
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise


def keep_path(path: Path) -> tuple[str, int]:
    with open(path, "rb") as handle:
        return keep_file(iter(lambda: handle.read(CHUNK), b""))


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def round_dir(round_: Round) -> Path:
    return data_dir() / "rounds" / str(round_.pk)


def template_path(unit: Unit) -> Path:
    return round_dir(unit.round) / "templates" / unit.template_file


# ------------------------------------------------------------------------------------------- audit

def audit(kind: str, *, user=None, round=None, unit=None, version=None, address: str = "", **detail) -> AuditEvent:
    if unit is not None and round is None:
        round = unit.round
    return AuditEvent.objects.create(kind=kind, user=user if user is not None and user.is_authenticated else None,
                                     round=round, unit=unit, version=version, address=address[:64], detail=detail)


def atomic():
    return transaction.atomic(using=router.active())


# ------------------------------------------------------------------------------------------- rounds and links

@dataclass
class Link:
    unit: Unit
    url: str


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_round(projects: str | Path, *, year: int, framework: str = "cn-2020", title: str | None = None,
                 base_url: str = "http://127.0.0.1:8000", user=None) -> tuple[Round, list[Link]]:
    """Make the templates from the project list, keep them, and give every unit its secret link.

    The templates are made in scratch space first; a bad project list raises ``xlperf.XlperfError`` (every
    problem listed) and leaves the store as it was."""
    scratch = Path(tempfile.mkdtemp(dir=work_dir(), prefix="round-"))
    try:
        result = xlperf.make_templates(projects, scratch / "templates", year=year, framework=framework)
        shutil.copyfile(projects, scratch / ("projects" + Path(projects).suffix.lower()))
        manifest = result.manifest
        units = manifest["units"]
        with atomic():
            round_ = Round.objects.create(title=title or _default_title(units, year), year=year,
                                          framework=manifest["framework"], manifest=manifest)
            links = []
            for entry in units:
                unit = Unit.objects.create(round=round_, code=entry["unit_code"], name=entry["unit_name"],
                                           template_file=entry["file"])
                links.append(Link(unit, link_url(base_url, _issue(unit))))
            audit("round_created", user=user, round=round_, units=len(units), year=year, framework=round_.framework)
            target = round_dir(round_)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # left by a round whose transaction did not commit
                shutil.rmtree(target)
            os.replace(scratch, target)
        return round_, links
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _default_title(units: list[dict], year: int) -> str:
    names = [entry["unit_name"] for entry in units]
    own = next((name for name in names if name.endswith("本级")), None)
    department = own[: -len("本级")] if own else (names[0] if names else "")
    return f"{department}{year}年度项目支出绩效目标"


def _issue(unit: Unit) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    unit.token_hash = token_hash(token)
    unit.link_issued_at = timezone.now()
    unit.link_revoked_at = None
    unit.save(update_fields=["token_hash", "link_issued_at", "link_revoked_at"])
    return token


def reissue_link(unit: Unit, *, base_url: str, user=None, address: str = "") -> str:
    """A new link for the unit; the old one stops working at once."""
    with atomic():
        token = _issue(unit)
        audit("link_reissued", user=user, unit=unit, address=address)
    return link_url(base_url, token)


def revoke_link(unit: Unit, *, user=None, address: str = "") -> None:
    with atomic():
        unit.token_hash = None
        unit.link_revoked_at = timezone.now()
        unit.save(update_fields=["token_hash", "link_revoked_at"])
        audit("link_revoked", user=user, unit=unit, address=address)


def unit_for_token(token: str) -> Unit | None:
    if not token or len(token) > 200:
        return None
    return Unit.objects.select_related("round").filter(token_hash=token_hash(token)).first()


def write_links(path: Path, links: list[Link]) -> None:
    """``unit_code,unit_name,url``, readable only by the store's owner (the links are the units' keys)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["unit_code", "unit_name", "url"])
    for link in links:
        writer.writerow([link.unit.code, link.unit.name, link.url])
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8-sig") as handle:  # BOM: Excel opens it as UTF-8
        handle.write(buffer.getvalue())
    os.replace(scratch, path)


# ------------------------------------------------------------------------------------------- office accounts

def add_office(name: str, password: str) -> tuple[object, bool]:
    """Create the office account, or set a new password on an existing one: (user, created)."""
    from django.contrib.auth.password_validation import validate_password

    validate_password(password)
    User = get_user_model()
    with atomic():
        user, created = User.objects.get_or_create(username=name, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(password)
        user.is_active = True
        user.save()
        audit("office_added" if created else "office_password_set", account=name)
    return user, created


# ------------------------------------------------------------------------------------------- uploads

def record_upload(unit: Unit, chunks: Iterable[bytes], original_name: str, *, address: str = "") -> tuple[Version, bool]:
    """Keep the uploaded bytes and add them as the unit's next version, to be checked by a worker:
    (version, created). The same content uploaded again by the same unit is the version it already is.
    A link that uploads more than settings.MAX_UPLOADS_PER_HOUR new files in an hour is refused before its
    bytes are kept: one unit's script gone wrong must not fill the disk or the checking queue."""
    recent = Version.objects.filter(unit=unit, uploaded_at__gte=timezone.now() - timedelta(hours=1)).count()
    if recent >= settings.MAX_UPLOADS_PER_HOUR:
        audit("upload_refused", unit=unit, address=address, reason="too_often", recent=recent)
        limit = settings.MAX_UPLOADS_PER_HOUR
        raise TooOften(f"一小时内已上传 {recent} 次（上限 {limit} 次），请稍后再试",
                       f"{recent} uploads in the last hour (at most {limit}); try again later")
    sha, size = keep_file(chunks, settings.MAX_UPLOAD_BYTES)
    name = Path(original_name or "upload").name[:255] or "upload"
    for _attempt in range(5):
        try:
            with atomic():
                existing = Version.objects.filter(round=unit.round_id, unit=unit, sha256=sha).first()
                if existing is not None:
                    audit("upload_repeated", unit=unit, version=existing, address=address, name=name)
                    return existing, False
                number = (Version.objects.filter(unit=unit).aggregate(last=Max("number"))["last"] or 0) + 1
                version = Version.objects.create(round_id=unit.round_id, unit=unit, number=number, sha256=sha,
                                                 original_name=name, size=size, state=CHECKING)
                audit("upload", unit=unit, version=version, address=address, name=name, size=size, sha256=sha)
                check_upload.enqueue(version.pk)  # in this transaction: both or neither
                return version, True
        except IntegrityError:  # a concurrent upload took the number, or the same content: look again
            continue
    raise StoreError("上传冲突，请重试", "the upload clashed with another one; try again")


TASK_RESULTS_KEPT_DAYS = 7  # a check's result lives on in its Version; the queue's own rows are only for the worker


def prune_task_results(days: int = TASK_RESULTS_KEPT_DAYS) -> None:
    """Drop the task queue's rows of checks finished more than ``days`` ago (one row per upload, forever
    otherwise); every result stays in its version."""
    from django.core.management import call_command

    call_command("prune_db_task_results", min_age_days=days, queue_name="*", verbosity=0)


def requeue_unchecked() -> int:
    """Versions left ``checking`` by a stopped worker go back to the queue (each check is idempotent)."""
    pending = list(Version.objects.filter(state=CHECKING).values_list("pk", flat=True))
    for pk in pending:
        check_upload.enqueue(pk)
    return len(pending)


def suffix_of(name: str) -> str:
    return Path(name).suffix.lower()


def check_version(version_id: int, jobs: int = 1) -> Version:
    """Validate a stored version with the library (in a worker process of its own, under the spec's
    limits), keep its findings and its annotated copy. Run by the task worker, never by the web server."""
    version = Version.objects.select_related("unit", "round").get(pk=version_id)
    if version.state != CHECKING:
        return version
    scratch = Path(tempfile.mkdtemp(dir=work_dir(), prefix="check-"))
    try:
        suffix = suffix_of(version.original_name)
        source = scratch / f"{version.unit.code}_v{version.number}{suffix if suffix else '.bin'}"
        try:
            os.link(file_path(version.sha256), source)
        except OSError:
            shutil.copyfile(file_path(version.sha256), source)
        round_ = version.round
        result = xlperf.validate_paths([source], framework=round_.framework, year=round_.year, jobs=jobs,
                                       isolate=True)[0]
        findings = [finding_json(finding) for finding in result.findings]
        findings.extend(_unit_findings(result, version.unit))
        values = cell_values(result)
        annotated = ""
        if result.document is not None:
            written = xlperf.annotate_results([result], scratch / "annotated").get(result.path)
            if written is not None:
                annotated, _ = keep_path(Path(written))
        errors = sum(1 for finding in findings if finding["severity"] == "error")
        state = (UNREADABLE if result.unreadable or result.document is None else ERRORS if errors
                 else WARNINGS if findings else PASSED)
        with atomic():
            version = Version.objects.select_for_update().select_related("unit").get(pk=version_id)
            if version.state != CHECKING:
                return version
            previous = (Version.objects.filter(unit=version.unit, number__lt=version.number)
                        .exclude(state__in=[CHECKING, UNREADABLE]).order_by("-number").first())
            version.state, version.errors, version.warnings = state, errors, len(findings) - errors
            version.findings, version.cell_values, version.annotated_sha256 = findings, values, annotated
            version.changed_cells = changed_cells(previous.cell_values, values) if previous and values else []
            version.checked_at = timezone.now()
            version.save()
            audit("checked", unit=version.unit, version=version, state=state, errors=errors,
                  warnings=version.warnings)
        return version
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def finding_json(finding) -> dict:
    """A finding as the portal keeps it: its location and both languages' message and fix."""
    return {
        "code": finding.code, "severity": finding.level.value,
        "sheet": finding.location.sheet, "cell": finding.location.cell, "row": finding.location.row,
        "field": finding.field,
        "message": {"zh": finding.message("zh"), "en": finding.message("en")},
        "hint": {"zh": finding.hint("zh"), "en": finding.hint("en")},
    }


def _unit_findings(result, unit: Unit) -> list[dict]:
    """A return of another unit uploaded through this unit's link."""
    if result.document is None:
        return []
    found = (result.document.document.get("unit") or {}).get("code")
    if found is None or str(found) == unit.code:
        return []
    location = result.document.location("/unit/code")
    return [{
        "code": "PORTAL_OTHER_UNIT", "severity": "error", "sheet": location.sheet, "cell": location.cell,
        "row": location.row, "field": "unit_code",
        "message": {"zh": f"这是单位 {found} 的报表，不是本单位（{unit.code} {unit.name}）的",
                    "en": f"this is the return of unit {found}, not of {unit.code} {unit.name}"},
        "hint": {"zh": "请上传本单位的模板填写后的文件", "en": "upload your own unit's filled template"},
    }]


def cell_values(result) -> dict[str, str]:
    """Every cell the reader took a value from: ``sheet!cell`` → the value as text."""
    if result.document is None:
        return {}
    values = {}
    for pointer, location in result.document.sources.items():
        if location.sheet and location.cell and pointer in result.document.raw:
            raw = result.document.raw[pointer]
            values[f"{location.sheet}!{location.cell}"] = "" if raw is None else str(raw)
    return values


def changed_cells(before: dict[str, str], after: dict[str, str]) -> list[dict]:
    """The cells whose value differs between two versions, in the order of the newer one."""
    changed = []
    for key in list(after) + [key for key in before if key not in after]:
        old, new = before.get(key, ""), after.get(key, "")
        if old != new:
            sheet, _, cell = key.rpartition("!")
            changed.append({"sheet": sheet, "cell": cell, "before": old, "after": new})
    return changed


# ------------------------------------------------------------------------------------------- status

@dataclass
class UnitStatus:
    unit: Unit
    state: str
    versions: int
    last_upload: object
    latest: Version | None
    current: Version | None

    def as_json(self) -> dict:
        return {
            "unit_code": self.unit.code, "unit_name": self.unit.name, "state": self.state,
            "versions": self.versions,
            "last_upload": self.last_upload.isoformat() if self.last_upload else None,
            "current_version": self.current.number if self.current else None,
            "link": "revoked" if self.unit.token_hash is None else "active",
        }


def round_status(round_: Round) -> list[UnitStatus]:
    """Each unit's state: its latest version's (not returned: none yet); and its current version, the
    latest usable one (a failed or erroneous upload never replaces it)."""
    units = list(round_.units.annotate(count=Count("versions"), last=Max("versions__uploaded_at")).order_by("code"))
    latest: dict[int, Version] = {}
    current: dict[int, Version] = {}
    for version in (Version.objects.filter(round=round_).defer("findings", "cell_values", "changed_cells")
                    .order_by("unit_id", "-number")):
        latest.setdefault(version.unit_id, version)
        if version.state in USABLE:
            current.setdefault(version.unit_id, version)
    rows = []
    for unit in units:
        newest = latest.get(unit.pk)
        rows.append(UnitStatus(unit, newest.state if newest else NOT_RETURNED, unit.count, unit.last, newest,
                               current.get(unit.pk)))
    return rows


def current_version(unit: Unit) -> Version | None:
    return unit.versions.filter(state__in=USABLE).order_by("-number").first()


STATE_ORDER = (NOT_RETURNED, ERRORS, UNREADABLE, CHECKING, WARNINGS, PASSED)


def status_counts(rows: list[UnitStatus]) -> dict[str, int]:
    counts = {state: 0 for state in STATE_ORDER}
    for row in rows:
        counts[row.state] += 1
    return counts


def status_json(round_: Round) -> dict:
    rows = round_status(round_)
    return {"round": {"id": round_.pk, "title": round_.title, "year": round_.year, "framework": round_.framework},
            "counts": status_counts(rows), "units": [row.as_json() for row in rows]}


# ------------------------------------------------------------------------------------------- outputs

def download_name(unit: Unit, version: Version, annotated: bool = False) -> str:
    suffix = ".xlsx" if annotated else (suffix_of(version.original_name) or ".bin")
    label = "_标注" if annotated else ""
    return f"{unit.code}_{unit.name}_第{version.number}版{label}{suffix}"


def _current_files(round_: Round, folder: Path) -> list[Path]:
    """Each unit's current version, under its unit's name, in ``folder``."""
    paths = []
    for row in round_status(round_):
        if row.current is None:
            continue
        target = folder / download_name(row.unit, row.current)
        try:
            os.link(file_path(row.current.sha256), target)
        except OSError:
            shutil.copyfile(file_path(row.current.sha256), target)
        paths.append(target)
    return paths


def _manifest_file(round_: Round, folder: Path) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps(round_.manifest, ensure_ascii=False), encoding="utf-8")
    return path


def make_summary(round_: Round, target: Path) -> object:
    """The summary workbook over the current versions (units with none are listed as not returned)."""
    with tempfile.TemporaryDirectory(dir=work_dir(), prefix="summary-") as scratch:
        folder = Path(scratch)
        (folder / "returns").mkdir()
        paths = _current_files(round_, folder / "returns")
        consolidation = xlperf.merge_returns(paths, expect=_manifest_file(round_, folder), isolate=True,
                                             framework=round_.framework)
        xlperf.write_summary(consolidation, target)
        return consolidation


def make_report(round_: Round, target: Path) -> None:
    """The 部门预算绩效文本 (.docx) over the current versions; raises the library's ReportError if none."""
    with tempfile.TemporaryDirectory(dir=work_dir(), prefix="report-") as scratch:
        folder = Path(scratch)
        paths = _current_files(round_, folder)
        if not paths:
            raise StoreError("还没有可用的报表", "no usable return yet")
        xlperf.write_report(paths, target, title=round_.title, year=round_.year, isolate=True)


def make_export(round_: Round, target: Path) -> None:
    """The round for the archive, one .zip: every current return, the summary, the status and the manifest."""
    with tempfile.TemporaryDirectory(dir=work_dir(), prefix="export-") as scratch:
        folder = Path(scratch)
        (folder / "returns").mkdir()
        paths = _current_files(round_, folder / "returns")
        summary = folder / "summary.xlsx"
        make_summary(round_, summary)
        status = json.dumps(status_json(round_), ensure_ascii=False, indent=2)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, f"returns/{path.name}")
            archive.write(summary, "汇总表.xlsx")
            archive.writestr("status.json", status)
            archive.writestr("manifest.json", json.dumps(round_.manifest, ensure_ascii=False, indent=2))
        os.replace(partial, target)


def check_consistency() -> list[str]:
    """What is wrong in the store (nothing, for a store that was only ever written through these
    functions, however it was stopped): every version's file present with its hash."""
    problems = []
    for version in Version.objects.only("pk", "sha256", "annotated_sha256", "size"):
        path = file_path(version.sha256)
        if not path.exists():
            problems.append(f"version {version.pk}: file {version.sha256} missing")
            continue
        if path.stat().st_size != version.size or _sha256(path) != version.sha256:
            problems.append(f"version {version.pk}: file {version.sha256} does not match")
        if version.annotated_sha256 and not file_path(version.annotated_sha256).exists():
            problems.append(f"version {version.pk}: annotated copy missing")
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@task()
def check_upload(version_id: int) -> str:
    """The background check of one upload, run by the task worker that ``xlperf serve`` starts (django-tasks'
    database backend, so no Redis), never by the web server. Defined beside ``record_upload``, which
    enqueues it in the upload's transaction."""
    return check_version(version_id).state
