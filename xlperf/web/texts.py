"""The portal's words, Chinese first and English beside them (``?lang=en`` switches, a cookie keeps it)."""
from __future__ import annotations

from ..core.findings import SEVERITY_LABELS

UI: dict[str, tuple[str, str]] = {
    "portal": ("绩效目标表报送", "Performance-target returns"),
    "switch": ("English", "中文"),
    "unit_heading": ("{name}（{code}）报送页面", "Returns of {name} ({code})"),
    "round_line": ("{title}，{year} 年", "{title}, {year}"),
    "step_template": ("1. 下载本单位模板", "1. Download your unit's template"),
    "download_template": ("下载模板", "Download the template"),
    "step_upload": ("2. 上传填好的工作簿", "2. Upload the filled workbook"),
    "drop_here": ("把文件拖到这里，或点击选择文件（.xlsx / .xlsm / .xls / .ods）",
                  "Drop the file here, or click to choose it (.xlsx / .xlsm / .xls / .ods)"),
    "upload": ("上传并校验", "Upload and check"),
    "step_result": ("3. 校验结果", "3. The result"),
    "checking": ("正在校验…（页面会自动刷新）", "Checking… (the page refreshes by itself)"),
    "version": ("第 {number} 版", "version {number}"),
    "uploaded_at": ("上传时间（北京时间）", "uploaded (Beijing time, UTC+8)"),
    "state": ("状态", "state"),
    "findings": ("问题", "findings"),
    "sheet": ("工作表", "sheet"),
    "cell": ("单元格", "cell"),
    "message": ("问题说明", "what is wrong"),
    "fix": ("修改方法", "how to fix it"),
    "severity": ("级别", "severity"),
    "annotated": ("下载标注版（问题单元格已标出）", "Download the annotated copy (problem cells marked)"),
    "annotated_short": ("标注版", "annotated"),
    "original": ("原文件", "file"),
    "history": ("历次上传", "Every upload"),
    "no_uploads": ("尚未上传", "nothing uploaded yet"),
    "current": ("当前有效版本", "current version"),
    "current_note": ("汇总使用第 {number} 版（最近一次通过校验的版本）",
                     "the summary uses version {number} (the latest that passed)"),
    "no_current": ("还没有可用于汇总的版本", "no version usable for the summary yet"),
    "passed_text": ("校验通过，没有问题。", "Passed: no problems."),
    "warnings_text": ("可以使用，但有 {count} 个警告，请核实。", "Usable, but with {count} warning(s) to check."),
    "errors_text": ("有 {errors} 个错误须修改后重新上传（另有 {warnings} 个警告）。",
                    "{errors} error(s) to correct before uploading again ({warnings} warning(s) too)."),
    "unreadable_text": ("无法读取此文件。", "This file cannot be read."),
    "changed": ("与上一版相比改动的单元格（{count} 个）", "Cells changed since the previous version ({count})"),
    "before": ("原值", "before"),
    "after": ("新值", "after"),
    "link_gone": ("此链接无效或已被收回，请向财政部门索取新链接。",
                  "This link is not valid or was revoked; ask the finance office for a new one."),
    "too_large": ("文件过大", "file too large"),
    "not_workbook": ("只接受工作簿（.xlsx / .xlsm / .xls / .ods），“{name}”不是", "only workbooks (.xlsx / .xlsm / .xls / "
                     ".ods) are accepted, not “{name}”"),
    "no_file": ("请选择要上传的文件", "choose a file to upload"),
    "repeated": ("这个文件已经上传过（第 {number} 版），未重复保存。",
                 "This file was uploaded before (version {number}); it was not stored twice."),
    # the office
    "login": ("财政部门登录", "Office login"),
    "username": ("账号", "account"),
    "password": ("密码", "password"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "rounds": ("报送轮次", "Rounds"),
    "no_rounds": ("还没有报送轮次：点“新建报送轮次”，或用 xlperf round create 创建。",
                  "No round yet: make one with “New round”, or with xlperf round create."),
    "units": ("单位", "units"),
    "unit_code": ("单位编码", "unit code"),
    "unit_name": ("单位名称", "unit name"),
    "versions": ("版本数", "versions"),
    "last_upload": ("最近上传（北京时间）", "last upload (Beijing time, UTC+8)"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "all"),
    "search": ("搜索单位编码或名称", "search unit code or name"),
    "summary": ("生成汇总表（.xlsx）", "Summary workbook (.xlsx)"),
    "report": ("生成绩效文本（.docx）", "Report (.docx)"),
    "export": ("导出本轮全部材料（.zip）", "Export the round (.zip)"),
    "missing": ("催报单（未报送及须修改的单位）", "Reminder list (units missing or to correct)"),
    "missing_title": ("{title} 催报单", "{title}: reminder list"),
    "missing_note": ("截至 {time}，以下单位尚未报送或报表有错误须修改：",
                     "As of {time}, these units have not returned, or must correct their return:"),
    "nobody_missing": ("所有单位均已报送且通过校验。", "Every unit has returned and passed."),
    "print": ("打印", "Print"),
    "unit_history": ("{name}（{code}）的上传记录", "Uploads of {name} ({code})"),
    "reissue": ("重新生成上传链接（旧链接立即失效）", "Re-issue the upload link (the old one stops working)"),
    "revoke": ("收回上传链接", "Revoke the upload link"),
    "new_link": ("新的上传链接（只显示这一次，请发给该单位）：", "The new upload link (shown only now; send it to the unit):"),
    "revoked": ("上传链接已收回。", "The upload link was revoked."),
    "link_state": ("上传链接", "upload link"),
    "link_active": ("有效（{time} 生成）", "active (issued {time})"),
    "link_revoked": ("已收回（{time}）", "revoked ({time})"),
    "back": ("返回", "back"),
    "failed": ("生成失败：{reason}", "could not make it: {reason}"),
    "admin": ("管理后台", "admin"),
    "audit": ("操作日志", "audit log"),
    "new_round": ("新建报送轮次", "New round"),
    "projects_file": ("项目清单（.csv 或 .xlsx，表头：单位编码、单位名称、项目编码、项目名称、预算数、财政资金、其他资金[、资金用途]）",
                      "Project list (.csv or .xlsx; header: 单位编码, 单位名称, 项目编码, 项目名称, 预算数, 财政资金, 其他资金[, 资金用途])"),
    "year": ("预算年度", "budget year"),
    "framework": ("指标体系", "indicator framework"),
    "title_optional": ("标题（可不填：部门名称 + 年度）", "title (optional: the department and the year)"),
    "create": ("生成模板和上传链接", "Make the templates and the links"),
    "projects_needed": ("请选择项目清单文件（.csv 或 .xlsx）", "choose the project list (.csv or .xlsx)"),
    "year_needed": ("预算年度应为 2000–2100 之间的年份", "the budget year must be between 2000 and 2100"),
    "framework_needed": ("请选择指标体系", "choose an indicator framework"),
    "problems": ("项目清单有以下问题，未创建任何内容：", "The project list has these problems; nothing was created:"),
    "links_title": ("已创建：{title}", "Created: {title}"),
    "links_note": ("每个单位一条上传链接，请分别发给各单位，勿外传。链接只在此显示一次（系统只保存其摘要）；遗失时可在单位页面重新生成。",
                   "One upload link per unit: send each to its unit only. They are shown only now (only their digest "
                   "is kept); a lost link can be re-issued on the unit's page."),
    "download_links": ("下载 links.csv", "Download links.csv"),
    "to_dashboard": ("进入本轮报送情况", "Go to the round's dashboard"),
    "dashboard_counts": ("共 {total} 个单位", "{total} units"),
}

STATES = {
    "not_returned": ("未报送", "not returned"),
    "checking": ("校验中", "checking"),
    "errors": ("有错误", "errors"),
    "unreadable": ("无法读取", "unreadable"),
    "warnings": ("仅有警告", "warnings only"),
    "passed": ("通过", "passed"),
}


def texts(lang: str) -> dict[str, str]:
    index = 0 if lang == "zh" else 1
    return {key: pair[index] for key, pair in UI.items()}


def state_label(state: str, lang: str) -> str:
    return STATES[state][0 if lang == "zh" else 1]


def severity_label(severity: str, lang: str) -> str:
    return SEVERITY_LABELS.get(severity, (severity, severity))[0 if lang == "zh" else 1]
