"""The import corpus: documents reproducing the layouts of real published 绩效目标表 (tests/import_corpus/*.json,
each built as a .docx and imported through the command line), every field compared with what it holds."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from import_corpus.make_docx import build, corpus_files, load

from xlperf.cli import cli
from xlperf.writers.importer import import_documents
from xlperf.intake.reader import read_return

PROJECT_FIELDS = ("project_code", "project_name", "budget_total", "fiscal", "other", "purpose", "goals")
INDICATOR_FIELDS = ("level1", "level2", "name", "description", "target", "basis")


def test_the_corpus_is_large_enough():
    assert len(corpus_files()) >= 15


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.stem)
def test_corpus_document_imports_exactly(path, tmp_path):
    description = load(path)
    expected = description["expected"]
    document = build(description, tmp_path / f"{path.stem}.docx")
    run = CliRunner().invoke(cli, ["import", str(document), "-o", str(tmp_path / "cli"), "--lang", "en"])
    assert run.exit_code == expected["exit"], run.output
    result = import_documents([document], tmp_path / "out", framework=expected.get("framework", "cn-2020"))
    unplaced = [[u.reason, f"{u.file} {u.where}".replace(str(document), "").strip(), u.text] for u in result.unplaced]
    assert unplaced == expected.get("unplaced", [])
    converted = [[c.text, round(c.wan, 6)] for c in result.converted]
    assert converted == expected.get("converted", [])
    got = {doc["unit"]["code"]: doc for doc in (read_return(file).document for file in result.files)}
    assert sorted(got) == sorted(unit["code"] for unit in expected["units"])
    for unit in expected["units"]:
        doc = got[unit["code"]]
        assert doc["unit"]["name"] == unit["name"]
        assert doc["year"] == expected["year"]
        for key in ("overall_goal", "measures"):
            assert doc.get(key) == unit.get(key), key
        assert len(doc["projects"]) == len(unit["projects"])
        for project, want in zip(doc["projects"], unit["projects"]):
            for key in PROJECT_FIELDS:
                assert project.get(key) == want.get(key), (project.get("project_name"), key)
            if "spending_plan" in want:
                assert project["spending_plan"] == want["spending_plan"]
            indicators = [[indicator.get(key) or "" for key in INDICATOR_FIELDS] for indicator in project["indicators"]]
            assert indicators == want["indicators"], project.get("project_name")


WORDS = ["", "：", "资金总额：", "12元", "10.96万", "1.甲；2.乙", "合计", "2023年度", "[1]", "【12345】某局", "单位：元",
         "长期绩效指标", "年度绩效指标", "项目名称", "项目编码", "预算数", "绩效目标", "一级指标", "指标值", "年度总体目标",
         "部门名称", "单位名称及代码", "其他说明的问题", "≥", "%", "-5", "1e9"]


@pytest.mark.parametrize("seed", range(30))
def test_a_damaged_corpus_document_never_crashes_the_import(seed, tmp_path):
    """Corpus documents with cells replaced by labels, amounts, merges and rows dropped (as a careless
    conversion leaves them): the import always ends with its workbooks and its list, never a traceback."""
    import random

    rng = random.Random(seed)
    description = load(rng.choice(corpus_files()))
    for block in description["body"]:
        table = block.get("table")
        if not table:
            continue
        if len(table) > 1 and rng.random() < 0.3:
            del table[rng.randrange(1, len(table))]
        for r, row in enumerate(table):
            for c in range(len(row)):
                if rng.random() < 0.2:
                    row[c] = rng.choice(WORDS + ["<"] * (c > 0) + ["^"] * (r > 0))
    result = import_documents([build(description, tmp_path / "damaged.docx")], tmp_path / "out", year=2023)
    assert result.files or result.unplaced
