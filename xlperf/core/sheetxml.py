"""Big tables as pre-compressed worksheet XML, spliced into the .xlsx that XlsxWriter wrote.

XlsxWriter keeps every cell as a Python object until ``close()`` and spends microseconds on each; the summary
of 1,000 returns has 1.7 million cells. So the summary lets XlsxWriter write everything around a table (header,
formats, totals, merges, charts, print setup) plus one *probe row*, and its table rows are put in place of the
probe row afterwards, as **segments**: XML text for a run of rows, deflated on its own and ended with a sync
flush, so that segments made anywhere (in worker processes, or last run and kept in the cache) are simply
concatenated into the package's compressed stream. That is why rows and cells here carry no ``r`` attribute
(optional in SpreadsheetML: a row follows the one before, a cell the one to its left): a return's rows do not
depend on where they land. Excel, LibreOffice, openpyxl and python-calamine all read them so.

Cells are written as XlsxWriter writes them (inline strings, as in its ``constant_memory`` mode): text is
escaped the same way (``& < >``, control characters as ``_xHHHH_``) and cut at Excel's 32,767 characters;
numbers use the same ``%.16G``. Nothing here writes a formula.
"""
from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name
from zlib_ng import zlib_ng

from .zipparts import ZIP32_LIMIT, central_header, end_of_directory, local_header

MAX_TEXT = 32767  # characters in one cell (Excel)
# zlib-ng at level 5: every row of a summary is deflated here, 160 kB of XML a return. Measured on 300 returns'
# segments: zlib 6 1.7-2.0 ms a return -> 10.76 kB; zlib-ng 5 0.55 ms -> 10.94 kB (+1.7%); ISA-L (isal) 2 0.1 ms
# but 13.07 kB (+21%) in a file that is e-mailed on.
COMPRESS_LEVEL = 5
FINAL_BLOCK = b"\x03\x00"  # an empty, final, fixed-Huffman deflate block: ends a run of sync-flushed segments

_ESCAPE_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
_ESCAPED_CHARACTER = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")
_PROBE_STYLE = re.compile(r'<c r="[A-Z]+\d+" s="(\d+)"')


def escape_text(text: str) -> str:
    """Cell text as XML character data, the way XlsxWriter escapes it (so both paths store the same)."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if not _may_change(text):
        return text
    text = _ESCAPE_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _may_change(text: str) -> bool:
    """False when ``escape_text`` leaves ``text`` as it is (a "_x" that starts no ``_xHHHH_`` is a false alarm).
    A character class and a substring test: this looks through every carried document, 30,000 characters a
    cell, where one pattern with the alternative ``_xHHHH_`` took three times as long."""
    return "_x" in text or _ESCAPED_CHARACTER.search(text) is not None


def plain_text_needs_care(text: str) -> bool:
    """False when ``text`` goes into a cell as it is: nothing to escape, no blank at either end, not too long.
    True may be a false alarm (``text_cell`` then writes it as it is)."""
    return len(text) > MAX_TEXT or _may_change(text) or text[:1].isspace() or text[-1:].isspace()


def text_cell(style: int | None, text: str) -> str:
    space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace()) else ""
    styled = f' s="{style}"' if style else ""
    return f'<c{styled} t="inlineStr"><is><t{space}>{escape_text(text)}</t></is></c>'


def number_cell(style: int | None, number: float) -> str:
    styled = f' s="{style}"' if style else ""
    return f"<c{styled}><v>{number:.16G}</v></c>"


def blank_cell(style: int | None) -> str:
    # a start and an end tag rather than <c/>: without `r`, a reader that skipped empty elements would move
    # every later cell of the row (python-calamine expands them; this form leaves nothing to chance)
    return f'<c s="{style}"></c>' if style else "<c></c>"


def row_xml(cells: str, height: float | None = None) -> str:
    """One row after the previous one; ``height`` in points (None: the default height)."""
    size = f' ht="{height:.16g}" customHeight="1"' if height is not None else ""
    return f"<row{size}>{cells}</row>"


@dataclass(frozen=True)
class Segment:
    """UTF-8 XML, deflated (raw, no header) and ended with a sync flush; ``crc``/``size`` are of the XML."""

    data: bytes
    crc: int
    size: int


def compression() -> str:
    """What makes a segment's bytes: another compressor, version or level makes other (equally valid) bytes."""
    return f"zlib-ng {zlib_ng.ZLIBNG_VERSION} level {COMPRESS_LEVEL}"


def deflate(text: str) -> Segment:
    raw = text.encode("utf-8")
    compressor = zlib_ng.compressobj(COMPRESS_LEVEL, zlib_ng.DEFLATED, -15)
    return Segment(compressor.compress(raw) + compressor.flush(zlib_ng.Z_SYNC_FLUSH), zlib_ng.crc32(raw), len(raw))


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A+B from CRC-32(A), CRC-32(B) and len(B): zlib-ng's, in C (0.5 µs; zlib's algorithm in
    Python took 7, 15 ms of a 1,000-return summary's 2,000 segments)."""
    return zlib_ng.crc32_combine(crc1, crc2, length2)


@dataclass
class Splice:
    """The rows to put in place of the probe row of one worksheet."""

    sheet_number: int  # 1-based position of the sheet in the workbook: xl/worksheets/sheet<N>.xml
    probe_row: int  # 0-based
    last_row: int  # the sheet's last row once spliced, 0-based
    last_column: int  # 0-based
    segments: Iterable[Segment]  # consumed once, while the package is written
    styles: list[int] | None = None  # the style each probe cell must carry: checked, as rows were made for them


def splice_package(package: Path, target_path: Path, splices: list[Splice]) -> None:
    """Write ``package`` (an .xlsx XlsxWriter just closed) to ``target_path`` with each splice's rows in place
    of its probe row. The other members are copied as they are, compressed bytes and all."""
    by_member = {f"xl/worksheets/sheet{splice.sheet_number}.xml": splice for splice in splices}
    with open(package, "rb") as source, open(target_path, "wb") as target:
        central = []
        for name, method, crc, packed, size, data_at in _members(source):
            offset = target.tell()
            if name in by_member:
                source.seek(data_at)
                xml = zlib.decompress(source.read(packed), -15).decode("utf-8")
                crc, packed, size = _write_member(target, name, _spliced(xml, by_member.pop(name)))
                method = zlib.DEFLATED
            else:
                target.write(local_header(name, method, crc, packed, size))
                source.seek(data_at)
                target.write(source.read(packed))
            central.append(central_header(name, method, crc, packed, size, offset))
        if by_member:
            raise ValueError(f"no worksheet {', '.join(by_member)} in the package")
        start = target.tell()
        for record in central:
            target.write(record)
        directory_size = target.tell() - start
        target.write(end_of_directory(len(central), directory_size, start))


def _members(source) -> list[tuple[str, int, int, int, int, int]]:
    """(name, method, crc, compressed size, size, where the data starts) of each member, in order."""
    members = []
    with zipfile.ZipFile(source) as archive:  # does not close ``source``: it did not open it
        infos = archive.infolist()
    for info in infos:
        source.seek(info.header_offset)
        header = source.read(30)
        name_length, extra_length = struct.unpack("<2H", header[26:30])
        members.append((info.filename, info.compress_type, info.CRC, info.compress_size, info.file_size,
                        info.header_offset + 30 + name_length + extra_length))
    return members


def _spliced(xml: str, splice: Splice) -> Iterable[Segment]:
    probe_number = splice.probe_row + 1
    start = xml.find(f'<row r="{probe_number}"')
    end = xml.find("</row>", start) + len("</row>")
    if start < 0 or end < len("</row>"):
        raise ValueError(f"probe row {probe_number} not found in sheet {splice.sheet_number}")
    if splice.styles is not None:
        found = [int(style) for style in _PROBE_STYLE.findall(xml[start:end])]
        if found != splice.styles:
            raise RuntimeError(f"sheet {splice.sheet_number}: rows made for styles {splice.styles}, "
                               f"the workbook has {found}")
    head = re.sub(r'<dimension ref="[A-Z0-9:]+"/>', f'<dimension ref="A1:{xl_col_to_name(splice.last_column)}'
                  f'{splice.last_row + 1}"/>', xml[:start], count=1)
    yield deflate(head)
    yield from splice.segments
    yield deflate(xml[end:])


WRITE_BYTES = 1 << 20


def _write_member(target, name: str, segments: Iterable[Segment]) -> tuple[int, int, int]:
    """A deflated member made of ``segments``; returns its crc, compressed and uncompressed size."""
    header_at = target.tell()
    target.write(local_header(name, zlib.DEFLATED, 0, 0, 0))
    crc = packed = size = 0
    waiting: list[bytes] = []  # written a megabyte at a time: a thousand returns' rows are thousands of segments
    waiting_bytes = 0
    for segment in segments:
        waiting.append(segment.data)
        waiting_bytes += len(segment.data)
        if waiting_bytes >= WRITE_BYTES:
            target.write(b"".join(waiting))
            waiting, waiting_bytes = [], 0
        crc = crc32_combine(crc, segment.crc, segment.size)
        packed += len(segment.data)
        size += segment.size
    target.write(b"".join(waiting))
    target.write(FINAL_BLOCK)
    packed += len(FINAL_BLOCK)
    if packed > ZIP32_LIMIT or size > ZIP32_LIMIT:
        raise ValueError(f"{name} would be larger than 4 GB")
    end = target.tell()
    target.seek(header_at)
    target.write(local_header(name, zlib.DEFLATED, crc, packed, size))
    target.seek(end)
    return crc, packed, size

