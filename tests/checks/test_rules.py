"""One test per rule and per schema mapping: the seed passes, a planted mistake fails with its code."""
from __future__ import annotations

import copy

import pytest
from conftest import SAMPLES
from fill import seed_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlperf.framework.frameworks import load_framework
from xlperf.core.model import ReturnDocument
from xlperf.intake.reader import read_return
from xlperf.framework.spec import load_spec
from xlperf.checks.validate import check_document

CN2020 = load_framework("cn-2020")
SHEET = "工信局购置公务用车"  # the sample's first project sheet
CN2021 = load_framework("cn-2021")


@pytest.fixture
def doc(seed) -> dict:
    document = seed_document(seed)
    document["framework"] = "cn-2020"
    return copy.deepcopy(document)


SAMPLE = read_return(SAMPLES / "returns" / "471001_遵化市工业和信息化局本级.xlsx")  # the seed, as a unit returns it


def findings_of(document: dict, framework=CN2020):
    """The findings on ``document`` placed where the sample return (the seed's tables) holds each value."""
    return check_document(ReturnDocument(SAMPLE.path, document, SAMPLE.sources, {}, SAMPLE.meta), framework,
                          load_spec())


def where(finding) -> tuple[str, str, str]:
    """A finding as the unit reads it: sheet, cell, message."""
    return finding.location.sheet, finding.location.cell, finding.message("zh")


def codes(document: dict, framework=CN2020) -> list[str]:
    return [f.code for f in findings_of(document, framework)]


def test_seed_is_a_valid_return_with_known_quirks_as_warnings(doc):
    findings = findings_of(doc)
    assert [f for f in findings if f.is_error] == []
    # 公用经费节约率 ≥95% and 培训合格率 ≥90% are published under 成本指标
    assert sorted(f.code for f in findings) == ["COST_NOT_MONEY", "COST_NOT_MONEY"]


def test_required_fields(doc):
    del doc["projects"][0]["purpose"]
    del doc["projects"][1]["indicators"][0]["basis"]
    doc["measures"] = ""
    found = findings_of(doc)
    assert [(f.code, f.field) for f in found if f.is_error] == [
        ("REQUIRED_MISSING", "measures"), ("REQUIRED_MISSING", "purpose"), ("REQUIRED_MISSING", "basis")]


def test_budget_sum_to_the_cent(doc):
    doc["projects"][0].update(fiscal=10.00, other=0.96)
    assert "BUDGET_SUM_MISMATCH" not in codes(doc)
    doc["projects"][0].update(fiscal=10.00, other=0.95)
    found = [f for f in findings_of(doc) if f.code == "BUDGET_SUM_MISMATCH"]
    assert found[0].message("zh") == "财政资金 10.00 + 其他资金 0.95 ≠ 预算数 10.96"


def test_budget_sum_passes_with_blank_other(doc):
    doc["projects"][0]["other"] = None
    assert "BUDGET_SUM_MISMATCH" not in codes(doc)


def test_plan_range(doc):
    doc["projects"][0]["spending_plan"]["3月底"] = 130
    found = [f for f in findings_of(doc) if f.code == "VALUE_OUT_OF_RANGE"]
    assert found and found[0].field == "spending_plan/3月底"


def test_plan_decreasing(doc):
    assert "PLAN_DECREASING" not in codes(doc)
    doc["projects"][0]["spending_plan"].update({"6月底": 20})
    assert codes(doc).count("PLAN_DECREASING") == 1


def test_plan_ends_at_100(doc):
    assert "PLAN_NOT_100" not in codes(doc)
    doc["projects"][0]["spending_plan"]["12月底"] = 95
    assert "PLAN_NOT_100" in codes(doc)


def test_every_level1_covered(doc):
    doc["projects"][0]["indicators"] = [i for i in doc["projects"][0]["indicators"] if i["level1"] != "满意度指标"]
    found = [f for f in findings_of(doc) if f.code == "LEVEL1_MISSING"]
    assert [f.params["level1"] for f in found] == ["满意度指标"]
    assert [where(f) for f in found] == [(SHEET, "B19", "缺少一级指标“满意度指标”下的指标")]  # first empty row


def test_no_indicators(doc):
    doc["projects"][0]["indicators"] = []
    assert [where(f) for f in findings_of(doc) if f.code == "NO_INDICATORS"] == [
        (SHEET, "B11", "本项目没有填写任何绩效指标")]


def test_level2_belongs_to_level1(doc):
    doc["projects"][0]["indicators"][0]["level2"] = "社会效益指标"
    found = [f for f in findings_of(doc) if f.code == "LEVEL2_NOT_IN_LEVEL1"]
    assert len(found) == 1 and found[0].params["level1"] == "产出指标"
    assert where(found[0]) == (SHEET, "C11", "二级指标“社会效益指标”不属于一级指标“产出指标”（可选：数量指标、质量指标、时效指标、成本指标）")


def test_unknown_level1(doc):
    doc["projects"][0]["indicators"][0]["level1"] = "产出"
    assert [where(f) for f in findings_of(doc) if f.code == "LEVEL1_UNKNOWN"] == [
        (SHEET, "B11", "一级指标“产出”不在指标体系中（可选：产出指标、效益指标、满意度指标）")]


def test_cn2021_moves_cost(doc):
    doc["framework"] = "cn-2021"
    found = codes(doc, CN2021)
    assert "LEVEL2_NOT_IN_LEVEL1" in found  # 成本指标 is no longer a 二级 of 产出指标
    assert "LEVEL1_MISSING" in found  # and 成本指标 is a 一级 of its own


def test_duplicate_level3_is_a_warning(doc):
    doc["projects"][0]["indicators"][1]["name"] = doc["projects"][0]["indicators"][0]["name"]
    found = [f for f in findings_of(doc) if f.code == "DUPLICATE_INDICATOR"]
    assert len(found) == 1 and not found[0].is_error
    assert where(found[0]) == (SHEET, "D12", "三级指标“审核金额”在本项目中重复（另见 D11）")


def test_target_neither_parseable_nor_qualitative(doc):
    doc["projects"][0]["indicators"][1]["target"] = "≥≥95"
    assert [where(f) for f in findings_of(doc) if f.code == "TARGET_INVALID"] == [
        (SHEET, "F12", "指标值“≥≥95”既不是“比较符+数值+单位”，也不是定性描述")]


def test_qualitative_where_a_number_is_expected(doc):
    doc["projects"][0]["indicators"][-1]["target"] = "非常满意"
    found = [f for f in findings_of(doc) if f.code == "TARGET_NOT_NUMBER"]
    assert len(found) == 1 and not found[0].is_error
    assert where(found[0]) == (SHEET, "F19", "“服务对象满意度指标”通常应量化，指标值“非常满意”是定性描述")


def test_cost_not_money_and_over_budget(doc):
    cost = doc["projects"][3]["indicators"][3]
    assert (cost["level2"], cost["target"]) == ("成本指标", "＝16万元")
    assert not [c for c in codes(doc) if c.startswith("COST")][2:]
    cost["target"] = "≤16.01万元"
    assert [where(f) for f in findings_of(doc) if f.code == "COST_OVER_BUDGET"] == [
        ("科技发展工作经费", "F14", "成本指标“项目所需资金”的 ≤16.01万元 超过项目预算数 16.00 万元")]
    cost["target"] = "≤160000元"  # 16 万元 in 元 is fine
    assert "COST_OVER_BUDGET" not in codes(doc)
    cost["target"] = "≤160100元"
    assert "COST_OVER_BUDGET" in codes(doc)


def test_project_code_pattern(doc):
    doc["projects"][0]["project_code"] = "P-1"
    found = [f for f in findings_of(doc) if f.code == "CODE_PATTERN"]
    assert len(found) == 1 and not found[0].is_error
    assert where(found[0]) == (SHEET, "B3", "项目编码“P-1”不符合编码规则（例：13028122P00306010001X）")


def test_duplicate_project_code(doc):
    doc["projects"][1]["project_code"] = doc["projects"][0]["project_code"]
    assert [where(f) for f in findings_of(doc) if f.code == "DUPLICATE_PROJECT"] == [
        ("工信局安全生产执法监督管理经费", "B3", f"项目编码 13028122P00306010001X 在本工作簿中重复（另见 {SHEET}）")]


def test_text_too_long(doc):
    doc["projects"][0]["indicators"][0]["description"] = "很" * 301
    found = [f for f in findings_of(doc) if f.code == "TEXT_TOO_LONG"]
    assert len(found) == 1 and found[0].params == {"length": 301, "limit": 300}
    assert where(found[0]) == (SHEET, "E11", "绩效指标描述有 301 个字，超过 300 字")


@pytest.mark.parametrize("path, field", [(("overall_goal",), "overall_goal"), (("measures",), "measures"),
                                         (("projects", 1, "project_name"), "project_name"),
                                         (("projects", 0, "purpose"), "purpose"), (("projects", 0, "goals"), "goals"),
                                         (("projects", 1, "indicators", 2, "name"), "name"),
                                         (("projects", 0, "indicators", 1, "target"), "target"),
                                         (("projects", 0, "indicators", 0, "basis"), "basis")])
def test_every_text_field_is_too_long_only_past_its_own_limit(doc, path, field):
    """Each field's limit (not the shortest of them, which only tells which texts need a look) decides."""
    limit = load_spec().max_text_length(field)
    for length, expected in ((limit, []), (limit + 1, [(field, limit + 1)])):
        document = copy.deepcopy(doc)
        holder = document
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = ["很" * (length - 2), "很"] if field == "goals" else "很" * length  # joined by a newline
        found = [(f.field, f.params["length"]) for f in findings_of(document) if f.code == "TEXT_TOO_LONG"]
        assert found == expected


def test_money_that_is_text(doc):
    doc["projects"][0]["fiscal"] = "十万"
    found = [f for f in findings_of(doc) if f.code == "VALUE_NOT_NUMBER"]
    assert len(found) == 1 and found[0].field == "fiscal"
    assert where(found[0]) == (SHEET, "E4", "财政资金应为数字，实为“十万”")


def test_negative_money(doc):
    doc["projects"][0]["other"] = -1.0
    assert [where(f) for f in findings_of(doc) if f.code == "VALUE_OUT_OF_RANGE"] == [
        (SHEET, "G4", "其他资金 -1.00 超出允许范围（0–100000000）")]


def test_library_indicator_with_another_unit(doc):
    assert "LIBRARY_UNIT_MISMATCH" not in codes(doc)
    doc["projects"][1]["indicators"][1]["target"] = "≥20%"  # 执法行动次数 is counted in 次
    found = [f for f in findings_of(doc) if f.code == "LIBRARY_UNIT_MISMATCH"]
    assert len(found) == 1 and found[0].params == {"name": "执法行动次数", "unit": "次"} and not found[0].is_error


def test_own_library_file_extends_the_framework(doc, tmp_path):
    import json

    from xlperf.core.errors import FrameworkError
    from xlperf.framework.frameworks import with_library

    path = tmp_path / "mine.json"
    own = [{"level2": "数量指标", "name": "审核金额", "unit": "笔"}, {"level2": "数量指标", "name": "新指标", "unit": "个"}]
    path.write_text(json.dumps({"indicators": own}), encoding="utf-8")
    extended = with_library(CN2020, path)
    assert len(extended.library) == len(CN2020.library) + 1  # 审核金额 replaced, 新指标 added
    assert "LIBRARY_UNIT_MISMATCH" in codes(doc, extended)  # the seed's 审核金额 is 10.96万元
    path.write_text(json.dumps({"indicators": [{"level2": "不存在", "name": "x"}]}), encoding="utf-8")
    with pytest.raises(FrameworkError, match="needs a name and a 二级"):
        with_library(CN2020, path)


MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["budget_total", "fiscal", "other", "purpose", "goals", "spending_plan", "indicators", "level1",
                     "level2", "target", "project_code"]),
    st.one_of(st.none(), st.text(max_size=8), st.floats(allow_nan=False), st.integers(-5, 200), st.just([]),
              st.sampled_from(["产出指标", "成本指标", "社会效益指标", "数量指标"]))), max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=MUTATIONS, framework=st.sampled_from([CN2020, CN2021]))
def test_fast_and_explaining_validators_agree(seed, mutations, framework):
    document = copy.deepcopy(seed_document(seed))
    document["framework"] = framework.id
    project = document["projects"][0]
    for key, value in mutations:
        if key in ("level1", "level2", "target"):
            if isinstance(project["indicators"], list) and project["indicators"]:
                project["indicators"][0][key] = value
        else:
            project[key] = value
    explained = list(framework.validator.iter_errors(document))
    assert framework.fast_validator.is_valid(document) == (not explained)
