"""The dispatcher: invitations and reminders over real SMTP, at the right moments."""

import datetime as dt
import threading
from typing import Any

import pytest

from reputable.conftest import (
    MONDAY,
    ShopAccess,
    SmtpSink,
    checkout,
    run_dispatcher,
)
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.models import Invitation
from reputable.reviews.actions import ReviewInput, submit_review

DAY = dt.timedelta(days=1)


def test_nothing_goes_out_before_the_invitation_is_due(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout())  # dated Monday 08:00 UTC, due a week later

    now.move_to(MONDAY + 6 * DAY)

    assert dispatcher.handle_one() is False
    assert smtp.messages == []


def test_it_sends_due_invitation_then_its_reminder_then_stops(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout())

    now.move_to(dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC))
    assert dispatcher.handle_one() is True
    assert dispatcher.handle_one() is False
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.sent_count) == ("pending", 1)
    assert invitation.send_at == dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)  # the reminder, 7 days on

    now.move_to(dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC))
    assert run_dispatcher(dispatcher) == 1
    now.move_to(dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
    assert run_dispatcher(dispatcher) == 0

    assert [m["To"] for m in smtp.messages] == ["jan@example.nl", "jan@example.nl"]
    assert smtp.messages[0]["Message-ID"] != smtp.messages[1]["Message-ID"]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.sent_count) == ("completed", 2)


def test_a_return_event_cancels_the_pending_invitation_and_its_reminders(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout())
    now.move_to(MONDAY + 8 * DAY)
    run_dispatcher(dispatcher)  # the invitation went out; a reminder waits

    answer = alice.post("/api/v1/events", checkout(type="return")).json()

    assert answer["outcome"] == "cancelled"
    assert answer["invitation"]["status"] == "cancelled"
    now.move_to(MONDAY + 30 * DAY)
    assert run_dispatcher(dispatcher) == 0
    assert len(smtp.messages) == 1


def test_a_cancelled_order_is_not_invited_by_a_later_checkout_event(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout(type="cancel"))

    answer = alice.post("/api/v1/events", checkout()).json()

    assert (answer["outcome"], answer["invitation"]) == ("stopped", None)


def test_a_failed_send_is_retried_with_back_off_and_keeps_the_error(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout())
    smtp.refusals = ["451 4.3.0 Mailbox temporarily unavailable", "451 4.3.0 Still unavailable"]
    due = MONDAY + 7 * DAY
    now.move_to(due)

    assert dispatcher.handle_one() is True
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts, invitation.send_at) == ("pending", 1, due + dt.timedelta(minutes=1))
    assert "Mailbox temporarily unavailable" in invitation.last_error
    assert dispatcher.handle_one() is False  # not before the back-off

    now.move_to(due + dt.timedelta(minutes=1))
    dispatcher.handle_one()
    invitation.refresh_from_db()
    assert invitation.send_at == due + dt.timedelta(minutes=1 + 2)

    now.move_to(due + dt.timedelta(minutes=3))
    dispatcher.handle_one()
    invitation.refresh_from_db()
    assert (invitation.sent_count, invitation.attempts, invitation.last_error) == (1, 0, "")
    assert len(smtp.messages) == 1


def test_it_gives_up_after_the_last_attempt(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any, settings: Any
) -> None:
    settings.DISPATCH_MAX_ATTEMPTS = 2
    alice.post("/api/v1/events", checkout())
    smtp.refusals = ["554 5.7.1 Rejected"] * 5
    now.move_to(MONDAY + 7 * DAY)

    dispatcher.handle_one()
    now.shift(dt.timedelta(hours=1))
    dispatcher.handle_one()
    now.shift(dt.timedelta(days=30))

    assert run_dispatcher(dispatcher) == 0
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts) == ("failed", 2)


def test_an_unreachable_mail_server_does_not_stop_the_dispatcher(alice: ShopAccess, settings: Any, now: Any) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens on the discard port
        }
    }
    alice.post("/api/v1/events", checkout())
    now.move_to(MONDAY + 7 * DAY)

    assert Command().handle_one() is True

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts) == ("pending", 1)
    assert "Connection refused" in invitation.last_error or "Errno" in invitation.last_error


def test_one_connection_serves_many_messages(alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any) -> None:
    sessions: list[Any] = []
    original = smtp.handle_DATA

    async def count_sessions(server: Any, session: Any, envelope: Any) -> str:
        sessions.append(id(session))
        return await original(server, session, envelope)

    smtp.handle_DATA = count_sessions  # type: ignore[method-assign]
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    alice.post("/api/v1/events/batch", {"events": [checkout(str(n)) for n in range(5)]})
    now.move_to(MONDAY + 7 * DAY)

    assert run_dispatcher(dispatcher) == 5
    assert len(set(sessions)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_send_each_message_once(alice: ShopAccess, smtp: SmtpSink) -> None:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    events = [checkout(str(n), transaction={"reference": str(n), "date": "2026-11-01T08:00:00Z"}) for n in range(40)]
    alice.post("/api/v1/events/batch", {"events": events})
    start = threading.Barrier(3)

    def work() -> None:
        from django.db import connection

        command = Command()
        start.wait()
        run_dispatcher(command)
        command.worker.idle()
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert set(Invitation.objects.values_list("sent_count", flat=True)) == {1}


def test_a_review_after_the_batch_claim_stops_that_rows_send(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    alice.post("/api/v1/events/batch", {"events": [checkout("1"), checkout("2")]})
    now.move_to(MONDAY + 7 * DAY)
    assert dispatcher.handle_one() is True  # claims both, sends the first
    second = Invitation.objects.get(transaction__reference="2")
    assert second.claimed_until is not None

    submit_review(invitation=second, data=ReviewInput(rating=5), now=MONDAY + 7 * DAY)

    run_dispatcher(dispatcher)  # (the team hears of the review: a row of the outbox's own)
    assert len(smtp.messages) == 1
    second.refresh_from_db()
    assert second.status == "reviewed"


def test_rows_whose_lease_runs_low_are_given_back_and_sent_once(
    alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any, settings: Any
) -> None:
    settings.DISPATCH_LEASE_SECONDS = 100
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    alice.post("/api/v1/events/batch", {"events": [checkout(str(n)) for n in range(3)]})
    now.move_to(MONDAY + 7 * DAY)
    assert dispatcher.handle_one() is True  # claims all three for 100 s, sends one

    now.shift(dt.timedelta(seconds=85))  # less than a fifth of the lease is left

    other = Command()
    assert dispatcher.handle_one() is True  # gives the two back, claims them anew, sends one
    assert other.handle_one() is False  # nothing left that is not claimed
    assert run_dispatcher(dispatcher) == 1
    assert sorted(m["To"] for m in smtp.messages) == ["jan@example.nl"] * 3
    assert len({m["Message-ID"] for m in smtp.messages}) == 3
    assert set(Invitation.objects.values_list("sent_count", flat=True)) == {1}
