"""The canonical return: a plain dict shaped like the framework's JSON Schema, plus where each value came from.

``document`` is exactly what the schema validates. ``sources`` maps a JSON pointer
(``/projects/0/fiscal``) to the cell it was read from — also for fields left blank, so a "missing"
finding can still point at the cell to fill in. ``raw`` keeps the cell value before cleaning.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .findings import Finding, Location

SUMMARY_MARKER = "xlperf-summary"  # A1 of a summary's hidden _data sheet: written by the summary, read back
# A1 of the _data sheet of a summary too large for Excel (its rows beyond are only in the Parquet dataset): it
# carries no documents, and is refused as an input of a higher-level merge with the way to the dataset
PARTIAL_SUMMARY_MARKER = "xlperf-summary-partial"
DATA_ROW_KEY = "document"  # the first cell of each _data row that carries a document as JSON
META_MARKER = "xlperf-meta"  # A1 of a template's hidden _meta sheet: written by the template, checked on reading


def cents(amount: float) -> Decimal:
    """An amount of 万元 to the cent, rounded as a spreadsheet shows it (half away from zero): what
    is shown is what is compared and summed (an amount too large to have cents is left as it is)."""
    value = Decimal(str(amount))
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if abs(value) < 10 ** 15 else value


def pointer(*parts: object) -> str:
    """JSON pointer from path parts (RFC 6901 escaping); called for every cell read, so the common
    case (no part holds ``/`` or ``~``) is one join."""
    text = "/".join(map(str, parts))
    if "~" in text or text.count("/") != len(parts) - 1:
        return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + text


def value_at(container: object, path: list) -> object:
    """What a path of keys and indices leads to in nested dicts and lists; ``None`` if it leads nowhere."""
    for part in path:
        try:
            container = container[part]
        except (KeyError, IndexError, TypeError):
            return None
    return container


@dataclass
class ReturnDocument:
    path: str
    document: dict
    sources: dict[str, Location]
    raw: dict[str, object]
    meta: dict
    findings: list[Finding] = dataclasses.field(default_factory=list)

    def location(self, json_path: str) -> Location:
        """The cell of a JSON pointer, or of its nearest ancestor that has one."""
        current = json_path
        while current:
            if current in self.sources:
                return self.sources[current]
            current = current.rsplit("/", 1)[0]
        return Location(self.path)


def read_summary_documents(rows: list[list[object]]) -> list[dict]:
    """The documents a summary carries, from its ``_data`` rows as python-calamine returns them (list of lists).

    Raises ``ValueError`` when the rows are not a summary's ``_data`` sheet or a document is not valid JSON.
    """
    if not rows or not rows[0] or rows[0][0] != SUMMARY_MARKER:
        raise ValueError("not the _data sheet of an xlperf summary")
    documents = []
    for row in rows[1:]:
        if not row or row[0] != DATA_ROW_KEY:
            continue
        document = json.loads("".join(cell for cell in row[1:] if isinstance(cell, str)))
        if not isinstance(document, dict):
            raise ValueError("a carried document is not a JSON object")
        documents.append(document)
    return documents
