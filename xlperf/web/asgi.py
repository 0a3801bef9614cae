"""The ASGI application uvicorn serves (settings from the environment ``xlperf serve`` sets)."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xlperf.web.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
