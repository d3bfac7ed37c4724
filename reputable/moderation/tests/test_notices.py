"""The public notice form (DSA Art. 16): anyone reports a review under it on the profile, on its
page and in the reviews widget, confirms the address by a link, is acknowledged, and receives
the decision, as do the reviewer and the shop, who never learn who sent the notice."""

import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from reputable.conftest import ShopAccess, SmtpSink, Team, join, moderator, run_dispatcher, write_review
from reputable.dispatch.models import OutboxItem
from reputable.moderation import notices
from reputable.moderation.actions import NotAllowed
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Decision, Entry, Notice
from reputable.reviews.models import RemovalOrigin, Review
from reputable.shops.models import Shop

pytestmark = pytest.mark.usefixtures("now")

NOTIFIER = {"name": "Petra Paulsen", "email": "petra.paulsen@example.org"}


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "reason": Ground.ILLEGAL_CONTENT.value,
        "explanation": "The review threatens the shop's staff by name.",
        "good_faith": "on",
        **NOTIFIER,
    }
    return data | overrides


def report_url(review: Review, lang: str = "en") -> str:
    return f"/s/{review.shop.slug}/reviews/{review.pk}/report?lang={lang}"


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if m["To"] == address]


def link_in(message: EmailMessage) -> str:
    match = re.search(r"https?://\S+(/notices/[A-Za-z0-9_-]+)", body(message))
    assert match, body(message)
    return match.group(1)


def confirmed_notice(client: Client, review: Review, dispatcher: Any, smtp: SmtpSink, **overrides: str) -> Notice:
    """Anyone sends the form and confirms the address by the emailed link."""
    assert client.post(report_url(review), form_data(**overrides)).status_code == 302
    run_dispatcher(dispatcher)
    link = link_in(to(smtp, overrides.get("email", NOTIFIER["email"]))[-1])
    assert client.post(link).status_code == 302
    run_dispatcher(dispatcher)
    return Notice.objects.latest("pk")


def test_every_review_on_the_profile_its_page_and_the_widget_links_to_the_form(alice: ShopAccess) -> None:
    review = write_review(alice, "A-1", 2, title="Slow", body="It took weeks.")
    client = Client()
    form = f"/s/{alice.shop.slug}/reviews/{review.pk}/report?lang=en"
    assert f'href="{form}"' in client.get(f"/s/{alice.shop.slug}/?lang=en").content.decode()
    assert f'href="{form}"' in client.get(f"/s/{alice.shop.slug}/reviews/{review.pk}?lang=en").content.decode()
    widget = client.get(f"/w/{alice.shop.slug}/reviews?lang=en").content.decode()
    assert re.search(rf'href="https?://[^"/]+{re.escape(form)}" target="_blank" rel="noopener"', widget), widget
    page = client.get(form).content.decode()
    assert "<h1>Report a review of Alice Teas</h1>" in page
    assert "It took weeks." in page and 'name="csrfmiddlewaretoken"' in page


def test_anyone_reports_confirms_by_the_link_and_is_acknowledged(
    alice: ShopAccess, dispatcher: Any, smtp: SmtpSink
) -> None:
    review = write_review(alice, "A-1", 1, body="I will come and hurt the owner.")
    client = Client()
    response = client.post(report_url(review, "de"), form_data())
    assert response.status_code == 302
    with translation.override("de"):  # the page speaks the form's language
        assert gettext("Please check your email.") in client.get(response["Location"]).content.decode()
    notice = Notice.objects.get()
    assert (notice.status, notice.name, notice.email, notice.language) == (
        Notice.Status.UNCONFIRMED,
        "Petra Paulsen",
        "petra.paulsen@example.org",
        "de",
    )

    run_dispatcher(dispatcher)
    [confirm] = to(smtp, NOTIFIER["email"])
    link = link_in(confirm)
    assert notices.notice_for_token(link.rsplit("/", 1)[1]) == notice
    assert link.rsplit("/", 1)[1] not in notice.token_hash  # only its hash is kept

    # The GET (a mail scanner, say) shows the button and confirms nothing.
    page = client.get(link)
    assert page.status_code == 200 and "<button" in page.content.decode()
    notice.refresh_from_db()
    assert notice.status == Notice.Status.UNCONFIRMED

    assert client.post(link).status_code == 302
    notice.refresh_from_db()
    assert notice.status == Notice.Status.OPEN and notice.confirmed_at == timezone.now()
    assert list(Entry.objects.filter(notice=notice).values_list("action", "actor")) == [("confirmed", "notifier")]
    assert client.post(link).status_code == 302  # confirming again changes nothing
    assert Entry.objects.filter(notice=notice).count() == 1

    run_dispatcher(dispatcher)
    [_, acknowledgement] = to(smtp, NOTIFIER["email"])
    assert acknowledgement["Content-Language"] == "de"
    assert "The review threatens the shop's staff by name." in body(acknowledgement)


def test_bad_input_is_a_400_naming_the_fields_and_stores_nothing(alice: ShopAccess) -> None:
    review = write_review(alice, "A-1", 2)
    outbox = OutboxItem.objects.count()
    response = Client().post(
        report_url(review), {"reason": "i_dislike_it", "explanation": "short", "name": "", "email": "not-an-address"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("reason", "explanation", "name", "email", "good_faith"):
        assert f'id="id_{field}_error"' in page, field
    assert "Select a valid choice." in page and "Enter a valid email address." in page
    assert not Notice.objects.exists() and OutboxItem.objects.count() == outbox


def test_the_domain_rules_hold_too_an_explanation_needs_20_characters(alice: ShopAccess) -> None:
    review = write_review(alice, "A-1", 2)
    response = Client().post(report_url(review), form_data(explanation="Too short."))
    assert response.status_code == 400
    assert "at least 20 characters" in response.content.decode()
    assert not Notice.objects.exists()


def test_the_form_needs_its_csrf_token(alice: ShopAccess) -> None:
    review = write_review(alice, "A-1", 2)
    assert Client(enforce_csrf_checks=True).post(report_url(review), form_data()).status_code == 403
    assert not Notice.objects.exists()


def test_five_notices_an_hour_from_one_address_or_for_one_email_then_429(alice: ShopAccess, now: Any) -> None:
    review = write_review(alice, "A-1", 2)
    client = Client(REMOTE_ADDR="192.0.2.1")
    for n in range(5):
        assert client.post(report_url(review), form_data(email=f"n{n}@example.org")).status_code == 302
    response = client.post(report_url(review), form_data(email="n5@example.org"))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many notices" in response.content.decode()

    for n in range(5):  # one address from many clients
        other = Client(REMOTE_ADDR=f"198.51.100.{n}")
        assert other.post(report_url(review), form_data(email="same@example.org")).status_code == 302
    assert (
        Client(REMOTE_ADDR="203.0.113.9").post(report_url(review), form_data(email="same@example.org")).status_code
        == 429
    )
    assert Notice.objects.count() == 10

    now.shift(3600)  # the next hour
    assert client.post(report_url(review), form_data(email="later@example.org")).status_code == 302


def test_an_unconfirmed_notice_expires_after_7_days(
    alice: ShopAccess, dispatcher: Any, smtp: SmtpSink, now: Any
) -> None:
    review = write_review(alice, "A-1", 2)
    client = Client()
    client.post(report_url(review), form_data())
    run_dispatcher(dispatcher)
    link = link_in(to(smtp, NOTIFIER["email"])[0])
    now.shift(8 * 86400)
    assert client.get(link).status_code == 410
    response = client.post(link)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert Notice.objects.get().status == Notice.Status.UNCONFIRMED
    assert Client().get("/notices/" + "x" * 32).status_code == 404


def test_a_moderator_removes_the_review_and_the_notifier_the_reviewer_and_the_shop_get_the_statement(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    Shop.objects.filter(pk=alice.shop.pk).update(default_locale="en")  # every email in the words asserted
    review = write_review(alice, "A-1", 1, body="I will come and hurt the owner.", customer={"locale": "en"})
    notice = confirmed_notice(Client(), review, dispatcher, smtp)
    mona = moderator("mona@reputable.example")
    smtp.messages.clear()

    decision = notices.decide_notice(
        notice=notice,
        moderator=mona,
        measure=Decision.Measure.REMOVED,
        explanation="The review threatens violence against a person.",
        now=timezone.now(),
    )
    assert decision.notice == notice and decision.dispute is None and not decision.automated
    review.refresh_from_db()
    assert (review.status, review.removal_origin, review.removal_ground) == (
        Review.Status.REMOVED,
        RemovalOrigin.NOTICE,
        Ground.ILLEGAL_CONTENT,
    )
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DECIDED

    run_dispatcher(dispatcher)
    recipients = sorted(m["To"] for m in smtp.messages)
    assert recipients == sorted(
        [
            NOTIFIER["email"],
            "buyer-a-1@example.nl",
            "alice@alice-teas.example",
            "bob-owner@alice-teas.example",
            "bob-manager@alice-teas.example",
        ]
    )
    [to_notifier] = to(smtp, NOTIFIER["email"])
    assert "this is the decision on your notice" in body(to_notifier)
    for message in smtp.messages:
        text = body(message)
        assert "The review threatens violence against a person." in text
        assert "The decision follows a notice sent through the notice form." in text
        if message is not to_notifier:
            assert "Petra" not in text and "Paulsen" not in text and "petra.paulsen" not in text
            assert "Petra" not in str(message["Subject"])
            assert "Who sent it is not disclosed." in text
    # The profile shows the stub, not the review.
    profile = Client().get(f"/s/{alice.shop.slug}/?lang=en").content.decode()
    assert "I will come and hurt the owner." not in profile


def test_manifestly_illegal_content_is_restricted_at_once_and_a_kept_decision_shows_it_again(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    review = write_review(alice, "A-1", 1, body="Call me a liar and I will find you.")
    notice = confirmed_notice(Client(), review, dispatcher, smtp)
    mona = moderator("mona@reputable.example")
    notices.restrict_notice(notice=notice, moderator=mona, explanation="A threat, at first sight.", now=timezone.now())
    review.refresh_from_db()
    assert review.status == Review.Status.RESTRICTED
    notices.decide_notice(
        notice=notice,
        moderator=mona,
        measure=Decision.Measure.KEPT,
        explanation="Read in context, it is a figure of speech.",
        now=timezone.now(),
    )
    review.refresh_from_db()
    assert review.status == Review.Status.PUBLISHED
    assert list(notice.decisions.values_list("measure", "interim")) == [("restricted", True), ("kept", False)]


def test_only_a_moderator_outside_the_shops_team_decides_and_only_an_open_notice(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    review = write_review(alice, "A-1", 2, body="Meh.")
    notice = confirmed_notice(Client(), review, dispatcher, smtp, reason=Ground.FALSE_FACT.value)
    insider = moderator("insider@reputable.example")
    join(alice.shop, insider, "viewer")

    def decide(user: Any) -> Decision:
        return notices.decide_notice(
            notice=notice, moderator=user, measure="kept", explanation="Nothing unlawful in it.", now=timezone.now()
        )

    for user in (team.alice, insider):
        with pytest.raises(NotAllowed):
            decide(user)
    mona = moderator("mona@reputable.example")
    with pytest.raises(NotAllowed):  # a false fact is not manifestly illegal
        notices.restrict_notice(notice=notice, moderator=mona, explanation="No.", now=timezone.now())
    decide(mona)
    with pytest.raises(NotAllowed):
        decide(mona)
    assert Decision.objects.filter(notice=notice).count() == 1
