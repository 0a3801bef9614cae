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
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from zlib_ng import zlib_ng

from .. import __version__
from ..core.errors import XlperfError
from ..core.fileio import atomic_path
from ..core.findings import Finding, Location, Severity, json_safe
from ..core.sheetxml import Segment

ENTRY_VERSION = 9  # 2: entries carry the summary's rows (segments) instead of documents; 3: and their CRC shift; 4: sent project identities, renamed sheets read, follow-on findings dropped; 5: each document's year; 6: 项目汇总's rows, returns left out; 7: segments without their CRC shift, checked by CRC-32 (20× as fast as SHA-256: they are only guarded against damage), 项目汇总's rows deflated; 8: and their widths and totals (figures); 9: and 校验问题's rows, their widths and their texts (finding_rows)
HERE = "\u0000input"  # stands for the input's own path inside an entry
MADE_ROWS = ("project_rows", "finding_rows")  # rows made ahead whose segments follow 绩效指标明细's and _data's


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xlperf" / "returns"


def salt(spec_data: dict) -> str:
    """What, besides the file, decides an entry: xlperf's version and the template spec."""
    text = json.dumps([__version__, ENTRY_VERSION, spec_data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def here(value: str | None, path: str) -> str | None:
    """``path`` as an entry stores it."""
    return HERE if value == path else value


def resolve_here(value: str | None, path: str) -> str | None:
    """A stored path, back as ``path`` where the entry meant the input itself."""
    return path if value == HERE else value


def finding_to_json(finding: Finding, path: str) -> dict:
    location = finding.location
    return {"code": finding.code, "file": here(location.file, path), "sheet": location.sheet, "cell": location.cell,
            "row": location.row, "field": finding.field, "value": json_safe(finding.value),
            "params": {k: json_safe(v) for k, v in finding.params.items()},
            "severity": finding.severity.value if finding.severity else None}


def finding_from_json(data: dict, path: str) -> Finding:
    return Finding(data["code"], Location(resolve_here(data["file"], path), data["sheet"], data["cell"], data["row"]),
                   data["field"], data["value"], data["params"], Severity(data["severity"]) if data["severity"] else None)


@dataclass(frozen=True)
class StoredTables:
    """An entry's tables, left in its cache file until asked for (a re-run of a large merge never needs them)."""

    path: str | Path
    offset: int
    length: int
    sha256: str

    def read(self) -> bytes:
        """The tables as JSON bytes; ``ValueError`` if the file no longer holds what the entry stated."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(self.length)
        if len(data) != self.length or hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValueError(f"{self.path}: cache entry changed")
        return data


class ResultCache:
    """One file per entry under ``folder/<salt>/<key[:2]>/<key>.entry`` (key: content sha256 and file
    extension): a line of JSON, then the entry's segments of deflated rows, 绩效指标明细's and _data's, then
    项目汇总's and 校验问题's (``MADE_ROWS``; the JSON states each one's CRC, size and length in their place, and a CRC-32 of them all),
    then its tables as JSON, checked against the SHA-256 it states when they are read. Writes are atomic."""

    def __init__(self, folder: str | Path, salt_data: dict):
        self.folder = Path(folder) / salt(salt_data)
        self.hits = self.misses = 0

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], f"{key}.entry")  # a thousand times a re-merge: not pathlib

    def holds(self, key: str) -> bool:
        """Whether there is an entry for ``key`` (which ``get`` may still find of no use)."""
        return os.path.isfile(self._path(key))

    def get(self, key: str, frameworks: dict[str, str], tabulated: bool = False) -> dict | None:
        """The entry, if present, intact, and made with the frameworks as they are now (id → sha256).
        Its ``tables`` are a ``StoredTables``. ``tabulated``: a return with errors must have its rows and tables
        (an entry made by a run that left it out, ``left_out``, has neither)."""
        path = self._path(key)
        try:
            with open(path, "rb", buffering=0) as handle:  # a thousand small files: no buffer, one read of most
                size = os.fstat(handle.fileno()).st_size
                data = handle.read(min(size, FIRST_READ))
                newline = data.find(b"\n")
                if newline < 0:  # a head longer than the first read (a summary's thousand returns)
                    data += _read_fully(handle, size - len(data))
                    newline = data.find(b"\n")
                head = data[:newline + 1]
                entry = orjson.loads(head)
                if entry.get("key") != key or entry.get("version") != ENTRY_VERSION:
                    raise ValueError("stale entry")
                if tabulated and entry.get("left_out"):
                    raise ValueError("made without rows")
                for framework_id, framework_sha in entry.get("frameworks", {}).items():
                    if frameworks.get(framework_id) != framework_sha:
                        raise ValueError("framework changed")
                stated = entry.get("segments", {})
                made = [rows for rows in map(entry.get, MADE_ROWS) if rows]
                lengths = [sum(length for *_, length in rows["segments"]) for rows in made]
                at = sum(length for *_, length in stated.values())
                wanted = at + sum(lengths)
                blob = data[len(head):len(head) + wanted]
                blob += _read_fully(handle, wanted - len(blob))
                if zlib_ng.crc32(blob) != entry.get("segments_crc32"):
                    raise ValueError("damaged segments")
                entry["segments"] = dict(zip(stated, _segments_from(stated.values(), blob[:at])))
                for rows, length in zip(made, lengths):
                    rows["segments"] = _segments_from(rows["segments"], blob[at:at + length])
                    at += length
                entry["tables"] = StoredTables(path, len(head) + len(blob), entry["tables_length"],
                                               entry["tables_sha256"])
                if size != entry["tables"].offset + entry["tables_length"]:
                    raise ValueError("entry cut short")
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, entry: dict) -> None:
        target = Path(self._path(key))
        segments, tables = entry.get("segments", {}), entry.get("tables", b"")
        made = {name: entry[name] for name in MADE_ROWS if entry.get(name)}
        blob = b"".join(segment.data for segment in [*segments.values(),
                                                    *(segment for rows in made.values() for segment in rows["segments"])])
        head = {**entry, "key": key, "version": ENTRY_VERSION, "segments_crc32": zlib_ng.crc32(blob),
                **{name: {**rows, "segments": _stated(rows["segments"])} for name, rows in made.items()},
                "tables": None, "tables_length": len(tables), "tables_sha256": hashlib.sha256(tables).hexdigest(),
                "segments": dict(zip(segments, _stated(segments.values())))}
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(f".{os.getpid()}.part")
            # no NaN or infinity (which orjson, reading it, refuses): such an entry is not kept, its file read again
            line = json.dumps(head, ensure_ascii=False, allow_nan=False).encode("utf-8")
            temporary.write_bytes(line + b"\n" + blob + tables)
            os.replace(temporary, target)
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs time


FIRST_READ = 1 << 16  # bytes of an entry read at once: its head and segments, but for the largest returns


def _read_fully(handle, count: int) -> bytes:
    """Up to ``count`` more bytes (fewer only at the end of the file)."""
    parts = []
    while count > 0:
        part = handle.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _stated(segments) -> list[list[int]]:
    """What an entry's JSON says of its segments, whose bytes follow it: each one's crc, size and length."""
    return [[segment.crc, segment.size, len(segment.data)] for segment in segments]


def _segments_from(stated, blob: bytes) -> list[Segment]:
    segments, at = [], 0
    for crc, size, length in stated:
        segments.append(Segment(blob[at:at + length], crc, size))
        at += length
    if at != len(blob):
        raise ValueError("segments do not fill the entry")
    return segments


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


HASHES_VERSION = 2  # 2: noted as of when the run began
RACY_NS = 2_000_000_000  # a file changed this close to when its hash was noted may change again unseen


class FileHashes:
    """The content hash of each input, noted with what ``stat`` said of the file (size, modification and change
    times in nanoseconds, inode, device), so that a re-merge need not read a thousand unchanged files again to
    hash them. A noted hash is used only when all of these are as noted and the file had last changed at
    least ``RACY_NS`` before the note was written: a file rewritten in the same clock tick as it was hashed
    would otherwise look unchanged (git's "racily clean" entries). The change time cannot be set back by any
    program, so a file written since always misses. The notes are one JSON file beside the cache's entries,
    written atomically; one that cannot be read is ignored."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / f"hashes-v{HASHES_VERSION}.json"
        self.started_ns = time.time_ns()  # before any file is looked at: what the notes are made as of
        self.noted: dict[str, list] = {}
        self.seen: dict[str, list] = {}
        try:
            data = orjson.loads(self.path.read_bytes())
            as_of = data["as_of_ns"]
            self.noted = {path: note for path, note in data["files"].items() if _is_note(note)
                          and max(note[1], note[2]) < as_of - RACY_NS}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass

    def sha256(self, path: Path) -> str:
        status = os.stat(path)
        key = os.path.abspath(path)
        facts = [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]
        noted = self.noted.get(key)
        sha = noted[5] if noted is not None and noted[:5] == facts else file_sha256(path)
        self.seen[key] = [*facts, sha]
        return sha

    def save(self) -> None:
        """Note the hashes of this run's files (only theirs: a folder merged again is the case that matters), as
        of when the run began looking at them."""
        try:
            with atomic_path(self.path) as temporary:
                temporary.write_bytes(orjson.dumps({"as_of_ns": self.started_ns, "files": self.seen}))
        except XlperfError:
            pass  # notes that cannot be written only cost time


def _is_note(note: object) -> bool:
    """A note as ``FileHashes`` writes them: five whole numbers and a SHA-256."""
    return (isinstance(note, list) and len(note) == 6 and all(type(value) is int for value in note[:5])
            and isinstance(note[5], str) and len(note[5]) == 64)
