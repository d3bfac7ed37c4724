"""HTTP behaviour every page and API answer shares: the error shape, HEAD, OPTIONS, security headers."""

import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, checkout, subprocess_env
from reputable.invitations.models import Invitation, Suppression

pytestmark = pytest.mark.usefixtures("now")


def assert_api_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"code", "message", "fields"}
    assert response.json()["code"] == code


def test_an_unknown_api_path_answers_404_in_the_api_shape(alice: ShopAccess) -> None:
    for client in (alice.api, Client()):
        assert_api_error(client.get("/api/v1/nothing-here"), 404, "not_found")
        assert_api_error(client.get("/api/v2/events"), 404, "not_found")


def test_a_wrong_method_answers_405_in_the_api_shape_with_the_allowed_methods(alice: ShopAccess) -> None:
    response = alice.api.delete("/api/v1/events")

    assert_api_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


def test_options_answers_204_with_the_allowed_methods_and_cors_only_where_public(alice: ShopAccess) -> None:
    private = Client().options("/api/v1/shop")

    assert private.status_code == 204
    assert private["Allow"] == "GET, HEAD, OPTIONS, PATCH"
    assert "Access-Control-Allow-Origin" not in private


def test_an_unexpected_error_answers_500_in_the_api_shape_without_details(
    alice: ShopAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("secret detail: the database password is hunter2")

    monkeypatch.setattr("reputable.reviews.api.summarise", broken)

    response = Client(raise_request_exception=False).get("/api/v1/public/shops/alice-teas/summary")

    assert_api_error(response, 500, "server_error")
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize("path", ["/r/abc%00def", "/u/abc%00def", "/r/abc%01def", "/s/alice%00teas/", "/x%00"])
def test_a_path_with_control_characters_is_not_found(alice: ShopAccess, path: str) -> None:
    assert Client().get(path).status_code == 404
    assert Client().post(path).status_code == 404


@pytest.mark.parametrize("query", ["lang=%00", "page=%01", "lang=en%0d%0aX-Evil:%201"])
def test_a_page_query_with_control_characters_is_a_bad_request(alice: ShopAccess, query: str) -> None:
    assert Client().get(f"/s/alice-teas/?{query}").status_code == 400


def test_head_is_answered_wherever_get_is_and_changes_nothing(alice: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout())
    token = Invitation.objects.get().token

    for path in (f"/r/{token}", f"/u/{token}", "/s/alice-teas/", "/api/v1/public/shops/alice-teas/summary"):
        get, head = Client().get(path), Client().head(path)
        assert (path, head.status_code, head.content) == (path, 200, b"")
        assert head["Content-Length"] == str(len(get.content))
    assert alice.api.head("/api/v1/shop").status_code == 200
    assert Suppression.objects.count() == 0  # a HEAD of the objection page objects to nothing
    assert Invitation.objects.get().status == "pending"


@pytest.mark.parametrize("path", ["/s/alice-teas/", "/api/v1/docs", "/api/v1/shop", "/admin/login/", "/api/v1/nothing"])
def test_every_answer_carries_a_csp_without_unsafe_inline_and_may_not_be_framed(alice: ShopAccess, path: str) -> None:
    response = alice.api.get(path)

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"


def test_the_api_docs_come_from_our_own_static_files(db: None) -> None:
    html = Client().get("/api/v1/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html
    assert "//" not in html.replace("http://www.w3.org", "")  # no other host at all


def settings_seen(**env: str) -> str:
    script = (
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'reputable.settings');"
        " from django.conf import settings; print(settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER)"
    )
    return subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env(**env), capture_output=True, text=True, check=True
    ).stdout.strip()


def test_hsts_is_on_when_the_platform_is_https_and_proxy_headers_count_only_when_trusted() -> None:
    assert settings_seen(BASE_URL="http://localhost:8000") == "0 None"
    assert settings_seen(BASE_URL="https://reviews.example.org") == "31536000 None"
    assert settings_seen(BASE_URL="https://reviews.example.org", TRUST_PROXY_HEADERS="true") == (
        "31536000 ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_behind_a_trusted_proxy_an_https_request_gets_hsts(alice: ShopAccess, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    over_https = Client().get("/s/alice-teas/", headers={"X-Forwarded-Proto": "https"})
    over_http = Client().get("/s/alice-teas/")

    assert over_https["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in over_http


def test_head_of_a_static_file_sends_its_length_and_no_body(db: None) -> None:
    get: Any = Client().get("/static/reputable/site.css")  # streaming: a file
    head: Any = Client().head("/static/reputable/site.css")

    assert (head.status_code, b"".join(head.streaming_content)) == (200, b"")
    assert head["Content-Length"] == get["Content-Length"] == str(len(b"".join(get.streaming_content)))
