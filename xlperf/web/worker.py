"""The validation worker ``xlperf serve`` starts beside the web server: django-tasks' database worker,
ending when its parent does (even when the parent is killed)."""
from __future__ import annotations

import os
import sys
import threading
import time


def _end_with_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xlperf.web.settings")
    # checks are background work: the pages (the web server) come first when the processors are busy; the
    # library's reading processes, started from here, inherit this
    os.nice(int(os.environ.get("XLPERF_WEB_WORKER_NICE", "10")))
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), daemon=True).start()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("db_worker", interval=0.1, startup_delay=False, reload=False, verbosity=0,
                 worker_id=f"xlperf-{os.getpid()}")


if __name__ == "__main__":
    sys.exit(main())
