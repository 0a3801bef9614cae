"""`xlperf validate` of a `merge --parquet` dataset: its documents.parquet read in parts, each by a worker of its
own (as `merge` reads it), with the result and output of reading it whole, at any size."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa  # a test dependency (setup.cfg): never skipped
import pyarrow.parquet as pq
from click.testing import CliRunner
from conftest import SAMPLES

import xlperf.checks.validate
from xlperf.checks.validate import validate_paths
from xlperf.cli import cli
from xlperf.framework.spec import load_spec
from xlperf.intake import reader
from xlperf.writers import exports


WHOLE = 10**15  # PARQUET_PART_BYTES at which every dataset is one part, read whole


def _dataset(tmp_path, monkeypatch, batch: int) -> tuple:
    monkeypatch.setattr(exports, "_PARQUET_BATCH", batch)
    folder = tmp_path / "dept"
    made = CliRunner().invoke(cli, ["merge", str(SAMPLES / "returns"), "-o", str(tmp_path / "s.xlsx"),
                                    "--parquet", str(folder), "--no-cache"])
    assert made.exit_code == 0, made.output
    return folder, folder / "documents.parquet"


def _reads_logged(monkeypatch, log):
    """Each reading of a file, by the worker process that does it: (pid, path, part) to ``log``."""
    read = reader.read_workbook

    def logged(path, limits=None, part=None):
        with open(log, "a") as handle:
            handle.write(json.dumps([os.getpid(), str(path), part]) + "\n")
        return read(path, limits, part)

    monkeypatch.setattr(reader, "read_workbook", logged)


def test_a_dataset_is_validated_in_parts_with_the_output_of_reading_it_whole(tmp_path, monkeypatch):
    folder, documents = _dataset(tmp_path, monkeypatch, batch=1)  # a row group a return, and an empty one
    assert pq.ParquetFile(documents).metadata.num_row_groups == 4
    log = tmp_path / "reads.log"
    _reads_logged(monkeypatch, log)
    inputs = [str(SAMPLES / "returns-with-errors"), str(folder)]
    shown, reads = {}, {}
    for name, part_bytes in (("whole", WHOLE), ("parts", 1)):
        monkeypatch.setattr(reader, "PARQUET_PART_BYTES", part_bytes)
        log.write_text("")
        annotated = tmp_path / name
        text = CliRunner().invoke(cli, ["--lang", "en", "validate", *inputs, "--jobs", "2", "--annotate", str(annotated)])
        as_json = CliRunner().invoke(cli, ["--lang", "en", "validate", *inputs, "--jobs", "2", "--format", "json"])
        library = [(result.path, result.findings, result.unreadable)
                   for result in validate_paths(inputs, jobs=2, isolate=True)]
        shown[name] = (text.exit_code, text.output.replace(str(annotated), "OUT"), as_json.exit_code,
                       json.loads(as_json.output), library, sorted(path.name for path in annotated.iterdir()))
        reads[name] = [(pid, tuple(part) if part else None) for pid, path, part in map(json.loads, log.read_text().split("\n")[:-1])
                       if path == str(documents)]
    assert shown["parts"] == shown["whole"]
    assert {part for _, part in reads["whole"]} == {None}
    # in parts: each by a worker, both workers busy, and never the whole file
    assert sorted({part for _, part in reads["parts"]}) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert len({pid for pid, _ in reads["parts"]}) >= 2
    exit_code, output, _, as_json, library, annotated = shown["parts"]
    assert exit_code == 2 and f"{documents}: unreadable — this is an xlperf summary workbook" in output
    assert as_json["files"][-1]["path"] == str(documents) and as_json["files"][-1]["state"] == "unreadable"
    assert len(as_json["files"]) == len(library) == 4
    assert output.endswith("4 file(s): 0 passed, 0 with warnings only, 3 with errors, 1 unreadable\n")
    assert len(annotated) == 3  # the returns; a dataset has no workbook to mark up


def test_a_damaged_part_says_what_reading_the_dataset_whole_says(tmp_path, monkeypatch):
    _, documents = _dataset(tmp_path, monkeypatch, batch=1)
    table = pq.read_table(documents)
    rows = table.to_pylist()
    rows[1]["document"] = "{not json"
    broken = tmp_path / "broken" / "documents.parquet"
    broken.parent.mkdir()
    with pq.ParquetWriter(broken, table.schema) as writer:
        for row in rows:
            writer.write_table(pa.Table.from_pylist([row], schema=table.schema))
    results = {}
    for name, part_bytes in (("whole", WHOLE), ("parts", 1)):
        monkeypatch.setattr(reader, "PARQUET_PART_BYTES", part_bytes)
        results[name] = [(r.path, r.findings, r.unreadable) for r in validate_paths([broken], jobs=2, isolate=True)]
    assert results["parts"] == results["whole"]
    ((path, findings, unreadable),) = results["parts"]
    assert unreadable and [finding.code for finding in findings] == ["READ_NOT_WORKBOOK"]


def _copies(documents, count: int, target, per_group: int = 50):
    """A dataset of ``count`` returns: the samples' documents again and again, each under a file name of its own."""
    table = pq.read_table(documents)
    rows = table.to_pylist()
    target.parent.mkdir()
    with pq.ParquetWriter(target, table.schema) as writer:
        for start in range(0, count, per_group):
            group = []
            for number in range(start, min(count, start + per_group)):
                row = dict(rows[number % len(rows)])
                carried = json.loads(row["document"])
                carried["file"] = row["file"] = f"units/{number:05d}_{row['file'].rsplit('/', 1)[-1]}"
                group.append({**row, "document": json.dumps(carried, ensure_ascii=False)})
            writer.write_table(pa.Table.from_pylist(group, schema=table.schema))


LIMIT = 150_000_000  # max_read_memory_bytes: reading 2,000 returns whole takes about twice that


def _lowered(memory_bytes: int):
    spec = load_spec()
    return replace(spec, data={**spec.data, "limits": {**spec.data.get("limits", {}),
                                                       "max_read_memory_bytes": memory_bytes}})


def _validated_in_a_fresh_process(documents, part_bytes: int) -> list[str]:
    """The codes ``validate_paths`` finds for the dataset, with ``LIMIT`` in the spec, in a new Python: a worker
    may grow into what its parent freed and kept, so this test's process would leave it more than the limit.
    pyarrow is loaded there first, so that the workers' limit counts the documents, not pyarrow's libraries."""
    script = (f"import json, pyarrow.parquet as pq; pq.read_metadata({str(documents)!r}); "
              "import xlperf.checks.validate as validate; from xlperf.intake import reader; "
              "from test_validate_datasets import _lowered, LIMIT; "
              f"validate._spec = lambda: _lowered(LIMIT); reader.PARQUET_PART_BYTES = {part_bytes}; "
              f"(result,) = validate.validate_paths([{str(documents)!r}], jobs=2, isolate=True); "
              "print(json.dumps([finding.code for finding in result.findings]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                                            str(Path(__file__).parents[1])])})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_dataset_larger_than_a_workers_memory_gets_the_answer_of_one_read_whole(tmp_path, monkeypatch):
    """A province's documents.parquet (20,000 returns) does not fit one worker's memory (``max_read_memory_bytes``):
    read whole it was refused as out of memory; read in parts it gets what a dataset that fits gets."""
    folder, documents = _dataset(tmp_path, monkeypatch, batch=10_000)
    small = validate_paths([folder], jobs=2, isolate=True)
    assert [finding.code for finding in small[0].findings] == ["READ_IS_SUMMARY"]
    large = tmp_path / "province" / "documents.parquet"
    _copies(documents, 2_000, large)  # 40 row groups; read whole, about 300 MB more than a worker starts with
    assert _validated_in_a_fresh_process(large, WHOLE) == ["READ_OUT_OF_MEMORY"]  # one worker cannot hold it
    assert _validated_in_a_fresh_process(large, 3_000_000) == ["READ_IS_SUMMARY"]  # parts of a few row groups
    monkeypatch.setattr(reader, "PARQUET_PART_BYTES", 3_000_000)
    assert len(reader.parquet_parts(large)) > 5
    monkeypatch.setattr(xlperf.checks.validate, "_spec", lambda: _lowered(LIMIT))
    shown = CliRunner().invoke(cli, ["--lang", "en", "validate", str(large.parent), "--jobs", "2"])
    assert shown.exit_code == 2
    assert shown.output == (f"{large}: unreadable — this is an xlperf summary workbook, not a unit's return; a summary "
                            "needs no validation: merge it upward with xlperf merge, or write the text with xlperf "
                            "report; to check returns, run xlperf validate on the units' workbooks\n\n"
                            "1 file(s): 0 passed, 0 with warnings only, 0 with errors, 1 unreadable\n")


def test_each_run_reads_the_framework_library_as_it_is_now(tmp_path):
    """warm_up makes the resolver a run's workers inherit afresh: a process that runs many (the portal) sees a
    library edited between runs, and a merge never caches findings made with the old one under the new's salt."""
    from xlperf.checks.validate import warm_up, worker_resolver

    library = tmp_path / "library.json"
    library.write_text('{"indicators": []}', encoding="utf-8")
    warm_up(None, str(library))
    assert worker_resolver(None, str(library)).by_id("cn-2020") is not None
    library.write_text('{"not": "a library"}', encoding="utf-8")
    warm_up(None, str(library))
    assert worker_resolver(None, str(library)).by_id("cn-2020") is None  # read again: no longer a library
