"""Structure-aware fuzzing of returns: mutants of real returns that must each end as accepted, a located
finding or unreadable, with no traceback, no crash, no hang, and never cost the good returns of a merge.

    python tools/fuzzing.py [--n 20000] [--seed 1] [--jobs 2] [--keep DIR]

Each mutant is one real return (the samples, with and without mistakes) changed in one way a hostile or
broken file could be: an attribute set to an extreme (-1, 0, 2^31, 2^32, huge, non-numeric,
A1:XFD1048576), an element dropped or repeated thousands of times, a part cut short, removed or swapped
with another, bytes flipped, a relationship or content type pointing elsewhere, a metadata key removed or
given a wrong type. The run validates every mutant (isolated, as the command line does) and merges them
all with good returns of other units; it prints what escaped the preflight and the readers (a crash, an
overrun, an internal error caught only by the per-file boundary) and exits 1 if anything did.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "samples" / "returns").glob("*.xlsx")) + \
    sorted((ROOT / "samples" / "returns-with-errors").glob("*.xlsx"))
EXTREMES = ["-1", "0", "2147483648", "4294967296", "99999999999999999999999", "abc", "A1:XFD1048576", "",
            "1e309", "NaN", "XFD1048576", "0:0", "1:16385"]
ESCAPED = {"READ_CRASHED", "READ_OUT_OF_MEMORY", "READ_TIMEOUT", "READ_INTERNAL"}  # the boundary caught it
_ATTRIBUTE = re.compile(rb'(\s[\w:]+=")([^"]*)(")')
_ELEMENT = re.compile(rb"<([\w:]+)(?:\s[^<>]*)?(?:/>|>(?:[^<]|<(?!/?\1[\s>/]))*?</\1>)")
_TARGET = re.compile(rb'(Target="|PartName=")([^"]*)(")')


@dataclass
class Mutant:
    path: Path
    kind: str
    source: str


def _parts(source: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(source) as archive:
        return [(info, archive.read(info.filename)) for info in archive.infolist()]


def _write(parts: list[tuple[zipfile.ZipInfo, bytes]], target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in parts:
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(copy, data)


def _xml_index(parts, rng: random.Random) -> int:
    xml = [i for i, (info, _) in enumerate(parts) if info.filename.endswith((".xml", ".rels"))]
    return rng.choice(xml)


def _replace_at(data: bytes, match: re.Match, replacement: bytes) -> bytes:
    return data[:match.start()] + replacement + data[match.end():]


def extreme_attribute(parts, rng):
    index = _xml_index(parts, rng)
    info, data = parts[index]
    matches = list(_ATTRIBUTE.finditer(data))
    if matches:
        match = rng.choice(matches)
        value = rng.choice(EXTREMES).encode()
        parts[index] = (info, _replace_at(data, match, match.group(1) + value + match.group(3)))
    return parts


def drop_element(parts, rng):
    index = _xml_index(parts, rng)
    info, data = parts[index]
    matches = list(_ELEMENT.finditer(data))
    if matches:
        parts[index] = (info, _replace_at(data, rng.choice(matches), b""))
    return parts


def repeat_element(parts, rng):
    index = _xml_index(parts, rng)
    info, data = parts[index]
    matches = [m for m in _ELEMENT.finditer(data) if len(m.group(0)) < 2000]
    if matches:
        match = rng.choice(matches)
        parts[index] = (info, _replace_at(data, match, match.group(0) * rng.choice([2, 1000, 5000])))
    return parts


def cut_part(parts, rng):
    index = rng.randrange(len(parts))
    info, data = parts[index]
    parts[index] = (info, data[:rng.randrange(len(data) + 1)])
    return parts


def remove_part(parts, rng):
    del parts[rng.randrange(len(parts))]
    return parts


def swap_parts(parts, rng):
    first, second = rng.sample(range(len(parts)), 2)
    parts[first], parts[second] = (parts[first][0], parts[second][1]), (parts[second][0], parts[first][1])
    return parts


def redirect(parts, rng):
    """A relationship or content type pointing at another part, or at nothing."""
    candidates = [i for i, (info, _) in enumerate(parts) if info.filename.endswith(".rels")
                  or info.filename == "[Content_Types].xml"]
    index = rng.choice(candidates)
    info, data = parts[index]
    matches = list(_TARGET.finditer(data))
    if matches:
        names = [p.filename for p, _ in parts] + ["../../etc/passwd", "xl/missing.xml", "/", ""]
        match = rng.choice(matches)
        parts[index] = (info, _replace_at(data, match, match.group(1) + rng.choice(names).encode() + match.group(3)))
    return parts


def break_meta(parts, rng):
    """A metadata row's key removed or a value given a wrong type (the _meta sheet holds inline JSON)."""
    for index, (info, data) in enumerate(parts):
        if b"xlperf-meta" in data:
            texts = list(re.finditer(rb"<t[^>]*>(\{[^<]*\})</t>", data))
            if not texts:
                return parts
            match = rng.choice(texts)
            import html

            try:
                value = json.loads(html.unescape(match.group(1).decode()))
            except ValueError:
                return parts
            key = rng.choice(sorted(value)) if value else None
            if key is not None:
                choice = rng.randrange(3)
                if choice == 0:
                    del value[key]
                else:
                    value[key] = [None, 12345, "x" * 10, [], {"a": 1}, -1][rng.randrange(6)]
            text = html.escape(json.dumps(value, ensure_ascii=False), quote=False).encode()
            parts[index] = (info, data[:match.start(1)] + text + data[match.end(1):])
            return parts
    return parts


PART_MUTATIONS = [extreme_attribute, drop_element, repeat_element, cut_part, remove_part, swap_parts, redirect,
                  break_meta]


def flip_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.choice([1, 4, 32])):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def libreoffice_sources(folder: Path) -> list[Path]:
    """The sample returns as LibreOffice saves them (shared strings, its own styles and attributes): the
    parts calamine trusts most are there only in files saved by a spreadsheet program."""
    import shutil
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    inputs = sorted((ROOT / "samples" / "returns").glob("*.xlsx"))
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(folder / "saved"),
                    *map(str, inputs)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(folder / "profile", ignore_errors=True)
    return sorted((folder / "saved").glob("*.xlsx"))


def make_mutants(folder: Path, count: int, seed: int, sources: list[Path] | None = None) -> list[Mutant]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sources = sources or SOURCES
    mutants = []
    for number in range(count):
        source = rng.choice(sources)
        target = folder / f"mutant_{number:05d}.xlsx"
        if rng.random() < 0.12:
            kind = "flip_bytes"
            target.write_bytes(flip_bytes(source.read_bytes(), rng))
        else:
            mutation = rng.choice(PART_MUTATIONS)
            kind = mutation.__name__
            _write(mutation(_parts(source), rng), target)
        mutants.append(Mutant(target, kind, source.name))
    return mutants


def good_returns(folder: Path) -> list[Path]:
    """The sample returns filled again for units and projects of other codes (99…, F…), so that no mutant
    can clash with them: a merge over mutants and these must include every one of them exactly."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # fill.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_samples import documents
    from fill import fill_template

    from xlperf.writers.sendout import make_templates

    folder.mkdir(parents=True, exist_ok=True)
    docs = {}
    for code, document in documents().items():
        document = json.loads(json.dumps(document))
        document["unit"]["code"] = "99" + code[2:]
        for project in document["projects"]:
            project["project_code"] = "F" + project["project_code"][1:]
        docs[document["unit"]["code"]] = document
    projects = folder / "projects.csv"
    with open(ROOT / "samples" / "projects.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(projects, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow(["99" + row[0][2:], row[1], "F" + row[2][1:], *row[3:]])
    result = make_templates(projects, folder / "templates", year=2022, framework="cn-2020")
    goods = []
    for unit in result.manifest["units"]:
        goods.append(fill_template(folder / "templates" / unit["file"], docs[unit["unit_code"]],
                                   folder / "returns" / unit["file"]))
    return goods


@dataclass
class Outcome:
    results: dict[str, str]  # mutant name → accepted / finding / unreadable
    escaped: list[str]  # mutants the boundary had to catch: "name (kind, source): CODE message"
    bad: list[str]  # broken promises: no result, a finding without a code in the catalog, a lost good return


def run(mutants: list[Mutant], goods: list[Path], workdir: Path, jobs: int) -> Outcome:
    from xlperf.core.findings import CATALOG
    from xlperf.consolidate.merge import merge_returns
    from xlperf.checks.validate import validate_paths

    bad: list[str] = []
    escaped: list[str] = []
    states: dict[str, str] = {}
    by_path = {str(m.path): m for m in mutants}
    results = validate_paths([m.path for m in mutants], jobs=jobs, isolate=True)
    if len(results) != len(mutants):
        bad.append(f"{len(results)} results for {len(mutants)} mutants")
    for result in results:
        mutant = by_path[result.path]
        for finding in result.findings:
            if finding.code not in CATALOG or not finding.message("en") or not finding.message("zh"):
                bad.append(f"{mutant.path.name}: finding {finding.code} without a catalogued message")
            if finding.code in ESCAPED:
                escaped.append(f"{mutant.path.name} ({mutant.kind} of {mutant.source}): {finding.code} "
                               f"{finding.message('en')}")
        if result.unreadable and len(result.findings) != 1:
            bad.append(f"{mutant.path.name}: unreadable with {len(result.findings)} findings")
        states[mutant.path.name] = "unreadable" if result.unreadable else "finding" if result.findings else "accepted"
    merged = merge_returns([m.path for m in mutants] + goods, jobs=jobs, isolate=True, cache_dir=None)
    alone = merge_returns(goods, cache_dir=None)
    inputs = {Path(row["file"]).name: row["state"] for row in merged.records("inputs")}
    for mutant in mutants:
        if mutant.path.name not in inputs:
            bad.append(f"{mutant.path.name}: not listed among the merge's inputs")
    good_rows = [row for row in merged.records("projects") if str(row["unit_code"]).startswith("99")]
    expected = alone.records("projects")
    if len(expected) != 9:
        bad.append(f"the good returns alone give {len(expected)} projects, not 9")
    strip = ("source_file",)
    if [{k: v for k, v in row.items() if k not in strip} for row in good_rows] != \
            [{k: v for k, v in row.items() if k not in strip} for row in expected]:
        bad.append("the good returns' projects differ in the merge with the mutants")
    return Outcome(states, escaped, bad)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the mutants in this folder")
    parser.add_argument("--no-libreoffice", action="store_true", help="only xlperf-written sources")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="xlperf-fuzz-"))
    sources = SOURCES if args.no_libreoffice else SOURCES + libreoffice_sources(workdir / "libreoffice")
    mutants = make_mutants(workdir / "mutants", args.n, args.seed, sources)
    goods = good_returns(workdir / "goods")
    outcome = run(mutants, goods, workdir, args.jobs)
    kinds = Counter((m.kind, outcome.results.get(m.path.name)) for m in mutants)
    for (kind, state), number in sorted(kinds.items()):
        print(f"{kind:18} {state:10} {number}")
    for line in outcome.escaped + outcome.bad:
        print(line)
    print(f"{args.n} mutants, seed {args.seed}: {len(outcome.escaped)} escaped to the boundary, "
          f"{len(outcome.bad)} broken promises")
    return 1 if outcome.escaped or outcome.bad else 0


if __name__ == "__main__":
    sys.exit(main())
