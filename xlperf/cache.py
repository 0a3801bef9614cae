"""What reading and checking one input produced, as plain JSON: the unit of parallel work and of the cache.

An entry is keyed by the file's content (sha256) plus everything that could change its findings:
the xlperf version, the template spec and the frameworks (their hashes are stored and compared when
the entry is used). Entries hold no path: the path is put back when an entry is used, so a file
that moved or was copied is still a hit. A cache file that cannot be read, does not parse or does
not match is ignored and rewritten: the cache is never trusted over the file.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import __version__
from .findings import Finding, Location, Severity, json_safe
from .model import ReturnDocument

ENTRY_VERSION = 1
HERE = "\u0000input"  # stands for the input's own path inside an entry


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xlperf" / "returns"


def salt(spec_data: dict) -> str:
    """What, besides the file, decides an entry: xlperf's version and the template spec."""
    text = json.dumps([__version__, ENTRY_VERSION, spec_data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _file(value: str | None, path: str) -> str | None:
    return HERE if value == path else value


def _back(value: str | None, path: str) -> str | None:
    return path if value == HERE else value


def finding_to_json(finding: Finding, path: str) -> dict:
    location = finding.location
    return {"code": finding.code, "file": _file(location.file, path), "sheet": location.sheet, "cell": location.cell,
            "row": location.row, "field": finding.field, "value": json_safe(finding.value),
            "params": {k: json_safe(v) for k, v in finding.params.items()},
            "severity": finding.severity.value if finding.severity else None}


def finding_from_json(data: dict, path: str) -> Finding:
    return Finding(data["code"], Location(_back(data["file"], path), data["sheet"], data["cell"], data["row"]),
                   data["field"], data["value"], data["params"], Severity(data["severity"]) if data["severity"] else None)


def document_to_json(doc: ReturnDocument, path: str) -> dict:
    return {"path": _file(doc.path, path), "document": doc.document, "meta": doc.meta,
            "sources": {key: [_file(loc.file, path), loc.sheet, loc.cell] for key, loc in doc.sources.items()},
            "findings": [finding_to_json(f, path) for f in doc.findings]}


def document_from_json(data: dict, path: str) -> ReturnDocument:
    sources = {key: Location(_back(file, path), sheet, cell) for key, (file, sheet, cell) in data["sources"].items()}
    findings = [finding_from_json(f, path) for f in data["findings"]]
    return ReturnDocument(_back(data["path"], path) or path, data["document"], sources, {}, data["meta"], findings)


class ResultCache:
    """One JSON file per entry under ``folder/<salt>/<key[:2]>/<key>.json`` (key: content sha256 and
    file extension); writes are atomic."""

    def __init__(self, folder: str | Path, spec_data: dict):
        self.folder = Path(folder) / salt(spec_data)
        self.hits = self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, frameworks: dict[str, str]) -> dict | None:
        """The entry, if present, intact, and made with the frameworks as they are now (id → sha256)."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            if entry.get("key") != key or entry.get("version") != ENTRY_VERSION:
                raise ValueError("stale entry")
            for framework_id, framework_sha in entry.get("frameworks", {}).items():
                if frameworks.get(framework_id) != framework_sha:
                    raise ValueError("framework changed")
        except (OSError, ValueError, TypeError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, entry: dict) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(f".{os.getpid()}.part")
            temporary.write_text(json.dumps({**entry, "key": key, "version": ENTRY_VERSION},
                                            ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, target)
        except OSError:
            pass  # a cache that cannot be written only costs time
