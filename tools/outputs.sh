#!/usr/bin/env bash
# Every output kind made from the samples (templates, annotated copies, validate's JSON, the summary and its
# JSON/CSV, the report) into OUT, by the xlperf on PYTHONPATH (else the installed one). A restructure must
# leave them byte for byte the same: run it once from the commit before (a `git worktree` of it on
# PYTHONPATH) and once after, then `diff -r` the two folders (only the folder names in the messages differ).
#   PYTHONPATH=/tmp/before bash tools/outputs.sh /tmp/out-before; bash tools/outputs.sh /tmp/out-after
set -u
out=$1; S=$(cd "$(dirname "$0")/.." && pwd)/samples
rm -rf $out; mkdir -p $out
python -m xlperf template $S/projects.csv -o $out/templates --year 2022 --lang en > $out/template.txt 2>&1; echo "template rc=$?" >> $out/rc
python -m xlperf validate $S/returns-with-errors --annotate $out/annotated --format json > $out/validate.json 2>$out/validate.err; echo "validate rc=$?" >> $out/rc
python -m xlperf merge $S/returns -o $out/summary.xlsx --expect $S/templates/manifest.json --json $out/summary.json --csv $out/csv --no-cache --lang en > $out/merge.txt 2>&1; echo "merge rc=$?" >> $out/rc
python -m xlperf report $S/returns -o $out/report.docx --lang en > $out/report.txt 2>&1; echo "report rc=$?" >> $out/rc
