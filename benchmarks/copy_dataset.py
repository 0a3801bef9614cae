"""A large `merge --parquet` dataset made cheaply from a smaller one: its documents COPIES times over, each copy
with its own unit codes, project codes and file names, as a merge of that many distinct returns would carry.

    python benchmarks/copy_dataset.py SMALL/documents.parquet 20 OUT   # OUT/documents.parquet

From the 1,000-return error-mix dataset (`xlperf merge ~/.cache/xlperf-bench/n1000-errors/returns --no-cache
--include-invalid --parquet SMALL`), 20 copies: 20,000 returns, 129 row groups, 1.2 GB of documents, in 25 s
of CPU (generating 20,000 returns takes about 20 minutes). Only documents.parquet is written: what `xlperf
merge` and `xlperf validate` read of a dataset. Unit codes are shifted by 1,000 a copy (six digits up to 20
copies of codes 480000–480999), and the copy's number takes the project codes' first two serial digits.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BATCH_CHARS = 8_000_000  # documents a row group, as `merge --parquet` writes them


def copied(row: dict, copy: int) -> dict:
    item = json.loads(row["document"])
    code = str(int(row["unit_code"]) + copy * 1000)
    item["document"]["unit"]["code"] = code
    for project in item["document"]["projects"]:
        serial = project["project_code"]
        if serial[9:11] != "00":
            raise ValueError(f"project code {serial}: no room for the copy's number")
        project["project_code"] = f"{serial[:9]}{copy:02d}{serial[11:]}"
    item["file"] = f"copy{copy:02d}/{code}{row['file'].rsplit('/', 1)[-1][6:]}"
    return {**row, "file": item["file"], "unit_code": code, "document": json.dumps(item, ensure_ascii=False)}


def main(source: str, copies: int, out: str) -> None:
    table = pq.read_table(source)
    rows = table.to_pylist()
    Path(out).mkdir(parents=True, exist_ok=True)
    start = time.process_time()
    with pq.ParquetWriter(Path(out) / "documents.parquet", table.schema, compression="zstd") as writer:
        group, chars = [], 0
        for copy in range(copies):
            for row in rows:
                group.append(copied(row, copy))
                chars += len(group[-1]["document"])
                if chars >= BATCH_CHARS:
                    writer.write_table(pa.Table.from_pylist(group, schema=table.schema))
                    group, chars = [], 0
        if group:
            writer.write_table(pa.Table.from_pylist(group, schema=table.schema))
    print(f"{copies * len(rows)} returns, {time.process_time() - start:.1f} s CPU")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
