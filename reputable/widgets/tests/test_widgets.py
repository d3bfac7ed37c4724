"""The widgets over HTTP: what each shows, its options, its errors, its headers."""

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, write_review, wsgi_call
from reputable.widgets.views import STATIC

TEAS = {"TEA-1": {"gtin": "4006381333931", "brand": "Alice Teas", "url": "https://shop.example/tea-1"}}


def get(path: str, query: dict[str, str] | None = None, **headers: Any) -> Any:
    return Client().get(path, query, **headers)


def text(response: Any) -> str:
    return response.content.decode()


def aria_labels(html: str) -> list[str]:
    return re.findall(r'role="img" aria-label="([^"]*)"', html)


@pytest.fixture
def reviewed(alice: ShopAccess, now: Any) -> ShopAccess:
    """Alice's shop: four reviews of the shop (5, 4, 4, 4 stars: 4.25, shown as 4.3), three of them
    rating green tea (5, 1, 4) and one black tea (2)."""
    write_review(alice, "1", 5, title="Superb", body="Quick", products={"TEA-1": (5, "Fresh")}, product_details=TEAS)
    write_review(
        alice,
        "2",
        4,
        title="Good",
        body="Fine",
        products={"TEA-1": (1, "Stale"), "TEA-2": (2, "Weak")},
        product_details=TEAS,
    )
    write_review(
        alice, "3", 4, title="Nice", body="Well packed", products={"TEA-1": (4, "Tasty")}, product_details=TEAS
    )
    write_review(alice, "4", 4, title="Okay", body="Slow delivery")
    return alice


# --- stars ---------------------------------------------------------------------------------------


def test_stars_show_one_products_score_count_and_spoken_label(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/stars?sku=TEA-1&lang=en")
    assert response.status_code == 200
    html = text(response)
    assert aria_labels(html) == ["Rated 3.3 out of 5, based on 3 reviews"]
    assert '<span class="rp-score" aria-hidden="true">3.3</span>' in html
    assert "(3)" in html
    assert f"/s/{reviewed.shop.slug}/?lang=en&amp;sku=TEA-1" in html  # to the product's reviews
    assert f"/s/{reviewed.shop.slug}/how-reviews-work?lang=en" in html


def test_stars_answer_many_products_in_one_request_by_sku_and_gtin(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/stars.json?sku=TEA-2&sku=NONE&gtin=4006381333931&lang=de")
    products = response.json()["products"]
    assert [(p.get("sku"), p.get("gtin"), p["found"], p["score"], p["count"]) for p in products] == [
        ("TEA-2", None, True, "2.0", 1),
        ("NONE", None, False, None, 0),
        (None, "4006381333931", True, "3.3", 3),
    ]
    assert products[2]["score_text"] == "3,3"
    assert products[2]["label"] == "Mit 3,3 von 5 bewertet, basierend auf 3 Bewertungen"


def test_a_product_without_reviews_says_so_honestly(reviewed: ShopAccess) -> None:
    html = text(get(f"/w/{reviewed.shop.slug}/stars?sku=UNKNOWN&lang=nl"))
    assert "Nog geen beoordelingen" in html
    assert 'class="rp-on"' not in html  # no lit star


def test_stars_take_at_most_a_hundred_products(reviewed: ShopAccess) -> None:
    query = "&".join(f"sku=S{n}" for n in range(101))
    response = get(f"/w/{reviewed.shop.slug}/stars.json?{query}")
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"field": "sku", "message": "at most 100 products (sku= and gtin=) in one request"}
    ]
    assert get(f"/w/{reviewed.shop.slug}/stars.json?" + "&".join(f"sku=S{n}" for n in range(100))).status_code == 200


def test_a_widget_costs_a_few_queries_however_many_products_or_reviews(
    reviewed: ShopAccess, django_assert_max_num_queries: Any
) -> None:
    slug = reviewed.shop.slug
    many = "&".join(f"sku=S{n}" for n in range(97)) + "&sku=TEA-1&sku=TEA-2&gtin=4006381333931"
    with django_assert_max_num_queries(3):  # the shop, the products, their summaries
        assert get(f"/w/{slug}/stars?{many}").status_code == 200
    for path in ("reviews?limit=20", "reviews?sku=TEA-1&limit=20", "carousel?limit=20", "badge"):
        with django_assert_max_num_queries(7):
            assert get(f"/w/{slug}/{path}").status_code == 200


def test_stars_need_a_product(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/stars")
    assert response.status_code == 400
    assert text(response).startswith("sku:")


# --- the seal ------------------------------------------------------------------------------------


def test_the_seal_shows_the_last_twelve_months_and_links_the_profile(alice: ShopAccess, now: Any) -> None:
    now.move_to(MONDAY - dt.timedelta(days=400))
    write_review(alice, "old", 1)
    now.move_to(MONDAY)
    write_review(alice, "new", 5)
    body = get(f"/w/{alice.shop.slug}/badge.json?lang=en").json()
    assert body["last_12_months"]["score"] == "5.0"
    assert body["all_time"] == {
        "score": "3.0",
        "score_text": "3.0",
        "count": 2,
        "label": "Rated 3.0 out of 5, based on 2 reviews",
    }
    html = text(get(f"/w/{alice.shop.slug}/badge?lang=en"))
    assert "Verified reviews" in html and "1 review · last 12 months" in html
    assert aria_labels(html) == ["Rated 5.0 out of 5, based on 1 review"]
    assert f'href="http://localhost:8000/s/{alice.shop.slug}/?lang=en"' in html


def test_the_seal_as_svg_is_an_image_with_the_same_score(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/badge.svg?lang=pl&theme=dark")
    assert response["Content-Type"] == "image/svg+xml"
    svg = text(response)
    assert "<title>Alice Teas: Ocena 4,3 na 5 na podstawie 4 opinii</title>" in svg
    assert ">4,3</text>" in svg
    assert 'fill="#16181d"' in svg  # dark
    assert "<script" not in svg and "style" not in svg


def test_a_shop_without_reviews_gets_an_honest_seal(alice: ShopAccess) -> None:
    html = text(get(f"/w/{alice.shop.slug}/badge?lang=en"))
    assert "No reviews in the last 12 months" in html
    assert aria_labels(html) == ["No reviews yet"]


# --- reviews and carousel --------------------------------------------------------------------------


def test_the_reviews_widget_lists_the_shops_reviews_with_histogram(reviewed: ShopAccess) -> None:
    body = get(f"/w/{reviewed.shop.slug}/reviews.json?lang=en").json()
    assert body["summary"]["score"] == "4.3"
    assert body["summary"]["histogram"] == {"5": 1, "4": 3, "3": 0, "2": 0, "1": 0}
    assert [r["title"] for r in body["reviews"]] == ["Okay", "Nice", "Good", "Superb"]
    assert all(r["verified"] for r in body["reviews"])


def test_a_star_filter_changes_the_list_never_the_score(reviewed: ShopAccess) -> None:
    slug = reviewed.shop.slug
    everything = get(f"/w/{slug}/reviews.json?sku=TEA-1").json()
    low = get(f"/w/{slug}/reviews.json?sku=TEA-1&stars=1,2").json()
    assert [r["rating"] for r in low["reviews"]] == [1]
    assert low["summary"] == everything["summary"]
    html = text(get(f"/w/{slug}/reviews?sku=TEA-1&stars=1&lang=en"))
    assert aria_labels(html)[0] == "Rated 3.3 out of 5, based on 3 reviews"
    assert "Showing 1-star reviews" in html


def test_the_reviews_widget_sorts_and_pages_by_links(reviewed: ShopAccess) -> None:
    slug = reviewed.shop.slug
    assert [r["rating"] for r in get(f"/w/{slug}/reviews.json?sort=lowest").json()["reviews"]] == [4, 4, 4, 5]
    assert [r["rating"] for r in get(f"/w/{slug}/reviews.json?sort=highest").json()["reviews"]] == [5, 4, 4, 4]
    first = get(f"/w/{slug}/reviews.json?limit=3").json()
    second = get(f"/w/{slug}/reviews.json?limit=3&page=2").json()
    assert (first["pages"], len(first["reviews"]), len(second["reviews"])) == (2, 3, 1)
    html = text(get(f"/w/{slug}/reviews?limit=3&lang=en"))
    # Without script the link goes to the profile's same page; the loader fetches the fragment.
    assert f'href="http://localhost:8000/s/{slug}/?lang=en&amp;page=2"' in html
    assert 'data-rp-params="lang=en&amp;theme=auto&amp;limit=3&amp;page=2"' in html


def test_a_products_reviews_carry_product_structured_data(reviewed: ShopAccess) -> None:
    html = text(get(f"/w/{reviewed.shop.slug}/reviews?sku=TEA-1&lang=en"))
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@type"] == "Product"
    assert data["aggregateRating"]["ratingValue"] == "3.3"
    assert data["aggregateRating"]["ratingCount"] == 3
    assert (data["gtin"], data["brand"]["name"], data["sku"]) == ("4006381333931", "Alice Teas", "TEA-1")
    assert sorted(r["reviewRating"]["ratingValue"] for r in data["review"]) == ["1", "4", "5"]


def test_no_rating_markup_about_the_shop_on_the_shops_own_pages(reviewed: ShopAccess) -> None:
    for widget in ("reviews", "carousel", "badge", "stars?sku=TEA-1"):
        html = text(get(f"/w/{reviewed.shop.slug}/{widget}"))
        assert "Organization" not in html and "LocalBusiness" not in html
        assert "ld+json" not in html  # only a product's reviews carry structured data


def test_a_product_without_reviews_lists_none_and_has_no_markup(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/reviews?sku=NEW-ONE&lang=en")
    assert response.status_code == 200
    assert "No reviews yet" in text(response) and "ld+json" not in text(response)


def test_the_carousel_shows_the_most_recent_reviews(reviewed: ShopAccess) -> None:
    body = get(f"/w/{reviewed.shop.slug}/carousel.json?limit=2").json()
    assert [r["title"] for r in body["reviews"]] == ["Okay", "Nice"]
    assert body["last_12_months"]["count"] == 4


# --- options and errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lang=fr", "lang"),
        ("theme=neon", "theme"),
        ("limit=0", "limit"),
        ("limit=21", "limit"),
        ("limit=five", "limit"),
        ("stars=6", "stars"),
        ("stars=1,x", "stars"),
        ("sort=random", "sort"),
        ("page=0", "page"),
        ("lang=en&lang=de", "lang"),
    ],
)
def test_a_bad_option_is_a_400_naming_it(reviewed: ShopAccess, query: str, field: str) -> None:
    response = get(f"/w/{reviewed.shop.slug}/reviews.json?{query}")
    assert response.status_code == 400
    assert [f["field"] for f in response.json()["fields"]] == [field]
    assert text(get(f"/w/{reviewed.shop.slug}/reviews?{query}")).startswith(f"{field}:")


def test_each_language_and_theme_is_served(reviewed: ShopAccess) -> None:
    spoken = {
        "en": "Rated 4.3 out of 5, based on 4 reviews",
        "de": "Mit 4,3 von 5 bewertet, basierend auf 4 Bewertungen",
        "nl": "Beoordeeld met 4,3 van 5, op basis van 4 beoordelingen",
        "pl": "Ocena 4,3 na 5 na podstawie 4 opinii",
    }
    for language, label in spoken.items():
        for theme in ("light", "dark", "auto"):
            html = text(get(f"/w/{reviewed.shop.slug}/badge?lang={language}&theme={theme}"))
            assert f'lang="{language}"' in html and f"rp-theme-{theme}" in html
            assert aria_labels(html) == [label]


def test_the_shops_language_is_the_default(reviewed: ShopAccess) -> None:
    assert get(f"/w/{reviewed.shop.slug}/badge.json").json()["language"] == "de"


def test_an_unknown_shop_gets_a_404_fragment(db: None) -> None:
    response = get("/w/no-such-shop/badge")
    assert response.status_code == 404
    assert "rp-missing" in text(response)
    assert get("/w/no-such-shop/badge.json").json()["code"] == "not_found"
    assert get("/w/no-such-shop/frame/badge").status_code == 404


def test_an_unknown_widget_or_format_is_a_404(reviewed: ShopAccess) -> None:
    assert get(f"/w/{reviewed.shop.slug}/everything").status_code == 404
    assert get(f"/w/{reviewed.shop.slug}/reviews.svg").status_code == 404
    assert get(f"/w/{reviewed.shop.slug}/frame/everything").status_code == 404


def test_widgets_only_read(reviewed: ShopAccess) -> None:
    assert Client().post(f"/w/{reviewed.shop.slug}/badge").status_code == 405


# --- headers ----------------------------------------------------------------------------------------


def test_widgets_are_public_cacheable_and_revalidate_with_etags(reviewed: ShopAccess) -> None:
    status, headers, _body = wsgi_call(f"/w/{reviewed.shop.slug}/badge")
    assert status == "200 OK"
    assert headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    # The same for every visitor: no cookie, nothing that varies by visitor.
    assert "Set-Cookie" not in headers and "Vary" not in headers
    status, again, _body = wsgi_call(f"/w/{reviewed.shop.slug}/badge", headers={"If-None-Match": headers["ETag"]})
    assert status == "304 Not Modified" and again["ETag"] == headers["ETag"]


def test_every_widget_answer_has_a_strict_content_security_policy(reviewed: ShopAccess) -> None:
    for path in ("badge", "reviews", "stars?sku=TEA-1", "badge.svg", "carousel.json"):
        policy = get(f"/w/{reviewed.shop.slug}/{path}")["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert get(f"/w/{reviewed.shop.slug}/{path}")["X-Content-Type-Options"] == "nosniff"


def test_widget_output_has_no_inline_script_or_style(reviewed: ShopAccess) -> None:
    for path in ("badge", "reviews?sku=TEA-1", "reviews", "stars?sku=TEA-1&sku=TEA-2", "carousel", "frame/reviews"):
        html = text(get(f"/w/{reviewed.shop.slug}/{path}"))
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"<script(?![^>]*(type=\"application/ld\+json\"|src=))", html)
        assert not re.search(r"\son\w+=", html)


def test_a_frame_may_be_framed_by_any_shop_and_reports_its_height_to_its_origin(reviewed: ShopAccess) -> None:
    response = get(f"/w/{reviewed.shop.slug}/frame/reviews?sku=TEA-1&origin=https://shop.example&lang=en")
    assert response.status_code == 200
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    html = text(response)
    assert 'data-parent-origin="https://shop.example"' in html
    # Its script, styles and links are relative: a shop's own proxy may serve it at any path.
    assert '<script type="module" src="../../frame.js"></script>' in html
    assert '<link rel="stylesheet" href="../../widgets.css">' in html
    assert 'href="?lang=en&amp;theme=auto&amp;limit=5&amp;sku=TEA-1&amp;origin=https%3A%2F%2Fshop.example' in html


def test_a_frame_ignores_an_origin_that_is_not_one(reviewed: ShopAccess) -> None:
    for bad in ("javascript:alert(1)", "https://shop.example/path", "shop.example", '"><script>'):
        html = text(get(f"/w/{reviewed.shop.slug}/frame/badge", {"origin": bad}))
        assert 'data-parent-origin=""' in html


def test_the_review_form_may_never_be_framed(alice: ShopAccess) -> None:
    write_review(alice, "1", 5)
    from reputable.invitations.models import Invitation

    response = get(f"/r/{Invitation.objects.get().token}")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


# --- the loader -------------------------------------------------------------------------------------


def test_the_loader_is_one_small_module_without_globals_eval_or_storage() -> None:
    source = (STATIC / "embed.js").read_bytes()
    assert len(gzip.compress(source, 9)) <= 3 * 1024
    code = source.decode()
    for forbidden in (
        "eval(",
        "new Function",
        "localStorage",
        "sessionStorage",
        "indexedDB",
        "document.cookie",
        "window.",
    ):
        assert forbidden not in code
    assert "sendBeacon" not in code and 'credentials: "omit"' in code
    assert not re.search(r"https?://", code.replace("import.meta.url", ""))  # no other host


def test_the_loader_and_styles_are_served_cacheable_to_any_origin(db: None) -> None:
    for name, kind in (("embed.js", "text/javascript"), ("frame.js", "text/javascript"), ("widgets.css", "text/css")):
        response = get(f"/w/{name}")
        assert response.status_code == 200 and response["Content-Type"].startswith(kind)
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response.content == Path(STATIC / name).read_bytes()
    assert get("/w/other.js").status_code == 404


def test_the_styles_reserve_each_widgets_box_for_every_limit() -> None:
    css = (STATIC / "widgets.css").read_text()
    for tag in ("reputable-stars", "reputable-badge", "reputable-reviews", "reputable-carousel"):
        assert re.search(tag + r"\{[^}]*height:\d+px", css), tag
    for limit in range(1, 21):
        assert f'reputable-reviews[limit="{limit}"]{{height:{236 + 124 * limit}px}}' in css
        assert f".rp-limit-{limit} .rp-list{{height:{124 * limit}px}}" in css
