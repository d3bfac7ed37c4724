"""Widgets answered whole from the cache, before Django runs, and dropped on every write."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reputable.conftest import ShopAccess, checkout, write_review, wsgi_call
from reputable.invitations.models import Invitation
from reputable.lib import pagecache
from reputable.reviews.actions import ReviewInput, submit_review
from reputable.widgets import views

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def shop(alice: ShopAccess, django_capture_on_commit_callbacks: Any) -> ShopAccess:
    with django_capture_on_commit_callbacks(execute=True):
        write_review(alice, "1", 5, title="Lovely", products={"TEA-1": (5, "Fresh")})
    return alice


def test_a_cached_widget_costs_no_sql_query(shop: ShopAccess) -> None:
    for path in (f"/w/{shop.shop.slug}/badge", f"/w/{shop.shop.slug}/stars?sku=TEA-1", "/w/embed.js"):
        first = wsgi_call(path)
        with CaptureQueriesContext(connection) as queries:
            again = wsgi_call(path)
        assert len(queries) == 0, path
        assert again == first


def test_a_cached_widget_answers_304_and_head_from_the_cache(shop: ShopAccess) -> None:
    path = f"/w/{shop.shop.slug}/badge"
    _status, headers, body = wsgi_call(path)
    with CaptureQueriesContext(connection) as queries:
        status, not_modified, empty = wsgi_call(path, headers={"If-None-Match": headers["ETag"]})
        head_status, head_headers, head_body = wsgi_call(path, method="HEAD")
    assert len(queries) == 0
    assert (status, empty, not_modified["ETag"]) == ("304 Not Modified", b"", headers["ETag"])
    assert "Content-Type" not in not_modified and not_modified["Access-Control-Allow-Origin"] == "*"
    assert (head_status, head_body, head_headers["Content-Length"]) == ("200 OK", b"", str(len(body)))


@pytest.mark.parametrize("widget", ["badge", "stars?sku=TEA-1", "reviews", "reviews?sku=TEA-1", "carousel.json"])
def test_a_new_review_drops_the_shops_cached_widgets(
    shop: ShopAccess, widget: str, django_capture_on_commit_callbacks: Any
) -> None:
    before = wsgi_call(f"/w/{shop.shop.slug}/{widget}")[2]
    with django_capture_on_commit_callbacks(execute=True):
        write_review(shop, "2", 1, title="Awful", products={"TEA-1": (1, "Stale")})
    after = wsgi_call(f"/w/{shop.shop.slug}/{widget}")[2]
    assert after != before


def test_an_edited_review_drops_them_too(
    shop: ShopAccess, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = wsgi_call(f"/w/{shop.shop.slug}/reviews.json")[2]
    token = Invitation.objects.get().token
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/r/{token}", {"rating": "2", "title": "Changed", "name_display": "anonymous"})
    assert response.status_code == 302
    assert b"Changed" in wsgi_call(f"/w/{shop.shop.slug}/reviews.json")[2] != before


def test_another_shops_write_keeps_this_shops_cache(
    shop: ShopAccess, charlie: ShopAccess, django_capture_on_commit_callbacks: Any
) -> None:
    path = f"/w/{shop.shop.slug}/badge"
    wsgi_call(path)
    with django_capture_on_commit_callbacks(execute=True):
        write_review(charlie, "9", 1)
    with CaptureQueriesContext(connection) as queries:
        wsgi_call(path)
    assert len(queries) == 0


def test_a_write_during_a_render_is_not_hidden_by_the_cache(
    shop: ShopAccess, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """The render read the old reviews, a review landed meanwhile: the old answer must not be
    kept as the current one."""
    shop.post("/api/v1/events", checkout("2", customer={"email": "eva@example.de"}))
    invitation = Invitation.objects.get(transaction__reference="2")
    summarise = views.summarise
    calls: list[int] = []

    def summarise_then_write(**kwargs: Any) -> Any:
        summary = summarise(**kwargs)
        if not calls:
            calls.append(1)
            with django_capture_on_commit_callbacks(execute=True):
                submit_review(invitation=invitation, data=ReviewInput(rating=1), now=timezone.now())
        return summary

    monkeypatch.setattr(views, "summarise", summarise_then_write)
    path = f"/w/{shop.shop.slug}/badge.json"
    assert b'"count": 1' in wsgi_call(path)[2]  # rendered before the write committed
    assert b'"count": 2' in wsgi_call(path)[2]


def test_only_successful_reads_are_kept(shop: ShopAccess) -> None:
    wsgi_call(f"/w/{shop.shop.slug}/reviews?limit=99")
    with CaptureQueriesContext(connection) as queries:
        status, _headers, _body = wsgi_call(f"/w/{shop.shop.slug}/reviews?limit=99")
    assert status.startswith("400") and len(queries) > 0
    assert wsgi_call("/w/no-such-shop/badge")[0].startswith("404")


def test_a_new_release_does_not_serve_the_old_ones_answers(shop: ShopAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    path = f"/w/{shop.shop.slug}/badge"
    wsgi_call(path)
    monkeypatch.setattr(pagecache, "CODE_VERSION", "next-release")
    with CaptureQueriesContext(connection) as queries:
        wsgi_call(path)
    assert len(queries) > 0
