"""A finding's message and hint worked out together are the ones worked out each on its own (the summary's
校验问题 lists thousands of findings and asks for both at once)."""
from __future__ import annotations

from conftest import SAMPLES

from xlperf.checks.validate import validate_paths


def test_message_and_hint_together_are_message_and_hint():
    findings = [finding for result in validate_paths([SAMPLES / "returns-with-errors", SAMPLES / "returns"])
                for finding in result.findings]
    assert len({finding.code for finding in findings}) >= 5
    for finding in findings:
        for lang in ("zh", "en"):
            assert finding.message_and_hint(lang) == (finding.message(lang), finding.hint(lang))
            as_json = finding.to_dict(lang)  # validate's --format json
            assert (as_json["message"], as_json["hint"]) == (finding.message(lang), finding.hint(lang))
