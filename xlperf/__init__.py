"""xlperf: the yearly budget performance-target workflow (绩效目标表) from spreadsheets.

The public API is imported lazily, so the command line starts fast (pandas loads only for merge).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "make_templates": "writers.sendout", "make_blank_template": "writers.sendout",
    "load_framework": "framework.frameworks", "list_frameworks": "framework.frameworks", "framework_shown": "framework.frameworks", "Framework": "framework.frameworks",
    "load_spec": "framework.spec",
    "read_return": "intake.reader", "read_workbook": "intake.reader",
    "validate_paths": "checks.validate", "check_document": "checks.validate", "FileResult": "checks.validate",
    "annotate_results": "writers.annotate",
    "merge_returns": "consolidate.merge", "Consolidation": "consolidate.consolidation",
    "write_summary": "writers.summary", "build_report": "writers.report", "write_report": "writers.report",
    "import_documents": "writers.importer", "write_json": "writers.exports", "write_csvs": "writers.exports",
    "parse_target": "framework.targets", "Target": "framework.targets",
    "Finding": "core.findings", "Location": "core.findings", "Severity": "core.findings", "CATALOG": "core.findings",
    "XlperfError": "core.errors",
    "default_lang": "core.findings",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'xlperf' has no attribute {name!r}")
