"""``xlperf serve`` itself: hostile uploads get their one-line finding while the portal keeps answering; a
server killed in the middle of uploads and checks leaves a consistent store, and finishes the checks when
started again."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from web.served import Portal, get_json, multipart, post_json
from web.webcommon import RETURNS

import hostile

HOSTILE = [hostile.far_cell, hostile.zip_bomb, hostile.billion_laughs, hostile.truncated_xlsx, hostile.docx_renamed,
           hostile.random_bytes, hostile.encrypted, hostile.full_grid_dimension]


def test_hostile_uploads_get_one_line_each_and_the_portal_keeps_serving(served_portal, tmp_path):
    files = [make(tmp_path) for make in HOSTILE]
    answered, stop = [], threading.Event()

    def watch():  # someone else keeps using the portal meanwhile
        while not stop.is_set():
            with urllib.request.urlopen(served_portal.link("471002"), timeout=30) as response:
                answered.append(response.status)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = [post_json(served_portal.link("471003"), path) for path in files]
    finally:
        stop.set()
        watcher.join()
    for path, (status, answer) in zip(files, results):
        assert status == 201, (path.name, answer)
        assert answer["state"] == "unreadable", (path.name, answer)
        assert len(answer["findings"]) == 1 and answer["findings"][0]["code"].startswith("READ_"), answer
        assert "\n" not in answer["findings"][0]["message"]
    assert answered and set(answered) == {200}
    status, answer = post_json(served_portal.link("471003"), RETURNS / "471003_遵化市无线电监测站.xlsx")
    assert (status, answer["state"]) == (201, "passed")


def store_state(data) -> dict:
    """The store as another process sees it: its consistency, every version's state, scratch files."""
    script = (
        "import json, sys\n"
        "from xlperf.web.commands import boot\n"
        "boot(sys.argv[1])\n"
        "from xlperf.web import store\n"
        "from xlperf.web.models import Version\n"
        "print(json.dumps({'problems': store.check_consistency(),\n"
        "                  'versions': sorted([v.unit.code, v.number, v.state] for v in Version.objects.all())}))\n")
    result = subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True, text=True, timeout=120,
                            env=Portal.environment(), check=True)
    return json.loads(result.stdout)


def test_a_server_killed_mid_upload_leaves_the_store_consistent(tmp_path):
    portal = Portal(tmp_path / "store", workers=1).start()
    try:
        # one upload whose check is queued or running when the power goes
        status, answer = post_json(portal.link("471002") + "?wait=0", RETURNS / "471002_遵化市中小企业服务中心.xlsx")
        assert (status, answer["state"]) == (201, "checking")
        # and one still arriving: the headers and half of a 3 MB body
        body, content_type = multipart(RETURNS / "471001_遵化市工业和信息化局本级.xlsx")
        body = body.replace(b"\r\n--", b"\x00" * 3_000_000 + b"\r\n--", 1)
        half = socket.create_connection(("127.0.0.1", portal.port))
        half.sendall(f"POST {portal.links['471001']} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
                     f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        half.sendall(body[: len(body) // 2])
        time.sleep(0.3)
        portal.kill()
        half.close()
    finally:
        portal.kill()
    after = store_state(portal.data)
    assert after["problems"] == []
    assert [unit for unit, _, _ in after["versions"]] == ["471002"]  # the half upload is not a version

    again = Portal(portal.data, workers=1).start()
    try:
        deadline = time.monotonic() + 60
        while get_json(again.link("471002"))["latest"]["state"] == "checking" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get_json(again.link("471002"))["latest"]["state"] == "passed"
        status, answer = post_json(again.link("471001"), RETURNS / "471001_遵化市工业和信息化局本级.xlsx")
        assert status == 201 and answer["state"] == "warnings"
    finally:
        again.stop()
    assert store_state(portal.data) == {"problems": [], "versions": [["471001", 1, "warnings"],
                                                                     ["471002", 1, "passed"]]}


def test_serve_stops_cleanly_and_its_workers_with_it(tmp_path):
    portal = Portal(tmp_path / "store", workers=2).start()
    children = subprocess.run(["pgrep", "-g", str(portal.process.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 3  # the server and its two workers
    portal.stop()
    assert portal.process.returncode in (0, 143)
    time.sleep(1)
    left = subprocess.run(["pgrep", "-g", str(portal.process.pid)], capture_output=True, text=True).stdout.split()
    assert left == []


def test_serve_keeps_its_store_in_postgresql_with_db(postgres_server, tmp_path):
    import psycopg

    server = {"host": postgres_server["host"], "port": postgres_server["port"], "user": postgres_server["user"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute("CREATE DATABASE served_portal")
    url = f"postgresql://{server['user']}@/served_portal?host={server['host']}&port={server['port']}"
    portal = Portal(tmp_path / "store", workers=1, db=url).start()
    try:
        status, answer = post_json(portal.link("471002"), RETURNS / "471002_遵化市中小企业服务中心.xlsx")
        assert (status, answer["state"]) == (201, "passed")
    finally:
        portal.stop()
    assert not (tmp_path / "store" / "portal.sqlite3").exists()
    with psycopg.connect(dbname="served_portal", **server) as connection:
        rows = connection.execute("SELECT u.code, v.number, v.state FROM portal_version v "
                                  "JOIN portal_unit u ON u.id = v.unit_id").fetchall()
    assert rows == [("471002", 1, "passed")]
    status = json.loads(subprocess.run([sys.executable, "-m", "xlperf", "round", "status", "--data",
                                        str(tmp_path / "store"), "--db", url, "--format", "json"],
                                       capture_output=True, text=True, env=Portal.environment(), check=True).stdout)
    assert [unit["state"] for unit in status["units"]] == ["not_returned", "passed", "not_returned"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(served_portal):
    with socket.create_connection(("127.0.0.1", served_portal.port), timeout=30) as connection:
        connection.sendall(f"POST {served_portal.links['471002']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 5000000000\r\n\r\n"
                           .encode())
        answer = b""
        while chunk := connection.recv(4096):  # until the server closes: headers and body may come apart
            answer += chunk
        answer = answer.decode("utf-8")
    assert answer.startswith("HTTP/1.1 413") and "the upload is over the 21 MB limit" in answer
    # sent without a length: cut off once past the limit, nothing stored
    before = get_json(served_portal.link("471002"))["latest"]
    with socket.create_connection(("127.0.0.1", served_portal.port), timeout=30) as connection:
        connection.sendall(f"POST {served_portal.links['471002']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           .encode())
        chunk = b"%x\r\n%s\r\n" % (1_000_000, b"x" * 1_000_000)
        closed = False
        try:
            for _ in range(100):
                connection.sendall(chunk)
        except OSError:  # the server closed the connection: what a client over the limit should see
            closed = True
    assert closed
    assert get_json(served_portal.link("471002"))["latest"] == before
    with urllib.request.urlopen(served_portal.link("471002"), timeout=30) as response:
        assert response.status == 200
