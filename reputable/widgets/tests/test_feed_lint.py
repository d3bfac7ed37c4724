"""The feed lint: why Google would refuse a shop's product reviews feed today."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reputable.conftest import ShopAccess, write_review
from reputable.reviews.models import Review

TEA = {"name": "Green tea", "url": "https://shop.example/tea-1", "gtin": "4006381333931"}


@pytest.fixture(autouse=True)
def frozen(now: Any, settings: Any) -> None:
    """Time stands still; the installation has a public address."""
    settings.BASE_URL = "https://reviews.example"


def tea_review(shop: ShopAccess, reference: str, text: str = "Fresh leaves.", **details: Any) -> Review:
    product = {"sku": "TEA-1", **TEA, **details}
    sku = product.pop("sku")
    return write_review(
        shop, reference, 4, body="Fast parcel.", products={sku: (4, text)}, product_details={sku: product}
    )


def findings(shop: ShopAccess) -> dict[str, dict[str, Any]]:
    response = shop.api.get("/api/v1/feeds/lint")
    assert response.status_code == 200, response.content
    return {finding["code"]: finding for finding in response.json()["findings"]}


@pytest.fixture
def on_its_site(alice: ShopAccess) -> ShopAccess:
    assert alice.patch("/api/v1/shop", {"website": "https://shop.example"}).status_code == 200
    return alice


def test_a_feed_of_fewer_than_50_reviews_is_too_small(on_its_site: ShopAccess) -> None:
    for number in range(49):
        tea_review(on_its_site, f"10{number}")

    too_few = findings(on_its_site)["too_few_reviews"]

    assert (too_few["count"], too_few["examples"]) == (49, [])
    assert "49" in too_few["message"] and "50" in too_few["message"]


def test_fifty_sound_reviews_leave_nothing_to_report(on_its_site: ShopAccess) -> None:
    for number in range(50):
        tea_review(on_its_site, f"10{number}")

    response = on_its_site.api.get("/api/v1/feeds/lint").json()

    assert response == {
        "feed_url": "https://reviews.example/feeds/alice-teas/google-product-reviews.xml",
        "findings": [],
    }


def test_products_without_a_gtin_are_named(on_its_site: ShopAccess) -> None:
    tea_review(on_its_site, "1001", sku="TEA-2", name="Black tea", gtin=None, url="https://shop.example/tea-2")
    tea_review(on_its_site, "1002", sku="TEA-3", name="White tea", gtin=None, url="https://shop.example/tea-3")
    tea_review(on_its_site, "1003")

    missing = findings(on_its_site)["product_without_gtin"]

    assert missing["count"] == 2
    assert missing["examples"] == [
        {"review_id": None, "sku": "TEA-2", "name": "Black tea", "url": "https://shop.example/tea-2"},
        {"review_id": None, "sku": "TEA-3", "name": "White tea", "url": "https://shop.example/tea-3"},
    ]


def test_without_a_website_the_product_links_cannot_be_checked(alice: ShopAccess) -> None:
    tea_review(alice, "1001", url="https://elsewhere.example/tea-1")

    found = findings(alice)

    assert found["website_missing"]["count"] == 1
    assert "product_url_off_domain" not in found


@pytest.mark.parametrize(
    ("url", "off"),
    [
        ("https://shop.example/tea-1", False),
        ("http://shop.example:8080/tea-1", False),
        ("https://www.shop.example/tea-1", False),
        ("https://de.shop.example/tee-1?x=1", False),
        ("https://shop.example.evil.example/tea-1", True),
        ("https://evilshop.example/tea-1", True),
        ("https://evil.example/?r=shop.example", True),
        ("https://shop.example@evil.example/tea-1", True),
    ],
)
def test_product_links_off_the_shops_domain_are_named(on_its_site: ShopAccess, url: str, off: bool) -> None:
    tea_review(on_its_site, "1001", url=url)

    found = findings(on_its_site)

    assert ("product_url_off_domain" in found) is off
    if off:
        assert found["product_url_off_domain"]["examples"][0]["url"] == url


def test_product_reviews_carrying_the_shops_text_are_named(on_its_site: ShopAccess) -> None:
    empty = tea_review(on_its_site, "1001", "")  # the feed would carry "Fast parcel."
    same = tea_review(on_its_site, "1002", "Fast parcel.")
    tea_review(on_its_site, "1003", "Lovely leaves.")

    shop_text = findings(on_its_site)["shop_text_in_product_review"]

    assert shop_text["count"] == 2
    assert [example["review_id"] for example in shop_text["examples"]] == [empty.pk, same.pk]
    assert shop_text["examples"][0]["sku"] == "TEA-1"


def test_ratings_the_feed_leaves_out_are_named(on_its_site: ShopAccess) -> None:
    unlinked = tea_review(on_its_site, "1001", sku="P-9", name="No link", url=None)
    wordless = write_review(on_its_site, "1002", 2, products={"TEA-1": (2, "")}, product_details={"TEA-1": TEA})

    found = findings(on_its_site)

    link = found["review_without_product_link"]
    assert (link["count"], link["examples"]) == (
        1,
        [{"review_id": unlinked.pk, "sku": "P-9", "name": "No link", "url": ""}],
    )
    text = found["review_without_text"]
    assert (text["count"], [example["review_id"] for example in text["examples"]]) == (1, [wordless.pk])
    assert found["too_few_reviews"]["count"] == 0


def test_removed_reviews_and_other_shops_count_for_nothing(on_its_site: ShopAccess, charlie: ShopAccess) -> None:
    removed = tea_review(on_its_site, "1001", gtin=None)
    Review.objects.filter(pk=removed.pk).update(status=Review.Status.REMOVED)  # a decision's outcome
    tea_review(charlie, "1001", gtin=None, url="https://charlie.example/x")

    found = findings(on_its_site)

    assert set(found) == {"too_few_reviews"}
    assert found["too_few_reviews"]["count"] == 0


def test_the_lint_asks_the_same_few_queries_whatever_the_number_of_reviews(on_its_site: ShopAccess) -> None:
    def queries_of_a_lint() -> int:
        with CaptureQueriesContext(connection) as queries:
            findings(on_its_site)
        return len(queries)

    tea_review(on_its_site, "1001", "", gtin=None, url="https://evil.example/1")
    few = queries_of_a_lint()
    for number in range(5):
        tea_review(on_its_site, f"20{number}", "", sku=f"S-{number}", gtin=None, url=f"https://evil.example/{number}")

    assert queries_of_a_lint() == few


def test_the_lint_needs_a_key(db: None) -> None:
    assert Client().get("/api/v1/feeds/lint").status_code == 401
