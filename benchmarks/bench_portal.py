"""Benchmark: the collection portal under load, on 127.0.0.1.

    python benchmarks/bench_portal.py [--n 50] [--workers 2] [--workdir DIR] [--db URL] [--json OUT.json]

1. Data: N units x 8 projects and one filled return each, made (and cached) by bench_merge.py's generator
   with its error mix (some returns carry planted mistakes), so that results differ from unit to unit.
   What each return should get is what the library says of it (``xlperf.validate_paths``, in this process).
2. A fresh store (`xlperf round create` from the same project list, `xlperf office add`) and `xlperf serve`
   with --workers validation workers, on a free port.
3. All N units upload at once (N threads, each one `POST` with ``Accept: application/json``, answered when its
   check is done), while an office user reloads the round's dashboard page without pause.
4. Printed: whether every answer is right (state, and every finding's code, sheet and cell), the time until
   the last result, each upload's time to its result, and the dashboard's latency (median, p95, max) while
   the uploads ran, against the issue's target (status page < 200 ms).

Exit status 0 whatever the figures: a measurement, not a test (tests/web holds the tests).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

import bench_merge  # noqa: E402 - the returns' generator
from web.served import multipart  # noqa: E402 - the upload form, as the tests send it

PASSWORD = "benchmark passphrase"
STATUS_TARGET_MS = 200.0


def environment() -> dict:
    return {key: value for key, value in os.environ.items()
            if not key.startswith("XLPERF_WEB_") and key != "DJANGO_SETTINGS_MODULE"}


def xlperf(*args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "xlperf", *args], input=stdin, capture_output=True, text=True, check=True,
                   env=environment(), cwd=REPO)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def expected_results(returns: list[Path]) -> dict[str, dict]:
    """unit code → the state and findings the library gives the file."""
    import xlperf as library

    expected = {}
    for result in library.validate_paths(returns, framework=bench_merge.FRAMEWORK, year=bench_merge.YEAR, jobs=2):
        code = str(result.document.document["unit"]["code"])
        state = "unreadable" if result.unreadable else "errors" if result.errors else \
            "warnings" if result.findings else "passed"
        expected[code] = {"state": state, "findings": sorted((f.code, f.location.sheet or "", f.location.cell or "")
                                                             for f in result.findings)}
    return expected


def upload(url: str, path: Path) -> tuple[float, int, dict]:
    body, content_type = multipart(path)
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.loads(response.read())
        return time.perf_counter() - started, response.status, answer


def office_session(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/office/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token})
    opener.open(urllib.request.Request(base + "/office/login/", data=form.encode(),
                                       headers={"Referer": base + "/office/login/"}))
    return opener


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(args) -> dict:
    workdir = Path(args.workdir).expanduser()
    bench_merge.prepare(workdir, args.n, "writer+errors", 2, lambda line: print(line, file=sys.stderr))
    returns = sorted((workdir / "returns").glob("*.xlsx"))
    expected = expected_results(returns)
    store = Path(tempfile.mkdtemp(prefix="xlperf-bench-portal-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = ["--db", args.db] if args.db else []
    xlperf("round", "create", str(workdir / "projects.csv"), "--data", str(store), "--year", str(bench_merge.YEAR),
           "--url", base, *db)
    xlperf("office", "add", "bench", "--data", str(store), "--password-stdin", *db, stdin=PASSWORD + "\n")
    links = {}
    for line in (store / "links.csv").read_text(encoding="utf-8-sig").splitlines()[1:]:
        code, _, url = line.split(",")
        links[code] = url
    server = subprocess.Popen([sys.executable, "-m", "xlperf", "serve", "--data", str(store), "--port", str(port),
                               "--workers", str(args.workers), *db], env=environment(), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/office/login/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        office = office_session(base)
        dashboard = f"{base}/office/round/1/"
        office.open(dashboard).read()  # warm
        latencies: list[float] = []
        done = threading.Event()

        def watch():
            while not done.is_set():
                started = time.perf_counter()
                page = office.open(dashboard, timeout=60).read()
                latencies.append((time.perf_counter() - started) * 1000)
                assert b'data-unit="' in page

        watcher = threading.Thread(target=watch)
        watcher.start()
        code_of = {path: next(code for code in links if path.name.startswith(code)) for path in returns}
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(returns)) as pool:
            answers = list(pool.map(lambda path: (path, upload(links[code_of[path]], path)), returns))
        wall = time.perf_counter() - started
        done.set()
        watcher.join()
        wrong = []
        for path, (_, status, answer) in answers:
            want = expected[code_of[path]]
            got = {"state": answer["state"],
                   "findings": sorted((f["code"], f["sheet"] or "", f["cell"] or "") for f in answer["findings"])}
            if status != 201 or got != want:
                wrong.append({"file": path.name, "status": status, "got": got, "expected": want})
        seconds = [seconds for _, (seconds, _, _) in answers]
        states = {}
        for _, (_, _, answer) in answers:
            states[answer["state"]] = states.get(answer["state"], 0) + 1
        return {
            "n": len(returns), "workers": args.workers, "db": "postgresql" if args.db else "sqlite",
            "cpus": os.cpu_count(), "correct": len(returns) - len(wrong), "wrong": wrong[:5], "states": states,
            "all_results_s": round(wall, 2),
            "result_s": {"median": round(statistics.median(seconds), 2), "p95": round(percentile(seconds, 0.95), 2),
                         "max": round(max(seconds), 2)},
            "status_ms": {"samples": len(latencies), "median": round(statistics.median(latencies), 1),
                          "p95": round(percentile(latencies, 0.95), 1), "max": round(max(latencies), 1)},
            "status_target_ms": STATUS_TARGET_MS,
            "status_pass": percentile(latencies, 0.95) < STATUS_TARGET_MS,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="units uploading at once (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="xlperf serve --workers (default 2)")
    parser.add_argument("--workdir", default=os.path.join(os.path.expanduser("~"), ".cache", "xlperf-bench",
                                                          "portal-n{n}"), help="where the returns are kept")
    parser.add_argument("--db", default=None, help="xlperf serve --db (default: SQLite in the store)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    args.workdir = args.workdir.format(n=args.n)
    out = run(args)
    print(f"{out['n']} concurrent uploads ({out['workers']} workers, {out['db']}, {out['cpus']} CPUs): "
          f"{out['correct']}/{out['n']} results correct {out['states']}")
    print(f"  all results after {out['all_results_s']} s; time to one's result: median {out['result_s']['median']} s, "
          f"p95 {out['result_s']['p95']} s, max {out['result_s']['max']} s")
    status = out["status_ms"]
    print(f"  dashboard meanwhile ({status['samples']} loads): median {status['median']} ms, p95 {status['p95']} ms, "
          f"max {status['max']} ms -> {'PASS' if out['status_pass'] else 'FAIL'} (p95 < {STATUS_TARGET_MS:g} ms)")
    for item in out["wrong"]:
        print(f"  WRONG {item['file']}: {item}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
