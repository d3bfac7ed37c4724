"""Scheduled pulls of a shop's reviews from Kiyoh and Trustpilot, by the dispatcher, against fakes.

The fakes listen on 127.0.0.1 and answer as the portals document:

- Kiyoh's `GET v1/publication/review/external` (`locationId`, `tenantId`, `limit`, `orderBy`,
  `sortOrder`, `updatedSince` inclusive), the token in `X-Publication-Api-Token`, the location's
  statistics with `reviews[]` rated out of 10; a wrong token gets Kiyoh's 401 error shape.
- Trustpilot's `GET v1/business-units/{id}/reviews` (`apikey`, `perPage`, `page`), `reviews[]`
  with `stars`, `title`, `text`, `consumer.displayName`, `createdAt`, `id`, and `links` with
  `rel: next-page` while more pages follow; a wrong key gets 401.
"""

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.utils import timezone

from reputable.conftest import ShopAccess, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.integrations.models import ImportedReview, ImportedSource, ReviewPull
from reputable.integrations.review_pulls import KIYOH_PAGE, TRUSTPILOT_PAGE

KIYOH_TOKEN = "0b6d3c9e-5b1f-4a0e-9f2d-7c8e1a2b3c4d"
TRUSTPILOT_KEY = "tp-app-key-1234567890"
UNIT = "5d1f7e2a3b4c5d0001e9f0a1"


class Fake:
    """A portal on 127.0.0.1: `respond(path, query, headers)` gives (status, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.status: int | None = None  # instead of the answer, when set
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append((url.path, query))
                status, body = fake.respond(url.path, query, dict(self.headers))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def respond(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kiyoh_review(n: int, when: str) -> dict[str, Any]:
    return {
        "reviewId": f"00000000-0000-4000-8000-{n:012d}",
        "reviewAuthor": f"Klant {n}",
        "city": "Utrecht",
        "rating": 8,
        "reviewContent": [
            {"questionGroup": "DEFAULT_OVERALL", "questionType": "INT", "rating": "8", "order": 0},
            {"questionGroup": "DEFAULT_OPINION", "questionType": "TEXT", "rating": f"Review {n}", "order": 1},
        ],
        "reviewComments": "",
        "dateSince": when,
        "updatedSince": when,
        "referenceCode": "",
        "reviewLanguage": "nl",
    }


class FakeKiyoh(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[dict[str, Any]] = []

    def respond(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if path != "/v1/publication/review/external":
            return 404, {"httpCode": 404, "errorCode": "NOT_FOUND", "message": "not found"}
        if headers.get("X-Publication-Api-Token") != KIYOH_TOKEN or self.status == 401:
            return 401, {"httpCode": 401, "errorCode": "INVALID_TOKEN", "message": "Invalid token"}
        if self.status:
            return self.status, {"httpCode": self.status, "errorCode": "ERROR", "message": "down"}
        since = query.get("updatedSince", [""])[0]
        found = sorted(
            (
                r
                for r in self.reviews
                if not since or dt.datetime.fromisoformat(r["updatedSince"]) >= dt.datetime.fromisoformat(since)
            ),
            key=lambda r: r["updatedSince"],
        )
        limit = int(query["limit"][0])
        return 200, {
            "locationId": query["locationId"][0],
            "locationName": "Alice Teas",
            "viewReviewUrl": "https://www.kiyoh.com/reviews/1063525/alice_teas",
            "numberReviews": len(self.reviews),
            "reviews": found[:limit],
        }


def trustpilot_review(n: int) -> dict[str, Any]:
    return {
        "id": f"66fd5a1c9b3f2e{n:010x}",
        "stars": 1 + n % 5,
        "title": f"Review {n}",
        "text": "Fine.",
        "language": "en",
        "createdAt": f"2026-10-{1 + n % 28:02d}T10:00:00Z",
        "consumer": {"id": f"c{n}", "displayName": f"Consumer {n}", "numberOfReviews": 1},
        "links": [{"href": f"https://api.trustpilot.com/v1/reviews/{n}", "method": "GET", "rel": "reviews"}],
    }


class FakeTrustpilot(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[dict[str, Any]] = []

    def respond(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if path != f"/v1/business-units/{UNIT}/reviews":
            return 404, {"message": "Not found"}
        if query.get("apikey") != [TRUSTPILOT_KEY] or self.status == 401:
            return 401, {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "InvalidApiKey"}}}
        size, page = int(query["perPage"][0]), int(query["page"][0])
        reviews = self.reviews[(page - 1) * size : page * size]
        links = [{"href": "...", "method": "GET", "rel": "next-page"}] if page * size < len(self.reviews) else []
        return 200, {"reviews": reviews, "links": links}


@pytest.fixture
def kiyoh(settings: Any) -> Iterator[FakeKiyoh]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    fake = FakeKiyoh()
    settings.KIYOH_BASE_URL = fake.base_url
    yield fake
    fake.close()


@pytest.fixture
def trustpilot(settings: Any) -> Iterator[FakeTrustpilot]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    fake = FakeTrustpilot()
    settings.TRUSTPILOT_API_URL = fake.base_url
    yield fake
    fake.close()


def pull_kiyoh(shop: ShopAccess, token: str = KIYOH_TOKEN) -> Any:
    return shop.put("/api/v1/review-pulls/kiyoh", {"location_id": "1063525", "api_token": token})


def pull_trustpilot(shop: ShopAccess) -> Any:
    return shop.put("/api/v1/review-pulls/trustpilot", {"business_unit_id": UNIT, "api_key": TRUSTPILOT_KEY})


def test_kiyoh_reviews_are_pulled_page_by_page_and_a_second_pull_stores_nothing_new(
    alice: ShopAccess, now: time_machine.Traveller, kiyoh: FakeKiyoh, dispatcher: DispatchCommand
) -> None:
    kiyoh.reviews = [kiyoh_review(i, f"2026-10-{1 + i // 10:02d}T09:{i % 60:02d}:00.000+02:00") for i in range(150)]
    assert pull_kiyoh(alice).status_code == 200
    run_dispatcher(dispatcher)

    assert ImportedReview.objects.filter(shop=alice.shop, source="kiyoh").count() == 150
    review = ImportedReview.objects.get(source_id="00000000-0000-4000-8000-000000000000")
    assert (review.original_rating, review.original_scale, review.rating, review.body) == (8, 10, 4, "Review 0")
    [(path, first), (_, second)] = kiyoh.requests
    assert (first["locationId"], first["tenantId"], first["limit"]) == (["1063525"], ["98"], [str(KIYOH_PAGE)])
    assert (first["orderBy"], first["sortOrder"], "updatedSince" in first) == (["UPDATE_DATE"], ["ASC"], False)
    assert second["updatedSince"] == [kiyoh.reviews[KIYOH_PAGE - 1]["updatedSince"]]
    pull = ReviewPull.objects.get(shop=alice.shop)
    assert (pull.last_count, pull.status, pull.last_error) == (150, "active", "")
    assert pull.due_at == timezone.now() + dt.timedelta(seconds=21600)

    now.shift(dt.timedelta(hours=7))
    run_dispatcher(dispatcher)
    pull.refresh_from_db()
    assert pull.last_count == 0
    assert ImportedSource.objects.get(shop=alice.shop).count == 150


def test_trustpilot_reviews_are_pulled_page_by_page_and_a_second_pull_stores_nothing_new(
    alice: ShopAccess, now: time_machine.Traveller, trustpilot: FakeTrustpilot, dispatcher: DispatchCommand
) -> None:
    trustpilot.reviews = [trustpilot_review(i) for i in range(TRUSTPILOT_PAGE + 30)]
    assert pull_trustpilot(alice).status_code == 200
    run_dispatcher(dispatcher)

    assert ImportedReview.objects.filter(shop=alice.shop, source="trustpilot").count() == TRUSTPILOT_PAGE + 30
    assert [q["page"] for _, q in trustpilot.requests] == [["1"], ["2"]]
    review = ImportedReview.objects.get(source_id=trustpilot_review(7)["id"])
    assert (review.rating, review.author, review.title) == (3, "Consumer 7", "Review 7")
    assert review.url == f"https://www.trustpilot.com/reviews/{review.source_id}"

    now.shift(dt.timedelta(hours=7))
    trustpilot.reviews.append(trustpilot_review(500))
    run_dispatcher(dispatcher)
    assert trustpilot.requests[-1][1]["page"] == ["2"]  # caught up: on from the last page
    pull = ReviewPull.objects.get(shop=alice.shop)
    assert pull.last_count == 1
    assert ImportedSource.objects.get(shop=alice.shop).count == TRUSTPILOT_PAGE + 31


def test_a_refused_token_fails_the_pull_at_once_with_the_reason(
    alice: ShopAccess, now: time_machine.Traveller, kiyoh: FakeKiyoh, dispatcher: DispatchCommand
) -> None:
    kiyoh.reviews = [kiyoh_review(1, "2026-10-01T09:00:00.000+02:00")]
    pull_kiyoh(alice, token="wrong")
    run_dispatcher(dispatcher)

    answer = alice.api.get("/api/v1/review-pulls/kiyoh").json()
    assert answer["status"] == "failed"
    assert "Kiyoh refused the credentials (401)" in answer["last_error"]
    assert not ImportedReview.objects.exists()


def test_a_portal_that_is_down_is_tried_again_later(
    alice: ShopAccess, now: time_machine.Traveller, kiyoh: FakeKiyoh, dispatcher: DispatchCommand
) -> None:
    kiyoh.status = 503
    pull_kiyoh(alice)
    run_dispatcher(dispatcher)

    pull = ReviewPull.objects.get(shop=alice.shop)
    assert (pull.status, pull.attempts) == ("active", 1)
    assert "Kiyoh answered 503" in pull.last_error
    assert pull.due_at is not None and pull.due_at > timezone.now()


def test_pull_settings_are_checked_per_portal_and_credentials_never_shown_back(alice: ShopAccess) -> None:
    bad = alice.put("/api/v1/review-pulls/trustpilot", {"business_unit_id": "nope", "api_key": ""})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["fields"]} == {"business_unit_id", "api_key"}
    assert alice.put("/api/v1/review-pulls/google", {}).json()["fields"][0]["field"] == "source"

    assert pull_kiyoh(alice).json()["settings"] == {"location_id": "1063525", "tenant_id": "98"}
    listed = alice.api.get("/api/v1/review-pulls").json()
    assert [p["source"] for p in listed] == ["kiyoh"]
    assert KIYOH_TOKEN not in json.dumps(listed)

    assert alice.api.delete("/api/v1/review-pulls/kiyoh").status_code == 204
    assert not ReviewPull.objects.exists()


def test_charlie_cannot_see_or_stop_alices_pull(alice: ShopAccess, charlie: ShopAccess) -> None:
    pull_kiyoh(alice)
    assert charlie.api.get("/api/v1/review-pulls/kiyoh").status_code == 404
    assert charlie.api.delete("/api/v1/review-pulls/kiyoh").status_code == 404
    assert ReviewPull.objects.filter(shop=alice.shop).exists()
