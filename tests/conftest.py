from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS.parent / "tools"))  # build_samples, printcheck, fuzzing: tools the tests also run

SAMPLES = ROOT / "samples"
SEED_PATH = TESTS / "data" / "seed_department.json"


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Commands that cache by default (merge) keep their cache in the test's temporary folder."""
    import os

    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def seed() -> dict:
    return json.loads(SEED_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_templates(tmp_path_factory) -> dict:
    """The sample project list turned into templates once per session: unit code → path, plus the manifest."""
    from xlperf.writers.sendout import make_templates

    outdir = tmp_path_factory.mktemp("templates")
    result = make_templates(SAMPLES / "projects.csv", outdir, year=2022, framework="cn-2020")
    return {"dir": outdir, "manifest": result.manifest,
            **{unit["unit_code"]: outdir / unit["file"] for unit in result.manifest["units"]}}


@pytest.fixture
def seed_template(sample_templates, tmp_path) -> Path:
    """A private copy of the seed unit's template."""
    copy = tmp_path / sample_templates["471001"].name
    shutil.copy(sample_templates["471001"], copy)
    return copy
