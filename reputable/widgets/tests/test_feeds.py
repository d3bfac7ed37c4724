"""Google's product reviews feed: what it carries, that it is valid and well-formed, that it streams."""

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from lxml import etree

from reputable.conftest import ShopAccess, as_published, checkout, write_review, xss_payloads
from reputable.reviews.models import Product, Review
from reputable.widgets import feeds

SCHEMA = etree.XMLSchema(etree.parse(Path(__file__).parent / "data" / "product_reviews_2.4.xsd"))
TEA = {
    "name": "Green tea",
    "url": "https://shop.example/tea-1",
    "gtin": "4006381333931",
    "mpn": "GT-100",
    "brand": "Alice Teas",
}


@pytest.fixture(autouse=True)
def public_address(settings: Any, now: Any) -> None:
    """Google fetches a public https address (the schema wants a host with a dot); time stands still."""
    settings.BASE_URL = "https://reviews.example"


def tea_review(shop: ShopAccess, reference: str, stars: int, text: str = "Lovely leaves.", **kwargs: Any) -> Review:
    return write_review(
        shop, reference, stars, products={"TEA-1": (stars, text)}, product_details={"TEA-1": TEA}, **kwargs
    )


def fetch(slug: str) -> bytes:
    response: Any = Client().get(f"/feeds/{slug}/google-product-reviews.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    return b"".join(response.streaming_content)


def valid_feed(slug: str) -> Any:
    """The feed, parsed without resolving any entity, and checked against the 2.4 schema."""
    document = etree.fromstring(fetch(slug), etree.XMLParser(resolve_entities=False, no_network=True))
    SCHEMA.assertValid(document)
    return document


def reviews_of(document: Any) -> dict[str, Any]:
    return {review.findtext("review_id"): review for review in document.iter("review")}


def test_a_review_is_written_as_googles_2_4_schema_describes_it(alice: ShopAccess) -> None:
    review = tea_review(alice, "1001", 4, title="Good shop", body="Quick.", customer={"locale": "nl-BE"})
    product = Product.objects.get(sku="TEA-1")

    document = valid_feed("alice-teas")

    assert document.findtext("version") == "2.4"
    assert document.findtext("publisher/name") == "Alice Teas"
    (entry,) = document.iter("review")
    assert [child.tag for child in entry] == [
        "review_id",
        "reviewer",
        "is_verified_purchase",
        "is_incentivized_review",
        "review_timestamp",
        "title",
        "content",
        "review_language",
        "review_url",
        "ratings",
        "products",
    ]
    assert entry.findtext("review_id") == f"{review.pk}-{product.pk}"
    assert entry.find("reviewer/name").text == "Jan V."
    assert entry.find("reviewer/name").get("is_anonymous") is None
    assert (entry.findtext("is_verified_purchase"), entry.findtext("is_incentivized_review")) == ("true", "false")
    assert entry.findtext("review_timestamp") == "2026-11-23T09:00:00Z"
    assert (entry.findtext("title"), entry.findtext("content")) == ("Good shop", "Lovely leaves.")
    assert entry.findtext("review_language") == "nl"
    url = entry.find("review_url")
    assert (url.text, url.get("type")) == (f"https://reviews.example/s/alice-teas/reviews/{review.pk}", "singleton")
    overall = entry.find("ratings/overall")
    assert (overall.text, overall.get("min"), overall.get("max")) == ("4", "1", "5")
    ids = entry.find("products/product/product_ids")
    assert [(element.tag, element.text) for element in ids.iter("gtin", "mpn", "sku", "brand")] == [
        ("gtin", "4006381333931"),
        ("mpn", "GT-100"),
        ("sku", "TEA-1"),
        ("brand", "Alice Teas"),
    ]
    assert entry.findtext("products/product/product_name") == "Green tea"
    assert entry.findtext("products/product/product_url") == "https://shop.example/tea-1"


def test_the_feed_lists_one_star_reviews_too(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 1, "Stale and dusty.")
    tea_review(alice, "1002", 5, "Wonderful.")

    document = valid_feed("alice-teas")

    assert sorted(overall.text for overall in document.iter("overall")) == ["1", "5"]
    assert {review.findtext("content") for review in document.iter("review")} == {"Stale and dusty.", "Wonderful."}


def test_a_foreign_shops_reviews_never_appear(alice: ShopAccess, charlie: ShopAccess) -> None:
    tea_review(alice, "1001", 5, "Alice's tea.")
    tea_review(charlie, "1001", 2, "Charlie's tea.")

    assert [r.findtext("content") for r in valid_feed("alice-teas").iter("review")] == ["Alice's tea."]
    assert [r.findtext("content") for r in valid_feed("charlie-gadgets").iter("review")] == ["Charlie's tea."]


def test_removed_reviews_leave_the_feed(alice: ShopAccess) -> None:
    kept = tea_review(alice, "1001", 5, "Kept.")
    removed = tea_review(alice, "1002", 1, "Removed by a decision.")
    # No removal decision can be taken through the app yet (moderation comes later): its outcome.
    Review.objects.filter(pk=removed.pk).update(status=Review.Status.REMOVED)

    assert [r.findtext("review_id").split("-")[0] for r in valid_feed("alice-teas").iter("review")] == [str(kept.pk)]


def test_an_unknown_shop_has_no_feed(db: None) -> None:
    assert Client().get("/feeds/nobody/google-product-reviews.xml").status_code == 404


def test_a_shop_without_reviews_has_a_valid_empty_feed(alice: ShopAccess) -> None:
    document = valid_feed("alice-teas")

    assert document.find("reviews") is None


def test_each_product_rated_is_one_review_of_the_feed(alice: ShopAccess) -> None:
    review = write_review(
        alice,
        "1001",
        4,
        title="Two teas",
        products={"TEA-1": (5, "Green is great."), "TEA-2": (2, "Black is bitter.")},
        product_details={"TEA-1": TEA, "TEA-2": {"name": "Black tea", "url": "https://shop.example/tea-2"}},
    )

    entries = reviews_of(valid_feed("alice-teas"))

    pks = {p.sku: p.pk for p in Product.objects.all()}
    assert sorted(entries) == sorted([f"{review.pk}-{pks['TEA-1']}", f"{review.pk}-{pks['TEA-2']}"])
    black = entries[f"{review.pk}-{pks['TEA-2']}"]
    assert (black.findtext("title"), black.findtext("content"), black.findtext("ratings/overall")) == (
        "Two teas",
        "Black is bitter.",
        "2",
    )
    assert black.find("products/product/product_ids/gtins") is None  # no GTIN, no empty container


def test_a_product_rating_without_words_carries_the_shop_reviews_text(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 3, "", body="The parcel came late, the tea is fine.")

    (entry,) = valid_feed("alice-teas").iter("review")

    assert entry.findtext("content") == "The parcel came late, the tea is fine."


def test_what_googles_schema_cannot_carry_is_left_out(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 2, "")  # no words at all, the shop review's neither
    write_review(alice, "1002", 4, products={"P-9": (4, "Nice.")}, product_details={"P-9": {"name": "No link"}})
    tea_review(alice, "1003", 5, "Sent.")

    assert [r.findtext("content") for r in valid_feed("alice-teas").iter("review")] == ["Sent."]


def test_a_reviewer_without_a_name_shown_is_anonymous(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 5, customer={"first_name": "", "last_name": ""})

    name = valid_feed("alice-teas").find("reviews/review/reviewer/name")

    assert (name.text, name.get("is_anonymous")) == ("Anonymous", "true")


def test_the_language_is_the_customers_or_else_the_shops(alice: ShopAccess) -> None:
    tea_review(alice, "1001", 5, customer={"locale": "pl_PL"})
    tea_review(alice, "1002", 5, customer={"locale": ""})

    languages = [r.findtext("review_language") for r in valid_feed("alice-teas").iter("review")]

    assert languages == ["pl", "de"]


def test_only_invitations_after_delivery_say_post_fulfillment(alice: ShopAccess) -> None:
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})
    assert alice.post("/api/v1/event-types/delivery/rules", {"delay_amount": 2}).status_code == 201
    delivered = checkout("2001", type="delivery", customer={"email": "buyer-2001@example.nl"})
    assert alice.post("/api/v1/events", delivered).status_code == 202
    after_delivery = tea_review(alice, "2001", 5)  # its checkout comes second: already invited
    after_checkout = tea_review(alice, "2002", 5)

    entries = {r.findtext("review_id").split("-")[0]: r for r in valid_feed("alice-teas").iter("review")}

    assert entries[str(after_delivery.pk)].findtext("collection_method") == "post_fulfillment"
    # Checkout invitations may arrive before the parcel: neither post_fulfillment nor unsolicited.
    assert entries[str(after_checkout.pk)].find("collection_method") is None


def test_every_hostile_text_stays_text_in_the_feed(alice: ShopAccess) -> None:
    expected = {}
    for number, payload in enumerate(xss_payloads()):
        review = write_review(
            alice,
            f"X{number}",
            1 + number % 5,
            title=payload[:120].rstrip(),
            body=payload,
            products={payload[:100].rstrip(): (1 + number % 5, payload)},
            product_details={
                payload[:100].rstrip(): {
                    "name": payload,
                    "mpn": payload[:70].rstrip(),
                    "brand": payload[:100].rstrip(),
                    "url": f"https://shop.example/p/{number}",
                }
            },
            customer={"first_name": payload[:100].rstrip(), "last_name": ""},
        )
        product = review.product_reviews.get().product
        expected[f"{review.pk}-{product.pk}"] = payload

    entries = reviews_of(valid_feed("alice-teas"))  # well-formed, and nothing injected: the schema holds

    assert sorted(entries) == sorted(expected)
    for review_id, payload in expected.items():
        entry = entries[review_id]
        assert entry.findtext("reviewer/name") == payload[:100].rstrip()
        # As published: the checks at submission mask the addresses some payloads hold.
        assert entry.findtext("title") == as_published(payload[:120].rstrip())
        assert entry.findtext("content") == as_published(payload)
        assert entry.findtext("products/product/product_name") == payload
        assert entry.findtext("products/product/product_ids/skus/sku") == payload[:100].rstrip()
        assert entry.findtext("products/product/product_ids/mpns/mpn") == payload[:70].rstrip()


def test_characters_xml_cannot_carry_are_dropped(alice: ShopAccess) -> None:
    # U+FFFE and U+FFFF pass the text rule, so a customer can send them; XML 1.0 cannot hold them.
    review = tea_review(alice, "1001", 3, "tea\ufffe leaves\uffff", title="ti\ufffftle")
    # A row written before the text rule, with control characters in it.
    Review.objects.filter(pk=review.pk).update(author_name="Ja\x01n\x1b V.\x7f")  # PostgreSQL refuses NUL

    (entry,) = valid_feed("alice-teas").iter("review")

    assert (entry.findtext("reviewer/name"), entry.findtext("title")) == ("Jan V.", "title")
    assert entry.findtext("content") == "tea leaves"


def test_the_feed_is_streamed_and_read_in_one_query_whatever_its_length(alice: ShopAccess) -> None:
    for reference in ("1001", "1002"):
        tea_review(alice, reference, 4)

    def queries_of_a_fetch() -> int:
        with CaptureQueriesContext(connection) as queries:
            fetch("alice-teas")
        return len(queries)

    few = queries_of_a_fetch()
    for reference in ("1003", "1004", "1005"):
        tea_review(alice, reference, 2)

    # The shop, then its rows through one cursor, and its imported product reviews through another.
    assert queries_of_a_fetch() == few == 3
    response = Client().get("/feeds/alice-teas/google-product-reviews.xml")
    assert isinstance(response, StreamingHttpResponse)
    with CaptureQueriesContext(connection) as queries:
        head = next(iter(response.streaming_content))
    assert head.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and not queries  # written before it reads
    assert Client().head("/feeds/alice-teas/google-product-reviews.xml").status_code == 200


def test_a_long_feed_is_sent_in_chunks_and_stays_valid(alice: ShopAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "REVIEWS_PER_CHUNK", 2)
    for number in range(5):
        tea_review(alice, f"10{number}", 1 + number)

    response: Any = Client().get("/feeds/alice-teas/google-product-reviews.xml")
    chunks = list(response.streaming_content)

    assert len(chunks) == 5  # the head, three chunks of reviews, the end
    document = etree.fromstring(b"".join(chunks))
    SCHEMA.assertValid(document)
    assert len(list(document.iter("review"))) == 5
