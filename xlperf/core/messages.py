"""Every zh/en text xlperf prints or writes outside the finding catalog (core/findings.py): the command
line's (the portal's commands too), the results', the merge's reasons, the report's. One table, one look-up: a key gives
(Chinese, English), formatted with the values named in it."""
from __future__ import annotations

from .findings import SEVERITY_LABELS

MESSAGES: dict[str, tuple[str, str]] = {
    # the command line
    "templates_done": ("已生成 {units} 个单位模板（共 {projects} 个项目）：{outdir}\n报送清单：{manifest}",
                       "wrote {units} unit template(s) ({projects} projects) to {outdir}\nmanifest: {manifest}"),
    "blank_done": ("已生成空白模板（{projects} 个项目表）：{path}", "wrote a blank template ({projects} project sheets): {path}"),
    "list_problems": ("项目清单有 {count} 个问题，未生成任何文件：", "the project list has {count} problem(s); nothing was written:"),
    "error": ("错误", "error"),
    "internal": ("内部错误：{error}（加 --debug 查看详细信息）", "internal error: {error} (run with --debug for the traceback)"),
    "no_inputs": ("没有找到可校验的工作簿：{inputs}", "no workbook found in: {inputs}"),
    "skipped_not_workbook": ("已跳过（不是工作簿，未读取）：{path}", "skipped (not a workbook, not read): {path}"),
    "skipped_empty_folder": ("已跳过（文件夹中没有工作簿）：{path}", "skipped (no workbook in this folder): {path}"),
    "annotated": ("已写出 {count} 个标注副本：{outdir}", "wrote {count} annotated copy(ies) to {outdir}"),
    "merged": ("汇总完成：{output}（{projects} 个项目，{indicators} 条指标；{states}）",
               "summary written: {output} ({projects} projects, {indicators} indicators; {states})"),
    "missing_unit": ("未报送单位：{unit}（{file}）", "not returned: unit {unit} ({file})"),
    "missing_project": ("未报送项目：{unit} {project}", "not returned: project {project} of {unit}"),
    "missing_unexpected": ("未下发的报送：{unit} {project}（{file}）", "never sent out: {unit} {project} ({file})"),
    "not_annotated": ("未生成标注副本：{path}（文件无法读取或结构被改动，请先按上面的提示处理）",
                      "no annotated copy for {path} (unreadable or its structure was changed; see above)"),
    "prefilled": ("上年结转：{matched}/{total} 个项目已预填上年度的资金用途、绩效目标和指标（其中 {by_name} 个按项目名称匹配），绿色底纹标出，单位需核实",
                  "carried over: {matched} of {total} projects prefilled with last year's purpose, goals and indicators ({by_name} matched by name), shaded green for the units to check"),
    "dropped_unmapped": ("未结转：项目 {project} 的指标“{name}”（{category}）在本年度指标体系中没有对应的二级指标",
                         "not carried: indicator '{name}' ({category}) of project {project} has no 二级 in this year's framework"),
    "dropped_no_room": ("未结转：项目 {project} 的指标“{name}”（{category}）超出模板行数（可用 --rows 增加）",
                        "not carried: indicator '{name}' ({category}) of project {project} does not fit (raise --rows)"),
    "prefill_unreadable": ("上年资料无法读取，已跳过：{line}", "last year's file skipped, unreadable: {line}"),
    "imported": ("已导入 {projects} 个项目、{indicators} 条指标，写出 {files} 个工作簿：{outdir}",
                 "imported {projects} projects and {indicators} indicators into {files} workbook(s): {outdir}"),
    "unplaced_missing_column": ("未能放置：{where} 缺少“{text}”列，相应单元格留空", "not placed: {where} has no '{text}' column; left blank"),
    "unplaced_row_shape": ("未能放置：{where} 的一行与表头列数不符：{text}", "not placed: a row of {where} does not match the header: {text}"),
    "unplaced_no_project": ("未能放置：{where} 的指标表前没有项目信息", "not placed: the indicator table in {where} follows no project"),
    "unplaced_no_unit": ("未能放置：{where} 中找不到单位编码和名称（可用 --unit-code/--unit-name 指定）",
                         "not placed: no unit code and name in {where} (give --unit-code/--unit-name)"),
    "from_doc": ("已用 LibreOffice 把旧版 Word 文档转换为 .docx 后导入：{file}",
                 "an old Word document, converted to .docx by LibreOffice and imported: {file}"),
    "unplaced_table_as_text": ("未能放置：{where} 中有一段像绩效目标表的文字不在表格里（表格结构已丢失，请用原表格重新导出）：{text}",
                               "not placed: {where} has text that looks like a 绩效目标表 but is not in a table (the "
                               "table was lost, export the original again): {text}"),
    "unplaced_no_table": ("未能导入：{where} 中没有可识别的绩效目标表（项目编码/项目名称表格及指标表）",
                          "nothing imported: {where} holds no table recognised as a 绩效目标表 (project code/name "
                          "and an indicator table)"),
    "unplaced_department_field": ("未能放置：{where} 的部门整体表内容“{text}”在“单位整体”表中没有对应栏目",
                                  "not placed: '{text}' of the 部门整体 table in {where} has no place on the 单位整体 sheet"),
    "unplaced_department_indicator": ("未能放置：{where} 的部门整体绩效指标“{text}”在“单位整体”表中没有对应栏目",
                                      "not placed: 部门整体 indicator '{text}' in {where} has no place on the 单位整体 "
                                      "sheet"),
    "unplaced_block_cell": ("未能放置：{where} 的“{text}”在模板中没有对应栏目", "not placed: '{text}' in {where} has no field in "
                            "the template"),
    "unplaced_extra_column": ("未能放置：{where} 的“{text}”列在模板中没有对应栏目，该列内容未导入",
                              "not placed: the '{text}' column of {where} has no place in the template; its cells were "
                              "not imported"),
    "unplaced_unrecognised_table": ("未能导入：{where} 像是绩效目标表，但找不到项目编码/项目名称或指标表头：{text}",
                                    "not imported: {where} looks like a 绩效目标表 but has no project code/name or "
                                    "indicator header: {text}"),
    "unplaced_long_term": ("未能放置：{where} 的中长期指标“{text}”（模板只收年度指标）",
                           "not placed: long-term indicator '{text}' in {where} (the template holds the year's)"),
    "unplaced_no_year": ("未能确定：{where} 中找不到预算年度，已按 {text} 年写出（可用 --year 指定）",
                         "not found: {where} states no budget year; written as {text} (give --year)"),
    "unplaced_no_room": ("未能放置：{where} 的指标“{text}”超出模板行数", "not placed: indicator '{text}' of {where} does not fit the rows"),
    "more_errors": ("……另有 {count} 个错误，见汇总表“校验问题”或运行 xlperf validate {file}",
                    "... and {count} more errors: see the 校验问题 sheet or run xlperf validate {file}"),
    "frameworks_header": ("内置指标体系：", "built-in frameworks:"),
    "empty_run": ("没有可汇总的报送（{detail}），未写出任何文件，已有的输出保持不变；确需空汇总表请加 --allow-empty",
                  "nothing to merge ({detail}); nothing was written and existing outputs are untouched "
                  "(add --allow-empty for an empty summary)"),
    "empty_detail": ("{count} 个输入均无法读取或未能汇总", "none of {count} input(s) could be read or included"),
    "wrong_suffix": ("输出文件 {path} 的扩展名应为 {suffixes}（写出的是这种格式，换个扩展名不会改变格式）",
                     "the output {path} must end in {suffixes} (that is the format written; another name would "
                     "not change it)"),
    "year_default": ("预算年度：{year}（未给 --year，按明年计；如需其他年度请加 --year）",
                     "budget year: {year} (no --year given, so next year; add --year for another)"),
    "writing": ("正在写出 {path} …", "writing {path} …"),
    "converted": ("已换算为万元：{where} “{text}” → {wan} 万元", "converted to 万元: {where} '{text}' → {wan} 万元"),
    "converted_beyond_cent": ("已换算为万元：{where} “{text}” → {wan} 万元（不是整百元，按原值保留，超过两位小数，请核实）",
                              "converted to 万元: {where} '{text}' → {wan} 万元 (not whole hundreds of 元: kept exact, "
                              "beyond two decimals; please check)"),
    "too_many_rows": ("汇总表需要 {rows} 行，超过 Excel 的上限 1,048,576 行，未写出 {output}；请加 --parquet 目录，"
                      "用 Parquet 保存全部数据（可再作为上级汇总的输入）",
                      "the summary would need {rows} rows, more than Excel's 1,048,576, so {output} was not written; "
                      "add --parquet DIR to keep all the data as Parquet (an input of a higher-level merge too)"),
    "parquet_instead": ("汇总表需要 {rows} 行，超过 Excel 的上限 1,048,576 行，未写出 {output}；全部数据已写入 Parquet：{path}",
                        "the summary would need {rows} rows, more than Excel's 1,048,576, so {output} was not "
                        "written; all the data is in the Parquet files in {path}"),
    "parquet_partial": ("汇总表需要 {rows} 行，超过 Excel 的上限 1,048,576 行：{output} 的绩效指标明细只列出前 {returns} 份报送的 "
                        "{shown} 条指标（共 {indicators} 条），且不能再用于上级汇总（见其汇总说明）；全部数据已写入 Parquet：{path}",
                        "the summary would need {rows} rows, more than Excel's 1,048,576: {output} lists the {shown} "
                        "indicators of the first {returns} returns (of {indicators}) and cannot be merged upward (its "
                        "汇总说明 says so); all the data is in the Parquet files in {path}"),
    "interrupted": ("已中断（{signal}），未写完的输出不会留下", "interrupted ({signal}); no partial output is left"),
    # results of validate and merge, as the terminal and JSON show them
    **SEVERITY_LABELS,  # 错误, 警告
    "ok": ("通过", "OK"),
    "summary": ("共 {files} 个文件：{clean} 个通过，{warned} 个仅有警告，{failed} 个有错误，{unreadable} 个无法读取",
                "{files} file(s): {clean} passed, {warned} with warnings only, {failed} with errors, {unreadable} unreadable"),
    "file_counts": ("{errors} 个错误，{warnings} 个警告", "{errors} error(s), {warnings} warning(s)"),
    "unreadable": ("无法读取", "unreadable"),
    "none": ("没有找到要校验的文件", "no workbook found to validate"),
    # why the merge left an input out or replaced it
    "errors": ("有 {errors} 个错误，未汇总", "{errors} error(s); left out"),
    "errors_kept": ("有 {errors} 个错误，按 --include-invalid 仍汇总", "{errors} error(s); kept by --include-invalid"),
    "same_file": ("与 {other} 内容完全相同，已跳过", "same content as {other}; skipped"),
    "code_clash": ("项目编码 {codes} 同时出现在 {other}，均未汇总（可用 --on-duplicate latest 保留最新的）",
                   "project code(s) {codes} also in {other}; both left out (--on-duplicate latest keeps the newest)"),
    "replaced": ("项目编码 {codes} 已由更新的 {other} 取代", "project code(s) {codes} replaced by the newer {other}"),
    "replaces": ("取代了较早的 {other}", "replaces the older {other}"),
    # the report
    "refused": ("以下报送表未能纳入报告，未生成报告：\n{files}\n{advice}",
                "these returns cannot go into the report, so nothing was written:\n{files}\n{advice}"),
    "advice_errors": ("有错误的报送表：请单位改正后重新报送，或加 --include-invalid 把它们按原样写入报告。",
                      "returns with errors: have the units correct them, or add --include-invalid to report them as "
                      "they are."),
    "advice_unreadable": ("无法读取的文件不能写入任何报告（--include-invalid 也不行）：请单位重新发送可读的 .xlsx，"
                          "或把这些文件移出输入后再生成报告。",
                          "unreadable files cannot go into any report, not even with --include-invalid: ask the units "
                          "to resend a readable .xlsx, or move these files out of the inputs and run again."),
    "year_relabelled": ("注意：报送表的预算年度为 {found}，报告按 --year 标注为 {year} 年；如非有意，请去掉 --year。",
                        "note: the returns are for budget year {found}; the report is labelled {year} as --year "
                        "asks; drop --year if that was not meant."),
    "refused_item": ("  {file}：{reason}", "  {file}: {reason}"),
    "report_no_inputs": ("没有找到可汇总的报送表：{inputs}", "no returns found in: {inputs}"),
    "no_unit": ("没有单位编码为 {unit} 的报送表（已有：{known}）", "no return for unit code {unit} (found: {known})"),
    "nothing": ("没有可写入报告的报送表", "no returns to put in the report"),
    "no_soffice": ("未找到 LibreOffice（soffice），无法生成 PDF；"
                   "请安装 LibreOffice，或改为生成 .docx 后用 Word/WPS 另存为 PDF。",
                   "LibreOffice (soffice) is not installed, so no PDF can be made; install LibreOffice, or write the "
                   ".docx and save it as PDF from Word/WPS."),
    "pdf_failed": ("LibreOffice 未能把 {path} 转换为 PDF（退出码 {code}）：{detail}",
                   "LibreOffice could not convert {path} to PDF (exit {code}): {detail}"),
    "pdf_timeout": ("LibreOffice 转换 PDF 超过 {seconds} 秒，已停止",
                    "LibreOffice took longer than {seconds} s; stopped"),
    "written": ("已写出报告：{output}（{units} 个单位，{projects} 个项目）",
                "report written: {output} ({units} unit(s), {projects} project(s))"),
    "written_pdf": ("已写出 PDF：{pdf}", "PDF written: {pdf}"),
    "toc_pages": ("目录已列出各级标题；页码在 Word/WPS 打开时更新域后显示（或加 --format pdf，由 LibreOffice 生成带页码的 PDF）。",
                  "the contents list every heading; Word/WPS add the page numbers when they update the fields on "
                  "opening (or add --format pdf for a PDF with page numbers from LibreOffice)."),
    "toc_stale": ("PDF 中的目录未能自动更新；请在 Word/WPS 中打开 .docx，右键目录选“更新域”。",
                  "the table of contents in the PDF could not be updated; open the .docx in Word/WPS and update it."),
    # the portal's commands (xlperf round, office, serve)
    "no_extra": ("xlperf: 错误：门户需要 web 组件，请先安装：pip install '.[web]'（缺少 {module}）",
                 "xlperf: error: the portal needs the web extra: pip install '.[web]' (missing {module})"),
    "round_created": ("已创建报送轮次 {id}：{title}（{year} 年，{units} 个单位）", "created round {id}: {title} ({year}, {units} units)"),
    "links_written": ("上传链接（每单位一条，请分别发送，勿外传）：{path}", "upload links (one per unit; send each to its unit only): {path}"),
    "office_added": ("已创建财政部门账号：{name}", "office account created: {name}"),
    "office_updated": ("已更新账号 {name} 的密码", "password of {name} changed"),
    "no_password": ("xlperf: 错误：请从标准输入提供密码（--password-stdin）", "xlperf: error: give the password on standard input (--password-stdin)"),
    "bad_password": ("xlperf: 错误：密码不合要求：{reason}", "xlperf: error: the password is not acceptable: {reason}"),
    "no_round": ("xlperf: 错误：没有编号为 {id} 的报送轮次", "xlperf: error: no round {id}"),
    "no_rounds": ("xlperf: 错误：存储 {data} 中还没有报送轮次（先运行 xlperf round create）",
                  "xlperf: error: the store {data} has no round yet (run xlperf round create first)"),
    "portal_error": ("xlperf: 错误：{reason}", "xlperf: error: {reason}"),
    "serving": ("门户已启动：{url}（存储：{data}；按 Ctrl-C 停止）", "portal running at {url} (store: {data}; Ctrl-C stops it)"),
    "requeued": ("重新排队校验 {count} 个未完成的上传", "re-queued {count} unfinished checks"),
    "round_status_header": ("单位编码  单位名称  状态  版本数  最近上传（北京时间）",
                            "unit  name  state  versions  last upload (Beijing time, UTC+8)"),
    # why a command cannot continue (core/errors.py: XlperfError(key=..., ...))
    "parquet_needs_pyarrow": ("--parquet 需要 pyarrow：pip install 'xlperf[parquet]'",
                              "--parquet needs pyarrow: pip install 'xlperf[parquet]'"),
    "blank_range": ("--blank 须为 1 到 200 个项目表", "--blank must be between 1 and 200 project sheets"),
    "blank_needs_unit": ("--blank 需要同时给出 --unit-code 和 --unit-name", "--blank needs --unit-code and --unit-name"),
    "rows_range": ("--rows 须在 1 到 500 之间", "--rows must be between 1 and 500"),
    "projects_or_blank": ("请给出 PROJECTS 或 --blank，不能同时给出", "give either PROJECTS or --blank, not both"),
    "projects_missing": ("缺少 PROJECTS（CSV 或 XLSX 项目清单），或用 --blank N",
                         "missing PROJECTS (a CSV or XLSX project list), or use --blank N"),
    "prefill_nothing": ("--prefill：{paths} 中没有可读取的报送或汇总表", "--prefill: no readable return or summary in {paths}"),
    "on_duplicate": ("--on-duplicate 只能是 error 或 latest", "--on-duplicate must be 'error' or 'latest'"),
    "output_is_input": ("输出 {output} 是输入之一，请换一个输出路径",
                        "the output {output} is one of the inputs; choose another output path"),
    "input_changed": ("{path} 在汇总过程中被改动，请重新汇总", "{path} changed while the merge ran; run the merge again"),
    "input_gone": ("{path} 已无法读取，请重新汇总", "{path} can no longer be read; run the merge again"),
    "manifest_unreadable": ("{path}：无法读取报送清单（{error}）", "{path}: cannot read the manifest ({error})"),
    "not_a_manifest": ("{path}：不是 xlperf template 生成的报送清单", "{path}: not a manifest written by xlperf template"),
    "cannot_write": ("{path}：无法写入此处（{error}）", "{path}: cannot write here ({error})"),
    "spec_unreadable": ("{path}：无法读取模板规格（{error}）", "{path}: cannot read the template spec ({error})"),
    "spec_milestones": ("指标体系 {framework} 要求的时间节点为 {expected}，模板规格中为 {actual}",
                        "framework {framework} expects milestones {expected}, the template spec has {actual}"),
    "framework_unknown": ("未知的指标体系“{name}”（内置：{known}；或给出指标体系 schema .json 文件的路径）",
                          "unknown framework '{name}' (built-in: {known}; or give a path to a schema .json file)"),
    "framework_missing": ("{path}：找不到指标体系文件", "{path}: framework file not found"),
    "framework_unreadable": ("{path}：无法读取指标体系文件（{error}）", "{path}: cannot read the framework file ({error})"),
    "framework_not_json": ("{path}：不是有效的 JSON（第 {line} 行第 {column} 列：{error}）",
                           "{path}: not valid JSON (line {line}, column {column}: {error})"),
    "library_missing": ("{path}：找不到指标库", "{path}: indicator library not found"),
    "library_unreadable": ("{path}：无法读取指标库（{error}）", "{path}: cannot read the indicator library ({error})"),
    "library_shape": ("{path}：指标库应为含 \"indicators\" 列表的对象",
                      "{path}: an indicator library is an object with an \"indicators\" list"),
    "library_entry": ("{path}：第 {number} 条指标须有名称和 {framework} 的二级指标（实为 {got}）",
                      "{path}: indicator {number} needs a name and a 二级 of {framework} (got {got})"),
    "schema_not_object": ("{source}：指标体系 schema 须为 JSON 对象", "{source}: a framework schema must be a JSON object"),
    "schema_invalid": ("{source}：{where} 处不是有效的 JSON Schema：{error}",
                       "{source}: not a valid JSON Schema at {where}: {error}"),
    "schema_no_id": ("{source}：schema 未给出指标体系编号（请设置 \"x-xlperf\": {{\"id\": ...}}）",
                     "{source}: the schema names no framework id (set \"x-xlperf\": {{\"id\": ...}})"),
    "schema_unknown_expectations": ("{source}：x-xlperf.expectations 中有未知的二级指标 {unknown}",
                                    "{source}: x-xlperf.expectations names unknown 二级 {unknown}"),
    "schema_no_indicator": ("{source}：没有指标分类：schema 中没有 $defs/indicator",
                            "{source}: no category tree: the schema has no $defs/indicator"),
    "schema_no_level1": ("{source}：没有指标分类：$defs/indicator/properties/level1 没有一级指标的 enum",
                         "{source}: no category tree: $defs/indicator/properties/level1 has no enum of 一级"),
    "schema_two_branches": ("{source}：一级指标“{level1}”在 $defs/indicator/allOf 中有两个分支",
                            "{source}: 一级 '{level1}' has two branches in $defs/indicator/allOf"),
    "schema_no_level2": ("{source}：一级指标“{level1}”下没有列出二级指标", "{source}: 一级 '{level1}' lists no 二级"),
    "schema_tree_unreadable": ("{source}：指标分类无法读取：没有 if/then 分支的一级指标 {missing}，不在 enum 中的分支 {extra}",
                               "{source}: no readable category tree: 一级 without an if/then branch {missing}, branches "
                               "not in the enum {extra}"),
}


def say(key: str, lang: str, **values) -> str:
    """``MESSAGES[key]`` in ``lang`` (``zh``, anything else English), with ``values`` filled in."""
    zh, en = MESSAGES[key]
    return (zh if lang == "zh" else en).format(**values)
