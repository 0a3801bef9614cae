"""Consolidation → machine-readable exports: one JSON file, and CSV files for spreadsheet users.

The CSV files are opened in Excel/WPS by people, so text that a spreadsheet would run as a formula is made inert
(OWASP "CSV injection"): a text cell starting with ``= + - @``, tab or carriage return gets a leading ``'``.
Numbers are never touched: a negative amount stays a number.
"""
from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import pandas as pd

from . import __version__
from .consolidation import Consolidation
from .fileio import atomic_write_bytes

JSON_KIND = "xlperf-consolidation"
CSV_TABLES = ("projects", "indicators", "findings", "inputs", "missing")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_text(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would treat as a formula; every other value is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _plain(value: object) -> object:
    """JSON-ready: NaN/NA/infinities → None, numpy scalars → Python numbers, containers walked."""
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
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [_plain(record) for record in frame.to_dict("records")] if len(frame) else []


def consolidation_data(consolidation: Consolidation) -> dict:
    """The canonical consolidated data, as ``write_json`` writes it (plain JSON types only)."""
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
        "inputs": _records(consolidation.inputs),
        "projects": _records(consolidation.projects),
        "indicators": _records(consolidation.indicators),
        "findings": _records(consolidation.findings),
        "missing": _records(consolidation.missing),
        "documents": _plain(consolidation.documents),
    }


def write_json(consolidation: Consolidation, path: str | Path) -> None:
    """The consolidated data as UTF-8 JSON (NaN → null), written atomically."""
    text = json.dumps(consolidation_data(consolidation), ensure_ascii=False, indent=1, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """One table as UTF-8 CSV with a BOM (so Excel reads the Chinese), text neutralised, numbers as they are."""
    safe = frame.astype(object).map(neutralise_csv_text) if len(frame) else frame
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def write_csvs(consolidation: Consolidation, folder: str | Path) -> list[Path]:
    """projects.csv, indicators.csv, findings.csv, inputs.csv and missing.csv in ``folder``; returns their paths."""
    folder = Path(folder)
    written = []
    for name in CSV_TABLES:
        path = folder / f"{name}.csv"
        atomic_write_bytes(path, csv_bytes(getattr(consolidation, name)))
        written.append(path)
    return written
