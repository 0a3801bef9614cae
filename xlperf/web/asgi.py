"""The ASGI application uvicorn serves (settings from the environment ``xlperf serve`` sets).

Django reads a request's whole body before any view sees it; ``BodyLimit`` refuses a body over the upload
limit (plus room for the form around the file) before it is read: at once when Content-Length says so, and
as soon as a body sent without one grows past it.
"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xlperf.web.settings")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

FORM_ROOM = 1_000_000


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._refuse(send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # Django sees the client go away and stops reading
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, counted, send)

    async def _refuse(self, send):
        body = (f"上传内容超过 {self.limit / 1e6:g} MB 的上限 / the upload is over the "
                f"{self.limit / 1e6:g} MB limit\n").encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


application = BodyLimit(get_asgi_application(), settings.MAX_UPLOAD_BYTES + FORM_ROOM)
