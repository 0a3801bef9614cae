"""Preflight for untrusted workbooks: decide, before any parser sees a file, that it is safe to parse.

Returns come by e-mail and USB stick. python-calamine aborts the whole process on some inputs (a
cell at XFD1048576 makes it allocate the full grid), so the limits are checked here on the raw zip:
the true uncompressed size of every part (streamed, never trusting the zip header), sheet count,
cell count and the highest row and column any cell claims, and no DTD (so no entity expansion and
no external entity) in any XML part. Legacy .xls (binary BIFF) cannot be inspected this way and is
refused with a message saying how to save the file correctly.
"""
from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

from .findings import Finding, Location
from .spec import column_index, column_letter

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[ >/]")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[ >/]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one input; every one is named in the message when it is hit."""

    max_file_bytes: int = 50_000_000
    max_uncompressed_bytes: int = 300_000_000
    max_part_bytes: int = 100_000_000
    max_parts: int = 5_000
    max_sheets: int = 500
    max_rows: int = 100_000
    max_columns: int = 1_000
    max_cells: int = 2_000_000

    @classmethod
    def from_mapping(cls, values: dict) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{key: int(value) for key, value in values.items() if key in known})


class Refused(Exception):
    """Raised inside the preflight; carries the finding that makes the input unreadable."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params


def _limit(name: str, value: int, limit: int) -> None:
    if value > limit:
        raise Refused("READ_LIMIT", limit_name=name, limit=limit, seen=value)


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: list[int]):
    """Yield the decompressed part in chunks, counting the real size against the limits."""
    size = 0
    with archive.open(info) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return
            size += len(chunk)
            budget[0] += len(chunk)
            _limit("max_part_bytes", size, limits.max_part_bytes)
            _limit("max_uncompressed_bytes", budget[0], limits.max_uncompressed_bytes)
            yield chunk


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: list[int],
              cells: list[int], is_sheet: bool) -> None:
    """Stream one XML part: no DTD anywhere; for worksheets, count cells and bound their references."""
    rows = [0]
    row_digits, column_letters = len(str(limits.max_rows)), len(column_letter(limits.max_columns))
    long_refs = re.compile(rb"\br=\"([A-Z]{%d,7}[0-9]{1,9}|[A-Z]{1,7}[0-9]{%d,9})\"" % (column_letters, row_digits))

    def check(block: bytes) -> None:
        if _DTD.search(block):
            raise Refused("READ_UNSAFE_XML", part=info.filename)
        if is_sheet:
            # Counting in C: every cell and row tag counts; only references long enough to break a
            # limit (as many digits as max_rows, as many letters as max_columns) are looked at in Python.
            cells[0] += len(_CELL_TAG.findall(block))
            rows[0] += len(_ROW_TAG.findall(block))
            _limit("max_cells", cells[0], limits.max_cells)
            _limit("max_rows", rows[0], limits.max_rows)
            for letters, digits in long_refs.findall(block):
                _limit("max_rows", int(digits), limits.max_rows)
                _limit("max_columns", column_index(letters.decode("ascii")), limits.max_columns)

    carry = b""
    for chunk in _stream(archive, info, limits, budget):
        window = carry + chunk
        cut = window.rfind(b"<")  # scan complete tags only; the last, maybe cut, tag waits for the next chunk
        if cut <= 0 or len(window) - cut > 65536:
            cut = len(window)
        check(window[:cut])
        carry = window[cut:]
    check(carry)


def _scan_ods(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: list[int]) -> None:
    """OpenDocument repeats rows and cells by attribute; bound the cells that carry content."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    office = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
    data = b"".join(_stream(archive, info, limits, budget))
    if _DTD.search(data):
        raise Refused("READ_UNSAFE_XML", part=info.filename)
    sheets = row_number = content_cells = 0
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end")):
            tag = element.tag
            if event == "start" and tag == f"{table}table":
                sheets += 1
                row_number = 0
                _limit("max_sheets", sheets, limits.max_sheets)
            elif event == "end" and tag == f"{table}table-row":
                rows = int(element.get(f"{table}number-rows-repeated", "1"))
                column = 0
                for cell in element:
                    repeat = int(cell.get(f"{table}number-columns-repeated", "1"))
                    has_content = cell.get(f"{office}value-type") is not None or len(cell)
                    column += repeat
                    if has_content:
                        content_cells += repeat * rows
                        _limit("max_cells", content_cells, limits.max_cells)
                        _limit("max_columns", column, limits.max_columns)
                        _limit("max_rows", row_number + rows, limits.max_rows)
                row_number += rows
                element.clear()
    except DefusedXmlException:
        raise Refused("READ_UNSAFE_XML", part=info.filename) from None
    except (ParseError, ValueError):
        raise Refused("READ_DAMAGED") from None


def check_path(path: Path, limits: Limits) -> None:
    """The checks that need no reading: exists, readable, a regular non-empty file of sane size, and
    not a link to somewhere outside its folder (no file outside the inputs is ever read)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise Refused("READ_MISSING") from None
    except PermissionError:
        raise Refused("READ_NO_PERMISSION") from None
    if stat.S_ISLNK(mode):
        if not path.exists():
            raise Refused("READ_BROKEN_LINK")
        if not path.resolve().is_relative_to(path.parent.resolve()):
            raise Refused("READ_SYMLINK")
    if path.is_dir():
        raise Refused("READ_IS_FOLDER")
    if not path.is_file():
        raise Refused("READ_NOT_WORKBOOK", reason="not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise Refused("READ_EMPTY_FILE")
    _limit("max_file_bytes", size, limits.max_file_bytes)


def inspect(path: Path, limits: Limits) -> list[Finding]:
    """Check one input before parsing. Returns warnings (macros, links, embedded objects);
    raises ``Refused`` when the input must not be parsed at all."""
    check_path(path, limits)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except PermissionError:
        raise Refused("READ_NO_PERMISSION") from None
    suffix = path.suffix.lower()
    if head == OLE2_MAGIC:
        raise Refused("READ_ENCRYPTED" if suffix in (".xlsx", ".xlsm") else "READ_XLS_REFUSED")
    if suffix == ".xls":
        raise Refused("READ_XLS_REFUSED")
    if not head.startswith(ZIP_MAGIC):
        text_like = all(32 <= b or b in (9, 10, 13) for b in head) or head.startswith(b"\xef\xbb\xbf")
        raise Refused("READ_TEXT_FILE") if text_like else Refused("READ_NOT_WORKBOOK", reason="unknown binary format")
    try:
        with zipfile.ZipFile(path) as archive:
            return _inspect_zip(archive, limits, is_ods=suffix == ".ods")
    except zipfile.BadZipFile:
        raise Refused("READ_DAMAGED") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise Refused("READ_NOT_WORKBOOK", reason=str(exc)[:120] or type(exc).__name__) from None
    except OSError:  # a truncated or corrupt member surfaces as a zlib or CRC error
        raise Refused("READ_DAMAGED") from None


def _inspect_zip(archive: zipfile.ZipFile, limits: Limits, is_ods: bool) -> list[Finding]:
    infos = archive.infolist()
    _limit("max_parts", len(infos), limits.max_parts)
    names = {info.filename for info in infos}
    if is_ods:
        if "content.xml" not in names:
            raise Refused("READ_WRONG_KIND", kind="OpenDocument")
    elif "xl/workbook.xml" not in names:
        kind = "a Word document" if "word/document.xml" in names else \
            "a PowerPoint file" if "ppt/presentation.xml" in names else "a zip file that is not a workbook"
        raise Refused("READ_WRONG_KIND", kind=kind)
    sheets = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    _limit("max_sheets", len(sheets), limits.max_sheets)
    budget, cells = [0], [0]
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("READ_ENCRYPTED")
        if is_ods and info.filename == "content.xml":
            _scan_ods(archive, info, limits, budget)
        elif info.filename.endswith((".xml", ".rels", ".vml")):
            _scan_xml(archive, info, limits, budget, cells, is_sheet=info.filename in sheets)
        else:
            for _ in _stream(archive, info, limits, budget):  # binary parts count against the size limits
                pass
    warnings = []
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        warnings.append("READ_HAS_MACROS")
    if any(n.startswith("xl/externalLinks/") for n in names):
        warnings.append("READ_HAS_LINKS")
    if any(n.startswith(("xl/embeddings/", "xl/activeX/")) for n in names):
        warnings.append("READ_HAS_OBJECTS")
    return [Finding(code, Location()) for code in warnings]


def preflight(path: str | Path, limits: Limits | None = None) -> list[Finding]:
    """``inspect`` with the file named in every finding; ``Refused`` becomes the reader's error."""
    path = Path(path)
    findings = inspect(path, limits or Limits())
    return [Finding(f.code, Location(str(path)), f.field, f.value, f.params) for f in findings]
