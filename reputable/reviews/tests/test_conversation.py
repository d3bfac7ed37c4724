"""The reviewer's side of the private conversation: `/r/<token>/messages`, the answer, the
daily limit, the unknown link, and the review that opens for an update once the shop wrote."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, Team, checkout, write_review
from reputable.invitations.models import Invitation
from reputable.reviews.actions import MESSAGES_PER_DAY
from reputable.reviews.models import Review, ReviewMessage, ReviewRevision

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def review(alice: ShopAccess, team: Team) -> Review:
    # An English-speaking customer of the German shop: the pages are in the customer's language.
    return write_review(alice, "A-1", 2, title="Cold tea", body="It arrived cold.", customer={"locale": "en"})


def review_link(review: Review) -> str:
    return f"/r/{review.invitation.token}"  # type: ignore[union-attr]


def shop_writes(team: Team, review: Review, body: str = "Sorry! A new tin is on its way.") -> None:
    response = team.client(team.bob["responder"]).post(
        f"/dashboard/alice-teas/reviews/{review.pk}/messages", {"body": body}
    )
    assert response.status_code == 302


def edit(review: Review, **changes: str) -> Any:
    form = {"rating": "2", "title": "Cold tea", "body": "It arrived cold.", "name_display": "first_name_initial"}
    return Client().post(review_link(review), form | changes)


def test_the_reviewer_reads_the_shops_message_and_answers_through_the_link(team: Team, review: Review) -> None:
    shop_writes(team, review)
    page = Client().get(f"{review_link(review)}/messages")
    assert page.status_code == 200
    assert "Sorry! A new tin is on its way." in page.content.decode()
    assert "Alice Teas" in page.content.decode()

    answered = Client().post(f"{review_link(review)}/messages", {"body": "Thanks, it came today."})

    assert answered.status_code == 302
    assert answered["Location"] == f"{review_link(review)}/messages?sent=1"
    [answer] = ReviewMessage.objects.filter(sender="reviewer")
    assert (answer.review, answer.body, answer.author) == (review, "Thanks, it came today.", None)
    html = Client().get(answered["Location"]).content.decode()
    assert html.index("Sorry! A new tin is on its way.") < html.index("Thanks, it came today.")
    assert "Your answer was sent to Alice Teas." in html


def test_the_answer_form_requires_a_csrf_token(team: Team, review: Review) -> None:
    shop_writes(team, review)

    response = Client(enforce_csrf_checks=True).post(f"{review_link(review)}/messages", {"body": "Hi"})

    assert response.status_code == 403
    assert not ReviewMessage.objects.filter(sender="reviewer").exists()


def test_before_the_shop_writes_there_is_nothing_to_answer(review: Review) -> None:
    page = Client().get(f"{review_link(review)}/messages")
    assert "Alice Teas has not written to you about your review." in page.content.decode()
    assert "<textarea" not in page.content.decode()

    response = Client().post(f"{review_link(review)}/messages", {"body": "Hello shop"})

    assert response.status_code == 400
    assert not ReviewMessage.objects.exists()


def test_a_link_without_a_review_yet_leads_to_the_review_form(alice: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout("B-1"))
    token = Invitation.objects.get(transaction__reference="B-1").token

    response = Client().get(f"/r/{token}/messages")

    assert (response.status_code, response["Location"]) == (302, f"/r/{token}")


def test_an_unknown_token_gets_the_link_unknown_page_and_counts_as_a_failed_attempt(db: None, settings: Any) -> None:
    settings.FAILED_ATTEMPTS_LIMIT = 2
    client = Client()

    first = client.get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/messages")
    second = client.post("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB/messages", {"body": "Hi"})
    third = client.get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC/messages")

    assert (first.status_code, second.status_code) == (404, 404)
    assert "not valid" in first.content.decode()
    assert third.status_code == 429


def test_a_reviewer_may_write_a_limited_number_of_messages_a_day(team: Team, review: Review, now: Any) -> None:
    shop_writes(team, review)
    client = Client()
    for n in range(MESSAGES_PER_DAY):
        assert client.post(f"{review_link(review)}/messages", {"body": f"Message {n}"}).status_code == 302

    refused = client.post(f"{review_link(review)}/messages", {"body": "One more"})

    assert refused.status_code == 429
    assert f"{MESSAGES_PER_DAY} messages a day is the limit" in refused.content.decode()
    assert ReviewMessage.objects.filter(sender="reviewer").count() == MESSAGES_PER_DAY
    now.shift(dt.timedelta(days=1))
    assert client.post(f"{review_link(review)}/messages", {"body": "One more"}).status_code == 302


@pytest.mark.parametrize("body", ["", "x" * 5001, "escape \x1b[31m"])
def test_an_empty_too_long_or_unprintable_answer_is_refused_with_the_error(
    team: Team, review: Review, body: str
) -> None:
    shop_writes(team, review)

    response = Client().post(f"{review_link(review)}/messages", {"body": body})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ReviewMessage.objects.filter(sender="reviewer").exists()


def test_the_reviewers_text_is_escaped_on_both_sides(team: Team, review: Review) -> None:
    shop_writes(team, review, "<b>bold</b> offer")
    Client().post(f"{review_link(review)}/messages", {"body": "<script>alert(1)</script>"})

    reviewer_page = Client().get(f"{review_link(review)}/messages").content.decode()
    team_page = team.client(team.alice).get(f"/dashboard/alice-teas/reviews/{review.pk}/messages").content.decode()

    for html in (reviewer_page, team_page):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
        assert "&lt;b&gt;bold&lt;/b&gt; offer" in html


def test_after_the_window_the_review_can_be_updated_only_once_the_shop_has_written(
    team: Team, review: Review, now: Any
) -> None:
    now.move_to(MONDAY + dt.timedelta(days=30))
    closed = Client().get(review_link(review))
    assert "<form" not in closed.content.decode()
    assert edit(review, rating="4", title="Sorted out").status_code == 410

    shop_writes(team, review)
    messages_page = Client().get(f"{review_link(review)}/messages").content.decode()
    assert f'href="{review_link(review)}"' in messages_page  # "Update your review"
    form = Client().get(review_link(review)).content.decode()
    assert "<form" in form and "Alice Teas has written to you about your review" in form
    updated = edit(review, rating="4", title="Sorted out")

    assert updated.status_code == 302
    review.refresh_from_db()
    assert (review.rating, review.title, review.updated_at) == (4, "Sorted out", MONDAY + dt.timedelta(days=30))
    assert review.created_at == MONDAY
    [revision] = ReviewRevision.objects.filter(review=review)
    assert (revision.content["rating"], revision.content["title"]) == (2, "Cold tea")
    public = Client().get(f"/s/alice-teas/reviews/{review.pk}").content.decode()
    assert "Sorted out" in public and "Updated on" in public
    assert "The shop contacted the reviewer on" in public
