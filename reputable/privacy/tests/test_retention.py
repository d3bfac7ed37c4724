"""Retention: the dispatcher erases customers' addresses and names once a shop's period is over;
reviews stay; the database holds the erased addresses nowhere after the run."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import serializers
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, Team, run_dispatcher
from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation, Suppression
from reputable.lib.dates import add_months
from reputable.privacy import actions
from reputable.privacy.dispatch import Retention
from reputable.privacy.models import PrivacyRequest, RetentionRun
from reputable.privacy.tests.helpers import customer_history, order, search_every_text_column
from reputable.reviews.models import RatingBucket, Review

pytestmark = pytest.mark.usefixtures("now")

JAN = "jan.visser@example.nl"  # reviewed, got a reply and a private message; never objected
KIM = "kim@example.nl"  # ordered only
PIET = "piet@example.nl"  # ordered, then unsubscribed: a suppression keeps the address
PERIOD_OVER = add_months(MONDAY, 24) + dt.timedelta(days=1)


@pytest.fixture
def history(alice: ShopAccess, team: Team, dispatcher: Any) -> Review:
    """Three customers of alice's, every message of theirs sent (so the outbox holds copies)."""
    review = customer_history(alice, team, "A-1", JAN)
    order(alice, "A-2", KIM)
    order(alice, "A-3", PIET)
    token = Invitation.objects.get(transaction__reference="A-3").token
    assert Client().post(f"/u/{token}").status_code == 200
    run_dispatcher(dispatcher)
    return review


def summary(alice: ShopAccess) -> Any:
    return Client().get(f"/api/v1/public/shops/{alice.shop.slug}/summary").json()


def buckets() -> str:
    return serializers.serialize("json", RatingBucket.objects.order_by("pk"))


def test_the_run_before_the_period_is_over_erases_nothing(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    now.move_to(add_months(MONDAY, 24) - dt.timedelta(days=1))
    run_dispatcher(dispatcher)

    assert set(Transaction.objects.values_list("email", flat=True)) == {JAN, KIM, PIET}
    assert Transaction.objects.get(reference="A-1").first_name == "Jan"
    assert Invitation.objects.get(transaction__reference="A-2").email == KIM
    run = RetentionRun.objects.get(shop=alice.shop)
    assert run.erased_count == 0
    assert run.due_at == add_months(Transaction.objects.get(reference="A-1").created_at, 24)


def test_after_the_period_no_text_column_of_the_database_holds_the_erased_addresses(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    # The search finds what it looks for: before the run, the addresses are in several tables.
    assert {"events.Transaction.email", "invitations.Invitation.email", "dispatch.OutboxItem.payload"} <= set(
        search_every_text_column(JAN)
    )
    assert "reviews.ReviewMessage.body" in search_every_text_column(JAN)
    assert "events.Transaction.email" in search_every_text_column(KIM)

    now.move_to(PERIOD_OVER)
    run_dispatcher(dispatcher)

    assert search_every_text_column(JAN) == []
    assert search_every_text_column(KIM) == []
    assert search_every_text_column("Visser") == []  # the last name, kept in the transaction only
    # The objection is honoured after the erasure: its row is the only one that keeps the address.
    assert search_every_text_column(PIET) == ["invitations.Suppression.email"]
    assert RetentionRun.objects.get(shop=alice.shop).erased_count == 3


def test_after_the_period_the_reviews_stay_under_their_pseudonym_and_the_summaries_do_not_change(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    now.move_to(PERIOD_OVER)
    before = summary(alice), buckets()
    run_dispatcher(dispatcher)

    review = Review.objects.get(pk=history.pk)
    assert review.status == Review.Status.PUBLISHED
    assert (review.rating, review.title, review.author_name) == (2, "Cold tea", "Jan V.")
    assert review.verified  # still linked to its order, which names nobody now
    assert review.product_reviews.get().body == "Fine leaves"
    assert review.reply.body == "We are sorry, Jan."
    assert (summary(alice), buckets()) == before
    assert before[0]["all_time"]["count"] == 1
    profile = Client().get(f"/s/{alice.shop.slug}/").content.decode()
    assert "Cold tea" in profile and "Jan V." in profile


def test_an_address_erased_by_the_run_that_objected_stays_suppressed(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    now.move_to(PERIOD_OVER)
    run_dispatcher(dispatcher)
    order(alice, "A-4", PIET)

    assert Event.objects.get(transaction__reference="A-4").outcome == Event.Outcome.SUPPRESSED
    assert Suppression.objects.filter(shop=alice.shop, email=PIET).exists()


def data() -> list[str]:
    """Every row of the tables the run writes to, serialised (the outbox aside: the team's
    weekly digests come and go)."""
    return [
        serializers.serialize("json", model.objects.order_by("pk"))
        for model in (Transaction, Invitation, Review, Suppression, PrivacyRequest)
    ]


def test_the_run_is_idempotent_and_each_erased_row_is_erased_once(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    now.move_to(PERIOD_OVER)
    run_dispatcher(dispatcher)
    after_first = data()
    run = RetentionRun.objects.get(shop=alice.shop)
    # No order recorded since: none can pass the period sooner than a period from now.
    assert run.due_at == add_months(PERIOD_OVER, 24)

    # A run made due again (the period set anew) finds nothing more; erasing the same rows
    # again changes nothing.
    now.move_to(PERIOD_OVER + dt.timedelta(days=2))
    assert alice.patch("/api/v1/shop", {"retention_months": 24}).status_code == 200
    run_dispatcher(dispatcher)
    assert RetentionRun.objects.get(shop=alice.shop).last_run_at == PERIOD_OVER + dt.timedelta(days=2)
    assert data() == after_first
    counts = actions.erase_transactions(
        shop=alice.shop, transaction_ids=list(Transaction.objects.values_list("pk", flat=True))
    )
    assert counts == {"invitations_cancelled": 0, "transactions": 0, "invitations": 0}
    assert RetentionRun.objects.get(shop=alice.shop).erased_count == 3


def test_a_run_that_fails_midway_keeps_what_it_erased_and_goes_on_from_there(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller, monkeypatch: Any
) -> None:
    monkeypatch.setattr(Retention, "ROWS_PER_BATCH", 1)
    erase = actions.erase_transactions
    calls = []

    def dies_on_the_second_batch(**kwargs: Any) -> Any:
        calls.append(kwargs["transaction_ids"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return erase(**kwargs)

    monkeypatch.setattr(actions, "erase_transactions", dies_on_the_second_batch)
    now.move_to(PERIOD_OVER)
    run_dispatcher(dispatcher)

    erased = dict(Transaction.objects.values_list("reference", "email"))
    assert erased == {"A-1": "", "A-2": KIM, "A-3": PIET}
    run = RetentionRun.objects.get(shop=alice.shop)
    assert "the database went away" in run.last_error
    assert run.erased_count == 1

    now.shift(dt.timedelta(minutes=2))  # past the back-off
    run_dispatcher(dispatcher)
    assert set(Transaction.objects.values_list("email", flat=True)) == {""}
    assert calls[2:] == [calls[1], [Transaction.objects.get(reference="A-3").pk]]  # the failed batch again, then on


def test_a_shorter_period_set_through_the_api_applies_at_the_next_pass(
    alice: ShopAccess, history: Review, dispatcher: Any, now: time_machine.Traveller
) -> None:
    now.move_to(add_months(MONDAY, 7))
    run_dispatcher(dispatcher)
    assert Transaction.objects.get(reference="A-2").email == KIM  # 24 months: not yet

    answer = alice.patch("/api/v1/shop", {"retention_months": 6})
    assert answer.status_code == 200 and answer.json()["retention_months"] == 6
    run_dispatcher(dispatcher)
    assert set(Transaction.objects.values_list("email", flat=True)) == {""}


def test_the_retention_period_takes_1_to_120_months(alice: ShopAccess) -> None:
    for months in (0, 121):
        answer = alice.patch("/api/v1/shop", {"retention_months": months})
        assert answer.status_code == 422
        assert answer.json()["fields"][0]["field"] == "retention_months"
    assert alice.api.get("/api/v1/shop").json()["retention_months"] == 24
