"""The bounds every input is checked against before it is read (the preflight applies them; spec.json
may lower or raise them per deployment)."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


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
    # A summary xlperf wrote carries every return it merged (its _data sheet, and a row per indicator in
    # 绩效指标明细), so past about 950 returns it is larger than any return may be. A workbook that says it is
    # one (a very hidden _data sheet) is checked against these instead, and is then read only as a summary:
    # without the marker in _data!A1 it must pass the limits above. Its reading stays bounded by the two
    # limits of the isolation just above.
    max_summary_file_bytes: int = 1_000_000_000
    max_summary_uncompressed_bytes: int = 4_000_000_000
    max_summary_part_bytes: int = 2_000_000_000
    max_summary_rows: int = 1_048_576  # Excel's own
    max_summary_cells: int = 100_000_000

    def for_summary(self) -> "Limits":
        """The limits a summary workbook is checked against (never lower than a return's)."""
        return replace(self, max_file_bytes=max(self.max_file_bytes, self.max_summary_file_bytes),
                       max_uncompressed_bytes=max(self.max_uncompressed_bytes, self.max_summary_uncompressed_bytes),
                       max_part_bytes=max(self.max_part_bytes, self.max_summary_part_bytes),
                       max_rows=max(self.max_rows, self.max_summary_rows),
                       max_cells=max(self.max_cells, self.max_summary_cells))

    @classmethod
    def from_mapping(cls, values: dict) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{key: int(value) for key, value in values.items() if key in known})
