"""The bounds every input is checked against before it is read (the preflight applies them; spec.json
may lower or raise them per deployment)."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one input; every one is named in the message when it is hit."""

    max_file_bytes: int = 50_000_000
    max_uncompressed_bytes: int = 300_000_000
    max_part_bytes: int = 100_000_000
    max_parts: int = 5_000
    max_sheets: int = 500
    max_rows: int = 100_000
    max_columns: int = 1_000
    max_cells: int = 2_000_000
    max_read_memory_bytes: int = 2_000_000_000  # more address space one file's reading may take (isolated)
    max_read_seconds: int = 30  # wall time one file's reading may take (isolated)

    @classmethod
    def from_mapping(cls, values: dict) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{key: int(value) for key, value in values.items() if key in known})
