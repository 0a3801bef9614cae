"""Explaining schema errors costs in proportion to the errors: only the failing projects are explained, and
the findings are exactly those of explaining the whole document, in the same order."""
from __future__ import annotations

import copy
import random

import pytest
from conftest import SAMPLES

from xlperf.framework.frameworks import load_framework
from xlperf.intake.reader import read_return
from xlperf.checks.validate import explain_whole, schema_findings

FRAMEWORKS = {"cn-2020": load_framework("cn-2020"), "cn-2021": load_framework("cn-2021")}


def _mistakes(document: dict, rng: random.Random) -> dict:
    """One to four schema mistakes of different kinds, planted at random places."""
    document = copy.deepcopy(document)
    projects = document["projects"]
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(9)
        project = rng.choice(projects)
        indicator = rng.choice(project["indicators"]) if project["indicators"] else {}
        if kind == 0:
            document["measures"] = ""
        elif kind == 1:
            project.pop("goals", None)
        elif kind == 2:
            project["fiscal"] = "十万"
        elif kind == 3:
            project["spending_plan"]["6月底"] = 140
        elif kind == 4:
            indicator["level2"] = "社会效益指标" if indicator.get("level1") == "产出指标" else "数量指标"
        elif kind == 5:
            indicator["level1"] = "其他指标"
        elif kind == 6:
            indicator.pop("basis", None)
        elif kind == 7:
            project["indicators"] = []
        else:
            document["unit"].pop("name", None)
    return document


@pytest.mark.parametrize("framework_id", ["cn-2020", "cn-2021"])
def test_explaining_the_failing_projects_finds_what_the_whole_document_gives(framework_id):
    framework = FRAMEWORKS[framework_id]
    rng = random.Random(20261204)
    bases = [read_return(path) for path in sorted((SAMPLES / "returns").glob("*.xlsx"))]
    compared = 0
    for _ in range(150):
        base = rng.choice(bases)
        doc = copy.copy(base)
        doc.document = _mistakes(base.document, rng)
        doc.document["framework"] = framework_id
        whole = explain_whole(doc, framework)
        assert schema_findings(doc, framework) == whole
        compared += bool(whole)
    assert compared > 140  # nearly every planted mistake is a schema error


def test_samples_with_errors_give_the_same_findings():
    for path in sorted((SAMPLES / "returns-with-errors").glob("*.xlsx")):
        doc = read_return(path)
        framework = FRAMEWORKS[doc.document["framework"]]
        assert schema_findings(doc, framework) == explain_whole(doc, framework)


def test_only_the_failing_indicators_of_the_failing_projects_are_explained():
    """A blank 指标值确定依据 in one indicator: the pure-Python validator sees that one indicator of that
    one project, and the finding is placed on the indicator's own cell in the whole document."""
    from xlperf.checks.validate import _failing_part

    framework = FRAMEWORKS["cn-2020"]
    base = read_return(sorted((SAMPLES / "returns").glob("*.xlsx"))[0])
    doc = copy.copy(base)
    doc.document = copy.deepcopy(base.document)
    project = max(range(len(doc.document["projects"])), key=lambda i: len(doc.document["projects"][i]["indicators"]))
    indicators = doc.document["projects"][project]["indicators"]
    assert len(indicators) > 2
    indicators[2]["basis"] = ""
    part, index_of = _failing_part(doc.document, framework)
    assert index_of == [(project, [2])]
    assert part["projects"] == [{**doc.document["projects"][project], "indicators": [indicators[2]]}]
    findings = schema_findings(doc, framework)
    assert findings == explain_whole(doc, framework)
    assert [(f.code, f.location) for f in findings] == \
        [("REQUIRED_MISSING", doc.location(f"/projects/{project}/indicators/2/basis"))]
