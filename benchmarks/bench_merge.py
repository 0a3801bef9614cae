"""Benchmark: template → N filled returns → naive pandas read vs xlperf validate / merge / incremental merge.

    python benchmarks/bench_merge.py [--n 200] [--rounds 3] [--workdir DIR] [--json OUT.json] [--growth]

1. Data (cached in --workdir, default ~/.cache/xlperf-bench/n<N>, reused while stamp.json says the
   same N, xlperf version and generator version): a project list of N units x 8 projects, the
   templates `xlperf template` makes from it (timed), and one filled return per unit with 8
   projects x 12 indicators covering every 一级 of cn-2020. Returns are filled with xlperf's own
   template writer (``--fill writer``, default: a WorkbookPlan with the values and the template's
   locked fields, as annotate.py builds filled copies; fast, same layout as the real template) or
   by typing into the template with openpyxl (``--fill openpyxl``: slower, the way tests/fill.py
   fills). A few returns are checked with `xlperf validate` (0 errors, 0 warnings expected).
2. Rounds, in alternation, each command a separate process under a tiny wrapper that reports
   wall time, ru_maxrss of its children (the largest single process, workers included) and the
   sampled RSS sum of the whole process tree:
     naive        pandas.read_excel(f, sheet_name=None, engine="openpyxl") over all N files   (3 runs per round,
     validate     xlperf validate DIR --format json            (stdout to /dev/null)        in turn with validate
     merge        xlperf merge DIR -o OUT.xlsx --no-cache                                  and merge)
     incremental  xlperf merge DIR -o OUT.xlsx --cache-dir C   (C warmed by one merge, then 10 returns rewritten;
                  3 runs per round, the same 10 rewritten with new content before each)
     validate1    xlperf validate ONE_FILE                     (interactive latency; 3 runs per round)
3. Medians, ratios and PASS/FAIL per target as a table, and as JSON with --json.

Exit status is always 0: this is a measurement, not a test. Files are read from the page cache
after the first round (warm-cache figures).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from xlperf import __version__ as XLPERF_VERSION  # noqa: E402

GENERATOR_VERSION = 2  # 2: --mix errors
PROJECTS_PER_UNIT = 8
INDICATORS_PER_PROJECT = 12
CHANGED_RETURNS = 10
REPEATS = 3  # runs per round of each command timed but the report (the medians are reported): a run of a few
# seconds, or half of one, shows the machine's moment more than the code; the naive read, validate and merge run in
# turn, three times, so both sides of their ratios are taken over the same minutes
YEAR = 2022
FRAMEWORK = "cn-2020"

TARGETS = {  # issue 15 (real returns, scale past one county)
    "template_s_per_1000": 60.0,
    "merge_over_naive": 0.12,
    "validate_over_naive": 0.06,
    "incremental_over_merge": 0.10,
    "merge_rss_mb": 300.0,  # at N <= 1,000
    "merge_rss_mb_large": 500.0,  # at N = 20,000
    "validate1_s": 0.3,
    "growth_ratio": 1.5,
    "linear_ratio": 1.3,  # merge seconds per return at N / at the --linear-against run
    "report_rss_mb": 1024.0,  # xlperf report of 1,000 units: < 1 GB
    "report_linear_ratio": 1.3,  # report seconds per unit at N / at N = 200 (--growth) or the --linear-against run
}

# --------------------------------------------------------------------------------------------
# Measuring wrapper: runs one command, prints JSON {rc, seconds, maxrss_kb, tree_peak_kb}.
# ru_maxrss of RUSAGE_CHILDREN is the largest single descendant (merge workers are reaped by the
# merge process, so they count); tree_peak_kb samples the sum over the live process tree.
# --------------------------------------------------------------------------------------------
WRAPPER = r'''
import json, os, resource, subprocess, sys, threading, time
result_path, stdout_path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
PAGE = os.sysconf("SC_PAGE_SIZE") // 1024

def tree(pid):
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return pids

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0

peak = [0]
done = threading.Event()
def sample(pid):
    while not done.is_set():
        peak[0] = max(peak[0], sum(rss_kb(p) for p in tree(pid)))
        done.wait(0.1)

with open(stdout_path, "wb") as out:
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
    sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
    sampler.start()
    _, err = child.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(result_path, "w") as fh:
    json.dump({"rc": child.returncode, "seconds": seconds, "maxrss_kb": usage.ru_maxrss,
               "tree_peak_kb": max(peak[0], usage.ru_maxrss), "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
               "stderr_tail": err.decode("utf-8", "replace")[-2000:]}, fh)
'''

NAIVE = r'''
import sys, warnings
from pathlib import Path
import pandas as pd
warnings.simplefilter("ignore")
files = sorted(Path(sys.argv[1]).rglob("*.xlsx"))
cells = 0
for f in files:
    sheets = pd.read_excel(f, sheet_name=None, engine="openpyxl")
    cells += sum(frame.size for frame in sheets.values())
print(len(files), "files", cells, "cells")
'''


def measure(cmd: list[str], stdout: str = os.devnull) -> dict:
    """Run ``cmd`` under the wrapper in a fresh process; wall seconds, peak RSS, exit code."""
    load_before = os.getloadavg()[0]  # a busy machine shows up here: compare rounds before trusting a median
    with tempfile.TemporaryDirectory() as scratch:
        result_path = os.path.join(scratch, "r.json")
        subprocess.run([sys.executable, "-c", WRAPPER, result_path, stdout, *cmd], check=True, cwd=REPO,
                       env=_env())
        with open(result_path) as fh:
            result = json.load(fh)
    result["load1_before"] = load_before
    return result


def source_digest() -> str:
    """Which xlperf code was measured (other people edit it while benchmarks run)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "xlperf").rglob("*.py")):  # every stage's sub-package
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    # An installed xlperf runs from compiled bytecode (pip compiles it). A sandbox that sets
    # PYTHONDONTWRITEBYTECODE would have every measured command compile xlperf's sources again (about
    # 100 ms a process): the bytecode goes to a cache of the benchmark's own instead (see compile_sources).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


PYCACHE = Path(tempfile.gettempdir()) / "xlperf-bench-pycache"


def compile_sources() -> None:
    """Compile xlperf once, as installing it does, before anything is timed."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "xlperf")], check=True, env=_env(),
                   stdout=subprocess.DEVNULL)


def drop_file_cache(folder: Path) -> int:
    """Ask the kernel to forget the pages of the files under ``folder`` (cold reads, as right after the
    returns were copied in or the machine started); returns how many files. Only this benchmark's data."""
    count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            count += 1
    return count


def xlperf(*args: str) -> list[str]:
    return [sys.executable, "-m", "xlperf", *args]


# --------------------------------------------------------------------------------------------
# Plausible data
# --------------------------------------------------------------------------------------------
COUNTIES = ["遵化市", "迁安市", "滦州市", "丰润区", "玉田县", "迁西县", "乐亭县", "滦南县", "曹妃甸区", "路北区"]
DEPARTMENTS = ["工业和信息化局", "教育局", "卫生健康局", "农业农村局", "自然资源和规划局", "生态环境局", "住房和城乡建设局",
               "交通运输局", "水务局", "文化广电和旅游局", "市场监督管理局", "应急管理局", "民政局", "人力资源和社会保障局",
               "司法局", "财政局", "审计局", "统计局", "林业局", "医疗保障局"]
SUFFIXES = ["本级", "事务中心", "服务中心", "监测站", "综合执法大队", "信息中心"]
PROJECT_NAMES = ["购置公务用车", "安全生产执法监督管理经费", "公共场所无线局域网建设和免费开放项目服务费", "科技发展工作经费",
                 "公共服务平台运行维护经费", "专精特新企业培育专项经费", "经营管理人才培训经费", "频谱监测设备运行维护费",
                 "重大活动保障经费", "办公楼维修改造经费", "信息系统运行维护费", "业务培训经费", "宣传教育经费",
                 "专项检查工作经费", "档案数字化经费", "应急物资储备经费", "环境质量监测经费", "农村公路养护经费",
                 "水利设施运行维护经费", "公共文化服务经费", "食品安全抽检经费", "困难群众救助工作经费",
                 "就业创业服务经费", "法律援助经费", "森林防火经费", "医保基金监管经费", "统计调查经费", "审计业务经费"]
PURPOSES = ["保障{p}及时、足额支出，加强预算监督，提高资金使用效益，保障单位工作顺利开展。",
            "用于{p}相关支出，严格执行预算，确保资金专款专用。",
            "按照年度工作计划开展{p}相关工作，规范资金管理，提升服务质量。"]
GOALS = ["按期完成年度工作任务。", "提高资金使用效益，严格控制成本。", "提升服务对象满意度。", "保障相关工作正常运转。",
         "建立长效管理机制。", "及时排查安全隐患，做到防患于未然。", "完善制度建设，规范业务流程。"]
BASES = ["根据年初工作计划安排", "根据上年度完成情况", "根据行业标准", "根据相关政策文件要求", "根据历史数据测算"]
# level2 → [(三级 name, description, target pattern)]; {n} a count, {p} a percentage, {m} money ≤ budget
POOL = {
    "数量指标": [("服务企业数量", "全年服务的企业数量", "≥{n}家"), ("培训人次", "全年培训人员人次", "≥{n}人次"),
             ("执法检查次数", "全年开展执法检查的次数", "≥{n}次"), ("监测时长", "全年累计监测时长", "≥{n}小时"),
             ("设备购置数量", "购置设备的台数", "={n}台"), ("巡查次数", "全年巡查次数", "≥{n}次"),
             ("宣传活动场次", "开展宣传活动的场次", "≥{n}场")],
    "质量指标": [("验收合格率", "项目验收合格的比例", "≥{p}%"), ("设备完好率", "设备完好台数占总台数的比例", "≥{p}%"),
             ("任务完成率", "完成的任务占计划任务的比例", "={p}%"), ("抽检合格率", "抽检合格批次占比", "≥{p}%")],
    "时效指标": [("按期完成率", "按计划时间完成的比例", "≥{p}%"), ("资金拨付及时率", "按时拨付资金的比例", "={p}%"),
             ("响应及时率", "规定时限内响应的比例", "≥{p}%")],
    "成本指标": [("项目支出成本", "项目全年支出", "≤{m}万元"), ("运行维护成本", "运行维护全年支出", "≤{m}万元")],
    "经济效益指标": [("节约资金", "通过集中采购节约的资金", "≥{n}万元"), ("带动投资", "带动社会投资金额", "≥{n}万元")],
    "社会效益指标": [("政策知晓率", "受访对象知晓政策的比例", "≥{p}%"), ("公共服务水平", "公共服务能力提升情况", "明显提升"),
                 ("带动就业人数", "新增就业岗位数", "≥{n}人")],
    "生态效益指标": [("环境质量改善", "区域环境质量变化情况", "持续改善"), ("能耗下降率", "年度能耗较上年下降比例", "≥{s}%")],
    "可持续影响指标": [("长效机制建立", "管理制度长效运行情况", "持续发挥作用"), ("设备使用年限", "设备正常使用年限", "≥{s}年")],
    "服务对象满意度指标": [("服务对象满意度", "受访服务对象满意的比例", "≥{p}%"), ("群众满意度", "受访群众满意和较满意的比例", "≥{p}%")],
}
LEVEL1_OF = {"数量指标": "产出指标", "质量指标": "产出指标", "时效指标": "产出指标", "成本指标": "产出指标",
             "经济效益指标": "效益指标", "社会效益指标": "效益指标", "生态效益指标": "效益指标", "可持续影响指标": "效益指标",
             "服务对象满意度指标": "满意度指标"}
# 12 indicators: 6 产出 (every 二级), 4 效益, 2 满意度
LAYOUT = ["数量指标", "数量指标", "质量指标", "时效指标", "成本指标", "质量指标",
          "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标",
          "服务对象满意度指标", "服务对象满意度指标"]
assert len(LAYOUT) == INDICATORS_PER_PROJECT


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def unit_code(i: int) -> str:
    return f"{480000 + i:06d}" if i < 520000 else f"U{i:07d}"


def write_project_list(path: Path, n: int, seed: int = 20220101) -> None:
    rng = random.Random(seed)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    lines = ["单位编码,单位名称,项目编码,项目名称,预算数,财政资金,其他资金,资金用途"]
    for i in range(n):
        name = f"{COUNTIES[i % len(COUNTIES)]}{DEPARTMENTS[(i // len(COUNTIES)) % len(DEPARTMENTS)]}" \
               f"{SUFFIXES[(i // (len(COUNTIES) * len(DEPARTMENTS))) % len(SUFFIXES)]}"
        if i >= len(COUNTIES) * len(DEPARTMENTS) * len(SUFFIXES):
            name += f"第{i // (len(COUNTIES) * len(DEPARTMENTS) * len(SUFFIXES)) + 1}分部"
        for j, project in enumerate(rng.sample(PROJECT_NAMES, PROJECTS_PER_UNIT)):
            code = f"13028122P{i:06d}{j:02d}" + "".join(rng.choice(alphabet) for _ in range(4))
            cents = rng.randint(100, 500_000)  # 1.00 … 5000.00 万元
            other = rng.randint(0, cents // 3) if rng.random() < 0.3 else 0
            purpose = rng.choice(PURPOSES).format(p=project) if rng.random() < 0.5 else ""
            lines.append(",".join([unit_code(i), name, code, project, f"{cents / 100:.2f}",
                                   f"{(cents - other) / 100:.2f}", f"{other / 100:.2f}" if other else "", purpose]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def filled_values(project: dict, rng: random.Random, locked: frozenset[str]) -> dict:
    """A unit's answers for one project sheet: valid, varied."""
    budget = float(project["budget_total"])
    values: dict = {}
    if "purpose" not in locked:
        values["purpose"] = rng.choice(PURPOSES).format(p=project.get("project_name") or "本项目")
    values["goals"] = rng.sample(GOALS, rng.randint(1, 3))
    cuts = sorted(rng.randint(5, 95) for _ in range(3))
    values["spending_plan"] = dict(zip(("3月底", "6月底", "10月底", "12月底"), [*cuts, 100]))
    indicators = []
    used: dict[str, list] = {}
    for level2 in LAYOUT:
        choices = [entry for entry in POOL[level2] if entry not in used.get(level2, [])]
        name, description, pattern = rng.choice(choices)
        used.setdefault(level2, []).append((name, description, pattern))
        money = max(0.01, int(budget * rng.uniform(0.3, 1.0) * 100) / 100)  # floored: never above budget
        target = pattern.format(n=rng.randint(2, 500), p=rng.choice([80, 85, 90, 95, 98, 100]),
                                m=_fmt(money), s=rng.randint(2, 10))
        indicators.append({"level1": LEVEL1_OF[level2], "level2": level2, "name": name, "description": description,
                           "target": target, "basis": rng.choice(BASES)})
    values["indicators"] = indicators
    return values


MISTAKES = ("blank_measures", "plan_decreasing", "level2_mismatch", "target_invalid", "blank_basis",
            "duplicate_name")


def plant_mistakes(unit_values: dict, sheets: list[dict], rng: random.Random) -> list[str]:
    """1-3 mistakes of different kinds, as a real first round has them: most returns come back with one."""
    kinds = rng.sample(MISTAKES, rng.randint(1, 3))
    for kind in kinds:
        sheet = rng.choice(sheets)
        indicator = rng.choice(sheet["indicators"])
        if kind == "blank_measures":
            unit_values["measures"] = ""
        elif kind == "plan_decreasing":
            plan = sheet["spending_plan"]
            plan["6月底"], plan["3月底"] = plan["3月底"], max(plan["6月底"], plan["3月底"] + 1)
        elif kind == "level2_mismatch":
            indicator["level2"] = "社会效益指标" if indicator["level1"] == "产出指标" else "数量指标"
        elif kind == "target_invalid":
            indicator["target"] = "≥≥95"
        elif kind == "blank_basis":
            indicator["basis"] = ""
        else:
            indicator["name"] = sheet["indicators"][0]["name"] if indicator is not sheet["indicators"][0] else \
                sheet["indicators"][1]["name"]
    return kinds


def unit_answers(plan, index: int, variant: int, mix: str = "clean") -> tuple[dict, list[dict]]:
    rng = random.Random(index * 1000 + variant)
    unit_values = {
        "overall_goal": f"{plan.unit_name}围绕年度重点工作，规范预算管理，提高资金使用效益，按期完成各项任务。"
                        + ("（第%d次修订）" % variant if variant else ""),
        "measures": "\n".join(rng.sample(["（一）加强组织领导，明确责任分工。", "（二）规范资金管理，严格按预算执行。",
                                          "（三）做好绩效运行监控，及时整改发现的问题。", "（四）加强业务培训，提升服务能力。"], 3)),
    }
    sheets = [filled_values(sheet.project, rng, sheet.locked) for sheet in plan.sheets]
    if mix == "errors":
        plant_mistakes(unit_values, sheets, rng)
    return unit_values, sheets


def _plans(project_list: Path):
    from xlperf.intake.projectlist import read_project_list
    from xlperf.writers.sendout import unit_plans
    from xlperf.framework.spec import load_spec

    return unit_plans(read_project_list(project_list), YEAR, load_spec(), None, None)


_WORKER_PLANS: dict = {}


def _fill_one(args: tuple) -> int:
    """Write one filled return (in a worker process)."""
    project_list, index, variant, template_path, out_path, mode = args
    mode, _, mix = mode.partition("+")
    if project_list not in _WORKER_PLANS:
        _WORKER_PLANS[project_list] = _plans(Path(project_list))
    plan = _WORKER_PLANS[project_list][index]
    unit_values, sheets = unit_answers(plan, index, variant, mix or "clean")
    if mode == "writer":
        data = _fill_with_writer(plan, unit_values, sheets)
    else:
        data = _fill_with_openpyxl(Path(template_path), plan, unit_values, sheets)
    tmp = Path(out_path).with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out_path)
    return len(data)


def _fill_with_writer(plan, unit_values: dict, sheets: list[dict]) -> bytes:
    """The filled copy as xlperf's template writer makes it (like annotate.annotation_plan): same
    sheets, same locked fields and metadata as the template, plus the unit's values."""
    from xlperf.framework.frameworks import load_framework
    from xlperf.framework.spec import load_spec
    from xlperf.writers.template import SheetPlan, WorkbookPlan, build_workbook

    filled = WorkbookPlan(
        year=plan.year, unit_code=plan.unit_code, unit_name=plan.unit_name,
        sheets=[SheetPlan(name=sheet.name, project={**sheet.project, **values}, locked=sheet.locked)
                for sheet, values in zip(plan.sheets, sheets)],
        unit_values=unit_values, indicator_rows=plan.indicator_rows, password=plan.password)
    return build_workbook(filled, load_framework(FRAMEWORK), load_spec())


def _fill_with_openpyxl(template: Path, plan, unit_values: dict, sheets: list[dict]) -> bytes:
    """Type the values into the template's input cells with openpyxl and save (like tests/fill.py)."""
    import io

    import openpyxl

    workbook = openpyxl.load_workbook(template)
    meta: dict = {"projects": []}
    for key, value in workbook["_meta"].iter_rows(min_row=2, max_col=2, values_only=True):
        if key == "project":
            meta["projects"].append(json.loads(value))
        elif key:
            meta[key] = json.loads(value)
    unit_sheet = workbook[meta["workbook"]["sheets"]["unit"]]
    for key, cell in meta["layout.unit"]["fields"].items():
        if key in unit_values:
            unit_sheet[cell] = unit_values[key]
    layout = meta["layout.project"]
    fields, table = layout["fields"], layout["indicators"]
    for project_meta, values in zip(meta["projects"], sheets):
        sheet = workbook[project_meta["sheet"]]
        if "purpose" in values:
            sheet[fields["purpose"]] = values["purpose"]
        sheet[fields["goals"]] = "\n".join(f"{n}.{goal}" for n, goal in enumerate(values["goals"], start=1))
        for milestone, pct in values["spending_plan"].items():
            sheet[fields[f"spending_plan/{milestone}"]] = pct / 100
        for offset, indicator in enumerate(values["indicators"]):
            for key, column in table["columns"].items():
                cell = sheet[f"{column}{table['first_row'] + offset}"]
                cell.value = indicator[key]
                cell.data_type = "s"  # "=95%" typed into a text cell is text, not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fill_returns(workdir: Path, indices: list[int], variant: int, mode: str, jobs: int) -> list[int]:
    manifest = json.loads((workdir / "templates" / "manifest.json").read_text(encoding="utf-8"))
    units = manifest["units"]
    tasks = [(str(workdir / "projects.csv"), i, variant, str(workdir / "templates" / units[i]["file"]),
              str(workdir / "returns" / units[i]["file"]), mode) for i in indices]
    (workdir / "returns").mkdir(parents=True, exist_ok=True)
    if jobs <= 1 or len(tasks) < 8:
        return [_fill_one(task) for task in tasks]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_fill_one, tasks, chunksize=16))


def check_sample(workdir: Path, files: list[Path]) -> dict:
    run = subprocess.run(xlperf("validate", *map(str, files), "--format", "json"), capture_output=True, cwd=REPO,
                         env=_env())
    report = json.loads(run.stdout)
    return {"files": len(report["files"]), "rc": run.returncode,
            "errors": sum(f["errors"] for f in report["files"]),
            "warnings": sum(f["warnings"] for f in report["files"]),
            "codes": sorted({x["code"] for f in report["files"] for x in f["findings"]})}


def prepare(workdir: Path, n: int, mode: str, jobs: int, log) -> dict:
    """Generate (or reuse) the project list, templates and returns; returns generation facts."""
    stamp_path = workdir / "stamp.json"
    wanted = {"n": n, "xlperf_version": XLPERF_VERSION, "generator": GENERATOR_VERSION, "fill": mode}
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text())
        returns = list((workdir / "returns").glob("*.xlsx"))
        if {k: stamp.get(k) for k in wanted} == wanted and len(returns) == n:
            log(f"reusing {n} returns in {workdir} (generated {stamp.get('generated')})")
            stamp["reused"] = True
            return stamp
    log(f"generating {n} units x {PROJECTS_PER_UNIT} projects in {workdir} ...")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    write_project_list(workdir / "projects.csv", n)
    template = measure(xlperf("template", str(workdir / "projects.csv"), "-o", str(workdir / "templates"),
                              "--year", str(YEAR), "--framework", FRAMEWORK, "--lang", "en"))
    if template["rc"] != 0:
        raise SystemExit(f"xlperf template failed: {template['stderr_tail']}")
    log(f"  xlperf template: {template['seconds']:.1f} s for {n} workbooks")
    start = time.perf_counter()
    sizes = fill_returns(workdir, list(range(n)), 0, mode, jobs)
    fill_seconds = time.perf_counter() - start
    log(f"  filled {n} returns ({mode}) in {fill_seconds:.1f} s, mean {statistics.mean(sizes) / 1024:.1f} KB")
    returns = sorted((workdir / "returns").glob("*.xlsx"))
    count = len(returns)
    sample = [returns[k] for k in sorted({0, count // 3, count // 2, 2 * count // 3, count - 1})]
    check = check_sample(workdir, sample)
    log(f"  validate sample: {check}")
    template_sizes = [p.stat().st_size for p in (workdir / "templates").glob("*.xlsx")]
    stamp = {**wanted, "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "fill_seconds": round(fill_seconds, 2),
             "template_run": {k: template[k] for k in ("seconds", "maxrss_kb", "tree_peak_kb", "rc")},
             "return_kb_mean": round(statistics.mean(sizes) / 1024, 1),
             "template_kb_mean": round(statistics.mean(template_sizes) / 1024, 1),
             "sample_check": check}
    stamp_path.write_text(json.dumps(stamp, ensure_ascii=False, indent=2))
    stamp["reused"] = False
    return stamp


# --------------------------------------------------------------------------------------------
# The rounds
# --------------------------------------------------------------------------------------------
def changed_indices(n: int) -> list[int]:
    count = min(CHANGED_RETURNS, n)
    return sorted({int(k * n / count) for k in range(count)})


def run(args) -> dict:
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    digest_before = source_digest()
    n = args.n
    suffix = "-errors" if args.fill.endswith("+errors") else ""
    workdir = Path(args.workdir or Path.home() / ".cache" / "xlperf-bench" / f"n{n}{suffix}").expanduser()
    jobs = os.cpu_count() or 1
    compile_sources()
    data = prepare(workdir, n, args.fill, jobs, log)
    returns_dir = workdir / "returns"
    out_dir = workdir / "out"

    def timed(cmd: list[str]) -> dict:
        """``measure``, with the data's pages dropped first under --cold-files (reads from the disk)."""
        if args.cold_files:
            drop_file_cache(returns_dir)
            if (out_dir / "cache").is_dir():
                drop_file_cache(out_dir / "cache")
        return measure(cmd)
    out_dir.mkdir(exist_ok=True)
    summary = out_dir / "summary.xlsx"
    returns = sorted(returns_dir.glob("*.xlsx"))
    one_file = returns[len(returns) // 2]

    results: dict[str, list[dict]] = {k: [] for k in ("template", "naive", "validate", "merge", "merge_cold_cache",
                                                      "incremental", "validate1", "report")}
    if not args.skip_template:  # re-time the template writer on every run (into a scratch folder)
        scratch = workdir / "templates-retime"
        shutil.rmtree(scratch, ignore_errors=True)
        results["template"].append(measure(xlperf("template", str(workdir / "projects.csv"), "-o", str(scratch),
                                                  "--year", str(YEAR), "--framework", FRAMEWORK, "--lang", "en")))
        shutil.rmtree(scratch, ignore_errors=True)
        log(f"template: {results['template'][-1]['seconds']:.2f} s")
    else:
        results["template"].append(data["template_run"])

    # beyond Excel's 1,048,576 rows a summary workbook is refused: the tables go to Parquet (as a user must)
    parquet = ["--parquet", str(out_dir / "parquet")] if args.parquet else []
    changed = changed_indices(n)
    variant = 0
    try:
        for round_number in range(1, args.rounds + 1):
            log(f"--- round {round_number}/{args.rounds}")
            for _ in range(REPEATS):  # in turn, so the ratios' two sides meet the same moments of the machine
                if not args.skip_naive:
                    results["naive"].append(timed([sys.executable, "-c", NAIVE, str(returns_dir)]))
                    log(f"naive: {results['naive'][-1]['seconds']:.2f} s")
                results["validate"].append(timed(xlperf("validate", str(returns_dir), "--format", "json")))
                log(f"validate: {results['validate'][-1]['seconds']:.2f} s rc={results['validate'][-1]['rc']}")
                results["merge"].append(timed(xlperf("merge", str(returns_dir), "-o", str(summary), "--no-cache",
                                                       *parquet, "--lang", "en")))
                log(f"merge: {results['merge'][-1]['seconds']:.2f} s rc={results['merge'][-1]['rc']} "
                    f"rss={results['merge'][-1]['maxrss_kb'] / 1024:.0f} MB")
            cache = out_dir / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            results["merge_cold_cache"].append(timed(xlperf("merge", str(returns_dir), "-o", str(summary),
                                                              "--cache-dir", str(cache), *parquet, "--lang", "en")))
            log(f"merge writing a cold cache: {results['merge_cold_cache'][-1]['seconds']:.2f} s")
            for _ in range(REPEATS):
                variant += 1  # the same returns rewritten with new content each time: ten cache misses each run
                fill_returns(workdir, changed, variant, args.fill, jobs)
                results["incremental"].append(timed(xlperf("merge", str(returns_dir), "-o", str(summary),
                                                             "--cache-dir", str(cache), *parquet, "--lang", "en")))
                log(f"incremental ({len(changed)} changed): {results['incremental'][-1]['seconds']:.2f} s "
                    f"rc={results['incremental'][-1]['rc']}")
            for _ in range(REPEATS):
                results["validate1"].append(timed(xlperf("validate", str(one_file))))
            log(f"validate one file: {statistics.median(r['seconds'] for r in results['validate1'][-REPEATS:]):.3f} s")
            if not args.skip_report:
                results["report"].append(timed(report_command(returns_dir, out_dir)))
                log(f"report: {results['report'][-1]['seconds']:.2f} s rc={results['report'][-1]['rc']} "
                    f"rss={results['report'][-1]['maxrss_kb'] / 1024:.0f} MB")
    finally:
        if variant:  # put the changed returns back as generated, so the data set matches its stamp
            fill_returns(workdir, changed, 0, args.fill, jobs)

    growth = None
    if args.growth:
        if n == 200:
            growth = {"n": 200, "runs": results["merge"], "report_runs": results["report"]}
        else:
            growth_dir = Path(args.growth_workdir or workdir.parent / f"n200{suffix}").expanduser()
            prepare(growth_dir, 200, args.fill, jobs, log)
            runs = [measure(xlperf("merge", str(growth_dir / "returns"), "-o", str(growth_dir / "summary-growth.xlsx"),
                                   "--no-cache", "--lang", "en")) for _ in range(max(1, args.rounds))]
            report_runs = [] if args.skip_report else [measure(report_command(growth_dir / "returns", growth_dir))
                                                       for _ in range(max(1, args.rounds))]
            growth = {"n": 200, "runs": runs, "report_runs": report_runs}
            log(f"merge at N=200: rss={statistics.median(r['maxrss_kb'] for r in runs) / 1024:.0f} MB")
            if report_runs:
                log(f"report at N=200: {statistics.median(r['seconds'] for r in report_runs):.2f} s")

    digests = sorted({digest_before, source_digest()})
    if len(digests) > 1:
        log(f"WARNING: xlperf source changed during the run ({' -> '.join(digests)}); figures mix two versions")
    return report(args, n, workdir, data, results, growth, changed, digests)


def report_command(returns_dir: Path, out_dir: Path) -> list[str]:
    """``xlperf report`` of every return (those with errors kept: in the error mix every return has some)."""
    return xlperf("report", str(returns_dir), "-o", str(out_dir / "report.docx"), "--include-invalid", "--lang", "en")


def _median(runs: list[dict], key: str = "seconds") -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def report(args, n: int, workdir: Path, data: dict, results: dict, growth: dict | None, changed: list[int],
           digests: list[str]) -> dict:
    med = {name: _median(runs) for name, runs in results.items()}
    rss = {name: _median(runs, "maxrss_kb") for name, runs in results.items()}
    tree = {name: _median(runs, "tree_peak_kb") for name, runs in results.items()}

    def ratio(a, b):
        return a / b if a is not None and b else None

    template_limit = TARGETS["template_s_per_1000"] * n / 1000
    merge_mb = rss["merge"] / 1024 if rss["merge"] else None
    rss_limit = TARGETS["merge_rss_mb"] if n <= 1000 else TARGETS["merge_rss_mb_large"]
    tree_mb = tree["merge"] / 1024 if tree["merge"] else None
    checks = [
        ("template writes N workbooks", med["template"], f"≤ {template_limit:.1f} s (60 s per 1,000)",
         med["template"] is not None and med["template"] <= template_limit),
        ("merge / naive", ratio(med["merge"], med["naive"]), f"≤ {TARGETS['merge_over_naive']}",
         _le(ratio(med["merge"], med["naive"]), TARGETS["merge_over_naive"])),
        ("validate / naive", ratio(med["validate"], med["naive"]), f"≤ {TARGETS['validate_over_naive']}",
         _le(ratio(med["validate"], med["naive"]), TARGETS["validate_over_naive"])),
        ("incremental / full merge", ratio(med["incremental"], med["merge"]), f"≤ {TARGETS['incremental_over_merge']}",
         _le(ratio(med["incremental"], med["merge"]), TARGETS["incremental_over_merge"])),
        ("merge peak RSS, largest process (MB)", merge_mb,
         f"< {rss_limit:.0f}" + ("" if n in (1000, 20000) else f" (stated for N={1000 if n < 20000 else 20000})"),
         merge_mb is not None and merge_mb < rss_limit),
        ("merge peak RSS, process tree sum (MB)", tree_mb, f"< {rss_limit:.0f} (stricter reading)",
         tree_mb is not None and tree_mb < rss_limit),
        ("validate of one return (s)", med["validate1"], f"< {TARGETS['validate1_s']}",
         med["validate1"] is not None and med["validate1"] < TARGETS["validate1_s"]),
    ]
    report_mb = rss["report"] / 1024 if rss["report"] else None
    checks.append(("report peak RSS, largest process (MB)", report_mb,
                   f"< {TARGETS['report_rss_mb']:.0f}" + ("" if n == 1000 else " (stated for N=1000)"),
                   report_mb is not None and report_mb < TARGETS["report_rss_mb"]))
    report_linear = []  # (against, units there, seconds per unit there)
    linear_out = None
    if args.linear_against:  # time per return against a smaller run (e.g. N=1,000) of the same mix
        base = json.loads(Path(args.linear_against).read_text())
        base_merge = base["median_seconds"].get("merge")
        per_return = med["merge"] / n if med["merge"] else None
        base_per_return = base_merge / base["n"] if base_merge else None
        linear_ratio = ratio(per_return, base_per_return)
        linear_out = {"against": args.linear_against, "n_base": base["n"], "merge_s_per_return_base": base_per_return,
                      "merge_s_per_return_n": per_return, "ratio": linear_ratio}
        checks.append((f"merge s per return, N={n} / N={base['n']}", linear_ratio, f"≤ {TARGETS['linear_ratio']}",
                       _le(linear_ratio, TARGETS["linear_ratio"])))
        if base["median_seconds"].get("report"):
            report_linear.append((args.linear_against, base["n"], base["median_seconds"]["report"] / base["n"]))
    growth_out = None
    if growth is not None:
        base = _median(growth["runs"], "maxrss_kb")
        growth_ratio = ratio(rss["merge"], base)
        growth_out = {"n_base": 200, "merge_maxrss_mb_base": base / 1024 if base else None,
                      "merge_maxrss_mb_n": merge_mb, "ratio": growth_ratio, "runs": growth["runs"]}
        checks.append((f"merge RSS growth N={n} / N=200", growth_ratio, f"< {TARGETS['growth_ratio']}",
                       growth_ratio is not None and growth_ratio < TARGETS["growth_ratio"]))
        base_report = _median(growth.get("report_runs") or [])
        growth_out["report_seconds_base"] = base_report
        growth_out["report_maxrss_mb_base"] = (_median(growth["report_runs"], "maxrss_kb") or 0) / 1024 \
            if growth.get("report_runs") else None
        if base_report and n != 200:
            report_linear.append(("N=200 (--growth)", 200, base_report / 200))
    for against, units, base_per_unit in report_linear:
        report_ratio = ratio(med["report"] / n if med["report"] else None, base_per_unit)
        checks.append((f"report s per unit, N={n} / N={units}", report_ratio, f"≤ {TARGETS['report_linear_ratio']}",
                       _le(report_ratio, TARGETS["report_linear_ratio"])))

    rcs = {name: sorted({r["rc"] for r in runs}) for name, runs in results.items()}
    machine = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
               "processor": _cpu_model(), "mem_total_mb": _mem_total_mb()}
    out = {
        "n": n, "rounds": args.rounds, "workdir": str(workdir), "xlperf_version": XLPERF_VERSION,
        "xlperf_source_sha256": digests,
        "fill": args.fill, "data": data, "machine": machine, "changed_returns": len(changed),
        "median_seconds": med, "median_maxrss_mb": {k: (v / 1024 if v else None) for k, v in rss.items()},
        "median_tree_peak_mb": {k: (v / 1024 if v else None) for k, v in tree.items()},
        "exit_codes": rcs,
        "targets": [{"name": name, "value": value, "target": target, "pass": None if value is None else bool(ok)}
                    for name, value, target, ok in checks],
        "growth": growth_out, "linear": linear_out, "cold_files": bool(args.cold_files), "parquet": bool(args.parquet),
        "bytecode": "compiled once into " + str(PYCACHE),
        "raw": results,
    }
    print_table(out, checks)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2))
    return out


def _le(value, limit) -> bool:
    return value is not None and value <= limit


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _mem_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def print_table(out: dict, checks: list) -> None:
    m = out["machine"]
    d = out["data"]
    print(f"\nxlperf {out['xlperf_version']} — N={out['n']} returns ({PROJECTS_PER_UNIT} projects x "
          f"{INDICATORS_PER_PROJECT} indicators, mean {d.get('return_kb_mean')} KB, filled with "
          f"{'the xlperf template writer' if out['fill'].startswith('writer') else 'openpyxl'}"
          f"{', every one with 1-3 mistakes' if out['fill'].endswith('+errors') else ', clean'}), "
          f"rounds={out['rounds']}, {'cold' if out['cold_files'] else 'warm'} page cache")
    print(f"machine: nproc={m['nproc']}, Python {m['python']}, {m['processor']}, {m['mem_total_mb']} MB RAM; "
          f"xlperf source {'/'.join(out['xlperf_source_sha256'])}")
    print(f"generation: {'reused ' + str(d.get('generated')) if d.get('reused') else 'fresh'}; fill "
          f"{d.get('fill_seconds')} s; sample validate {d.get('sample_check')}")
    print()
    rows = [("command", "median s", "min s", "max s", "peak RSS MB", "tree RSS MB", "exit")]
    labels = {"template": "xlperf template (N workbooks)", "naive": "naive pandas.read_excel (openpyxl)",
              "validate": "xlperf validate DIR --format json", "merge": "xlperf merge --no-cache",
              "merge_cold_cache": "xlperf merge, cold --cache-dir (warm-up)",
              "incremental": f"xlperf merge --cache-dir, {out['changed_returns']} changed",
              "validate1": "xlperf validate ONE_FILE", "report": "xlperf report DIR --include-invalid"}
    for name, label in labels.items():
        runs = out["raw"][name]
        if not runs:
            continue
        seconds = [r["seconds"] for r in runs]
        rows.append((label, f"{statistics.median(seconds):.3f}", f"{min(seconds):.3f}", f"{max(seconds):.3f}",
                     f"{out['median_maxrss_mb'][name]:.0f}", f"{out['median_tree_peak_mb'][name]:.0f}",
                     ",".join(map(str, out["exit_codes"][name]))))
    _print_rows(rows)
    loads = [r["load1_before"] for runs in out["raw"].values() for r in runs if "load1_before" in r]
    if loads:
        print(f"load average (1 min) before each command: {min(loads):.2f}–{max(loads):.2f} "
              f"(on {m['nproc']} cores; includes this benchmark's previous "
              f"command, so only values well above 1 point at other work on the machine)")
    print()
    rows = [("target", "measured", "limit", "result")]
    for name, value, target, ok in checks:
        shown = "n/a" if value is None else f"{value:.3f}" if value < 10 else f"{value:.1f}"
        rows.append((name, shown, target, "n/a" if value is None else "PASS" if ok else "FAIL"))
    _print_rows(rows)
    if out["growth"]:
        g = out["growth"]
        print(f"\nmerge peak RSS: N=200 {g['merge_maxrss_mb_base']:.0f} MB, "
              f"N={out['n']} {g['merge_maxrss_mb_n']:.0f} MB")
        if g.get("report_seconds_base"):
            print(f"report at N=200: {g['report_seconds_base']:.2f} s, {g['report_maxrss_mb_base']:.0f} MB")


def _width(text: str) -> int:
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def _print_rows(rows: list[tuple]) -> None:
    widths = [max(_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [str(c) + " " * (w - _width(str(c))) if i == 0 else " " * (w - _width(str(c))) + str(c)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of unit returns (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, in alternation (default 3)")
    parser.add_argument("--workdir", default=None, help="data folder (default ~/.cache/xlperf-bench/n<N>)")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--mix", choices=["clean", "errors"], default="clean",
                        help="clean returns, or every return with 1-3 mistakes of different kinds (a real first round)")
    parser.add_argument("--fill", choices=["writer", "openpyxl"], default="writer",
                        help="how returns are filled: xlperf's template writer (fast) or openpyxl (default writer)")
    parser.add_argument("--growth", action="store_true", help="also measure merge peak RSS at N=200 (ratio < 1.5)")
    parser.add_argument("--growth-workdir", default=None,
                        help="data folder for the N=200 set (default <workdir>/../n200)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) naive pandas read")
    parser.add_argument("--parquet", action="store_true",
                        help="merges also write --parquet OUT/parquet (needed beyond Excel's rows, about 10,900 returns)")
    parser.add_argument("--cold-files", action="store_true",
                        help="drop the returns' (and the merge cache's) pages from the page cache before each command")
    parser.add_argument("--linear-against", default=None, metavar="JSON",
                        help="a smaller run's --json of the same mix: merge seconds per return compared (<= 1.3)")
    parser.add_argument("--skip-report", action="store_true", help="do not time xlperf report of the N returns")
    parser.add_argument("--skip-template", action="store_true",
                        help="do not re-time xlperf template; report the generation run's time")
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        parser.error("--n and --rounds must be at least 1")
    if args.mix == "errors":  # the fill mode carries the mix to the workers (and into the data's stamp)
        args.fill = f"{args.fill}+errors"
    try:
        run(args)
    except Exception as exc:  # a measurement: report and exit 0
        import traceback

        traceback.print_exc()
        print(f"benchmark aborted: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
