"""A real portal for the end-to-end tests and the benchmark: a store made with the commands, and
``xlperf serve`` (uvicorn and its validation workers) on a free port of 127.0.0.1."""
from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long passphrase"


def _environment() -> dict:
    """This environment without the test session's Django settings: the portal reads its own."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("XLPERF_WEB_") and key != "DJANGO_SETTINGS_MODULE"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def xlperf(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlperf", *args], input=stdin, capture_output=True, text=True,
                          env=_environment(), timeout=300, check=True)


class Portal:
    """A store at ``data`` with the sample round and an office account ``finance``, served on ``port``."""

    def __init__(self, data: Path, workers: int = 2, db: str | None = None):
        self.data, self.workers = Path(data), workers
        self.db = ["--db", db] if db else []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        if not (self.data / "links.csv").exists():
            xlperf("round", "create", str(ROOT / "samples" / "projects.csv"), "--data", str(self.data),
                   "--year", "2022", "--url", self.url, *self.db)
            xlperf("office", "add", "finance", "--data", str(self.data), "--password-stdin", *self.db,
                   stdin=PASSWORD + "\n")
        with open(self.data / "links.csv", encoding="utf-8-sig", newline="") as handle:
            # the path of each link: the server may run on another port than the one the links were made for
            self.links = {row["unit_code"]: "/" + row["url"].split("/", 3)[3] for row in csv.DictReader(handle)}

    environment = staticmethod(_environment)

    def start(self) -> "Portal":
        self.log = open(self.data / f"serve-{self.port}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xlperf", "serve", "--data", str(self.data), "--port", str(self.port),
             "--workers", str(self.workers), *self.db], stdout=self.log, stderr=subprocess.STDOUT, env=_environment(),
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"xlperf serve ended: {(self.data / f'serve-{self.port}.log').read_text()}")
            try:
                urllib.request.urlopen(self.url + "/office/login/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("xlperf serve did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def kill(self) -> None:
        """SIGKILL the server and everything it started (its process group), as a power cut would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        self.log.close()

    def link(self, code: str) -> str:
        return self.url + self.links[code]


def multipart(path: Path, name: str | None = None) -> tuple[bytes, str]:
    """The body and content type of a form with one field ``file`` holding ``path``."""
    boundary = secrets.token_hex(16)
    filename = (name or path.name).encode("utf-8")
    body = (f"--{boundary}\r\n".encode() + b'Content-Disposition: form-data; name="file"; filename="' + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def post_json(url: str, path: Path, timeout: float = 120) -> tuple[int, dict]:
    """Upload ``path`` as a script does (``Accept: application/json``): (status, answer)."""
    body, content_type = multipart(path)
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get_json(url: str, timeout: float = 30) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())
