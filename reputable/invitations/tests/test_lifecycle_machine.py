"""The invitation's lifecycle as a state machine: its QuerySet methods, driven by ingestion,
the dispatcher's worker, reviews, objections and the shop's own actions.

Events of any type arrive for a few transactions, the dispatcher claims and sends (or fails,
or gives up), stops and crashes, customers review and object, the shop cancels an invitation,
sends one now or tries a failed one again, time passes. Whatever the order, after every step:
one invitation per transaction; nothing is sent after a stop event, a review, an objection or
the shop's cancellation; no invitation gets more messages than its rule allows; and every live
claim belongs to a dispatcher that still holds it, or to a crashed one whose lease runs out on
time.
"""

import datetime as dt
from collections import Counter
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from reputable.conftest import MONDAY, ShopAccess
from reputable.dispatch.work import Permanent, Worker
from reputable.events.actions import record_events
from reputable.events.schemas import EventIn
from reputable.invitations.actions import suppress_address
from reputable.invitations.dispatch import Claimed, Invitations
from reputable.invitations.models import Invitation, Suppression

REFERENCES = ["1", "2", "3", "4"]
EMAILS = ["ann@example.com", "ben@example.com", "cem@example.com"]  # 1 and 4 share one


def event(kind: str, reference: str) -> EventIn:
    return EventIn.model_validate(
        {
            "type": kind,
            "transaction": {"reference": reference, "date": "2026-11-23T08:00:00Z"},
            "customer": {"email": EMAILS[int(reference) % 3]},
        }
    )


class Lifecycle(RuleBasedStateMachine):
    """The real dispatcher (`Worker`) over invitations, whose sends succeed or fail as told."""

    shop: ShopAccess  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint_create()
        self.clock = time_machine.travel(MONDAY, tick=False)
        self.traveller = self.clock.start()
        self.outcomes: list[str] = []  # what the next send does
        self.sent: Counter[int] = Counter()  # messages sent per invitation
        self.ended: set[int] = set()  # invitations stopped, reviewed, objected to or cancelled: no more sends
        self.sent_after_the_end: list[int] = []  # invitations that got a message all the same
        self.crashed: dict[str, dt.datetime] = {}  # claims of crashed dispatchers: their lease's end
        self.worker = self.new_worker()

    def new_worker(self) -> Worker:
        machine = self

        class ScriptedSends(Invitations):
            def perform(self, item: Claimed, now: dt.datetime) -> None:
                outcome = machine.outcomes.pop(0) if machine.outcomes else "sent"
                if outcome == "failed":
                    raise SMTPServerDisconnected("gone")
                if outcome == "given_up":
                    raise Permanent("no message can carry this address")
                if item.pk in machine.ended:  # noted, not raised: the worker takes an error for a failed send
                    machine.sent_after_the_end.append(item.pk)
                machine.sent[item.pk] += 1

        return Worker([ScriptedSends])

    def teardown(self) -> None:
        self.clock.stop()
        transaction.savepoint_rollback(self.savepoint)

    def held(self) -> set[str]:
        return {item.claim_id for batch in self.worker.batches.values() for item in batch}

    def end(self, invitations: Any) -> None:
        self.ended.update(invitations.values_list("pk", flat=True))

    @initialize(references=st.sets(st.sampled_from(REFERENCES)))
    def some_orders_were_placed(self, references: set[str]) -> None:
        record_events(shop=self.shop.shop, events=[event("checkout", reference) for reference in sorted(references)])

    @rule(kind=st.sampled_from(["checkout", "delivery", "return", "cancel"]), reference=st.sampled_from(REFERENCES))
    def an_event_arrives(self, kind: str, reference: str) -> None:
        record_events(shop=self.shop.shop, events=[event(kind, reference)])
        if kind in ("return", "cancel"):
            self.end(Invitation.objects.filter(transaction__reference=reference))

    @rule(minutes=st.integers(min_value=1, max_value=60 * 8))
    def time_passes(self, minutes: int) -> None:
        self.traveller.shift(dt.timedelta(minutes=minutes))

    @rule(outcome=st.sampled_from(["sent", "sent", "failed", "given_up"]))
    def the_dispatcher_takes_a_step(self, outcome: str) -> None:
        self.outcomes = [outcome]
        self.worker.handle_one()
        for item in Invitation.objects.filter(status=Invitation.Status.SUPPRESSED):
            self.ended.add(item.pk)

    @rule()
    def the_dispatcher_stops(self) -> None:
        self.worker.release_all()

    @rule()
    def the_dispatcher_crashes(self) -> None:
        for batch in self.worker.batches.values():
            self.crashed.update((item.claim_id, item.claimed_until) for item in batch)
        self.worker = self.new_worker()

    @rule(reference=st.sampled_from(REFERENCES))
    def the_customer_reviews(self, reference: str) -> None:
        invitations = Invitation.objects.filter(transaction__reference=reference)
        invitations.mark_reviewed()
        self.end(invitations)

    @rule(email=st.sampled_from(EMAILS))
    def the_customer_objects(self, email: str) -> None:
        suppress_address(email=email, reason=Suppression.Reason.UNSUBSCRIBED, shop=self.shop.shop)
        self.end(Invitation.objects.filter(email=email))

    @rule(reference=st.sampled_from(REFERENCES))
    def the_shop_cancels_the_invitation(self, reference: str) -> None:
        invitations = Invitation.objects.filter(transaction__reference=reference)
        self.end(invitations.filter(status=Invitation.Status.PENDING))
        invitations.cancel()

    @rule(reference=st.sampled_from(REFERENCES))
    def the_shop_sends_it_now(self, reference: str) -> None:
        invitations = Invitation.objects.filter(transaction__reference=reference)
        invitations.send_now(timezone.now())
        for invitation in invitations.filter(status=Invitation.Status.PENDING):
            assert invitation.send_at <= timezone.now(), "sent now, yet not due"

    @precondition(lambda self: Invitation.objects.filter(status=Invitation.Status.FAILED).exists())
    @rule(data=st.data())
    def the_shop_tries_a_failed_one_again(self, data: st.DataObject) -> None:
        failed = Invitation.objects.filter(status=Invitation.Status.FAILED).order_by("pk")
        pk = data.draw(st.sampled_from(list(failed.values_list("pk", flat=True))))
        Invitation.objects.filter(pk=pk).resend(timezone.now())
        invitation = Invitation.objects.get(pk=pk)
        if invitation.status == Invitation.Status.PENDING:
            assert (invitation.attempts, invitation.send_at) == (0, timezone.now())

    @invariant()
    def one_invitation_per_transaction_and_no_more_messages_than_the_rule_allows(self) -> None:
        rows = list(Invitation.objects.select_related("rule"))
        assert len({i.transaction_id for i in rows}) == len(rows)
        for invitation in rows:
            allowed = 1 + (invitation.rule.reminder_count if invitation.rule else 0)
            assert invitation.sent_count == self.sent[invitation.pk] <= allowed
            if invitation.status == Invitation.Status.COMPLETED:
                assert invitation.sent_count == allowed

    @invariant()
    def nothing_is_sent_after_a_stop_a_review_an_objection_or_a_cancellation(self) -> None:
        assert self.sent_after_the_end == [], "a message went out after the invitation ended"

    @invariant()
    def every_live_claim_is_held_or_runs_out_with_its_lease(self) -> None:
        held = self.held()
        for invitation in Invitation.objects.exclude(claim_id="").exclude(claim_id__in=held):
            assert invitation.claim_id in self.crashed, "a claim nobody holds"
            assert invitation.claimed_until == self.crashed[invitation.claim_id]


@pytest.fixture
def shop(alice: ShopAccess) -> ShopAccess:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})
    # Short delays, so that most examples have due work: at once (reminders an hour apart),
    # and an hour after a delivery.
    alice.post("/api/v1/event-types/delivery/rules", {"delay_amount": 1, "delay_unit": "hours", "reminder_count": 0})
    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]["id"]
    changes = {"delay_amount": 0, "delay_unit": "minutes", "reminder_count": 2, "reminder_interval_unit": "hours"}
    alice.patch(f"/api/v1/rules/{rule}", changes | {"reminder_interval_amount": 1})
    return alice


def test_the_lifecycle_holds_its_invariants_whatever_happens(shop: ShopAccess) -> None:
    Lifecycle.shop = shop
    run_state_machine_as_test(
        Lifecycle,
        settings=hypothesis_settings(
            max_examples=200, stateful_step_count=50, suppress_health_check=[HealthCheck.function_scoped_fixture]
        ),
    )
