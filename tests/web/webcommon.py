"""What the portal's tests share (a plain module: ``conftest`` is a name tests/conftest.py has already)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
RETURNS = SAMPLES / "returns"
WITH_ERRORS = SAMPLES / "returns-with-errors"
DATABASES = ["default", "postgres"]  # SQLite and the private PostgreSQL server
