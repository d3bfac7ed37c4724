"""The team's notifications: an email on each new review by star band and language, the weekly
digest, each member's own preferences page, and the unsubscribe link of each kind."""

import collections
import datetime as dt
import re
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, run_dispatcher, write_review
from reputable.dashboard import notifications
from reputable.dispatch.management.commands.dispatch import Command
from reputable.dispatch.models import OutboxItem
from reputable.reviews import counters
from reputable.reviews.actions import reply_to_review
from reputable.shops.models import Membership

pytestmark = pytest.mark.usefixtures("now")

# The first digest of a team that exists from MONDAY (Monday 23 November 2026, 10:00 in
# Berlin): Monday 30 November at 08:00 in Berlin, 07:00 UTC.
FIRST_DIGEST = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)


def membership(user: Any) -> Membership:
    return Membership.objects.get(shop__slug="alice-teas", user=user)


def choose(user: Any, *, bands: list[str], languages: list[str] | None = None, digest: bool = True, team: Team) -> Any:
    """`user` saves their notifications on the dashboard's page."""
    form: dict[str, Any] = {"bands": bands, "language_choice": "chosen" if languages else "any"}
    form["languages"] = languages or []
    if digest:
        form["weekly_digest"] = "on"
    return team.client(user).post("/dashboard/alice-teas/notifications", form)


def of_kind(smtp: SmtpSink, kind: str) -> list[EmailMessage]:
    """The notifications of `kind` received, told by their unsubscribe link."""
    return [m for m in smtp.messages if m.get("List-Unsubscribe", "").endswith(f"/{kind}>")]


def addressees(messages: list[EmailMessage]) -> collections.Counter[str]:
    return collections.Counter(str(m["To"]) for m in messages)


def charlies(team: Team) -> collections.Counter[str]:
    """Charlie's digest of his own shop (he wants it too), to leave out of counts."""
    return collections.Counter([team.charlie.email])


def text_of(message: EmailMessage) -> str:
    text: str = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def to(messages: list[EmailMessage], user: Any) -> EmailMessage:
    [message] = [m for m in messages if m["To"] == user.email]
    return message


def in_english(alice: ShopAccess) -> None:
    """The team's emails are in the shop's default language: English here, to read their words."""
    assert alice.patch("/api/v1/shop", {"default_locale": "en"}).status_code == 200


# --- a new review -----------------------------------------------------------------------------


def test_a_new_review_writes_only_an_outbox_row_in_the_request_and_the_dispatcher_sends_the_mail(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    write_review(alice, "A-1", 2, title="Cold tea")

    assert smtp.messages == []
    assert list(OutboxItem.objects.filter(kind__in=["new-review", "email"]).values_list("kind", "status")) == [
        ("new-review", "pending")
    ]

    run_dispatcher(dispatcher)

    assert addressees(of_kind(smtp, "new-review")) == {user.email: 1 for user in [team.alice, *team.bob.values()]}
    assert OutboxItem.objects.get(kind="new-review").status == "done"


def test_a_two_star_review_notifies_the_members_whose_bands_include_it(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    choose(team.bob["manager"], bands=["1-2"], team=team)
    choose(team.bob["viewer"], bands=["4-5"], team=team)
    choose(team.bob["responder"], bands=[], team=team)

    review = write_review(
        alice,
        "A-1",
        2,
        title="Cold <tea>",
        body="It arrived cold.\nAnd late. " + "Very late. " * 40,
        products={"TEA-1": (1, "Bitter")},
    )
    run_dispatcher(dispatcher)

    sent = of_kind(smtp, "new-review")
    assert addressees(sent) == {team.alice.email: 1, team.bob["owner"].email: 1, team.bob["manager"].email: 1}
    message = to(sent, team.bob["manager"])
    assert message["Content-Language"] == "de"  # the shop's default language
    assert "Cold <tea>" in message["Subject"]
    text = text_of(message)
    assert "★★☆☆☆ 2/5" in text
    assert "Cold <tea>\n\nIt arrived cold.\nAnd late. Very late." in text
    assert "Very late. " * 40 not in text  # an excerpt
    assert "Product TEA-1: 1/5" in text
    assert f"{settings.BASE_URL}/dashboard/alice-teas/reviews/{review.pk}" in text
    html = html_of(message)
    assert "Cold &lt;tea&gt;" in html and "Cold <tea>" not in html
    assert f'href="{settings.BASE_URL}/dashboard/alice-teas/reviews/{review.pk}"' in html


def test_a_member_who_chose_languages_hears_only_of_reviews_in_them(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    choose(team.bob["manager"], bands=["1-2", "3", "4-5"], languages=["de"], team=team)

    write_review(alice, "NL-1", 5, title="Lekker", customer={"locale": "nl"})
    run_dispatcher(dispatcher)
    dutch = of_kind(smtp, "new-review")
    write_review(alice, "DE-1", 5, title="Lecker", customer={"locale": "de-AT"})
    run_dispatcher(dispatcher)
    german = of_kind(smtp, "new-review")[len(dutch) :]

    assert team.bob["manager"].email not in addressees(dutch)
    assert team.bob["owner"].email in addressees(dutch)  # any language
    assert "Lecker" in to(german, team.bob["manager"])["Subject"]


def test_a_refused_address_is_retried_alone_and_never_repeats_the_others(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    smtp.refusals = ["451 4.3.0 mailbox busy"]  # the first message of the fan-out

    write_review(alice, "A-1", 1)
    run_dispatcher(dispatcher)
    assert sum(addressees(of_kind(smtp, "new-review")).values()) == 4
    [failed] = OutboxItem.objects.filter(kind="email", status="pending")
    assert failed.attempts == 1 and "451" in failed.last_error

    now.shift(dt.timedelta(minutes=1))
    run_dispatcher(dispatcher)
    now.shift(dt.timedelta(hours=1))
    run_dispatcher(dispatcher)

    assert addressees(of_kind(smtp, "new-review")) == {user.email: 1 for user in [team.alice, *team.bob.values()]}


# --- the weekly digest ----------------------------------------------------------------------------


def test_the_digest_comes_on_monday_at_eight_in_berlin_with_the_numbers_of_the_week_before(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    in_english(alice)
    choose(team.bob["viewer"], bands=["1-2", "3", "4-5"], digest=False, team=team)
    readers = {user.email: 1 for user in [team.alice, team.bob["owner"], team.bob["manager"], team.bob["responder"]]}
    run_dispatcher(dispatcher)  # finds the team that wants digests
    now.move_to(MONDAY + dt.timedelta(days=1))
    write_review(alice, "W1", 2)

    now.move_to(FIRST_DIGEST - dt.timedelta(seconds=1))
    run_dispatcher(dispatcher)
    assert of_kind(smtp, "digest") == []
    now.move_to(FIRST_DIGEST)
    run_dispatcher(dispatcher)

    first = of_kind(smtp, "digest")
    assert addressees(first) - charlies(team) == readers  # charlie hears of his own shop
    text = text_of(to(first, team.bob["manager"]))
    assert "Average rating of the week: 2.0/5 (1 review)" in text
    assert "New reviews: 1\nNot answered yet: 1" in text

    now.move_to(FIRST_DIGEST + dt.timedelta(days=1, hours=3))  # Tuesday
    answered = write_review(alice, "W2-1", 5)
    reply_to_review(review=answered, body="Thank you!", author=team.alice, now=timezone.now())
    write_review(alice, "W2-2", 4)
    now.move_to(dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC))  # Sunday, 23:00 in Berlin
    write_review(alice, "W2-3", 1)
    now.move_to(dt.datetime(2026, 12, 7, 6, 30, tzinfo=dt.UTC))  # Monday: the next week's
    write_review(alice, "W3-1", 3)
    now.move_to(FIRST_DIGEST + dt.timedelta(weeks=1))
    run_dispatcher(dispatcher)
    run_dispatcher(Command())  # a second dispatcher finds nothing more to do

    second = of_kind(smtp, "digest")[len(first) :]
    assert addressees(second) - charlies(team) == readers
    text = text_of(to(second, team.bob["manager"]))
    assert "Average rating of the week: 3.3/5 (3 reviews)" in text
    assert "Average rating of the last 12 months: 3.0/5 (4 reviews)" in text
    assert "New reviews: 3\nNot answered yet: 2" in text
    assert f"{settings.BASE_URL}/dashboard/alice-teas/notifications" in text


def test_the_digest_shows_the_invitation_funnel_of_the_week_and_zeros_without_counts(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    in_english(alice)
    run_dispatcher(dispatcher)
    funnel = {
        "invitations.scheduled": 7,
        "messages.sent.invitation": 5,
        "messages.sent.reminder": 2,
        "reviews.source.verified": 3,
    }
    counters.add(shop=alice.shop, day=dt.date(2026, 11, 24), metrics=funnel)
    counters.add(shop=alice.shop, day=dt.date(2026, 11, 29), metrics={"invitations.scheduled": 1})
    counters.add(shop=alice.shop, day=dt.date(2026, 11, 30), metrics=funnel)  # the next week's

    now.move_to(FIRST_DIGEST)
    run_dispatcher(dispatcher)
    # The dispatcher was down on the next Monday: the digest it sends late reports the last
    # full week, in which nothing was counted (the week missed is not sent any more).
    now.move_to(FIRST_DIGEST + dt.timedelta(weeks=2))
    run_dispatcher(dispatcher)

    first, later = [text_of(m) for m in of_kind(smtp, "digest") if m["To"] == team.bob["viewer"].email]
    assert "Scheduled: 8\nSent: 5\nReminders sent: 2\nReviews from invitations: 3" in first
    assert "Average rating of the week: no reviews" in first
    assert "Scheduled: 0\nSent: 0\nReminders sent: 0\nReviews from invitations: 0" in later


class Killed(BaseException):
    """The dispatcher's process dying midway (not an error any code catches)."""


def test_a_dispatcher_killed_midway_through_the_digest_sends_it_once_later(
    alice: ShopAccess, team: Team, smtp: SmtpSink, now: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dispatcher(Command())
    now.move_to(FIRST_DIGEST)
    send_email = notifications.send_email
    calls: list[str] = []

    def dies_at_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["to"])
        if len(calls) == 2:
            raise Killed
        return send_email(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_email", dies_at_the_second)
    with pytest.raises(Killed):
        run_dispatcher(Command())
    monkeypatch.undo()

    digest = OutboxItem.objects.get(kind="digest", shop=alice.shop, status="pending")
    assert digest.claimed_until is not None  # its lease holds until it runs out
    assert not OutboxItem.objects.filter(kind="email").exists()  # the first one is gone with the rest
    dispatcher = Command()
    assert run_dispatcher(dispatcher) == 0

    now.move_to(digest.claimed_until + dt.timedelta(seconds=1))
    run_dispatcher(dispatcher)
    run_dispatcher(Command())

    team_of_alice = [team.alice, *team.bob.values()]
    assert addressees(of_kind(smtp, "digest")) - charlies(team) == {u.email: 1 for u in team_of_alice}
    [next_week] = OutboxItem.objects.filter(kind="digest", shop=alice.shop, status="pending")
    assert next_week.due_at == FIRST_DIGEST + dt.timedelta(weeks=1)


def test_nobody_who_turned_the_digest_off_gets_it(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    for user in [team.alice, *team.bob.values()]:
        choose(user, bands=["1-2", "3", "4-5"], digest=False, team=team)

    run_dispatcher(dispatcher)
    now.move_to(FIRST_DIGEST)
    run_dispatcher(dispatcher)

    assert addressees(of_kind(smtp, "digest")) == {team.charlie.email: 1}
    assert not OutboxItem.objects.filter(kind="digest", shop=alice.shop).exists()


# --- preferences --------------------------------------------------------------------------------


def test_each_member_chooses_their_own_notifications_on_the_page(alice: ShopAccess, team: Team) -> None:
    viewer = team.client(team.bob["viewer"])

    page = viewer.get("/dashboard/alice-teas/notifications").content.decode()
    assert page.count("<h1>") == 1
    assert page.count("checked") == 5  # three bands, any language, the digest
    assert 'href="/dashboard/alice-teas/notifications" aria-current="page"' in page

    response = choose(team.bob["viewer"], bands=["1-2"], languages=["de", "nl"], digest=False, team=team)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/alice-teas/notifications"
    mine = membership(team.bob["viewer"])
    assert (mine.notify_bands, mine.notify_languages, mine.weekly_digest) == ("1-2", "de nl", False)
    others = Membership.objects.filter(shop=alice.shop).exclude(pk=mine.pk)
    assert {(m.notify_bands, m.notify_languages, m.weekly_digest) for m in others} == {("1-2 3 4-5", "", True)}
    page = viewer.get("/dashboard/alice-teas/notifications").content.decode()
    assert re.search(r'value="de"[^>]* checked>', page) and not re.search(r'value="en"[^>]* checked>', page)


def test_chosen_languages_without_a_language_are_refused_and_nothing_is_stored(alice: ShopAccess, team: Team) -> None:
    response = team.client(team.bob["viewer"]).post(
        "/dashboard/alice-teas/notifications",
        {"bands": ["3"], "language_choice": "chosen", "weekly_digest": "on"},
    )

    assert response.status_code == 400
    assert "Tick at least one language" in response.content.decode()
    mine = membership(team.bob["viewer"])
    assert (mine.notify_bands, mine.notify_languages) == ("1-2 3 4-5", "")


# --- unsubscribing ---------------------------------------------------------------------------


def unsubscribe_url(member: Membership, kind: str) -> str:
    return f"/dashboard/notifications/unsubscribe/{member.notification_token}/{kind}"


def test_the_unsubscribe_link_asks_on_get_and_stops_only_its_kind_on_post(alice: ShopAccess, team: Team) -> None:
    member = membership(team.bob["manager"])
    mail_client = Client(enforce_csrf_checks=True)  # no cookies, no CSRF token

    asked = mail_client.get(unsubscribe_url(member, "new-review"))
    assert asked.status_code == 200
    assert '<form method="post">' in asked.content.decode()
    member.refresh_from_db()
    assert (member.notify_bands, member.weekly_digest) == ("1-2 3 4-5", True)

    done = mail_client.post(
        unsubscribe_url(member, "new-review"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200
    member.refresh_from_db()
    assert (member.notify_bands, member.weekly_digest) == ("", True)

    assert mail_client.post(unsubscribe_url(member, "digest")).status_code == 200
    member.refresh_from_db()
    assert (member.notify_bands, member.weekly_digest) == ("", False)


def test_an_unknown_unsubscribe_link_is_not_found(alice: ShopAccess, team: Team) -> None:
    member = membership(team.bob["manager"])

    assert Client().get(f"/dashboard/notifications/unsubscribe/{'x' * 32}/digest").status_code == 404
    assert Client().post(unsubscribe_url(member, "everything")).status_code == 404
    member.refresh_from_db()
    assert (member.notify_bands, member.weekly_digest) == ("1-2 3 4-5", True)


def test_each_notification_carries_one_click_unsubscribe_for_its_kind(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    write_review(alice, "A-1", 4)
    run_dispatcher(dispatcher)
    now.move_to(FIRST_DIGEST)
    run_dispatcher(dispatcher)
    member = membership(team.bob["responder"])

    for kind in ("new-review", "digest"):
        message = to(of_kind(smtp, kind), team.bob["responder"])
        url = f"{settings.BASE_URL}{unsubscribe_url(member, kind)}"
        assert message["List-Unsubscribe"] == f"<{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Auto-Submitted"] == "auto-generated"
        assert url in text_of(message) and url in html_of(message)

    header = to(of_kind(smtp, "new-review"), team.bob["responder"])["List-Unsubscribe"]
    Client().post(
        header.strip("<>").removeprefix(settings.BASE_URL),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    write_review(alice, "A-2", 4)
    run_dispatcher(dispatcher)

    assert addressees(of_kind(smtp, "new-review"))[team.bob["responder"].email] == 1
    assert addressees(of_kind(smtp, "new-review"))[team.bob["manager"].email] == 2
