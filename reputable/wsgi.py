"""The WSGI application that `reputable serve` runs under granian.

Pages get the whole middleware stack (sessions, CSRF, language, ...). The JSON API under
/api/, the widgets under /w/ and the feeds under /feeds/ use none of that (a key, or nobody,
not a session), so they run with a lean stack: on a small machine the full one costs a third
of a single-event request. Widgets are answered from reputable.lib.pagecache when they can.
"""

import io
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reputable.settings")
pages = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after the app registry is ready
from django.test.utils import override_settings  # noqa: E402

from reputable.lib import pagecache  # noqa: E402
from reputable.lib.http import api_error_body  # noqa: E402

with override_settings(MIDDLEWARE=settings.API_MIDDLEWARE):
    lean = WSGIHandler()  # loads its middleware from the setting now
# The connectors' deliveries (/connectors/) are signed by their platforms, with no session
# either: the lean stack takes a Shopify webhook at about the events API's pace.
LEAN_PREFIXES = ("/api/", pagecache.PREFIX, "/feeds/", "/connectors/")


def chunked_body_read(environ: dict[str, Any]) -> bool:
    """A body sent with Transfer-Encoding: chunked carries no Content-Length, and Django reads
    no further than Content-Length: read it here, within the same size limit, and give its
    length. False when it is over the limit."""
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or environ.get("CONTENT_LENGTH"):
        return True
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return False
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    return True


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    is_api = path.startswith("/api/")
    if not chunked_body_read(environ):
        start_response("413 Content Too Large", [("Content-Type", "application/json" if is_api else "text/plain")])
        return [api_error_body("body_too_large", "the request body is too large") if is_api else b"Content Too Large"]
    if path.startswith(pagecache.PREFIX):
        response: Any = pagecache.serve(environ, start_response, lean)
    else:
        response = (lean if path.startswith(LEAN_PREFIXES) else pages)(environ, start_response)
    if isinstance(response, list):
        return response
    if getattr(response, "streaming", True):
        return response
    # A body in one piece: granian sends a list in one go, but walks any other iterable
    # chunk by chunk across threads, which cost a fifth of a small request here.
    try:
        return [b"".join(response)]
    finally:
        response.close()  # what the server would call: ends the request (signals, DB)
