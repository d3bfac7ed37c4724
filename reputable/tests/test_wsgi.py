"""The WSGI application `reputable serve` runs: pages with the full stack, the API lean."""

import io
import json
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from reputable.conftest import ShopAccess, checkout
from reputable.wsgi import application


def call(
    path: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    # As Django's test client does: the test's database transaction must stay open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def test_the_api_answers_through_the_lean_stack_without_cookies(alice: ShopAccess, now: Any) -> None:
    status, headers, content = call(
        "/api/v1/events",
        method="POST",
        body=json.dumps(checkout()).encode(),
        headers={"Authorization": f"Bearer {alice.key}"},
    )

    assert status.startswith("202")
    assert json.loads(content)["outcome"] == "scheduled"
    assert "Set-Cookie" not in headers
    assert "Cookie" not in headers.get("Vary", "")


def test_pages_keep_the_full_stack(alice: ShopAccess) -> None:
    status, headers, content = call("/s/alice-teas/", headers={"Accept-Language": "de"})

    assert status.startswith("200")
    assert b'lang="de"' in content  # the language middleware ran
    assert headers["X-Frame-Options"] == "DENY"
