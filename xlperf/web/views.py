"""The portal's pages: the unit's page (its secret link, no account) and the office's pages (login).

Thin: every decision is in ``store``; the validation runs in the task worker, the summary and the report in
a thread of their own (the library then reads the returns in worker processes), never in the thread that
serves the pages.
"""
from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from pathlib import Path
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.middleware.csrf import CsrfViewMiddleware

import xlperf

from . import store
from .audit import client_address
from .models import CHECKING, Round, Unit, Version
from .texts import severity_label, state_label, texts

MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".zip": "application/zip",
}
LANG_COOKIE = "xlperf_lang"
JSON_WAIT_SECONDS = 60


# ------------------------------------------------------------------------------------------- helpers

def page_lang(request) -> str:
    asked = request.GET.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if request.COOKIES.get(LANG_COOKIE) == "en" else "zh"


def _remember_lang(request, response):
    asked = request.GET.get("lang")
    if asked in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def show(request, template: str, context: dict, status: int = 200):
    lang = page_lang(request)
    context = {"lang": lang, "t": texts(lang), "other_lang": "en" if lang == "zh" else "zh", **context}
    return _remember_lang(request, render(request, template, context, status=status))


def disposition(name: str) -> str:
    """``attachment`` with the name in UTF-8 (RFC 6266/5987) and a plain-ASCII fallback for old clients."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment(data: bytes, name: str) -> HttpResponse:
    """A download: always an attachment, with the Chinese file name kept (``filename*=UTF-8''…``), of a type
    no browser runs (the security middleware adds ``nosniff``)."""
    response = HttpResponse(data, content_type=MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream"))
    response["Content-Disposition"] = disposition(name)
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _closing(function):
    """Run ``function`` in a thread of its own and close that thread's database connections after."""
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()
    return run


def in_thread(function, *args, **kwargs):
    return sync_to_async(_closing(function), thread_sensitive=False)(*args, **kwargs)


def version_json(request, token: str, version: Version, lang: str) -> dict:
    annotated = (request.build_absolute_uri(reverse("portal:unit_annotated", args=[token, version.number]))
                 if version.annotated_sha256 else None)
    return {
        "version": version.number,
        "state": version.state,
        "errors": version.errors,
        "warnings": version.warnings,
        "uploaded_at": version.uploaded_at.isoformat(),
        "findings": [{"code": f["code"], "severity": f["severity"], "sheet": f["sheet"], "cell": f["cell"],
                      "message": f["message"][lang], "hint": f["hint"][lang]} for f in version.findings],
        "changed_cells": version.changed_cells,
        "annotated_url": annotated,
    }


def grouped_findings(findings: list[dict], lang: str) -> list[dict]:
    """The findings by sheet, in the order the sheets first appear; errors before warnings in each."""
    groups: dict[str, list[dict]] = {}
    for finding in findings:
        groups.setdefault(finding.get("sheet") or "", []).append({
            **finding, "text": finding["message"][lang], "fix": finding["hint"][lang],
            "severity_label": severity_label(finding["severity"], lang)})
    return [{"sheet": sheet, "findings": sorted(items, key=lambda f: f["severity"] != "error")}
            for sheet, items in groups.items()]


def result_line(version: Version, t: dict) -> str:
    if version.state == "passed":
        return t["passed_text"]
    if version.state == "warnings":
        return t["warnings_text"].format(count=version.warnings)
    if version.state == "errors":
        return t["errors_text"].format(errors=version.errors, warnings=version.warnings)
    if version.state == "unreadable":
        return t["unreadable_text"]
    return t["checking"]


# ------------------------------------------------------------------------------------------- the unit

def _unit_or_gone(token: str) -> Unit | None:
    return store.unit_for_token(token)


def _unit_context(request, unit: Unit, token: str, notice: str = "") -> dict:
    lang = page_lang(request)
    t = texts(lang)
    versions = list(unit.versions.order_by("-number"))
    latest = versions[0] if versions else None
    current = next((v for v in versions if v.usable), None)
    for version in versions:
        version.state_label = state_label(version.state, lang)
    return {
        "unit": unit, "round": unit.round, "token": token, "versions": versions, "latest": latest,
        "current": current, "notice": notice, "checking": bool(latest and latest.state == CHECKING),
        "result_line": result_line(latest, t) if latest else "",
        "groups": grouped_findings(latest.findings, lang) if latest else [],
        "max_mb": f"{settings.MAX_UPLOAD_BYTES / 1e6:g}",
    }


@csrf_exempt  # the form carries a CSRF token (checked below); scripts posting JSON hold the link, no cookie
async def unit_page(request, token: str):
    unit = await in_thread(_unit_or_gone, token)
    if unit is None:
        if wants_json(request):
            return JsonResponse({"error": "link not valid"}, status=404)
        return await in_thread(show, request, "portal/gone.html", {}, 404)
    if request.method == "POST":
        return await _upload(request, unit, token)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    lang = page_lang(request)
    if wants_json(request):
        latest = await in_thread(lambda: unit.versions.order_by("-number").first())
        return JsonResponse({"unit_code": unit.code, "unit_name": unit.name,
                             "latest": version_json(request, token, latest, lang) if latest else None},
                            json_dumps_params={"ensure_ascii": False})
    notice = request.GET.get("notice", "")
    context = await in_thread(_unit_context, request, unit, token)
    if notice == "repeated" and context["latest"] is not None:
        context["notice"] = texts(lang)["repeated"].format(number=request.GET.get("v", ""))
    return await in_thread(show, request, "portal/unit.html", context)


async def _upload(request, unit: Unit, token: str):
    json_api = wants_json(request)
    lang = page_lang(request)
    t = texts(lang)
    if not json_api:
        refused = await in_thread(CsrfViewMiddleware(lambda r: None).process_view, request, None, (), {})
        if refused is not None:
            return refused
    try:
        upload = await in_thread(lambda: request.FILES.get("file"))
    except Exception:  # noqa: BLE001 - a malformed or oversized multipart body: one answer, never a trace
        upload = None
    if upload is None:
        return _upload_refused(request, unit, token, t["no_file"], 400, json_api)
    if store.suffix_of(upload.name) not in store.WORKBOOK_SUFFIXES:  # what the content is, the preflight decides
        return _upload_refused(request, unit, token, t["not_workbook"].format(name=upload.name), 415, json_api)
    if upload.size > settings.MAX_UPLOAD_BYTES:
        return _upload_refused(request, unit, token, f"{t['too_large']}（> {settings.MAX_UPLOAD_BYTES / 1e6:g} MB）",
                               413, json_api)
    try:
        version, created = await in_thread(store.record_upload, unit, upload.chunks(), upload.name,
                                           address=client_address(request))
    except store.StoreError as error:
        status = 413 if isinstance(error, store.TooLarge) else 429 if isinstance(error, store.TooOften) else 409
        return _upload_refused(request, unit, token, error.text(lang), status, json_api)
    if not json_api:
        target = reverse("portal:unit", args=[token])
        return HttpResponseRedirect(target if created else f"{target}?notice=repeated&v={version.number}", status=303)
    try:  # how long to wait for the check before answering ``checking`` (scripts may poll the same URL with GET)
        wait = min(max(float(request.GET.get("wait", JSON_WAIT_SECONDS)), 0.0), JSON_WAIT_SECONDS)
    except ValueError:
        wait = JSON_WAIT_SECONDS
    waited, pause = 0.0, 0.1
    while version.state == CHECKING and waited < wait:
        await asyncio.sleep(pause)  # the first look soon, then less often: many waiting scripts, few queries
        waited += pause
        pause = min(pause * 1.5, 1.0)
        version = await in_thread(Version.objects.get, pk=version.pk)
    return JsonResponse(version_json(request, token, version, lang), status=201 if created else 200,
                        json_dumps_params={"ensure_ascii": False})


def _upload_refused(request, unit, token, reason: str, status: int, json_api: bool):
    if json_api:
        return JsonResponse({"error": reason}, status=status)
    return HttpResponse(f"<!doctype html><meta charset=utf-8><p>{_escape(reason)}</p>"
                        f"<p><a href='{reverse('portal:unit', args=[token])}'>←</a></p>", status=status)


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


def _own_version(token: str, number: int) -> tuple[Unit, Version]:
    unit = store.unit_for_token(token)
    if unit is None:
        raise Http404
    version = unit.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return unit, version


@require_http_methods(["GET", "HEAD"])
def unit_template(request, token: str):
    unit = store.unit_for_token(token)
    if unit is None:
        raise Http404
    store.audit("download_template", unit=unit, address=client_address(request))
    return attachment(store.template_path(unit).read_bytes(), unit.template_file)


@require_http_methods(["GET", "HEAD"])
def unit_file(request, token: str, number: int):
    unit, version = _own_version(token, number)
    store.audit("download_version", unit=unit, version=version, address=client_address(request))
    return attachment(store.file_path(version.sha256).read_bytes(), store.download_name(unit, version))


@require_http_methods(["GET", "HEAD"])
def unit_annotated(request, token: str, number: int):
    unit, version = _own_version(token, number)
    if not version.annotated_sha256:
        raise Http404
    store.audit("download_annotated", unit=unit, version=version, address=client_address(request))
    return attachment(store.file_path(version.annotated_sha256).read_bytes(),
                      store.download_name(unit, version, annotated=True))


# ------------------------------------------------------------------------------------------- the office

def office_required(view):
    """Logged in as an office account (staff); anyone else goes to the login page."""
    @login_required
    def checked(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)
    checked.__name__ = view.__name__
    return checked


class OfficeLogin(LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        lang = page_lang(self.request)
        return {**super().get_context_data(**kwargs), "lang": lang, "t": texts(lang),
                "other_lang": "en" if lang == "zh" else "zh"}


def home(request):
    return HttpResponseRedirect(reverse("portal:rounds"))


@office_required
def rounds(request):
    return show(request, "portal/rounds.html", {"rounds": Round.objects.all()})


PROJECT_LIST_SUFFIXES = (".csv", ".xlsx")


@office_required
def new_round(request):
    """A round from a project list sent with the form (what ``xlperf round create`` does): the templates are
    made and kept, and the units' links shown this once (and as links.csv), to be sent to each unit."""
    lang = page_lang(request)
    t = texts(lang)
    frameworks = [(framework.id, framework.title) for framework in xlperf.list_frameworks()]
    form = {"year": request.POST.get("year") or str(timezone.localdate().year + 1),
            "framework": request.POST.get("framework") or "cn-2020", "title": request.POST.get("title", "")}
    context = {"frameworks": frameworks, "form": form, "problems": []}
    if request.method != "POST":
        return show(request, "portal/new_round.html", context)
    upload = request.FILES.get("projects")
    suffix = Path(upload.name).suffix.lower() if upload else ""
    try:
        year = int(form["year"])
    except ValueError:
        year = 0
    if upload is None or suffix not in PROJECT_LIST_SUFFIXES:
        context["problems"].append(t["projects_needed"])
    if not 2000 <= year <= 2100:
        context["problems"].append(t["year_needed"])
    if form["framework"] not in dict(frameworks):
        context["problems"].append(t["framework_needed"])
    if context["problems"]:
        return show(request, "portal/new_round.html", context, 400)
    base = settings.BASE_URL or request.build_absolute_uri("/")
    with tempfile.TemporaryDirectory(dir=store.work_dir(), prefix="projects-") as scratch:
        projects = Path(scratch) / f"projects{suffix}"
        with open(projects, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        try:
            round_, links = store.create_round(projects, year=year, framework=form["framework"],
                                               title=form["title"].strip() or None, base_url=base, user=request.user)
        except xlperf.XlperfError as error:
            findings = getattr(error, "findings", None) or []
            context["problems"] = [f"{upload.name}: {finding.line(lang)}" for finding in findings] or [error.text(lang)]
            return show(request, "portal/new_round.html", context, 400)
    table = io.StringIO()
    csv.writer(table).writerows([["unit_code", "unit_name", "url"]]
                                + [[link.unit.code, link.unit.name, link.url] for link in links])
    csv_text = "\ufeff" + table.getvalue()  # the BOM: Excel opens it as UTF-8
    return show(request, "portal/links.html", {"round": round_, "links": links,
                                               "csv_href": "data:text/csv;charset=utf-8," + quote(csv_text)})


@office_required
def dashboard(request, round_id: int):
    round_ = get_object_or_404(Round, pk=round_id)
    lang = page_lang(request)
    rows = store.round_status(round_)
    counts = store.status_counts(rows)
    if request.GET.get("format") == "json" or wants_json(request):
        return JsonResponse(store.status_json(round_), json_dumps_params={"ensure_ascii": False})
    state = request.GET.get("state", "")
    query = request.GET.get("q", "").strip()
    shown = [row for row in rows if (not state or row.state == state)
             and (not query or query in row.unit.code or query in row.unit.name)]
    for row in shown:
        row.state_label = state_label(row.state, lang)
    filters = [{"state": key, "label": state_label(key, lang), "count": count} for key, count in counts.items()]
    return show(request, "portal/dashboard.html", {
        "round": round_, "rows": shown, "filters": filters, "state": state, "q": query, "total": len(rows),
        "framework": xlperf.framework_shown(round_.framework)})


@office_required
def missing(request, round_id: int):
    """The 催报单: units not returned, or whose latest upload must be corrected; printable."""
    round_ = get_object_or_404(Round, pk=round_id)
    lang = page_lang(request)
    rows = [row for row in store.round_status(round_) if row.current is None]
    for row in rows:
        row.state_label = state_label(row.state, lang)
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    return show(request, "portal/missing.html", {"round": round_, "rows": rows, "now": now})


@office_required
def office_unit(request, round_id: int, unit_id: int):
    unit = get_object_or_404(Unit.objects.select_related("round"), pk=unit_id, round_id=round_id)
    lang = page_lang(request)
    t = texts(lang)
    notice, new_link = "", ""
    if request.method == "POST":
        action = request.POST.get("action")
        base = settings.BASE_URL or request.build_absolute_uri("/")
        if action == "reissue":
            new_link = store.reissue_link(unit, base_url=base, user=request.user, address=client_address(request))
        elif action == "revoke":
            store.revoke_link(unit, user=request.user, address=client_address(request))
            notice = t["revoked"]
        else:
            return HttpResponse(status=400)
        unit.refresh_from_db()
    versions = list(unit.versions.order_by("-number"))
    for version in versions:
        version.state_label = state_label(version.state, lang)
        version.groups = grouped_findings(version.findings, lang)
    if unit.token_hash:
        link_state = t["link_active"].format(time=timezone.localtime(unit.link_issued_at).strftime("%Y-%m-%d %H:%M"))
    else:
        link_state = t["link_revoked"].format(time=timezone.localtime(unit.link_revoked_at).strftime("%Y-%m-%d %H:%M"))
    current = next((v for v in versions if v.usable), None)
    return show(request, "portal/office_unit.html", {
        "round": unit.round, "unit": unit, "versions": versions, "current": current, "notice": notice,
        "new_link": new_link, "link_state": link_state})


@office_required
def office_file(request, version_id: int, kind: str):
    version = get_object_or_404(Version.objects.select_related("unit"), pk=version_id)
    if kind == "annotated":
        if not version.annotated_sha256:
            raise Http404
        sha, name = version.annotated_sha256, store.download_name(version.unit, version, annotated=True)
    else:
        sha, name = version.sha256, store.download_name(version.unit, version)
    store.audit(f"office_download_{kind}", user=request.user, unit=version.unit, version=version,
                address=client_address(request))
    return attachment(store.file_path(sha).read_bytes(), name)


OUTPUTS = {
    "summary": (store.make_summary, "{year}年{title}_汇总表.xlsx"),
    "report": (store.make_report, "{year}年{title}_绩效文本.docx"),
    "export": (store.make_export, "{year}年{title}_归档.zip"),
}


def _make_output(round_id: int, kind: str, user, address: str) -> tuple[bytes, str]:
    round_ = Round.objects.get(pk=round_id)
    make, pattern = OUTPUTS[kind]
    name = pattern.format(year=round_.year, title=round_.title.replace(f"{round_.year}年度", "").replace("/", "_"))
    with tempfile.TemporaryDirectory(dir=store.work_dir(), prefix=f"{kind}-") as scratch:
        target = Path(scratch) / f"out{Path(name).suffix}"
        make(round_, target)
        data = target.read_bytes()
    store.audit(f"made_{kind}", user=user, round=round_, address=address)
    return data, name


@require_POST
async def office_output(request, round_id: int, kind: str):
    """The summary, the report or the export of a round: made in a thread of its own, then downloaded."""
    user = await request.auser()
    if not user.is_authenticated or not user.is_staff:
        return HttpResponseRedirect(f"{reverse('portal:login')}?next={request.path}")
    if kind not in OUTPUTS:
        raise Http404
    if not await in_thread(Round.objects.filter(pk=round_id).exists):
        raise Http404
    try:
        data, name = await in_thread(_make_output, round_id, kind, user, client_address(request))
    except (xlperf.XlperfError, store.StoreError) as error:
        lang = page_lang(request)
        reason = error.text(lang)  # both kinds say their reason in the page's language
        return await in_thread(show, request, "portal/failed.html",
                               {"reason": texts(lang)["failed"].format(reason=reason), "round_id": round_id}, 409)
    return attachment(data, name)
