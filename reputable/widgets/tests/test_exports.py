"""The merchant's reviews as files: JSON, NDJSON and CSV, every review, streamed, safe to open."""

import csv
import io
import json
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reputable.conftest import ShopAccess, as_published, write_review, xss_payloads
from reputable.reviews.actions import remove_review
from reputable.reviews.models import Review
from reputable.widgets import api as exports

TEA = {"name": "Green tea", "url": "https://shop.example/tea-1", "gtin": "4006381333931"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(autouse=True)
def frozen(now: Any) -> None:
    """Time stands still at MONDAY."""


def tea_review(shop: ShopAccess, reference: str, stars: int, **kwargs: Any) -> Review:
    return write_review(
        shop, reference, stars, products={"TEA-1": (stars, "Fresh leaves.")}, product_details={"TEA-1": TEA}, **kwargs
    )


def export(shop: ShopAccess, format: str) -> Any:
    response = shop.api.get(f"/api/v1/exports/reviews?format={format}")
    assert response.status_code == 200, response.content
    return response


def content(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(shop: ShopAccess) -> list[dict[str, str]]:
    text = content(export(shop, "csv"))
    assert text.startswith("\ufeff")  # spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def neutralised(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def test_the_json_export_holds_every_review_published_and_removed(alice: ShopAccess, now: Any) -> None:
    kept = tea_review(alice, "1001", 5, title="Great", body="Quick.")
    removed = tea_review(alice, "1002", 1, body="Call me on my number.", customer={"last_name": "Lee"})
    remove_review(review=removed, ground="personal_data", origin="dispute", now=timezone.now())

    response = export(alice, "json")

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="reviews-alice-teas-2026-11-23.json"'
    assert response["Cache-Control"] == "private, no-store"
    items = json.loads(content(response))
    assert [(item["id"], item["status"], item["rating"]) for item in items] == [
        (kept.pk, "published", 5),
        (removed.pk, "removed", 1),
    ]
    assert items[0] == {
        "id": kept.pk,
        "status": "published",
        "rating": 5,
        "delivery_rating": None,
        "service_rating": None,
        "title": "Great",
        "body": "Quick.",
        "author": "Jan V.",
        "verified": True,
        "locale": "",
        "transaction_reference": "1001",
        "created_at": "2026-11-23T09:00:00Z",
        "updated_at": "2026-11-23T09:00:00Z",
        "products": [
            {"sku": "TEA-1", "name": "Green tea", "gtin": "4006381333931", "rating": 5, "body": "Fresh leaves."}
        ],
        "reply_body": None,
        "reply_created_at": None,
        "reply_updated_at": None,
        "automated": [],
        "disputed_since": None,
        "redacted_at": None,
        "redaction_reason": None,
        "restricted_at": None,
        "removed_at": None,
        "removal_origin": None,
        "removal_ground": None,
        "removal_reason": None,
    }
    # A removed review is its stub: when and why, not what it said nor who wrote it.
    assert {name: value for name, value in items[1].items() if value is not None} == {
        "id": removed.pk,
        "status": "removed",
        "rating": 1,
        "created_at": "2026-11-23T09:00:00Z",
        "removed_at": "2026-11-23T09:00:00Z",
        "removal_origin": "dispute",
        "removal_ground": "personal_data",
        "removal_reason": "The review publishes personal data",
    }


def test_the_ndjson_export_is_one_review_per_line(alice: ShopAccess) -> None:
    first, second = tea_review(alice, "1001", 4), tea_review(alice, "1002", 2)

    response = export(alice, "ndjson")

    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.ndjson"')
    lines = content(response).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [first.pk, second.pk]


def test_the_csv_export_is_one_row_per_review_with_its_products_as_json(alice: ShopAccess) -> None:
    review = write_review(
        alice,
        "1001",
        3,
        body="Line one.\nLine two.",
        products={"TEA-1": (5, "Green."), "TEA-2": (2, "Black.")},
        product_details={"TEA-1": TEA, "TEA-2": {"name": "Black tea"}},
    )

    response = export(alice, "csv")
    (row,) = csv_rows(alice)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="reviews-alice-teas-2026-11-23.csv"'
    assert (row["id"], row["status"], row["rating"], row["verified"]) == (str(review.pk), "published", "3", "true")
    assert (row["delivery_rating"], row["body"], row["transaction_reference"]) == ("", "Line one.\nLine two.", "1001")
    assert json.loads(row["products"]) == [
        {"sku": "TEA-2", "name": "Black tea", "gtin": "", "rating": 2, "body": "Black."},
        {"sku": "TEA-1", "name": "Green tea", "gtin": "4006381333931", "rating": 5, "body": "Green."},
    ]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_start_with_an_apostrophe(alice: ShopAccess) -> None:
    tea_review(
        alice,
        "1001",
        2,
        title='=HYPERLINK("https://evil.example/","x")',
        body="+cmd|' /C calc'!A0",
        customer={"first_name": "@SUM(1+1)", "last_name": ""},
    )
    tea_review(alice, "1002", 4, title="-2+3", body="fine = fine")

    first, second = csv_rows(alice)

    assert first["title"] == '\'=HYPERLINK("https://evil.example/","x")'
    assert (first["body"], first["author"]) == ("'+cmd|' /C calc'!A0", "'@SUM(1+1)")
    assert (second["title"], second["body"]) == ("'-2+3", "fine = fine")


def test_every_hostile_text_survives_the_exports_as_text(alice: ShopAccess) -> None:
    payloads = xss_payloads()
    for number, payload in enumerate(payloads):
        write_review(
            alice,
            f"X{number}",
            1 + number % 5,
            title=payload[:120].rstrip(),
            body=payload,
            products={payload[:100].rstrip(): (1 + number % 5, payload)},
            product_details={payload[:100].rstrip(): {"name": payload}},
            customer={"first_name": payload[:100].rstrip(), "last_name": ""},
        )

    items = json.loads(content(export(alice, "json")))
    lines = [json.loads(line) for line in content(export(alice, "ndjson")).splitlines()]
    rows = csv_rows(alice)

    assert len(items) == len(lines) == len(rows) == len(payloads)
    for number, (item, line, row, payload) in enumerate(zip(items, lines, rows, payloads, strict=True)):
        texts = (item["title"], item["body"], item["author"])
        # As published: the checks at submission mask the addresses some payloads hold.
        assert texts == (as_published(payload[:120].rstrip()), as_published(payload), payload[:100].rstrip())
        product = {"sku": payload[:100].rstrip(), "name": payload, "gtin": "", "rating": 1 + number % 5}
        assert item["products"] == [product | {"body": as_published(payload)}]
        assert line == item
        assert (row["title"], row["body"], row["author"]) == tuple(neutralised(text) for text in texts)
        assert json.loads(row["products"]) == item["products"]


def test_a_bad_format_is_a_422_naming_the_field(alice: ShopAccess) -> None:
    response = alice.api.get("/api/v1/exports/reviews?format=xlsx")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [field["field"] for field in body["fields"]] == ["format"]


def test_json_is_the_format_when_none_is_asked_for(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 5)

    response = alice.api.get("/api/v1/exports/reviews")

    assert response["Content-Type"] == "application/json"
    assert len(json.loads(content(response))) == 1


def test_a_read_key_may_export_and_no_key_may_not(alice: ShopAccess) -> None:
    key = alice.post("/api/v1/api-keys", {"name": "reports", "scopes": ["read"]}).json()["key"]

    reader = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert reader.get("/api/v1/exports/reviews?format=csv").status_code == 200
    assert Client().get("/api/v1/exports/reviews").status_code == 401


def test_another_shops_reviews_are_never_exported(alice: ShopAccess, charlie: ShopAccess) -> None:
    tea_review(alice, "1001", 5, title="Alice's")
    tea_review(charlie, "1001", 1, title="Charlie's")

    assert [item["title"] for item in json.loads(content(export(alice, "json")))] == ["Alice's"]
    assert [row["title"] for row in csv_rows(charlie)] == ["Charlie's"]


@pytest.mark.parametrize("format", ["json", "ndjson", "csv"])
def test_the_export_is_streamed_in_chunks_of_queries_not_one_per_review(alice: ShopAccess, format: str) -> None:
    for reference in ("1001", "1002"):
        tea_review(alice, reference, 4)

    def queries_of_an_export() -> int:
        response = export(alice, format)
        assert isinstance(response, StreamingHttpResponse)
        with CaptureQueriesContext(connection) as queries:
            content(response)
        return len(queries)

    few = queries_of_an_export()
    for reference in ("1003", "1004", "1005"):
        tea_review(alice, reference, 2)

    # The reviews through one cursor, and their product ratings (with the products) once per chunk.
    assert queries_of_an_export() == few == 2


def test_a_long_export_reads_its_reviews_chunk_by_chunk(alice: ShopAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    reviews = [tea_review(alice, f"10{number}", 1 + number) for number in range(5)]

    response = export(alice, "json")
    with CaptureQueriesContext(connection) as queries:
        items = json.loads(content(response))

    assert [item["id"] for item in items] == [review.pk for review in reviews]
    assert all(item["products"][0]["sku"] == "TEA-1" for item in items)
    assert len(queries) == 1 + 3  # one cursor over the reviews; product ratings for each chunk of two
