"""The portal's tests: Django configured for a throwaway store, and a private PostgreSQL server beside SQLite.

The PostgreSQL server is started here from Debian's ``postgresql`` package (initdb + pg_ctl into a temporary
folder, listening on a unix socket only), so ``python -m pytest`` needs nothing else running. As root the
server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_STORE = tempfile.mkdtemp(prefix="xlperf-web-test-")
os.environ["XLPERF_WEB_DATA"] = _STORE
os.environ.pop("XLPERF_WEB_DB", None)
# a file, not memory: the portal reads the database from threads and processes besides the test's own
os.environ["XLPERF_WEB_TEST_SQLITE"] = os.path.join(_STORE, "test.sqlite3")
os.environ["DJANGO_SETTINGS_MODULE"] = "xlperf.web.settings"

import django  # noqa: E402

django.setup()



def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (the portal's store tests "
                           "run against it)")
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A private PostgreSQL server for this test session: its connection settings."""
    binaries = pg_bin()
    base = Path(tempfile.mkdtemp(prefix="xlperf-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        os.chmod(base, 0o755)
        for path in (base, sockets):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    port = _free_port()
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "xlperf", "--auth=trust",
                                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True)
    options = f"-c listen_addresses='' -c unix_socket_directories={sockets} -p {port} -c fsync=off " \
              f"-c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                                    "-l", str(base / "server.log"), "start"]), check=True, capture_output=True)
    try:
        yield {"host": str(sockets), "port": port, "user": "xlperf"}
    finally:
        subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server):
    """The store's tests use two databases: ``default`` (SQLite) and ``postgres`` (the private server)."""
    from django.conf import settings
    from django.db import connections

    settings.DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql", "NAME": "xlperf", "USER": postgres_server["user"],
        "PASSWORD": "", "HOST": postgres_server["host"], "PORT": str(postgres_server["port"]),
    }
    connections.settings = connections.configure_settings(settings.DATABASES)


@pytest.fixture(scope="session", autouse=True)
def web_store(tmp_path_factory):
    """The store's folder for this session (files by hash, templates, scratch)."""
    from django.conf import settings

    settings.DATA_DIR = tmp_path_factory.mktemp("store")
    yield settings.DATA_DIR
    shutil.rmtree(_STORE, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request):
    """Runs the test once on SQLite and once on PostgreSQL (each test in a transaction rolled back)."""
    from xlperf.web import router

    from django.db import connections

    alias = "default" if request.param == "sqlite" else "postgres"
    assert connections[alias].vendor == request.param
    with router.using(alias):
        yield alias


@pytest.fixture(scope="session")
def served_portal(tmp_path_factory):
    """``xlperf serve`` on a store made with the commands (the sample round, the office account)."""
    from web.served import Portal

    portal = Portal(tmp_path_factory.mktemp("served")).start()
    yield portal
    portal.stop()
