"""The invitation pipeline in the dashboard: every order and what became of its invitation, the
filters and keyset pages, one order's page, the actions on one invitation, the manual
invitation and the suppressions, each through the pages and the dispatcher."""

import datetime as dt
import functools
import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import formats, timezone

from reputable.conftest import ShopAccess, SmtpSink, Team, checkout, run_dispatcher, write_review
from reputable.dashboard.pipeline import transaction_url
from reputable.dispatch.management.commands.dispatch import Command
from reputable.events.models import Transaction
from reputable.invitations.actions import suppress_address
from reputable.invitations.models import STAGES, Invitation, Suppression
from reputable.lib.dates import time_zone

pytestmark = pytest.mark.usefixtures("now")

BASE = "/dashboard/alice-teas/invitations"
ROW = re.compile(r'<tr>\s*<th scope="row"><a href="([^"]+)">([^<]*)</a></th>(.*?)</tr>', re.S)
REFUSAL = "554 5.7.1 Rejected by policy"
OLDER = re.compile(r'<a rel="next" href="([^"]+)"')
NEWER = re.compile(r'<a rel="prev" href="([^"]+)"')


def order(reference: str, email: str, *, days_ago: int = 0, kind: str = "checkout") -> dict[str, Any]:
    """An event of an order placed `days_ago` days before now by `email`."""
    date = (timezone.now() - dt.timedelta(days=days_ago)).isoformat()
    customer = {"email": email, "first_name": "Jan", "last_name": "Visser", "locale": "nl"}
    return checkout(reference, type=kind, transaction={"reference": reference, "date": date}, customer=customer)


def post(alice: ShopAccess, event: dict[str, Any]) -> Any:
    answer = alice.post("/api/v1/events", event)
    assert answer.status_code in (200, 202), answer.content
    return answer.json()


def listed(client: Client, query: str = "") -> dict[str, tuple[str, str]]:
    """The orders a pipeline page lists: reference -> (stage, the text of the row), in order."""
    page = client.get(BASE + query)
    assert page.status_code == 200, page.content.decode()[:3000]
    rows = {}
    for _link, reference, cells in ROW.findall(page.content.decode()):
        stage = re.search(r'<span class="status (\w+)">', cells)
        assert stage, cells
        rows[html.unescape(reference)] = (stage[1], " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cells)).split()))
    return rows


def sent_to(smtp: SmtpSink, address: str) -> list[Any]:
    """The messages the sink received for `address` (the team gets mail of its own)."""
    return [message for message in smtp.messages if message["To"] == address]


def local(shop: Any, moment: dt.datetime, style: str = "SHORT_DATETIME_FORMAT") -> str:
    return formats.date_format(timezone.localtime(moment, time_zone(shop.timezone)), style)


@pytest.fixture
def manager(team: Team) -> Client:
    return team.client(team.bob["manager"])


@pytest.fixture
def viewer(team: Team) -> Client:
    return team.client(team.bob["viewer"])


@pytest.fixture
def every_stage(alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: Any, settings: Any) -> None:
    """An order in every stage there is, made through the API, the review form and the dispatcher."""
    post(alice, order("REMIND", "remind@example.nl", days_ago=7))  # due at once
    run_dispatcher(dispatcher)
    now.shift(dt.timedelta(days=7))  # the reminder is due
    run_dispatcher(dispatcher)
    post(alice, order("SENT", "sent@example.nl", days_ago=7))
    run_dispatcher(dispatcher)
    settings.DISPATCH_MAX_ATTEMPTS = 1
    smtp.refusals = [REFUSAL] * 20  # whatever else is due then fails too
    post(alice, order("FAIL", "fail@example.nl", days_ago=7))
    run_dispatcher(dispatcher)
    smtp.refusals.clear()
    post(alice, order("SCHED", "sched@example.nl"))
    write_review(alice, "REVIEWED", 5)
    post(alice, order("CANC", "canc@example.nl"))
    post(alice, order("CANC", "canc@example.nl", kind="return"))
    post(alice, order("SUPP", "supp@example.nl"))
    assert alice.post("/api/v1/suppressions", {"email": "supp@example.nl"}).status_code == 201
    # Not invited, each for its reason:
    post(alice, order("CAPPED", "sched@example.nl"))  # invited lately (SCHED)
    post(alice, order("OLD", "old@example.nl", days_ago=200))
    post(alice, order("STOPPED", "stopped@example.nl", kind="return"))
    post(alice, order("SUPP2", "supp@example.nl"))
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})
    post(alice, order("NORULE", "norule@example.nl", kind="delivery"))


STAGE_OF = {
    "REMIND": "reminded",
    "SENT": "sent",
    "FAIL": "failed",
    "SCHED": "scheduled",
    "REVIEWED": "reviewed",
    "CANC": "cancelled",
    "SUPP": "suppressed",
    "CAPPED": "not_invited",
    "OLD": "not_invited",
    "STOPPED": "not_invited",
    "SUPP2": "not_invited",
    "NORULE": "not_invited",
}


@pytest.mark.usefixtures("every_stage")
def test_each_order_shows_its_invitation_stage_newest_first(alice: ShopAccess, viewer: Client) -> None:
    rows = listed(viewer)
    assert list(rows) == list(reversed(STAGE_OF))  # recorded in that order
    assert {reference: stage for reference, (stage, _text) in rows.items()} == STAGE_OF

    invitations = {i.transaction.reference: i for i in Invitation.objects.select_related("transaction")}
    assert f"Scheduled for {local(alice.shop, invitations['SCHED'].send_at)}" in rows["SCHED"][1]
    sent = invitations["SENT"]
    assert sent.last_sent_at is not None
    reminder = f"reminder due {local(alice.shop, sent.send_at)}"
    assert f"Sent {local(alice.shop, sent.last_sent_at)}; {reminder}" in rows["SENT"][1]
    assert "Reminded 1 reminder" in rows["REMIND"][1]
    assert "SMTPDataError: (554, b'5.7.1 Rejected by policy')" in rows["FAIL"][1]
    assert "The address was invited recently" in rows["CAPPED"][1]
    assert "The transaction is older than the rule allows" in rows["OLD"][1]
    assert "The transaction was returned or cancelled" in rows["STOPPED"][1]
    assert "The address objected or bounced" in rows["SUPP2"][1]
    assert "The event type has no active invitation rule" in rows["NORULE"][1]
    assert "Checkout, Return" in rows["CANC"][1]
    assert "sched@example.nl" in rows["CAPPED"][1]
    # Each invitation's stage is the one whose condition (and index) finds it.
    for invitation in invitations.values():
        assert Invitation.objects.filter(STAGES[invitation.stage], pk=invitation.pk).exists()


FILTERS = [
    *((f"?status={stage}", {r for r, s in STAGE_OF.items() if s == stage}) for stage in sorted(set(STAGE_OF.values()))),
    ("?type=return", {"CANC", "STOPPED"}),
    ("?type=delivery", {"NORULE"}),
    ("?status=not_invited&type=checkout", {"CAPPED", "OLD", "SUPP2"}),
    ("?status=cancelled&type=checkout", {"CANC"}),
    ("?status=reminded&type=return", set()),
    ("?until=2026-11-23", {"REMIND"}),  # recorded on the first day, the others a week later
    ("?since=2026-11-30", set(STAGE_OF) - {"REMIND"}),
    ("?since=2026-11-24&until=2026-11-29", set()),
    ("?since=2026-11-23&until=2026-11-30&status=reminded", {"REMIND"}),
    ("?q=SCHED", {"SCHED"}),
    ("?q=+SCHED+", {"SCHED"}),
    ("?q=SCHE", set()),
    ("?q=Sched%40Example.NL", {"SCHED", "CAPPED"}),
    ("?q=sched%40example.nl&status=not_invited", {"CAPPED"}),
    ("?q=sched%40example.nl&since=2030-01-01", set()),
]


@pytest.mark.usefixtures("every_stage")
def test_filters_and_search_list_exactly_the_orders_they_name(viewer: Client) -> None:
    assert {query: set(listed(viewer, query)) for query, _expected in FILTERS} == dict(FILTERS)


def test_bad_filters_answer_400_and_say_why(alice: ShopAccess, viewer: Client) -> None:
    post(alice, order("1", "jan@example.nl"))
    for query, error in [
        ("?status=lost", "Select a valid choice"),
        ("?since=yesterday", "Enter a valid date"),
        ("?until=9999-12-31", "between 1970 and 2999"),
        ("?cursor=forged", "start again from the newest page"),
    ]:
        page = viewer.get(BASE + query)
        assert page.status_code == 400
        assert error in html.unescape(page.content.decode())
        assert "jan@example.nl" not in page.content.decode()


def pages(client: Client, url: str, link: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """Each page from `url` on, following `link` until there is none: (its URL, its references)."""
    found = []
    while True:
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        found.append((url, [html.unescape(reference) for _link, reference, _cells in ROW.findall(text)]))
        more = link.search(text)
        if more is None:
            return found
        url = BASE + html.unescape(more[1])


def test_keyset_pages_go_back_and_forth_without_duplicates_or_gaps(alice: ShopAccess, viewer: Client) -> None:
    events = [order(f"P-{n:03}", f"buyer-{n}@example.nl") for n in range(120)]
    assert alice.post("/api/v1/events/batch", {"events": events}).json()["created"] == 120

    older = pages(viewer, BASE, OLDER)

    assert [len(references) for _url, references in older] == [50, 50, 20]
    assert sum((references for _url, references in older), []) == [f"P-{n:03}" for n in reversed(range(120))]
    # From the last page up by the "newer" links: the same pages, the other way round.
    newer = pages(viewer, older[-1][0], NEWER)
    assert [references for _url, references in newer] == [references for _url, references in reversed(older)]


def test_a_filtered_list_pages_each_order_once_however_many_events_it_has(alice: ShopAccess, viewer: Client) -> None:
    # One address for all: the first order is invited, the others are capped; then every order
    # is returned, so that each of those not invited has two events without an invitation.
    events = [order(f"C-{n:03}", "same@example.nl") for n in range(60)]
    events += [order(f"C-{n:03}", "same@example.nl", kind="return") for n in range(60)]
    assert alice.post("/api/v1/events/batch", {"events": events}).json()["created"] == 120

    found = [references for _url, references in pages(viewer, BASE + "?status=not_invited", OLDER)]
    assert [len(references) for references in found] == [50, 9]
    assert sum(found, []) == [f"C-{n:03}" for n in reversed(range(1, 60))]
    assert list(listed(viewer, "?status=cancelled")) == ["C-000"]


def keep(ran: list[tuple[str, Any]], execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    """An execute wrapper that keeps each statement with its parameters (as SQLite plans it)."""
    ran.append((sql, params))
    return execute(sql, params, many, context)


def test_each_list_reads_the_index_made_for_it(alice: ShopAccess, viewer: Client) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    post(alice, order("1", "jan@example.nl"))
    post(alice, order("2", "jan@example.nl"))
    for query, index in [
        ("", "transaction_newest_first"),
        ("?status=scheduled", "invitation_by_status"),
        ("?status=sent", "invitation_sent"),
        ("?status=reminded", "invitation_reminded"),
        ("?status=not_invited", "event_not_invited"),
        ("?type=checkout", "event_by_type"),
        ("?q=jan%40example.nl", "transaction_by_address"),
        ("?since=2026-11-23", "transaction_by_time"),
    ]:
        ran: list[tuple[str, Any]] = []
        with connection.execute_wrapper(functools.partial(keep, ran)):
            assert viewer.get(BASE + query).status_code == 200
        plans = []
        with connection.cursor() as cursor:
            for sql, params in ran:
                if "events_" in sql or "invitations_invitation" in sql:
                    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                    plans.append(" | ".join(row[-1] for row in cursor.fetchall()))
        assert any(f"INDEX {index}" in plan for plan in plans), (query, plans)
        for plan in plans:
            assert "SCAN " not in plan, (query, plan)  # a whole table or index, read through


def test_an_order_page_shows_its_events_products_and_invitation_history(
    alice: ShopAccess, viewer: Client, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    post(alice, order("2026/ORD #7?x=ü/../%", "Jan@Example.nl", days_ago=7))
    run_dispatcher(dispatcher)
    rows = ROW.findall(viewer.get(BASE).content.decode())
    link = html.unescape(rows[0][0])
    assert "%2E%2E" in link  # a browser would take ".." away

    page = viewer.get(link)

    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    invitation = Invitation.objects.get()
    assert "<h1>Order 2026/ORD #7?x=ü/../%</h1>" in text
    assert "jan@example.nl" in text and "Jan Visser" in text
    assert "Green tea" in text and "TEA-1" in text and "4006381333931" in text
    assert "Checkout" in text and "An invitation was scheduled" in text
    assert "Messages sent</dt><dd>1</dd>" in text
    assert invitation.last_sent_at is not None
    assert f"Last sent</dt><dd>{local(alice.shop, invitation.last_sent_at, 'DATETIME_FORMAT')}" in text
    assert f"Next message due</dt><dd>{local(alice.shop, invitation.send_at, 'DATETIME_FORMAT')}" in text
    assert "Send now" not in text  # a viewer reads
    assert viewer.get(transaction_url(alice.shop, "2026/ORD #8")).status_code == 404


def test_a_manager_cancels_a_scheduled_invitation_and_nothing_goes_out(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    post(alice, checkout("1001"))
    invitation = Invitation.objects.get()
    assert "Cancel the invitation" in manager.get(transaction_url(alice.shop, "1001")).content.decode()

    answer = manager.post(f"{BASE}/actions/{invitation.pk}/cancel", follow=True)

    assert answer.redirect_chain[-1][0] == transaction_url(alice.shop, "1001")
    text = answer.content.decode()
    assert "The invitation is cancelled" in text and '<span class="status cancelled">' in text
    again = manager.post(f"{BASE}/actions/{invitation.pk}/cancel", follow=True)
    assert "Only a scheduled invitation" in html.unescape(again.content.decode())
    now.shift(dt.timedelta(days=60))
    run_dispatcher(dispatcher)
    assert sent_to(smtp, "jan@example.nl") == []


def test_send_now_has_the_dispatcher_send_it_at_its_next_pass(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink
) -> None:
    post(alice, checkout("1001"))  # due in a week
    run_dispatcher(dispatcher)
    assert sent_to(smtp, "jan@example.nl") == []
    invitation = Invitation.objects.get()

    answer = manager.post(f"{BASE}/actions/{invitation.pk}/send-now", follow=True)

    assert "goes out at the dispatcher" in html.unescape(answer.content.decode())
    run_dispatcher(dispatcher)
    [message] = sent_to(smtp, "jan@example.nl")
    assert "1001" in message.get_body(("plain",)).get_content()
    assert '<span class="status sent">' in manager.get(transaction_url(alice.shop, "1001")).content.decode()


def fail(alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, settings: Any, reference: str = "1001") -> Invitation:
    settings.DISPATCH_MAX_ATTEMPTS = 1
    smtp.refusals = [REFUSAL] * 20  # whatever else is due then fails too
    post(alice, order(reference, "jan@example.nl", days_ago=7))
    run_dispatcher(dispatcher)
    smtp.refusals.clear()
    invitation = Invitation.objects.get(transaction__reference=reference)
    assert invitation.status == Invitation.Status.FAILED
    return invitation


def test_a_failed_invitation_is_sent_when_tried_again(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink, settings: Any
) -> None:
    invitation = fail(alice, dispatcher, smtp, settings)
    page = html.unescape(manager.get(transaction_url(alice.shop, "1001")).content.decode())
    assert "SMTPDataError: (554, b'5.7.1 Rejected by policy')" in page
    assert "Failed attempts</dt><dd>1</dd>" in page and "Try again" in page

    manager.post(f"{BASE}/actions/{invitation.pk}/resend")
    run_dispatcher(dispatcher)

    assert len(sent_to(smtp, "jan@example.nl")) == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.sent_count, invitation.attempts, invitation.last_error) == (
        "pending",
        1,
        0,
        "",
    )


def test_a_failed_invitation_of_a_returned_order_is_not_tried_again(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink, settings: Any
) -> None:
    invitation = fail(alice, dispatcher, smtp, settings)
    post(alice, checkout("1001", type="return"))

    answer = manager.post(f"{BASE}/actions/{invitation.pk}/resend", follow=True)

    assert "not returned or cancelled can be tried again" in html.unescape(answer.content.decode())
    run_dispatcher(dispatcher)
    assert sent_to(smtp, "jan@example.nl") == []
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.FAILED


def test_a_review_after_a_failed_reminder_ends_the_invitation_for_good(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink, settings: Any, now: Any
) -> None:
    post(alice, order("1001", "jan@example.nl", days_ago=7))
    run_dispatcher(dispatcher)  # the invitation goes out
    now.shift(dt.timedelta(days=7))
    settings.DISPATCH_MAX_ATTEMPTS = 1
    smtp.refusals = [REFUSAL] * 20  # whatever else is due then fails too
    run_dispatcher(dispatcher)  # the reminder fails for good
    smtp.refusals.clear()
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.sent_count) == ("failed", 1)

    form = {"rating": "4", "title": "", "body": "", "name_display": "first_name_initial"}
    assert Client().post(f"/r/{invitation.token}", form).status_code == 302  # from the first email
    answer = manager.post(f"{BASE}/actions/{invitation.pk}/resend", follow=True)

    assert '<span class="status reviewed">' in answer.content.decode()
    assert "Only a failed invitation" in answer.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVIEWED


def invite(client: Client, **fields: str) -> Any:
    form = {"email": "anna@example.de", "first_name": "Anna", "last_name": "Berg", "language": "de"}
    form |= {"reference": "", "timing": "rule"} | fields
    return client.post(f"{BASE}/invite", form, follow=True)


def test_a_manual_invitation_by_the_checkout_rule_is_scheduled_under_a_made_up_reference(
    alice: ShopAccess, manager: Client, now: Any
) -> None:
    answer = invite(manager)

    tx = Transaction.objects.get(shop=alice.shop)
    assert re.fullmatch(r"manual-20261123-[0-9a-f]{6}", tx.reference)
    assert (tx.email, tx.first_name, tx.last_name, tx.locale) == ("anna@example.de", "Anna", "Berg", "de")
    invitation = Invitation.objects.get(transaction=tx)
    assert invitation.send_at == timezone.now() + dt.timedelta(days=7)
    assert answer.redirect_chain[-1][0] == transaction_url(alice.shop, tx.reference)
    assert f"Invitation scheduled for {local(alice.shop, invitation.send_at, 'DATETIME_FORMAT')}." in html.unescape(
        answer.content.decode()
    )


def test_a_manual_invitation_sent_now_goes_out_through_the_dispatcher_in_its_language(
    alice: ShopAccess, manager: Client, dispatcher: Command, smtp: SmtpSink
) -> None:
    answer = invite(manager, reference="PHONE-17", timing="now")

    assert "goes out at the dispatcher's next pass" in html.unescape(answer.content.decode())
    run_dispatcher(dispatcher)
    [message] = sent_to(smtp, "anna@example.de")
    assert message["Content-Language"] == "de"
    assert "PHONE-17" in message.get_body(("plain",)).get_content()
    assert '<span class="status sent">' in manager.get(transaction_url(alice.shop, "PHONE-17")).content.decode()


def test_a_manual_invitation_keeps_the_rules_and_says_what_happened(alice: ShopAccess, manager: Client) -> None:
    invite(manager, reference="A")

    capped = html.unescape(invite(manager, reference="B", email="ANNA@example.de").content.decode())
    again = html.unescape(invite(manager, reference="A", email="other@example.de").content.decode())
    suppress_address(email="lena@example.de", reason=Suppression.Reason.UNSUBSCRIBED, shop=alice.shop)
    suppressed = html.unescape(invite(manager, reference="C", email="lena@example.de").content.decode())

    assert "No invitation was scheduled: The address was invited recently." in capped
    assert "This order already had a checkout: nothing new was stored." in again
    assert "No invitation was scheduled: The address objected or bounced." in suppressed
    assert Invitation.objects.filter(shop=alice.shop).count() == 1


def test_a_manual_invitation_with_bad_input_stores_nothing(alice: ShopAccess, manager: Client) -> None:
    answer = invite(manager, email="not an address", reference="x\u0007y")

    assert answer.status_code == 400
    text = html.unescape(answer.content.decode())
    assert 'aria-describedby="id_email_error"' in text and "Enter a valid email address." in text
    assert "must be one line of text" in text
    assert not Transaction.objects.exists()


def test_an_address_suppressed_in_the_dashboard_is_not_invited(alice: ShopAccess, manager: Client) -> None:
    post(alice, checkout("1001"))  # jan@example.nl, pending

    answer = manager.post(f"{BASE}/suppressions", {"email": " Jan@Example.NL "}, follow=True)

    text = html.unescape(answer.content.decode())
    assert "jan@example.nl is no longer invited." in text
    assert '<th scope="row">jan@example.nl</th><td>Added by the shop</td>' in text
    assert Invitation.objects.get().status == Invitation.Status.SUPPRESSED
    assert post(alice, checkout("1002"))["outcome"] == "suppressed"


def test_an_address_whose_suppression_is_removed_is_invited_again(alice: ShopAccess, manager: Client) -> None:
    manager.post(f"{BASE}/suppressions", {"email": "jan@example.nl"})
    assert post(alice, checkout("1001"))["outcome"] == "suppressed"
    suppression = Suppression.objects.get(shop=alice.shop)

    answer = manager.post(f"{BASE}/suppressions/{suppression.pk}/remove", follow=True)

    assert "jan@example.nl is invited again from the next order on." in html.unescape(answer.content.decode())
    assert not Suppression.objects.exists()
    assert post(alice, checkout("1002"))["outcome"] == "scheduled"


def test_a_suppression_for_every_shop_shows_only_when_searched_and_cannot_be_removed(
    alice: ShopAccess, manager: Client
) -> None:
    everywhere = suppress_address(email="gone@example.nl", reason=Suppression.Reason.BOUNCED, shop=None)
    suppress_address(email="jan@example.nl", reason=Suppression.Reason.UNSUBSCRIBED, shop=alice.shop)

    listing = html.unescape(manager.get(f"{BASE}/suppressions").content.decode())
    searched = html.unescape(manager.get(f"{BASE}/suppressions?q=GONE%40example.nl").content.decode())
    other = html.unescape(manager.get(f"{BASE}/suppressions?q=anna%40example.de").content.decode())

    assert "jan@example.nl" in listing and "gone@example.nl" not in listing
    assert "gone@example.nl is suppressed for every shop on this installation" in searched
    assert "jan@example.nl" not in searched
    assert "anna@example.de is not suppressed" in other
    assert manager.post(f"{BASE}/suppressions/{everywhere.pk}/remove").status_code == 404
    assert Suppression.objects.filter(pk=everywhere.pk).exists()


def test_a_viewer_reads_the_suppressions_but_has_no_form_to_change_them(
    alice: ShopAccess, viewer: Client, manager: Client
) -> None:
    suppress_address(email="jan@example.nl", reason=Suppression.Reason.UNSUBSCRIBED, shop=alice.shop)

    text = viewer.get(f"{BASE}/suppressions").content.decode()

    assert "jan@example.nl" in text and "Unsubscribed" in text
    assert 'method="post"' not in text.split("</header>", 1)[1]
    assert "Stop inviting an address" in manager.get(f"{BASE}/suppressions").content.decode()
