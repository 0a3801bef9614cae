"""Preflight for untrusted workbooks: decide, before any parser sees a file, that it is safe to parse.

Returns come by e-mail and USB stick. python-calamine aborts the whole process on some inputs (a
cell at XFD1048576 makes it allocate the full grid), so the limits are checked here on the raw zip:
the true uncompressed size of every part (streamed to its real end and compared with what the zip
header claims), sheet count, cell count, the highest row and column any cell claims and the grid
from A1 to them that calamine fills, and no DTD (so no entity expansion and no external entity) in
any XML part. A sheet is found the way calamine finds it, through the workbook's relationships, so
it is checked wherever it sits in the zip and whatever its name. Cells are read the way calamine's
XML parser reads them; a reference not written the way Excel writes it is refused as damaged rather
than guessed at, and cells without one (xlperf's own summaries) are placed as calamine places them. Legacy .xls (binary BIFF) cannot be inspected this way and
is refused with a message saying how to save the file correctly. A return that passes is handed to the parser as
the parts were read here (``stored_package``), so the parser never sees bytes that were not checked.
"""
from __future__ import annotations

import contextlib
import html
import io
import os
import re
import stat
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from zlib_ng import zlib_ng

from ..core.errors import Refused  # noqa: F401 (raised here)
from ..core.cells import column_index
from ..core.findings import Finding, Location
from ..core.zipparts import ZIP32_LIMIT, central_header, end_of_directory, local_header
from ..framework.limits import Limits  # noqa: F401 (the preflight's bounds; callers import them here too)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
SPREADSHEET_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # all Excel, WPS and LibreOffice write
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20
_MAX_TAIL = 1 << 20  # a window's text after its last '<' longer than this is text, not a tag still open
# A piece that is only an end tag, as a part's last piece ("</worksheet>") is: every pattern below needs an '='
# or a '<' followed by '!' or a name, so none finds anything in it.
_END_TAG = re.compile(rb"</[^<>=]*>\s*")

# The worksheet XML as python-calamine's parser (quick-xml) reads it. An element is named by everything up
# to a blank and its local name follows the first colon ("<x:c", "<:c", "<a=:c", "<a/:c" are all cells; an
# end tag "</x:c>" is not). Attribute values may be single- or double-quoted and may hold '<' and '>';
# quick-xml takes a="1"r="2" without a blank. A cell's position comes from its `r` attribute, read
# case-insensitively and with leading zeros; a cell without `r` is placed after the previous one. So every
# cell must carry exactly one `r` spelled as Excel spells it (upper-case letters, no leading zero), and the
# highest row and column of those bound the grid.
_PREFIX = rb"(?:(?:[^ \t\r\n<>:/!?][^ \t\r\n<>:]*)?:)?"
_VALUE = rb"""(?:"[^"]*"|'[^']*')"""
_NOT_R = rb"""\s+(?!r\s*=)[^\s<>/="']+\s*=\s*""" + _VALUE
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
_ROW_TAG = re.compile(rb"<" + _PREFIX + rb"row[\s/>]")
_CELL_WITH_R = re.compile(rb"<" + _PREFIX + rb"c(?:" + _NOT_R + rb")*\s+r\s*=\s*(" + _VALUE + rb")(?:" + _NOT_R
                          + rb")*\s*/?>")
_CANONICAL_REFS = re.compile(rb"""(?:(?:"[A-Z]{1,3}[1-9][0-9]{0,6}"|'[A-Z]{1,3}[1-9][0-9]{0,6}')\n)*""")
# The same counts and references, found much faster in a piece written as Excel writes it: plain (no prefixed
# cell or row tag, _PREFIXED_NAME below), and every cell `<c r="A1" s="1" t="s">` with `r` first and each value
# double-quoted. _PLAIN_CELL finds every unprefixed cell tag (no match holds a '<', so none hides another): a
# plain one with its reference, which the patterns above also match there with the same reference, any other
# one with an empty reference. With no empty one, the patterns above would find exactly these references, each
# already canonical.
_PLAIN_CELL = re.compile(rb"""<c(?: r=("[A-Z]{1,3}[1-9][0-9]{0,6}")(?: [a-qs-z]\w*="[^"<]*")*/?>|[\s/>])""")
if sys.version_info >= (3, 11):  # the same matches, a sixth sooner: no step of a cell tag can be taken back to
    # match otherwise (a name stops at its '=', a value at its '"', the attributes at what is not a blank), so the
    # engine is told not to keep the ways back (an atomic group and possessive repeats, new in Python 3.11)
    _PLAIN_CELL = re.compile(rb"""<c(?: r=("[A-Z]{1,3}+[1-9][0-9]{0,6}+")(?> [a-qs-z]\w*+="[^"<]*+")*+/?>|[\s/>])""")
_PLAIN_ROW = re.compile(rb"<row[\s/>]")
# With the references canonical, deleting these leaves one row number (or one column's letters) a line.
_QUOTES_AND_LETTERS = b"\"'ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_QUOTES_AND_DIGITS = b"\"'0123456789"
_QUOTES_DIGITS_AND_NEWLINES = _QUOTES_AND_DIGITS + b"\n"
_RELATIONSHIP = re.compile(rb"<" + _PREFIX + rb"""Relationship(?=[\s/>])(?:[^<>"']|"[^"]*"|'[^']*')*>""")
_ATTRIBUTE = re.compile(rb"""\s([^\s<>/="']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# relationship types python-calamine refuses to read as a sheet ("Unrecognized sheet type")
_NOT_SHEET_TYPES = (b"/styles", b"/theme", b"/sharedStrings", b"/calcChain")
_BINARY_SUFFIXES = (".bin", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".wdp",
                    ".jfif", ".ico", ".xlsx", ".xlsm", ".docx", ".pptx", ".ods", ".odt", ".zip")


def _limit(name: str, value: int, limit: int) -> None:
    if value > limit:
        raise Refused("READ_LIMIT", limit_name=name, limit=limit, seen=value)


def _has_dtd(data: bytes) -> bool:
    """A DTD, the door to entity expansion and external entities; most parts hold no '!' at all, which is
    found far faster (a one-byte search) than the pattern's scan."""
    return b"!" in data and _DTD.search(data) is not None


class Reading:
    """What the preflight has inflated of one input: the bytes so far (against ``max_uncompressed_bytes``) and,
    when ``keep``, every part read whole in one chunk, for the parser to be given the very bytes that were
    checked (``stored_package``); ``parts`` is None once a part is not (then the parser reads the file)."""

    __slots__ = ("inflated", "kept_bytes", "parts")

    def __init__(self, keep: bool = False):
        self.inflated = 0
        self.parts: dict[zipfile.ZipInfo, bytes] | None = {} if keep else None
        self.kept_bytes = 0

    def keep(self, info: zipfile.ZipInfo, pieces: int, data: bytes) -> None:
        if self.parts is None:
            return
        if pieces > 1 or self.kept_bytes + len(data) > _MAX_KEPT_BYTES:
            self.parts = None
            return
        if info not in self.parts:
            self.kept_bytes += len(data)
        self.parts[info] = data


_MAX_KEPT_BYTES = 64 << 20  # a return inflates to well under 1 MB; a larger input's parser reads the file


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: Reading):
    """Yield the decompressed part in chunks, counting the real size against the limits. zipfile stops
    at the size the header claims; the data is read to its real end instead, and must match the claim."""
    size, claimed, pieces, last = 0, info.file_size, 0, b""
    for chunk in _chunks(archive, info):
        size += len(chunk)
        budget.inflated += len(chunk)
        _limit("max_part_bytes", size, limits.max_part_bytes)
        _limit("max_uncompressed_bytes", budget.inflated, limits.max_uncompressed_bytes)
        pieces, last = pieces + 1, chunk
        yield chunk
    if size != claimed:
        raise Refused("READ_DAMAGED")
    budget.keep(info, pieces, last)


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part decompressed to its real end, in chunks of _CHUNK bytes as zipfile reads them (the last
    shorter); zipfile's errors as it raises them."""
    whole = _whole_part(archive, info)
    if whole is not None:
        if whole:
            yield whole
        return
    claimed = info.file_size
    info.file_size = 1 << 62  # zipfile takes the size to stop at when the part is opened (a copy costs more)
    try:
        handle = archive.open(info)
    finally:
        info.file_size = claimed
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_NOT_READ_HERE = 1 << 0 | 1 << 5 | 1 << 6  # encrypted, compressed patched data, strong encryption: zipfile's to say
_UTF8_NAME = 1 << 11


def _whole_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """A part of at most one chunk read and inflated in one go, about 12 µs sooner than through zipfile's
    open and read (a return has some twenty parts): the very bytes zipfile's reading gives in one chunk,
    where it gives them without complaint (its local header matches the directory, all its compressed data is
    there, it inflates to at most a chunk, its CRC is right). None for anything else, which zipfile then reads
    and says what is wrong with, as it always has."""
    if info.compress_size > _CHUNK or info.file_size > _CHUNK or info.flag_bits & _NOT_READ_HERE \
            or info.compress_type not in SPREADSHEET_COMPRESSION:
        return None
    handle = archive.fp
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != ZIP_MAGIC or (fields[3] ^ info.flag_bits) & _UTF8_NAME:  # zipfile decodes the name as one
        return None  # of the two says (the local header since Python 3.11): read here only when both agree
    name_length, extra_length = fields[10], fields[11]
    end = getattr(info, "_end_offset", None)  # where the next entry starts, to Pythons that refuse overlaps
    if end is not None and info.header_offset + _LOCAL_HEADER.size + name_length + extra_length \
            + info.compress_size > end:
        return None
    rest = handle.read(name_length + extra_length + info.compress_size)
    if len(rest) != name_length + extra_length + info.compress_size:
        return None
    try:
        name = rest[:name_length].decode("utf-8" if fields[3] & _UTF8_NAME
                                         else getattr(archive, "metadata_encoding", None) or "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    data = rest[name_length + extra_length:]
    if info.compress_type == zipfile.ZIP_DEFLATED:
        # zlib-ng's inflate and CRC (1.9x zlib's on a return's parts, 0.18 ms a return): the bytes are the same,
        # checked against the part's CRC; a stream it refuses is left to zipfile (zlib) to say what is wrong
        inflater = zlib_ng.decompressobj(-15)
        try:
            data = inflater.decompress(data, _CHUNK)
            if inflater.unconsumed_tail:  # more than a chunk: not inflated further here (a bomb stays unread)
                return None
            data += inflater.flush()
        except (zlib_ng.error, zlib.error):
            return None
    if len(data) > _CHUNK or zlib_ng.crc32(data) != info.CRC:
        return None
    return data


def _windows(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: Reading):
    """The part as consecutive pieces that end just before a '<', so no tag is ever cut in two (a
    tag longer than _MAX_TAIL may be, and the checks below then refuse rather than miss it)."""
    carry = b""
    for chunk in _stream(archive, info, limits, budget):
        window = carry + chunk
        cut = window.rfind(b"<")
        if cut < 0 or len(window) - cut > _MAX_TAIL:
            cut = len(window)
        if cut:
            yield window[:cut]
        carry = window[cut:]
    if carry:
        yield carry


# Numbers a reader may size an allocation or an index by, before it has seen what they count (python-calamine
# reserves the shared strings' `uniqueCount` up front; openpyxl makes one object per cell of a merged range).
# Each is checked against the limits and against what the part can hold: every counted element takes bytes.
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384
_MIN_ELEMENT_BYTES = 4  # "<si/>", "<xf/>": no counted element is shorter
_COUNT_ATTRIBUTE = re.compile(rb"""\s(count|uniqueCount)\s*=\s*["']\s*([^"']*)["']""")
_COUNTED_TAG = re.compile(rb"<(?:[\w.-]+:)?(sst|cellXfs|cellStyleXfs|fonts|fills|borders|numFmts|dxfs|cellStyles|"
                          rb"definedNames|mergeCells|tableStyles|colors|extLst)\b[^>]*>")
_SPANS = re.compile(rb"""spans\s*=\s*["']([^"']*)["']""")  # a literal first: the engine skips ahead to it
_COL_TAG = re.compile(rb"<(?:[\w.-]+:)?col\b[^>]*>")
_MIN_MAX = re.compile(rb"""\s(min|max)\s*=\s*["']([^"']*)["']""")
_RANGE_TAG = re.compile(rb"<(?:[\w.-]+:)?(mergeCell|dimension)\b[^>]*>")
_REF_ATTRIBUTE = re.compile(rb"""\sref\s*=\s*["']([^"']*)["']""")
_RANGE = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Za-z]{1,3})\$?([0-9]{1,7}))?")
# The same numbers, found with fewer passes over a piece (each pass over a 16 KB worksheet costs about 6 µs).
# Every counted tag's count sits in a _COUNT_ATTRIBUTE whose name ends in "ount": so where every "ount" that is
# followed by `= "value"` has a value within the smallest bound that name can have, no counted tag holds one
# out of bounds. (A value that holds another "ount" holds letters, so is not within any bound: none is hidden.)
_COUNT_VALUE = re.compile(rb"""ount\s*=\s*["']\s*([^"']*)["']""")
# A piece is plain when no cell, row, col, mergeCell or dimension tag in it has a namespace prefix: the tag
# patterns' prefix can then never match, and the same patterns without it, which start with a literal the
# engine skips ahead to, find exactly the same tags.
_PREFIXED_NAME = re.compile(rb":(?:c[\s/>]|row[\s/>]|col\b|mergeCell\b|dimension\b)")
_PLAIN_COL_TAG = re.compile(rb"<col\b[^>]*>")
_PLAIN_MERGE_TAG = re.compile(rb"<mergeCell\b[^>]*>")
_PLAIN_DIMENSION_TAG = re.compile(rb"<dimension\b[^>]*>")
_CANONICAL_RANGES = re.compile(rb"(?:[A-Z]{1,3}[1-9][0-9]{0,6}(?::[A-Z]{1,3}[1-9][0-9]{0,6})?\n)*")


def _declared(part: str, attribute: str, seen: object, limit: object) -> Refused:
    return Refused("READ_DECLARED_SIZE", part=part, attribute=attribute, seen=seen, limit=limit)


def _within(text: bytes, limit: int) -> bool:
    return text.strip().isdigit() and int(text) <= limit


def _number(part: str, attribute: str, text: bytes, limit: int) -> int:
    if not text.strip().isdigit():
        raise _declared(part, attribute, text.decode("latin-1")[:40], limit)
    value = int(text)
    if value > limit:
        raise _declared(part, attribute, value, limit)
    return value


def _from_first(block: bytes, names: tuple[bytes, ...]) -> int:
    """Where a tag holding the first of ``names`` in ``block`` can start, or -1 if none is there: at the last
    '<' before it, since neither a name nor its namespace prefix, however long, holds a '<'. The tag patterns
    start with an alternation the regex engine cannot skip ahead to, so this is found by ``find``."""
    found = [index for index in (block.find(name) for name in names) if index >= 0]
    return max(0, block.rfind(b"<", 0, min(found))) if found else -1


def _tags(pattern: re.Pattern, block: bytes, start: int, anchors: tuple[bytes, ...]):
    r"""``pattern.finditer(block, start)`` for a tag pattern ``<(?:[\w.-]+:)?(name|...)\b[^>]*>`` where every
    name holds one of a few ``anchors``, found faster. Such a tag starts at the last '<' before its name
    (a name and its prefix hold no '<'), so the pattern is tried only there, where searching with it tries
    every '<' of the rest of a worksheet (from its <dimension> and <cols> at the top to the end)."""
    next_at = {anchor: block.find(anchor, start) for anchor in anchors}
    pos = start
    while True:
        for anchor, at in next_at.items():
            if 0 <= at < pos:
                next_at[anchor] = block.find(anchor, pos)
        found = [at for at in next_at.values() if at >= 0]
        if not found:
            return
        name_at = min(found)
        tag_at = block.rfind(b"<", pos, name_at)
        match = pattern.match(block, tag_at) if tag_at >= 0 else None
        if match is None:  # no tag starts between pos and this name
            pos = name_at + 1
            continue
        yield match
        pos = match.end()


_COUNTED_NAMES = (b"sst", b"Xfs", b"fonts", b"fills", b"borders", b"numFmts", b"dxfs", b"cellStyles", b"definedNames",
                  b"mergeCells", b"tableStyles", b"colors", b"extLst")


def _check_declared(part: str, block: bytes, part_bytes: int, limits: Limits, is_sheet: bool,
                    plain: bool = False) -> None:
    """The numbers in one window of a part that readers trust, checked before any reader sees them; the first
    out of bounds is refused, in this order: counts, row spans, columns, ranges. ``plain``: a worksheet piece
    without prefixed tags (_PREFIXED_NAME), whose tags are found by the patterns without the prefix."""
    capacity = max(1, part_bytes // _MIN_ELEMENT_BYTES)
    if not _counts_within(block, capacity, limits):
        _check_counts(part, block, capacity, limits, is_sheet)
    if not is_sheet:
        return
    if b"spans" in block:  # every row declares its spans, nearly always the same few: each checked once
        for spans in dict.fromkeys(_SPANS.findall(block)):  # in the order written: the first bad one is named
            for end in spans.split(b":"):
                _number(part, "row spans", end, EXCEL_MAX_COLUMNS)
    for tag in _col_tags(block, plain):
        if not (_col_within(tag) if len(tag) <= _REMEMBERED_TAG else _cols_within(tag)):
            for name, value in _MIN_MAX.findall(tag):
                if not _within(value, EXCEL_MAX_COLUMNS):  # the attribute named only for a refusal
                    _number(part, f"col {name.decode()}", value, EXCEL_MAX_COLUMNS)
    _check_ranges(part, block, limits, plain)


# What the preflight remembers across files is bounded by the size of what it keys on too: a worker reads many
# files, and a hostile one's megabyte-long tags must not stay held in it (against the next files' memory limit)
_REMEMBERED_TAG = 256
_REMEMBERED_MERGES = 64 * 1024


def _cols_within(tag: bytes) -> bool:
    """Whether a col tag's min and max are all within the columns."""
    return all(_within(value, EXCEL_MAX_COLUMNS) for _, value in _MIN_MAX.findall(tag))


# the same few tags recur in every sheet of every return from one template: each is looked at once
_col_within = lru_cache(maxsize=1024)(_cols_within)


def _check_ranges(part: str, block: bytes, limits: Limits, plain: bool) -> None:
    """Every mergeCell and dimension tag's range (_check_range), in the order _RANGE_TAG finds them."""
    if plain:
        merges, dimensions = _PLAIN_MERGE_TAG.findall(block), _PLAIN_DIMENSION_TAG.findall(block)
        # With no '<' inside any of them none starts inside another, so these are the very tags _RANGE_TAG
        # finds; with every merged range within bounds, only the dimensions can be refused, in their order.
        if b"".join(merges + dimensions).count(b"<") == len(merges) + len(dimensions) \
                and (_merges_within if sum(map(len, merges)) <= _REMEMBERED_MERGES else _ranges_within)(
                    tuple(merges), limits):
            for ref in filter(None, map(_REF_ATTRIBUTE.search, dimensions)):
                _check_range(part, "dimension", ref.group(1), limits)
            return
    start = _from_first(block, (b"mergeCell", b"dimension"))
    if start >= 0:
        for tag in _tags(_RANGE_TAG, block, start, (b"mergeCell", b"dimension")):
            ref = _REF_ATTRIBUTE.search(tag.group(0))
            if ref is not None:
                _check_range(part, tag.group(1).decode(), ref.group(1), limits)


def _counts_within(block: bytes, capacity: int, limits: Limits) -> bool:
    """Whether every count _check_counts could find is within its bound (_COUNT_VALUE): one pass over the
    piece, where _check_counts tries every '<' from the first counted name on. False: not shown so."""
    for found in _COUNT_VALUE.finditer(block):
        at = found.start()  # after a 'c' it can only be `count`, which may reach the cell limit
        if not _within(found.group(1), max(capacity, limits.max_cells) if block[at - 1:at] == b"c" else capacity):
            return False
    return True


def _check_counts(part: str, block: bytes, capacity: int, limits: Limits, is_sheet: bool) -> None:
    """The count and uniqueCount of every counted tag from the first counted name on."""
    # in a worksheet the one counted tag is mergeCells (a worksheet is mostly cells: one scan for it)
    start = _from_first(block, (b"mergeCells",) if is_sheet else _COUNTED_NAMES) if b"ount" in block else -1
    if start >= 0:
        for tag in _COUNTED_TAG.finditer(block, start):
            for name, value in _COUNT_ATTRIBUTE.findall(tag.group(0)):
                what = f"{tag.group(1).decode()} {name.decode()}"
                _number(part, what, value, capacity if name == b"uniqueCount" else max(capacity, limits.max_cells))


def _col_tags(block: bytes, plain: bool) -> list[bytes]:
    """Every col tag _COL_TAG finds in a worksheet piece, in order."""
    if plain:
        return _PLAIN_COL_TAG.findall(block)
    start = _from_first(block, (b"<col", b":col"))
    return [tag.group(0) for tag in _tags(_COL_TAG, block, start, (b"col",))] if start >= 0 else []


def _ranges_within(tags: tuple[bytes, ...], limits: Limits) -> bool:
    """Whether no merged range can be refused: all written as Excel writes them, inside the sheet, and the
    grid from A1 to the farthest row and column of any of them within the cell limit (so is each range)."""
    refs = [ref.group(1) for ref in map(_REF_ATTRIBUTE.search, tags) if ref is not None]
    if not refs:
        return True
    joined = b"\n".join(refs) + b"\n"
    if not _CANONICAL_RANGES.fullmatch(joined):
        return False
    last_row, last_column = _last_row_and_column(joined.replace(b":", b"\n"))
    return (last_row <= EXCEL_MAX_ROWS and last_column <= EXCEL_MAX_COLUMNS
            and last_row * last_column <= limits.max_cells)


_merges_within = lru_cache(maxsize=256)(_ranges_within)  # every project sheet of a template merges the same ranges


def _check_range(part: str, kind: str, ref: bytes, limits: Limits) -> None:
    """A merged range or a sheet's dimension: inside the sheet, and (merged) no larger than the cell limit."""
    match = _RANGE.fullmatch(ref.strip())
    if match is None:
        raise _declared(part, f"{kind} ref", ref.decode("latin-1")[:40], "A1:XFD1048576")
    first_column, first_row = column_index(match.group(1).upper().decode()), int(match.group(2))
    last_column = column_index((match.group(3) or match.group(1)).upper().decode())
    last_row = int(match.group(4) or match.group(2))
    if max(first_row, last_row) > EXCEL_MAX_ROWS or max(first_column, last_column) > EXCEL_MAX_COLUMNS \
            or min(first_row, last_row) < 1:
        raise _declared(part, f"{kind} ref", ref.decode("latin-1")[:40], "A1:XFD1048576")
    if kind == "dimension":
        _limit("max_rows", last_row, limits.max_rows)
        _limit("max_columns", last_column, limits.max_columns)
    else:
        area = (abs(last_row - first_row) + 1) * (abs(last_column - first_column) + 1)
        if area > limits.max_cells:
            raise _declared(part, "mergeCell ref", ref.decode("latin-1")[:40], f"{limits.max_cells} cells")


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: Reading,
              cells: list[int], is_sheet: bool, parsed: bool = True) -> None:
    """Stream one XML part: no DTD anywhere; declared sizes checked; for worksheets, count cells and bound
    their references. ``parsed=False``: a worksheet no reader will parse (a summary's tables: only its _data
    sheet is read), whose cells without `r` need not be placed one by one."""
    rows = last_row = last_column = 0
    placed = False  # a cell without `r` seen: where calamine puts each cell is followed in a second pass
    for block in _windows(archive, info, limits, budget):
        if _END_TAG.fullmatch(block):  # a part's last piece, "</worksheet>": nothing below can find anything
            continue
        if _has_dtd(block):
            raise Refused("READ_UNSAFE_XML", part=info.filename)
        plain = is_sheet and _PREFIXED_NAME.search(block) is None
        _check_declared(info.filename, block, info.file_size, limits, is_sheet, plain)
        if not is_sheet:
            continue
        # Counting in C; only each distinct column and row number is looked at in Python.
        tags, row_tags, refs, canonical = _cell_and_row_tags(block, plain)
        cells[0] += tags
        rows += row_tags
        _limit("max_cells", cells[0], limits.max_cells)
        _limit("max_rows", rows, limits.max_rows)
        if placed or len(refs) != tags:  # a cell without `r` (or with two): calamine places it by counting
            placed = True
            continue
        if not refs:
            continue
        block_row, block_column = _extent(refs, canonical)
        last_row, last_column = max(last_row, block_row), max(last_column, block_column)
        _limit("max_rows", last_row, limits.max_rows)
        _limit("max_columns", last_column, limits.max_columns)
        # calamine fills the grid from A1 to the last cell: two far cells make a huge grid
        _limit("max_cells", last_row * last_column, limits.max_cells)
    if placed and parsed:
        _placed_extent(archive, info, limits)


# Where calamine puts cells without `r`: a row's `r` sets the current row, each row's end moves to the next row
# and back to column A, a cell's `r` sets its row and column, and every cell moves the column on by one. That is
# followed only for the one strict form xlperf's summaries are written in, every byte of <sheetData> accounted
# for: rows hold cells, a cell holds <f>, <v> or <is><t> with text, tags are plain (no prefix, one space
# before each attribute, double quotes, no '<' or '>' in a value), text holds no '<'. Anything else is damaged:
# a tag hidden in a value or a cell, an odd blank, a comment, a nesting calamine would read otherwise.
_STRICT_TOKEN = re.compile(rb'<(/?)(row|c|is|t|v|f)((?: [A-Za-z_][\w.:-]*="[^"<>]*")*)(/?)>|[^<]+')
_PLACED_ATTRIBUTE = re.compile(rb' ([A-Za-z_][\w.:-]*)="([^"<>]*)"')
_ROW_NUMBER = re.compile(rb"[1-9][0-9]{0,6}")
_CELL_REFERENCE = re.compile(rb"([A-Z]{1,3})([1-9][0-9]{0,6})")
# what may open inside what, and the text allowed: whitespace between elements, anything in <t> and <v>
_CHILDREN = {b"sheetData": (b"row",), b"row": (b"c",), b"c": (b"f", b"v", b"is"), b"is": (b"t",), b"t": (), b"v": (),
             b"f": ()}


def _placed_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> tuple[int, int]:
    """The last row and column (1-based) calamine puts a cell of this worksheet at, within the limits."""
    row = column = last_row = last_column = 0
    open_elements: list[bytes] | None = None  # None: before <sheetData>; [] after </sheetData>
    for block in _windows(archive, info, limits, Reading()):  # a second pass: the sizes are counted in the first
        at = 0
        if open_elements is None:
            start = block.find(b"<sheetData>")
            if start < 0:
                if b"<sheetData" in block or b"<row" in block or b"<c " in block or b"<c>" in block:
                    raise Refused("READ_DAMAGED")
                continue
            if b"<row" in block[:start] or b"<c " in block[:start] or b"<c>" in block[:start]:
                raise Refused("READ_DAMAGED")
            open_elements, at = [b"sheetData"], start + len(b"<sheetData>")
        elif not open_elements:
            continue
        while at < len(block) and open_elements:
            if block.startswith(b"</sheetData>", at) and open_elements == [b"sheetData"]:
                open_elements, at = [], at + len(b"</sheetData>")
                break
            match = _STRICT_TOKEN.match(block, at)
            if match is None:
                raise Refused("READ_DAMAGED")
            at = match.end()
            closing, name, attributes, empty = match.groups()
            parent = open_elements[-1]
            if name is None:  # text
                if parent not in (b"t", b"v", b"f") and match.group().strip(b" \t\r\n"):
                    raise Refused("READ_DAMAGED")
                continue
            if closing:
                if attributes or empty or name != parent:
                    raise Refused("READ_DAMAGED")
                open_elements.pop()
                if name == b"row":
                    row, column = row + 1, 0
                continue
            if name not in _CHILDREN[parent]:
                raise Refused("READ_DAMAGED")
            references = [value for key, value in _PLACED_ATTRIBUTE.findall(attributes) if key == b"r"]
            if len(references) > 1 or (references and name not in (b"row", b"c")):
                raise Refused("READ_DAMAGED")
            if name == b"row":
                if references:
                    if not _ROW_NUMBER.fullmatch(references[0]):
                        raise Refused("READ_DAMAGED")
                    row = int(references[0]) - 1
            elif name == b"c":
                cell_row = row
                if references:
                    reference = _CELL_REFERENCE.fullmatch(references[0])
                    if reference is None:
                        raise Refused("READ_DAMAGED")
                    cell_row, column = int(reference[2]) - 1, column_index(reference[1].decode("ascii")) - 1
                last_row, last_column = max(last_row, cell_row + 1), max(last_column, column + 1)
                column += 1
            if empty:  # <row/>, <c/>: a start and an end, as calamine's parser reads them
                if name == b"row":
                    row, column = row + 1, 0
            else:
                open_elements.append(name)
        _limit("max_rows", last_row, limits.max_rows)
        _limit("max_columns", last_column, limits.max_columns)
        _limit("max_cells", last_row * last_column, limits.max_cells)
    if open_elements:
        raise Refused("READ_DAMAGED")
    return last_row, last_column


def _extent(refs: list[bytes], canonical: bool) -> tuple[int, int]:
    """The highest row and column of a piece's cell references; ``canonical``: known to be written as Excel
    writes them (_cell_and_row_tags), else looked at here."""
    joined = b"\n".join(refs) + b"\n"
    if not (canonical or _CANONICAL_REFS.fullmatch(joined)):  # lower case, leading zeros, no row: never written
        raise Refused("READ_DAMAGED")  # by Excel
    return _last_row_and_column(joined)


def _last_row_and_column(joined: bytes) -> tuple[int, int]:
    """The highest row and column of canonical references, one a line; only distinct ones reach Python."""
    last_row = max(map(int, set(joined.translate(None, _QUOTES_AND_LETTERS).split())))
    letters = joined.translate(None, _QUOTES_DIGITS_AND_NEWLINES)
    if len(letters) == joined.count(b"\n"):  # one letter a reference: the highest letter is the last column
        return last_row, max(letters) - ord("A") + 1
    columns = set(joined.translate(None, _QUOTES_AND_DIGITS).split())
    return last_row, max(column_index(letters.decode("ascii")) for letters in columns)


def _cell_and_row_tags(block: bytes, plain: bool | None = None) -> tuple[int, int, list[bytes], bool]:
    """Cell tags, row tags, the `r` value of each cell tag that has exactly one, in a worksheet piece, and
    whether those values are known to be canonical (_PLAIN_CELL's); ``plain``: no prefixed tag (_PREFIXED_NAME)."""
    if plain is None:
        plain = _PREFIXED_NAME.search(block) is None
    if plain:
        refs = _PLAIN_CELL.findall(block)
        rows = len(_PLAIN_ROW.findall(block))
        if b"" not in refs:
            return len(refs), rows, refs, True
        return len(refs), rows, _CELL_WITH_R.findall(block), False
    return len(_CELL_TAG.findall(block)), len(_ROW_TAG.findall(block)), _CELL_WITH_R.findall(block), False


def _sheet_targets(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits,
                   budget: Reading) -> tuple[set[str], set[str]]:
    """File names (last path component) the workbook's relationships point at: every target, and the
    targets calamine may read as a sheet. A worksheet may live anywhere in the zip, under any name."""
    every: set[str] = set()
    sheets: set[str] = set()
    for info in infos:
        if info.filename != "xl/_rels/workbook.xml.rels":
            continue
        data = b"".join(_stream(archive, info, limits, budget))  # whole: a value may hold '<'
        if _has_dtd(data):
            raise Refused("READ_UNSAFE_XML", part=info.filename)
        targets = _cached_relationship_targets(data) if len(data) <= _REMEMBERED_RELATIONSHIPS \
            else _relationship_targets(data)
        every.update(targets[0])
        sheets.update(targets[1])
    return every, sheets


def _relationship_targets(data: bytes) -> tuple[frozenset[str], frozenset[str]]:
    """The file names every relationship points at, and those calamine may read as a sheet."""
    every: set[str] = set()
    sheets: set[str] = set()
    for tag in _RELATIONSHIP.findall(data):
        attributes = {name: double or single for name, double, single in _ATTRIBUTE.findall(tag)}
        target = attributes.get(b"Target")
        if target is None:
            continue
        text = target.decode("utf-8", "replace")
        names = {_basename(text), _basename(unquote(html.unescape(text)))}
        every.update(names)
        if not attributes.get(b"Type", b"").endswith(_NOT_SHEET_TYPES):
            sheets.update(names)
    return frozenset(every), frozenset(sheets)


# the workbook's relationships name parts by number, not by sheet: every return of a template has the same
_cached_relationship_targets = lru_cache(maxsize=64)(_relationship_targets)
_REMEMBERED_RELATIONSHIPS = 65_536  # bytes: a larger text is parsed each time, not kept


def _basename(name: str) -> str:
    """What follows the last '/' or '\\'."""
    return name[max(name.rfind("/"), name.rfind("\\")) + 1:]


def _scan_ods(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: Reading) -> None:
    """OpenDocument repeats rows and cells by attribute; bound the cells that carry content."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    office = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
    data = b"".join(_stream(archive, info, limits, budget))
    if _has_dtd(data):
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


def check_path(path: Path, limits: Limits, summary: bool | None = None) -> None:
    """The checks that need no reading: exists, readable, a regular non-empty file of sane size, and
    not a link to somewhere outside its folder (no file outside the inputs is ever read). The size may be a
    summary's (``Limits.for_summary``) when ``summary``, or when it is None and the file ``claims_summary``."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        raise Refused("READ_MISSING") from None
    except PermissionError:
        raise Refused("READ_NO_PERMISSION") from None
    if stat.S_ISLNK(status.st_mode):
        if not path.exists():
            raise Refused("READ_BROKEN_LINK")
        if not path.resolve().is_relative_to(path.parent.resolve()):
            raise Refused("READ_SYMLINK")
        is_dir, is_file = path.is_dir(), path.is_file()
    else:  # not a link: what the path names is what lstat saw
        is_dir, is_file = stat.S_ISDIR(status.st_mode), stat.S_ISREG(status.st_mode)
    if is_dir:
        raise Refused("READ_IS_FOLDER")
    if not is_file:
        raise Refused("READ_NOT_WORKBOOK", reason="not a regular file")
    size = path.stat().st_size if stat.S_ISLNK(status.st_mode) else status.st_size
    if size == 0:
        raise Refused("READ_EMPTY_FILE")
    if summary is None and size > limits.max_file_bytes:
        summary = size <= limits.for_summary().max_file_bytes and claims_summary(path)
    _limit("max_file_bytes", size, limits.for_summary().max_file_bytes if summary else limits.max_file_bytes)


# A summary's sheet list names a very hidden `_data` sheet (xlperf writes it so; see writers/summary.py).
_SUMMARY_DATA_SHEET = re.compile(rb"""<(?:[\w.-]+:)?sheet(?=\s)(?=[^<>]*\sname\s*=\s*["']_data["'])"""
                                 rb"""(?=[^<>]*\sstate\s*=\s*["']veryHidden["'])[^<>]*>""")
_MAX_SHEET_LIST = 1 << 20  # xl/workbook.xml of a summary is about 2 KB


_UNOPENED = (OSError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, RuntimeError, EOFError)


def claims_summary(path: str | Path, archive: zipfile.ZipFile | None = None) -> bool:
    """Whether the workbook says it is an xlperf summary (a very hidden ``_data`` sheet in its sheet list).
    Only which limits the preflight applies depends on it: a file checked as a summary is then read only as
    one, and without the marker in its ``_data`` sheet must pass a return's limits (``reader.read_workbook``).
    Reads the zip's directory and at most 1 MB of ``xl/workbook.xml``; anything odd means no. ``archive``: the
    file already opened (``opened_zip``)."""
    try:
        if archive is not None:
            return _summary_data_sheet(archive) is not None
        with opened_zip(path) as archive:
            return archive is not None and _summary_data_sheet(archive) is not None
    except _UNOPENED:
        return False  # a garbled name (UnicodeDecodeError), a damaged zip: not a summary; the preflight says why


@contextlib.contextmanager
def opened_zip(path: str | Path) -> Iterator[zipfile.ZipFile | None]:
    """The file opened as a zip, once for ``claims_summary`` and ``preflight``; None when it does not start
    as one or its directory cannot be read (``inspect`` then says why). Only after ``check_path``."""
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(open(path, "rb"))
            archive = stack.enter_context(zipfile.ZipFile(handle)) if handle.read(4) == ZIP_MAGIC else None
        except _UNOPENED:
            archive = None
        yield archive


def _summary_data_sheet(archive: zipfile.ZipFile) -> bytes | None:
    """The very hidden ``_data`` sheet's tag in the workbook's sheet list, or None."""
    try:
        info = archive.getinfo("xl/workbook.xml")
        if info.file_size > _MAX_SHEET_LIST or info.compress_type not in SPREADSHEET_COMPRESSION \
                or info.flag_bits & 0x1:
            return None
        sheet_list = _whole_part(archive, info)
        if sheet_list is None or len(sheet_list) != info.file_size:  # zipfile stops at the size claimed here
            with archive.open(info) as handle:
                sheet_list = handle.read(_MAX_SHEET_LIST + 1)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error, RuntimeError, EOFError,
            NotImplementedError):  # zipfile's answer to a compression method it cannot read
        return None
    if len(sheet_list) > _MAX_SHEET_LIST or b"_data" not in sheet_list or _has_dtd(sheet_list):
        return None
    found = _SUMMARY_DATA_SHEET.search(sheet_list)
    return None if found is None else found.group(0)


def _summary_data_part(archive: zipfile.ZipFile, limits: Limits, budget: Reading) -> str | None:
    """The file name (last path component) of a summary's ``_data`` worksheet, through the workbook's
    relationships as calamine finds it; None when that cannot be told (then every sheet is checked in full)."""
    tag = _summary_data_sheet(archive)
    ids = [value for name, value, _ in _ATTRIBUTE.findall(tag or b"") if name.endswith(b":id")]
    if len(ids) != 1 or "xl/_rels/workbook.xml.rels" not in archive.namelist():
        return None
    data = b"".join(_stream(archive, archive.getinfo("xl/_rels/workbook.xml.rels"), limits, Reading()))
    targets = set()
    for relationship in _RELATIONSHIP.findall(data):
        attributes = {name: double or single for name, double, single in _ATTRIBUTE.findall(relationship)}
        if attributes.get(b"Id") == ids[0] and b"Target" in attributes:
            text = attributes[b"Target"].decode("utf-8", "replace")
            targets.update({_basename(text), _basename(unquote(html.unescape(text)))})
    return targets.pop() if len(targets) == 1 else None


def _ole2_stream_names(path: Path) -> set[str]:
    """Which telling stream names an OLE2 compound file holds. Directory entries store names in
    UTF-16LE; a byte search is enough to tell the few kinds apart (the size was checked before)."""
    data = path.read_bytes()
    wanted = ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book", "WordDocument")
    return {name for name in wanted if name.encode("utf-16-le") + b"\0\0" in data}


def _ole2_refusal(path: Path, suffix: str) -> Refused:
    """An OLE2 file is either an Office workbook with an open password (an encrypted package) or a
    file in an old binary format, often an .xls renamed to .xlsx: each needs different advice."""
    names = _ole2_stream_names(path)
    if "EncryptedPackage" in names:
        return Refused("READ_ENCRYPTED")
    if "WordDocument" in names:
        return Refused("READ_OLD_WORD")
    if suffix == ".xls":
        return Refused("READ_XLS_REFUSED")
    return Refused("READ_XLS_RENAMED", name=path.name)


def inspect(path: Path, limits: Limits, summary: bool = False,
            archive: zipfile.ZipFile | None = None, reading: Reading | None = None) -> list[Finding]:
    """Check one input before parsing. Returns warnings (macros, links, embedded objects);
    raises ``Refused`` when the input must not be parsed at all. ``summary``: check it against the limits of a
    summary (``Limits.for_summary``), for a file that ``claims_summary`` and is then read only as one.
    ``archive``: the file already opened (``opened_zip``), read instead of opening it again; ``reading``: where
    its parts are counted (and kept, ``Reading(keep=True)``)."""
    check_path(path, limits, summary)
    if summary:
        limits = limits.for_summary()
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except PermissionError:
        raise Refused("READ_NO_PERMISSION") from None
    suffix = path.suffix.lower()
    if head == OLE2_MAGIC:
        raise _ole2_refusal(path, suffix)
    if suffix == ".xls":
        raise Refused("READ_XLS_REFUSED")
    if not head.startswith(ZIP_MAGIC):
        text_like = all(32 <= b or b in (9, 10, 13) for b in head) or head.startswith(b"\xef\xbb\xbf")
        raise Refused("READ_TEXT_FILE") if text_like else Refused("READ_NOT_WORKBOOK", reason="unknown binary format")
    try:
        with contextlib.nullcontext(archive) if archive is not None else zipfile.ZipFile(path) as archive:
            return _inspect_zip(archive, limits, is_ods=suffix == ".ods", summary=summary, budget=reading)
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError):  # a corrupt deflate stream, a garbled name
        raise Refused("READ_DAMAGED") from None
    except (zipfile.LargeZipFile, RuntimeError, EOFError) as exc:
        raise Refused("READ_NOT_WORKBOOK", reason=str(exc)[:120] or type(exc).__name__) from None
    except OSError:  # a truncated or corrupt member surfaces as a zlib or CRC error
        raise Refused("READ_DAMAGED") from None


def _inspect_zip(archive: zipfile.ZipFile, limits: Limits, is_ods: bool, summary: bool = False,
                 budget: Reading | None = None) -> list[Finding]:
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
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("READ_ENCRYPTED")
        if info.compress_type not in SPREADSHEET_COMPRESSION:  # refused here, before zipfile trips on it
            raise Refused("READ_NOT_WORKBOOK", reason=f"zip compression method {info.compress_type}")
    budget, cells = budget or Reading(), [0]
    targets, sheet_targets = (set(), set()) if is_ods else _sheet_targets(archive, infos, limits, budget)
    sheets = {n for n in names if (n.startswith("xl/worksheets/") and n.endswith(".xml"))
              or _basename(n) in sheet_targets}
    _limit("max_sheets", len(sheets), limits.max_sheets)
    data_part = _summary_data_part(archive, limits, budget) if summary and not is_ods else None
    for info in infos:
        name = info.filename
        if is_ods and name == "content.xml":
            _scan_ods(archive, info, limits, budget)
        elif name in sheets or _basename(name) in targets or not name.lower().endswith(_BINARY_SUFFIXES):
            _scan_xml(archive, info, limits, budget, cells, is_sheet=name in sheets,
                      parsed=data_part is None or _basename(name) == data_part)
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


def preflight(path: str | Path, limits: Limits | None = None, summary: bool = False,
              archive: zipfile.ZipFile | None = None, reading: Reading | None = None) -> list[Finding]:
    """``inspect`` with the file named in every finding; ``Refused`` becomes the reader's error."""
    path = Path(path)
    findings = inspect(path, limits or Limits(), summary, archive, reading)
    return [Finding(f.code, Location(str(path)), f.field, f.value, f.params) for f in findings]


def stored_package(archive: zipfile.ZipFile, reading: Reading) -> bytes | None:
    """The package rebuilt from its parts as the preflight read them (``Reading(keep=True)``), in their order,
    stored uncompressed: the parser then reads exactly the bytes that were checked (a file changed since, or a
    zip whose entries overlap, reads no differently) and inflates nothing again (about 0.5 ms of a return's
    7). None unless every part was kept and every name is unique (a repeated name: which one a zip reader takes
    is its own choice), or when the package would pass what a plain zip can say."""
    infos = archive.infolist()
    parts = reading.parts
    if parts is None or len(parts) != len(infos) or len({info.filename for info in infos}) != len(infos):
        return None
    pieces, directory, offset = [], [], 0
    for info in infos:
        data = parts[info]
        crc = info.CRC  # what the part was checked against as it was read (here or by zipfile)
        header = local_header(info.filename, zipfile.ZIP_STORED, crc, len(data), len(data))
        directory.append(central_header(info.filename, zipfile.ZIP_STORED, crc, len(data), len(data), offset))
        pieces += (header, data)
        offset += len(header) + len(data)
    listing = b"".join(directory)
    if offset + len(listing) >= ZIP32_LIMIT or len(infos) >= 1 << 16:  # zip64's to say: the parser reads the file
        return None
    pieces += (listing, end_of_directory(len(infos), len(listing), offset))
    return b"".join(pieces)
