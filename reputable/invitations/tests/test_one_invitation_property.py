"""Property: whatever events arrive, however often, with dispatch passes and time passing in
between, a transaction gets at most one invitation plus its configured reminders, nothing
after a stop event, and nothing to an address that objected."""

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reputable.conftest import MONDAY, ShopAccess, checkout
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.models import Invitation

REFERENCES = ["1", "2", "3"]
EMAILS = ["ann@example.com", "ben@example.com"]

post_event = st.tuples(
    st.just("post"),
    st.sampled_from(["checkout", "delivery", "return", "cancel"]),
    st.sampled_from(REFERENCES),
    st.sampled_from(EMAILS),
)
post_batch = st.tuples(st.just("batch"), st.lists(st.sampled_from(REFERENCES), min_size=1, max_size=4))
dispatch = st.tuples(st.just("dispatch"))
clock = st.tuples(st.just("clock"), st.integers(min_value=1, max_value=60 * 24 * 10))  # minutes
objection = st.tuples(st.just("unsubscribe"), st.sampled_from(REFERENCES))
steps = st.lists(st.one_of(post_event, post_batch, dispatch, clock, objection), min_size=1, max_size=25)


@pytest.fixture
def shop(alice: ShopAccess) -> ShopAccess:
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})
    alice.post(
        "/api/v1/event-types/delivery/rules",
        {"delay_amount": 1, "delay_unit": "days", "reminder_count": 2, "reminder_interval_amount": 2},
    )
    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]["id"]
    alice.patch(f"/api/v1/rules/{rule}", {"delay_amount": 3, "delay_unit": "hours", "reminder_interval_amount": 1})
    return alice


# Each example runs in a savepoint that is rolled back, so the shared shop stays as set up.
@hypothesis_settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_at_most_one_invitation_and_its_reminders_per_transaction(shop: ShopAccess, steps: list[Any]) -> None:
    savepoint = transaction.savepoint_create()
    mail.outbox.clear()
    stopped_at: dict[str, int] = {}  # reference -> number of messages when its stop event came
    objected: dict[str, int] = {}  # address -> number of messages to it when it objected
    try:
        with time_machine.travel(MONDAY, tick=False) as clock:
            dispatcher = Command()
            for step in steps:
                if step[0] == "post":
                    _, kind, ref, email = step
                    shop.post("/api/v1/events", checkout(ref, type=kind, customer={"email": email}))
                    if kind in ("return", "cancel"):
                        stopped_at.setdefault(ref, sent_for(ref))
                elif step[0] == "batch":
                    shop.post("/api/v1/events/batch", {"events": [checkout(ref) for ref in step[1]]})
                elif step[0] == "dispatch":
                    while dispatcher.handle_one():
                        pass
                elif step[0] == "clock":
                    clock.shift(dt.timedelta(minutes=step[1]))
                else:
                    invitation = Invitation.objects.filter(transaction__reference=step[1]).first()
                    if invitation is not None:
                        Client().post(f"/u/{invitation.token}")
                        objected.setdefault(invitation.email, sent_to(invitation.email))

        per_transaction = Counter(m.extra_headers["Message-ID"].split("-step-")[0] for m in mail.outbox)
        for invitation in Invitation.objects.select_related("rule", "transaction"):
            allowed = 1 + (invitation.rule.reminder_count if invitation.rule else 0)
            assert per_transaction[f"<invitation-{invitation.pk}"] == invitation.sent_count <= allowed
        assert sum(per_transaction.values()) == len(mail.outbox)
        assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == len(mail.outbox)
        for ref, before in stopped_at.items():
            assert sent_for(ref) == before
        for email, before in objected.items():
            assert sent_to(email) == before
    finally:
        transaction.savepoint_rollback(savepoint)


def sent_for(reference: str) -> int:
    invitation = Invitation.objects.filter(transaction__reference=reference).first()
    if invitation is None:
        return 0
    return sum(1 for m in mail.outbox if m.extra_headers["Message-ID"].startswith(f"<invitation-{invitation.pk}-"))


def sent_to(address: str) -> int:
    return sum(1 for m in mail.outbox if m.to == [address])
