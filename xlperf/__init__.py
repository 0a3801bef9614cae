"""xlperf: the yearly budget performance-target workflow (绩效目标表) from spreadsheets.

The public API is imported lazily, so the command line starts fast (pandas loads only for merge).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "make_templates": "sendout", "make_blank_template": "sendout",
    "load_framework": "frameworks", "list_frameworks": "frameworks", "Framework": "frameworks",
    "load_spec": "spec",
    "read_return": "reader", "read_workbook": "reader",
    "validate_paths": "validate", "check_document": "validate", "FileResult": "validate",
    "annotate_results": "annotate",
    "merge_returns": "merge", "Consolidation": "consolidation",
    "write_summary": "summary", "build_report": "report", "write_report": "report",
    "import_documents": "importer", "write_json": "exports", "write_csvs": "exports",
    "parse_target": "targets", "Target": "targets",
    "Finding": "findings", "Location": "findings", "Severity": "findings", "CATALOG": "findings",
    "XlperfError": "errors",
    "default_lang": "findings",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'xlperf' has no attribute {name!r}")
