"""Where the bundled data files live, installed or in a source checkout."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path


@lru_cache(maxsize=1)  # where xlperf is installed does not change while it runs
def templates_root() -> Path:
    """The ``workbook_templates`` folder: shipped as ``xlperf.workbook_templates`` in the wheel."""
    source_tree = Path(__file__).resolve().parents[2] / "workbook_templates"
    if (source_tree / "spec.json").is_file():
        return source_tree
    return Path(str(resources.files("xlperf.workbook_templates")))
