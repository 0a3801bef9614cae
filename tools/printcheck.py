"""Print check: every kind of output as LibreOffice prints it, measured page by page.

    python tools/printcheck.py OUTDIR

makes a template, an annotated copy, the summary and the report from the bundled samples, prints each to PDF
with LibreOffice and writes every page as a PNG next to it, for a person to look at; it prints what the checks
below measure. ``tests/writers/test_print.py`` runs the same checks.

What a page is measured for: its paper (A4) and orientation; the print scale of a spreadsheet page, from the
width of its CJK characters (a CJK glyph is one em wide, and every sheet's text is 宋体 10); and that every
text the output holds is on paper (nothing cut off by a row height, a column width or the print area).
"""

from __future__ import annotations

import csv
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.utils import range_boundaries

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # lo.py
import lo  # noqa: E402

A4 = (595.3, 841.9)  # points, portrait
SHEET_FONT_POINTS = 10  # 宋体 10: every sheet's cells
CJK = re.compile(r"[\u4e00-\u9fff]+")


@dataclass
class Page:
    number: int
    width: float
    height: float
    words: list[tuple[float, float, str]]  # (xMin, xMax, text)
    boxes: list[tuple[float, float, float, float, str]]  # (xMin, yMin, xMax, yMax, text)

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    @property
    def is_a4(self) -> bool:
        size = sorted((self.width, self.height))
        return abs(size[0] - A4[0]) < 2 and abs(size[1] - A4[1]) < 2

    def scale(self, font_points: float = SHEET_FONT_POINTS) -> float | None:
        """The print scale: the median advance of a CJK character over the font's size (None: no CJK text)."""
        advances = [(right - left) / len(text) for left, right, text in self.words if CJK.fullmatch(text)
                    and len(text) >= 2]
        return statistics.median(advances) / font_points if advances else None

    def overlaps(self, slack: float = 1.0) -> list[tuple[str, str]]:
        """Pairs of words drawn over each other: text that ran out of its cell into a neighbour's."""
        boxes = sorted(self.boxes)
        found = []
        for index, (left, top, right, bottom, text) in enumerate(boxes):
            for other_left, other_top, other_right, other_bottom, other in boxes[index + 1:]:
                if other_left >= right - slack:
                    break
                if other_top < bottom - slack and top < other_bottom - slack:
                    found.append((text, other))
        return found


def pages(pdf: Path) -> list[Page]:
    """The pages of ``pdf`` with their words' positions (``pdftotext -bbox``)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found = []
    for number, match in enumerate(re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', xml,
                                                flags=re.S), start=1):
        boxes = [(float(left), float(top), float(right), float(bottom), text) for left, top, right, bottom, text in
                 re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                            match.group(3))]
        words = [(left, right, text) for left, _, right, _, text in boxes]
        found.append(Page(number, float(match.group(1)), float(match.group(2)), words, boxes))
    return found


def _squeezed(text: str) -> str:
    """Text without any white space (a cell's lines wrap anywhere)."""
    for entity, character in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        text = text.replace(entity, character)
    return re.sub(r"\s+", "", text)


PAGE_NUMBER = re.compile(r"^\s*(—\s*\d+\s*—|第\s*\d+\s*页，共\s*\d+\s*页)\s*$", flags=re.M)


def printed_text(pdf: Path) -> str:
    """Everything on paper, in the order it is drawn, without white space, and without the page numbers
    that a paragraph running on to the next page has between its lines."""
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return _squeezed(PAGE_NUMBER.sub("", raw))


def _as_printed(text: str) -> list[str]:
    """The forms ``text`` may take on paper: LibreOffice's CSV gives a computed percentage in full
    (24.3887341380378%) where the cell shows it rounded to its format (24% or 24.4%), and an amount without
    the thousands separators of its #,##0.00 (1605942.56 printed 1,605,942.56)."""
    if re.fullmatch(r"-?\d{4,}(\.\d+)?", text):
        return [text, f"{float(text):,.2f}"]
    match = re.fullmatch(r"(-?\d+\.\d{3,})%", text)
    if not match:
        return [text]
    value = float(match.group(1))
    return [f"{value:.{digits}f}%" for digits in (0, 1, 2)]


def not_on_paper(pdf: Path, texts) -> list[str]:
    """The ``texts`` that do not appear on any page of ``pdf``."""
    printed = printed_text(pdf)
    return [text for text in texts if not any(_squeezed(form) in printed for form in _as_printed(text))]


def cut_numbers(pdf: Path) -> list[int]:
    """The pages on which a number is printed as ### (its column too narrow for it)."""
    return [page.number for page in pages(pdf) if any("###" in text for _, _, text in page.words)]


def shown_cells(xlsx: Path, outdir: Path) -> dict[str, list[str]]:
    """Sheet → the text of every non-empty cell inside its print area, as LibreOffice shows it (number formats
    applied, formulas computed). Hidden sheets are left out."""
    outdir.mkdir(parents=True, exist_ok=True)
    sheets = lo.convert_csv(xlsx, outdir)
    book = openpyxl.load_workbook(xlsx)
    shown: dict[str, list[str]] = {}
    for name, path in sheets.items():
        sheet = book[name]
        if sheet.sheet_state != "visible":
            continue
        area = sheet.print_area
        if area:
            first_column, first_row, last_column, last_row = range_boundaries(area.split("!")[-1].replace("$", ""))
        else:
            first_column, first_row, last_column, last_row = 1, 1, sheet.max_column, sheet.max_row
        hidden = {index for index in range(1, last_column + 1)
                  if sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].hidden}
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        shown[name] = [value for row_number, row in enumerate(rows, start=1) if first_row <= row_number <= last_row
                       for column, value in enumerate(row, start=1)
                       if first_column <= column <= last_column and column not in hidden and value.strip()]
    book.close()
    return shown


def page_images(pdf: Path, resolution: int = 60) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", str(pdf), str(pdf.with_suffix(""))], check=True)
    return sorted(pdf.parent.glob(f"{pdf.stem}-*.png"))


def make_outputs(outdir: Path) -> dict[str, Path]:
    """A template, an annotated copy, the summary and the report of the bundled samples, made by the CLI."""
    root = Path(__file__).resolve().parent.parent
    samples = root / "samples"
    outdir.mkdir(parents=True, exist_ok=True)

    def xlperf(*arguments: str) -> None:
        result = subprocess.run([sys.executable, "-m", "xlperf", *arguments], capture_output=True, text=True)
        if result.returncode not in (0, 1):
            raise RuntimeError(f"xlperf {' '.join(arguments)} failed ({result.returncode}): {result.stderr}")

    xlperf("template", str(samples / "projects.csv"), "-o", str(outdir / "templates"), "--year", "2022")
    xlperf("validate", str(samples / "returns-with-errors" / "471002_indicator-errors.xlsx"),
           "--annotate", str(outdir / "annotated"))
    xlperf("merge", str(samples / "returns"), "-o", str(outdir / "summary.xlsx"),
           "--expect", str(samples / "templates" / "manifest.json"))
    xlperf("report", str(samples / "returns"), "-o", str(outdir / "report.docx"))
    return {"template": sorted((outdir / "templates").glob("*.xlsx"))[0],
            "annotated": sorted((outdir / "annotated").glob("*.xlsx"))[0],
            "summary": outdir / "summary.xlsx", "report": outdir / "report.docx"}


def main(outdir: str) -> int:
    folder = Path(outdir)
    for kind, path in make_outputs(folder / "outputs").items():
        pdf = lo.convert(path, "pdf", folder / kind)
        images = page_images(pdf)
        found = pages(pdf)
        scales = [page.scale() for page in found]
        print(f"{kind}: {pdf} ({len(found)} pages, {len(images)} PNG)")
        for page, scale in zip(found, scales):
            paper = ("A4" if page.is_a4 else f"{page.width:.0f}x{page.height:.0f}pt") + (
                " landscape" if page.landscape else " portrait")
            print(f"  page {page.number}: {paper}" + (f", text at {scale:.0%}" if scale and kind != "report" else "")
                  + (f", words over each other: {page.overlaps()[:3]}" if page.overlaps() else ""))
        if path.suffix == ".xlsx":
            missing = [text for texts in shown_cells(path, folder / kind / "csv").values()
                       for text in not_on_paper(pdf, texts)]
            print(f"  cells not on paper: {missing or 'none'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
