"""From the invitation email to a published review: the form, edits, the profile, the APIs."""

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product, Review, ReviewRevision

WEEK = dt.timedelta(days=7)
PRODUCTS = [
    {"sku": "TEA-1", "name": "Green tea", "gtin": "4006381333931"},
    {"sku": "TEA-2", "name": "Black tea"},
]


def review_path(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://localhost:8000(/r/[\w-]+)", text)
    assert match, text
    return match.group(1)


@pytest.fixture
def link(alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any) -> str:
    """Jan (Dutch) bought two teas at Alice's; the invitation came; this is his review link."""
    alice.post("/api/v1/events", checkout(products=PRODUCTS))
    now.move_to(MONDAY + WEEK)
    run_dispatcher(dispatcher)
    return review_path(smtp.messages[-1])


def form_data(**changes: Any) -> dict[str, Any]:
    green, black = Product.objects.filter(sku__in=["TEA-1", "TEA-2"]).order_by("sku")
    data = {
        "rating": "4",
        "delivery_rating": "5",
        "service_rating": "",
        "title": "Lovely tea",
        "body": "Fresh and well packed.",
        "name_display": "first_name_initial",
        f"product_{green.pk}_rating": "5",
        f"product_{green.pk}_body": "The best green tea.",
        f"product_{black.pk}_rating": "",
        f"product_{black.pk}_body": "",
    }
    data.update(changes)
    return data


def test_the_form_shows_the_shop_and_the_products_in_the_invitations_language(link: str) -> None:
    page = Client().get(link)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="nl"' in html
    assert "Alice Teas" in html
    assert "Green tea" in html and "Black tea" in html
    assert "Plaats mijn review" in html  # "Publish my review"
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_submitted_review_is_published_at_once_verified_and_linked_to_the_transaction(
    link: str, alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    client = Client()
    client.get(link)

    response = client.post(link, form_data(rating="1", title="Slow"))

    assert response.status_code == 302
    assert response["Location"] == f"{link}?saved=1"
    review = Review.objects.get()
    assert (review.rating, review.status, review.verified, review.author_name) == (1, "published", True, "Jan V.")
    assert review.transaction.reference == "1001"  # type: ignore[union-attr]
    assert [(pr.product.sku, pr.rating) for pr in review.product_reviews.all()] == [("TEA-1", 5)]
    thanks = client.get(response["Location"]).content.decode()
    assert "Slow" in thanks
    # A review stops the reminders.
    assert Invitation.objects.get().status == "reviewed"
    now.move_to(MONDAY + 4 * WEEK)
    run_dispatcher(dispatcher)  # (the team hears of the review: a row of the outbox's own)
    assert len(smtp.messages) == 1  # the invitation, no reminder


def test_the_review_shows_on_the_profile_and_in_both_apis(link: str, alice: ShopAccess) -> None:
    Client().post(link, form_data())

    profile = Client().get("/s/alice-teas/?lang=en").content.decode()
    assert "Lovely tea" in profile
    assert "Verified purchase" in profile
    assert "Jan V." in profile
    reviews = alice.api.get("/api/v1/reviews").json()
    assert [(r["rating"], r["title"], r["verified"], r["transaction_reference"]) for r in reviews["items"]] == [
        (4, "Lovely tea", True, "1001")
    ]
    assert reviews["items"][0]["products"] == [
        {"sku": "TEA-1", "name": "Green tea", "rating": 5, "body": "The best green tea."}
    ]
    summary = Client().get("/api/v1/public/shops/alice-teas/summary").json()
    assert summary["all_time"] == {"count": 1, "mean": 4.0, "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    product = Client().get("/api/v1/public/shops/alice-teas/summary?sku=TEA-1").json()
    assert product["all_time"]["mean"] == 5.0


@pytest.mark.parametrize(
    ("locale", "publish", "thanks"),
    [
        ("en", "Publish my review", "Thank you! Your review is published."),
        ("de", "Bewertung veröffentlichen", "Danke! Ihre Bewertung ist veröffentlicht."),
        ("nl", "Plaats mijn review", "Bedankt! Uw review is geplaatst."),
        ("pl", "Opublikuj opinię", "Dziękujemy! Twoja opinia została opublikowana."),
    ],
)
def test_the_whole_loop_works_in_each_language(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any, locale: str, publish: str, thanks: str
) -> None:
    alice.post("/api/v1/events", checkout(customer={"email": "k@example.com", "locale": locale}, products=PRODUCTS))
    now.move_to(MONDAY + WEEK)
    run_dispatcher(dispatcher)
    link = review_path(smtp.messages[-1])
    client = Client()

    assert publish in client.get(link).content.decode()
    response = client.post(link, form_data(), follow=True)

    assert thanks in response.content.decode()
    assert Review.objects.get().locale == locale


def test_within_the_window_the_same_link_edits_the_review_and_keeps_history(
    link: str, alice: ShopAccess, now: Any
) -> None:
    client = Client()
    client.post(link, form_data(rating="2", title="Meh"))
    now.shift(dt.timedelta(days=13))

    response = client.post(link, form_data(rating="5", title="Actually great"))

    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.rating, review.title) == (5, "Actually great")
    assert [r.content["title"] for r in ReviewRevision.objects.all()] == ["Meh"]
    summary = Client().get("/api/v1/public/shops/alice-teas/summary").json()["all_time"]
    assert (summary["count"], summary["histogram"]["2"], summary["histogram"]["5"]) == (1, 0, 1)
    assert 'value="Actually great"' in client.get(link).content.decode()


def test_after_the_window_the_review_can_no_longer_be_edited(link: str, now: Any) -> None:
    client = Client()
    client.post(link, form_data(title="First words"))
    now.shift(dt.timedelta(days=14, seconds=1))

    response = client.post(link, form_data(title="Changed my mind"))

    assert response.status_code == 410
    assert Review.objects.get().title == "First words"
    page = client.get(link)
    assert page.status_code == 200
    assert "First words" in page.content.decode()
    assert "<form" not in page.content.decode()


def test_a_double_submit_gives_one_review(link: str) -> None:
    client = Client()
    first = client.post(link, form_data())
    second = client.post(link, form_data())

    assert first.status_code == second.status_code == 302
    assert Review.objects.count() == 1
    assert ReviewRevision.objects.count() == 0


def test_an_invalid_form_is_shown_again_with_errors_and_stores_nothing(link: str) -> None:
    response = Client().post(link, form_data(rating="", title="x" * 121))

    assert response.status_code == 422
    assert Review.objects.count() == 0
    assert 'class="stars invalid"' in response.content.decode()


def test_a_forged_product_of_another_order_is_ignored(link: str, alice: ShopAccess) -> None:
    alice.post(
        "/api/v1/events", checkout("2", products=[{"sku": "GIN-1", "name": "Gin"}], customer={"email": "x@example.com"})
    )
    gin = Product.objects.get(sku="GIN-1")

    Client().post(link, form_data(**{f"product_{gin.pk}_rating": "1"}))

    assert [pr.product.sku for pr in Review.objects.get().product_reviews.all()] == ["TEA-1"]


def test_the_review_form_requires_a_csrf_token(link: str) -> None:
    client = Client(enforce_csrf_checks=True)

    assert client.post(link, form_data()).status_code == 403
    assert Review.objects.count() == 0


def test_an_unknown_token_gets_a_friendly_404(db: None) -> None:
    response = Client().get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_an_expired_link_gets_a_friendly_410(link: str, now: Any) -> None:
    now.shift(dt.timedelta(days=91))

    response = Client().get(link)

    assert response.status_code == 410
    assert "verlopen" in response.content.decode()  # "expired", in Jan's Dutch
    assert Client().post(link, form_data()).status_code == 410
    assert Review.objects.count() == 0


def test_an_anonymous_review_shows_no_name(link: str) -> None:
    Client().post(link, form_data(name_display="anonymous"))

    profile = Client().get("/s/alice-teas/?lang=en").content.decode()
    assert "Jan V." not in profile
    assert "Anonymous customer" in profile
