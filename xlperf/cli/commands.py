"""The command line: a thin click layer, one short function per command over the library API.

Exit codes: 0 fine, 1 the inputs have problems (findings), 2 usage error or unreadable input;
interrupted: 130 (Ctrl-C, SIGINT), 143 (SIGTERM), 129 (SIGHUP, the terminal closed), 141 (the reader of
the output went away), as shells expect.
"""
from __future__ import annotations

import functools
import gc
import json
import os
import re
import signal
import sys
from pathlib import Path

import click

from .. import __version__
from ..core import exitcodes
from ..core.errors import ProjectListError, XlperfError
from ..core.findings import default_lang
from ..core.interrupt import Interrupted, catch_signals, stop_if_interrupted
from ..core.messages import say


EXIT_CODES_HELP = ("Exit codes: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the run was interrupted; no partial "
                   "output is left).")


def resolve_lang(given: str | None) -> str:
    """--lang after the command, else --lang before it, else XLPERF_LANG, else the locale."""
    if given:
        return given
    context = click.get_current_context(silent=True)
    while context is not None:
        if context.obj and context.obj.get("lang"):
            return context.obj["lang"]
        context = context.parent
    env = os.environ.get("XLPERF_LANG", "").strip().lower()
    if env.startswith("zh"):
        return "zh"
    if env.startswith("en"):
        return "en"
    return default_lang()


def require_suffix(output: str, suffixes: tuple[str, ...], lang: str) -> None:
    """Refuse an output name whose extension says another format than the one written."""
    from pathlib import Path

    from ..core.errors import UsageError

    if Path(output).suffix.lower() not in suffixes:
        raise UsageError(say("wrong_suffix", lang, path=output, suffixes=" / ".join(suffixes)))


def next_budget_year() -> int:
    """Budgets are drawn up in the autumn for the coming year."""
    import datetime

    return datetime.date.today().year + 1


def common_options(command):
    """--lang and --debug, declared once for every command."""
    command = click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                           help="Language of messages (default: from the locale).")(command)
    command = click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")(command)

    @functools.wraps(command)
    def wrapper(*args, lang=None, debug=False, **kwargs):
        lang = resolve_lang(lang)
        try:
            return command(*args, lang=lang, **kwargs)
        except ProjectListError as error:
            click.echo(say("list_problems", lang, count=len(error.findings)), err=True)
            for finding in error.findings:
                click.echo(f"  {error.source}: {finding.line(lang)}", err=True)
            sys.exit(2)
        except XlperfError as error:
            click.echo(f"xlperf: {say('error', lang)}: {error.text(lang)}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # `xlperf ... | head`: the reader left; not an error of ours
            raise Interrupted(signal.SIGPIPE) from None
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:  # the last line of defence: one line, not a traceback
            if debug:
                import traceback  # only here: every run would import it otherwise

                traceback.print_exc()
            click.echo(f"xlperf: {say('internal', lang, error=f'{type(error).__name__}: {error}')}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xlperf")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of messages for every command (default: XLPERF_LANG, else the locale).")
@click.pass_context
def cli(ctx, lang):
    """xlperf: budget performance-target tables (绩效目标表) from spreadsheets.

    template → units fill in Excel/WPS/LibreOffice → validate → merge.

    Exit codes: 0 fine; 1 the inputs have problems; 2 bad usage or nothing readable; 130 Ctrl-C,
    143 SIGTERM, 129 SIGHUP (interrupted; no partial output is left).
    """
    ctx.ensure_object(dict)["lang"] = lang


@cli.command()
@common_options
def frameworks(lang):
    """List the built-in indicator frameworks.

    Example: xlperf frameworks
    """
    from ..framework.frameworks import list_frameworks

    click.echo(say("frameworks_header", lang))
    for framework in list_frameworks():
        tree = "；".join(f"{l1}（{'、'.join(l2)}）" for l1, l2 in framework.categories.items())
        click.echo(f"  {framework.id}  {framework.title}\n      {tree}")


@cli.command()
@click.option("--framework", "framework_name", default="cn-2020", show_default=True,
              help="Built-in framework id or path to a schema .json file.")
@common_options
def schema(framework_name, lang):
    """Print a framework's JSON Schema.

    Example: xlperf schema --framework cn-2021 > cn-2021.schema.json
    """
    from ..framework.frameworks import load_framework

    framework = load_framework(framework_name)
    click.echo(json.dumps(framework.schema, ensure_ascii=False, indent=2))


@cli.command()
@click.argument("projects", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Folder for the workbooks.")
@click.option("--year", default=None, type=click.IntRange(2000, 2100),
              help="Budget year (default: next year, printed).")
@click.option("--framework", "framework_name", default="cn-2020", show_default=True,
              help="Built-in framework id or path to a schema .json file.")
@click.option("--password", default=None, help="Protect sheets and structure with this password (default: none).")
@click.option("--rows", "indicator_rows", type=int, default=None, help="Indicator input rows per project (default 20).")
@click.option("--blank", type=int, default=None, help="Make one template with N empty project sheets instead.")
@click.option("--unit-code", default=None, help="Unit code for --blank.")
@click.option("--unit-name", default=None, help="Unit name for --blank.")
@click.option("--prefill", multiple=True, type=click.Path(),
              help="Last year's summary workbook (or returns/folders): carry purpose, goals and indicators over.")
@click.option("--library", type=click.Path(dir_okay=False), default=None,
              help="An extra indicator library (JSON) whose 三级 names are offered in the dropdowns.")
@common_options
def template(projects, outdir, year, framework_name, password, indicator_rows, blank, unit_code, unit_name, prefill,
             library, lang):
    """Make locked templates from a project list: one workbook per unit, and manifest.json.

    PROJECTS is a CSV or XLSX with the columns 单位编码, 单位名称, 项目编码, 项目名称, 预算数, 财政资金,
    其他资金 and optionally 资金用途 (or unit_code, unit_name, project_code, project_name, budget_total,
    fiscal, other, purpose).

    Exit codes: 0 written; 2 bad usage, or the project list has problems (nothing is written);
    130/143/129 interrupted.

    Example: xlperf template samples/projects.csv -o out/templates --year 2022
    """
    from ..core.errors import UsageError
    from ..framework.frameworks import load_framework, with_library
    from ..writers.sendout import make_blank_template, make_templates

    year_note = say("year_default", lang, year=next_budget_year()) if year is None else None
    year = year or next_budget_year()
    framework_name = load_framework(framework_name)
    if library:
        framework_name = with_library(framework_name, library)

    if blank is not None:
        if projects:
            raise UsageError(key="projects_or_blank")
        result = make_blank_template(outdir, count=blank, unit_code=unit_code, unit_name=unit_name, year=year,
                                     framework=framework_name, password=password, indicator_rows=indicator_rows)
        click.echo(say("blank_done", lang, projects=blank, path=result.files[0]))
        if year_note:
            click.echo(year_note)
        return
    if not projects:
        raise UsageError(key="projects_missing")
    result = make_templates(projects, outdir, year=year, framework=framework_name, password=password,
                            indicator_rows=indicator_rows, prefill=list(prefill) or None, isolate=True)
    project_count = sum(len(unit["projects"]) for unit in result.manifest["units"])
    click.echo(say("templates_done", lang, units=len(result.files), projects=project_count, outdir=outdir,
                   manifest=result.manifest_path))
    if result.prefill is not None:
        report = result.prefill
        by_name = sum(1 for how in report.matched.values() if how == "name")
        click.echo(say("prefilled", lang, matched=len(report.matched), by_name=by_name, total=project_count))
        for dropped in report.dropped:
            click.echo(say(f"dropped_{dropped.reason}", lang, project=dropped.project_code, name=dropped.indicator,
                           category=dropped.category))
        for finding in report.unreadable_findings:
            line = f"{finding.location.file}: {finding.message(lang)}"
            click.echo(say("prefill_unreadable", lang, line=line), err=True)
    if year_note:
        click.echo(year_note)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for programs.")
@click.option("--annotate", "annotate_dir", type=click.Path(file_okay=False), default=None,
              help="Write a marked-up copy of each return into this folder.")
@click.option("--framework", "framework_name", default=None,
              help="Require this framework (default: the one each template names).")
@click.option("--year", type=int, default=None, help="Require templates of this budget year.")
@click.option("--library", type=click.Path(dir_okay=False), default=None,
              help="An extra indicator library (JSON) on top of the framework's own.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU count).")
@common_options
def validate(inputs, output_format, annotate_dir, framework_name, year, library, jobs, lang):
    """Check returned workbooks against the framework and the business rules.

    INPUTS are files or folders (searched recursively). Exit code 0: no errors (warnings allowed);
    1: some return has errors; 2: an input cannot be read at all, or bad usage; 130/143/129 interrupted.

    Example: xlperf validate samples/returns-with-errors --annotate out/annotated
    """
    from ..checks.validate import iter_validate_paths
    from ..core.workers import default_jobs
    from .output import exit_code, result_lines, results_json, results_json_text, summary_line

    found, skipped = _echo_skipped(inputs, lang)
    total = len(found)
    if not total:
        click.echo(f"xlperf: {say('error', lang)}: {say('no_inputs', lang, inputs=' '.join(inputs))}", err=True)
        sys.exit(2)
    results = []
    with _progress(lang) as progress:  # each file's block is printed as soon as that file is done
        for result in iter_validate_paths(list(inputs), found=found, framework=framework_name, year=year,
                                          library=library, documents=bool(annotate_dir), jobs=jobs or default_jobs(),
                                          isolate=True):
            results.append(result)
            if output_format == "text":
                _above_bar(progress, "\n".join(result_lines(result, lang)))
            if progress:
                progress(len(results), total)
    if annotate_dir:
        from ..writers.annotate import annotate_results

        written = annotate_results(results, annotate_dir)
        click.echo(say("annotated", lang, count=sum(1 for p in written.values() if p), outdir=annotate_dir), err=True)
        for source, copy in written.items():
            if copy is None:
                click.echo(say("not_annotated", lang, path=source), err=True)
    if output_format == "json":
        click.echo(results_json_text(results_json(results, lang, skipped)))
    else:
        click.echo("\n" + summary_line(results, lang))
    sys.exit(exit_code(results))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The summary workbook (.xlsx).")
@click.option("--expect", type=click.Path(dir_okay=False), default=None,
              help="manifest.json written by `xlperf template`: report what has not come back.")
@click.option("--on-duplicate", type=click.Choice(["error", "latest"]), default="error", show_default=True,
              help="The same project code in two returns: leave both out, or keep the most recently saved.")
@click.option("--include-invalid", is_flag=True, help="Keep returns with errors in the figures (flagged).")
@click.option("--framework", "framework_name", default=None, help="Require this framework.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the consolidated data as JSON.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False), default=None,
              help="Also write projects/indicators/findings as CSV (UTF-8 with BOM) into this folder.")
@click.option("--parquet", "parquet_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the tables as Parquet into this folder (pip install 'xlperf[parquet]'); "
                   "the folder is itself an input of a higher-level merge, at any size.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where to keep what each return gave, so re-runs re-read only new or changed files "
                   "(default: ~/.cache/xlperf/returns).")
@click.option("--no-cache", is_flag=True, help="Read every input again.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU count).")
@click.option("--library", type=click.Path(dir_okay=False), default=None,
              help="An extra indicator library (JSON) on top of the framework's own.")
@click.option("--allow-empty", is_flag=True,
              help="Write the summary even when no return could be read or included.")
@common_options
def merge(inputs, output, expect, on_duplicate, include_invalid, framework_name, json_path, csv_dir, parquet_dir,
          cache_dir, no_cache, jobs, library, allow_empty, lang):
    """Consolidate returns into one department summary workbook.

    INPUTS are files and folders (searched recursively); summaries made by this command are
    accepted too, for a higher-level merge. Exit code 0: everything included; 1: something was
    left out or has not come back (the summary is still written); 2: bad usage, or nothing could be
    read or included (nothing is written, existing outputs are untouched; --allow-empty writes an
    empty summary anyway); 130/143/129 interrupted (no partial output is left).

    Example: xlperf merge samples/returns -o out/summary.xlsx --expect samples/templates/manifest.json
    """
    from ..consolidate.cache import default_cache_dir
    from ..consolidate.merge import merge_returns
    from ..core.workers import default_jobs

    require_suffix(output, (".xlsx",), lang)
    found, _ = _echo_skipped(inputs, lang)
    with _progress(lang) as progress:
        consolidation = merge_returns(list(inputs), found=found, expect=expect, on_duplicate=on_duplicate,
                                      include_invalid=include_invalid, framework=framework_name, lang=lang,
                                      output=output, progress=progress, jobs=jobs or default_jobs(),
                                      library=library, isolate=True,
                                      cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
                                      keep_tables=bool(json_path or csv_dir or parquet_dir))
    _refuse_an_unusable_run(consolidation, inputs, allow_empty, lang)
    rows = _write_merge_outputs(consolidation, output, json_path, csv_dir, parquet_dir, lang)
    _echo_inputs(consolidation, lang)
    if rows is not None:
        click.echo(_beyond_excel_line(consolidation, rows, output, parquet_dir, lang))
    else:
        click.echo(_merged_line(consolidation, output, lang))
    sys.exit(consolidation.exit_code)


def _echo_skipped(inputs: tuple[str, ...], lang: str) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Say, on stderr, what the folders given hold that is not read (a unit's PDF, an empty folder): nothing a
    person may have meant as a return is left out silently. Returns ``scan_inputs``' (found, skipped)."""
    from ..checks.validate import scan_inputs

    found, skipped = scan_inputs(list(inputs))
    if not found:  # "no workbook found in: …" follows and says it of every folder
        skipped = [(path, reason) for path, reason in skipped if reason != "empty_folder"]
    for path, reason in skipped:
        click.echo(say(f"skipped_{reason}", lang, path=path), err=True)
    return found, skipped


def _refuse_an_unusable_run(consolidation, inputs: tuple[str, ...], allow_empty: bool, lang: str) -> None:
    """Exit 2, writing nothing, when no input was found or (unless ``allow_empty``) none could be included."""
    inputs_seen = consolidation.records("inputs")
    if not inputs_seen:
        click.echo(f"xlperf: {say('error', lang)}: {say('no_inputs', lang, inputs=' '.join(inputs))}", err=True)
        sys.exit(2)
    if not allow_empty and nothing_included(inputs_seen):
        _echo_inputs(consolidation, lang)
        detail = say("empty_detail", lang, count=len(inputs_seen))
        click.echo(f"xlperf: {say('error', lang)}: {say('empty_run', lang, detail=detail)}", err=True)
        sys.exit(2)


def _beyond_excel_line(consolidation, rows: int, output: str, parquet_dir: str, lang: str) -> str:
    """What was written of a summary past Excel's rows: part of it (``write_summary(..., elsewhere)``), or none."""
    from ..writers.summary import EXCEL_MAX_ROWS, indicators_shown, returns_shown, rows_needed_but_indicators

    if rows_needed_but_indicators(consolidation) > EXCEL_MAX_ROWS:
        return say("parquet_instead", lang, rows=f"{rows:,}", output=output, path=parquet_dir)
    shown, segments = indicators_shown(consolidation)
    returns = returns_shown(consolidation, segments)
    return say("parquet_partial", lang, rows=f"{rows:,}", output=output, path=parquet_dir, shown=f"{shown:,}",
               returns=f"{returns:,}", indicators=f"{consolidation.indicator_count:,}")


def _write_merge_outputs(consolidation, output: str, json_path: str | None, csv_dir: str | None,
                         parquet_dir: str | None, lang: str) -> int | None:
    """The summary and the exports asked for. A summary past Excel's rows is written in part (绩效指标明细 to
    the returns that fit, no documents, 汇总说明 saying where the rest is) when only 绩效指标明细 and
    ``_data`` pass, else only as Parquet: then the rows it would need are returned (without ``parquet_dir``
    that is an OutputError)."""
    from ..writers.summary import EXCEL_MAX_ROWS, rows_needed, rows_needed_but_indicators, write_summary

    rows = rows_needed(consolidation)
    fits = rows <= EXCEL_MAX_ROWS
    if not fits and not parquet_dir:
        from ..core.errors import OutputError

        raise OutputError(say("too_many_rows", lang, rows=f"{rows:,}", output=output))
    if fits or rows_needed_but_indicators(consolidation) <= EXCEL_MAX_ROWS:
        _phase(lang, "writing", path=output)
        write_summary(consolidation, output, elsewhere=None if fits else parquet_dir)
    if json_path or csv_dir:
        from ..writers.exports import write_csvs, write_json  # pandas: only when asked for

        if json_path:
            _phase(lang, "writing", path=json_path)
            write_json(consolidation, json_path)
        if csv_dir:
            _phase(lang, "writing", path=csv_dir)
            write_csvs(consolidation, csv_dir, lang=lang)
    if parquet_dir:
        from ..writers.exports import write_parquet

        _phase(lang, "writing", path=parquet_dir)
        write_parquet(consolidation, parquet_dir)
    return None if fits else rows


def _merged_line(consolidation, output: str, lang: str) -> str:
    """汇总完成：… with the projects, indicators and how many inputs ended in each state."""
    from ..consolidate.consolidation import STATE_LABELS

    column = 0 if lang == "zh" else 1
    counts = {state: consolidation.count(state) for state in STATE_LABELS}
    states = [f"{STATE_LABELS[state][column]} {count}" for state, count in counts.items() if count]
    return say("merged", lang, output=output, projects=consolidation.size("projects"),
               indicators=consolidation.indicator_count, states=("，" if lang == "zh" else ", ").join(states))


def nothing_included(inputs: list[dict]) -> bool:
    """True when no input row made it into the figures (all unreadable, excluded or duplicates)."""
    from ..consolidate.consolidation import INCLUDED, INCLUDED_WITH_WARNINGS

    return not any(row["state"] in (INCLUDED, INCLUDED_WITH_WARNINGS) for row in inputs)


def _echo_inputs(consolidation, lang: str) -> None:
    """One line per input (its state and why), the first errors of each excluded return, what is missing."""
    from ..consolidate.consolidation import STATE_LABELS

    column = 0 if lang == "zh" else 1
    excluded = {row["file"] for row in consolidation.records("inputs") if row["state"] == "excluded"}
    errors: dict[str, list[dict]] = {}  # of the excluded returns only: twenty thousand others may have findings
    for finding in consolidation.in_lang("findings", lang):
        if finding["severity"] == "error" and finding["file"] in excluded:
            errors.setdefault(finding["file"], []).append(finding)
    lines = []  # said at once: a thousand inputs and their errors, one write each, took 50 ms
    for index, row in enumerate(consolidation.records("inputs")):
        said = consolidation.said("inputs", index, "reason")
        reason = f" — {said}" if said else ""
        lines.append(f"{STATE_LABELS[row['state']][column]}: {row['file']}{reason}")
        if row["state"] == "excluded":
            own = errors.get(row["file"], [])
            for finding in own[:MAX_ERRORS_SHOWN]:
                where = f"{finding['sheet']}!{finding['cell']} " if finding["sheet"] and finding["cell"] else ""
                lines.append(f"    {where}{finding['message']}")
            if len(own) > MAX_ERRORS_SHOWN:
                lines.append("    " + say("more_errors", lang, count=len(own) - MAX_ERRORS_SHOWN, file=row["file"]))
    for row in consolidation.records("missing"):
        lines.append(say(f"missing_{row['kind']}", lang, unit=f"{row['unit_code']} {row['unit_name']}",
                         project=f"{row['project_code']} {row['project_name']}", file=row["file"]))
    if lines:
        click.echo("\n".join(lines))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The report (.docx); with --format pdf the .pdf is written beside it.")
@click.option("--title", default=None, help="Department name on the cover (default: the department whose own office, …本级, is among the units; else the unit's name).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Budget year in the title (default: the returns').")
@click.option("--unit", "unit_code", default=None, help="Report only this unit code.")
@click.option("--reviewer", default=None, help="The reviewing office on the cover, e.g. 遵化市财政局.")
@click.option("--include-invalid", is_flag=True, help="Keep returns with errors instead of refusing them.")
@click.option("--format", "output_format", type=click.Choice(["docx", "pdf"]), default="docx", show_default=True,
              help="pdf: also convert with LibreOffice.")
@common_options
def report(inputs, output, title, year, unit_code, reviewer, include_invalid, output_format, lang):
    """Write the department's 部门预算绩效文本 (.docx, optionally .pdf) from returns or a summary.

    Exit codes: 0 written; 1 some input has problems (refused, nothing written); 2 bad usage or an
    input cannot be read; 130/143/129 interrupted.

    Example: xlperf report samples/returns -o out/report.docx --unit 471001 --format pdf
    """
    from ..core.workers import default_jobs
    from ..writers.report import ReturnsRefused, write_report

    require_suffix(output, (".docx", ".pdf"), lang)
    _echo_skipped(inputs, lang)
    if output.lower().endswith(".pdf"):  # the name says which format is wanted
        output_format = "pdf"
    try:
        result = write_report(list(inputs), output, title=title, year=year, unit=unit_code, reviewer=reviewer,
                              include_invalid=include_invalid, pdf=output_format == "pdf", lang=lang,
                              jobs=default_jobs(), isolate=True)
    except ReturnsRefused as error:  # a problem in the inputs: exit 1 (2 if unreadable), as for validate
        click.echo(f"xlperf: {say('error', lang)}: {error}", err=True)
        sys.exit(2 if error.unreadable else 1)
    click.echo(result.message())
    sys.exit(result.exit_code)


@cli.command(name="import")
@click.argument("documents", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Folder for the workbooks.")
@click.option("--year", type=int, default=None, help="Budget year (default: found in the document).")
@click.option("--framework", "framework_name", default="cn-2020", show_default=True,
              help="Built-in framework id or path to a schema .json file.")
@click.option("--unit-code", default=None, help="Unit code when the document does not show it.")
@click.option("--unit-name", default=None, help="Unit name when the document does not show it.")
@common_options
def import_(documents, outdir, year, framework_name, unit_code, unit_name, lang):
    """Turn 绩效目标表 tables in old Word documents (.docx; .doc through LibreOffice) into filled workbooks.

    Exit codes: 0 everything in the documents was placed; 1 something was not (it is listed, the
    workbooks are still written) or a document holds no 绩效目标表; 2 bad usage or a document cannot be
    read (the others are imported all the same); 130/143/129 interrupted.

    Example: xlperf import 2021年部门预算绩效文本.docx -o out/imported
    """
    from ..writers.importer import import_documents

    result = import_documents(list(documents), outdir, year=year, framework=framework_name, unit_code=unit_code,
                              unit_name=unit_name)
    for error in result.unreadable:  # said, and the other documents imported all the same
        click.echo(f"xlperf: {say('error', lang)}: {error.message(lang)}", err=True)
    if len(result.unreadable) == len(documents):
        sys.exit(exitcodes.UNUSABLE)
    for document in result.from_doc:
        click.echo(say("from_doc", lang, file=document))
    click.echo(say("imported", lang, projects=result.projects, indicators=result.indicators,
                   files=len(result.files), outdir=outdir))
    for item in result.converted:
        click.echo(say("converted" if item.to_the_cent else "converted_beyond_cent", lang,
                       where=f"{item.file} {item.where}".strip(), text=item.text, wan=item.shown))
    for item in result.unplaced:
        click.echo(say(f"unplaced_{item.reason}", lang, where=f"{item.file} {item.where}".strip(), text=item.text))
    sys.exit(exitcodes.for_import(bool(result.unplaced), bool(result.unreadable)))


MAX_ERRORS_SHOWN = 5


def _above_bar(progress, text: str) -> None:
    """Print ``text`` to stdout above a progress bar on the terminal (the bar redraws on its next step)."""
    if progress is not None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    click.echo(text)


def _phase(lang: str, key: str, **values) -> None:
    """Say on the terminal what a long step is doing, so that no phase is silent; nothing when piped."""
    if sys.stderr.isatty():
        click.echo(say(key, lang, **values), err=True)


class _progress:
    """A progress bar on stderr when it is a terminal; nothing when piped."""

    def __init__(self, lang: str):
        self.bar = None
        self.label = "读取与校验" if lang == "zh" else "reading and checking"

    def __enter__(self):
        return self.update if sys.stderr.isatty() else None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.__exit__(*exc_info)
        return False


from xlperf.web.commands import register as register_portal  # noqa: E402 - round, office, serve

register_portal(cli)


def main() -> None:
    """Run the command with exit codes a shell expects: signals end the run as 128 + the signal number."""
    catch_signals()
    _collect_less()
    try:
        code = _run_command()
    except Interrupted as interrupted:
        _quiet_stdout()
        if interrupted.signum != signal.SIGPIPE:
            name = signal.Signals(interrupted.signum).name
            try:
                click.echo(f"\nxlperf: {say('interrupted', resolve_lang(None), signal=name)}", err=True)
            except OSError:
                pass
        code = interrupted.exit_code
    except click.exceptions.Abort as abort:  # click's prompt interrupted (KeyboardInterrupt or end of input)
        click.echo(f"xlperf: {'Aborted!' if resolve_lang(None) == 'en' else '已取消'}", err=True)
        code = 130 if isinstance(abort.__context__, KeyboardInterrupt) else 1
    except click.UsageError as error:
        if _argv_lang(sys.argv[1:]) == "zh":
            click.echo(usage_error_zh(error), err=True)
        else:
            error.show()
        code = error.exit_code
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except SystemExit as exit_request:  # a command's sys.exit(status)
        code = _status(exit_request.code)
    _leave(code if isinstance(code, int) else 0)


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` gives: a text is printed and means 1."""
    if code is None or isinstance(code, int):
        return code or 0
    click.echo(str(code), err=True)
    return 1


def _leave(code: int) -> None:
    """End the process with ``code`` once what it printed is flushed, without Python's teardown, which frees
    every object the run made one at a time: 15-30 ms of a 450 ms re-merge of a thousand returns. Nothing is left
    for it: outputs are written and closed, worker processes stopped and temporary files removed where they
    were made; a temporary file still open is anonymous on POSIX (elsewhere Python's exit removes it)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader has gone (a pipe closed early): nothing more can reach it
            pass
    if os.name != "posix":
        sys.exit(code)
    os._exit(code)


def _collect_less() -> None:
    """A merge makes objects by the hundred thousand (a thousand returns' facts, findings and rows) and keeps
    most of them to the end: with CPython's collector started every 700 allocations, a re-merge of a thousand
    returns spent 25 of its 400 ms (with errors) and 50 of 800 (clean) walking them again and again, for no
    garbage (they hold no cycles). What the imports made (modules, classes, functions: they live as long as the
    process, the portal's too) is frozen out of collections, which also keeps it shared with forked workers,
    and the youngest generation is collected every 10,000 allocations instead: 6 and 18 ms."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _run_command():
    try:
        return cli.main(prog_name="xlperf", standalone_mode=False)
    finally:  # however the command ended, a signal whose Interrupted Python dropped still ends the run
        stop_if_interrupted()


def _argv_lang(args: list[str]) -> str:
    """The language asked for on a command line that click could not parse (so no context holds it)."""
    for index, arg in enumerate(args):
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and index + 1 < len(args):
            return args[index + 1]
    return resolve_lang(None)


def usage_error_zh(error: click.UsageError) -> str:
    """click's usage error in Chinese: what is wrong with the command line, the usage, where to find help."""
    def name_of(param) -> str:
        return param.opts[0] if getattr(param, "opts", None) and param.param_type_name == "option" \
            else (param.human_readable_name if param is not None else "")

    if isinstance(error, click.MissingParameter):
        kind = "选项" if error.param is not None and error.param.param_type_name == "option" else "参数"
        problem = f"缺少{kind} {name_of(error.param)}"
    elif isinstance(error, click.NoSuchOption):
        problem = f"没有这个选项：{error.option_name}"
        if error.possibilities:
            problem += f"（是否想用：{'、'.join(sorted(error.possibilities))}）"
    elif isinstance(error, click.BadParameter):
        problem = f"{name_of(error.param)} 的值无效：{error.message}"
    else:
        unknown = re.fullmatch(r"No such command '(.*)'\.", error.message)
        problem = f"没有这个命令：{unknown.group(1)}" if unknown else error.message
    lines = []
    if error.ctx is not None:
        lines.append(error.ctx.get_usage().replace("Usage: ", "用法：", 1))
        command = error.ctx.command_path
        lines.append(f"运行“{command} --help”查看帮助。")
    lines.append(f"错误：{problem}")
    return "\n".join(lines)


def _quiet_stdout() -> None:
    """After a broken pipe or a signal, flushing stdout at exit must not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
