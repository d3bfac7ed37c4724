"""Other portals' ratings on the seal, the badge, the profile and "How reviews work": beside the
verified score, never in it; the combined score only when the shop turns it on; the Google
product review feed carries imported reviews only with a collection method the merchant asserted."""

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from lxml import etree

from reputable.conftest import MONDAY, ShopAccess, write_review
from reputable.integrations import sources
from reputable.integrations.models import ImportedReview, ImportedSource
from reputable.reviews.summaries import Summaries, Summary
from reputable.shops.models import Shop

SCHEMA = etree.XMLSchema(
    etree.parse(Path(__file__).resolve().parents[2] / "widgets" / "tests" / "data" / "product_reviews_2.4.xsd")
)
TEA = {"name": "Green tea", "url": "https://shop.example/tea-1", "gtin": "4006381333931"}


@pytest.fixture(autouse=True)
def frozen(now: Any, settings: Any) -> None:
    settings.BASE_URL = "https://reviews.example"


def imported(
    shop: Shop,
    source: str,
    ratings: list[tuple[Decimal, dt.datetime]],
    *,
    scale: int = 5,
    name: str = "",
    url: str = "",
    collection_method: str = "",
    **review: Any,
) -> ImportedSource:
    """A source's imported reviews (ratings on its scale, each with its date) and their summary,
    as the import writes them."""
    name = name or source.title()
    for index, (rating, when) in enumerate(ratings):
        stars = rating * 5 / scale  # a simple rule for the tests; the import's own is its business
        ImportedReview.objects.create(
            shop=shop,
            source=source,
            source_name=name,
            source_id=f"{source}-{index}",
            original_rating=rating,
            original_scale=scale,
            stars=Decimal(stars).quantize(Decimal("0.01")),
            rating=round(stars),
            reviewed_at=when,
            **review,
        )
    rows = ImportedReview.objects.filter(shop=shop, source=source, source_name=name)
    return ImportedSource.objects.create(
        shop=shop,
        source=source,
        source_name=name,
        count=rows.count(),
        stars_total=sum(row.stars for row in rows),
        original_total=sum(row.original_rating for row in rows),
        original_scale=scale,
        last_reviewed_at=max(when for _rating, when in ratings),
        url=url,
        collection_method=collection_method,
    )


def get(path: str) -> Any:
    response = Client().get(path)
    assert response.status_code == 200, path
    return response


def text(path: str) -> str:
    return get(path).content.decode()


def with_sources(alice: ShopAccess) -> None:
    """Alice: two verified reviews (5 and 3 stars), Kiyoh 8.7/10 from two, Trustpilot 4.5/5 from two."""
    write_review(alice, "1001", 5, body="Fine.")
    write_review(alice, "1002", 3, body="Slow.")
    earlier = MONDAY - dt.timedelta(days=30)
    imported(
        alice.shop,
        "kiyoh",
        [(Decimal("8.4"), earlier), (Decimal("9.0"), MONDAY - dt.timedelta(days=2))],
        scale=10,
        url="https://www.kiyoh.com/reviews/1/alice",
    )
    imported(alice.shop, "trustpilot", [(Decimal(4), earlier), (Decimal(5), earlier)], name="Trustpilot")


def test_the_seal_shows_the_verified_score_first_then_each_source_with_its_own_score_count_and_date(
    alice: ShopAccess,
) -> None:
    with_sources(alice)

    html = text(f"/w/{alice.shop.slug}/badge?lang=en")

    verified, kiyoh, trustpilot = (html.index(s) for s in ("Verified reviews", "Kiyoh", "Trustpilot"))
    assert verified < kiyoh < trustpilot or verified < trustpilot < kiyoh
    assert "rp-has-sources" in html and "Also rated on (not verified)" in html
    assert "8.7/10" in html and "4.5/5" in html
    assert html.count("2 reviews ·") == 3  # the verified count, and each source's
    assert "2 reviews · latest 11/21/2026" in html and "latest 10/24/2026" in html
    assert '<a href="https://www.kiyoh.com/reviews/1/alice" rel="nofollow noopener"' in html
    assert "Combined score" not in html


def test_the_badge_json_keeps_the_verified_score_and_lists_sources_apart(alice: ShopAccess) -> None:
    with_sources(alice)

    body = get(f"/w/{alice.shop.slug}/badge.json?lang=en").json()

    assert body["last_12_months"]["score"] == "4.0" and body["last_12_months"]["count"] == 2
    kiyoh = next(source for source in body["sources"] if source["source"] == "kiyoh")
    assert kiyoh | {"score_text": ""} == kiyoh | {
        "score": "8.7",
        "scale": 10,
        "score_text": "",
        "count": 2,
        "verified": False,
        "url": "https://www.kiyoh.com/reviews/1/alice",
        "last_reviewed_at": "2026-11-21T09:00:00+00:00",
    }
    assert body["combined"] is None


def test_the_seal_image_grows_only_when_there_are_sources(alice: ShopAccess) -> None:
    write_review(alice, "1001", 5, body="Fine.")
    plain = text(f"/w/{alice.shop.slug}/badge.svg?lang=en")
    assert 'height="92"' in plain and "Also rated on" not in plain

    imported(alice.shop, "kiyoh", [(Decimal("8.4"), MONDAY)], scale=10)
    svg = text(f"/w/{alice.shop.slug}/badge.svg?lang=en")

    assert 'height="220"' in svg and "8.4/10" in svg and "Kiyoh" in svg
    etree.fromstring(svg.encode())  # still well-formed


def test_without_sources_the_seal_and_profile_show_none(alice: ShopAccess) -> None:
    write_review(alice, "1001", 5, body="Fine.")
    ImportedSource.objects.create(shop=alice.shop, source="google", source_name="Google", count=0)

    badge = text(f"/w/{alice.shop.slug}/badge?lang=en")
    profile = text(f"/s/{alice.shop.slug}/?lang=en")

    assert "rp-has-sources" not in badge and "Also rated on" not in badge
    assert "Also rated on" not in profile and "Combined score" not in profile
    assert get(f"/w/{alice.shop.slug}/badge.json").json()["sources"] == []


def test_the_profile_shows_verified_reviews_first_then_the_other_portals(alice: ShopAccess) -> None:
    with_sources(alice)

    html = text(f"/s/{alice.shop.slug}/?lang=en")

    assert html.index("Verified reviews") < html.index("Also rated on") < html.index("8.7/10")
    assert "collected by Reputable" in html
    assert "not verified by Reputable and not counted in the verified score" in html
    assert "<strong>4.5/5</strong> · 2 reviews · latest 10/24/2026" in html
    assert '<a href="https://www.kiyoh.com/reviews/1/alice" rel="nofollow noopener">Kiyoh</a>' in html


def test_the_combined_score_is_off_by_default_and_absent_everywhere(alice: ShopAccess) -> None:
    with_sources(alice)

    assert alice.shop.combined_score is False
    for path in (f"/w/{alice.shop.slug}/badge?lang=en", f"/s/{alice.shop.slug}/?lang=en"):
        assert "Combined score" not in text(path)
    how = text(f"/s/{alice.shop.slug}/how-reviews-work?lang=en")
    assert 'id="combined"' not in how and "never counted in the verified score" in how


def test_the_combined_score_once_on_is_shown_labelled_and_its_formula_published(alice: ShopAccess) -> None:
    with_sources(alice)

    response = alice.patch("/api/v1/shop", {"combined_score": True})
    assert response.status_code == 200 and response.json()["combined_score"] is True

    # Verified 5 and 3 (weight 1 each), Kiyoh 4.20 and 4.50 stars and Trustpilot 4 and 5 (0.5 each):
    # (8 + 0.5 * 17.7) / (2 + 0.5 * 4) = 4.2125, shown 4.2; the verified score stays 4.0.
    body = get(f"/w/{alice.shop.slug}/badge.json?lang=en").json()
    assert body["combined"]["score"] == "4.2" and body["combined"]["count"] == 6
    assert body["combined"]["formula"].endswith("how-reviews-work?lang=en#combined")
    assert body["last_12_months"]["score"] == "4.0"
    badge = text(f"/w/{alice.shop.slug}/badge?lang=en")
    assert "Combined score" in badge and "how-reviews-work?lang=en#combined" in badge
    profile = text(f"/s/{alice.shop.slug}/?lang=en")
    assert "Combined score" in profile and "from 6 ratings, verified and imported" in profile
    how = text(f"/s/{alice.shop.slug}/how-reviews-work?lang=en")
    assert 'id="combined"' in how and "weighs 1.00" in how and "0.50" in how and "0.25" in how


def test_the_combined_score_weighs_by_source_and_age() -> None:
    shop = Shop(combined_score=True)
    verified = Summaries(all_time=Summary((0, 0, 0, 0, 2)), last_12_months=Summary((0, 0, 0, 0, 1)))
    old_source = sources.SourceScore(
        source="google",
        name="Google",
        score=Decimal(1),
        scale=5,
        stars=Decimal(1),
        stars_total=Decimal(4),
        count=4,
        last_reviewed_at=MONDAY - dt.timedelta(days=400),
        url="",
    )

    combined = sources.combined_score(shop=shop, verified=verified, sources=[old_source], now=MONDAY)

    # 5 (weight 1) + 5 (older, 0.5) + 4 x 1 star (an old source, 0.25 each): 8.5 / 2.5 = 3.4.
    assert combined is not None and combined.score == Decimal("3.4") and combined.count == 6
    assert sources.combined_score(shop=Shop(), verified=verified, sources=[old_source], now=MONDAY) is None
    assert sources.combined_score(shop=shop, verified=verified, sources=[], now=MONDAY) is None


def test_the_dashboard_setting_turns_the_combined_score_on(alice: ShopAccess) -> None:
    from reputable.shops.actions import update_shop

    update_shop(shop=alice.shop, changes={"combined_score": True})
    alice.shop.refresh_from_db()
    assert alice.shop.combined_score is True


def test_imported_reviews_never_change_the_verified_score_or_the_structured_data(alice: ShopAccess) -> None:
    write_review(alice, "1001", 5, body="Fine.")
    before = text(f"/s/{alice.shop.slug}/?lang=en")
    badge_before = get(f"/w/{alice.shop.slug}/badge.json?lang=en").json()

    imported(alice.shop, "google", [(Decimal(1), MONDAY)] * 1)
    alice.patch("/api/v1/shop", {"combined_score": True})
    after = text(f"/s/{alice.shop.slug}/?lang=en")
    badge_after = get(f"/w/{alice.shop.slug}/badge.json?lang=en").json()

    assert badge_after["last_12_months"] == badge_before["last_12_months"]
    assert badge_after["all_time"] == badge_before["all_time"]

    def aggregate(html: str) -> Any:
        found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
        assert found
        return json.loads(found.group(1))["aggregateRating"]

    assert aggregate(after) == aggregate(before) == aggregate(before) | {"ratingValue": "5.0", "ratingCount": 1}


def test_a_new_source_changes_the_cached_seal_and_its_etag(alice: ShopAccess) -> None:
    write_review(alice, "1001", 5, body="Fine.")
    first = get(f"/w/{alice.shop.slug}/badge?lang=en")

    imported(alice.shop, "kiyoh", [(Decimal("8.4"), MONDAY)], scale=10)
    sources.sources_changed(alice.shop)
    second = get(f"/w/{alice.shop.slug}/badge?lang=en")

    assert "8.4/10" in second.content.decode()
    assert first["ETag"] != second["ETag"]


def test_a_source_name_is_escaped_everywhere_it_is_shown(alice: ShopAccess) -> None:
    hostile = '<script>alert("x")</script>'
    imported(alice.shop, "generic", [(Decimal(4), MONDAY)], name=hostile)

    for path in (
        f"/w/{alice.shop.slug}/badge?lang=en",
        f"/w/{alice.shop.slug}/badge.svg?lang=en",
        f"/s/{alice.shop.slug}/?lang=en",
        f"/s/{alice.shop.slug}/how-reviews-work?lang=en",
    ):
        html = text(path)
        assert hostile not in html and "&lt;script&gt;" in html, path
    assert get(f"/w/{alice.shop.slug}/badge.json").json()["sources"][0]["name"] == hostile


def test_the_new_strings_are_marked_and_render_in_german(alice: ShopAccess) -> None:
    imported(alice.shop, "kiyoh", [(Decimal("8.4"), MONDAY)], scale=10)

    html = text(f"/w/{alice.shop.slug}/badge?lang=de")

    assert "8,4/10" in html  # German numbers
    assert "23.11.2026" in html  # German dates
    assert "1 Bewertung" in html


# --- the Google product review feed ----------------------------------------------------------------


def feed(slug: str) -> Any:
    response: Any = Client().get(f"/feeds/{slug}/google-product-reviews.xml")
    document = etree.fromstring(b"".join(response.streaming_content))
    SCHEMA.assertValid(document)
    return {review.findtext("review_id"): review for review in document.iter("review")}


def product_review(shop: Shop, source: str, collection_method: str) -> None:
    imported(
        shop,
        source,
        [(Decimal(4), MONDAY - dt.timedelta(days=3))],
        collection_method=collection_method,
        url="https://portal.example/alice",
        sku="TEA-1",
        body="Lovely leaves.",
        author="Anna",
    )


def test_imported_product_reviews_enter_the_feed_only_with_a_collection_method(alice: ShopAccess) -> None:
    write_review(alice, "1001", 5, products={"TEA-1": (5, "Good tea.")}, product_details={"TEA-1": TEA})
    product_review(alice.shop, "trustedshops", "post_fulfillment")
    product_review(alice.shop, "provenexpert", "")

    reviews = feed(alice.shop.slug)

    ours = [review for key, review in reviews.items() if key.startswith("imported-")]
    assert len(reviews) == 2 and len(ours) == 1
    (entry,) = ours
    assert entry.findtext("is_verified_purchase") == "false"
    assert entry.findtext("collection_method") == "post_fulfillment"
    assert entry.findtext("products/product/product_url") == TEA["url"]
    assert entry.findtext("review_url") == "https://portal.example/alice"
    assert entry.findtext("ratings/overall") == "4.00"


def test_an_imported_review_of_a_product_the_shop_has_no_page_for_stays_out_of_the_feed(
    alice: ShopAccess,
) -> None:
    product_review(alice.shop, "trustedshops", "unsolicited")

    assert feed(alice.shop.slug) == {}
