"""The WSGI application `reputable serve` runs: pages with the full stack, the API lean."""

import json
from typing import Any

from reputable.conftest import ShopAccess, checkout
from reputable.conftest import wsgi_call as call


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
