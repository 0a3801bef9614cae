"""What every workbook xlperf writes looks alike by: the label fill and text widths as 宋体 lays them out."""
from __future__ import annotations

LABEL_FILL = "#DDEBF7"  # every label cell: templates, the summary's headers, the annotated copy


def display_width(text: str) -> int:
    """Width in Excel character units: CJK characters, and ambiguous ones such as “ ” ≥, take two in 宋体.

    GBK spends two bytes on exactly those characters and one on ASCII, so its length is the width,
    counted in C rather than character by character (this runs for every cell of large summaries)."""
    return len(text.encode("gbk", errors="replace"))
