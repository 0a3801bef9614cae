"""The reference a CSV export is compared with: the same table written by pandas."""
from __future__ import annotations

from xlperf.writers.exports import neutralise_csv_text


def pandas_csv(frame) -> bytes:
    """The table through pandas, text neutralised the same way as the export does."""
    safe = frame.astype(object).map(neutralise_csv_text) if len(frame) else frame
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
