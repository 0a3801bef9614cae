"""Rebuild samples/templates, samples/returns and samples/returns-with-errors from samples/projects.csv.

    python tools/build_samples.py

The seed's unit is filled with exactly the published values (../shared/reference/seed_department.json,
or the copy in tests/data); the other units with plausible values; returns-with-errors plant the
typical mistakes units make. tests/test_samples.py checks the committed files are what this makes.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # fill.py: fills a template as a unit would

from fill import fill_template, seed_document  # noqa: E402

from xlperf.framework.spec import load_spec, project_layout, unit_layout  # noqa: E402
from xlperf.writers.sendout import make_templates  # noqa: E402

SAMPLES = HERE.parent / "samples"
SEED = HERE.parent / "tests" / "data" / "seed_department.json"
BASIS = "根据年初工作计划安排"


def _indicator(level1, level2, name, description, target):
    return {"level1": level1, "level2": level2, "name": name, "description": description, "target": target,
            "basis": BASIS}


OTHER_UNITS = {
    "471002": {
        "year": 2022,
        "unit": {"code": "471002", "name": "遵化市中小企业服务中心"},
        "overall_goal": "围绕全市中小企业发展需求，完善公共服务平台，培育“专精特新”企业，提升企业经营管理水平，促进中小企业高质量发展。",
        "measures": "（一）加强组织领导，明确责任分工。\n（二）规范资金管理，严格按预算执行。\n（三）做好绩效运行监控，及时整改发现的问题。",
        "projects": [
            {"project_code": "13028122P00307210002K", "goals": ["保障公共服务平台全年稳定运行。", "为企业提供政策咨询和融资对接服务。"],
             "spending_plan": {"3月底": 25, "6月底": 50, "10月底": 80, "12月底": 100},
             "indicators": [
                 _indicator("产出指标", "数量指标", "服务企业数量", "平台全年服务的企业数量", "≥300家"),
                 _indicator("产出指标", "质量指标", "平台正常运行率", "平台正常运行时长占全年时长的比例", "≥98%"),
                 _indicator("产出指标", "时效指标", "咨询响应及时率", "两个工作日内响应的咨询占比", "≥95%"),
                 _indicator("产出指标", "成本指标", "平台运行维护成本", "平台运行维护全年支出", "≤24.5万元"),
                 _indicator("效益指标", "经济效益指标", "促成融资金额", "通过平台对接促成的企业融资", "≥5000万元"),
                 _indicator("效益指标", "社会效益指标", "政策知晓率", "受访企业知晓惠企政策的比例", "≥90%"),
                 _indicator("效益指标", "可持续影响指标", "平台持续服务能力", "平台服务机制长效运行", "持续提升"),
                 _indicator("满意度指标", "服务对象满意度指标", "企业满意度", "受访企业对平台服务满意的比例", "≥90%"),
             ]},
            {"project_code": "13028122P003072200031", "purpose": "支持“专精特新”中小企业培育、认定辅导和奖励。",
             "goals": ["新培育市级以上“专精特新”企业不少于10家。"],
             "spending_plan": {"3月底": 10, "6月底": 40, "10月底": 80, "12月底": 100},
             "indicators": [
                 _indicator("产出指标", "数量指标", "新培育“专精特新”企业数", "新认定的市级以上专精特新企业数量", "≥10家"),
                 _indicator("产出指标", "质量指标", "申报材料合格率", "辅导企业申报材料一次通过的比例", "≥90%"),
                 _indicator("产出指标", "时效指标", "奖励资金拨付及时率", "认定后三个月内拨付的比例", "100%"),
                 _indicator("产出指标", "成本指标", "培育奖励支出", "专精特新企业培育奖励资金", "≤38万元"),
                 _indicator("效益指标", "经济效益指标", "培育企业营业收入增长率", "培育企业营业收入同比增长", "≥8%"),
                 _indicator("效益指标", "社会效益指标", "带动就业人数", "培育企业新增就业岗位", "≥200人"),
                 _indicator("满意度指标", "服务对象满意度指标", "企业满意度", "受访企业对培育服务满意的比例", "≥90%"),
             ]},
            {"project_code": "13028122P00307230004M", "purpose": "组织企业经营管理人才专题培训。",
             "goals": ["全年培训企业经营管理人员不少于300人次。", "提升企业经营管理水平。"],
             "spending_plan": {"3月底": 20, "6月底": 60, "10月底": 90, "12月底": 100},
             "indicators": [
                 _indicator("产出指标", "数量指标", "培训人次", "全年培训企业经营管理人员人次", "≥300人次"),
                 _indicator("产出指标", "质量指标", "培训合格率", "考核合格学员占参训学员的比例", "≥95%"),
                 _indicator("产出指标", "时效指标", "培训按期完成率", "按计划时间完成的培训班次比例", "100%"),
                 _indicator("产出指标", "成本指标", "培训费用", "全年培训支出", "≤12.6万元"),
                 _indicator("效益指标", "社会效益指标", "企业管理水平提升", "参训企业管理制度完善情况", "明显提升"),
                 _indicator("满意度指标", "服务对象满意度指标", "学员满意度", "受训学员满意和较满意的比例", "≥90%"),
             ]},
        ],
    },
    "471003": {
        "year": 2022,
        "unit": {"code": "471003", "name": "遵化市无线电监测站"},
        "overall_goal": "做好无线电频谱资源管理和监测工作，保障重要无线电业务和重大活动无线电安全。",
        "measures": "（一）落实监测值班制度。\n（二）加强设备运行维护。\n（三）完善重大活动保障预案。",
        "projects": [
            {"project_code": "13028122P00308110001A", "goals": ["保障监测设备全年正常运行。", "按时完成频谱日常监测任务。"],
             "spending_plan": {"3月底": 30, "6月底": 55, "10月底": 85, "12月底": 100},
             "indicators": [
                 _indicator("产出指标", "数量指标", "监测时长", "全年频谱监测累计时长", "≥2000小时"),
                 _indicator("产出指标", "质量指标", "设备完好率", "监测设备完好台数占总台数的比例", "≥95%"),
                 _indicator("产出指标", "时效指标", "干扰查处及时率", "按时办结的干扰投诉比例", "≥95%"),
                 _indicator("产出指标", "成本指标", "运行维护费用", "监测设备运行维护支出", "≤45.8万元"),
                 _indicator("效益指标", "社会效益指标", "重要业务无线电安全", "重要无线电业务未受有害干扰", "有效保障"),
                 _indicator("效益指标", "生态效益指标", "设备能耗", "监测站设备年度能耗较上年变化", "≤100%"),
                 _indicator("满意度指标", "服务对象满意度指标", "用频单位满意度", "受访用频单位满意的比例", "≥90%"),
             ]},
            {"project_code": "13028122P003081200027", "purpose": "开展重大活动无线电安全保障。",
             "goals": ["完成全年重大活动和考试的无线电安全保障任务。"],
             "spending_plan": {"3月底": 20, "6月底": 60, "10月底": 90, "12月底": 100},
             "indicators": [
                 _indicator("产出指标", "数量指标", "保障活动次数", "全年完成保障的重大活动和考试次数", "≥6次"),
                 _indicator("产出指标", "质量指标", "保障任务完成率", "无重大无线电安全事故的保障任务比例", "100%"),
                 _indicator("产出指标", "时效指标", "保障方案报送及时率", "活动前按时报送保障方案的比例", "100%"),
                 _indicator("产出指标", "成本指标", "保障经费", "重大活动无线电保障支出", "≤8万元"),
                 _indicator("效益指标", "社会效益指标", "考试作弊无线电信号查处", "考试期间作弊信号发现与阻断", "有效遏制"),
                 _indicator("满意度指标", "服务对象满意度指标", "主办单位满意度", "活动主办单位满意的比例", "≥95%"),
             ]},
        ],
    },
}

PROJECT = project_layout(load_spec())
UNIT = unit_layout(load_spec())


def field(key: str) -> str:
    """The cell of a project sheet's field (``fiscal``, ``spending_plan/3月底``, ...) in the current layout."""
    return PROJECT["fields"][key]


def indicator(number: int, key: str) -> str:
    """The cell of the ``number``-th indicator row's ``key`` (level1, level2, name, ..., basis)."""
    table = PROJECT["indicators"]
    return f"{table['columns'][key]}{table['first_row'] + number - 1}"


# file stem → (unit, {(sheet, cell): value}) — the typical mistakes units make
MISTAKES = {
    "471001_budget-and-plan-errors": ("471001", {
        ("工信局购置公务用车", field("fiscal")): 10.00, ("工信局购置公务用车", field("other")): 0.5,  # sum ≠ 预算数
        ("工信局购置公务用车", field("spending_plan/3月底")): 0.6,  # plan decreases
        ("工信局购置公务用车", field("spending_plan/6月底")): 0.3,
        ("工信局安全生产执法监督管理经费", field("spending_plan/12月底")): 0.95,  # plan ends below 100%
    }),
    "471002_indicator-errors": ("471002", {
        ("中小企业公共服务平台运行维护经费", indicator(2, "level2")): "社会效益指标",  # 二级 not under 产出指标
        ("中小企业公共服务平台运行维护经费", indicator(3, "target")): "≥≥95",  # neither parseable nor qualitative
        ("中小企业公共服务平台运行维护经费", indicator(4, "target")): "≤245万元",  # cost over budget
        ("中小企业公共服务平台运行维护经费", indicator(8, "target")): "非常满意",  # qualitative satisfaction (warning)
        ("“专精特新”企业培育专项经费", indicator(7, "basis")): None,  # partly filled row: basis blank
        ("企业经营管理人才培训经费", indicator(2, "name")): "培训人次",  # duplicate 三级 (warning)
        ("企业经营管理人才培训经费", indicator(4, "target")): "≥95%",  # cost indicator not money (warning)
    }),
    "471003_missing-parts": ("471003", {
        ("单位整体", UNIT["fields"]["measures"]): None,  # 工作保障措施 blank
        ("无线电频谱监测设备运行维护费", field("goals")): None,  # 绩效目标 blank
        **{("重大活动无线电安全保障经费", indicator(6, key)): None  # no 满意度指标 left
           for key in PROJECT["indicators"]["columns"]},
    }),
}


def documents() -> dict[str, dict]:
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    return {"471001": seed_document(seed), **OTHER_UNITS}


def build(samples: Path = SAMPLES) -> None:
    templates = samples / "templates"
    shutil.rmtree(templates, ignore_errors=True)
    result = make_templates(samples / "projects.csv", templates, year=2022, framework="cn-2020")
    by_unit = {unit["unit_code"]: templates / unit["file"] for unit in result.manifest["units"]}
    docs = documents()
    returns = samples / "returns"
    shutil.rmtree(returns, ignore_errors=True)
    for unit_code, path in by_unit.items():
        fill_template(path, docs[unit_code], returns / path.name)
    with_errors = samples / "returns-with-errors"
    shutil.rmtree(with_errors, ignore_errors=True)
    for stem, (unit_code, overrides) in MISTAKES.items():
        fill_template(by_unit[unit_code], docs[unit_code], with_errors / f"{stem}.xlsx", overrides)


if __name__ == "__main__":
    build()
    print(f"samples rebuilt under {SAMPLES}")
