"""The portal's commands: ``xlperf round create|status``, ``xlperf office add``, ``xlperf serve``.

Only click is imported here; Django and the rest of the ``web`` extra are imported when a command runs, and
when they are missing the command says how to install them (exit 2).
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click

from ..core.messages import say
from .texts import state_label

WEB_MODULES = ("django", "django_tasks", "django_tasks_db", "argon2", "uvicorn", "whitenoise")


def _lang(given: str | None) -> str:
    if given:
        return given
    context = click.get_current_context(silent=True)
    while context is not None:
        if isinstance(context.obj, dict) and context.obj.get("lang"):
            return context.obj["lang"]
        context = context.parent
    chosen = os.environ.get("XLPERF_LANG", "").strip().lower()[:2]
    if chosen in ("zh", "en"):
        return chosen
    import xlperf

    return xlperf.default_lang()


def _need_web(lang: str) -> None:
    """Exit 2 with one line when the web extra is not installed."""
    import importlib

    for module in WEB_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            click.echo(say("no_extra", lang, module=module), err=True)
            sys.exit(2)


def boot(data: str | Path, db: str | None = None, migrate: bool = True) -> None:
    """Configure Django for the store at ``data`` (and the database ``db``) and bring its schema up to date."""
    data = Path(data).resolve()
    data.mkdir(parents=True, exist_ok=True)
    os.environ["XLPERF_WEB_DATA"] = str(data)
    if db:
        os.environ["XLPERF_WEB_DB"] = db
    else:
        os.environ.pop("XLPERF_WEB_DB", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "xlperf.web.settings"
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


def lang_option(command):
    return click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                        help="Message language (default: --lang before the command, XLPERF_LANG, else the locale).")(command)


data_option = click.option("--data", "data", required=True, type=click.Path(file_okay=False),
                           help="The portal's store: a folder (made if missing).")
db_option = click.option("--db", default=None, help="postgresql://user:pass@host:port/name (default: SQLite in --data).")


@click.group("round")
def round_group():
    """Reporting rounds of the collection portal (needs the web extra)."""


@round_group.command("create")
@click.argument("projects", type=click.Path(dir_okay=False))
@data_option
@db_option
@click.option("--year", required=True, type=click.IntRange(2000, 2100), help="The budget year.")
@click.option("--framework", "framework_name", default="cn-2020", show_default=True, help="Indicator framework.")
@click.option("--title", default=None, help="The round's title (default: the department's name and the year).")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True,
              help="The portal's address as the units reach it (the start of every link).")
@lang_option
def round_create(projects, data, db, year, framework_name, title, base_url, lang):
    """Make the templates from PROJECTS and one secret upload link per unit (DATA/links.csv)."""
    lang = _lang(lang)
    _need_web(lang)
    import xlperf

    boot(data, db)
    from . import store

    try:
        round_, links = store.create_round(projects, year=year, framework=framework_name, title=title,
                                           base_url=base_url)
    except xlperf.XlperfError as error:
        findings = getattr(error, "findings", None) or []
        for finding in findings:
            click.echo(f"  {projects}: {finding.line(lang)}", err=True)
        if not findings:
            click.echo(say("portal_error", lang, reason=error.text(lang)), err=True)
        sys.exit(2)
    except FileNotFoundError as error:
        click.echo(say("portal_error", lang, reason=error), err=True)
        sys.exit(2)
    path = Path(data) / "links.csv"
    store.write_links(path, links)
    store.write_links(store.round_dir(round_) / "links.csv", links)
    click.echo(say("round_created", lang, id=round_.pk, title=round_.title, year=round_.year, units=len(links)))
    click.echo(say("links_written", lang, path=path))


@round_group.command("status")
@data_option
@db_option
@click.option("--round", "round_id", type=int, default=None, help="The round (default: the latest).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
def round_status(data, db, round_id, output_format, lang):
    """Print each unit's state, as the dashboard shows it."""
    lang = _lang(lang)
    _need_web(lang)
    boot(data, db)
    from django.utils import timezone

    from . import store
    from .models import Round

    round_ = Round.objects.filter(pk=round_id).first() if round_id else Round.objects.first()
    if round_ is None:
        click.echo(say("no_round", lang, id=round_id) if round_id else say("no_rounds", lang, data=data), err=True)
        sys.exit(2)
    if output_format == "json":
        click.echo(json.dumps(store.status_json(round_), ensure_ascii=False, indent=2))
        return
    rows = store.round_status(round_)
    click.echo(f"{round_.title}（{round_.year}）" if lang == "zh" else f"{round_.title} ({round_.year})")
    click.echo(say("round_status_header", lang))
    for row in rows:
        last = timezone.localtime(row.last_upload).strftime("%Y-%m-%d %H:%M") if row.last_upload else "-"
        click.echo(f"{row.unit.code}  {row.unit.name}  {state_label(row.state, lang)}  {row.versions}  {last}")
    counts = store.status_counts(rows)
    click.echo("；".join(f"{state_label(state, lang)} {count}" for state, count in counts.items() if count)
               if lang == "zh" else "; ".join(f"{state_label(state, lang)} {count}" for state, count in counts.items() if count))


@click.group("office")
def office_group():
    """Office accounts of the collection portal (needs the web extra)."""


@office_group.command("add")
@click.argument("name")
@data_option
@db_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (required).")
@lang_option
def office_add(name, data, db, password_stdin, lang):
    """Create an office account NAME (or set its password), hashed with argon2."""
    lang = _lang(lang)
    _need_web(lang)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    if not password:
        click.echo(say("no_password", lang), err=True)
        sys.exit(2)
    boot(data, db)
    from django.core.exceptions import ValidationError

    from . import store

    try:
        _, created = store.add_office(name, password)
    except ValidationError as error:
        click.echo(say("bad_password", lang, reason="; ".join(error.messages)), err=True)
        sys.exit(2)
    click.echo(say("office_added" if created else "office_updated", lang, name=name))


@click.command("serve")
@data_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Validation worker processes.")
@click.option("--url", "base_url", default=None, help="The portal's public address (for links it re-issues).")
@lang_option
def serve(data, db, host, port, workers, base_url, lang):
    """Serve the portal: the web server (uvicorn) and its validation workers."""
    lang = _lang(lang)
    _need_web(lang)
    os.environ["XLPERF_WEB_URL"] = base_url or f"http://{host}:{port}"
    boot(data, db)
    import uvicorn

    from . import store

    store.prune_task_results()
    requeued = store.requeue_unchecked()
    if requeued:
        click.echo(say("requeued", lang, count=requeued), err=True)
    import subprocess  # here: every command line imports this module (to list the portal's commands)

    children = [subprocess.Popen([sys.executable, "-m", "xlperf.web.worker"], env=os.environ.copy())
                for _ in range(workers)]
    click.echo(say("serving", lang, url=os.environ["XLPERF_WEB_URL"], data=Path(data).resolve()), err=True)
    try:
        uvicorn.run("xlperf.web.asgi:application", host=host, port=port, log_level="warning", lifespan="off")
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def register(cli: click.Group) -> None:
    for command in (round_group, office_group, serve):
        cli.add_command(command)
