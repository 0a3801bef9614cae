"""The committed samples are what tools/build_samples.py makes, and the seed return holds the published values."""
from __future__ import annotations

import json
from pathlib import Path

from build_samples import build
from conftest import SAMPLES

from xlperf.intake.reader import read_return
from xlperf.checks.validate import validate_paths


def test_committed_samples_are_up_to_date(tmp_path):
    (tmp_path / "projects.csv").write_bytes((SAMPLES / "projects.csv").read_bytes())
    build(tmp_path)
    for name in ("templates", "returns", "returns-with-errors"):
        committed = sorted(p.name for p in (SAMPLES / name).iterdir())
        assert committed == sorted(p.name for p in (tmp_path / name).iterdir()), name
    for path in (SAMPLES / "templates").glob("*.xlsx"):  # templates are deterministic
        assert path.read_bytes() == (tmp_path / "templates" / path.name).read_bytes(), path.name
    assert json.loads((SAMPLES / "templates" / "manifest.json").read_text()) == \
        json.loads((tmp_path / "templates" / "manifest.json").read_text())
    for name in ("returns", "returns-with-errors"):  # returns are saved by openpyxl, with a save time inside
        for path in (SAMPLES / name).glob("*.xlsx"):
            assert read_return(path).document == read_return(tmp_path / name / path.name).document, path.name


def test_seed_return_has_the_published_values(seed):
    document = read_return(SAMPLES / "returns" / "471001_遵化市工业和信息化局本级.xlsx").document
    for got, published in zip(document["projects"], seed["projects"]):
        for key in ("project_code", "project_name", "budget_total", "fiscal", "purpose", "goals", "indicators"):
            assert got[key] == published[key]


def test_every_mistake_sample_has_its_mistakes_and_good_samples_have_none():
    assert [r.errors for r in validate_paths([SAMPLES / "returns"])] == [0, 0, 0]
    errors = {Path(r.path).name: sorted({f.code for f in r.findings if f.is_error})
              for r in validate_paths([SAMPLES / "returns-with-errors"])}
    assert errors == {  # each sample the mistakes it was made with (tools/build_samples.py), nothing else
        "471001_budget-and-plan-errors.xlsx": ["PLAN_DECREASING", "PLAN_NOT_100", "READ_PREFILLED_CHANGED"],
        "471002_indicator-errors.xlsx": ["COST_OVER_BUDGET", "LEVEL2_NOT_IN_LEVEL1", "REQUIRED_MISSING",
                                         "TARGET_INVALID"],
        "471003_missing-parts.xlsx": ["LEVEL1_MISSING", "REQUIRED_MISSING"]}
