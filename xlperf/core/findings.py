"""Findings as data, and the one catalog of their codes with Chinese and English messages.

A finding never holds a rendered sentence: it holds a code and parameters, and ``render`` turns it
into the message and hint of the language asked for. Tests build expected text from this catalog.
"""
from __future__ import annotations

import dataclasses
import locale
import os
from dataclasses import dataclass
from enum import Enum

from .fields import field_label


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    def label(self, lang: str = "zh") -> str:
        """错误/警告, or error/warning: the one place severities get their words."""
        return SEVERITY_LABELS[self.value][0 if lang == "zh" else 1]


SEVERITY_LABELS = {"error": ("错误", "error"), "warning": ("警告", "warning")}  # key → (zh, en)


@dataclass(frozen=True, slots=True)  # hundreds per return are kept during a merge
class Location:
    """Where a finding points: a file, and inside it a sheet and cell (or a row of a CSV list)."""

    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None

    def inside(self) -> str:
        """``工信局购置公务用车!C7`` (quoted like Excel when the sheet name needs it), ``row 5``, or ''."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.sheet:
            return self.sheet
        if self.row is not None:
            return f"row {self.row}"
        return ""


_SET_FILE, _SET_SHEET, _SET_CELL, _SET_ROW = (Location.__dict__[name].__set__
                                               for name in ("file", "sheet", "cell", "row"))


def cell_location(file: str | None, sheet: str | None, cell: str | None) -> Location:
    """``Location(file, sheet, cell)``, made in about 60% of the time: the frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__``, this sets its slots directly. The reader makes one for every cell
    it reads, some 800 a return."""
    location = object.__new__(Location)
    _SET_FILE(location, file)
    _SET_SHEET(location, sheet)
    _SET_CELL(location, cell)
    _SET_ROW(location, None)
    return location


@dataclass(frozen=True)
class Entry:
    severity: Severity
    zh: str
    en: str
    hint_zh: str = ""
    hint_en: str = ""


E, W = Severity.ERROR, Severity.WARNING

CATALOG: dict[str, Entry] = {
    # --- the project list given to `xlperf template`
    "PL_UNREADABLE": Entry(E, "无法读取项目清单：{reason}", "cannot read the project list: {reason}",
                           "请提供 CSV（UTF-8 或 GBK）或 XLSX 格式的项目清单", "give a CSV (UTF-8 or GBK) or XLSX project list"),
    "PL_EMPTY": Entry(E, "项目清单中没有项目", "the project list holds no projects",
                      "第一行为表头，其下每行一个项目", "the first row is the header, then one project per row"),
    "PL_MISSING_COLUMN": Entry(E, "缺少列：{columns}", "missing column(s): {columns}",
                               "表头需包含 单位编码、单位名称、项目编码、项目名称、预算数、财政资金、其他资金",
                               "the header needs unit_code, unit_name, project_code, project_name, budget_total, fiscal, other"),
    "PL_BLANK": Entry(E, "{field}为空", "{field} is blank", "请填写{field}", "fill in {field}"),
    "PL_DUPLICATE_CODE": Entry(E, "项目编码 {value} 与第 {other_row} 行重复", "project code {value} duplicates row {other_row}",
                               "每个项目编码只能出现一次", "each project code may appear only once"),
    "PL_NOT_NUMBER": Entry(E, "{field}不是数字：{value}", "{field} is not a number: {value}",
                           "金额以万元为单位填写数字，如 10.96", "write the amount in 万元 as a number, e.g. 10.96"),
    "PL_NEGATIVE": Entry(E, "{field}为负数：{value}", "{field} is negative: {value}", "金额不能为负", "amounts cannot be negative"),
    "PL_SUM_MISMATCH": Entry(E, "财政资金 {fiscal} + 其他资金 {other} ≠ 预算数 {total}",
                             "fiscal {fiscal} + other {other} ≠ budget total {total}",
                             "预算数应等于财政资金与其他资金之和", "the budget total must equal fiscal + other"),
    "PL_UNIT_NAME_CONFLICT": Entry(E, "单位编码 {value} 在此处名为“{name}”，在第 {other_row} 行名为“{other_name}”",
                                   "unit code {value} is named '{name}' here but '{other_name}' in row {other_row}",
                                   "同一单位编码须使用同一单位名称", "use one name per unit code"),

    # --- reading a returned workbook
    "READ_UNSUPPORTED_TYPE": Entry(E, "不支持的文件类型 {suffix}", "unsupported file type {suffix}",
                                   "请报送 .xlsx 文件（也可读取 .xlsm、.xls、.ods）",
                                   "send the workbook as .xlsx (.xlsm, .xls and .ods are read too)"),
    "READ_NOT_WORKBOOK": Entry(E, "不是可读取的工作簿：{reason}", "not a readable workbook: {reason}",
                               "请用 Excel、WPS 或 LibreOffice 打开后另存为 .xlsx 再报送",
                               "open it in Excel, WPS or LibreOffice, save it as .xlsx and send it again"),
    "READ_CRASHED": Entry(E, "读取此文件时解析程序异常退出（{detail}），文件可能被恶意构造或严重损坏",
                          "the parser crashed on this file ({detail}); it may be malicious or badly damaged",
                          "请单位用 Excel、WPS 或 LibreOffice 重新保存为 .xlsx 后发送", "ask the unit to save it again as .xlsx and resend"),
    "READ_OUT_OF_MEMORY": Entry(E, "读取此文件时内存超出上限（每个文件最多 {limit}，见 spec.json limits.max_read_memory_bytes），"
                                   "文件可能被恶意构造或严重损坏",
                                "the reader ran out of memory on this file (at most {limit} per file, spec.json "
                                "limits.max_read_memory_bytes); it may be malicious or badly damaged",
                                "请单位用 Excel、WPS 或 LibreOffice 重新保存为 .xlsx 后发送；确属超大文件时可调高该上限",
                                "ask the unit to save it again as .xlsx and resend; raise the limit only for a genuinely "
                                "large file"),
    "READ_TIMEOUT": Entry(E, "读取此文件超过 {seconds} 秒仍未完成，已停止（见 spec.json limits.max_read_seconds）",
                          "reading this file took longer than {seconds} s and was stopped (spec.json "
                          "limits.max_read_seconds)",
                          "请单位用 Excel、WPS 或 LibreOffice 重新保存为 .xlsx 后发送；确属超大文件时可调高该上限",
                          "ask the unit to save it again as .xlsx and resend; raise the limit only for a genuinely "
                          "large file"),
    "READ_INTERNAL": Entry(E, "xlperf 处理此文件时出现内部错误（{detail}），其他文件不受影响",
                           "xlperf failed on this file with an internal error ({detail}); the other files are not "
                           "affected",
                           "请把此文件与这条信息一并报告给 xlperf 维护者；可先请单位重新保存后发送",
                           "report the file and this message to the xlperf maintainers; meanwhile ask the unit to save "
                           "it again and resend"),
    "READ_MISSING": Entry(E, "文件不存在", "the file does not exist", "检查文件名和路径", "check the file name and path"),
    "READ_NO_PERMISSION": Entry(E, "没有读取此文件的权限", "no permission to read the file",
                                "请调整文件权限后重试", "make the file readable and run again"),
    "READ_BROKEN_LINK": Entry(E, "这是一个指向不存在文件的链接", "a link to a file that does not exist",
                              "把真正的文件放进来", "put the real file in its place"),
    "READ_SYMLINK": Entry(E, "文件夹中的符号链接不会被跟随读取", "symbolic links inside folders are not followed",
                          "把真正的文件复制进来，或直接在命令中给出该文件", "copy the real file in, or name it on the command line"),
    "READ_IS_FOLDER": Entry(E, "这是一个文件夹，不是工作簿", "this is a folder, not a workbook",
                            "给出其中的工作簿文件", "name the workbook files inside it"),
    "READ_EMPTY_FILE": Entry(E, "文件为空（0 字节），可能传输不完整", "the file is empty (0 bytes); the transfer may have failed",
                             "请单位重新发送", "ask the unit to send it again"),
    "READ_DAMAGED": Entry(E, "文件不完整或已损坏", "the file is incomplete or damaged",
                          "请单位用 Excel、WPS 或 LibreOffice 重新保存为 .xlsx 后发送",
                          "ask the unit to save it again as .xlsx in Excel, WPS or LibreOffice and resend"),
    "READ_TEXT_FILE": Entry(E, "这是文本或 CSV 文件，只是扩展名为工作簿", "this is a text or CSV file with a workbook extension",
                            "请在下发的模板中填写并保存为 .xlsx", "fill in the template that was sent out and save it as .xlsx"),
    "READ_WRONG_KIND": Entry(E, "这不是工作簿，而是 {kind}", "this is not a workbook but {kind}",
                             "请发送填好的 .xlsx 模板", "send the filled .xlsx template"),
    "READ_ENCRYPTED": Entry(E, "工作簿设有打开密码，无法读取", "the workbook is password-protected and cannot be read",
                            "请单位取消打开密码（文件→信息→保护工作簿）后重新发送；xlperf 不会尝试破解密码",
                            "ask the unit to remove the open password and resend; xlperf never guesses passwords"),
    "READ_XLS_REFUSED": Entry(E, "不接受旧版 .xls 格式", "the legacy .xls format is not accepted",
                              "请在 Excel/WPS 中“另存为”Excel 工作簿（.xlsx），或在 LibreOffice 中另存为 .xlsx 或 .ods",
                              "use Save As → Excel Workbook (.xlsx) in Excel/WPS, or .xlsx/.ods in LibreOffice"),
    "READ_XLS_RENAMED": Entry(E, "文件名是 {name}，内容却是旧版 .xls 工作簿（只改了扩展名）",
                              "the file is named {name} but is an old .xls workbook (only the extension was changed)",
                              "请在 Excel/WPS 中打开它，“另存为”Excel 工作簿（.xlsx）后重新发送；只改扩展名不能转换格式",
                              "open it in Excel/WPS and use Save As → Excel Workbook (.xlsx), then resend; "
                              "renaming does not convert it"),
    "READ_OLD_WORD": Entry(E, "这不是工作簿，而是旧版 Word 文档（.doc）", "this is not a workbook but an old Word document (.doc)",
                           "请发送填好的 .xlsx 模板", "send the filled .xlsx template"),
    "READ_DECLARED_SIZE": Entry(E, "文件内部 {part} 声明的 {attribute} 为 {seen}，超出上限或与实际内容不符（上限 {limit}），"
                                   "文件可能被恶意构造或严重损坏",
                                "{part} declares {attribute} = {seen}, beyond the limit or what the part holds "
                                "(at most {limit}); the file may be malicious or badly damaged",
                                "请单位用 Excel、WPS 或 LibreOffice 重新保存为 .xlsx 后发送",
                                "ask the unit to save it again as .xlsx and resend"),
    "READ_UNSAFE_XML": Entry(E, "文件内部 {part} 含有 DTD/实体声明（可能是恶意构造），已拒绝读取",
                             "part {part} declares a DTD or entities (possibly malicious); refused",
                             "正常保存的工作簿不含此类内容；请单位重新保存后发送",
                             "workbooks saved normally never contain this; ask the unit to save and resend"),
    "READ_LIMIT": Entry(E, "超出安全上限 {limit_name} = {limit}（此文件为 {seen}），已拒绝读取",
                        "exceeds the safety limit {limit_name} = {limit} (this file: {seen}); refused",
                        "确认文件内容是否正常；确需处理时可在 spec.json 的 limits 中调高该上限",
                        "check the file; if it is genuine, raise that limit in spec.json 'limits'"),
    "READ_HAS_MACROS": Entry(W, "工作簿含有宏（VBA），xlperf 只读取数值，不会运行宏", "the workbook carries macros (VBA); xlperf reads values only and never runs them",
                             "报送时请保存为不含宏的 .xlsx", "send it as a macro-free .xlsx"),
    "READ_HAS_LINKS": Entry(W, "工作簿含有外部链接，xlperf 不会跟随或更新它们", "the workbook has external links; xlperf neither follows nor updates them",
                            "删除外部链接后再报送", "remove the external links before sending"),
    "READ_HAS_OBJECTS": Entry(W, "工作簿含有嵌入对象或控件，xlperf 不会打开它们", "the workbook has embedded objects or controls; xlperf never opens them",
                              "删除嵌入对象后再报送", "remove embedded objects before sending"),
    "READ_IS_SUMMARY": Entry(E, "这是 xlperf 汇总表，不是单位报送表", "this is an xlperf summary workbook, not a unit's return",
                             "汇总表无需校验：可用 xlperf merge 把它与其他汇总表再汇总，或用 xlperf report 生成绩效文本；"
                             "要校验，请对各单位的报送表运行 xlperf validate",
                             "a summary needs no validation: merge it upward with xlperf merge, or write the text with "
                             "xlperf report; to check returns, run xlperf validate on the units' workbooks"),
    "READ_SUMMARY_PARTIAL": Entry(E, "这是超出 Excel 行数上限的 xlperf 汇总表，只列出部分指标、不带各单位的数据",
                                  "this xlperf summary was too large for Excel: it lists part of the indicators and "
                                  "does not carry the units' data",
                                  "上级汇总请使用汇总时 --parquet 写出的数据集文件夹（见其“汇总说明”）",
                                  "merge upward the dataset folder its merge wrote with --parquet (named on its 汇总说明)"),
    "READ_NOT_TEMPLATE": Entry(E, "不是 xlperf 生成的绩效目标表模板（找不到隐藏的模板信息）",
                               "not an xlperf template (the hidden template metadata is missing)",
                               "请在下发的模板中填写，不要复制到新建的工作簿",
                               "fill in the template that was sent out; do not copy it into a new workbook"),
    "READ_META_BROKEN": Entry(E, "模板信息已损坏，无法定位各项内容", "the template metadata is damaged; fields cannot be located",
                              "请在新下发的模板中重新填写", "fill in a freshly issued template"),
    "READ_SHEET_MISSING": Entry(E, "缺少工作表“{value}”", "sheet '{value}' is missing",
                                "请勿删除工作表；在原模板中重新填写", "do not delete sheets; fill in the original template"),
    "READ_SHEET_ADDED": Entry(E, "多出工作表“{value}”，模板中没有此表", "extra sheet '{value}' that the template does not have",
                              "删除多出的工作表，内容请填在对应项目表中", "remove the extra sheet; put its content in the project sheets"),
    "READ_SHEET_RENAMED": Entry(E, "工作表“{expected}”被改名为“{value}”", "sheet '{expected}' was renamed to '{value}'",
                                "把表名改回“{expected}”", "rename it back to '{expected}'"),
    "READ_LABEL_MOVED": Entry(E, "此处应为标签“{expected}”，实为“{value}”：表格结构被改动（如插入或删除了行列），本表内容未读取",
                              "the label '{expected}' should be here but '{value}' is: the layout was changed (rows or columns inserted or deleted), so this sheet was not read",
                              "撤销对行列的插入或删除，或在新模板中重新填写",
                              "undo the inserted or deleted rows/columns, or fill in a fresh template"),
    "READ_UNIT_CHANGED": Entry(E, "{field}应为“{expected}”，实为“{value}”", "{field} should be '{expected}' but is '{value}'",
                               "单位信息由财政部门预填，请勿修改", "the unit is prefilled by the finance office; do not change it"),
    "READ_PREFILLED_CHANGED": Entry(E, "{field}应为“{expected}”，实为“{value}”（预填内容被改动）",
                                    "{field} should be '{expected}' but is '{value}' (prefilled value changed)",
                                    "预填内容来自项目清单，请勿修改；如有误请联系财政部门",
                                    "prefilled values come from the project list; ask the finance office if one is wrong"),
    "READ_OUTSIDE_FORM": Entry(E, "指标表第 {last_row} 行以下还有内容“{value}”，超出填报区，未读取",
                               "content '{value}' below the indicator table (last row {last_row}) was not read",
                               "把指标填在表内的空行中；行数不够请联系财政部门",
                               "move the indicator into an empty row of the table; ask for a template with more rows"),
    "READ_YEAR_MISMATCH": Entry(E, "这是 {value} 年度的模板，本次收取的是 {expected} 年度", "this is a {value} template; {expected} returns are expected",
                                "请使用本年度下发的模板填报", "fill in this year's template"),
    "READ_FRAMEWORK_MISMATCH": Entry(E, "模板使用指标体系 {value}，本次要求 {expected}", "the template uses framework {value}; {expected} is expected",
                                     "请使用本次下发的模板填报", "fill in the template that was sent out this time"),
    "READ_FRAMEWORK_CHANGED": Entry(W, "指标体系 {value} 在模板生成后有改动，按当前版本校验", "framework {value} changed since the template was made; checked against the current version",
                                    "如有疑问请联系财政部门", "ask the finance office if in doubt"),
    # --- the framework's JSON Schema
    "REQUIRED_MISSING": Entry(E, "{field}未填写", "{field} is blank", "请填写{field}", "fill in {field}"),
    "VALUE_NOT_NUMBER": Entry(E, "{field}应为数字，实为“{value}”", "{field} must be a number, not '{value}'",
                              "只填写数字：金额以万元为单位，如 10.96；支出比例填百分比，如 30%",
                              "type a number only: money in 万元, e.g. 10.96; spending-plan shares as percentages, e.g. 30%"),
    "VALUE_OUT_OF_RANGE": Entry(E, "{field} {value} 超出允许范围（{bound}）", "{field} {value} is out of range ({bound})",
                                "请填写 {bound} 之间的数值", "use a value within {bound}"),
    "LEVEL1_UNKNOWN": Entry(E, "一级指标“{value}”不在指标体系中（可选：{allowed}）", "level-1 indicator '{value}' is not in the framework ({allowed})",
                            "从下拉列表选择一级指标", "pick the level-1 indicator from the dropdown"),
    "LEVEL2_NOT_IN_LEVEL1": Entry(E, "二级指标“{value}”不属于一级指标“{level1}”（可选：{allowed}）",
                                  "level-2 indicator '{value}' does not belong to '{level1}' (allowed: {allowed})",
                                  "先选一级指标，再从下拉列表选择二级指标", "pick the level-1 indicator, then a level-2 from its dropdown"),
    "NO_INDICATORS": Entry(E, "本项目没有填写任何绩效指标", "this project has no indicators",
                           "在指标表中至少填写每个一级指标下的一条指标", "fill in at least one indicator under each level-1 category"),
    "SCHEMA_OTHER": Entry(E, "{field}不符合指标体系要求：{detail}", "{field} does not satisfy the framework: {detail}",
                          "请按填报说明修改", "correct it as the instructions describe"),
    # --- business rules
    "BUDGET_SUM_MISMATCH": Entry(E, "财政资金 {fiscal} + 其他资金 {other} ≠ 预算数 {total}",
                                 "fiscal {fiscal} + other {other} ≠ budget total {total}",
                                 "预算数应等于财政资金与其他资金之和（精确到分）",
                                 "the budget total must equal fiscal + other funds, to the cent"),
    "PLAN_DECREASING": Entry(E, "资金支出计划 {milestone} {value}% 小于 {previous} 的 {previous_value}%：累计比例不能减少",
                             "spending plan {milestone} {value}% is below {previous} ({previous_value}%): the plan is cumulative",
                             "按截至各月底的累计支出比例填写，逐期不减少", "give cumulative percentages that never decrease"),
    "PLAN_NOT_100": Entry(E, "资金支出计划 {milestone} 为 {value}%，最后一期应为 100%",
                          "spending plan {milestone} is {value}%; the last milestone must be 100%",
                          "年底累计支出比例应为 100%", "the year-end cumulative percentage must be 100%"),
    "LEVEL1_MISSING": Entry(E, "缺少一级指标“{level1}”下的指标", "no indicator under level-1 '{level1}'",
                            "每个一级指标下至少填写一条指标", "give at least one indicator under every level-1 category"),
    "DUPLICATE_INDICATOR": Entry(W, "三级指标“{value}”在本项目中重复（另见 {other_cell}）",
                                 "level-3 indicator '{value}' appears twice in this project (see also {other_cell})",
                                 "合并或改名重复的指标", "merge or rename the duplicated indicator"),
    "TARGET_INVALID": Entry(E, "指标值“{value}”既不是“比较符+数值+单位”，也不是定性描述",
                            "target '{value}' is neither 'operator + number + unit' nor a qualitative text",
                            "写成如 ≥95%、＝16万元、≥20次，或文字描述如“提升生态环境质量”",
                            "write e.g. ≥95%, ＝16万元, ≥20次, or a text such as 提升生态环境质量"),
    "TARGET_NOT_NUMBER": Entry(W, "“{level2}”通常应量化，指标值“{value}”是定性描述",
                               "'{level2}' should be measurable, but the target '{value}' is qualitative",
                               "尽量写成数值，如 ≥90%", "give a number where possible, e.g. ≥90%"),
    "COST_NOT_MONEY": Entry(W, "成本类指标“{name}”的指标值“{value}”不是金额", "cost indicator '{name}' has a target '{value}' that is not money",
                            "成本指标写金额，如 ≤16万元；比率类指标请归入质量或效益指标",
                            "give cost indicators in money, e.g. ≤16万元; move rates to quality or benefit indicators"),
    "COST_OVER_BUDGET": Entry(E, "成本指标“{name}”的 {value} 超过项目预算数 {total} 万元",
                              "cost indicator '{name}' ({value}) exceeds the project budget of {total} 万元",
                              "成本指标不能超过项目预算，请核对金额和单位（万元/元）",
                              "a cost cannot exceed the budget: check the amount and its unit (万元/元)"),
    "CODE_PATTERN": Entry(W, "项目编码“{value}”不符合编码规则（例：{example}）", "project code '{value}' does not match the code pattern (e.g. {example})",
                          "核对预算系统中的项目编码", "check the project code in the budget system"),
    "TEXT_TOO_LONG": Entry(W, "{field}有 {length} 个字，超过 {limit} 字", "{field} has {length} characters, more than {limit}",
                           "请精简表述", "shorten the text"),
    "LIBRARY_UNIT_MISMATCH": Entry(W, "常用指标“{name}”通常以“{unit}”计量，这里的指标值是“{value}”",
                                   "the library indicator '{name}' is usually measured in '{unit}', but the target is '{value}'",
                                   "核对指标值的单位，如确需不同单位可忽略此提示",
                                   "check the unit of the target; ignore this if the different unit is intended"),
    "DUPLICATE_PROJECT": Entry(E, "项目编码 {value} 在本工作簿中重复（另见 {other_sheet}）", "project code {value} appears twice in this workbook (also {other_sheet})",
                               "每个项目只填一张表", "one sheet per project"),
}

@dataclass(frozen=True)
class Finding:
    code: str
    location: Location
    field: str | None = None
    value: object = None
    params: dict = dataclasses.field(default_factory=dict)
    severity: Severity | None = None  # None: the catalog's severity

    @property
    def level(self) -> Severity:
        return self.severity or CATALOG[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.level is Severity.ERROR

    def _shown(self, lang: str) -> dict[str, str]:
        """What the catalog's templates put in their places: the value, the field and the params, as shown."""
        values = {"value": _show(self.value, lang), "field": field_label(self.field, lang)}
        values.update({k: (_show(v, lang) if k != "field" else field_label(v, lang)) for k, v in self.params.items()})
        return values

    def message(self, lang: str = "zh") -> str:
        entry = CATALOG[self.code]
        return (entry.zh if lang == "zh" else entry.en).format(**self._shown(lang))

    def hint(self, lang: str = "zh") -> str:
        entry = CATALOG[self.code]
        return (entry.hint_zh if lang == "zh" else entry.hint_en).format(**self._shown(lang))

    def message_and_hint(self, lang: str = "zh") -> tuple[str, str]:
        """``message`` and ``hint``, their values shown once (a summary lists thousands of findings)."""
        entry, shown = CATALOG[self.code], self._shown(lang)
        return ((entry.zh if lang == "zh" else entry.en).format(**shown),
                (entry.hint_zh if lang == "zh" else entry.hint_en).format(**shown))

    def line(self, lang: str = "zh") -> str:
        """One line: location, then the message (``工信局购置公务用车!D4 财政资金 … ≠ 预算数 10.96``)."""
        where = self.location.inside()
        if lang == "zh" and where.startswith("row "):
            where = f"第 {self.location.row} 行"
        return f"{where} {self.message(lang)}".strip()

    def to_dict(self, lang: str = "zh") -> dict:
        message, hint = self.message_and_hint(lang)
        return {
            "code": self.code,
            "severity": self.level.value,
            "file": self.location.file,
            "sheet": self.location.sheet,
            "cell": self.location.cell,
            "row": self.location.row,
            "field": self.field,
            "value": json_safe(self.value),
            "message": message,
            "hint": hint,
        }


def _show(value: object, lang: str = "zh") -> str:
    if value is None:
        return "（空）" if lang == "zh" else "(blank)"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e15 else repr(value)
    return str(value)


def json_safe(value: object) -> object:
    """A value JSON can hold: non-finite floats and other objects as their text."""
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    return str(value)


def default_lang() -> str:
    """zh when the user's locale is Chinese, else en."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        current = locale.getlocale()[0] or ""
    except ValueError:
        current = ""
    return "zh" if current.lower().startswith("zh") else "en"


def count_errors(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.is_error)
