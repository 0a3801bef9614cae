"""Explaining schema errors costs in proportion to the errors: only the failing projects are explained, by the
compiled validator's own errors where they map to findings exactly, and the findings are exactly those of the
pure-Python validator explaining the whole document, in the same order."""
from __future__ import annotations

import copy
import json
import random
import subprocess
import sys

import pytest
from conftest import SAMPLES

from xlperf.framework.frameworks import load_framework
from xlperf.intake.reader import read_return
from xlperf.checks.validate import _compiled_errors, _failing_part, explain_whole, schema_findings

FRAMEWORKS = {"cn-2020": load_framework("cn-2020"), "cn-2021": load_framework("cn-2021")}


def _mistakes(document: dict, rng: random.Random) -> dict:
    """One to four schema mistakes of different kinds, planted at random places."""
    document = copy.deepcopy(document)
    projects = document["projects"]
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(10)
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
        elif kind == 8:
            project["spending_plan"]["11月底"] = 90  # additionalProperties: explained by the reference validator
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


def test_the_compiled_errors_explain_ordinary_mistakes_and_leave_the_rest_to_the_reference():
    framework = FRAMEWORKS["cn-2020"]
    base = read_return(sorted((SAMPLES / "returns").glob("*.xlsx"))[0])
    doc = copy.copy(base)
    doc.document = copy.deepcopy(base.document)
    first = doc.document["projects"][0]
    first["fiscal"], first["spending_plan"]["12月底"], doc.document["measures"] = "十万", 140, ""
    first["indicators"][0]["level2"] = "社会效益指标"
    part, _ = _failing_part(doc.document, framework)
    explained = _compiled_errors(part, framework)
    assert [error.keyword for _, error in explained] == ["minLength", "type", "maximum", "enum"]
    assert schema_findings(doc, framework) == explain_whole(doc, framework)
    # a keyword whose finding carries the reference validator's own message: that one explains the part
    first["spending_plan"]["11月底"] = 90
    part, _ = _failing_part(doc.document, framework)
    assert _compiled_errors(part, framework) is None
    findings = schema_findings(doc, framework)
    assert findings == explain_whole(doc, framework)
    assert "SCHEMA_OTHER" in {finding.code for finding in findings}


def test_checking_a_return_with_errors_does_not_load_the_reference_validator():
    """The pure-Python jsonschema takes ~0.2 s to import: a one-file validate of an ordinary return with errors
    must not pay it (issue 15: one return < 0.3 s)."""
    path = sorted((SAMPLES / "returns-with-errors").glob("*.xlsx"))[0]
    script = ("import json, sys; from xlperf.checks.validate import validate_paths; "
              f"results = validate_paths([{str(path)!r}], isolate=False); "
              "print(json.dumps([sum(r.errors for r in results), 'jsonschema' in sys.modules]))")
    errors, loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                               check=True).stdout)
    assert errors > 0
    assert loaded is False
