"""A return's parser reads the package as the preflight read it (safety.stored_package): every part the preflight
checked, stored uncompressed in memory, so what calamine parses is exactly what was checked and nothing is inflated
twice. Read that way a return gives what reading the file gives; anything the rebuilt package cannot stand for
exactly (a part read in pieces, a repeated name, an OpenDocument file, a summary) is read from the file as before.
"""
from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import hostile
from xlperf.core.errors import UnreadableError
from xlperf.intake import reader, safety

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BOOKS = sorted(SAMPLES.glob("*/*.xlsx"))


def package_of(path: Path) -> bytes | None:
    return reader._preflight_as_claimed(Path(path), None)[2]


def read_as(path: Path, monkeypatch, packaged: bool) -> object:
    """What read_workbook makes of ``path`` (its documents' contents, or the finding it is refused with), the
    parser given the checked package (``packaged``) or the file."""
    with monkeypatch.context() as patch:
        if not packaged:
            patch.setattr(reader, "stored_package", lambda archive, reading: None)
        try:
            documents = reader.read_workbook(path)
        except UnreadableError as error:
            return error.finding.code, error.finding.params
    return [(doc.document, doc.sources, {k: repr(v) for k, v in doc.raw.items()},
             [(f.code, f.location, f.value, f.params) for f in doc.findings]) for doc in documents]


@pytest.fixture(scope="module")
def readable_books(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("readable")
    made = [hostile.macro_enabled(folder), hostile.external_links(folder), hostile.content_nasties(folder),
            hostile.formula_injection(folder)]
    return BOOKS + made


def test_the_package_holds_every_part_as_the_file_does():
    for path in BOOKS:
        package = package_of(path)
        assert package is not None, path
        with zipfile.ZipFile(path) as original, zipfile.ZipFile(io.BytesIO(package)) as rebuilt:
            assert [i.filename for i in rebuilt.infolist()] == [i.filename for i in original.infolist()]
            assert all(i.compress_type == zipfile.ZIP_STORED for i in rebuilt.infolist())
            assert rebuilt.testzip() is None  # every CRC as stated
            for info in original.infolist():
                assert rebuilt.read(info.filename) == original.read(info), (path, info.filename)


def test_calamine_reads_the_package_as_it_reads_the_file():
    for path in BOOKS:
        from_file = CalamineWorkbook.from_path(str(path))
        from_package = reader._open(path, package_of(path))
        assert from_package.sheet_names == from_file.sheet_names
        for name in from_file.sheet_names:
            assert from_package.get_sheet_by_name(name).to_python(skip_empty_area=False) \
                == from_file.get_sheet_by_name(name).to_python(skip_empty_area=False), (path, name)


def test_a_return_read_from_its_package_is_read_as_from_its_file(readable_books, monkeypatch):
    for path in readable_books:
        assert package_of(path) is not None, path
        assert read_as(path, monkeypatch, packaged=True) == read_as(path, monkeypatch, packaged=False), path


def test_the_parser_reads_the_bytes_that_were_checked(tmp_path, monkeypatch):
    """The file replaced between the preflight and the parser (a unit saving over it, a hostile swap): what is
    read is what was checked, not what the file holds by then."""
    checked, other = tmp_path / "return.xlsx", SAMPLES / "returns" / "471001_遵化市工业和信息化局本级.xlsx"
    shutil.copy(hostile.BASE, checked)
    real_package = reader.stored_package

    def package_then_swap(archive, reading):
        package = real_package(archive, reading)
        os.replace(shutil.copy(other, tmp_path / "swap.xlsx"), checked)
        return package
    monkeypatch.setattr(reader, "stored_package", package_then_swap)
    document = reader.read_return(checked)
    assert document.document["unit"]["name"] == "遵化市无线电监测站"  # BASE's, not the swapped-in file's
    assert reader.read_return(checked).document["unit"]["name"] == "遵化市工业和信息化局本级"


def test_a_part_read_in_pieces_or_a_name_given_twice_leaves_the_file_to_the_parser(tmp_path, monkeypatch):
    big = hostile.rewrite_zip(hostile.BASE, tmp_path / "big_picture.xlsx",
                              add={"xl/media/image1.png": os.urandom(safety._CHUNK + 1)})
    assert package_of(big) is None  # the picture is read in two chunks
    twice = tmp_path / "twice.xlsx"
    shutil.copy(hostile.BASE, twice)
    with zipfile.ZipFile(twice, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("docProps/app.xml", b"<Properties/>")
    assert package_of(twice) is None
    for path in (big, twice):
        assert read_as(path, monkeypatch, packaged=True) == read_as(path, monkeypatch, packaged=False), path
    assert read_as(big, monkeypatch, packaged=True)[0][0]["unit"]["name"] == "遵化市无线电监测站"


def test_a_part_named_beyond_ascii_keeps_its_name_in_the_package(tmp_path, monkeypatch):
    path = hostile.rewrite_zip(hostile.BASE, tmp_path / "with_picture.xlsx", add={"xl/media/单位图片.png": b"\x89PNG"})
    package = package_of(path)
    with zipfile.ZipFile(io.BytesIO(package)) as rebuilt:
        assert "xl/media/单位图片.png" in rebuilt.namelist()
        assert rebuilt.read("xl/media/单位图片.png") == b"\x89PNG"
    assert read_as(path, monkeypatch, packaged=True) == read_as(path, monkeypatch, packaged=False)


def test_reading_stops_keeping_parts_at_the_first_read_in_pieces():
    reading = safety.Reading(keep=True)
    first, second = zipfile.ZipInfo("a.xml"), zipfile.ZipInfo("b.xml")
    reading.keep(first, 1, b"<a/>")
    assert reading.parts == {first: b"<a/>"}
    reading.keep(second, 2, b"tail")
    assert reading.parts is None
    reading.keep(first, 1, b"<a/>")
    assert reading.parts is None
    assert safety.Reading().parts is None  # nothing kept unless asked


def test_summaries_and_opendocument_files_are_read_from_the_file(tmp_path):
    from xlperf.consolidate.merge import merge_returns
    from xlperf.writers.summary import write_summary

    summary = tmp_path / "summary.xlsx"
    write_summary(merge_returns([SAMPLES / "returns"]), summary)
    assert reader._preflight_as_claimed(summary, None)[0] is True
    assert package_of(summary) is None
    ods = tmp_path / "sheet.ods"  # calamine reads an .ods file as OpenDocument, bytes as what they look like
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", ODS_CONTENT)
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    assert reader._preflight_as_claimed(ods, None) == (False, [], None)
    assert CalamineWorkbook.from_path(str(ods)).get_sheet_by_name("Sheet1").to_python() == [["预算"]]


ODS_MANIFEST = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
    '<office:spreadsheet><table:table table:name="Sheet1"><table:table-row><table:table-cell '
    'office:value-type="string"><text:p>预算</text:p></table:table-cell></table:table-row></table:table>'
    '</office:spreadsheet></office:body></office:document-content>')


@pytest.mark.parametrize("damage", ["workbook.xml cut short", "relationships missing"])
def test_a_package_calamine_cannot_open_is_refused_as_the_file_is(tmp_path, monkeypatch, damage):
    """From bytes calamine says only that it cannot tell the format; the same bytes as a file say what is wrong."""
    change = {"workbook.xml cut short": {"replace": {"xl/workbook.xml": lambda data: data[:len(data) // 2]}},
              "relationships missing": {"drop": ("xl/_rels/workbook.xml.rels",)}}
    path = hostile.rewrite_zip(hostile.BASE, tmp_path / "damaged.xlsx", **change[damage])
    assert package_of(path) is not None  # the preflight passes it: the damage is calamine's to find
    packaged = read_as(path, monkeypatch, packaged=True)
    assert packaged == read_as(path, monkeypatch, packaged=False)
    assert packaged[0] in ("READ_NOT_WORKBOOK", "READ_DAMAGED")
    assert "Cannot detect file format" not in str(packaged[1])
