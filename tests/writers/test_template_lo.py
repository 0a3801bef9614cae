"""The templates in LibreOffice: conversion, what survives its import/export, and typing into them like a person.

These tests need LibreOffice (``soffice``), python3-uno and poppler-utils; CI installs them. Without them the tests
fail (never skip) with a message saying what to install. Every LibreOffice run is a separate headless soffice with
a private profile (see ``lo.py``); converted files are made once per module.

Known LibreOffice limitation (checked with a minimal openpyxl workbook too): LibreOffice 7.4 does
not import ``<workbookProtection lockStructure="1"/>`` from .xlsx (``document.isProtected()`` is False after
loading, with or without ``workbookPassword``), and its .xlsx export of a structure-protected document writes only
``<workbookProtection lockWindows="false"/>``. The template cannot fix that, so the structure-protection tests
demand preservation exactly when LibreOffice preserves it for a minimal openpyxl workbook.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree

import lo
from xlperf.framework.frameworks import load_framework
from xlperf.framework.spec import load_spec, project_layout
from xlperf.writers.sendout import make_templates

ROOT = Path(__file__).resolve().parents[2]
UNIT = "471001"
SHEET = "工信局购置公务用车"
CODE = "13028122P00306010001X"
OTHER_SHEET = "科技发展工作经费"

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
}
T = "{%s}" % NS["table"]
S = "{%s}" % NS["style"]

LEVEL1_CONDITION = "of:cell-content-is-in-list(xl_l1)"
PERCENT_CONDITION = "of:cell-content-is-decimal-number() and cell-content-is-between(0,1)"

# What is typed into the seed unit's first project sheet, in this order.
TYPED = [
    (SHEET, "B7", "30%"),
    (SHEET, "C7", "60%"),
    (SHEET, "D7", "150%"),        # outside 0%..100%: refused by the validation
    (SHEET, "D7", "90%"),
    (SHEET, "E7", "100%"),
    (SHEET, "F11", "100%"),       # 指标值 is a text cell: stays the string "100%"
    (SHEET, "D11", "0015"),       # text cell: leading zeros kept
    (SHEET, "B11", "产出指标"),
    (SHEET, "C11", "社会效益指标"),  # a 二级 of 效益指标, not of this row's 产出指标: refused
    (SHEET, "C11", "数量指标"),
    (SHEET, "A3", "X"),           # a locked label
    (SHEET, "C4", "99"),          # prefilled money from the project list: locked
]
WATCH = [(SHEET, "B9"), ("填报说明", "B7"), (SHEET, "H11")]


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"`{program}` is required by these tests; install poppler-utils (apt-get install poppler-utils)",
                    pytrace=False)
    return path


def by_key(entries: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(entry["sheet"], entry["cell"], entry["text"]): entry for entry in entries}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def office() -> str:
    if not lo.soffice_available():
        pytest.fail(lo.MISSING, pytrace=False)
    if lo.uno_python() is None:
        pytest.fail("LibreOffice's Python bridge is required: apt-get install python3-uno "
                    "(or set XLPERF_UNO_PYTHON to a python that can `import uno`)", pytrace=False)
    return lo.soffice_path()


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict:
    outdir = tmp_path_factory.mktemp("lo-templates")
    result = make_templates(ROOT / "samples" / "projects.csv", outdir, year=2022, framework="cn-2020")
    return {"manifest": result.manifest,
            **{unit["unit_code"]: outdir / unit["file"] for unit in result.manifest["units"]}}


@pytest.fixture(scope="module")
def template(templates) -> Path:
    return templates[UNIT]


@pytest.fixture(scope="module")
def project_sheets(templates) -> list[str]:
    unit = next(unit for unit in templates["manifest"]["units"] if unit["unit_code"] == UNIT)
    return [project["sheet"] for project in unit["projects"]]


@pytest.fixture(scope="module")
def framework():
    return load_framework("cn-2020")


@pytest.fixture(scope="module")
def converted(office, template, tmp_path_factory) -> dict:
    """The seed template converted by LibreOffice once: ods, pdf, xlsx (re-saved) and csv (every sheet)."""
    outdir = tmp_path_factory.mktemp("lo-converted")
    return {
        "ods": lo.convert(template, "ods", outdir / "ods"),
        "pdf": lo.convert(template, "pdf", outdir / "pdf"),
        "xlsx": lo.convert(template, "xlsx", outdir / "xlsx"),
        "csv": lo.convert_csv(template, outdir / "csv"),
    }


@pytest.fixture(scope="module")
def ods_content(converted):
    with zipfile.ZipFile(converted["ods"]) as archive:
        return ElementTree.fromstring(archive.read("content.xml"))




@pytest.fixture(scope="module")
def typed(office, template, tmp_path_factory) -> dict:
    """TYPED typed into the seed template through LibreOffice's cell cursor, then saved as xlsx."""
    folder = tmp_path_factory.mktemp("lo-typed")
    result = lo.type_into(template, TYPED, folder / "typed.xlsx", watch=WATCH)
    result["entries_by_key"] = by_key(result["entries"])
    return result


# ---------------------------------------------------------------- ODS helpers


def ods_table(root, name: str):
    for table in root.iter(f"{T}table"):
        if table.get(f"{T}name") == name:
            return table
    raise AssertionError(f"no table {name!r} in content.xml")


def ods_cells(table, max_row: int = 40, max_column: int = 12) -> dict[tuple[int, int], object]:
    """(row, column) → cell element, both 1-based, expanding repeated rows and cells (header rows included)."""
    cells: dict[tuple[int, int], object] = {}
    row = 0
    for row_element in table.iter(f"{T}table-row"):
        for _ in range(min(int(row_element.get(f"{T}number-rows-repeated", "1")), max_row)):
            row += 1
            if row > max_row:
                return cells
            column = 0
            for cell in row_element:
                if cell.tag not in (f"{T}table-cell", f"{T}covered-table-cell"):
                    continue
                for _ in range(min(int(cell.get(f"{T}number-columns-repeated", "1")), max_column)):
                    column += 1
                    if column <= max_column:
                        cells[(row, column)] = cell
    return cells


def cell_text(cell) -> str:
    return "\n".join("".join(p.itertext()) for p in cell.findall("text:p", NS))


def automatic_styles(root) -> dict[str, object]:
    return {style.get(f"{S}name"): style for style in root.find("office:automatic-styles", NS)}


def column_number(letter: str) -> int:
    return ord(letter) - ord("A") + 1


# ---------------------------------------------------------------- conversion, PDF


def test_pdf_has_every_visible_sheet_and_the_project(converted, project_sheets, tmp_path):
    pdf = converted["pdf"]
    info = subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    pages = int(next(line.split(":", 1)[1] for line in info.stdout.splitlines() if line.startswith("Pages:")))
    visible_sheets = 2 + len(project_sheets)  # 填报说明, 单位整体, one per project; _lists and _meta are hidden
    assert pages >= visible_sheets

    text = subprocess.run([need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert SHEET in text
    assert CODE in text
    assert "单位：万元" in text and "本表待修正问题" in text
    for name in project_sheets:
        assert f"{name}绩效目标表" in text.replace("\n", "").replace(" ", "")
    assert "xlperf-meta" not in text  # the very hidden metadata sheet is not printed

    subprocess.run([need("pdftoppm"), "-png", "-r", "40", str(pdf), str(tmp_path / "page")], timeout=120,
                   check=True, capture_output=True)
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == pages
    assert all(image.stat().st_size > 1000 for image in images)


def test_csv_exports_every_sheet_with_libreoffice_results(converted, template, project_sheets):
    """LibreOffice recalculates every formula on load (profile setting): its results equal the cached ones."""
    sheets = converted["csv"]
    assert list(sheets) == ["填报说明", "单位整体", *project_sheets, "_lists", "_meta"]

    def rows(name: str) -> list[list[str]]:
        with open(sheets[name], encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))

    cached = openpyxl.load_workbook(template, data_only=True)
    for name in project_sheets:
        grid = rows(name)
        assert grid[2][1] == cached[name]["B3"].value  # project code: text, not a number
        assert grid[8][0] == "本表待修正问题"
        assert grid[8][1] == str(cached[name]["B9"].value), name  # problem counter: no error, same count
        assert [row[7] for row in grid[10:30]] == ["0"] * 20  # hidden per-row check column H
    assert rows(SHEET)[8][1] == "6"  # 资金用途 prefilled: goals + 4 plan cells + empty indicator table
    assert rows("单位整体")[6][1] == str(cached["单位整体"]["B7"].value) == "2"
    assert rows("填报说明")[6] == ["全部待修正问题", str(cached["填报说明"]["B7"].value)]


# ---------------------------------------------------------------- ODS


def test_ods_sheets_are_protected_and_lists_hidden(ods_content, project_sheets):
    styles = automatic_styles(ods_content)
    for name in ["填报说明", "单位整体", *project_sheets, "_lists", "_meta"]:
        table = ods_table(ods_content, name)
        assert table.get(f"{T}protected") == "true", name
        properties = styles[table.get(f"{T}style-name")].find("style:table-properties", NS)
        shown = properties.get(f"{T}display", "true")
        assert shown == ("false" if name in ("_lists", "_meta") else "true"), name


def test_ods_input_cells_unlocked_labels_locked_text_format_kept(ods_content):
    styles = automatic_styles(ods_content)
    text_styles = {style.get(f"{S}name") for style in ods_content.iter("{%s}text-style" % NS["number"])}
    cells = ods_cells(ods_table(ods_content, SHEET))

    def protection(address: str) -> str:
        cell = cells[(int(address[1:]), column_number(address[0]))]
        properties = styles[cell.get(f"{T}style-name")].find("style:table-cell-properties", NS)
        return properties.get(f"{S}cell-protect", "protected") if properties is not None else "protected"

    for address in ("B7", "C7", "D7", "E7", "B8", "B11", "C11", "F11", "G30"):
        assert protection(address) == "none", address
    for address in ("A3", "B3", "C4", "E4", "C5", "B9", "B10"):
        assert protection(address) != "none", address
    for address in ("B11", "D11", "F11"):  # '@': what is typed stays text
        cell = cells[(int(address[1:]), column_number(address[0]))]
        assert styles[cell.get(f"{T}style-name")].get(f"{S}data-style-name") in text_styles, address
    assert cell_text(cells[(3, 2)]) == CODE


def test_ods_keeps_the_validations(ods_content, project_sheets):
    validations = {element.get(f"{T}name"): element
                   for element in ods_content.iter(f"{T}content-validation")}
    assert validations

    def stop_validation(cell):
        name = cell.get(f"{T}content-validation-name")
        assert name in validations
        validation = validations[name]
        error = validation.find("table:error-message", NS)
        assert error is not None and error.get(f"{T}message-type") == "stop" and error.get(f"{T}display") == "true"
        assert validation.get(f"{T}allow-empty-cell") == "true"
        return validation.get(f"{T}condition")

    columns = project_layout(load_spec())["indicators"]["columns"]
    level1, level2, name_column = (column_number(columns[key]) for key in ("level1", "level2", "name"))
    for name in project_sheets:
        cells = ods_cells(ods_table(ods_content, name))
        for column in "BCDE":
            assert stop_validation(cells[(7, column_number(column))]) == PERCENT_CONDITION, (name, column)
        for row in range(11, 31):
            assert stop_validation(cells[(row, level1)]) == LEVEL1_CONDITION, (name, row)
            condition = stop_validation(cells[(row, level2)])
            # relative to each row: row 11's formula refers to $B11 (LibreOffice keeps the base row 11)
            assert condition == 'of:cell-content-is-in-list(INDIRECT("xl_l2_"&MATCH([.$B11];xl_l1;0)))', (name, row)
            # 三级指标 may offer suggestions, but free text must stay accepted: no Stop error on its column
            suggestion = validations.get(cells[(row, name_column)].get(f"{T}content-validation-name"))
            if suggestion is not None:
                error = suggestion.find("table:error-message", NS)
                assert error is None or error.get(f"{T}display") != "true" or \
                    error.get(f"{T}message-type") != "stop" or not suggestion.get(f"{T}condition"), (name, row)


def test_ods_keeps_the_named_lists(ods_content, framework):
    ranges = {element.get(f"{T}name"): element.get(f"{T}cell-range-address")
              for element in ods_content.iter(f"{T}named-range")}
    level1 = framework.level1_names
    assert ranges["xl_l1"] == f"$_lists.$A$2:.$A${len(level1) + 1}"
    for index, names in enumerate(framework.categories.values(), start=1):
        column = chr(ord("A") + index)
        assert ranges[f"xl_l2_{index}"] == f"$_lists.${column}$2:.${column}${len(names) + 1}"
    assert f"xl_l2_{len(level1) + 1}" not in ranges

    cells = ods_cells(ods_table(ods_content, "_lists"))
    assert [cell_text(cells[(row, 1)]) for row in range(2, len(level1) + 2)] == list(level1)
    assert "产出指标" in level1 and "效益指标" in level1
    for index, (name, names) in enumerate(framework.categories.items(), start=2):
        assert cell_text(cells[(1, index)]) == name
        assert [cell_text(cells[(row, index)]) for row in range(2, len(names) + 2)] == list(names)


def test_structure_lock_is_in_the_template(template):
    # The template locks the structure (what Excel and WPS enforce). LibreOffice 7.4 drops workbook
    # structure protection on load (see the module docstring), so a LibreOffice-saved return has lost
    # it: the reader never relies on it, and annotated copies are rebuilt with it.
    with zipfile.ZipFile(template) as archive:
        assert b'<workbookProtection lockStructure="1"/>' in archive.read("xl/workbook.xml")
    assert openpyxl.load_workbook(template).security.lockStructure


# ---------------------------------------------------------------- LibreOffice's own xlsx


def test_libreoffice_resaved_xlsx_keeps_protection_and_validations(converted, project_sheets):
    workbook = openpyxl.load_workbook(converted["xlsx"])
    assert set(workbook.defined_names) >= {"xl_l1", "xl_l2_1", "xl_l2_2", "xl_l2_3"}
    assert workbook["_lists"].sheet_state == "hidden"
    assert workbook["_meta"].sheet_state in ("hidden", "veryHidden")  # LibreOffice has no "very hidden"
    for name in ["填报说明", "单位整体", *project_sheets]:
        assert workbook[name].protection.sheet, name
    for name in project_sheets:
        sheet = workbook[name]
        validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
        percent = validations["B7:E7"]
        assert (percent.type, percent.operator, percent.formula1, percent.formula2) == ("decimal", "between", "0", "1")
        assert validations["B11:B30"].type == "list" and validations["B11:B30"].formula1 == "xl_l1"
        assert validations["C11:C30"].type == "list"
        assert validations["C11:C30"].formula1 == 'INDIRECT("xl_l2_"&MATCH($B11,xl_l1,0))'
        for validation in (percent, validations["B11:B30"], validations["C11:C30"]):
            assert validation.showErrorMessage and validation.errorStyle in (None, "stop")
        assert not sheet["B7"].protection.locked and not sheet["F11"].protection.locked
        assert sheet["A3"].protection.locked and sheet["C4"].protection.locked
        assert sheet["F11"].number_format == "@" and sheet["B7"].number_format == "0%"
        assert str(sheet["B9"].value).startswith("=IF(AND(COUNT(C4,E4)=2")


# ---------------------------------------------------------------- typing like a person


def test_typing_percentages_into_the_spending_plan(typed):
    entries = typed["entries_by_key"]
    for cell, text, value in (("B7", "30%", 0.3), ("C7", "60%", 0.6), ("D7", "90%", 0.9), ("E7", "100%", 1.0)):
        entry = entries[(SHEET, cell, text)]
        assert entry["accepted"], entry
        assert entry["after"]["type"] == "value"
        assert entry["after"]["value"] == pytest.approx(value)
        assert entry["after"]["number_format"] == "0%"


def test_typing_outside_the_percent_range_is_refused(typed):
    entry = typed["entries_by_key"][(SHEET, "D7", "150%")]
    assert entry["locked"] is False
    assert entry["accepted"] is False and entry["reason"] == "validation"
    assert entry["refused_content"]["value"] == pytest.approx(1.5)  # what LibreOffice would have stored
    assert entry["after"]["type"] == "empty"  # the cell stays empty, as after the Stop box in a GUI


def test_typing_into_text_cells_keeps_the_text(typed):
    entries = typed["entries_by_key"]
    target = entries[(SHEET, "F11", "100%")]
    assert target["accepted"]
    assert (target["after"]["type"], target["after"]["string"]) == ("text", "100%")  # not the number 1
    assert target["after"]["number_format"] == "@"
    code = entries[(SHEET, "D11", "0015")]
    assert code["accepted"] and (code["after"]["type"], code["after"]["string"]) == ("text", "0015")


def test_typing_the_indicator_levels_follows_the_lists(typed):
    entries = typed["entries_by_key"]
    assert entries[(SHEET, "B11", "产出指标")]["accepted"]
    wrong_level = entries[(SHEET, "C11", "社会效益指标")]
    assert not wrong_level["accepted"] and wrong_level["reason"] == "validation"
    right_level = entries[(SHEET, "C11", "数量指标")]
    assert right_level["accepted"] and right_level["after"]["string"] == "数量指标"


def test_typing_into_locked_cells_is_refused(typed):
    entries = typed["entries_by_key"]
    label = entries[(SHEET, "A3", "X")]
    assert label["locked"] and not label["accepted"] and label["reason"] == "protected"
    assert label["after"]["string"] == "项目编码"
    money = entries[(SHEET, "C4", "99")]
    assert money["locked"] and not money["accepted"]
    assert money["after"]["value"] == pytest.approx(10.96)
    assert typed["cells_after"][f"{SHEET}!A3"]["string"] == "项目编码"


def test_libreoffice_sees_the_protection_and_names(typed):
    sheets = {sheet["name"]: sheet for sheet in typed["sheets"]}
    assert all(sheet["protected"] for sheet in sheets.values())
    assert not sheets["_lists"]["visible"] and not sheets["_meta"]["visible"] and sheets[SHEET]["visible"]
    assert set(typed["named_ranges"]) >= {"xl_l1", "xl_l2_1", "xl_l2_2", "xl_l2_3"}


def test_problem_counter_recalculates_while_typing(typed):
    counter, total, check = f"{SHEET}!B9", "填报说明!B7", f"{SHEET}!H11"
    assert typed["watch_before"][counter]["value"] == 6
    assert typed["watch_before"][total]["value"] == 26
    counts = [entry["watch"][counter]["value"] for entry in typed["entries"]]
    # B7, C7 fill two blanks; 150% is refused (no change); D7, E7 fill the last two: 6 - 4 = 2. Row 11 then
    # becomes partly filled (+1) while the table is no longer empty (-1); a refused entry changes nothing.
    assert counts == [5, 4, 4, 3, 2, 2, 2, 2, 2, 2, 2, 2]
    assert typed["entries"][5]["watch"][check]["value"] == 1  # F11 alone: a partly filled row
    for stage in ("watch_after", "watch_after_hard_recalc"):
        assert typed[stage][counter]["value"] == 2 and typed[stage][counter]["error"] == 0
        assert typed[stage][total]["value"] == 22
        assert typed[stage][check]["value"] == 1


def test_typed_workbook_saved_as_xlsx_reads_back_the_same(typed):
    path = Path(typed["saved"])
    sheet = openpyxl.load_workbook(path)[SHEET]
    cached = openpyxl.load_workbook(path, data_only=True)[SHEET]
    after = typed["cells_after"]
    for cell in sorted({entry[1] for entry in TYPED}):
        state = after[f"{SHEET}!{cell}"]
        value = sheet[cell].value
        if state["type"] == "value":
            assert value == pytest.approx(state["value"]), cell
        elif state["type"] == "text":
            assert value == state["string"], cell
        else:
            assert value is None, cell
    assert sheet["B7"].value == pytest.approx(0.3) and sheet["E7"].value == 1
    assert sheet["F11"].value == "100%" and sheet["F11"].data_type == "s"
    assert sheet["D11"].value == "0015" and sheet["B11"].value == "产出指标" and sheet["C11"].value == "数量指标"
    assert sheet["A3"].value == "项目编码" and sheet["C4"].value == pytest.approx(10.96)
    assert cached["B9"].value == 2
    assert sheet.protection.sheet and not sheet["B7"].protection.locked


def test_validations_still_work_in_the_converted_ods(converted, tmp_path):
    """The .ods LibreOffice wrote shares one validation between sheets; each sheet's rows must still use their own A."""
    entries = [
        (SHEET, "D7", "150%"),
        (SHEET, "B12", "效益指标"),
        (SHEET, "C12", "数量指标"),
        (SHEET, "C12", "社会效益指标"),
        (SHEET, "D12", "自拟的三级指标"),  # free text in 三级指标 (suggestion list, if any, must not refuse it)
        (OTHER_SHEET, "C11", "服务对象满意度指标"),  # no 一级 in B11 yet: no list to choose from
        (OTHER_SHEET, "B11", "满意度指标"),
        (OTHER_SHEET, "C11", "服务对象满意度指标"),
        (OTHER_SHEET, "A3", "X"),
    ]
    # type_locked: the one locked cell (A3) is really typed into, so LibreOffice itself has to refuse it
    result = lo.type_into(converted["ods"], entries, tmp_path / "typed.ods", watch=[(OTHER_SHEET, "B9")],
                          type_locked=True)
    accepted = [entry["accepted"] for entry in result["entries"]]
    assert accepted == [False, True, False, True, True, False, True, True, False]
    assert [entry["reason"] for entry in result["entries"] if not entry["accepted"]] == \
        ["validation", "validation", "validation", "protected"]
    label = result["entries"][-1]
    assert label["locked"] and label["typed"] and label["after"]["string"] == "项目编码"
    counter = f"{OTHER_SHEET}!B9"
    # goals, four plan cells, empty table; then row 11 complete in A and B only: +1 partial row, -1 empty table
    assert result["watch_before"][counter]["value"] == 6
    assert result["watch_after"][counter]["value"] == result["watch_after_hard_recalc"][counter]["value"] == 6
    assert (tmp_path / "typed.ods").stat().st_size > 0
