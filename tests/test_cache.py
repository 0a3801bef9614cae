"""The merge cache and worker processes: same results, only changed files re-read, bad caches ignored."""
from __future__ import annotations

import json
import shutil

import pandas as pd
from conftest import SAMPLES

from xlperf import merge as merge_module
from xlperf import workers
from xlperf.merge import merge_returns


def _frames(consolidation):
    return [consolidation.projects, consolidation.indicators, consolidation.findings,
            consolidation.inputs.drop(columns=["file"])]


def _same(a, b):
    for left, right in zip(_frames(a), _frames(b)):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


def _counting(monkeypatch):
    calls = []
    real = merge_module.examine

    def counted(path, *args):
        calls.append(path)
        return real(path, *args)

    monkeypatch.setattr(merge_module, "examine", counted)
    return calls


def test_validate_in_worker_processes_gives_the_same_results(monkeypatch):
    from xlperf.validate import validate_paths

    paths = [SAMPLES / "returns", SAMPLES / "returns-with-errors"]
    sequential = validate_paths(paths, jobs=1)
    monkeypatch.setattr(workers, "PARALLEL_MIN_ITEMS", 2)
    parallel = validate_paths(paths, jobs=2)
    assert [(r.path, r.findings) for r in sequential] == [(r.path, r.findings) for r in parallel]
    assert [r.document.document for r in sequential] == [r.document.document for r in parallel]


def test_second_run_reads_only_changed_and_new_files(tmp_path, monkeypatch):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    cache = tmp_path / "cache"
    first = merge_returns([inputs], cache_dir=cache)
    calls = _counting(monkeypatch)
    again = merge_returns([inputs], cache_dir=cache)
    assert calls == []
    _same(first, again)
    changed = inputs / "471003_遵化市无线电监测站.xlsx"
    shutil.copy(SAMPLES / "returns-with-errors" / "471003_missing-parts.xlsx", changed)
    third = merge_returns([inputs], cache_dir=cache)
    assert calls == [str(changed)]
    assert third.inputs.set_index("file").loc[str(changed), "state"] == "excluded"


def test_deleted_file_disappears(tmp_path):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    merge_returns([inputs], cache_dir=tmp_path / "cache")
    (inputs / "471002_遵化市中小企业服务中心.xlsx").unlink()
    merged = merge_returns([inputs], cache_dir=tmp_path / "cache")
    assert sorted(merged.projects["unit_code"].unique()) == ["471001", "471003"]


def test_moved_file_is_still_a_hit_with_its_new_path(tmp_path, monkeypatch):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    merge_returns([inputs], cache_dir=tmp_path / "cache")
    moved = shutil.copytree(inputs, tmp_path / "moved")
    calls = _counting(monkeypatch)
    merged = merge_returns([moved], cache_dir=tmp_path / "cache")
    assert calls == []
    assert all(str(moved) in f for f in merged.projects["source_file"])


def test_corrupt_or_stale_cache_is_rebuilt(tmp_path, monkeypatch):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    cache = tmp_path / "cache"
    reference = merge_returns([inputs], cache_dir=cache)
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == 3
    entries[0].write_text("{not json")
    stale = json.loads(entries[1].read_text())
    stale["frameworks"] = {"cn-2020": "0" * 64}  # made with another version of the framework
    entries[1].write_text(json.dumps(stale))
    entries[2].write_text(json.dumps({**json.loads(entries[2].read_text()), "key": "f" * 64}))
    calls = _counting(monkeypatch)
    again = merge_returns([inputs], cache_dir=cache)
    assert len(calls) == 3
    _same(reference, again)
    assert all(json.loads(p.read_text())["frameworks"] for p in entries)  # rewritten


def test_worker_processes_give_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "PARALLEL_MIN_ITEMS", 2)
    paths = [SAMPLES / "returns", SAMPLES / "returns-with-errors"]
    sequential = merge_returns(paths, jobs=1)
    parallel = merge_returns(paths, jobs=2)
    _same(sequential, parallel)
    assert list(sequential.inputs["file"]) == list(parallel.inputs["file"])
