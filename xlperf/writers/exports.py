"""Consolidation → machine-readable exports: one JSON file, and CSV files for spreadsheet users.

The CSV files are opened in Excel/WPS by people: in Chinese (``lang="zh"``) they carry the summary's
headers and labels (财政资金, 定量), in English the keys and stored codes. Text that a spreadsheet would run
as a formula is made inert (OWASP "CSV injection"): a text cell starting with ``= + - @`` and going on
with more than a number, or starting with a tab or carriage return, gets a leading ``'``. A lone operator
(``=`` of ``＝16万元``) or a number is not a formula and stays as it is.
"""
from __future__ import annotations

import csv
import json
import math
import numbers
import re
import sys
from pathlib import Path
from typing import Callable

from .. import __version__
from ..consolidate.consolidation import Consolidation
from ..core.fileio import atomic_path

JSON_KIND = "xlperf-consolidation"
CSV_TABLES = ("projects", "indicators", "findings", "inputs", "missing")
FORMULA_TRIGGERS = ("=", "+", "-", "@")
CONTROL_TRIGGERS = ("\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)%?")


def neutralise_csv_text(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would treat as a formula; every other value is returned unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(CONTROL_TRIGGERS):
        return "'" + value
    if value.startswith(FORMULA_TRIGGERS) and len(value) > 1 and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _plain(value: object) -> object:
    """JSON-ready: NaN/NA/infinities → None, numpy scalars → Python numbers, containers walked."""
    kind = type(value)  # the exact types a document is made of first: the abstract number checks are slow
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if value - value == 0 else None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    pandas = sys.modules.get("pandas")  # pd.NA, NaT: only there when pandas is
    try:
        if pandas is not None and pandas.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


LISTS = ("inputs", "projects", "indicators", "findings", "missing", "documents")


def _parts(consolidation: Consolidation, prepare: Callable[[object], object] = _plain) -> dict[str, object]:
    """The consolidated data's fields in order; the tables and documents as iterators of plain values (of
    ``prepare``'s: ``write_json`` makes them plain as it writes them)."""
    return {
        "kind": JSON_KIND,
        "xlperf_version": __version__,
        "year": _plain(consolidation.year),
        "framework": consolidation.framework,
        "milestones": list(consolidation.milestones),
        "level1_names": list(consolidation.level1_names),
        "level2_tree": _plain(consolidation.level2_tree),
        "made_from": consolidation.made_from,
        "data_as_of": consolidation.data_as_of,
        "expect": consolidation.expect,
        **{name: map(prepare, consolidation.iter_records(name)) for name in LISTS[:-1]},
        "documents": map(prepare, consolidation.iter_documents()),
    }


def consolidation_data(consolidation: Consolidation) -> dict:
    """The canonical consolidated data, as ``write_json`` writes it (plain JSON types only)."""
    return {key: list(value) if key in LISTS else value for key, value in _parts(consolidation).items()}


def write_json(consolidation: Consolidation, path: str | Path) -> None:
    """The consolidated data as UTF-8 JSON (NaN → null), written atomically: the same text as
    ``json.dumps(consolidation_data(…), indent=1)``, made a record at a time (a thousand returns' documents
    are never all in memory)."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8", newline="\n") as out:
        out.write("{")
        for number, (key, value) in enumerate(_parts(consolidation, prepare=_as_is).items()):
            out.write(("\n " if number == 0 else ",\n ") + _dumps(key) + ": ")
            if key not in LISTS:
                out.write(_dumps(value).replace("\n", "\n "))
                continue
            empty = True
            for item in value:
                out.write(("[\n  " if empty else ",\n  ") + _json_text(item, "\n  "))
                empty = False
            out.write("[]" if empty else "\n ]")
        out.write("\n}\n")


def _dumps(value: object) -> str:
    # json escapes every newline inside a string, so each "\n" here is indentation, safe to deepen
    return json.dumps(value, ensure_ascii=False, indent=1, allow_nan=False)


def _float_json(number: float) -> str:
    return float.__repr__(number) if number - number == 0 else "null"  # NaN and infinities: null, as _plain


_text_json = json.encoder.encode_basestring  # a text as json.dumps(ensure_ascii=False) writes it
# what json.dumps writes a value of each of these exact types as (after _plain, which keeps them, NaN aside)
_SCALAR_JSON = {str: _text_json, int: int.__repr__, float: _float_json,
                bool: {True: "true", False: "false"}.__getitem__, type(None): lambda nothing: "null"}


def _json_text(value: object, newline: str = "\n") -> str:
    """``_dumps(_plain(value))`` with each line break followed by ``newline``'s indentation, in one walk.

    The standard library indents in pure Python, a generator for every list and dict (its C encoder does not
    indent), and ``_plain`` walked each document before it: at 160 KB of JSON a return the export cost more
    than the merge. Values of the common exact types are written at once; anything else is made plain first."""
    parts: list[str] = []
    _json_parts(value, parts, newline)
    return "".join(parts)


def _json_parts(value: object, parts: list[str], newline: str) -> None:
    write = _SCALAR_JSON.get(type(value))
    if write is not None:
        parts.append(write(value))
    elif isinstance(value, dict):
        if not {*map(type, value)} <= {str}:
            value = {str(key): item for key, item in value.items()}
        _json_container(value.items(), True, parts, newline)
    elif isinstance(value, (list, tuple)):
        _json_container(value, False, parts, newline)
    else:
        plain = _plain(value)  # numpy numbers, pandas' missing values, Decimals, subclasses of str or int
        parts.append(_text_json(plain) if isinstance(plain, str) else _SCALAR_JSON[type(plain)](plain))


def _json_container(items, is_dict: bool, parts: list[str], newline: str) -> None:
    """A dict's items or a list's values, one a line, as ``json.dumps(indent=1)`` lays them out."""
    opening, closing = "{}" if is_dict else "[]"
    inner = newline + " "
    before, scalar_json = opening + inner, _SCALAR_JSON.get
    for item in items:
        if is_dict:
            key, item = item
            parts.append(f"{before}{_text_json(key)}: ")
        else:
            parts.append(before)
        write = scalar_json(type(item))
        if write is None:
            _json_parts(item, parts, inner)
        else:
            parts.append(write(item))
        before = "," + inner
    parts.append(opening + closing if before == opening + inner else newline + closing)


def _csv_cell(value: object) -> object:
    """What a CSV cell holds: nothing for a missing value, text neutralised, numbers as they are."""
    kind = type(value)  # the common cells first: the abstract number check is slow
    if kind is str:
        return neutralise_csv_text(value)
    if kind is int or kind is bool or (kind is float and value == value):
        return value
    if value is None or (type(value) is float and value != value):
        return ""
    if not isinstance(value, (str, numbers.Number)) and _plain(value) is None:  # pd.NA, NaT
        return ""
    return neutralise_csv_text(value)


def write_csvs(consolidation: Consolidation, folder: str | Path, lang: str = "zh") -> list[Path]:
    """projects.csv, indicators.csv, findings.csv, inputs.csv and missing.csv in ``folder``, UTF-8 with a BOM (so
    Excel reads the Chinese), CRLF, written a row at a time; returns their paths. ``lang="zh"``: the summary's
    Chinese headers and labels; ``"en"``: the keys and stored codes, for programs."""
    folder = Path(folder)
    written = []
    for name in CSV_TABLES:
        path = folder / f"{name}.csv"
        columns = consolidation.columns(name)
        headers, shown = _presentation(consolidation, name, columns, lang)
        with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(headers)
            writer.writerows([_csv_cell(show(record.get(column))) for column, show in zip(columns, shown)]
                             for record in consolidation.in_lang(name, lang))
        written.append(path)
    return written


def _as_is(value: object) -> object:
    return value


def _presentation(consolidation: Consolidation, name: str, columns: list[str], lang: str):
    """Each column's header and how its values are shown: as the summary shows them, in Chinese."""
    if lang != "zh":
        return list(columns), [_as_is] * len(columns)
    from .summary import table_columns

    known = table_columns(consolidation, name)
    headers = [known[key].header if key in known else key for key in columns]
    shown = [_shown_by(known[key]) if key in known and known[key].show else _as_is for key in columns]
    return headers, shown


def _shown_by(column) -> Callable[[object], object]:
    show = column.show
    return lambda value: value if value is None or (type(value) is float and value != value) else show(value)


PARQUET_TABLES = ("projects", "indicators", "findings", "inputs", "missing")
DOCUMENTS_PARQUET = "documents.parquet"  # the carried documents: what a higher-level merge reads
_PARQUET_BATCH = 10_000  # rows per row group, and at most this many characters of documents (about 150 returns)
_PARQUET_BATCH_CHARS = 8_000_000


def write_parquet(consolidation: Consolidation, folder: str | Path) -> list[Path]:
    """The merge's tables as Parquet files in ``folder`` (pyarrow): projects, indicators, findings, inputs,
    missing, with the summary sheets' columns and types and each row's source file (and sheet, cell), plus
    ``documents.parquet`` with every carried document, so that the folder is itself an input of a higher
    merge. Written a batch of rows at a time, each file atomically; returns their paths."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from ..core.errors import UsageError

        raise UsageError(key="parquet_needs_pyarrow") from None
    folder = Path(folder)
    written = []
    for name in (*PARQUET_TABLES, "documents"):
        path = folder / (DOCUMENTS_PARQUET if name == "documents" else f"{name}.parquet")
        if name == "documents":
            columns = ["file", "unit_code", "year", "document"]
            records = ({"file": item.get("file"), "unit_code": str((item.get("document") or {}).get("unit", {})
                                                                    .get("code") or ""),
                        "year": (item.get("document") or {}).get("year"),
                        "document": json.dumps(_plain(item), ensure_ascii=False, sort_keys=True)}
                       for item in consolidation.iter_documents())
        else:
            columns = consolidation.columns(name)
            records = consolidation.iter_records(name)
        types = [_arrow_type(pa, name, column) for column in columns]
        schema = pa.schema(list(zip(columns, types)))
        convert = [_converter(pa, kind) for kind in types]
        with atomic_path(path) as temporary:
            with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
                batch: list[list] = [[] for _ in columns]  # a batch as column lists: no dict per row kept
                rows = chars = 0
                for record in records:
                    for values, column, to in zip(batch, columns, convert):
                        values.append(to(record.get(column)))
                    rows += 1
                    chars += len(batch[-1][-1] or "") if name == "documents" else 0
                    if rows >= _PARQUET_BATCH or chars >= _PARQUET_BATCH_CHARS:
                        writer.write_table(_arrow_table(pa, batch, schema))
                        batch, rows, chars = [[] for _ in columns], 0, 0
                writer.write_table(_arrow_table(pa, batch, schema))
        written.append(path)
    return written


def _arrow_table(pa, columns: list[list], schema):
    """A batch of rows given as column lists, as an Arrow table of ``schema``."""
    return pa.Table.from_arrays([pa.array(values, type=field.type) for values, field in zip(columns, schema)],
                                schema=schema)


def _arrow_type(pa, table: str, column: str):
    """The column's type as the summary shows it: money and percentages as doubles, counts as integers."""
    if column in ("indicator_count", "projects", "errors", "warnings", "year") or column.startswith("count/"):
        return pa.int64()
    if column in ("budget_total", "fiscal", "other", "number") or column.startswith(("plan_pct/", "plan_amount/")):
        return pa.float64()
    return pa.string()


def _converter(pa, kind) -> Callable[[object], object]:
    """A cell's value as its column's type holds it (a missing value is null)."""
    text, whole = kind == pa.string(), kind == pa.int64()

    def convert(value: object) -> object:
        value = _plain(value)
        if value is None or (isinstance(value, str) and value == "" and not text):
            return None
        if text:
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) \
                if isinstance(value, (dict, list)) else str(value)
        try:
            return int(value) if whole else float(value)
        except (TypeError, ValueError):
            return None
    return convert
