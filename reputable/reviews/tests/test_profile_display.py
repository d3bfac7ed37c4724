"""The public profile's filters, sort, search, charts and structured data, the page on how
reviews work, and the one rating formatter that every display shares."""

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from reputable.conftest import MONDAY, ShopAccess, write_review
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import Summary


def page(path: str) -> str:
    response = Client().get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def listed_titles(html: str) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", html)


@pytest.fixture
def reviewed(alice: ShopAccess, now: Any) -> ShopAccess:
    """Five, four, four and four stars (4.25: shown as 4.3); green tea in two of them."""
    write_review(alice, "1", 5, title="Superb", body="Quick delivery", products={"TEA-1": (5, "Fresh")})
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "2", 4, title="Good", body="Fine", products={"TEA-1": (1, "Stale")})
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "3", 4, title="Nice", body="Well packed")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "4", 4, title="Okay", body="Slow delivery")
    return alice


def test_the_profile_filters_by_stars_sorts_and_searches(reviewed: ShopAccess) -> None:
    slug = reviewed.shop.slug
    assert listed_titles(page(f"/s/{slug}/?lang=en")) == ["Okay", "Nice", "Good", "Superb"]
    assert listed_titles(page(f"/s/{slug}/?lang=en&stars=5")) == ["Superb"]
    assert listed_titles(page(f"/s/{slug}/?lang=en&stars=4,5&sort=highest")) == ["Superb", "Okay", "Nice", "Good"]
    assert listed_titles(page(f"/s/{slug}/?lang=en&sort=lowest")) == ["Okay", "Nice", "Good", "Superb"]
    assert listed_titles(page(f"/s/{slug}/?lang=en&q=delivery")) == ["Okay", "Superb"]
    assert listed_titles(page(f"/s/{slug}/?lang=en&q=STALE")) == ["Good"]  # product texts too, any case
    html = page(f"/s/{slug}/?lang=en&stars=5")
    # The filter changes the list, never the score.
    assert 'aria-label="Rated 4.3 out of 5, based on 4 reviews"' in html
    assert "Showing 5-star reviews" in html


def test_the_profile_shows_one_products_reviews(reviewed: ShopAccess) -> None:
    html = page(f"/s/{reviewed.shop.slug}/?lang=en&sku=TEA-1")
    assert "Reviews of Product TEA-1 at Alice Teas" in html
    assert 'aria-label="Rated 3.0 out of 5, based on 2 reviews"' in html
    assert re.findall(r'class="review-body">(.*?)</p>', html) == ["Stale", "Fresh"]
    assert "ld+json" not in html  # the shop's Organization markup is on the shop's own listing only
    assert "No reviews yet." in page(f"/s/{reviewed.shop.slug}/?lang=en&sku=UNKNOWN")


@pytest.mark.parametrize(
    ("query", "name"), [("stars=0", "stars"), ("sort=up", "sort"), ("page=x", "page"), ("q=" + "a" * 101, "q")]
)
def test_a_bad_profile_parameter_is_a_400_naming_it(reviewed: ShopAccess, query: str, name: str) -> None:
    response = Client().get(f"/s/{reviewed.shop.slug}/?lang=en&{query}")
    assert response.status_code == 400
    assert f"The parameter “{name}” is not valid" in response.content.decode()


def test_the_distribution_bars_are_drawn_to_scale_with_a_data_table(reviewed: ShopAccess) -> None:
    html = page(f"/s/{reviewed.shop.slug}/?lang=en")
    widths = re.findall(r'<rect class="rp-bar" width="(\d+)"', html)
    assert widths == ["25", "75", "0", "0", "0"]  # 5, 4, 3, 2, 1 stars
    table = html[html.index('<table class="distribution">') : html.index("</table>")]
    assert re.findall(r'<td class="num">(\d+)</td>', table) == ["1", "3", "0", "0", "0"]
    assert "<caption>Rating distribution</caption>" in table


def test_the_rating_over_time_is_an_svg_with_a_table_of_months(alice: ShopAccess, now: Any) -> None:
    now.move_to(MONDAY - dt.timedelta(days=60))  # September
    write_review(alice, "1", 2)
    now.move_to(MONDAY)  # November
    write_review(alice, "2", 5)
    write_review(alice, "3", 4)
    html = page(f"/s/{alice.shop.slug}/?lang=en")
    figure = html[html.index('<figure class="over-time">') : html.index("</figure>")]
    assert '<svg class="rp-over-time"' in figure and 'aria-hidden="true"' in figure
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td><td>(\d+)</td></tr>', figure)
    assert len(rows) == 12
    assert rows[-1] == ("November 2026", "4.5", "2")
    assert rows[-3] == ("September 2026", "2.0", "1")
    assert rows[-2] == ("October 2026", "–", "0")
    assert len(re.findall(r'<circle class="rp-dot"', figure)) == 2


def test_the_profile_carries_the_shops_rating_as_structured_data(reviewed: ShopAccess) -> None:
    html = page(f"/s/{reviewed.shop.slug}/?lang=de")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(blocks[0])
    assert data["@type"] == "Organization" and data["name"] == "Alice Teas"
    assert data["aggregateRating"]["ratingValue"] == "4.3"
    assert len(data["review"]) == 4
    assert "4,3" in html  # the German page writes it the German way


def test_how_reviews_work_follows_the_shops_live_configuration(alice: ShopAccess) -> None:
    slug = alice.shop.slug
    html = page(f"/s/{slug}/how-reviews-work?lang=en")
    assert "After the event “Checkout”, the customer receives an invitation 7 days later." in html
    assert "If no review is written, one reminder follows 7 days later." in html
    assert "No invitation or reminder is sent after these events: Cancellation, Return." in html
    assert "published at once and as written, whatever its rating" in html
    assert "An address is invited at most once in 30 days by this shop." in html

    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]
    changed = alice.patch(
        f"/api/v1/rules/{rule['id']}",
        {"delay_amount": 3, "delay_unit": "business_days", "reminder_count": 2, "send_time": "10:00"},
    )
    assert changed.status_code == 200, changed.content
    html = page(f"/s/{slug}/how-reviews-work?lang=de")
    assert "Nach dem Ereignis „Checkout“ erhält der Kunde 3 Werktage später eine Einladung" in html
    assert "um 10:00 (Europe/Berlin)" in html
    assert "folgen bis zu 2 Erinnerungen im Abstand von 7 Tage" in html
    assert "gesetzlichen Feiertage von DE" in html


def test_every_widget_and_the_profile_link_the_page_on_how_reviews_work(reviewed: ShopAccess) -> None:
    slug = reviewed.shop.slug
    for path in (
        f"/s/{slug}/",
        f"/w/{slug}/badge",
        f"/w/{slug}/reviews",
        f"/w/{slug}/carousel",
        f"/w/{slug}/stars?sku=TEA-1",
    ):
        assert f"/s/{slug}/how-reviews-work" in Client().get(path).content.decode(), path


def test_how_reviews_work_is_in_every_language(alice: ShopAccess) -> None:
    titles = {
        "en": "How reviews of Alice Teas work",
        "de": "Wie die Bewertungen von Alice Teas zustande kommen",
        "nl": "Hoe de beoordelingen van Alice Teas werken",
        "pl": "Jak działają opinie o Alice Teas",
    }
    for language, title in titles.items():
        assert f"<h1>{title}</h1>" in page(f"/s/{alice.shop.slug}/how-reviews-work?lang={language}")


# --- the one formatter --------------------------------------------------------------------------


@given(st.tuples(*[st.integers(min_value=0, max_value=10_000)] * 5))
def test_the_shown_score_is_the_mean_rounded_half_up_to_one_decimal(histogram: tuple[int, ...]) -> None:
    rating = Rating.of(Summary(histogram=histogram))  # type: ignore[arg-type]
    count = sum(histogram)
    if not count:
        assert (rating.score, rating.value, rating.label("en")) == (None, "", "No reviews yet")
        return
    exact = Decimal(sum(stars * n for stars, n in enumerate(histogram, start=1))) / Decimal(count)
    assert rating.score == exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert rating.aggregate_json_ld()["ratingValue"] == rating.value == str(rating.score)
    assert rating.number("de") == rating.value.replace(".", ",")
    for language in ("en", "de", "nl", "pl"):
        assert rating.number(language) in rating.label(language)
    fills = rating.star_fills
    shown = fills.count("full") + fills.count("half") / 2
    assert abs(Decimal(str(shown)) - rating.score) <= Decimal("0.25")


def test_a_mean_of_four_and_a_quarter_shows_as_four_point_three_everywhere(reviewed: ShopAccess) -> None:
    """Banker's rounding would say 4.2 here; every display says 4.3."""
    slug = reviewed.shop.slug
    assert "4.3" in page(f"/s/{slug}/?lang=en")
    assert get_json(f"/w/{slug}/badge.json")["all_time"]["score"] == "4.3"
    assert 'aria-label="Rated 4.3 out of 5, based on 4 reviews"' in page(f"/w/{slug}/reviews?lang=en")
    assert '"ratingValue":"4.3"' in page(f"/s/{slug}/")


def get_json(path: str) -> Any:
    return Client().get(path).json()


def test_each_review_has_a_page_of_its_own_that_widgets_and_feeds_link(
    reviewed: ShopAccess, charlie: ShopAccess
) -> None:
    slug = reviewed.shop.slug
    review = reviewed.shop.reviews.get(title="Good")
    html = page(f"/s/{slug}/reviews/{review.pk}?lang=en")
    assert "<h1>A review of Alice Teas</h1>" in html and "<h3>Good</h3>" in html and "Stale" in html
    data = json.loads(re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)[0])
    assert (data["@type"], data["reviewRating"]["ratingValue"], data["itemReviewed"]["name"]) == (
        "Review",
        "4",
        "Alice Teas",
    )
    assert Client().get(f"/s/{charlie.shop.slug}/reviews/{review.pk}").status_code == 404  # another shop's
    widget = Client().get(f"/w/{slug}/reviews.json").json()
    assert f"http://localhost:8000/s/{slug}/reviews/{review.pk}" in [r["url"] for r in widget["reviews"]]
    assert f"/s/{slug}/reviews/{review.pk}?lang=" in Client().get(f"/w/{slug}/reviews").content.decode()
