"""Which configured database the store uses: ``default`` in the portal; the tests switch between SQLite and
PostgreSQL with ``using(alias)`` so that one test body runs against both."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

_ACTIVE: ContextVar[str] = ContextVar("xlperf_web_database", default="default")


def active() -> str:
    return _ACTIVE.get()


@contextmanager
def using(alias: str):
    token = _ACTIVE.set(alias)
    try:
        yield alias
    finally:
        _ACTIVE.reset(token)


class ActiveDatabase:
    def db_for_read(self, model, **hints):
        return _ACTIVE.get()

    def db_for_write(self, model, **hints):
        return _ACTIVE.get()

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        return True
