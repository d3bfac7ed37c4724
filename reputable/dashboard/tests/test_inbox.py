"""The review inbox: its filters and pages, the shop's public reply (written, changed, shown
everywhere, told to the reviewer once), saved replies; and that no action touches a review."""

import csv
import datetime as dt
import io
import json
import re
from email.message import EmailMessage
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, run_dispatcher, write_review, wsgi_call
from reputable.dashboard import urls as dashboard_urls
from reputable.dispatch.management.commands.dispatch import Command
from reputable.reviews.models import DailyCount, Reply, ReplyTemplate, Review

pytestmark = pytest.mark.usefixtures("now")

INBOX = "/dashboard/alice-teas/reviews"
TITLE = re.compile(r'<h2 id="review-\d+-title">(?:<a [^>]*>)?(.*?)(?:</a>)?</h2>')
LINK = re.compile(r'<a rel="(next|prev)" href="([^"]+)"')


def review_url(review: Review) -> str:
    return f"{INBOX}/{review.pk}"


def titles(html: str) -> list[str]:
    return [unescape(title) for title in TITLE.findall(html)]


def inbox_titles(client: Client, query: str = "") -> list[str]:
    response = client.get(f"{INBOX}?{query}")
    assert response.status_code == 200, response.content.decode()[:500]
    return titles(response.content.decode())


def reply(client: Client, review: Review, body: str) -> Any:
    return client.post(review_url(review), {"body": body, "publish": "1"})


def to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def what_the_reviewer_wrote(review: Review) -> tuple[Any, ...]:
    review.refresh_from_db()
    fields = (*Review.WRITTEN_FIELDS, "status", "author_name", "locale", "created_at", "updated_at")
    products = tuple(review.product_reviews.order_by("pk").values_list("product_id", "rating", "body"))
    return (*(getattr(review, f) for f in fields), products, review.revisions.count())


@pytest.fixture
def reviews(alice: ShopAccess, team: Team, now: Any) -> dict[str, Review]:
    """Five reviews, one a day from Monday: stars, products and languages differ."""
    written = {}
    for day, (ref, stars, locale, products) in enumerate(
        [
            ("R-1", 5, "de", {"TEA-1": (5, "Fresh")}),
            ("R-2", 1, "de-DE", {"TEA-2": (1, "Stale")}),
            ("R-3", 2, "en", {"TEA-1": (2, "Dusty")}),
            ("R-4", 4, "nl", {}),
            ("R-5", 1, "", {}),
        ]
    ):
        now.move_to(MONDAY + dt.timedelta(days=day))
        written[ref] = write_review(
            alice,
            ref,
            stars,
            title=f"Title {ref}",
            body=f"Body of {ref}",
            products=products,
            customer={"locale": locale},
        )
    return written


# --- the list ------------------------------------------------------------------------------------


def test_the_inbox_lists_the_reviews_newest_first_with_stars_text_products_badge_and_reply_state(
    team: Team, reviews: dict[str, Review]
) -> None:
    reply(team.client(team.bob["responder"]), reviews["R-3"], "Sorry about the dust.")
    html = team.client(team.bob["viewer"]).get(INBOX).content.decode()

    assert titles(html) == ["Title R-5", "Title R-4", "Title R-3", "Title R-2", "Title R-1"]
    card = html[html.index(f'id="review-{reviews["R-3"].pk}"') : html.index(f'id="review-{reviews["R-2"].pk}"')]
    assert "2 of 5 stars" in card
    assert "Body of R-3" in card and "Product TEA-1" in card and "Dusty" in card
    assert "Verified purchase" in card and "Replied" in card
    assert "Reply from Alice Teas" in card and "Sorry about the dust." in card
    assert "Not replied yet" in html[html.index(f'id="review-{reviews["R-2"].pk}"') :]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stars=1", ["R-5", "R-2"]),
        ("stars=1&stars=5", ["R-5", "R-2", "R-1"]),
        ("sku=TEA-1", ["R-3", "R-1"]),
        ("sku=NO-SUCH-PRODUCT", []),
        ("lang=de", ["R-2", "R-1"]),  # "de-DE" is German too
        ("lang=en", ["R-3"]),
        ("replied=yes", ["R-4", "R-1"]),
        ("replied=no", ["R-5", "R-3", "R-2"]),
        ("since=2026-11-24&until=2026-11-25", ["R-3", "R-2"]),
        ("since=2026-11-26", ["R-5", "R-4"]),
        ("until=2026-11-23", ["R-1"]),
        ("stars=1&replied=no&lang=de", ["R-2"]),
    ],
)
def test_each_filter_lists_only_its_reviews(
    team: Team, reviews: dict[str, Review], query: str, expected: list[str]
) -> None:
    responder = team.client(team.bob["responder"])
    for ref in ("R-1", "R-4"):
        assert reply(responder, reviews[ref], "Thank you!").status_code == 302

    assert inbox_titles(team.client(team.bob["viewer"]), query) == [f"Title {ref}" for ref in expected]


def test_the_date_filter_counts_days_in_the_shops_time_zone(alice: ShopAccess, team: Team, now: Any) -> None:
    now.move_to(dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC))  # Tuesday 00:30 in Berlin
    write_review(alice, "LATE", 3, title="Late")

    viewer = team.client(team.bob["viewer"])
    assert inbox_titles(viewer, "since=2026-11-24&until=2026-11-24") == ["Late"]
    assert inbox_titles(viewer, "until=2026-11-23") == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("stars=6", "stars"),
        ("lang=xx", "lang"),
        ("replied=maybe", "replied"),
        ("since=yesterday", "since"),
        ("since=2026-11-25&until=2026-11-24", "until"),
        ("after=forged", "after"),
        ("before=WyIyMDI2LTExLTIzVDA5OjAwOjAwKzAwOjAwIiwgMV0", "before"),
    ],
)
def test_a_bad_filter_answers_400_and_names_it(team: Team, query: str, name: str) -> None:
    response = team.client(team.bob["viewer"]).get(f"{INBOX}?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    assert f"The filter “{name}”" in unescape(html)
    assert 'id="filter-error" role="alert"' in html


def test_the_pages_hold_every_review_once_forwards_and_back(alice: ShopAccess, team: Team, now: Any) -> None:
    # 47 reviews, most written in the same second: the pages must order ties by id.
    for n in range(47):
        if n % 10 == 0:
            now.shift(60)
        write_review(alice, f"P-{n:02d}", 1 + n % 5, title=f"Review {n:02d}")
    viewer = team.client(team.bob["viewer"])
    expected = [f"Review {n:02d}" for n in range(46, -1, -1)]

    seen, pages, url = [], [], f"{INBOX}?stars=1&stars=2&stars=3&stars=4&stars=5"
    while url:
        html = viewer.get(url).content.decode()
        pages.append(titles(html))
        seen += pages[-1]
        links = {rel: unescape(href) for rel, href in LINK.findall(html)}
        url = INBOX + links["next"] if "next" in links else ""
    assert seen == expected
    assert [len(p) for p in pages] == [20, 20, 7]
    assert "stars=5" in links.get("prev", "")  # the filter goes along

    back: list[list[str]] = []
    while "prev" in links:
        html = viewer.get(INBOX + links["prev"]).content.decode()
        back.insert(0, titles(html))
        links = {rel: unescape(href) for rel, href in LINK.findall(html)}
    assert back == pages[:-1]


def test_the_inbox_reads_a_few_queries_however_many_reviews(
    alice: ShopAccess, team: Team, django_assert_max_num_queries: Any
) -> None:
    responder = team.client(team.bob["responder"])
    for n in range(25):
        review = write_review(alice, f"Q-{n}", 3, title=f"Q {n}", products={"TEA-1": (3, "ok")})
        reply(responder, review, f"Thanks {n}")
    viewer = team.client(team.bob["viewer"])
    viewer.get(INBOX)  # the session, once

    # The session and user, the membership, the member's shops, the page, its products.
    with django_assert_max_num_queries(8):
        assert len(titles(viewer.get(INBOX).content.decode())) == 20


# --- the public reply ----------------------------------------------------------------------------


def test_a_responder_replies_and_the_profile_review_page_widgets_api_and_export_show_it(
    alice: ShopAccess, team: Team, reviews: dict[str, Review], now: Any
) -> None:
    review = reviews["R-3"]
    now.move_to(MONDAY + dt.timedelta(days=6))

    response = reply(team.client(team.bob["responder"]), review, "We are sorry.\nA new tin is on its way.")

    assert response.status_code == 302
    assert response["Location"] == review_url(review)
    stored = Reply.objects.get(review=review)
    assert (stored.body, stored.author, stored.created_at) == (
        "We are sorry.\nA new tin is on its way.",
        team.bob["responder"],
        MONDAY + dt.timedelta(days=6),
    )
    review.refresh_from_db()
    assert review.replied_at == MONDAY + dt.timedelta(days=6)

    anyone = Client()
    profile = anyone.get("/s/alice-teas/?lang=en").content.decode()
    page = anyone.get(f"/s/alice-teas/reviews/{review.pk}?lang=en").content.decode()
    for html in (profile, page):
        assert "Reply from Alice Teas" in html
        assert "We are sorry.<br>A new tin is on its way." in html
        assert "Nov. 29, 2026" in html  # the reply's date
    product_profile = anyone.get("/s/alice-teas/?lang=en&sku=TEA-1").content.decode()
    assert "We are sorry." in product_profile
    [json_ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page)
    assert json.loads(json_ld)["comment"] == {
        "@type": "Comment",
        "text": "We are sorry.\nA new tin is on its way.",
        "author": {"@type": "Organization", "name": "Alice Teas"},
        "dateCreated": "2026-11-29",
    }

    fragment = anyone.get("/w/alice-teas/reviews?lang=en").content.decode()
    assert 'class="rp-review rp-replied"' in fragment
    assert "Reply from Alice Teas" in fragment and "We are sorry.\nA new tin is on its way." in fragment
    assert "We are sorry." in anyone.get("/w/alice-teas/carousel?lang=en").content.decode()
    widget = anyone.get("/w/alice-teas/reviews.json?lang=en").json()
    shown = {r["id"]: r["reply"] for r in widget["reviews"]}
    assert shown[review.pk] == {
        "body": "We are sorry.\nA new tin is on its way.",
        "created_at": "2026-11-29T09:00:00+00:00",
        "updated_at": "2026-11-29T09:00:00+00:00",
    }
    assert shown[reviews["R-2"].pk] is None

    api = {item["id"]: item["reply"] for item in alice.api.get("/api/v1/reviews").json()["items"]}
    assert api[review.pk] == {
        "body": "We are sorry.\nA new tin is on its way.",
        "created_at": "2026-11-29T09:00:00Z",
        "updated_at": "2026-11-29T09:00:00Z",
    }
    assert api[reviews["R-2"].pk] is None

    export = b"".join(alice.api.get("/api/v1/exports/reviews?format=csv").streaming_content).decode()  # type: ignore[attr-defined]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(export.lstrip("\ufeff")))}
    assert rows[str(review.pk)]["reply_body"] == "We are sorry.\nA new tin is on its way."
    assert rows[str(review.pk)]["reply_created_at"] == "2026-11-29T09:00:00Z"
    assert rows[str(reviews["R-2"].pk)]["reply_body"] == ""
    ndjson = b"".join(alice.api.get("/api/v1/exports/reviews?format=ndjson").streaming_content).decode()  # type: ignore[attr-defined]
    lines = {item["id"]: item for item in map(json.loads, ndjson.splitlines())}
    assert lines[review.pk]["reply_body"] == "We are sorry.\nA new tin is on its way."


def test_publishing_and_changing_a_reply_drops_the_shops_cached_widgets(
    team: Team, reviews: dict[str, Review], django_capture_on_commit_callbacks: Any
) -> None:
    responder = team.client(team.bob["responder"])
    path = "/w/alice-teas/reviews?lang=en"
    wsgi_call(path)  # cached from here on

    with django_capture_on_commit_callbacks(execute=True):
        reply(responder, reviews["R-5"], "First answer.")
    published = wsgi_call(path)[2].decode()
    with django_capture_on_commit_callbacks(execute=True):
        reply(responder, reviews["R-5"], "Second answer.")
    changed = wsgi_call(path)[2].decode()

    assert "First answer." in published
    assert "Second answer." in changed and "First answer." not in changed


def test_changing_the_reply_keeps_one_reply_dates_the_change_and_counts_the_first_only(
    team: Team, reviews: dict[str, Review], now: Any
) -> None:
    review = reviews["R-2"]  # 1 star, written on Tuesday
    responder, manager = team.client(team.bob["responder"]), team.client(team.bob["manager"])
    now.move_to(MONDAY + dt.timedelta(days=1, hours=3))
    reply(responder, review, "Sorry!")
    now.move_to(MONDAY + dt.timedelta(days=3))

    assert reply(manager, review, "Sorry! We refunded the order.").status_code == 302

    [stored] = Reply.objects.filter(review=review)
    assert stored.body == "Sorry! We refunded the order."
    assert stored.author == team.bob["manager"]
    assert stored.created_at == MONDAY + dt.timedelta(days=1, hours=3)
    assert stored.updated_at == MONDAY + dt.timedelta(days=3)
    review.refresh_from_db()
    assert review.replied_at == MONDAY + dt.timedelta(days=1, hours=3)
    profile = Client().get("/s/alice-teas/?lang=en").content.decode()
    assert "Sorry! We refunded the order." in profile
    assert "edited" in profile and "Nov. 26, 2026" in profile
    page = team.client(team.bob["viewer"]).get(review_url(review)).content.decode()
    assert "Edited on" in page
    counts = dict(DailyCount.objects.filter(shop=review.shop, metric__startswith="repl").values_list("metric", "value"))
    assert counts == {"replies.1-2": 1, "reply_hours.1-2.lt4": 1}


def test_the_reviewer_is_told_once_in_english_with_the_reply_and_a_link_but_no_address_of_the_shop(
    alice: ShopAccess, team: Team, reviews: dict[str, Review], dispatcher: Command, smtp: SmtpSink
) -> None:
    alice.shop.reply_to = "service@alice-teas.example"  # for invitations; not shown here
    alice.shop.save()
    review = reviews["R-3"]  # in English
    responder = team.client(team.bob["responder"])

    reply(responder, review, "We are sorry.\nA new tin is on its way.")
    run_dispatcher(dispatcher)
    reply(responder, review, "We are sorry. A new tin is on its way, with a gift.")
    run_dispatcher(dispatcher)

    [message] = to(smtp, "buyer-r-3@example.nl")
    assert message["Subject"] == "Alice Teas replied to your review"
    assert message["Content-Language"] == "en"
    assert message["Auto-Submitted"] == "auto-generated"
    [sender] = message["From"].addresses  # type: ignore[attr-defined]
    assert (sender.display_name, sender.addr_spec) == ("Alice Teas", settings.DEFAULT_FROM_EMAIL)
    assert message["Reply-To"] is None
    text = text_of(message).replace("\r\n", "\n")
    assert "We are sorry.\nA new tin is on its way." in text
    assert f"{settings.BASE_URL}/s/alice-teas/reviews/{review.pk}?lang=en" in text
    assert "We are sorry.<br>A new tin is on its way." in html_of(message)
    whole = message.as_string()
    assert "alice-teas.example" not in whole  # neither the shop's reply-to nor the team's addresses


def test_a_german_review_is_answered_in_german_and_an_address_that_objected_is_not_mailed(
    alice: ShopAccess, team: Team, reviews: dict[str, Review], dispatcher: Command, smtp: SmtpSink
) -> None:
    from reputable.invitations.models import Suppression

    Suppression.objects.create(shop=alice.shop, email="buyer-r-4@example.nl", reason="unsubscribed")
    responder = team.client(team.bob["responder"])
    for ref in ("R-2", "R-4"):
        reply(responder, reviews[ref], "Danke!")
    run_dispatcher(dispatcher)

    [german] = to(smtp, "buyer-r-2@example.nl")  # locale "de-DE"
    assert german["Content-Language"] == "de"
    assert f"/s/alice-teas/reviews/{reviews['R-2'].pk}?lang=de" in text_of(german)
    assert to(smtp, "buyer-r-4@example.nl") == []  # the address objected: the reply is shown, not mailed
    assert Reply.objects.filter(review=reviews["R-4"]).exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "Write the reply first."), ("   \r\n ", "Write the reply first."), ("x" * 5001, "at most 5000")],
)
def test_an_empty_or_too_long_reply_is_refused_next_to_the_field_and_nothing_is_stored(
    team: Team, reviews: dict[str, Review], body: str, error: str
) -> None:
    review = reviews["R-1"]

    response = reply(team.client(team.bob["responder"]), review, body)

    assert response.status_code == 400
    html = response.content.decode()
    assert error in html and 'aria-describedby="id_body-error"' in html
    assert not Reply.objects.filter(review=review).exists()
    review.refresh_from_db()
    assert review.replied_at is None


def test_a_reply_with_control_characters_is_refused(team: Team, reviews: dict[str, Review]) -> None:
    response = reply(team.client(team.bob["responder"]), reviews["R-1"], "Thanks\x00")

    assert response.status_code == 400
    assert not Reply.objects.exists()


def test_a_viewer_sees_the_review_but_may_not_reply(team: Team, reviews: dict[str, Review]) -> None:
    viewer = team.client(team.bob["viewer"])
    review = reviews["R-1"]

    page = viewer.get(review_url(review))
    refused = reply(viewer, review, "Thanks!")

    assert page.status_code == 200
    assert "Title R-1" in page.content.decode() and "<textarea" not in page.content.decode()
    assert refused.status_code == 403
    assert not Reply.objects.exists()


def test_no_dashboard_url_edits_hides_or_deletes_a_review(
    alice: ShopAccess, team: Team, reviews: dict[str, Review]
) -> None:
    """Whatever the owner sends to any URL of a review, what the reviewer wrote stays as it is."""
    review = reviews["R-2"]
    before = what_the_reviewer_wrote(review)
    owner = team.client(team.alice)
    hostile = {
        "rating": "5",
        "title": "Changed",
        "body": "Changed by the shop",
        "status": "removed",
        "name_display": "anonymous",
    }
    routes = [str(p.pattern) for p in dashboard_urls.shop_urls if isinstance(p, URLPattern)]
    review_routes = [route for route in routes if "<int:review_id>" in route]
    assert review_routes
    for route in review_routes:
        url = "/dashboard/alice-teas/" + route.replace("<int:review_id>", str(review.pk))
        owner.post(url, hostile)
        owner.post(url, hostile | {"publish": "1"})
        owner.post(url, hostile | {"insert": "1"})
    reply(owner, review, "A reply.")
    reply(owner, review, "A changed reply.")

    assert what_the_reviewer_wrote(review) == before
    assert Review.objects.get(pk=review.pk).status == Review.Status.PUBLISHED
    for route in review_routes:
        assert not re.search(r"edit|hide|delete|remove", route), route


# --- saved replies -------------------------------------------------------------------------------


def test_the_reply_form_offers_the_saved_replies_for_the_reviews_language_and_stars_and_inserts_one(
    alice: ShopAccess, team: Team, reviews: dict[str, Review]
) -> None:
    review = reviews["R-3"]  # 2 stars, in English, by Jan Visser shown as "Jan V."
    sorry = ReplyTemplate.objects.create(
        shop=alice.shop, name="Sorry", locale="en", band="1-2", body="Dear {first_name}, {shop_name} is sorry."
    )
    ReplyTemplate.objects.create(shop=alice.shop, name="Any", body="Thank you.")
    ReplyTemplate.objects.create(shop=alice.shop, name="German", locale="de", body="Danke.")
    ReplyTemplate.objects.create(shop=alice.shop, name="Happy", band="4-5", body="Glad you liked it!")
    responder = team.client(team.bob["responder"])

    page = responder.get(review_url(review)).content.decode()
    offered = re.findall(r'<option value="\d+">([^<]*)</option>', page)
    inserted = responder.post(review_url(review), {"body": "Hello.", "template": str(sorry.pk), "insert": "1"})

    assert offered == ["Any", "Sorry"]
    assert inserted.status_code == 200
    assert "Hello.\n\nDear Jan, Alice Teas is sorry.</textarea>" in inserted.content.decode()
    assert not Reply.objects.exists()  # inserting publishes nothing


def test_an_anonymous_reviewers_name_is_not_inserted(alice: ShopAccess, team: Team) -> None:
    from reputable.reviews.actions import ReviewInput, submit_review

    review = write_review(alice, "ANON", 1, title="Hidden")
    hidden = ReviewInput(rating=1, title="Hidden", name_display="anonymous")
    submit_review(invitation=review.invitation, data=hidden, now=review.created_at)  # type: ignore[arg-type]
    template = ReplyTemplate.objects.create(shop=alice.shop, name="Sorry", body="Dear {first_name}, sorry.")

    inserted = team.client(team.alice).post(
        review_url(review), {"body": "", "template": str(template.pk), "insert": "1"}
    )

    assert ">Dear , sorry.</textarea>" in inserted.content.decode()
    assert "Jan" not in inserted.content.decode().split("<textarea")[1].split("</textarea>")[0]


def test_a_manager_creates_changes_and_deletes_a_saved_reply(alice: ShopAccess, team: Team) -> None:
    manager = team.client(team.bob["manager"])
    base = f"{INBOX}/reply-templates"

    created = manager.post(
        f"{base}/new", {"name": "Sorry", "locale": "de", "band": "1-2", "body": "Es tut uns leid, {first_name}."}
    )
    template = ReplyTemplate.objects.get()
    changed = manager.post(
        f"{base}/{template.pk}", {"name": "Sorry", "locale": "", "band": "", "body": "Sorry!\r\nBob"}
    )
    template.refresh_from_db()
    listing = team.client(team.bob["viewer"]).get(base).content.decode()
    deleted = manager.post(f"{base}/{template.pk}/delete")

    assert created.status_code == changed.status_code == deleted.status_code == 302
    assert (template.locale, template.band, template.body) == ("", "", "Sorry!\nBob")
    assert "Sorry!<br>Bob" in listing and "Any language" in listing and "Any rating" in listing
    assert not ReplyTemplate.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Dear {name}", "unknown placeholder {name}"),
        ("{% if x %}", "braces may only enclose a placeholder"),
        ("Thanks {order_reference}", "unknown placeholder {order_reference}"),
        ("", "This field is required."),
    ],
)
def test_a_saved_reply_with_template_code_or_an_unknown_placeholder_is_refused(
    team: Team, body: str, error: str
) -> None:
    response = team.client(team.bob["manager"]).post(
        f"{INBOX}/reply-templates/new", {"name": "Bad", "locale": "", "band": "", "body": body}
    )

    assert response.status_code == 400
    assert error in unescape(response.content.decode())
    assert not ReplyTemplate.objects.exists()


def test_a_responder_uses_saved_replies_but_may_not_change_them(alice: ShopAccess, team: Team) -> None:
    template = ReplyTemplate.objects.create(shop=alice.shop, name="Thanks", body="Thank you!")
    responder = team.client(team.bob["responder"])

    assert responder.get(f"{INBOX}/reply-templates").status_code == 200
    assert responder.post(f"{INBOX}/reply-templates/new", {"name": "X", "body": "Y"}).status_code == 403
    assert responder.post(f"{INBOX}/reply-templates/{template.pk}/delete").status_code == 403
    assert ReplyTemplate.objects.get().body == "Thank you!"


# --- what the public sees besides the reply ------------------------------------------------------


def test_the_profile_says_when_the_shop_contacted_the_reviewer_and_when_the_review_was_updated(
    alice: ShopAccess, team: Team, now: Any
) -> None:
    from reputable.reviews.actions import ReviewInput, submit_review, write_to_reviewer

    review = write_review(alice, "U-1", 2, title="Late")
    now.move_to(MONDAY + dt.timedelta(days=1))
    write_to_reviewer(review=review, body="Sorry, may we help?", author=team.alice, now=timezone.now())
    now.move_to(MONDAY + dt.timedelta(days=2))
    submit_review(invitation=review.invitation, data=ReviewInput(rating=3, title="Late, but fine"), now=timezone.now())  # type: ignore[arg-type]

    profile = Client().get("/s/alice-teas/?lang=en").content.decode()

    assert "Late, but fine" in profile
    assert "Updated on" in profile and "Nov. 25, 2026" in profile
    assert "The shop contacted the reviewer on Nov. 24, 2026." in profile
