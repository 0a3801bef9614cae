"""Consolidation → 部门预算绩效文本: the department's yearly performance text as .docx (and, via LibreOffice, .pdf).

The layout follows the published text the seed comes from (``tests/data/seed_department.json``): a cover, a
table-of-contents field, 第一部分 部门整体绩效目标 (overall goal; per project its purpose, goals and a few
indicators as sentences; the measures) and 第二部分 预算项目绩效目标 (one 绩效目标表 per project: the project
block, then the indicator table whose 一级指标 cells are merged over their rows and whose header row repeats
on every page).

Everything a unit typed is written as plain text runs, so ``=HYPERLINK(...)`` or ``{PAGE}`` stays literal text;
characters XML 1.0 cannot hold are dropped. The same inputs give the same bytes: fixed core-property dates
(the newest input's save time), no generated ids, fixed zip timestamps.
"""
from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor, Twips
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ..core.errors import LibreOfficeMissing, ReportError, ReturnsRefused  # noqa: F401 (raised here)
from ..consolidate.consolidation import own_department
from ..core import exitcodes, office
from ..core.fields import label
from ..core.messages import say
from ..framework.targets import format_number, parse_target

__all__ = ["build_report", "write_report", "convert_to_pdf", "ReportResult", "ReportError", "ReturnsRefused",
           "LibreOfficeMissing"]

# A4 portrait, 2.54 cm top/bottom and 3.17 cm left/right margins (Word's Chinese default), in twips.
PAGE_WIDTH, PAGE_HEIGHT = 11906, 16838
MARGIN_TOP_BOTTOM, MARGIN_LEFT_RIGHT = 1440, 1797
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN_LEFT_RIGHT  # 8312

LATIN_FONT = "Times New Roman"
BODY_FONT, TABLE_FONT, HEADING_FONT, SUBHEADING_FONT = "仿宋", "宋体", "黑体", "楷体"
BODY_SIZE, TABLE_SIZE = Pt(14), Pt(10.5)  # 四号 body, 五号 tables
TABLE_STYLE = "表格文字"

# The project block's columns (twips): a label column, then cells whose edges line up row to row.
LABEL_WIDTH = 1247
CODE_ROW = (3150, 1100)                     # project code (21 characters), 项目名称; the name takes the rest
AMOUNT_ROW = (850, 1150, 1650, 1150, 1050)  # 预算数, amount, 其中：财政资金, amount, 其他资金; amount takes the rest
# 五号 is 210 twips a character and a cell's margins take 170: 一级 fits 满意度指标, 二级/三级 six characters
# (经济效益指标), 指标值 10.96万元 (with the space LibreOffice and Word put between digits and CJK) and
# 依据 five a line, so no label or short value breaks mid-word
INDICATOR_WIDTHS = (1230, 1440, 1230, 1932, 1250, 1230)
# amounts too wide for AMOUNT_ROW (123456.78 and more): the labels in two short lines, the amounts the rest
COMPACT_AMOUNT_LABELS = (850, 1050, 800)  # 预算数, 其中：/财政资金, 其他/资金
DIGIT_TWIPS, CELL_MARGIN_TWIPS = 140, 230  # a digit of 五号 in the widest fallback face; margins and slack
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"

LABELS = {
    "cover": "{year}年部门预算绩效文本",
    "made_by": "{name}编制",
    "reviewed_by": "{name}审核",
    "toc_title": "目    录",
    "toc_placeholder": "右键更新目录",
    "part1": "第一部分 部门整体绩效目标",  # in the contents; on its page as the two lines below
    "part1_lines": ("第一部分", "{year}年部门整体绩效目标"),
    "part2_lines": ("第二部分", "预算项目绩效目标"),
    "overall": "一、总体绩效目标",
    "sub_goals": "二、分项绩效目标",
    "measures": "三、工作保障措施",
    "goals": "绩效目标：",
    "indicators": "绩效指标：",
    "part2": "第二部分 预算项目绩效目标",
    "table_title": "{number}.{name}绩效目标表",
    "money_unit": "单位：万元",
    "project_code": label("project_code"),
    "project_name": label("project_name"),
    "budget": "预算规模及资金用途",
    "budget_total": label("budget_total"),
    "fiscal": "其中：" + label("fiscal"),
    "other": label("other"),
    "plan": ["资金支出", "计划（%）"],  # broken where the words part, not where the cell ends
    "goal_row": label("goals"),
    "indicator_header": (*map(label, ("level1", "level2", "name", "description", "target")), ["指标值", "确定依据"]),
}


@dataclass
class ReportResult:
    """What ``write_report`` wrote."""

    output: Path
    pdf: Path | None
    units: list[tuple[str, str]]  # (unit code, unit name) in report order
    projects: int
    consolidation: object  # the Consolidation the report was made from (input states for the CLI)
    notes: list[str] = field(default_factory=list)
    lang: str = "zh"
    exit_code: int = 0  # 1 when a reported return has errors (kept by include_invalid), as for merge

    def message(self) -> str:
        lines = [say("written", self.lang, output=self.output, units=len(self.units), projects=self.projects)]
        if self.pdf:
            lines.append(say("written_pdf", self.lang, pdf=self.pdf))
        return "\n".join(lines + self.notes)


# --------------------------------------------------------------------------------------------- text helpers

# XML 1.0 cannot hold C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: object) -> str:
    """Unit text as it may go into the document: a string, XML-safe, CR/CRLF as LF, stripped."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _NOT_XML.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _line(value: object) -> str:
    """One line of unit text (names, codes, headings): tabs and newlines become spaces."""
    return re.sub(r"[\t\n]+", " ", _clean(value))


def _lines(value: object) -> list[str]:
    """Multi-line unit text as its non-empty lines."""
    return [line.strip() for line in _clean(value).split("\n") if line.strip()]


def _sentence(text: str) -> str:
    text = text.rstrip("，,;；、 ")
    return text if not text or text[-1] in "。！？.!?" else text + "。"


def _money(value: object, *, blank_zero: bool = False) -> str:
    """万元 with two decimals (10.96, 11.00); blank for None (and for 0 when ``blank_zero``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if blank_zero and value == 0:
            return ""
        return f"{float(value):.2f}"
    return _line(value)


def _percent(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{format_number(float(value))}%"
    return _line(value)


_DIGITS = "零一二三四五六七八九"


def chinese_number(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for （一）-style headings); 100 and up stay Arabic."""
    if number < 10:
        return _DIGITS[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")
    return str(number)


def _satisfaction_sentence(indicator: dict) -> str:
    """``服务对象满意度指标`` + ``≥90%`` → ``服务对象满意度指标达到90%以上``."""
    subject = _line(indicator.get("level2")) or _line(indicator.get("name"))
    raw = _line(indicator.get("target"))
    target = parse_target(raw) if raw else None
    if target is None or target.kind != "quantitative":
        return f"{subject}：{raw}" if raw else subject
    amount = f"{format_number(target.number)}{target.unit or ''}"
    if target.operator in ("≥", ">"):
        return f"{subject}达到{amount}以上"
    if target.operator in ("≤", "<"):
        return f"{subject}不超过{amount}"
    return f"{subject}达到{amount}"


def indicator_sentences(indicators: list[dict]) -> str:
    """The 绩效指标 sentence of part 1: each 一级's first indicator description, and the 满意度 target."""
    first: dict[str, dict] = {}
    for indicator in indicators:
        first.setdefault(_line(indicator.get("level1")), indicator)
    sentences = []
    for level1, indicator in first.items():
        if "满意" in level1:
            sentences.append(_satisfaction_sentence(indicator))
        else:
            sentences.append(_line(indicator.get("description")) or _line(indicator.get("name")))
    return "".join(_sentence(text) for text in sentences if text)


# --------------------------------------------------------------------------------------------- styles

def _set_fonts(rpr, east_asia: str) -> None:
    """Explicit Latin and East Asian fonts; theme fonts are dropped, since they would win over these."""
    fonts = rpr.get_or_add_rFonts()
    for key in list(fonts.attrib):
        del fonts.attrib[key]
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)


def _setup_styles(document) -> None:
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    default_rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(default_rpr, BODY_FONT)
    language = default_rpr.find(qn("w:lang"))
    language.set(qn("w:val"), "en-US")
    language.set(qn("w:eastAsia"), "zh-CN")

    normal = styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.font.size = BODY_SIZE
    paragraph = normal.paragraph_format
    paragraph.space_before, paragraph.space_after = Pt(0), Pt(0)
    paragraph.line_spacing_rule, paragraph.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
    paragraph.first_line_indent = Pt(28)  # two characters of 四号
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    for level, (font, size, align) in enumerate(
            [(HEADING_FONT, Pt(18), WD_ALIGN_PARAGRAPH.CENTER), (HEADING_FONT, Pt(16), None),
             (SUBHEADING_FONT, Pt(15), None)], start=1):
        style = styles[f"Heading {level}"]
        rpr = style.element.get_or_add_rPr()
        _set_fonts(rpr, font)
        for color in rpr.findall(qn("w:color")):
            rpr.remove(color)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.size, style.font.bold = size, level != 2
        paragraph = style.paragraph_format
        paragraph.space_before, paragraph.space_after = Pt(12 if level == 1 else 6), Pt(12 if level == 1 else 6)
        paragraph.line_spacing_rule, paragraph.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(30)
        paragraph.keep_with_next = True
        if align is not None:
            paragraph.alignment = align
            paragraph.first_line_indent = Pt(0)

    # Word and LibreOffice fill the contents with the built-in "toc N" styles; without these they would
    # inherit Normal's first-line indent.
    for level in (1, 2, 3):
        toc = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
        toc.base_style, toc.next_paragraph_style = normal, normal
        toc.font.size = Pt(12)
        toc.paragraph_format.line_spacing = Pt(24)
        toc.paragraph_format.first_line_indent = Pt(0)
        toc.paragraph_format.left_indent = Pt(12 * (level - 1))
        toc.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
        toc.paragraph_format.tab_stops.add_tab_stop(Twips(TEXT_WIDTH), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)

    table_text = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table_text.style_id = "TableText"  # an ASCII id; the name stays Chinese
    table_text.base_style = normal
    _set_fonts(table_text.element.get_or_add_rPr(), TABLE_FONT)
    table_text.font.size = TABLE_SIZE
    paragraph = table_text.paragraph_format
    paragraph.first_line_indent = Pt(0)
    paragraph.line_spacing_rule = WD_LINE_SPACING.SINGLE
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _setup_page(section) -> None:
    section.page_width, section.page_height = Twips(PAGE_WIDTH), Twips(PAGE_HEIGHT)
    section.top_margin = section.bottom_margin = Twips(MARGIN_TOP_BOTTOM)
    section.left_margin = section.right_margin = Twips(MARGIN_LEFT_RIGHT)
    section.header_distance = section.footer_distance = Twips(851)  # 1.5 cm


def _field_runs(paragraph, instruction: str, placeholder: str) -> None:
    """A complex field (begin / instrText / separate / cached text / end) that Word/WPS/LibreOffice update."""
    def run_with(element):
        run = paragraph.add_run()
        run._r.append(element)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    paragraph.add_run(placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


# --------------------------------------------------------------------------------------------- tables

@dataclass
class _Box:
    """One table cell to write: its width (twips), its paragraphs, and how it merges."""

    width: int
    paragraphs: list[str]
    align: str = "center"   # center | left
    merge: str | None = None  # None | "restart" | "continue" (vertical merge)
    bold: bool = False


def _box(width: int, text: object = "", **options) -> _Box:
    paragraphs = text if isinstance(text, list) else _lines(text) or [""]
    return _Box(width, paragraphs, **options)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BORDERS = "".join(f'<w:{edge} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                   for edge in ("top", "left", "bottom", "right", "insideH", "insideV"))
_CELL_MARGINS = "".join(f'<w:{edge} w:w="{size}" w:type="dxa"/>'
                        for edge, size in (("top", 28), ("left", 85), ("bottom", 28), ("right", 85)))


def _run_xml(text: str, bold: bool) -> str:
    """One run as python-docx writes it: tabs and line breaks as their own elements."""
    parts = []
    for piece in re.split(r"(\t|\r\n|\n|\r)", text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\n", "\r", "\r\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if piece != piece.strip() else ""
            parts.append(f"<w:t{space}>{xml_escape(piece)}</w:t>")
    return f"<w:r>{'<w:rPr><w:b/></w:rPr>' if bold else ''}{''.join(parts)}</w:r>"


def _table_xml(rows: list[list[_Box]], style: str, header_rows: int, keep_together: bool) -> str:
    """A table as WordprocessingML text: one parse per table instead of a python-docx call per element
    (the report's tables were 9 in 10 of its time, about 100 ms a project). The grid is the union of every
    row's cell edges, so each row lays out its own widths."""
    edges = sorted({sum(box.width for box in row[:i]) for row in rows for i in range(len(row) + 1)})
    position = {edge: index for index, edge in enumerate(edges)}
    widths = [right - left for left, right in zip(edges, edges[1:])]
    keep = "<w:keepNext/>" if keep_together else ""
    out = [f'<w:tbl xmlns:w="{_W}"><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>'
           f"<w:tblBorders>{_BORDERS}</w:tblBorders><w:tblLayout w:type=\"fixed\"/>"
           f'<w:tblCellMar>{_CELL_MARGINS}</w:tblCellMar><w:tblLook w:val="0000"/></w:tblPr><w:tblGrid>',
           *(f'<w:gridCol w:w="{width}"/>' for width in widths), "</w:tblGrid>"]
    for number, row in enumerate(rows):
        out.append(f"<w:tr><w:trPr><w:cantSplit/>{'<w:tblHeader/>' if number < header_rows else ''}</w:trPr>")
        left = 0
        for box in row:
            span = position[left + box.width] - position[left]
            left += box.width
            merge = {"restart": '<w:vMerge w:val="restart"/>', "continue": "<w:vMerge/>"}.get(box.merge or "", "")
            grid_span = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
            out.append(f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{box.width}"/>{grid_span}{merge}'
                       '<w:vAlign w:val="center"/></w:tcPr>')
            if box.merge == "continue":
                out.append(f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr></w:p></w:tc>')
                continue
            align = '<w:jc w:val="left"/>' if box.align == "left" else ""
            for text in box.paragraphs:
                run = _run_xml(text, box.bold) if text else ""
                out.append(f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{keep}{align}</w:pPr>{run}</w:p>')
            out.append("</w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _add_rows(document, rows: list[list[_Box]], *, header_rows: int = 0, keep_together: bool = False) -> Table:
    """The table of ``rows`` appended to the document's body."""
    tbl = parse_xml(_table_xml(rows, _style_id(document, TABLE_STYLE), header_rows, keep_together))
    body = document._body
    body._element._insert_tbl(tbl)
    return Table(tbl, body)


def _edges(widths) -> list[int]:
    return [sum(widths[:i]) for i in range(1, len(widths) + 1)]


def _even_widths(total: int, count: int, *, snap_to: list[int], tolerance: int = 120) -> list[int]:
    """``count`` about equal widths summing to ``total``; an inner edge near one of ``snap_to`` moves onto it,
    so the table grid gets no sliver columns."""
    edges = []
    for number in range(1, count):
        edge = round(total * number / count)
        nearest = min(snap_to, key=lambda other: abs(other - edge), default=edge)
        edges.append(nearest if abs(nearest - edge) <= tolerance else edge)
    edges = [0, *edges, total]
    return [right - left for left, right in zip(edges, edges[1:])]


def amount_row(amounts: list[str], right: int) -> tuple[list[int], list[object]]:
    """The widths of the 预算数 row's six cells (label, amount, ...) and its three labels: AMOUNT_ROW while each
    amount fits on one line there; else the labels in two short lines and the amounts sharing the rest by their
    length, so 123456.78 never breaks between its digits."""
    widths = [*AMOUNT_ROW, right - sum(AMOUNT_ROW)]
    labels: list[object] = [LABELS["budget_total"], LABELS["fiscal"], LABELS["other"]]
    needs = [len(amount) * DIGIT_TWIPS + CELL_MARGIN_TWIPS for amount in amounts]
    if all(need <= width for need, width in zip(needs, widths[1::2])):
        return widths, labels
    room = right - sum(COMPACT_AMOUNT_LABELS)
    shares = [max(need, 1) for need in needs]
    amount_widths = [room * share // sum(shares) for share in shares]
    amount_widths[-1] = room - sum(amount_widths[:-1])
    labels = [LABELS["budget_total"], ["其中：", label("fiscal")], [label("other")[:2], label("other")[2:]]]
    return [width for pair in zip(COMPACT_AMOUNT_LABELS, amount_widths) for width in pair], labels


def _project_block(document, project: dict, milestones: list[str]) -> Table:
    """项目编码 … 绩效目标: the upper table of a 绩效目标表."""
    right = TEXT_WIDTH - LABEL_WIDTH
    name_width = right - sum(CODE_ROW)
    amounts = [_money(project.get("budget_total")), _money(project.get("fiscal")),
               _money(project.get("other"), blank_zero=True)]
    widths, amount_labels = amount_row(amounts, right)
    plan = project.get("spending_plan") or {}
    labels = list(milestones) + [key for key in plan if key not in milestones]
    plan_widths = _even_widths(right, len(labels), snap_to=[
        *_edges(CODE_ROW), *_edges(widths[:-1])])
    goals = [f"{n}.{goal}" for n, goal in enumerate((_line(g) for g in project.get("goals") or []), start=1) if goal]
    rows = [
        [_box(LABEL_WIDTH, LABELS["project_code"]), _box(CODE_ROW[0], _line(project.get("project_code"))),
         _box(CODE_ROW[1], LABELS["project_name"]), _box(name_width, _line(project.get("project_name")))],
        [_box(LABEL_WIDTH, LABELS["budget"], merge="restart")]
        + [_box(width, text) for width, text in zip(widths, [part for pair in zip(amount_labels, amounts)
                                                               for part in pair])],
        [_box(LABEL_WIDTH, merge="continue"), _box(right, project.get("purpose"), align="left")],
        [_box(LABEL_WIDTH, LABELS["plan"], merge="restart")]
        + [_box(width, label) for width, label in zip(plan_widths, labels)],
        [_box(LABEL_WIDTH, merge="continue")]
        + [_box(width, _percent(plan.get(label))) for width, label in zip(plan_widths, labels)],
        [_box(LABEL_WIDTH, LABELS["goal_row"]), _box(right, goals or [""], align="left")],
    ]
    return _add_rows(document, rows, keep_together=True)


def indicator_widths(targets: list[str]) -> tuple[int, ...]:
    """INDICATOR_WIDTHS, with 指标值 wide enough for the longest number in ``targets`` (＝123456.78万元 would break
    between its digits) and 绩效指标描述 that much narrower."""
    longest = max([len(run) for target in targets for run in re.findall(r"[0-9.,%]+", target)] or [0])
    widths = list(INDICATOR_WIDTHS)
    extra = min(longest * DIGIT_TWIPS + CELL_MARGIN_TWIPS - widths[4], widths[3] - 1200)
    if extra > 0:
        widths[3], widths[4] = widths[3] - extra, widths[4] + extra
    return tuple(widths)


def _indicator_table(document, indicators: list[dict]) -> Table:
    """The indicator table: header repeated on each page, 一级指标 merged over its consecutive rows."""
    widths = indicator_widths([_line(indicator.get("target")) for indicator in indicators])
    rows = [[_box(width, label, bold=True) for width, label in zip(widths, LABELS["indicator_header"])]]
    previous = None
    for indicator in indicators:
        level1 = _line(indicator.get("level1"))
        merge = ("continue" if level1 and level1 == previous else "restart")
        previous = level1
        values = [level1, _line(indicator.get("level2")), _line(indicator.get("name")),
                  indicator.get("description"), _line(indicator.get("target")), indicator.get("basis")]
        rows.append([_box(width, value, merge=merge if column == 0 else None,
                          align="left" if column == 3 else "center")
                     for column, (width, value) in enumerate(zip(widths, values))])
    # a single-row group needs no merge mark at all
    for number, row in enumerate(rows[1:], start=1):
        following = rows[number + 1][0].merge if number + 1 < len(rows) else None
        if row[0].merge == "restart" and following != "continue":
            row[0].merge = None
    return _add_rows(document, rows, header_rows=1)


# --------------------------------------------------------------------------------------------- the document

def _documents(consolidation, unit: str | None) -> list[dict]:
    documents = [item["document"] for item in consolidation.documents]
    if unit is not None:
        known = [str((doc.get("unit") or {}).get("code")) for doc in documents]
        documents = [doc for doc, code in zip(documents, known) if code == str(unit)]
        if not documents:
            raise ReportError(say("no_unit", consolidation.lang, unit=unit, known="、".join(known) or "-"))
    if not documents:
        raise ReportError(say("nothing", consolidation.lang))
    return documents


def _fixed_time(consolidation) -> datetime:
    """The newest input's save time: fixed for the same inputs, unlike the clock."""
    try:
        stamp = datetime.fromisoformat(str(consolidation.data_as_of).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return datetime(2000, 1, 1, tzinfo=timezone.utc)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _paragraph(document, text: str, *, style: str | None = None, align=None, size: Pt | None = None,
               bold: bool = False, font: str | None = None, space_before: Pt | None = None, indent: bool = True):
    paragraph = document.add_paragraph(style=style)
    if align is not None:
        paragraph.alignment = align
    if not indent:
        paragraph.paragraph_format.first_line_indent = Pt(0)
    if space_before is not None:
        paragraph.paragraph_format.space_before = space_before
    if text:
        run = paragraph.add_run(text)
        if bold:
            run.bold = True
        if size is not None:
            run.font.size = size
        if font is not None:
            _set_fonts(run._r.get_or_add_rPr(), font)
    return paragraph


def _cover(document, department: str, year: str, reviewer: str | None) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, department, align=center, size=Pt(26), bold=True, font=HEADING_FONT,
               space_before=Pt(150), indent=False).paragraph_format.line_spacing = Pt(48)
    _paragraph(document, LABELS["cover"].format(year=year), align=center, size=Pt(26), bold=True,
               font=HEADING_FONT, indent=False).paragraph_format.line_spacing = Pt(48)
    _paragraph(document, LABELS["made_by"].format(name=department), align=center, size=Pt(16), font=HEADING_FONT,
               space_before=Pt(260), indent=False)
    if reviewer:
        _paragraph(document, LABELS["reviewed_by"].format(name=reviewer), align=center, size=Pt(16),
                   font=HEADING_FONT, indent=False)


def _contents(document):
    title = _paragraph(document, LABELS["toc_title"], align=WD_ALIGN_PARAGRAPH.CENTER, size=Pt(18), bold=True,
                       font=HEADING_FONT, indent=False)
    title.paragraph_format.page_break_before = True
    title.paragraph_format.space_after = Pt(12)
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(0)
    # parts and their sections, as the published contents list them (not every project's own heading)
    _field_runs(paragraph, 'TOC \\o "1-2" \\h \\z \\u', LABELS["toc_placeholder"])
    return paragraph


TOC_LEVELS = {"Heading 1": 1, "Heading 2": 2}


YEAR_PREFIX = re.compile(r"^\d{4}年")


def contents_entry(heading: str) -> str:
    """A heading as the contents list it: a part's two lines (第一部分 / 2022年部门整体绩效目标) on one, without
    the year, as the published contents have them."""
    if "\n" not in heading:
        return heading
    part, title = heading.split("\n", 1)
    return f"{part} {YEAR_PREFIX.sub('', title)}"


def _part_heading(document, lines: tuple[str, str]):
    """第一部分 over its title, on two lines of one heading (one entry in the contents)."""
    heading = document.add_paragraph(style="Heading 1")
    heading.add_run(lines[0]).add_break()
    heading.add_run(lines[1])
    return heading


def _style_id(document, name: str) -> str:
    """A style's id by its name, looked up once per document: python-docx searches every style each time a
    paragraph's style is set or read by name (most of a large report's time)."""
    ids = document.__dict__.setdefault("_xlperf_style_ids", {})
    if name not in ids:
        ids[name] = document.styles[name].style_id
    return ids[name]


def _add_styled(document, text: str = "", style: str | None = None):
    """``document.add_paragraph(text, style)``, the style set by its id (see ``_style_id``)."""
    paragraph = document.add_paragraph(text)
    if style is not None:
        paragraph._p.style = _style_id(document, style)
    return paragraph


def _fill_contents(document, toc, streamed: list[tuple[int, str]] = ()) -> None:
    """The contents field's shown result: every heading of levels 1-2, in the "toc N" styles, so that a
    Word or WPS user sees a table of contents at once. Page numbers need a layout: Word/WPS fill them when
    the document opens (``w:updateFields``), LibreOffice when it makes the PDF."""
    levels = {_style_id(document, name): level for name, level in TOC_LEVELS.items()}
    entries = [(levels[p.style], contents_entry(Paragraph(p, document._body).text))
               for p in document.element.body.iterchildren(qn("w:p")) if p.style in levels]
    entries = [(level, text) for level, text in [*entries, *streamed] if text.strip()]
    if not entries:
        return
    runs = toc._p.findall(qn("w:r"))
    placeholder, end = runs[-2], runs[-1]
    placeholder.getparent().remove(placeholder)
    end.getparent().remove(end)
    paragraph = toc
    for number, (level, text) in enumerate(entries):
        if number:
            new = OxmlElement("w:p")
            paragraph._p.addnext(new)
            paragraph = Paragraph(new, toc._parent)
        paragraph._p.style = _style_id(document, f"toc {level}")
        paragraph.add_run(text)
    paragraph._p.append(end)
    settings = document.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)


def _page_numbers(section) -> None:
    """Body pages numbered from 1 in the footer: — 1 —."""
    section.footer.is_linked_to_previous = False
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)
    paragraph.add_run("— ")
    _field_runs(paragraph, "PAGE", "1")
    paragraph.add_run(" —")
    numbering = OxmlElement("w:pgNumType")
    numbering.set(qn("w:start"), "1")
    section._sectPr.insert_element_before(numbering, "w:cols", "w:formProt", "w:vAlign", "w:noEndnote",
                                          "w:titlePg", "w:textDirection", "w:bidi", "w:rtlGutter",
                                          "w:docGrid", "w:printerSettings", "w:sectPrChange")


def department_name(unit_names: list[object]) -> str:
    """Whose text this is when no --title names it: one unit's own name; for several, the department
    whose own office is among them (遵化市工业和信息化局本级 → 遵化市工业和信息化局), else the first unit
    and how many there are."""
    names = [_line(name) for name in unit_names if _line(name)]
    return own_department(names) or (f"{names[0]}等{len(set(names))}个单位" if names else "")


def _unit_texts(document, documents: list[dict], key: str, put_away=lambda: None) -> None:
    """Every unit's own text of ``key``, each under its unit's name when there are several units."""
    several = len(documents) > 1
    for number, doc in enumerate(documents, start=1):
        put_away()
        if several:
            name = _line((doc.get("unit") or {}).get("name"))
            _add_styled(document, f"（{chinese_number(number)}）{name}", "Heading 3")
        for text in _lines(doc.get(key)):
            document.add_paragraph(text)


@contextlib.contextmanager
def _set_aside(document):
    """python-docx adds each paragraph or table before the body's closing ``w:sectPr``, which it finds by
    looking through the body from its first child: with a department's thousands of projects, quadratic (a
    1,000-unit report spent most of its time there). Inside this, ``put_away()`` moves what the body holds so
    far out of it (the elements stay as they are, in order); at the end they all go back, in their order,
    before what was added since."""
    body = document.element.body
    held = []

    def put_away() -> None:
        made = list(body)[:-1]  # all but the closing sectPr
        for element in made:
            body.remove(element)
        held.extend(made)

    yield put_away
    first = body[0]
    for element in held:
        first.addprevious(element)


def _part_one(document, documents: list[dict], projects: list[dict], year: str,
              put_away=lambda: None) -> None:
    part1, title = LABELS["part1_lines"]
    _part_heading(document, (part1, title.format(year=year) if year else title.replace("{year}年", "")))
    document.add_paragraph(LABELS["overall"], style="Heading 2")
    _unit_texts(document, documents, "overall_goal", put_away)
    document.add_paragraph(LABELS["sub_goals"], style="Heading 2")
    for number, project in enumerate(projects, start=1):
        put_away()
        _add_styled(document, f"（{chinese_number(number)}）{_line(project.get('project_name'))}", "Heading 3")
        for text in _lines(project.get("purpose")):
            document.add_paragraph(text)
        goals = "".join(_sentence(_line(goal)) for goal in project.get("goals") or [] if _line(goal))
        if goals:
            document.add_paragraph(LABELS["goals"] + goals)
        sentences = indicator_sentences(project.get("indicators") or [])
        if sentences:
            document.add_paragraph(LABELS["indicators"] + sentences)
    document.add_paragraph(LABELS["measures"], style="Heading 2")
    _unit_texts(document, documents, "measures", put_away)


PART_TWO_MARK = "xlperf-part-two-streamed-here"


def _part_two(document, units: list[tuple[dict, dict]], milestones: list[str], spool) -> list[tuple[int, str]]:
    """Part 2, one 绩效目标表 per project. Each project's paragraphs and tables leave the document as soon as
    they are made: their XML goes to ``spool`` and a marker paragraph stands where it all goes back when the
    package is written (``_package``), so memory holds one project at a time, not the whole part (python-docx
    took 2.6 MB a unit). Returns the contents entries of the projects' headings."""
    heading = _part_heading(document, LABELS["part2_lines"])
    heading.paragraph_format.page_break_before = True
    body = document.element.body
    section = body[-1]  # python-docx adds every paragraph and table before the body's closing sectPr
    entries = []
    for number, (unit, project) in enumerate(units, start=1):
        anchor = section.getprevious()  # what was last before this project
        title = _add_styled(
            document, LABELS["table_title"].format(number=number, name=_line(project.get("project_name"))), "Heading 2")
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        title.paragraph_format.first_line_indent = Pt(0)
        title.paragraph_format.page_break_before = number > 1
        caption = _add_styled(document, "", TABLE_STYLE)
        caption.alignment = WD_ALIGN_PARAGRAPH.LEFT
        caption.paragraph_format.keep_with_next = True
        caption.paragraph_format.space_after = Pt(3)
        caption.paragraph_format.tab_stops.add_tab_stop(Twips(TEXT_WIDTH), WD_TAB_ALIGNMENT.RIGHT)
        caption.add_run(f"{_line(unit.get('code'))}{_line(unit.get('name'))}\t{LABELS['money_unit']}")
        _project_block(document, project, milestones)
        # a hairline paragraph between the two tables (adjacent tables would be joined into one)
        spacer = _add_styled(document, "", TABLE_STYLE)
        spacer.paragraph_format.keep_with_next = True
        spacer.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        spacer.paragraph_format.line_spacing = Pt(1)
        spacer.add_run().font.size = Pt(1)
        _indicator_table(document, project.get("indicators") or [])
        entries.append((2, title.text))
        element = anchor.getnext()
        while element is not section:
            spool.write(_fragment(element))
            element, done = element.getnext(), element
            body.remove(done)
    document.add_paragraph(PART_TWO_MARK)
    return entries


def _fragment(element) -> str:
    """An element's XML as it reads inside document.xml: without the namespace declarations lxml repeats
    on a fragment's first tag (the document's root declares them)."""
    text = etree.tostring(element, encoding="unicode")
    end = text.index(">")
    return re.sub(r' xmlns:\w+="[^"]*"', "", text[:end]) + text[end:]


def _package(data: bytes, spool_path: Path) -> bytes:
    """The saved package with part 2 streamed back in at its marker, the parts in the same order with fixed
    timestamps (equal documents are equal bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_bytes = io.BytesIO()
    with zipfile.ZipFile(target_bytes, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            content = source.read(info.filename)
            if info.filename != "word/document.xml":
                target.writestr(fixed, content)
                continue
            mark = content.index(PART_TWO_MARK.encode())
            start, end = content.rindex(b"<w:p>", 0, mark), content.index(b"</w:p>", mark) + len(b"</w:p>")
            with target.open(fixed, "w") as out, open(spool_path, "rb") as spool:
                out.write(content[:start])
                shutil.copyfileobj(spool, out, 1 << 20)
                out.write(content[end:])
    return target_bytes.getvalue()


def build_report(consolidation, *, title: str | None = None, year: int | str | None = None,
                 unit: str | None = None, reviewer: str | None = None) -> bytes:
    """The 部门预算绩效文本 of a consolidation as .docx bytes.

    ``title`` names the department on the cover (by default ``department_name`` of the units);
    ``year`` replaces the returns' budget year; ``unit`` keeps only that unit code's return; ``reviewer``
    adds the ``{reviewer}审核`` line on the cover (e.g. 遵化市财政局). Part 1 gives every unit's overall goal
    and measures (under each unit's name when there are several) and lists every project; part 2 has one
    绩效目标表 per project.
    """
    documents = _documents(consolidation, unit)
    department = _line(title) or department_name([(doc.get("unit") or {}).get("name") for doc in documents])
    year_text = _line(year if year is not None else consolidation.year or documents[0].get("year"))
    projects = [(doc.get("unit") or {}, project) for doc in documents for project in doc.get("projects") or []]

    document = Document()
    _setup_styles(document)
    _setup_page(document.sections[0])
    _cover(document, department, year_text, _line(reviewer) or None)
    toc = _contents(document)
    body = document.add_section(WD_SECTION.NEW_PAGE)
    _page_numbers(body)
    with tempfile.TemporaryDirectory(prefix="xlperf-report-") as folder:
        spool_path = Path(folder) / "part2.xml"
        with _set_aside(document) as put_away, open(spool_path, "w", encoding="utf-8") as spool:
            _part_one(document, documents, [project for _, project in projects], year_text, put_away)
            put_away()  # part 2's projects are added to a body that holds only its heading
            streamed = _part_two(document, projects, list(consolidation.milestones or []), spool)
        _fill_contents(document, toc, streamed)
        data = _save(document, department, year_text, consolidation)
        return _package(data, spool_path)


def _save(document, department: str, year_text: str, consolidation) -> bytes:
    """The document's package as python-docx saves it, with fixed properties and without the template's
    leftovers."""
    properties = document.core_properties
    properties.title = f"{department}{LABELS['cover'].format(year=year_text)}"
    properties.author = properties.last_modified_by = department
    properties.comments = properties.subject = properties.keywords = properties.category = ""
    properties.created = properties.modified = _fixed_time(consolidation)
    properties.revision = 1
    # python-docx's template ships a preview image of another document and a Word 2010 copy of the styles
    # that still has the template's fonts and colours; neither belongs in this document
    for rels in (document.part.package.rels, document.part.rels):
        for rel_id, rel in list(rels.items()):
            if rel.reltype in (RELATIONSHIP_TYPE.THUMBNAIL, _STYLES_WITH_EFFECTS):
                del rels[rel_id]
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- LibreOffice

_FONT_PAIRS = ((BODY_FONT, "Noto Serif CJK SC"), (TABLE_FONT, "Noto Serif CJK SC"),
               (SUBHEADING_FONT, "Noto Serif CJK SC"), (HEADING_FONT, "Noto Sans CJK SC"))


def soffice_path() -> str | None:
    return office.soffice_path()


def convert_to_pdf(docx: str | Path, pdf: str | Path, *, timeout: float = 180, lang: str = "zh") -> bool:
    """The report as PDF through LibreOffice (see office.py); True when its contents were updated."""
    try:
        return office.convert_to_pdf(docx, pdf, timeout=timeout, font_pairs=_FONT_PAIRS)
    except office.OfficeError as error:
        if error.kind == "missing":
            raise LibreOfficeMissing(say("no_soffice", lang)) from None
        if error.kind == "timeout":
            raise ReportError(say("pdf_timeout", lang, seconds=timeout)) from None
        raise ReportError(say("pdf_failed", lang, path=docx, code=error.details.get("code"),
                                detail=error.details.get("detail", ""))) from None


# --------------------------------------------------------------------------------------------- the API

def write_report(paths: list[str | Path], output: str | Path, *, title: str | None = None,
                 year: int | str | None = None, unit: str | None = None, include_invalid: bool = False,
                 pdf: bool = False, lang: str = "zh", reviewer: str | None = None,
                 timeout: float = 180, jobs: int | None = None, isolate: bool = False) -> ReportResult:
    """Merge the returns in ``paths`` and write the 部门预算绩效文本 to ``output`` (.docx, atomically).

    Returns that cannot go in (errors, unless ``include_invalid``; unreadable files; clashing project codes)
    stop the report with a ``ReportError`` naming each file and why. With ``unit`` only that unit code is
    reported (and only its problems stop it). With ``pdf`` a PDF is written too, beside the .docx with the
    suffix .pdf (if ``output`` itself ends in .pdf, the .docx goes beside it); LibreOffice must be installed.
    ``jobs``, ``isolate``: worker processes to read the returns, and each file behind its own (see ``merge_returns``).

    Example: ``write_report(["samples/returns"], "out/report.docx", unit="471001", pdf=True)``
    """
    from ..consolidate.consolidation import EXCLUDED, UNREADABLE
    from ..consolidate.merge import merge_returns
    from ..core.fileio import atomic_write_bytes

    output = Path(output)
    docx_path, pdf_path = output, None
    if pdf:
        if soffice_path() is None:
            raise LibreOfficeMissing(say("no_soffice", lang))
        if output.suffix.lower() == ".pdf":
            docx_path, pdf_path = output.with_suffix(".docx"), output
        else:
            pdf_path = output.with_suffix(".pdf")
    consolidation = merge_returns(list(paths), include_invalid=include_invalid, lang=lang, output=docx_path,
                                  jobs=jobs, isolate=isolate)
    inputs = consolidation.inputs
    if inputs.empty:
        raise ReportError(say("report_no_inputs", lang, inputs=" ".join(str(p) for p in paths)))
    refused = inputs[inputs["state"].isin([EXCLUDED, UNREADABLE])]
    if unit is not None:
        concerns = refused["unit_code"].map(lambda codes: codes is None or str(unit) in str(codes).split("、"))
        refused = refused[concerns]
    if len(refused):
        files = [(row.file, consolidation.said("inputs", index, "reason")) for index, row in refused.iterrows()]
        listing = "\n".join(say("refused_item", lang, file=file, reason=reason) for file, reason in files)
        advice = [say(f"advice_{kind}", lang) for kind, state in (("errors", EXCLUDED), ("unreadable", UNREADABLE))
                  if (refused["state"] == state).any()]
        raise ReturnsRefused(say("refused", lang, files=listing, advice="\n".join(advice)), files,
                             unreadable=bool((refused["state"] == UNREADABLE).any()))
    data = build_report(consolidation, title=title, year=year, unit=unit, reviewer=reviewer)
    atomic_write_bytes(docx_path, data)
    documents = _documents(consolidation, unit)
    units = [(_line((d.get("unit") or {}).get("code")), _line((d.get("unit") or {}).get("name"))) for d in documents]
    reported = inputs[inputs["unit_code"].map(
        lambda codes: any(code in str(codes).split("、") for code, _ in units))]
    result = ReportResult(output=docx_path, pdf=None, units=units,
                          projects=sum(len(d.get("projects") or []) for d in documents),
                          consolidation=consolidation, lang=lang,
                          exit_code=exitcodes.for_report(bool((reported["errors"] > 0).any())))
    found_years = sorted({str(d.get("year")) for d in documents if d.get("year") is not None})
    if year is not None and found_years and found_years != [str(year)]:
        result.notes.append(say("year_relabelled", lang, found="、".join(found_years), year=year))
    if pdf_path is None:
        result.notes.append(say("toc_pages", lang))
    if pdf_path is not None:
        if not convert_to_pdf(docx_path, pdf_path, timeout=timeout, lang=lang):
            result.notes.append(say("toc_stale", lang))
        result.pdf = pdf_path
    return result
