"""The shop's side of the private conversation: writing to a reviewer from the review page,
the relayed email, the reviewer's answers in the thread, who may read and write."""

import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, run_dispatcher, write_review
from reputable.dispatch.management.commands.dispatch import Command
from reputable.dispatch.models import OutboxItem
from reputable.lib import pagecache
from reputable.reviews.actions import MESSAGES_PER_DAY
from reputable.reviews.models import Review, ReviewMessage

pytestmark = pytest.mark.usefixtures("now")

REVIEWER = "buyer-a-1@example.nl"  # write_review's customer for the order "A-1", as stored


@pytest.fixture
def review(alice: ShopAccess, team: Team) -> Review:
    """Jan wrote it in Dutch; Alice's shop speaks German."""
    return write_review(alice, "A-1", 2, title="Cold tea", body="It arrived cold.", customer={"locale": "nl"})


def messages_url(review: Review) -> str:
    return f"/dashboard/alice-teas/reviews/{review.pk}/messages"


def write(client: Client, review: Review, body: str) -> Any:
    return client.post(messages_url(review), {"body": body})


def to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    text: str = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n")


def relayed() -> Any:
    """The outbox's messages of the conversation (a new review also notifies the team)."""
    return OutboxItem.objects.filter(payload__template__in=["review-message", "review-message-answer"])


def team_addresses(team: Team) -> list[str]:
    return [team.alice.email, *(bob.email for bob in team.bob.values())]


def test_a_responder_writes_and_the_reviewer_gets_the_text_and_an_answer_link_but_no_address_of_the_team(
    alice: ShopAccess, team: Team, review: Review, dispatcher: Command, smtp: SmtpSink
) -> None:
    alice.shop.reply_to = team.alice.email  # the shop's reply-to for invitations: not for messages
    alice.shop.save()
    bob = team.client(team.bob["responder"])

    response = write(bob, review, "We are sorry! A new tin is on its way.\nBob")

    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/alice-teas/reviews/{review.pk}#messages"
    run_dispatcher(dispatcher)
    [message] = to(smtp, REVIEWER)
    token = review.invitation.token  # type: ignore[union-attr]
    assert "We are sorry! A new tin is on its way.\nBob" in text_of(message)
    assert f"{settings.BASE_URL}/r/{token}/messages" in text_of(message)
    [sender] = message["From"].addresses  # type: ignore[attr-defined]
    assert (sender.display_name, sender.addr_spec) == ("Alice Teas", settings.DEFAULT_FROM_EMAIL)
    assert message["Reply-To"] is None
    assert message["Content-Language"] == "nl"  # the reviewer's language, not the shop's (de)
    assert message["Auto-Submitted"] == "auto-generated"
    whole = message.as_string()
    for address in team_addresses(team):
        assert address not in whole
    assert "alice-teas.example" not in whole


def test_the_thread_shows_every_message_oldest_first_with_who_wrote_it_and_when(
    team: Team, review: Review, now: Any
) -> None:
    write(team.client(team.bob["responder"]), review, "First, from Bob.")
    now.shift(3600)
    write(team.client(team.alice), review, "Second, from Alice.")

    page = team.client(team.bob["viewer"]).get(messages_url(review))

    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("First, from Bob.") < html.index("Second, from Alice.")
    assert f"{team.bob['responder'].email}, for the shop" in html
    assert f"{team.alice.email}, for the shop" in html
    # In the shop's time zone (Berlin: UTC+1 in November).
    assert 'datetime="2026-11-23T10:00:00+01:00' in html and 'datetime="2026-11-23T11:00:00+01:00' in html
    assert "<textarea" not in html  # a viewer reads only


def test_the_review_page_shows_the_thread_with_its_form_and_confirms_a_sent_message(team: Team, review: Review) -> None:
    bob = team.client(team.bob["responder"])

    page = write(bob, review, "Could you tell us your order number?")
    followed = bob.get(page["Location"])

    html = followed.content.decode()
    assert followed.status_code == 200
    assert "Your message is on its way to the reviewer." in html
    assert "Could you tell us your order number?" in html
    assert 'id="message_body"' in html and f'action="{messages_url(review)}"' in html


def test_the_first_message_dates_the_contact_once_and_purges_the_public_pages(
    team: Team, review: Review, now: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bob = team.client(team.bob["responder"])
    generation = pagecache.generation("alice-teas")
    with django_capture_on_commit_callbacks(execute=True):
        write(bob, review, "Sorry!")
    assert pagecache.generation("alice-teas") != generation
    now.shift(86400)

    write(bob, review, "Did the new tin arrive?")

    review.refresh_from_db()
    assert review.contacted_at == MONDAY
    assert ReviewMessage.objects.filter(review=review, sender="shop").count() == 2


def test_the_reviewers_answer_lands_in_the_thread_and_the_team_hears_of_it_without_the_reviewers_address(
    team: Team, review: Review, dispatcher: Command, smtp: SmtpSink
) -> None:
    team.bob["manager"].is_active = False
    team.bob["manager"].save()
    write(team.client(team.bob["responder"]), review, "Sorry! A new tin is on its way.")
    run_dispatcher(dispatcher)
    answer_link = re.search(r"http://localhost:8000(/r/\S+/messages)", text_of(to(smtp, REVIEWER)[0]))
    assert answer_link
    sent_before = len(smtp.messages)

    answered = Client().post(answer_link.group(1), {"body": "Thank you, it arrived warm this time!"})

    assert answered.status_code == 302
    thread = team.client(team.bob["viewer"]).get(messages_url(review)).content.decode()
    assert "Thank you, it arrived warm this time!" in thread
    assert "Jan V., the reviewer" in thread
    run_dispatcher(dispatcher)
    told = {m["To"]: m for m in smtp.messages[sent_before:]}
    assert set(told) == {team.alice.email, team.bob["owner"].email, team.bob["responder"].email}
    for message in told.values():
        assert "Thank you, it arrived warm this time!" in text_of(message)
        assert f"{settings.BASE_URL}/dashboard/alice-teas/reviews/{review.pk}" in text_of(message)
        assert REVIEWER not in message.as_string()
        assert message["Content-Language"] == "de"  # the shop's language


def test_a_viewer_cannot_write(team: Team, review: Review) -> None:
    response = write(team.client(team.bob["viewer"]), review, "Hello?")

    assert response.status_code == 403
    assert not ReviewMessage.objects.exists()
    assert not relayed().exists()


def test_an_outsider_can_neither_read_nor_write_the_thread(team: Team, review: Review) -> None:
    write(team.client(team.bob["responder"]), review, "Sorry about the cold tea.")
    charlie = team.client(team.charlie)

    for response in (
        charlie.get(messages_url(review)),
        charlie.post(messages_url(review), {"body": "Buy from us instead"}),
        charlie.get(f"/dashboard/charlie-gadgets/reviews/{review.pk}/messages"),
    ):
        assert response.status_code == 404
        assert b"cold tea" not in response.content
    assert ReviewMessage.objects.count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001, "bell \x07 character"])
def test_an_empty_too_long_or_unprintable_message_is_shown_again_with_the_error_and_not_sent(
    team: Team, review: Review, body: str
) -> None:
    response = write(team.client(team.bob["responder"]), review, body)

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ReviewMessage.objects.exists()
    assert not relayed().exists()
    review.refresh_from_db()
    assert review.contacted_at is None


def test_a_message_of_5000_characters_with_line_breaks_is_taken(team: Team, review: Review) -> None:
    body = ("x" * 99 + "\r\n") * 50  # 5000 characters once the line ends are LF

    assert write(team.client(team.bob["responder"]), review, body).status_code == 302
    assert ReviewMessage.objects.get().body == body.replace("\r\n", "\n").strip()


def test_an_imported_review_cannot_be_written_to_and_the_page_says_why(alice: ShopAccess, team: Team) -> None:
    imported = Review.objects.create(shop=alice.shop, rating=3, title="From the old platform")
    bob = team.client(team.bob["responder"])

    assert "has no way to reach its author" in bob.get(messages_url(imported)).content.decode()
    response = write(bob, imported, "Hello?")

    assert response.status_code == 400
    assert "has no way to reach its author" in response.content.decode()
    assert not ReviewMessage.objects.exists()


def test_the_shop_too_may_write_a_limited_number_of_messages_a_day_to_one_reviewer(team: Team, review: Review) -> None:
    bob = team.client(team.bob["responder"])
    for n in range(MESSAGES_PER_DAY):
        assert write(bob, review, f"Message {n}").status_code == 302

    refused = write(bob, review, "One more")

    assert refused.status_code == 429
    assert f"{MESSAGES_PER_DAY} messages a day is the limit" in refused.content.decode()
    assert relayed().count() == MESSAGES_PER_DAY
