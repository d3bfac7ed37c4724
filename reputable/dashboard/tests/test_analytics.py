"""Analytics: the daily counters move with what happens (ingestion, sending, reviews,
suppressions), and the analytics page shows them, each chart with its table, for a span of
days, in as many queries for 30 reviews as for 3."""

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import html

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, checkout, run_dispatcher, write_review
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.actions import suppress_address
from reputable.invitations.models import Invitation
from reputable.reviews import counters
from reputable.reviews.actions import remove_review, reply_to_review
from reputable.reviews.models import DailyCount, Review
from reputable.shops.models import Shop

pytestmark = pytest.mark.usefixtures("now")

DAY = dt.timedelta(days=1)
INVITATION_DUE = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)  # a week after the checkout
REMINDER_DUE = INVITATION_DUE + 7 * DAY


def counted(shop: Shop, day: dt.date | None = None) -> dict[str, int]:
    """The shop's counters, of one day or of all days."""
    start, end = (day, day) if day else (dt.date(1970, 1, 1), dt.date(2100, 1, 1))
    return counters.totals(shop=shop, prefixes=[""], start=start, end=end)


def order(reference: str, email: str, **overrides: Any) -> dict[str, Any]:
    return checkout(reference, customer={"email": email, "first_name": "Jan", "locale": "nl"}, **overrides)


def review_link(shop: ShopAccess, reference: str, rating: int, **fields: str) -> None:
    """The customer of `reference` opens the link of the invitation they received and posts the form."""
    invitation = Invitation.objects.get(shop=shop.shop, transaction__reference=reference)
    form = {"rating": str(rating), "title": "", "body": "", "name_display": "first_name_initial", **fields}
    response = Client().post(f"/r/{invitation.token}", form)
    assert response.status_code == 302, response.content.decode()[:2000]


def analytics_page(team: Team, query: str = "", status: int = 200) -> Any:
    response = team.client(team.bob["viewer"]).get(f"/dashboard/alice-teas/analytics{query}")
    assert response.status_code == status, response.content.decode()[:3000]
    return html.fromstring(response.content.decode())


def table(doc: Any, key: str) -> dict[str, list[str]]:
    """The rows of a chart's table: row head -> the other cells."""
    rows = doc.xpath(f'//section[@aria-labelledby="chart-{key}"]//table/tbody/tr')
    return {row.xpath("string(th)").strip(): [td.text_content().strip() for td in row.xpath("td")] for row in rows}


def stat(doc: Any, label: str) -> str:
    cards = doc.xpath(f'//div[@class="stat"][span[@class="muted"]="{label}"]/span[@class="value"]')
    assert cards, f"no card {label!r}"
    return cards[0].text_content().strip()


# --- counters -------------------------------------------------------------------------------


def test_ingestion_counts_orders_and_scheduled_invitations_and_the_reasons_for_skipped_ones(
    alice: ShopAccess,
) -> None:
    assert alice.post("/api/v1/event-types", {"key": "shipment", "name": "Shipment"}).status_code == 201
    suppress_address(email="gone@example.nl", reason="manual", shop=alice.shop)
    batch = [
        order("1", "jan@example.nl"),  # scheduled
        order("1", "jan@example.nl"),  # the same event again: nothing
        order("2", "jan@example.nl"),  # the address was invited a moment ago
        order("3", "old@example.nl", transaction={"reference": "3", "date": "2026-01-02T08:00:00Z"}),
        order("4", "gone@example.nl"),
        order("5", "new@example.nl", type="shipment"),  # an event type without a rule
        order("6", "six@example.nl"),
        order("6", "six@example.nl", type="return"),  # cancels 6's invitation
        order("7", "seven@example.nl", type="return"),  # a stop event invites nobody: not a skip
        order("7", "seven@example.nl"),  # returned before: not invited
    ]
    assert alice.post("/api/v1/events/batch", {"events": batch}).status_code == 200
    assert alice.post("/api/v1/events", order("1", "jan@example.nl")).status_code == 200  # again: nothing

    assert counted(alice.shop, MONDAY.date()) == {
        "orders": 7,
        "invitations.scheduled": 2,
        "invitations.cancelled": 1,
        "invitations.skipped.frequency_cap": 1,
        "invitations.skipped.too_old": 1,
        "invitations.skipped.suppressed": 1,
        "invitations.skipped.no_active_rule": 1,
        "invitations.skipped.stopped": 1,
    }


def test_the_dispatcher_counts_invitations_and_reminders_sent_and_invitations_given_up(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any, settings: Any
) -> None:
    alice.post("/api/v1/events", order("1", "jan@example.nl"))
    alice.post("/api/v1/events", order("2", "piet@example.nl"))

    now.move_to(INVITATION_DUE)
    run_dispatcher(dispatcher)
    now.move_to(REMINDER_DUE)
    run_dispatcher(dispatcher)

    assert [m["To"] for m in smtp.messages] == ["jan@example.nl", "piet@example.nl"] * 2
    assert counted(alice.shop, INVITATION_DUE.date())["messages.sent.invitation"] == 2
    assert counted(alice.shop, REMINDER_DUE.date())["messages.sent.reminder"] == 2

    settings.DISPATCH_MAX_ATTEMPTS = 1
    alice.post("/api/v1/events", order("3", "kees@example.nl"))
    now.move_to(REMINDER_DUE + 7 * DAY)
    smtp.refusals.append("451 try again later")
    run_dispatcher(dispatcher)

    assert Invitation.objects.get(transaction__reference="3").status == "failed"
    assert counted(alice.shop, (REMINDER_DUE + 7 * DAY).date()) == {"messages.failed": 1}


def test_unsubscribes_and_bounces_count_once_in_each_shop_that_invited_the_address(
    alice: ShopAccess, charlie: ShopAccess
) -> None:
    alice.post("/api/v1/events", order("1", "jan@example.nl"))
    alice.post("/api/v1/events", order("2", "piet@example.nl"))
    charlie.post("/api/v1/events", order("9", "someone@example.nl"))
    token = Invitation.objects.get(transaction__reference="1").token

    assert Client().post(f"/u/{token}").status_code == 200
    assert Client().post(f"/u/{token}").status_code == 200  # suppressed already: no second count
    suppress_address(email="piet@example.nl", reason="bounced", shop=None)  # a hard bounce: every shop
    suppress_address(email="typo@example.nl", reason="manual", shop=alice.shop)  # the merchant's own

    assert Invitation.objects.get(transaction__reference="2").status == "suppressed"
    alice_counts = counted(alice.shop)
    assert (alice_counts["unsubscribed"], alice_counts["bounced"]) == (1, 1)
    assert "manual" not in alice_counts
    assert "bounced" not in counted(charlie.shop)


def test_reviews_count_their_language_source_reminder_and_sub_ratings_and_an_edit_moves_the_sums(
    alice: ShopAccess, dispatcher: Command, now: Any
) -> None:
    alice.post("/api/v1/events", order("1", "jan@example.nl"))
    alice.post(
        "/api/v1/events",
        checkout("2", customer={"email": "anna@example.de", "first_name": "Anna", "locale": "de-AT"}),
    )
    now.move_to(INVITATION_DUE)
    run_dispatcher(dispatcher)
    review_link(alice, "1", 5, delivery_rating="4", service_rating="5")
    now.move_to(REMINDER_DUE)
    run_dispatcher(dispatcher)  # the reminder goes to anna only: jan has reviewed
    review_link(alice, "2", 2, delivery_rating="1")

    assert counted(alice.shop, INVITATION_DUE.date()) == {
        "messages.sent.invitation": 2,
        "reviews.nl": 1,
        "reviews.source.verified": 1,
        "subratings.delivery.sum": 4,
        "subratings.delivery.count": 1,
        "subratings.service.sum": 5,
        "subratings.service.count": 1,
    }
    assert counted(alice.shop, REMINDER_DUE.date()) == {
        "messages.sent.reminder": 1,
        "reviews.de": 1,
        "reviews.source.verified": 1,
        "reviews.after_reminder": 1,
        "subratings.delivery.sum": 1,
        "subratings.delivery.count": 1,
    }

    now.shift(DAY)  # anna changes her mind within the edit window: delivery 3, service 4
    review_link(alice, "2", 3, delivery_rating="3", service_rating="4")
    on_the_review_day = counted(alice.shop, REMINDER_DUE.date())
    assert on_the_review_day["subratings.delivery.sum"] == 3
    assert on_the_review_day["subratings.delivery.count"] == 1
    assert (on_the_review_day["subratings.service.sum"], on_the_review_day["subratings.service.count"]) == (4, 1)
    assert on_the_review_day["reviews.de"] == 1  # still one review


# --- the page -------------------------------------------------------------------------------


def known_scenario(alice: ShopAccess, dispatcher: Command, now: Any) -> None:
    """4 orders, 3 invited (the 4th address objected before), 1 unsubscribes after the
    invitation, 2 reviews: one after the invitation, one after the reminder."""
    suppress_address(email="d@example.nl", reason="manual", shop=alice.shop)
    for reference in "abcd":
        alice.post("/api/v1/events", order(reference, f"{reference}@example.nl"))
    now.move_to(INVITATION_DUE)
    run_dispatcher(dispatcher)
    assert Client().post(f"/u/{Invitation.objects.get(transaction__reference='c').token}").status_code == 200
    review_link(alice, "a", 5, delivery_rating="5", service_rating="4")
    now.move_to(REMINDER_DUE)
    run_dispatcher(dispatcher)
    review_link(alice, "b", 2, delivery_rating="2")


def test_the_page_shows_the_funnel_conversion_and_reminder_uplift_of_a_known_scenario(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    known_scenario(alice, dispatcher, now)
    customers = sorted(m["To"] for m in smtp.messages if m["To"].endswith("@example.nl"))
    assert customers == ["a@example.nl", "b@example.nl", "b@example.nl", "c@example.nl"]  # b reminded

    doc = analytics_page(team)

    assert doc.xpath("string(//h1)") == "Analytics"
    assert stat(doc, "Orders to reviews") == "50 %"
    assert "of 4 orders reported" in doc.xpath('string(//div[@class="stat"][span="Orders to reviews"])')
    assert stat(doc, "Reviews after a reminder") == "50 %"
    assert stat(doc, "Average in the span") == "3.5"
    assert table(doc, "funnel") == {
        "Orders": ["4", "100 %"],
        "Invitations scheduled": ["3", "75 %"],
        "Invitations sent": ["3", "75 %"],
        "Reminders sent": ["1", "25 %"],
        "Reviews": ["2", "50 %"],
    }
    losses = table(doc, "not-invited")
    assert losses["Unsubscribed"] == ["1", "25 %"]
    assert losses["Address suppressed"] == ["1", "25 %"]
    assert losses["Bounced"] == ["0", "0 %"]
    assert table(doc, "distribution") == {
        "5 stars": ["1", "50 %"],
        "4 stars": ["0", "0 %"],
        "3 stars": ["0", "0 %"],
        "2 stars": ["1", "50 %"],
        "1 star": ["0", "0 %"],
    }
    assert table(doc, "sources")["Verified (invited)"] == ["2", "100 %"]
    assert table(doc, "subratings") == {"Delivery": ["3.5", "2"], "Service": ["4.0", "1"]}
    assert table(doc, "languages") == {"Dutch": ["2", "100 %"]}
    replies = table(doc, "replies")
    assert replies["1–2 ★"] == ["1", "0", "0 %", "–"]
    months = table(doc, "over-time")
    assert months["November 2026"] == ["5.0", "1", "5.0"]
    assert months["December 2026"] == ["2.0", "1", "3.5"]  # the rolling 12 months: both reviews


def test_first_replies_show_as_response_rate_and_median_time_by_star_band(
    alice: ShopAccess, team: Team, now: Any
) -> None:
    reviews = [write_review(alice, reference, stars) for reference, stars in (("1", 5), ("2", 4), ("3", 5), ("4", 1))]
    for review, hours in zip(reviews, (0.5, 3, 30), strict=False):  # the three high ratings answered
        now.move_to(MONDAY + dt.timedelta(hours=hours))
        reply_to_review(review=review, body="Thank you!", author=team.bob["responder"], now=timezone.now())
    reply_to_review(review=reviews[0], body="Thank you again!", author=team.alice, now=timezone.now())  # an edit

    replies = table(analytics_page(team), "replies")

    assert replies["4–5 ★"] == ["3", "3", "100 %", "median under 4 hours"]
    assert replies["1–2 ★"] == ["1", "0", "0 %", "–"]
    assert replies["3 ★"] == ["0", "0", "–", "–"]


def test_each_chart_is_an_svg_hidden_from_screen_readers_with_a_table_under_it(alice: ShopAccess, team: Team) -> None:
    write_review(alice, "1", 4)

    doc = analytics_page(team)

    charts = doc.xpath('//section[@class="chart"]')
    assert len(charts) == 8
    for chart in charts:
        title = chart.xpath("string(h2)")
        svg, tables = chart.xpath("svg"), chart.xpath(".//table")
        assert len(svg) == 1 and svg[0].get("aria-hidden") == "true", title
        assert len(tables) == 1, title
        assert title in tables[0].xpath("string(caption)")
        assert tables[0].xpath("thead//th") and all(th.get("scope") == "col" for th in tables[0].xpath("thead//th"))
        assert all(th.get("scope") == "row" for th in tables[0].xpath("tbody//th"))
    assert doc.xpath('//label[@for="range-from"]') and doc.xpath('//label[@for="range-to"]')
    assert not doc.xpath("//*[@style]") and not doc.xpath("//script[not(@src)]")


def test_the_date_range_filters_the_figures_and_presets_link_spans(alice: ShopAccess, team: Team, now: Any) -> None:
    write_review(alice, "old", 2)  # Monday 23 November 2026
    now.move_to(MONDAY + 60 * DAY)  # 22 January 2027
    write_review(alice, "new-1", 5)
    write_review(alice, "new-2", 4)

    last_30_days = analytics_page(team, "?from=2026-12-24&to=2027-01-22")
    everything = analytics_page(team)  # the last 12 months

    assert table(last_30_days, "funnel")["Orders"] == ["2", "100 %"]
    assert stat(last_30_days, "Average in the span") == "4.5"
    assert list(table(last_30_days, "over-time")) == ["December 2026", "January 2027"]
    assert stat(last_30_days, "Rolling 12 months") == "3.7"  # the 12 months up to January: all three
    assert table(everything, "funnel")["Orders"] == ["3", "100 %"]
    assert everything.xpath('//input[@name="from"]/@value') == ["2026-02-01"]
    presets = {a.text_content(): a.get("href") for a in everything.xpath('//nav[@class="presets"]//a')}
    assert presets["Last 30 days"] == "?from=2026-12-24&to=2027-01-22"
    assert presets["Last 12 months"] == "?from=2026-02-01&to=2027-01-22"
    assert presets["All"] == "?from=2026-11-23&to=2027-01-22"  # since the shop was created
    assert everything.xpath('//nav[@class="presets"]//a[@aria-current]/text()') == ["Last 12 months"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?from=2026-13-01", "from", "Enter a valid date."),
        ("?from=2026-11-20&to=2026-11-01", "from", "The start lies after the end."),
        ("?from=2016-11-01&to=2026-11-23", "from", "Pick at most ten years."),
        ("?to=2026-11-24", "to", "Pick a day up to today."),
    ],
)
def test_a_bad_span_answers_400_with_the_reason_next_to_its_field(
    alice: ShopAccess, team: Team, query: str, field: str, message: str
) -> None:
    doc = analytics_page(team, query, status=400)

    error = doc.xpath(f'//p[@id="range-{field}-error"]')
    assert error and error[0].text_content().strip() == message
    assert doc.xpath(f'//input[@name="{field}"]/@aria-describedby') == [f"range-{field}-error"]
    assert not doc.xpath('//section[@class="chart"]')


def test_the_page_costs_as_many_queries_for_30_reviews_as_for_3(
    alice: ShopAccess, charlie: ShopAccess, team: Team
) -> None:
    for n in range(3):
        write_review(alice, f"a{n}", 1 + n % 5)
    for n in range(30):
        write_review(charlie, f"c{n}", 1 + n % 5, customer={"locale": ["nl", "de", "en"][n % 3]})
    queries = {}
    for slug, user in (("alice-teas", team.bob["viewer"]), ("charlie-gadgets", team.charlie)):
        client = team.client(user)
        client.get(f"/dashboard/{slug}/analytics")  # sessions and caches warm
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/dashboard/{slug}/analytics").status_code == 200
        queries[slug] = len(captured)

    assert queries["alice-teas"] == queries["charlie-gadgets"]
    assert queries["alice-teas"] <= 8


def test_recount_rebuilds_the_counters_from_the_rows(
    alice: ShopAccess, charlie: ShopAccess, team: Team, dispatcher: Command, now: Any
) -> None:
    known_scenario(alice, dispatcher, now)
    reply_to_review(
        review=Review.objects.get(transaction__reference="a"), body="Thanks!", author=team.alice, now=timezone.now()
    )
    remove_review(
        review=Review.objects.get(transaction__reference="a"), ground="false_fact", origin="dispute", now=timezone.now()
    )
    alice.post("/api/v1/event-types", {"key": "shipment", "name": "Shipment"})
    alice.post("/api/v1/events", order("e", "e@example.nl", type="shipment"))
    suppress_address(email="b@example.nl", reason="bounced", shop=None)
    write_review(charlie, "c-1", 4)
    live = {shop: per_day(shop) for shop in (alice.shop, charlie.shop)}
    DailyCount.objects.all().delete()

    call_command("recount", stdout=io.StringIO())

    for shop, counts in live.items():
        rebuilt = per_day(shop)
        # The rows keep the day of an invitation's last message only: b's invitation went
        # out a week before its reminder, and is recounted on the reminder's day.
        moved = {
            (INVITATION_DUE.date(), "messages.sent.invitation"): -1,
            (REMINDER_DUE.date(), "messages.sent.invitation"): 1,
        }
        expected = Counter(counts)
        if shop == alice.shop:
            expected.update(moved)
        assert rebuilt == {key: n for key, n in expected.items() if n}, shop
    assert per_day(alice.shop)[(REMINDER_DUE.date(), "bounced")] == 1


def per_day(shop: Shop) -> dict[tuple[dt.date, str], int]:
    rows = DailyCount.objects.filter(shop=shop).values_list("day", "metric", "value")
    return {(day, metric): value for day, metric, value in rows}


def test_recount_refuses_an_unknown_shop(alice: ShopAccess) -> None:
    with pytest.raises(CommandError, match="no shop nowhere"):
        call_command("recount", "--shop", "nowhere", "--shop", "alice-teas")
