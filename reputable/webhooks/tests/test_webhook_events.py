"""Each event type is made by the change it names, in that change's transaction, with the data
the catalogue promises; an endpoint gets only the types it listens to."""

from typing import Any

import pytest
import time_machine
from django.utils import timezone

from reputable.conftest import (
    ShopAccess,
    SmtpSink,
    Team,
    checkout,
    free_port,
    moderator,
    run_dispatcher,
    write_review,
)
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.invitations.actions import suppress_address
from reputable.invitations.models import Invitation
from reputable.moderation import actions as moderation
from reputable.reviews import actions as reviews
from reputable.webhooks.events import EVENT_TYPES
from reputable.webhooks.models import Message

pytestmark = pytest.mark.usefixtures("now")


def listen(shop: ShopAccess, *event_types: str) -> None:
    body = {"url": "https://hooks.example.com/reputable", "event_types": list(event_types)}
    assert shop.post("/api/v1/webhook-endpoints", body).status_code == 201


def told(event_type: str) -> list[dict[str, Any]]:
    import json

    return [json.loads(m.body)["data"] for m in Message.objects.filter(event_type=event_type).order_by("pk")]


def test_an_invitation_sent_and_a_reminder_are_told(
    alice: ShopAccess, dispatcher: DispatchCommand, smtp: SmtpSink, now: time_machine.Traveller
) -> None:
    listen(alice, "invitation.sent")
    alice.post("/api/v1/events", checkout(transaction={"reference": "1", "date": "2026-11-01T08:00:00Z"}))

    run_dispatcher(dispatcher)

    (sent,) = told("invitation.sent")
    assert (sent["reference"], sent["step"], sent["reminders_left"]) == ("1", "invitation", True)
    assert sent["id"] == Invitation.objects.get().pk and len(smtp.messages) == 1


def test_an_invitation_given_up_on_is_told_with_its_error(
    alice: ShopAccess, dispatcher: DispatchCommand, settings: Any
) -> None:
    settings.DISPATCH_MAX_ATTEMPTS = 1
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},  # nobody listens
        }
    }
    listen(alice, "invitation.failed", "invitation.sent")
    alice.post("/api/v1/events", checkout(transaction={"reference": "1", "date": "2026-11-01T08:00:00Z"}))

    run_dispatcher(dispatcher)

    (failed,) = told("invitation.failed")
    assert failed["reference"] == "1" and "Connection refused" in failed["error"]
    assert told("invitation.sent") == []


def test_a_stop_event_and_a_suppression_are_told(alice: ShopAccess) -> None:
    listen(alice, "invitation.cancelled", "invitation.suppressed", "event.received")
    second = checkout(reference="2", customer={"email": "b@example.nl", "first_name": "Bea"})
    alice.post("/api/v1/events/batch", {"events": [checkout(reference="1"), second]})

    alice.post("/api/v1/events", checkout(reference="1", type="return"))
    suppress_address(email="b@example.nl", reason="objection", shop=alice.shop)

    (cancelled,) = told("invitation.cancelled")
    (suppressed,) = told("invitation.suppressed")
    assert (cancelled["reference"], cancelled["status"]) == ("1", "cancelled")
    assert (suppressed["reference"], suppressed["status"]) == ("2", "suppressed")
    assert [e["type"] for e in told("event.received")] == ["checkout", "checkout", "return"]


def test_a_review_edited_replied_to_written_about_and_removed_is_told(alice: ShopAccess, team: Team) -> None:
    listen(alice, "review.updated", "review.removed", "reply.created", "reply.updated", "message.received")
    review = write_review(alice, "1", 4, title="Good", body="Fine tea.")
    owner = team.alice

    reviews.reply_to_review(review=review, body="Thank you!", author=owner, now=timezone.now())
    reviews.reply_to_review(review=review, body="Thank you, Jan!", author=owner, now=timezone.now())
    reviews.write_to_reviewer(review=review, body="May we send a sample?", author=owner, now=timezone.now())
    review.refresh_from_db()
    reviews.write_to_shop(review=review, body="Yes please.", now=timezone.now())
    reviews.redact_review(review=review, passage="Fine", ground="personal_data", now=timezone.now())
    reviews.remove_review(review=review, ground="not_a_customer", origin="reviewer", now=timezone.now())

    assert [r["body"] for r in told("reply.created") + told("reply.updated")] == ["Thank you!", "Thank you, Jan!"]
    (message,) = told("message.received")
    assert (message["review_id"], message["body"]) == (review.pk, "Yes please.")
    (updated,) = told("review.updated")
    assert updated["body"] == f"{reviews.REDACTED} tea."
    (removed,) = told("review.removed")
    assert (removed["status"], removed["ground"]) == ("removed", "not_a_customer")
    assert "body" not in removed and "author_name" not in removed  # only what the stub says


def test_a_dispute_opened_and_decided_is_told(alice: ShopAccess, team: Team) -> None:
    listen(alice, "dispute.opened", "dispute.decided")
    review = write_review(alice, "1", 1, body="Never ordered, just angry.")
    owner = team.alice
    judge = moderator("judge@reputable.test")

    now = timezone.now()
    dispute = moderation.open_dispute(
        review=review,
        user=owner,
        reason="not_a_customer",
        passage="",
        explanation="We have no order of this person at all.",
        good_faith=True,
        now=now,
    )
    moderation.triage(dispute=dispute, moderator=judge, admissible=True, note="", now=now)
    moderation.answer(dispute=dispute, statement="I did order.", evidence=[], now=now)
    moderation.rebut(dispute=dispute, user=owner, text="No such order in our books.", now=now)
    moderation.decide(dispute=dispute, moderator=judge, measure="kept", explanation="The order is shown.", now=now)

    (opened,) = told("dispute.opened")
    (decided,) = told("dispute.decided")
    assert (opened["id"], opened["review_id"], opened["reason"]) == (dispute.pk, review.pk, "not_a_customer")
    assert (decided["id"], decided["measure"], decided["appeal"]) == (dispute.pk, "kept", False)


def test_the_api_lists_every_event_type_in_its_schema(alice: ShopAccess) -> None:
    description = alice.api.get("/api/v1/openapi.json").json()["components"]["schemas"]["EndpointIn"]
    listed = description["properties"]["event_types"]["description"]
    assert all(f"`{event_type}`" in listed for event_type in EVENT_TYPES)


def test_an_erasure_takes_the_address_out_of_the_messages_made(alice: ShopAccess, team: Team) -> None:
    from reputable.privacy.tests.helpers import search_every_text_column

    listen(alice, *EVENT_TYPES)
    review = write_review(alice, "1", 4, customer={"email": "jan.visser@example.nl", "first_name": "Jan"})
    reviews.write_to_reviewer(review=review, body="May we call you?", author=team.alice, now=timezone.now())
    review.refresh_from_db()
    reviews.write_to_shop(review=review, body="Write to jan.visser@example.nl instead.", now=timezone.now())
    assert "webhooks.Message.body" in search_every_text_column("jan.visser@example.nl")

    answer = alice.post("/api/v1/privacy/erasure", {"email": "jan.visser@example.nl", "review": "anonymise"})

    assert answer.status_code in (200, 201)
    assert search_every_text_column("jan.visser@example.nl") == []
    assert "Write to […] instead." in told("message.received")[0]["body"]


def test_an_order_checked_out_and_returned_in_one_batch_tells_of_its_invitation_cancelled(alice: ShopAccess) -> None:
    listen(alice, "invitation.scheduled", "invitation.cancelled")
    events = [checkout(reference="7"), checkout(reference="7", type="return")]

    alice.post("/api/v1/events/batch", {"events": events})

    (scheduled,) = told("invitation.scheduled")
    (cancelled,) = told("invitation.cancelled")
    assert scheduled["id"] == cancelled["id"] == Invitation.objects.get().pk
    assert Invitation.objects.get().status == cancelled["status"] == "cancelled"
