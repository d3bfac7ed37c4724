"""Data subject requests through the API: export everything held about an address, erase it
with the reviews kept anonymous or removed, each request logged with its one-month deadline."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, Team, run_dispatcher, write_review
from reputable.events.models import Transaction
from reputable.invitations.models import Invitation, Suppression
from reputable.privacy.models import PrivacyRequest
from reputable.privacy.tests.helpers import customer_history, order, search_every_text_column
from reputable.reviews.models import Review
from reputable.shops.models import ApiKey

pytestmark = pytest.mark.usefixtures("now")

JAN = "jan.visser@example.nl"


def summary(shop: ShopAccess) -> Any:
    return Client().get(f"/api/v1/public/shops/{shop.shop.slug}/summary").json()["all_time"]


def test_an_export_holds_everything_the_shop_has_about_the_address_and_nothing_else(
    alice: ShopAccess, charlie: ShopAccess, team: Team
) -> None:
    customer_history(alice, team, "A-1", JAN)
    order(alice, "A-2", "someone-else@example.nl")
    order(charlie, "C-1", JAN)  # another shop's customer too: not alice's to export

    answer = alice.post("/api/v1/privacy/export", {"email": "Jan.Visser@Example.nl"})

    assert answer.status_code == 200
    document = answer.json()
    assert (document["shop"], document["email"]) == ("Alice Teas", JAN)
    [tx] = document["transactions"]
    assert (tx["reference"], tx["email"], tx["first_name"], tx["last_name"]) == ("A-1", JAN, "Jan", "Visser")
    assert [p["sku"] for p in tx["products"]] == ["TEA-1"]
    assert [e["type"] for e in tx["events"]] == ["checkout"]
    assert tx["invitation"]["email"] == JAN and tx["invitation"]["status"] == "reviewed"
    [review] = document["reviews"]
    assert (review["rating"], review["title"], review["body"], review["shown_as"]) == (
        2,
        "Cold tea",
        "It arrived cold.",
        "Jan V.",
    )
    assert [(p["rating"], p["body"]) for p in review["products"]] == [(3, "Fine leaves")]
    assert review["reply"]["body"] == "We are sorry, Jan."
    assert [(m["sender"], m["body"]) for m in review["messages"]] == [
        ("shop", f"We wrote to {JAN} about a refund."),
        ("reviewer", "Thank you, that is fine."),
    ]
    assert document["suppressions"] == []
    assert [r["kind"] for r in document["requests"]] == ["export"]


def test_each_request_is_logged_with_a_masked_address_its_deadline_and_who_asked(alice: ShopAccess) -> None:
    order(alice, "A-1", JAN)
    assert alice.post("/api/v1/privacy/export", {"email": JAN}).status_code == 200

    logged = PrivacyRequest.objects.get(shop=alice.shop)
    assert (logged.kind, logged.email_hint) == ("export", "j•••@example.nl")
    assert logged.requested_at == logged.completed_at == MONDAY
    assert logged.due_at == dt.datetime(2026, 12, 23, 9, 0, tzinfo=dt.UTC)  # one calendar month
    assert logged.api_key == ApiKey.objects.get(shop=alice.shop)
    assert not any(column.startswith("privacy.") for column in search_every_text_column(JAN))


def test_a_deadline_is_one_calendar_month_ending_on_the_months_last_day_if_it_is_shorter(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    now.move_to(dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.UTC))
    answer = alice.post("/api/v1/privacy/erasure", {"email": JAN, "review": "anonymise"})

    assert answer.json()["due_at"] == "2027-02-28T12:00:00Z"


def test_an_erasure_keeping_the_review_erases_the_address_everywhere_and_shows_the_review_as_anonymous(
    alice: ShopAccess, team: Team, dispatcher: Any
) -> None:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})  # a second order of JAN's is invited too
    review = customer_history(alice, team, "A-1", JAN)
    order(alice, "A-2", JAN)
    run_dispatcher(dispatcher)  # the reply's and the message's emails went out: the outbox has copies
    before = summary(alice)
    assert "dispatch.OutboxItem.payload" in search_every_text_column(JAN)

    answer = alice.post("/api/v1/privacy/erasure", {"email": JAN, "review": "anonymise"})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["kind"], body["email"], body["review"]) == ("erasure", "j•••@example.nl", "anonymise")
    assert body["counts"]["transactions"] == 2 and body["counts"]["reviews"] == 1
    assert search_every_text_column(JAN) == []
    assert search_every_text_column("Jan V.") == []  # nor the name the review was shown under
    kept = Review.objects.get(pk=review.pk)
    assert kept.status == Review.Status.PUBLISHED
    assert (kept.author_name, kept.name_display) == ("", Review.NameDisplay.ANONYMOUS)
    assert summary(alice) == before
    profile = Client().get(f"/s/{alice.shop.slug}/").content.decode()
    assert "Cold tea" in profile and "Jan V." not in profile
    # Nothing more goes out to the address: its pending invitation is cancelled.
    assert Invitation.objects.get(transaction__reference="A-2").status == Invitation.Status.CANCELLED


def test_an_erasure_removing_the_review_leaves_a_stub_and_takes_its_rating_out_of_the_summaries(
    alice: ShopAccess, team: Team
) -> None:
    review = customer_history(alice, team, "A-1", JAN)
    write_review(alice, "A-2", 5)  # someone else's
    assert summary(alice)["count"] == 2

    answer = alice.post("/api/v1/privacy/erasure", {"email": JAN, "review": "remove"})

    assert answer.status_code == 200
    removed = Review.objects.get(pk=review.pk)
    assert removed.status == Review.Status.REMOVED
    assert (removed.removal_origin, removed.removal_ground, removed.author_name) == (
        "data_subject",
        "erasure_request",
        "",
    )
    assert summary(alice)["count"] == 1
    assert search_every_text_column(JAN) == []


def test_an_address_that_objected_stays_suppressed_after_its_erasure(alice: ShopAccess) -> None:
    order(alice, "A-1", JAN)
    token = Invitation.objects.get(transaction__reference="A-1").token
    assert Client().post(f"/u/{token}").status_code == 200

    alice.post("/api/v1/privacy/erasure", {"email": JAN, "review": "anonymise"})

    # The objection is the one row that keeps the address, to honour it (GDPR Art. 17(3), 21).
    assert search_every_text_column(JAN) == ["invitations.Suppression.email"]
    assert Suppression.objects.get(shop=alice.shop).email == JAN
    document = alice.post("/api/v1/privacy/export", {"email": JAN}).json()
    assert document["transactions"] == [] and document["suppressions"][0]["reason"] == "unsubscribed"
    assert [r["kind"] for r in document["requests"]] == ["erasure", "export"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/privacy/erasure", {"email": "not an address", "review": "anonymise"}, "email"),
        ("/api/v1/privacy/erasure", {"email": JAN, "review": "delete"}, "review"),
        ("/api/v1/privacy/erasure", {"email": JAN}, "review"),
        ("/api/v1/privacy/export", {"email": "jan@"}, "email"),
        ("/api/v1/privacy/export", {}, "email"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    alice: ShopAccess, path: str, body: dict[str, Any], field: str
) -> None:
    order(alice, "A-1", JAN)

    answer = alice.post(path, body)

    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == [field]
    assert not PrivacyRequest.objects.exists()
    assert Transaction.objects.get(reference="A-1").email == JAN


def test_requests_need_a_key_with_the_write_scope(alice: ShopAccess) -> None:
    order(alice, "A-1", JAN)
    _key, raw = ApiKey.issue(shop=alice.shop, scopes=["read"])
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    for path in ("/api/v1/privacy/export", "/api/v1/privacy/erasure"):
        answer = reader.post(path, {"email": JAN, "review": "remove"}, content_type="application/json")
        assert answer.status_code == 403
        assert Client().post(path, {"email": JAN}, content_type="application/json").status_code == 401
    assert Transaction.objects.get(reference="A-1").email == JAN
    assert not PrivacyRequest.objects.exists()


def test_a_shop_erases_only_its_own_customers(alice: ShopAccess, charlie: ShopAccess) -> None:
    order(alice, "A-1", JAN)
    order(charlie, "C-1", JAN)

    charlie.post("/api/v1/privacy/erasure", {"email": JAN, "review": "remove"})

    assert Transaction.objects.get(shop=alice.shop).email == JAN
    assert Transaction.objects.get(shop=charlie.shop).email == ""
