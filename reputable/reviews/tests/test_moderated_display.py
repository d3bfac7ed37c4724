"""How a disputed, restricted, redacted or removed review is shown everywhere a review is shown:
the profile, the review page, every widget and its JSON, the API, the export, the inbox; and
left out of the structured data and the product reviews feed."""

import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, moderator, write_review
from reputable.moderation import actions as moderation
from reputable.moderation.models import Dispute
from reputable.reviews.actions import redact_review, remove_review
from reputable.reviews.models import Review

pytestmark = pytest.mark.usefixtures("now")

TEA = {"TEA-1": {"gtin": "4006381333931", "url": "https://shop.example/tea-1"}}
# Each written at MONDAY (Nov. 23, 2026, 09:00 UTC) plus its number of hours.
STUB = (
    "Review (2 stars, Nov. 23, 2026) removed on Dec. 3, 2026 after a dispute raised by Alice Teas. "
    "Reason: A false statement of fact. Decided by moderation; appeal possible."
)
RESTRICTED_STUB = (
    "Review (2 stars, Nov. 23, 2026) hidden on Nov. 24, 2026 pending a moderator's decision. "
    "Reason: Illegal content: threats, insults or hate."
)
DISPUTED = "In dispute since Nov. 24, 2026"


@pytest.fixture(autouse=True)
def many_disputes(settings: Any) -> None:
    """Alice may dispute each of her few reviews (the limit is per 100 reviews)."""
    settings.DISPUTES_PER_100_REVIEWS = 100


@pytest.fixture
def reviews(alice: ShopAccess, now: Any) -> dict[str, Review]:
    """Three reviews an hour apart, each rating green tea: newest "after", then "middle"
    (2 stars, the one moderation takes on), then "before"."""
    written = {}
    for number, (name, stars, text) in enumerate(
        [("before", 5, "Lovely tea"), ("middle", 2, "The parcel was opened, says Mr Smith"), ("after", 4, "Good")]
    ):
        written[name] = write_review(
            alice,
            f"o{number}",
            stars,
            title=f"Title {name}",
            body=text,
            products={"TEA-1": (stars, f"Tea {name}")},
            product_details=TEA,
        )
        now.shift(dt.timedelta(hours=1))
    return written


def admitted(review: Review, now: Any, reason: str = "false_fact") -> Dispute:
    """A dispute of `review` the next day, admitted by a moderator: the review is in dispute."""
    now.move_to(review.created_at + dt.timedelta(days=1))
    dispute = moderation.open_dispute(
        review=review,
        user=None,
        reason=reason,
        passage="",
        explanation="This customer never ordered from us, we checked.",
        good_faith=True,
        now=timezone.now(),
    )
    return moderation.triage(dispute=dispute, moderator=mona(), admissible=True, note="", now=timezone.now())


def mona() -> Any:
    from django.contrib.auth.models import User

    return User.objects.filter(email="mona@reputable.example").first() or moderator("mona@reputable.example")


def removed(review: Review, now: Any, origin: str = "dispute", ground: str = "false_fact") -> Review:
    """Removed ten days after it was written (as a decision, the reviewer or an erasure does)."""
    now.move_to(review.created_at + dt.timedelta(days=10))
    return remove_review(review=review, ground=ground, origin=origin, now=timezone.now())


def restricted(review: Review, now: Any) -> Review:
    dispute = admitted(review, now, reason="illegal_content")
    moderation.restrict(dispute=dispute, moderator=mona(), explanation="A threat against a person.", now=timezone.now())
    return Review.objects.get(pk=review.pk)


def get(path: str, client: Client | None = None) -> str:
    response = (client or Client()).get(path)
    assert response.status_code == 200, (path, response.status_code)
    if response.streaming:
        return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return response.content.decode()


def stubs(page: str) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'class="rp-stub-text">(.*?)</p>', page)]


def json_of(path: str, client: Any = None) -> Any:
    response = (client or Client()).get(path)
    assert response.status_code == 200, (path, response.content[:500])
    return response.json()


def public_pages(slug: str, review: Review) -> dict[str, str]:
    """Every public page and widget fragment that shows the review, by name."""
    paths = {
        "profile": f"/s/{slug}/?lang=en",
        "product profile": f"/s/{slug}/?lang=en&sku=TEA-1",
        "review page": f"/s/{slug}/reviews/{review.pk}?lang=en",
        "reviews widget": f"/w/{slug}/reviews?lang=en",
        "product reviews widget": f"/w/{slug}/reviews?lang=en&sku=TEA-1",
        "reviews widget frame": f"/w/{slug}/frame/reviews?lang=en",
        "carousel": f"/w/{slug}/carousel?lang=en",
    }
    return {name: get(path) for name, path in paths.items()}


def json_items(shop: ShopAccess, review: Review) -> dict[str, dict[str, Any]]:
    """The review as each JSON list gives it, by name."""
    slug = shop.shop.slug
    lists = {
        "reviews widget": (json_of(f"/w/{slug}/reviews.json?lang=en")["reviews"], "id"),
        "product reviews widget": (json_of(f"/w/{slug}/reviews.json?lang=en&sku=TEA-1")["reviews"], "review_id"),
        "carousel": (json_of(f"/w/{slug}/carousel.json?lang=en")["reviews"], "id"),
        "api": (shop.api.get("/api/v1/reviews").json()["items"], "id"),
        "api products": (shop.api.get("/api/v1/reviews?kind=product").json()["items"], "review_id"),
    }
    found = {}
    for name, (items, key) in lists.items():
        (found[name],) = [item for item in items if item[key] == review.pk]
    return found


# --- in dispute ----------------------------------------------------------------------------------


def test_a_disputed_review_stays_published_with_its_label_everywhere(
    alice: ShopAccess, team: Team, reviews: dict[str, Review], now: Any
) -> None:
    review = reviews["middle"]
    admitted(review, now)

    for name, page in public_pages(alice.shop.slug, review).items():
        assert DISPUTED in page, name
        assert "The parcel was opened" in page or "Tea middle" in page, name  # still published
    for name, item in json_items(alice, review).items():
        assert (item["status"], item["disputed_since"][:10]) == ("published", "2026-11-24"), name
        assert item["body"].startswith(("The parcel", "Tea middle")), name
    assert json_of(f"/w/{alice.shop.slug}/reviews.json?lang=en")["reviews"][1]["notes"] == [DISPUTED]
    owner = team.client(team.alice)
    assert DISPUTED in get(f"/dashboard/{alice.shop.slug}/reviews", owner)
    assert DISPUTED in get(f"/dashboard/{alice.shop.slug}/reviews/{review.pk}", owner)


def test_the_label_dates_in_the_pages_language(alice: ShopAccess, reviews: dict[str, Review], now: Any) -> None:
    admitted(reviews["middle"], now)

    (label,) = re.findall(r'class="rp-disputed">(.*?)</strong>', get(f"/s/{alice.shop.slug}/?lang=de"))
    assert label.endswith(" 24. November 2026")


# --- removed -------------------------------------------------------------------------------------


def test_a_removed_review_leaves_its_stub_in_its_place_and_nothing_of_what_it_said(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    review = reviews["middle"]
    admitted(review, now)
    removed(review, now)

    for name, page in public_pages(alice.shop.slug, review).items():
        assert stubs(page) == [STUB], name
        assert "The parcel was opened" not in page and "Tea middle" not in page and "Title middle" not in page, name
        assert DISPUTED not in page, name  # the dispute is decided
    profile = get(f"/s/{alice.shop.slug}/?lang=en").split("</header>", 1)[1]  # the list, not the head
    # In its place, newest first: between the review written after it and the one before.
    assert profile.index("Title after") < profile.index(STUB.split(" removed")[0]) < profile.index("Title before")
    for name, item in json_items(alice, review).items():
        assert {key: value for key, value in item.items() if key not in ("id", "review_id", "url", "stub")} | {
            "created_at": item["created_at"][:10]
        } == {
            "rating": 2,
            "created_at": "2026-11-23",
            "status": "removed",
            "disputed_since": None,
            "restricted_at": None,
            "removed_at": item["removed_at"],
            "removal_origin": "dispute",
            "removal_ground": "false_fact",
            "removal_reason": "A false statement of fact",
        } | ({"sku": "TEA-1", "name": "Product TEA-1", "gtin": "4006381333931"} if name == "api products" else {}), name
        assert item["removed_at"].startswith("2026-12-03"), name
        assert "body" not in item and "author" not in item and "title" not in item, name
    assert json_items(alice, review)["reviews widget"]["stub"] == STUB


def test_the_merchant_sees_the_stub_in_the_inbox_and_cannot_reply_to_it(
    alice: ShopAccess, team: Team, reviews: dict[str, Review], now: Any
) -> None:
    review = reviews["middle"]
    removed(review, now)
    owner = team.client(team.alice)

    inbox = get(f"/dashboard/{alice.shop.slug}/reviews", owner)
    two_stars = get(f"/dashboard/{alice.shop.slug}/reviews?stars=2", owner)
    page = get(f"/dashboard/{alice.shop.slug}/reviews/{review.pk}", owner)

    assert stubs(inbox) == [STUB] and stubs(two_stars) == [STUB]
    assert "A removed review" in inbox and "The parcel was opened" not in inbox
    assert stubs(page) == [STUB] and 'id="reply-body-field"' not in page and "cannot be answered" in page


@pytest.mark.parametrize(
    ("origin", "ground", "sentence"),
    [
        (
            "notice",
            "illegal_content",
            "Review (2 stars, Nov. 23, 2026) removed on Dec. 3, 2026 after a notice from a third party. "
            "Reason: Illegal content: threats, insults or hate. Decided by moderation; appeal possible.",
        ),
        ("reviewer", "withdrawn", "Review (2 stars, Nov. 23, 2026) removed by its author on Dec. 3, 2026."),
        (
            "data_subject",
            "erasure_request",
            "Review (2 stars, Nov. 23, 2026) removed at the reviewer's request on Dec. 3, 2026.",
        ),
    ],
)
def test_the_stub_says_what_led_to_the_removal(
    alice: ShopAccess, reviews: dict[str, Review], now: Any, origin: str, ground: str, sentence: str
) -> None:
    removed(reviews["middle"], now, origin=origin, ground=ground)

    assert stubs(get(f"/s/{alice.shop.slug}/?lang=en")) == [sentence]
    assert stubs(get(f"/w/{alice.shop.slug}/reviews?lang=en")) == [sentence]


def test_a_one_star_stub_says_star(alice: ShopAccess, now: Any) -> None:
    review = write_review(alice, "o1", 1, body="Bad")
    removed(review, now, origin="reviewer", ground="withdrawn")

    assert stubs(get(f"/s/{alice.shop.slug}/?lang=en")) == [
        "Review (1 star, Nov. 23, 2026) removed by its author on Dec. 3, 2026."
    ]


def test_after_a_removal_the_score_and_counts_equal_a_recount_of_the_published_reviews(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    removed(reviews["middle"], now)
    slug = alice.shop.slug
    published = list(Review.objects.filter(shop=alice.shop, status=Review.Status.PUBLISHED))
    mean = sum(r.rating for r in published) / len(published)  # 5 and 4: 4.5

    assert 'aria-label="Rated 4.5 out of 5, based on 2 reviews"' in get(f"/s/{slug}/?lang=en")
    summary = json_of(f"/w/{slug}/reviews.json?lang=en")["summary"]
    assert (summary["count"], summary["histogram"]) == (len(published), {"5": 1, "4": 1, "3": 0, "2": 0, "1": 0})
    public = json_of(f"/api/v1/public/shops/{slug}/summary")["all_time"]
    assert (public["count"], float(public["mean"])) == (2, mean)
    product = json_of(f"/w/{slug}/reviews.json?lang=en&sku=TEA-1")["summary"]
    assert product["count"] == 2


def test_filtered_and_searched_lists_show_published_reviews_only(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    removed(reviews["middle"], now)
    slug = alice.shop.slug

    assert stubs(get(f"/s/{slug}/?lang=en&stars=2")) == []
    assert "No reviews match." in get(f"/s/{slug}/?lang=en&stars=2")
    assert stubs(get(f"/s/{slug}/?lang=en&q=tea")) == []
    assert stubs(get(f"/w/{slug}/reviews?lang=en&stars=2")) == []
    assert stubs(get(f"/s/{slug}/?lang=en&sort=lowest")) == [STUB]  # sorting is not narrowing


# --- restricted and redacted ----------------------------------------------------------------------


def test_a_restricted_review_shows_the_restricted_stub_and_leaves_the_score(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    review = restricted(reviews["middle"], now)
    slug = alice.shop.slug

    for name, page in public_pages(slug, review).items():
        assert stubs(page) == [RESTRICTED_STUB], name
        assert "The parcel was opened" not in page and "Tea middle" not in page, name
    for name, item in json_items(alice, review).items():
        assert (item["status"], item["removal_ground"], item["removed_at"]) == (
            "restricted",
            "illegal_content",
            None,
        ), name
        assert item["restricted_at"].startswith("2026-11-24") and "body" not in item, name
    assert 'aria-label="Rated 4.5 out of 5, based on 2 reviews"' in get(f"/s/{slug}/?lang=en")


def test_a_redacted_review_keeps_its_text_with_the_mark_and_a_note(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    now.move_to(reviews["middle"].created_at + dt.timedelta(days=10))
    redact_review(review=reviews["middle"], passage="Mr Smith", ground="personal_data", now=timezone.now())
    note = "A passage was removed by moderation on Dec. 3, 2026. Reason: The review publishes personal data."
    slug = alice.shop.slug

    for name in ("profile", "review page", "reviews widget", "carousel"):
        page = public_pages(slug, reviews["middle"])[name]
        assert "The parcel was opened, says […]" in page and "Smith" not in page, name
        assert note in page, name
    item = json_items(alice, reviews["middle"])["reviews widget"]
    assert (item["body"], item["status"], item["notes"]) == ("The parcel was opened, says […]", "published", [note])
    assert item["redaction_reason"] == "The review publishes personal data"
    feed = get(f"/feeds/{slug}/google-product-reviews.xml")
    assert "Smith" not in get(f"/s/{slug}/?lang=en") and "Smith" not in feed


# --- structured data, the feed, caches ---------------------------------------------------------


def structured(page: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page)]


@pytest.mark.parametrize("measure", ["removed", "restricted"])
def test_structured_data_and_the_feed_leave_taken_down_reviews_out(
    alice: ShopAccess, reviews: dict[str, Review], now: Any, measure: str
) -> None:
    review = reviews["middle"]
    removed(review, now) if measure == "removed" else restricted(review, now)
    slug = alice.shop.slug

    (organization,) = structured(get(f"/s/{slug}/?lang=en"))
    assert [r["name"] for r in organization["review"]] == ["Title after", "Title before"]
    assert organization["aggregateRating"]["reviewCount"] in (2, "2")
    (product,) = structured(get(f"/w/{slug}/reviews?lang=en&sku=TEA-1"))
    assert [r["reviewBody"] for r in product["review"]] == ["Tea after", "Tea before"]
    assert structured(get(f"/s/{slug}/reviews/{review.pk}?lang=en")) == []
    feed = get(f"/feeds/{slug}/google-product-reviews.xml")
    assert feed.count("<review>") == 2 and f"<review_id>{review.pk}-" not in feed and "Tea middle" not in feed


def test_a_widgets_etag_changes_when_a_review_is_removed(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    path = f"/w/{alice.shop.slug}/reviews?lang=en"
    before = Client().get(path)
    assert Client().get(path, headers={"if-none-match": before["ETag"]}).status_code == 304

    removed(reviews["middle"], now)
    after = Client().get(path, headers={"if-none-match": before["ETag"]})

    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert stubs(after.content.decode()) == [STUB]


def test_the_export_gives_a_taken_down_review_as_its_stub(
    alice: ShopAccess, reviews: dict[str, Review], now: Any
) -> None:
    restricted(reviews["middle"], now)
    response = alice.api.get("/api/v1/exports/reviews")
    items = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]

    (item,) = [item for item in items if item["id"] == reviews["middle"].pk]
    assert (item["status"], item["removal_reason"], item["body"], item["author"], item["title"]) == (
        "restricted",
        "Illegal content: threats, insults or hate",
        None,
        None,
        None,
    )
