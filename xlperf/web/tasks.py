"""The background work: checking an upload, in the task worker that ``xlperf serve`` starts (django-tasks'
database backend, so no Redis), never in the web server."""
from __future__ import annotations

from django_tasks import task


@task()
def check_upload(version_id: int) -> str:
    from .store import check_version

    return check_version(version_id).state
