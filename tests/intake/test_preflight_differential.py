"""The preflight's fast paths decide exactly as its general path, on real and on hostile pieces.

safety.py finds most numbers and references with shortcuts that hold for pieces written as Excel writes
them (an end-tag-only piece skipped, plain tag patterns where no tag is prefixed, one pass for every count,
merged ranges bounded all at once) and falls back to the general patterns and checks otherwise. ``general_path``
turns every shortcut off; each test runs the same input both ways and wants the same outcome: the same
counts and references, or the same refusal with the same parameters.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import hostile
from xlperf.framework.spec import load_spec
from xlperf.intake import reader, safety

LIMITS = load_spec().limits
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_BOOKS = sorted(SAMPLES.glob("*/*.xlsx"))
BENCH_RETURNS = Path.home() / ".cache" / "xlperf-bench" / "n1000-errors" / "returns"  # when made on this machine
BENCH_BOOKS = sorted(BENCH_RETURNS.glob("*.xlsx"))[:: 50] if BENCH_RETURNS.is_dir() else []
SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@contextlib.contextmanager
def general_path():
    """safety.py with every shortcut off: each piece is read by the general patterns and checks."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(safety, "_END_TAG", re.compile(rb"(?!)"))  # no piece is skipped
        patch.setattr(safety, "_PREFIXED_NAME", re.compile(rb""))  # every piece may hold prefixed tags
        patch.setattr(safety, "_counts_within", lambda *args: False)
        patch.setattr(safety, "_merges_within", lambda *args: False)
        patch.setattr(safety, "_ranges_within", lambda *args: False)
        patch.setattr(safety, "_whole_part", lambda *args: None)  # every part read through zipfile
        yield


def both_ways(function, *args):
    """What ``function(*args)`` gives (or the refusal it raises) with the shortcuts, and without them."""
    def outcome():
        try:
            return function(*args)
        except safety.Refused as refusal:
            return refusal.code, refusal.params
    fast = outcome()
    with general_path():
        general = outcome()
    return fast, general


def piece_outcome(block: bytes, is_sheet: bool, part_bytes: int, limits) -> object:
    """One piece as _scan_xml reads it: declared numbers checked, then its cells, rows and their extent."""
    if safety._END_TAG.fullmatch(block):
        return "skipped"
    plain = is_sheet and safety._PREFIXED_NAME.search(block) is None
    safety._check_declared("xl/worksheets/sheet1.xml", block, part_bytes, limits, is_sheet, plain)
    if not is_sheet:
        return None
    tags, rows, refs, canonical = safety._cell_and_row_tags(block, plain)
    if not refs or len(refs) != tags:
        return tags, rows, len(refs)
    return tags, rows, safety._extent(refs, canonical)


def assert_piece_alike(block: bytes, is_sheet: bool, part_bytes: int, limits=LIMITS) -> None:
    fast, general = both_ways(piece_outcome, block, is_sheet, part_bytes, limits)
    if fast == "skipped":  # the general path found nothing in it
        assert general in (None, (0, 0, 0)), (block, general)
    else:
        assert fast == general, block


def xml_parts(path: Path) -> list[tuple[str, bytes, bool]]:
    """Every XML part of a workbook, and whether calamine would read it as a sheet."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        _, sheets = safety._sheet_targets(archive, infos, LIMITS, safety.Reading())
        return [(info.filename, archive.read(info), safety._basename(info.filename) in sheets)
                for info in infos if info.filename.endswith((".xml", ".rels"))]


REAL_PARTS = [part for book in SAMPLE_BOOKS + BENCH_BOOKS for part in xml_parts(book)]
REAL_SHEETS = [data for name, data, is_sheet in REAL_PARTS if is_sheet]


def test_real_parts_are_read_alike():
    assert len(REAL_SHEETS) >= 30
    for name, data, is_sheet in REAL_PARTS:
        for block in (data[:data.rfind(b"<")], data[data.rfind(b"<"):]):  # as _windows cuts a part
            assert_piece_alike(block, is_sheet, len(data))


def test_real_pieces_take_the_shortcuts():
    """Else the tests here would compare the general path with itself."""
    sheet = next(sheet for sheet in REAL_SHEETS if b"<mergeCell " in sheet)
    assert safety._PREFIXED_NAME.search(sheet) is None
    assert safety._counts_within(sheet, len(sheet) // 4, LIMITS)
    merges = safety._PLAIN_MERGE_TAG.findall(sheet)
    assert merges and safety._merges_within(tuple(merges), LIMITS)
    assert safety._cell_and_row_tags(sheet, True)[3]
    assert safety._END_TAG.fullmatch(b"</worksheet>")


# --- mutated pieces --------------------------------------------------------------------------------------

PREFIXES = st.sampled_from(["", "", "", "x:", ":", "x14ac:", "a.b-c:"])
QUOTES = st.sampled_from(['"', '"', "'"])
REFS = st.one_of(st.sampled_from(["A1", "A1:B2", "B2:A1", "A1:XFD1048576", "A1:XFD1", "A1:A1048576", "XFD1048576",
                                  "A1:XFE1", "A0", "A1:B1048577", "a1:b2", "$A$1:$B$2", "A01:B2", " A1:B2 ", "A1:",
                                  "", "A1:B2:C3", "ZZ99999", "A1:ALL2000", "A1:BMN1000", "A1:ALM2000", "AAAA1"]),
                 st.builds(lambda c1, r1, c2, r2: f"{c1}{r1}:{c2}{r2}", st.from_regex(r"[A-Z]{1,3}", fullmatch=True),
                           st.integers(1, 1_100_000), st.from_regex(r"[A-Z]{1,3}", fullmatch=True),
                           st.integers(1, 1_100_000)))
NUMBERS = st.one_of(st.sampled_from(["1", "8", "16384", "16385", "0", " 7 ", "", "abc", "1e3", "-1", "4294967296",
                                     "2000000", "2000001", "99999999", "00012", "5 count=9"]),
                    st.integers(0, 3_000_000).map(str))
COUNTED = st.sampled_from(["sst", "mergeCells", "cellXfs", "fonts", "dxfs", "extLst", "dataValidations", "colors",
                           "definedNames", "conditionalFormatting"])
BLANKS = st.sampled_from([" ", " ", "  ", "\t", "\n"])


@st.composite
def attributes(draw, named: dict) -> str:
    """Attributes in any order, quoted either way, with odd blanks, and now and then a value holding a tag."""
    items = [(name, value) for name, value in named.items() if value is not None]
    items += draw(st.lists(st.tuples(st.sampled_from(["s", "t", "amount", "xr:uid", "a", "ref", "min"]),
                                     st.sampled_from(["1", "x", "<col max='99999'>", "<mergeCell ref='A1:XFD1048576'>",
                                                      '<dimension ref="A1:XFD1048576"/>', " count='abc'",
                                                      '<c r="XFD9">', ">"])), max_size=2))
    order = draw(st.permutations(range(len(items))))
    text = ""
    for index in order:
        name, value = items[index]
        quote = draw(QUOTES)
        if quote in value:
            quote = '"' if quote == "'" else "'"
        equals = draw(st.sampled_from(["=", "=", " = "]))
        text += f"{draw(BLANKS)}{name}{equals}{quote}{value}{quote}"
    return text


@st.composite
def tags(draw) -> str:
    kind = draw(st.sampled_from(["col", "mergeCell", "dimension", "counted", "row", "c", "spans-row"]))
    prefix = draw(PREFIXES)
    close = draw(st.sampled_from(["/>", ">", " />"]))
    if kind == "col":
        named = {"min": draw(st.one_of(st.none(), NUMBERS)), "max": draw(st.one_of(st.none(), NUMBERS)), "width": "9"}
    elif kind in ("mergeCell", "dimension"):
        named = {"ref": draw(st.one_of(st.none(), REFS))}
    elif kind == "counted":
        kind = draw(COUNTED)
        named = {"count": draw(st.one_of(st.none(), NUMBERS)), "uniqueCount": draw(st.one_of(st.none(), NUMBERS))}
    elif kind == "c":
        named = {"r": draw(st.one_of(st.none(), REFS.filter(lambda ref: ":" not in ref))), "s": "1"}
    else:
        named = {"r": draw(st.integers(1, 40)).__str__(), "spans": draw(st.one_of(st.none(), NUMBERS, st.sampled_from(
            ["1:8", "1:16384", "1:16385", "2:x", " 1 : 8 "])))}
        kind = "row"
    return f"<{prefix}{kind}{draw(attributes(named))}{close}"


OTHERS = st.sampled_from(["</row>", "</c>", "<v>1</v>", "<cols>", "</cols>", "<mergeCells>", "</mergeCells>", "text",
                          "<", ">", "'", '"', "=", "count=", "ount='9'", "<!-- <col max='99999'/> -->", ":col ", "\n",
                          "<![CDATA[<mergeCell ref='A1:XFD1048576'/>]]>", "</worksheet>", "<sheetData>"])


@st.composite
def pieces(draw) -> bytes:
    return "".join(draw(st.lists(st.one_of(tags(), tags(), OTHERS), max_size=14))).encode()


@SETTINGS
@given(block=pieces(), is_sheet=st.booleans(), part_bytes=st.sampled_from([40, 4_000, 100_000, 10_000_000]),
       summary=st.booleans())
@example(block=b'<mergeCell ref="A1:B2" a="<dimension ref=\'A1:XFD1048576\'/>"/>', is_sheet=True, part_bytes=4_000,
         summary=False)
@example(block=b'<sst count="12" uniqueCount="1001"/>', is_sheet=False, part_bytes=4_000, summary=False)
@example(block=b'<x:col min="1" max="99999"/><mergeCell ref="A1:ALM2000"/>', is_sheet=True, part_bytes=4_000,
         summary=False)
@example(block=b'<mergeCell ref="A1:B2"/><dimension ref="A1:B2"/><mergeCell ref="A1:XFD1048576"/>', is_sheet=True,
         part_bytes=4_000, summary=False)
@example(block=b'<a amount="5 count=99999999"/>', is_sheet=False, part_bytes=400, summary=False)
@example(block=b'</sheetData>', is_sheet=True, part_bytes=400, summary=False)
def test_mutated_pieces_are_read_alike(block, is_sheet, part_bytes, summary):
    assert_piece_alike(block, is_sheet, part_bytes, LIMITS.for_summary() if summary else LIMITS)


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(sheet=st.sampled_from(REAL_SHEETS), inserts=st.lists(st.tuples(st.floats(0, 1), st.one_of(tags(), OTHERS)),
                                                             max_size=4),
       rewrite=st.sampled_from([None, (b"<col ", b"<x:col "), (b'"', b"'"), (b"<mergeCell ", b"<mergeCell  "),
                                (b' r="', b' s="0" r="'), (b"<dimension ", b"<:dimension "), (b'ref="A', b'ref="a')]))
def test_real_sheets_mutated_are_read_alike(sheet, inserts, rewrite):
    if rewrite:
        sheet = sheet.replace(*rewrite)
    for where, text in inserts:
        at = sheet.rfind(b"<", 0, int(where * len(sheet)) + 1) if b"<" in sheet else 0
        sheet = sheet[:max(at, 0)] + text.encode() + sheet[max(at, 0):]
    assert_piece_alike(sheet, True, len(sheet))


# --- whole files: real, hostile, made with too tight limits ---------------------------------------------

def file_outcome(path: Path, limits, summary: bool = False):
    return safety.inspect(path, limits, summary)


TIGHT = [LIMITS, dataclasses.replace(LIMITS, max_columns=2), dataclasses.replace(LIMITS, max_cells=50),
         dataclasses.replace(LIMITS, max_rows=5)]


@pytest.fixture(scope="module")
def hostile_books(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("hostile")
    canary = folder.parent / "canary.txt"
    canary.write_text(hostile.CANARY_SECRET)
    made = [builder(folder) for builder in (
        hostile.empty_file, hostile.random_bytes, hostile.truncated_xlsx, hostile.docx_renamed, hostile.csv_renamed,
        hostile.folder_named_xlsx, hostile.broken_symlink, hostile.symlink_outside, hostile.many_sheets,
        hostile.far_cell, hostile.full_grid_dimension, hostile.billion_laughs, hostile.encrypted, hostile.legacy_xls,
        hostile.macro_enabled, hostile.external_links, hostile.content_nasties, hostile.formula_injection,
        hostile.sheet_outside_worksheets, hostile.lying_zip_header, hostile.corrupt_deflate,
        hostile.declared_shared_strings)]
    made += [hostile.xxe_file(folder, canary), hostile.xxe_url(folder, "http://127.0.0.1:9"),
             hostile.zip_bomb(folder, size=3 * hostile.MB), hostile.huge_shared_strings(folder, size=3 * hostile.MB)]
    made += [hostile.sheet_trick(folder, trick) for trick in hostile.SHEET_TRICKS if trick != "tag_longer_than_a_chunk"]
    for count in (10, 300, 2_000_001):
        (folder / str(count)).mkdir()
        made.append(hostile.declared_shared_strings(folder / str(count), count))
    return made


def test_hostile_and_real_books_are_refused_alike(hostile_books):
    small = dataclasses.replace(LIMITS, max_part_bytes=2_000_000, max_uncompressed_bytes=5_000_000)
    for path in hostile_books + SAMPLE_BOOKS + BENCH_BOOKS:
        for limits in TIGHT + [small]:
            fast, general = both_ways(file_outcome, path, limits)
            assert fast == general, (path.name, limits)


@pytest.fixture(scope="module")
def summary_book(tmp_path_factory) -> Path:
    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import write_summary

    path = tmp_path_factory.mktemp("summary") / "department.xlsx"
    write_summary(merge_returns([SAMPLES / "returns"]), path)
    return path


def test_one_open_zip_claims_and_checks_as_two(hostile_books, summary_book):
    """read_workbook opens the zip once for the summary claim and the preflight; the outcome is that of
    claims_summary and _preflight each opening it, for returns, a summary and every hostile input."""
    assert safety.claims_summary(summary_book)
    for path in hostile_books + SAMPLE_BOOKS + [summary_book]:
        for limits in (LIMITS, dataclasses.replace(LIMITS, max_file_bytes=30_000)):
            assert outcome_of(claim_and_warnings, path, limits) == outcome_of(separately, path, limits), path


def claim_and_warnings(path: Path, limits) -> tuple[bool, list]:
    return reader._preflight_as_claimed(path, limits)[:2]  # the package for the parser: tests/intake/test_package.py


def separately(path: Path, limits) -> tuple[bool, list]:
    """The claim and the preflight as read_workbook made them before, each opening the file."""
    try:
        safety.check_path(path, limits, summary=True)
    except safety.Refused as refusal:
        raise reader.UnreadableError(refusal.finding(path)) from None
    claimed = path.suffix.lower() in reader.READABLE_SUFFIXES and safety.claims_summary(path)
    return claimed, reader._preflight(path, limits, claimed)


def outcome_of(function, *args):
    try:
        return function(*args)
    except reader.UnreadableError as error:
        return error.args


# --- the bounds themselves, exactly at the edge (shared by both paths, so checked here directly) -------------

EDGES = [  # (piece, worksheet?, part bytes, the refusal's attribute and seen value, or None)
    (b'<col min="1" max="16384"/>', True, 4_000, None),
    (b'<col min="1" max="16385"/>', True, 4_000, ("col max", 16385)),
    (b'<col min="16385" max="1"/>', True, 4_000, ("col min", 16385)),
    (b'<row r="1" spans="1:16384">', True, 4_000, None),
    (b'<row r="1" spans="1:16385">', True, 4_000, ("row spans", 16385)),
    (b'<sst count="2000000" uniqueCount="1000"/>', False, 4_000, None),
    (b'<sst count="2000001" uniqueCount="1000"/>', False, 4_000, ("sst count", 2000001)),
    (b'<sst count="1" uniqueCount="1001"/>', False, 4_000, ("sst uniqueCount", 1001)),
    (b'<mergeCells count="1"><mergeCell ref="A1:B1000000"/>', True, 4_000, None),
    (b'<mergeCells count="1"><mergeCell ref="A1:C1000000"/>', True, 4_000, ("mergeCell ref", "A1:C1000000")),
    (b'<mergeCell ref="A1:XFD1"/><mergeCell ref="A2:A200"/>', True, 4_000, None),
]


@pytest.mark.parametrize("piece, is_sheet, part_bytes, refused", EDGES)
def test_bounds_at_the_edge(piece, is_sheet, part_bytes, refused):
    for way in (contextlib.nullcontext, general_path):
        with way():
            try:
                plain = safety._PREFIXED_NAME.search(piece) is None
                safety._check_declared("x.xml", piece, part_bytes, LIMITS, is_sheet, plain)
                outcome = None
            except safety.Refused as refusal:
                outcome = (refusal.params["attribute"], refusal.params["seen"])
        assert outcome == refused, way


PLAIN_CELL_AS_WRITTEN = re.compile(rb"""<c(?: r=("[A-Z]{1,3}[1-9][0-9]{0,6}")(?: [a-qs-z]\w*="[^"<]*")*/?>|[\s/>])""")


@SETTINGS
@given(block=pieces(), cells=st.lists(st.sampled_from(['<c r="A1">', '<c r="B12" s="3" t="s"/>', '<c r="A1" r="B2">',
                                                       '<c r="A1" s="a>b">', '<c r="A1" s="1"t="s">', '<c r="A1"  s="1">',
                                                       '<c r="AAAA1">', '<c r="A01">', "<c>", "<c/>", '<c r="A1" s=">',
                                                       '<c r="XFD1048576" x:y="1"/>', '<c r="A1" s="<"/>']), max_size=6))
def test_the_plain_cell_pattern_finds_what_it_always_found(block, cells):
    """On Python 3.11 and later _PLAIN_CELL keeps no way back (an atomic group, possessive repeats): the same
    references as the pattern as written, on any piece."""
    text = block + "".join(cells).encode()
    assert safety._PLAIN_CELL.findall(text) == PLAIN_CELL_AS_WRITTEN.findall(text)
    for sheet in REAL_SHEETS[:5]:
        assert safety._PLAIN_CELL.findall(sheet) == PLAIN_CELL_AS_WRITTEN.findall(sheet)
