"""The preflight's fast paths give exactly what the general patterns give, on any worksheet text.

A worksheet written as Excel writes it is scanned with cheaper patterns (safety._cell_and_row_tags),
and the highest row and column are read off the references by deleting characters. Both must agree
with the general patterns in every case, including the ones that fall back to them: these tests
build worksheet pieces from the spellings python-calamine reads and compare.
"""
from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from xlperf.intake import safety
from xlperf.core.cells import column_index

SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

REFERENCES = st.one_of(st.from_regex(r"[A-Z]{1,3}[1-9][0-9]{0,6}", fullmatch=True),
                       st.sampled_from(["A1", "a1", "A01", "XFD1048576", "ZZ99999", "A", "1", "", "AAAA1", "A1 "]))
PREFIXES = st.sampled_from(["", "", "", "x:", ":", "a=:", "a/:", "é:", "x14ac:"])
BLANKS = st.sampled_from([" ", " ", "\t", "\n", "\r", "  ", ""])
# other attributes as Excel writes them (some with '<' or '>' in the value), and spelled otherwise
PLAIN_ATTRIBUTES = st.sampled_from(['s="1"', 't="s"', 'cm="1"', 'a="<>"', 'c=">"', 's1="2"', 'a="<c r=x>"',
                                    'a="</c><c r=y>"', 'v="<row>"'])
ODD_ATTRIBUTES = st.sampled_from(["t='s'", 'rr="1"', 'R="A1"', "b='\"'", 'xr:r="A1"', '_x="1"', 'S="1"', 'r="B2"',
                                  "a='<c r=\"A1\">'"])
ATTRIBUTES = st.one_of(PLAIN_ATTRIBUTES, ODD_ATTRIBUTES)
OTHERS = st.sampled_from(["<v>1</v>", "</c>", "</row>", "<col min=\"1\"/>", "<cols>", "<cfRule>", "<c>", "<c/>",
                          "<ca>", "<row/>", "<rows>", "<x:row r=\"2\">", "<row\tr='3'>", "text", "<", ">", '"', "'",
                          ":c ", ":row>", "<!-- <c r=\"A1\"> -->", "<![CDATA[<c r='B1'>]]>", "\n", "</x:c>"])


@st.composite
def cell_tags(draw) -> str:
    """A cell tag: half of them spelled as Excel spells them but for the other attributes drawn."""
    excel_like = draw(st.booleans())
    quote = '"' if excel_like else draw(st.sampled_from(['"', "'"]))
    equals = "=" if excel_like else draw(st.sampled_from(["=", " =", "= "]))
    attributes = draw(st.lists(st.one_of(PLAIN_ATTRIBUTES, PLAIN_ATTRIBUTES, ODD_ATTRIBUTES) if excel_like
                               else ATTRIBUTES, max_size=3))
    if excel_like or draw(st.integers(0, 4)):
        where = 0 if excel_like or draw(st.booleans()) else draw(st.integers(0, len(attributes)))
        attributes.insert(where, f"r{equals}{quote}{draw(REFERENCES)}{quote}")
    first_blank = " " if excel_like else draw(st.sampled_from([" ", "\t", ""]))
    text = "".join(f"{(' ' if excel_like else draw(BLANKS)) if i else first_blank}{a}"
                   for i, a in enumerate(attributes))
    close = draw(st.sampled_from([">", "/>", " >", " />", "><v>1</v></c>"]))
    return f"<{'' if excel_like else draw(PREFIXES)}c{text}{close}"


@st.composite
def worksheet_pieces(draw) -> bytes:
    parts = draw(st.lists(st.one_of(cell_tags(), cell_tags(), OTHERS,
                                    st.builds(lambda r: f'<row r="{r}">', st.integers(1, 20)),
                                    st.text(max_size=4)), max_size=30))
    return "".join(parts).encode("utf-8")


def general(block: bytes) -> tuple[int, int, list[bytes]]:
    return len(safety._CELL_TAG.findall(block)), len(safety._ROW_TAG.findall(block)), safety._CELL_WITH_R.findall(block)


@SETTINGS
@given(block=worksheet_pieces())
@example(block=b'<c r="A1" r="B2"><c r="A2" a="<c r=x>"/><c r="A3" s="1">')
def test_fast_scan_finds_what_the_general_patterns_find(block):
    *found, canonical = safety._cell_and_row_tags(block)
    assert tuple(found) == general(block)
    if canonical:  # then _scan_xml does not look at the references again
        assert safety._CANONICAL_REFS.fullmatch(b"".join(ref + b"\n" for ref in found[2]))


def test_fast_scan_on_a_sheet_as_excel_writes_it():
    block = (b'<sheetData><row r="1" spans="1:8"><c r="A1" s="1" t="s"><v>99</v></c><c r="B1" s="1"/></row>'
             b'<row r="2"><c r="XFD2" t="n"><v>1</v></c></row></sheetData>')
    assert safety._cell_and_row_tags(block) == (3, 2, [b'"A1"', b'"B1"', b'"XFD2"'], True)
    assert safety._cell_and_row_tags(block)[:3] == general(block)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(references=st.lists(st.tuples(st.from_regex(r"[A-Z]{1,3}", fullmatch=True),
                                     st.from_regex(r"[1-9][0-9]{0,6}", fullmatch=True),
                                     st.sampled_from(['"', "'"])), min_size=1, max_size=40))
def test_last_row_and_column_as_the_general_patterns_read_them(references):
    joined = b"".join(f"{quote}{letters}{digits}{quote}\n".encode() for letters, digits, quote in references)
    assert safety._CANONICAL_REFS.fullmatch(joined)
    rows = re.findall(rb"""([0-9]+)["']""", joined)
    columns = re.findall(rb"""["']([A-Z]+)""", joined)
    expected = (max(int(number) for number in rows), max(column_index(letters.decode()) for letters in columns))
    assert safety._last_row_and_column(joined) == expected


@given(name=st.text(alphabet="ab/\\.", max_size=12))
def test_basename_is_what_follows_the_last_separator(name):
    assert safety._basename(name) == re.split(r"[/\\]", name)[-1]


def _with_unit_sheet_tags(tmp_path, name: str, marker: bytes, extra: bytes):
    """A real return with ``extra`` put before ``marker`` in its unit sheet."""
    import hostile

    return hostile.rewrite_zip(hostile.BASE, tmp_path / f"{name}.xlsx",
                               replace={hostile.unit_sheet_part(): lambda xml: hostile.add_before(xml, marker, extra)})


def test_a_long_namespace_prefix_hides_no_declared_size(tmp_path):
    """python-calamine reads ``<p:col>`` as a column whatever the prefix's length: a column or merged range beyond
    the bounds is refused behind a 60-character prefix as it is without one. (A column tag that came before
    every other ``col`` in its piece passed before: the search for such tags started 40 characters before the
    first tag's name.)"""
    import pytest

    from xlperf.framework.limits import Limits

    prefix = b"x" * 60
    cases = {
        "col": (b"<cols>", b'<' + prefix + b':col min="1" max="99999" width="9"/>', "col max"),
        "merge": (b"</sheetData>", b'<' + prefix + b':mergeCells count="1"><' + prefix
                  + b':mergeCell ref="A1:XFD1048576"/></' + prefix + b':mergeCells>', "mergeCell ref"),
    }
    for name, (marker, extra, attribute) in cases.items():
        path = _with_unit_sheet_tags(tmp_path, name, marker, extra)
        with pytest.raises(safety.Refused) as refused:
            safety.inspect(path, Limits())
        assert refused.value.finding(path).code == "READ_DECLARED_SIZE", name
        assert refused.value.finding(path).params["attribute"] == attribute, name
        plain = _with_unit_sheet_tags(tmp_path, f"{name}-plain", marker, extra.replace(prefix + b":", b""))
        with pytest.raises(safety.Refused):
            safety.inspect(plain, Limits())


def test_of_two_bad_row_spans_the_first_written_is_named(tmp_path):
    """Which refusal a file gets does not depend on the process's hash seed."""
    import pytest

    from xlperf.framework.limits import Limits

    rows = b'<row r="40" spans="1:70000"><c r="A40"/></row><row r="41" spans="1:99999"><c r="A41"/></row>'
    path = _with_unit_sheet_tags(tmp_path, "spans", b"</sheetData>", rows)
    with pytest.raises(safety.Refused) as refused:
        safety.inspect(path, Limits())
    assert refused.value.finding(path).params["seen"] == 70000
