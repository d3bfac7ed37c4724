"""Reading reviews through the API and the public summary."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.reviews.actions import ReviewInput, submit_review
from reputable.reviews.models import Product


def write_reviews(shop: ShopAccess, ratings: list[int], start: dt.datetime) -> None:
    """One order and review per rating, a day apart, through the real submit path."""
    shop.patch("/api/v1/shop", {"frequency_cap_days": 0})
    for n, stars in enumerate(ratings):
        moment = start + dt.timedelta(days=n)
        with time_machine.travel(moment, tick=False):
            sku = "TEA-1" if n % 2 == 0 else "TEA-2"
            shop.post(
                "/api/v1/events",
                checkout(
                    f"o{n}",
                    transaction={"reference": f"o{n}", "date": moment.isoformat()},
                    products=[{"sku": sku, "name": sku}],
                ),
            )
            invitation = Invitation.objects.get(transaction__reference=f"o{n}", shop=shop.shop)
            product = Product.objects.get(shop=shop.shop, sku=sku)
            submit_review(
                invitation=invitation,
                data=ReviewInput(rating=stars, title=f"review {n}", products={product.pk: (stars, "")}),
                now=moment,
            )


START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def reviewed(alice: ShopAccess) -> ShopAccess:
    write_reviews(alice, [5, 4, 1, 5, 3, 2, 5], START)
    return alice


def test_reviews_come_newest_first_in_cursor_pages(reviewed: ShopAccess) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = reviewed.api.get(f"/api/v1/reviews{query}").json()
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"review {n}" for n in range(6, -1, -1)]


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("rating=5", ["review 6", "review 3", "review 0"]),
        ("sku=TEA-2", ["review 5", "review 3", "review 1"]),
        ("since=2026-01-06", ["review 6", "review 5"]),
        ("until=2026-01-02", ["review 1", "review 0"]),
        ("since=2026-01-02&until=2026-01-03&rating=1", ["review 2"]),
    ],
)
def test_reviews_can_be_filtered(reviewed: ShopAccess, query: str, titles: list[str]) -> None:
    items = reviewed.api.get(f"/api/v1/reviews?{query}").json()["items"]

    assert [item["title"] for item in items] == titles


def test_product_ratings_are_listed_by_kind(reviewed: ShopAccess) -> None:
    items = reviewed.api.get("/api/v1/reviews?kind=product&sku=TEA-1&rating=5").json()["items"]

    assert [(i["sku"], i["rating"], i["verified"]) for i in items] == [("TEA-1", 5, True)] * 2


@pytest.mark.parametrize("query", ["rating=6", "kind=store", "cursor=%%%", "since=yesterday", "limit=1000"])
def test_bad_filters_get_422(reviewed: ShopAccess, query: str) -> None:
    response = reviewed.api.get(f"/api/v1/reviews?{query}")

    assert response.status_code == 422
    assert response.json()["fields"]


def test_another_shops_reviews_are_not_listed(reviewed: ShopAccess, charlie: ShopAccess) -> None:
    assert charlie.api.get("/api/v1/reviews").json()["items"] == []
    assert Client().get("/api/v1/reviews").status_code == 401


def test_the_public_summary_is_open_cacheable_and_answers_304(reviewed: ShopAccess) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
        response = Client().get("/api/v1/public/shops/alice-teas/summary")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]
    body = response.json()
    assert body["all_time"] == {"count": 7, "mean": 3.57, "histogram": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 3}}
    assert body["last_12_months"]["count"] == 7
    again = Client().get("/api/v1/public/shops/alice-teas/summary", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_the_last_12_months_leave_older_reviews_out(reviewed: ShopAccess) -> None:
    with time_machine.travel(dt.datetime(2027, 1, 4, 13, 0, tzinfo=dt.UTC)):
        body = Client().get("/api/v1/public/shops/alice-teas/summary").json()

    assert body["all_time"]["count"] == 7
    assert body["last_12_months"]["count"] == 3  # 5, 6 and 7 January 2026 are within 365 days


def test_an_unknown_shop_or_product_summary_is_404(reviewed: ShopAccess) -> None:
    assert Client().get("/api/v1/public/shops/nobody/summary").status_code == 404
    assert Client().get("/api/v1/public/shops/alice-teas/summary?sku=NOPE").status_code == 404


def test_the_profile_pages_through_reviews_newest_first(alice: ShopAccess) -> None:
    write_reviews(alice, [4] * 23, START)

    first = Client().get("/s/alice-teas/?lang=en").content.decode()
    second = Client().get("/s/alice-teas/?page=2&lang=en").content.decode()

    assert "review 22" in first and "review 3" in first and "review 2<" not in first
    assert "review 2<" in second and "review 0" in second
    assert "23 reviews" in first
    assert Client().get("/s/alice-teas/?lang=xx").status_code == 404
    assert Client().get("/s/nobody/").status_code == 404


def test_the_profile_speaks_the_visitors_language(reviewed: ShopAccess) -> None:
    html = Client().get("/s/alice-teas/", headers={"Accept-Language": "pl-PL,pl;q=0.9"}).content.decode()

    assert 'lang="pl"' in html
    assert "Zweryfikowany zakup" in html


@pytest.mark.parametrize(
    "query",
    [
        "until=9999-12-31",
        "since=9999-12-31",
        "kind=product&until=9999-12-31",
        "kind=product&since=0001-01-01",
        "until=1969-12-31",
        "sku=a%00b",
        "kind=product&sku=a%01b",
    ],
)
def test_filters_at_the_edges_of_time_or_with_control_characters_get_422(reviewed: ShopAccess, query: str) -> None:
    response = reviewed.api.get(f"/api/v1/reviews?{query}")

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] in ("since", "until", "sku")


@pytest.mark.parametrize(
    "cursor",
    [
        "MDAwMS0wMS0wMVQwMDowMDowMCsxNDowMHwx",  # base64 of 0001-01-01T00:00:00+14:00|1
        "bm90IGEgY3Vyc29y",
        '["0001-01-01T00:00:00+14:00",1]:forged',
        "%00",
    ],
)
def test_a_cursor_the_api_did_not_give_out_gets_422(reviewed: ShopAccess, cursor: str) -> None:
    for kind in ("shop", "product"):
        response = reviewed.api.get(f"/api/v1/reviews?kind={kind}&cursor={cursor}")

        assert response.status_code == 422
        assert response.json()["fields"][0]["field"] == "cursor"


def test_a_cursor_given_to_one_shop_pages_that_shops_reviews_only(reviewed: ShopAccess, charlie: ShopAccess) -> None:
    cursor = reviewed.api.get("/api/v1/reviews?limit=2").json()["next_cursor"]

    page = charlie.api.get(f"/api/v1/reviews?cursor={cursor}").json()

    assert page["items"] == []


@pytest.mark.parametrize(
    "path", ["/api/v1/public/shops/alice-teas/summary?sku=a%00b", "/api/v1/public/shops/a%00b/summary"]
)
def test_the_public_summary_refuses_control_characters_with_422(reviewed: ShopAccess, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_the_public_summary_answers_head_and_a_cors_preflight(reviewed: ShopAccess) -> None:
    get = Client().get("/api/v1/public/shops/alice-teas/summary")

    head = Client().head("/api/v1/public/shops/alice-teas/summary")
    preflight = Client().options(
        "/api/v1/public/shops/alice-teas/summary",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
    )

    assert (head.status_code, head.content, head["ETag"]) == (200, b"", get["ETag"])
    assert head["Content-Length"] == str(len(get.content))
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in preflight["Access-Control-Allow-Headers"]
