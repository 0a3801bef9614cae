"""The preflight reads a small part in one go (safety._whole_part) instead of through zipfile's open and read;
it must give exactly what zipfile gives, and leave every damaged part to zipfile, which says what is wrong as it
always has. Each test reads the same input both ways: the same bytes in the same chunks, or the same error, and
the same preflight outcome for whole files, real, damaged and mutated byte by byte.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
from xlperf.framework.spec import load_spec
from xlperf.intake import safety

LIMITS = load_spec().limits
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BOOKS = sorted(SAMPLES.glob("*/*.xlsx"))
SMALL = hostile.RETURNS / "471003_遵化市无线电监测站.xlsx"


def through_zipfile(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    return None


def chunks_or_error(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> object:
    try:
        return list(safety._chunks(archive, info))
    except Exception as error:  # noqa: BLE001 - the error itself is what is compared
        return type(error), str(error)


def both_ways(function, *args) -> tuple[object, object]:
    """``function(*args)`` (or the refusal or error it raises) with the one-go reading, and through zipfile."""
    def outcome():
        try:
            return function(*args)
        except safety.Refused as refusal:
            return refusal.code, refusal.params
        except Exception as error:  # noqa: BLE001
            return type(error), str(error)
    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(safety, "_whole_part", through_zipfile)
        general = outcome()
    return fast, general


def test_real_parts_are_read_in_one_go_as_zipfile_reads_them():
    for book in BOOKS:
        with zipfile.ZipFile(book) as archive:
            for info in archive.infolist():
                whole = safety._whole_part(archive, info)
                assert whole is not None, (book.name, info.filename)  # else this compares zipfile with itself
                assert [whole] == both_ways(chunks_or_error, archive, info)[1] == [archive.read(info)]


def rewritten(path: Path, part: str, change) -> Path:
    """``path`` with the bytes of ``part`` (its local header onwards, as a bytearray) changed in place by
    ``change(data, offset of its local header, its ZipInfo)``."""
    data = bytearray(SMALL.read_bytes())
    with zipfile.ZipFile(SMALL) as archive:
        info = archive.getinfo(part)
    change(data, info.header_offset, info)
    path.write_bytes(bytes(data))
    return path


def _central(data: bytearray, name: str) -> int:
    index = data.find(b"PK\x01\x02")
    while index != -1:
        length = struct.unpack_from("<H", data, index + 28)[0]
        if data[index + 46: index + 46 + length] == name.encode():
            return index
        index = data.find(b"PK\x01\x02", index + 4)
    raise KeyError(name)


def _set_crc(data, offset, info, crc):
    struct.pack_into("<I", data, offset + 14, crc)
    struct.pack_into("<I", data, _central(data, info.filename) + 16, crc)


def _set_compressed_size(data, offset, info, size):
    struct.pack_into("<I", data, offset + 18, size)
    struct.pack_into("<I", data, _central(data, info.filename) + 20, size)


DAMAGES = {
    "crc wrong": lambda data, offset, info: _set_crc(data, offset, info, info.CRC ^ 1),
    "local magic": lambda data, offset, info: data.__setitem__(slice(offset, offset + 4), b"PK\x05\x06"),
    "local name": lambda data, offset, info: data.__setitem__(offset + 30, ord("y")),
    "local name not utf-8": lambda data, offset, info: (data.__setitem__(offset + 30, 0xFF),
                                                        struct.pack_into("<H", data, offset + 6, 1 << 11)),
    "local extra longer": lambda data, offset, info: struct.pack_into("<H", data, offset + 28, 4),
    "patched data flag": lambda data, offset, info: struct.pack_into(
        "<H", data, _central(data, info.filename) + 8, 1 << 5),
    "strong encryption flag": lambda data, offset, info: struct.pack_into(
        "<H", data, _central(data, info.filename) + 8, 1 << 6),
    "deflate cut short": lambda data, offset, info: _set_compressed_size(data, offset, info, info.compress_size // 2),
    "bytes after the deflate end": lambda data, offset, info: _set_compressed_size(data, offset, info,
                                                                                   info.compress_size + 40),
    "reserved block type": lambda data, offset, info: data.__setitem__(
        offset + 30 + len(info.filename.encode()) + len(info.extra), 0x07),
    "compressed size past the end": lambda data, offset, info: _set_compressed_size(data, offset, info, 1 << 30),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("part", ["xl/_rels/workbook.xml.rels", "xl/worksheets/sheet3.xml", "docProps/app.xml"])
def test_damaged_parts_are_left_to_zipfile(tmp_path, damage, part):
    path = rewritten(tmp_path / "damaged.xlsx", part, DAMAGES[damage])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
        fast, general = both_ways(chunks_or_error, archive, info)
        assert fast == general, damage
    fast, general = both_ways(safety.inspect, path, LIMITS)
    assert fast == general, damage


def test_stored_and_empty_parts_read_alike(tmp_path):
    path = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(SMALL) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info), zipfile.ZIP_STORED)
        target.writestr("docProps/empty.xml", b"", zipfile.ZIP_STORED)
        target.writestr("docProps/empty-deflated.xml", b"", zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            assert safety._whole_part(archive, info) is not None
            fast, general = both_ways(chunks_or_error, archive, info)
            assert fast == general == ([archive.read(info)] if info.file_size else [])
    fast, general = both_ways(safety.inspect, path, LIMITS)
    assert fast == general == []


def test_a_part_larger_than_a_chunk_is_read_by_zipfile(tmp_path):
    path = tmp_path / "large.xlsx"
    large = b"<a>" + b"x" * (safety._CHUNK + 10) + b"</a>"
    hostile.rewrite_zip(SMALL, path, add={"docProps/large.xml": large})
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("docProps/large.xml")
        assert safety._whole_part(archive, info) is None
        assert b"".join(safety._chunks(archive, info)) == large
    # a part whose header claims a chunk or less but that inflates to more
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("docProps/large.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 100)
    struct.pack_into("<I", data, _central(data, info.filename) + 24, 100)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("docProps/large.xml")
        assert safety._whole_part(archive, info) is None
        fast, general = both_ways(chunks_or_error, archive, info)
        assert fast == general
    fast, general = both_ways(safety.inspect, path, LIMITS)
    assert fast == general


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=3),
       cut=st.one_of(st.none(), st.floats(0.5, 1, exclude_max=True)))
def test_returns_mutated_byte_by_byte_are_refused_alike(tmp_path_factory, changes, cut):
    data = bytearray(SMALL.read_bytes())
    for where, value in changes:
        data[int(where * len(data))] = value
    if cut is not None:
        del data[int(cut * len(data)):]
    path = tmp_path_factory.mktemp("mutated") / "mutated.xlsx"
    path.write_bytes(bytes(data))
    fast, general = both_ways(safety.inspect, path, LIMITS)
    assert fast == general


def test_a_part_whose_deflate_ends_early_is_refused_as_before(tmp_path):
    """The CRC and the sizes of a shorter stream, as a truncated copy would have them: zipfile's reading and the
    one-go reading agree that the part is the shorter one, and the size claimed then decides."""
    part = "docProps/app.xml"
    with zipfile.ZipFile(SMALL) as archive:
        whole = archive.read(part)
    short = whole[: len(whole) // 2]
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = packer.compress(short) + packer.flush()

    def shorter(data, offset, info):
        start = offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start: start + len(stream)] = stream
        _set_crc(data, offset, info, zlib.crc32(short))
    path = rewritten(tmp_path / "short.xlsx", part, shorter)
    fast, general = both_ways(safety.inspect, path, LIMITS)
    assert fast == general == ("READ_DAMAGED", {})


@pytest.fixture(scope="module")
def summary_book(tmp_path_factory) -> Path:
    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import write_summary

    path = tmp_path_factory.mktemp("summary") / "department.xlsx"
    write_summary(merge_returns([SAMPLES / "returns"]), path)
    return path


def _claimed_size(path: Path, target: Path, part: str, size: int, crc: int | None = None) -> Path:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    for offset in (info.header_offset + 22, _central(data, part) + 24):
        struct.pack_into("<I", data, offset, size)
    if crc is not None:
        _set_crc(data, info.header_offset, info, crc)
    target.write_bytes(bytes(data))
    return target


def test_the_summary_claim_reads_the_sheet_list_as_zipfile_does(tmp_path, summary_book):
    """claims_summary reads xl/workbook.xml in one go too, but zipfile stops there at the size the header claims:
    a sheet list longer or shorter than claimed (with the CRC of either) is claimed or not as before."""
    with zipfile.ZipFile(summary_book) as archive:
        whole = archive.read("xl/workbook.xml")
    books = [summary_book, SMALL, *BOOKS]
    for size in (len(whole) - 10, len(whole) + 10, whole.index(b"_data")):
        for crc in (None, zlib.crc32(whole), zlib.crc32(whole[:size])):
            books.append(_claimed_size(summary_book, tmp_path / f"claims-{size}-{crc}.xlsx", "xl/workbook.xml",
                                       size, crc))
    for path in books:
        fast, general = both_ways(safety.claims_summary, path)
        assert fast == general, path.name
        fast, general = both_ways(safety.inspect, path, LIMITS, fast)
        assert fast == general, path.name
    assert safety.claims_summary(summary_book) and not safety.claims_summary(SMALL)


def test_relationships_are_parsed_alike_once_remembered():
    with zipfile.ZipFile(SMALL) as archive:
        data = archive.read("xl/_rels/workbook.xml.rels")
    parsed = safety._relationship_targets(data)
    assert "sheet1.xml" in parsed[1] and "styles.xml" in parsed[0] and "styles.xml" not in parsed[1]
    assert safety._cached_relationship_targets(data) == parsed == safety._cached_relationship_targets(data)


def test_col_tags_are_judged_alike_once_remembered():
    for tag in (b'<col min="1" max="3" width="9"/>', b'<col min="1" max="16385"/>', b"<col min='x'/>",
                b'<col max="16384" min="0"/>', b"<col/>"):
        for _ in range(2):
            assert safety._col_within(tag) == all(safety._within(value, safety.EXCEL_MAX_COLUMNS)
                                                  for _, value in safety._MIN_MAX.findall(tag))


def test_what_the_preflight_remembers_is_bounded_by_its_size():
    """A hostile file's long col tags and merged ranges are judged without being remembered: a worker reads
    many files, and what it keeps must not count against the next ones' memory limit."""
    limits = load_spec().limits
    filler = b' x="y"' * 20_000  # 120 kB of attributes
    cases = [(b'<col min="1" max="3"' + filler + b"/>", b'<col min="1" max="3"/>', safety._col_within),
             (b'<mergeCell ref="A1:B2"' + filler + b"/>", b'<mergeCell ref="A1:B2"/>', safety._merges_within)]
    for long_tag, short_tag, remembered in cases:
        for tag, kept in ((long_tag, 0), (short_tag, 1)):
            remembered.cache_clear()
            block = b"<worksheet><cols>" + tag + b"</cols><sheetData/><mergeCells>" + tag + b"</mergeCells></worksheet>"
            safety._check_declared("xl/worksheets/sheet1.xml", block, len(block), limits, True, plain=True)
            assert remembered.cache_info().currsize == kept, tag[:20]
