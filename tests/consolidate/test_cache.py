"""The merge cache and worker processes: same results, only changed files re-read, bad caches ignored."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

import openpyxl
import pandas as pd
from conftest import SAMPLES

from xlperf.consolidate import merge as merge_module
from xlperf.consolidate.cache import ResultCache
from xlperf.consolidate.merge import merge_returns
from xlperf.core import sheetxml, workers
from xlperf.writers.summary import write_summary


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
    from xlperf.checks.validate import validate_paths

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


def test_in_workers_entries_are_taken_while_the_rest_is_read(tmp_path, monkeypatch):
    """As the command line runs a merge (isolated, in workers) the entries are taken between the workers'
    answers: a file without an entry is read then, one whose entry is of no use after them, and the summary is
    the one a merge without the cache writes."""
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLES / "returns", inputs)
    shutil.copytree(SAMPLES / "returns-with-errors", inputs / "errors")
    reference = tmp_path / "reference.xlsx"
    write_summary(merge_returns([inputs], isolate=True, jobs=2), reference)
    cache = tmp_path / "cache"
    merge_returns([inputs], cache_dir=cache, isolate=True, jobs=2)
    by_key = {f"{hashlib.sha256(path.read_bytes()).hexdigest()}.xlsx": path for path in inputs.rglob("*.xlsx")}
    entries = sorted(cache.rglob("*.entry"))
    assert len(entries) == len(by_key) == 6
    entries[0].unlink()
    entries[1].write_text("{not json")
    log = tmp_path / "read.log"
    real = merge_module.examine

    def logged(path, *args):  # in the workers, which inherit it: they say what they read in the log
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(path + "\n")
        time.sleep(0.5)  # long enough for the entries to be taken meanwhile, however slow the machine
        return real(path, *args)
    monkeypatch.setattr(merge_module, "examine", logged)
    taken, answered = [], []
    real_get, real_put = ResultCache.get, ResultCache.put
    monkeypatch.setattr(ResultCache, "get", lambda self, *args, **kwargs: (taken.append(time.monotonic()),
                                                                           real_get(self, *args, **kwargs))[1])
    monkeypatch.setattr(ResultCache, "put", lambda self, *args: (answered.append(time.monotonic()),
                                                                 real_put(self, *args))[1])
    again = tmp_path / "again.xlsx"
    write_summary(merge_returns([inputs], cache_dir=cache, isolate=True, jobs=2), again)
    assert len(taken) == 5 and len(answered) == 2 and max(taken) < min(answered)
    assert log.read_text(encoding="utf-8").splitlines() == [str(by_key[entries[0].stem]), str(by_key[entries[1].stem])]
    assert again.read_bytes() == reference.read_bytes()
    assert entries[0].is_file() and entries[1].read_bytes().startswith(b'{"')  # both made again


def test_returns_left_out_are_cached_without_rows_and_read_again_when_included(tmp_path, monkeypatch):
    """A run without --include-invalid leaves a return with errors out and caches only that (no rows, no
    tables): the next such run reads nothing again; a run that includes it must read it again (and its entry
    then serves both kinds of run)."""
    inputs = [SAMPLES / "returns-with-errors"]
    cache = tmp_path / "cache"
    first = merge_returns(inputs, cache_dir=cache)
    failing = sorted(first.inputs["file"])
    assert len(failing) == 3 and set(first.inputs["state"]) == {"excluded"} and all(first.inputs["errors"])
    entries = [json.loads(path.read_bytes().split(b"\n")[0]) for path in cache.rglob("*.entry")]
    assert len(entries) == 3 and all(entry.get("left_out") for entry in entries)
    assert all(entry["tables_length"] == 0 and not entry["segments"] for entry in entries)
    calls = _counting(monkeypatch)
    _same(merge_returns(inputs, cache_dir=cache), first)
    assert calls == []
    included = merge_returns(inputs, cache_dir=cache, include_invalid=True)
    assert sorted(calls) == failing
    _same(included, merge_returns(inputs, include_invalid=True))
    assert set(included.projects.loc[included.projects["source_file"].isin(failing), "status"]) == {"invalid"}
    calls.clear()
    _same(merge_returns(inputs, cache_dir=cache, include_invalid=True), included)
    _same(merge_returns(inputs, cache_dir=cache), first)
    assert calls == []


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
    # the rows made for the summary name the new path too (they were made again, not reused)
    write_summary(merged, tmp_path / "summary.xlsx")
    book = openpyxl.load_workbook(tmp_path / "summary.xlsx", read_only=True)
    shown = [row[14] for row in book["绩效指标明细"].iter_rows(min_row=2, values_only=True)]
    book.close()
    assert len(shown) == merged.indicator_count and all(f.startswith(str(moved)) for f in shown)
    documents = [document["file"] for document in merged.documents]
    assert len(documents) == 3 and all(f.startswith(str(moved)) for f in documents)


def _entry(path):
    head, _, blob = path.read_bytes().partition(b"\n")
    return json.loads(head), blob


def _rewrite(path, head, blob):
    path.write_bytes(json.dumps(head).encode() + b"\n" + blob)


def test_corrupt_or_stale_cache_is_rebuilt(tmp_path, monkeypatch):
    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    inputs_too = shutil.copytree(SAMPLES / "returns-with-errors", tmp_path / "in2")
    cache = tmp_path / "cache"
    reference = merge_returns([inputs, inputs_too], cache_dir=cache)
    reference_summary = tmp_path / "reference.xlsx"
    write_summary(reference, reference_summary)
    entries = sorted(cache.rglob("*.entry"))
    with_rows = [path for path in entries if not _entry(path)[0].get("left_out")]  # the returns without errors
    left_out = [path for path in entries if _entry(path)[0].get("left_out")]  # in2/'s, with errors: left out, without
    # the rows of 项目汇总 and 绩效指标明细 (only their findings' rows)
    assert len(with_rows) == 3 and len(left_out) == 3
    readable = left_out + with_rows[:2]  # the last two have rows, the last one's tables are read when asked
    readable[0].write_text("{not json")
    head, blob = _entry(readable[1])
    _rewrite(readable[1], {**head, "frameworks": {"cn-2020": "0" * 64}}, blob)  # made with another framework
    head, blob = _entry(readable[2])
    _rewrite(readable[2], {**head, "key": "f" * 64}, blob)
    head, blob = _entry(readable[3])
    _rewrite(readable[3], head, bytes([blob[0] ^ 1]) + blob[1:])  # one bit of the rows flipped
    head, blob = _entry(readable[-1])
    _rewrite(readable[-1], head, blob[:-1] + bytes([blob[-1] ^ 1]))  # one bit of the tables, read only when asked
    calls = _counting(monkeypatch)
    again = merge_returns([inputs, inputs_too], cache_dir=cache)
    assert len(calls) == 4
    _same(reference, again)
    assert len(calls) == 5  # the damaged tables were not used: that file was read again
    again_summary = tmp_path / "again.xlsx"
    write_summary(again, again_summary)
    assert again_summary.read_bytes() == reference_summary.read_bytes()
    assert all(_entry(path)[0]["frameworks"] for path in readable[:4])  # rewritten


def test_entries_read_in_pieces_are_the_entries_and_cut_ones_are_refused(tmp_path, monkeypatch):
    """An entry is read at once up to ``FIRST_READ`` bytes: a longer head, or segments past it, are read on; an
    entry cut short anywhere (its head, segments or tables) is of no use and its file is read again."""
    from xlperf.consolidate import cache as cache_module

    inputs = [shutil.copytree(SAMPLES / folder, tmp_path / folder) for folder in ("returns", "returns-with-errors")]
    cache = tmp_path / "cache"
    reference = merge_returns(inputs, cache_dir=cache)
    write_summary(reference, tmp_path / "reference.xlsx")
    entries = sorted(cache.rglob("*.entry"))
    heads = [len(path.read_bytes().partition(b"\n")[0]) for path in entries]
    for first in (1, min(heads) // 2, max(heads) + 3, 1 << 16):
        monkeypatch.setattr(cache_module, "FIRST_READ", first)
        calls = _counting(monkeypatch)
        again = merge_returns(inputs, cache_dir=cache)
        assert calls == [], first
        _same(reference, again)
        write_summary(again, tmp_path / "again.xlsx")
        assert (tmp_path / "again.xlsx").read_bytes() == (tmp_path / "reference.xlsx").read_bytes()
    monkeypatch.setattr(cache_module, "FIRST_READ", 64)
    whole = [path.read_bytes() for path in entries[:3]]
    for path, data, keep in zip(entries, whole, (heads[0], heads[1] + 5, len(whole[2]) - 1)):
        path.write_bytes(data[:keep])  # in the head, in the segments, the tables' last byte
    calls = _counting(monkeypatch)
    _same(reference, merge_returns(inputs, cache_dir=cache))
    assert len(calls) == 3


def test_rows_deflated_another_way_are_made_again(tmp_path, monkeypatch):
    """Rows kept by a merge that deflated them otherwise (another compressor, version or level: here a level)
    are not spliced in: a summary is the same bytes whether or not its rows come from the cache."""
    cache = tmp_path / "cache"
    with monkeypatch.context() as patched:
        patched.setattr(sheetxml, "COMPRESS_LEVEL", 1)
        merge_returns([SAMPLES / "returns"], cache_dir=cache)
    calls = _counting(monkeypatch)
    write_summary(merge_returns([SAMPLES / "returns"], cache_dir=cache), tmp_path / "cached.xlsx")
    assert len(calls) == 3
    write_summary(merge_returns([SAMPLES / "returns"]), tmp_path / "uncached.xlsx")
    assert (tmp_path / "cached.xlsx").read_bytes() == (tmp_path / "uncached.xlsx").read_bytes()


def test_worker_processes_give_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "PARALLEL_MIN_ITEMS", 2)
    paths = [SAMPLES / "returns", SAMPLES / "returns-with-errors"]
    sequential = merge_returns(paths, jobs=1)
    parallel = merge_returns(paths, jobs=2)
    _same(sequential, parallel)
    assert list(sequential.inputs["file"]) == list(parallel.inputs["file"])


def _counting_hashes(monkeypatch):
    from xlperf.consolidate import cache as cache_module

    hashed = []
    real = cache_module.file_sha256
    monkeypatch.setattr(cache_module, "file_sha256", lambda path: hashed.append(str(path)) or real(path))
    return hashed


def test_unchanged_files_are_not_hashed_again(tmp_path, monkeypatch):
    """The content hashes of a merge's inputs are noted with their stat; the next merge uses a note when the
    file's size, times, inode and device are as noted (and it was not changed within RACY_NS of the note)."""
    from xlperf.consolidate import cache as cache_module

    inputs = shutil.copytree(SAMPLES / "returns", tmp_path / "in")
    cache = tmp_path / "cache"
    hashed = _counting_hashes(monkeypatch)
    first = merge_returns([inputs], cache_dir=cache)
    assert len(hashed) == 3
    hashed.clear()
    again = merge_returns([inputs], cache_dir=cache)  # the files were written just now: racy, hashed again
    assert len(hashed) == 3
    monkeypatch.setattr(cache_module, "RACY_NS", 0)
    merge_returns([inputs], cache_dir=cache)
    hashed.clear()
    _same(first, merge_returns([inputs], cache_dir=cache))
    assert hashed == []

    # a file rewritten with the same size and its modification time put back: its change time moved on
    changed = inputs / "471002_遵化市中小企业服务中心.xlsx"
    before = os.stat(changed)
    data = bytearray(changed.read_bytes())
    data[-30] ^= 1  # in the zip's end record: another file, as far as the hash goes
    changed.write_bytes(bytes(data))
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(changed).st_size == before.st_size and os.stat(changed).st_mtime_ns == before.st_mtime_ns
    calls = _counting(monkeypatch)
    third = merge_returns([inputs], cache_dir=cache)
    assert hashed == [str(changed)] and calls == [str(changed)]
    sha = dict(zip(third.inputs["file"], third.inputs["sha256"]))[str(changed)]
    assert sha == hashlib.sha256(bytes(data)).hexdigest() != dict(zip(again.inputs["file"], again.inputs["sha256"]))[str(changed)]

    notes = cache / f"hashes-v{cache_module.HASHES_VERSION}.json"
    noted = json.loads(notes.read_text())
    assert set(noted) == {"as_of_ns", "files"} and len(noted["files"]) == 3
    for damaged in ("{not json", json.dumps({**noted, "files": {path: note[:5] for path, note in noted["files"].items()}}),
                    json.dumps({**noted, "files": {path: [*note[:5], 7] for path, note in noted["files"].items()}})):
        notes.write_text(damaged)  # notes that cannot be read or are not notes: every file hashed, no error
        hashed.clear()
        _same(merge_returns([inputs], cache_dir=cache), third)
        assert len(hashed) == 3
    assert not list(cache.glob("*.part"))


def test_an_entry_json_cannot_hold_exactly_is_not_kept(tmp_path):
    """Entries are read with orjson, which refuses NaN and infinities (Python's json writes them): such an entry,
    or one with text UTF-8 cannot encode, is not written at all, so its file is simply read again next time."""
    cache = ResultCache(tmp_path / "cache", {"spec": 1})
    good = {"unreadable": True, "findings": [], "saved": None, "frameworks": {}}
    for number, odd in enumerate([float("nan"), float("inf"), "\ud800"]):
        key = f"{number:064x}.xlsx"
        cache.put(key, {**good, "saved": odd})
        assert cache.get(key, {}) is None and not list((tmp_path / "cache").rglob(f"{key}*"))
    cache.put("f" * 64 + ".xlsx", good)
    assert cache.get("f" * 64 + ".xlsx", {})["unreadable"] is True
