"""Build a corpus document (.docx) from its JSON description, so the corpus is kept as text, not binaries.

A description's ``body`` is what the published document holds, in order:
- ``{"p": "text"}``: a paragraph;
- ``{"table": [[...], ...]}``: a table written cell by cell on its grid, where ``"<"`` continues the cell on
  its left (a horizontal merge) and ``"^"`` the cell above (a vertical merge), as the published table is
  merged;
- ``{"layout": [...]}``: a one-cell layout table holding the body inside it (a web page saved as Word).
"""
from __future__ import annotations

import json
from pathlib import Path

import docx

HERE = Path(__file__).parent
LEFT, ABOVE = "<", "^"


def corpus_files() -> list[Path]:
    return sorted(HERE.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _add_table(container, rows: list[list[str]]) -> None:
    width = max(len(row) for row in rows)
    grid = [row + [""] * (width - len(row)) for row in rows]
    table = container.add_table(rows=len(grid), cols=width)
    table.style = "Table Grid"
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if text in (LEFT, ABOVE):
                continue
            right = c
            while right + 1 < width and grid[r][right + 1] == LEFT:
                right += 1
            bottom = r
            while bottom + 1 < len(grid) and all(grid[bottom + 1][k] == ABOVE for k in range(c, right + 1)):
                bottom += 1
            cell = table.cell(r, c)
            if (bottom, right) != (r, c):
                cell = cell.merge(table.cell(bottom, right))
            cell.text = text


def _add_body(container, body: list[dict]) -> None:
    for block in body:
        if "p" in block:
            container.add_paragraph(block["p"])
        elif "table" in block:
            _add_table(container, block["table"])
        else:
            layout = container.add_table(rows=1, cols=1)
            _add_body(layout.cell(0, 0), block["layout"])


def build(description: dict, path: Path) -> Path:
    document = docx.Document()
    _add_body(document, description["body"])
    document.save(path)
    return path


if __name__ == "__main__":  # python tests/import_corpus/make_docx.py OUTDIR: the documents, to open in Word/WPS
    import sys

    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-docx")
    outdir.mkdir(parents=True, exist_ok=True)
    for file in corpus_files():
        print(build(load(file), outdir / f"{file.stem}.docx"))
