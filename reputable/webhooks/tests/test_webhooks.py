"""Outgoing webhooks end to end: endpoints through the API, messages made by the changes they
tell of, delivered by the dispatcher to a receiver on loopback that verifies each one with the
`standardwebhooks` package."""

import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from reputable.conftest import ShopAccess, SmtpSink, Team, checkout, run_dispatcher, write_review
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.webhooks.dispatch import SCHEDULE
from reputable.webhooks.models import Delivery, Endpoint, Message
from reputable.webhooks.tests.receiver import Answer, Receiver, WebhookVerificationError, receiver

EVERYTHING = ["event.received", "invitation.scheduled", "invitation.sent", "review.created", "reply.created"]


@pytest.fixture
def hooks(settings: Any) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with receiver() as site:
        yield site


def add_endpoint(shop: ShopAccess, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    answer = shop.post("/api/v1/webhook-endpoints", {"url": url, "event_types": event_types or EVERYTHING})
    assert answer.status_code == 201, answer.json()
    return answer.json()


def deliveries(shop: ShopAccess, endpoint_id: int, **query: str) -> list[dict[str, Any]]:
    answer = shop.api.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", query)
    assert answer.status_code == 200, answer.json()
    return answer.json()["items"]


# --- endpoints ----------------------------------------------------------------------------------


def test_an_endpoint_gets_a_whsec_secret_of_32_random_bytes_shown_once(alice: ShopAccess, hooks: Receiver) -> None:
    created = add_endpoint(alice, hooks.url)

    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["event_types"] == sorted(EVERYTHING) and created["disabled"] is False
    listed = alice.api.get("/api/v1/webhook-endpoints").json()
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    assert "secret" not in alice.api.get(f"/api/v1/webhook-endpoints/{created['id']}").json()
    assert add_endpoint(alice, hooks.url)["secret"] != created["secret"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "file:///etc/passwd", "event_types": ["review.created"]}, "url"),
        ({"url": "gopher://example.com/", "event_types": ["review.created"]}, "url"),
        ({"url": "ftp://example.com/", "event_types": ["review.created"]}, "url"),
        ({"url": "https://user:pw@example.com/", "event_types": ["review.created"]}, "url"),
        ({"url": "http://127.0.0.1/", "event_types": ["review.created"]}, "url"),
        ({"url": "http://[::1]/", "event_types": ["review.created"]}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/", "event_types": ["review.created"]}, "url"),
        ({"url": "https://example.com/", "event_types": ["review.eaten"]}, "event_types"),
        ({"url": "https://example.com/", "event_types": []}, "event_types"),
        ({"url": "https://example.com/"}, "event_types"),
        ({"event_types": ["review.created"]}, "url"),
    ],
)
def test_a_bad_endpoint_is_a_422_naming_the_field_and_stores_nothing(
    alice: ShopAccess, body: dict[str, Any], field: str
) -> None:
    answer = alice.post("/api/v1/webhook-endpoints", body)

    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == [field]
    assert Endpoint.objects.count() == 0


def test_a_patch_changes_url_types_and_disabled_and_a_foreign_endpoint_is_a_404(
    alice: ShopAccess, charlie: ShopAccess, hooks: Receiver
) -> None:
    endpoint = add_endpoint(alice, hooks.url)
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"

    changed = alice.patch(path, {"event_types": ["review.created"], "description": "CRM", "disabled": True}).json()
    assert (changed["event_types"], changed["description"], changed["disabled"]) == (["review.created"], "CRM", True)
    assert changed["disabled_reason"] == "disabled by the shop"
    assert alice.patch(path, {"disabled": False}).json()["disabled"] is False
    assert alice.patch(path, {"url": "gopher://x/"}).status_code == 422
    assert charlie.api.get(path).status_code == 404
    assert charlie.patch(path, {"disabled": True}).status_code == 404
    assert charlie.api.delete(path).status_code == 404
    assert charlie.api.get(f"{path}/deliveries").status_code == 404
    assert alice.api.delete(path).status_code == 204
    assert Endpoint.objects.count() == 0


# --- messages, made in the transaction of their change -------------------------------------------


def test_an_event_makes_its_messages_for_the_endpoints_listening_and_each_verifies(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    listening = add_endpoint(alice, hooks.url)
    add_endpoint(alice, hooks.url + "/other", ["dispute.opened"])  # not listening to these

    alice.post("/api/v1/events", checkout(reference="1001"))
    run_dispatcher(dispatcher)

    assert [r.path for r in hooks.received] == ["/hooks", "/hooks"]
    payloads = hooks.verified_by(listening["secret"])
    assert [p["type"] for p in payloads] == ["event.received", "invitation.scheduled"]
    received, scheduled = (p["data"] for p in payloads)
    assert (received["type"], received["reference"], received["outcome"]) == ("checkout", "1001", "scheduled")
    assert scheduled["reference"] == "1001" and scheduled["id"] == received["invitation_id"]
    assert payloads[0]["timestamp"] == "2026-11-23T09:00:00Z"
    assert {r.headers["content-type"] for r in hooks.received} == {"application/json"}
    assert len({r.headers["webhook-id"] for r in hooks.received}) == 2


def test_a_review_and_a_reply_make_their_messages(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["review.created"])
    write_review(alice, "1001", 2, title="Late", body="Two weeks.")
    run_dispatcher(dispatcher)

    (payload,) = hooks.verified_by(endpoint["secret"])
    assert payload["type"] == "review.created"
    data = payload["data"]
    assert (data["rating"], data["title"], data["body"], data["reference"]) == (2, "Late", "Two weeks.", "1001")
    assert data["verified"] is True and data["status"] == "published"


def test_a_change_rolled_back_makes_no_message_and_nobody_listening_makes_none(
    alice: ShopAccess, hooks: Receiver
) -> None:
    from reputable.events.actions import record_events
    from reputable.events.schemas import EventIn

    alice.post("/api/v1/events", checkout(reference="1"))
    assert Message.objects.count() == 0  # no endpoint yet
    add_endpoint(alice, hooks.url)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record_events(shop=alice.shop, events=[EventIn.model_validate(checkout(reference="2"))])
        assert Message.objects.count() > 0
        1 / 0  # noqa: B018 - the change fails after its messages were made

    assert Message.objects.count() == Delivery.objects.count() == 0


def test_a_disabled_endpoint_gets_no_message(alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand) -> None:
    endpoint = add_endpoint(alice, hooks.url)
    alice.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", {"disabled": True})

    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)

    assert hooks.received == [] and Message.objects.count() == 0


# --- the signature ------------------------------------------------------------------------------


def test_the_receiver_rejects_a_changed_body_a_stale_timestamp_and_a_replayed_id(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)
    (request,) = hooks.received
    secret = endpoint["secret"]

    assert request.verify(secret)["type"] == "event.received"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["webhook-timestamp"] == str(int(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC).timestamp()))
    changed = request.body.replace(b"checkout", b"checkouT")
    with pytest.raises(WebhookVerificationError):
        type(request)(request.path, request.headers, changed).verify(secret)
    with pytest.raises(WebhookVerificationError):
        request.verify("whsec_" + base64.b64encode(b"another secret of 32 bytes, abc!").decode())
    now.shift(dt.timedelta(minutes=6))  # past the specification's tolerance of five minutes
    with pytest.raises(WebhookVerificationError, match="too old"):
        request.verify(secret)
    # A receiver keeps the ids it has taken: the same id again is a replay, whatever it signs.
    seen = {request.headers["webhook-id"]}
    assert request.headers["webhook-id"] in seen


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    rotated = alice.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", {}).json()
    assert rotated["secret"] != endpoint["secret"] and rotated["previous_secret_expires_at"] is not None

    alice.post("/api/v1/events", checkout(reference="1"))
    run_dispatcher(dispatcher)
    (during,) = hooks.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verify(endpoint["secret"]) and during.verify(rotated["secret"])
    now.shift(dt.timedelta(hours=24, seconds=1))
    alice.post("/api/v1/events", checkout(reference="2"))
    run_dispatcher(dispatcher)

    after = hooks.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verify(rotated["secret"])
    with pytest.raises(WebhookVerificationError):
        after.verify(endpoint["secret"])


# --- failures and retries -----------------------------------------------------------------------


def test_a_500_is_retried_on_the_schedule_with_jitter_and_the_same_webhook_id(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(500, b"down for maintenance")] * 3
    alice.post("/api/v1/events", checkout())
    start = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)

    run_dispatcher(dispatcher)
    for n, wait in enumerate(SCHEDULE[:3]):
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.tries) == ("pending", n + 1)
        assert wait * 0.9 <= delivery.due_at - timezone.now() <= wait * 1.1
        assert run_dispatcher(dispatcher) == 0  # not before its time
        now.move_to(delivery.due_at)
        run_dispatcher(dispatcher)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.tries, delivery.response_status) == ("succeeded", 4, 200)
    assert len({r.headers["webhook-id"] for r in hooks.received}) == 1
    assert all(r.verify(endpoint["secret"]) for r in hooks.received[-1:])
    (shown,) = deliveries(alice, endpoint["id"])
    assert shown["attempts"] == 4 and shown["status"] == "succeeded"
    assert [t["response_status"] for t in shown["tries"]] == [500, 500, 500, 200]
    assert shown["tries"][0]["response_body"] == "down for maintenance"
    assert Endpoint.objects.get().failing_since is None
    assert delivery.succeeded_at is not None and start < delivery.succeeded_at


def test_a_delivery_is_given_up_after_the_last_try_of_the_schedule(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(500)] * 20
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)
    while (delivery := Delivery.objects.get()).status == "pending":
        now.move_to(delivery.due_at)
        run_dispatcher(dispatcher)

    assert (delivery.status, delivery.tries) == ("failed", 1 + len(SCHEDULE))
    assert delivery.last_error == "Failed: HTTP 500"
    assert Endpoint.objects.get(pk=endpoint["id"]).disabled is False  # a day and a half, not five days


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(302, headers={"Location": "http://127.0.0.1:1/elsewhere"}), "HTTP 302"),
        (Answer(close=True), "RemoteProtocolError"),
        (Answer(400, b"x" * 5000), "HTTP 400"),
    ],
    ids=["redirect not followed", "connection closed", "long body"],
)
def test_a_failed_try_keeps_its_error_status_and_the_first_kilobyte(
    alice: ShopAccess,
    hooks: Receiver,
    dispatcher: DispatchCommand,
    now: time_machine.Traveller,
    answer: Answer,
    error: str,
) -> None:
    add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [answer]
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)

    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.tries == 1 and error in delivery.last_error
    assert len(hooks.received) == 1  # a redirect is an answer, not followed
    assert len(delivery.response_body) <= 1024
    if answer.status == 400:
        assert delivery.response_body == "x" * 1024


def test_a_receiver_slower_than_the_timeout_fails_the_try(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from reputable.webhooks import dispatch

    monkeypatch.setattr(dispatch, "TIMEOUT", 0.3)
    release = threading.Event()
    hooks.plan = [Answer(hang=release)]
    add_endpoint(alice, hooks.url, ["event.received"])
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)
    release.set()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.tries, delivery.response_status) == ("pending", 1, None)
    assert delivery.last_error.startswith("Failed: timed out after")


def test_410_disables_the_endpoint_fails_its_pending_deliveries_and_emails_the_owner(
    alice: ShopAccess,
    team: Team,
    hooks: Receiver,
    dispatcher: DispatchCommand,
    smtp: SmtpSink,
    now: time_machine.Traveller,
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(410, b"gone")]
    alice.post("/api/v1/events/batch", {"events": [checkout(reference="1"), checkout(reference="2")]})

    run_dispatcher(dispatcher)

    shown = alice.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["disabled"] is True and shown["disabled_reason"] == "it answered 410 Gone"
    assert len(hooks.received) == 1
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["failed", "failed"]
    mails = [m for m in smtp.messages if "Webhook" in m["Subject"]]
    assert sorted(m["To"] for m in mails) == sorted([team.alice.email, team.bob["owner"].email])  # the owners
    text = mails[0].get_body(preferencelist=("plain",))
    assert text is not None and hooks.url in text.get_content()


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "120", dt.timedelta(seconds=120)),
        (503, "Mon, 23 Nov 2026 10:00:00 GMT", dt.timedelta(hours=1)),
        (429, "999999", dt.timedelta(days=1)),
    ],
)
def test_429_and_503_are_retried_when_retry_after_says(
    alice: ShopAccess,
    hooks: Receiver,
    dispatcher: DispatchCommand,
    now: time_machine.Traveller,
    status: int,
    retry_after: str,
    wait: dt.timedelta,
) -> None:
    add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(status, headers={"Retry-After": retry_after})]
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)

    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.due_at == dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC) + wait


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_emailed(
    alice: ShopAccess,
    team: Team,
    hooks: Receiver,
    dispatcher: DispatchCommand,
    smtp: SmtpSink,
    now: time_machine.Traveller,
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(500)] * 100
    for day in range(6):
        alice.post("/api/v1/events", checkout(reference=f"day-{day}"))
        run_dispatcher(dispatcher)
        now.shift(dt.timedelta(days=1))
    run_dispatcher(dispatcher)

    shown = alice.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["disabled"] is True and shown["disabled_reason"] == "every try failed for 5 days"
    assert len([m for m in smtp.messages if "Webhook" in m["Subject"]]) == 2  # once to each owner


# --- the delivery log and redelivery -------------------------------------------------------------


def test_a_failed_delivery_is_retried_by_the_api_with_the_same_webhook_id(
    alice: ShopAccess, charlie: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(410)]
    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)
    (failed,) = deliveries(alice, endpoint["id"], status="failed")
    retry = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{failed['id']}/retry"

    assert alice.post(retry, {}).status_code == 409  # the endpoint is disabled
    alice.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", {"disabled": False})
    assert charlie.post(retry, {}).status_code == 404
    answer = alice.post(retry, {})
    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    assert alice.post(retry, {}).status_code == 409  # pending already
    run_dispatcher(dispatcher)

    first, second = hooks.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == failed["message_id"]
    (shown,) = deliveries(alice, endpoint["id"])
    assert shown["status"] == "succeeded" and shown["attempts"] == 2
    assert shown["payload"]["type"] == "event.received"
    assert alice.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries?status=nope").status_code == 422


def test_messages_reach_an_endpoint_in_the_order_they_were_made(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    for n in range(5):
        alice.post("/api/v1/events", checkout(reference=str(n)))
    run_dispatcher(dispatcher)

    assert [p["data"]["reference"] for p in hooks.verified_by(endpoint["secret"])] == ["0", "1", "2", "3", "4"]
    assert json.loads(hooks.received[0].body)["type"] == "event.received"


def test_a_url_with_a_nul_is_a_422(alice: ShopAccess) -> None:
    answer = alice.post(
        "/api/v1/webhook-endpoints", {"url": "http://a\u0000b.example/", "event_types": ["review.created"]}
    )

    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "url"


def test_an_answer_with_a_nul_is_kept_and_the_delivery_recorded(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand
) -> None:
    add_endpoint(alice, hooks.url, ["event.received"])
    hooks.plan = [Answer(200, b"ok\x00fine")]
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)

    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded" and delivery.response_body == "ok\ufffdfine"


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_tries_deadline(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reputable.webhooks import dispatch

    monkeypatch.setattr(dispatch, "TIMEOUT", 0.5)
    hooks.plan = [Answer(200, b"x" * 40, trickle=0.1)]  # each read well within the timeout, 4 s in all
    add_endpoint(alice, hooks.url, ["event.received"])
    alice.post("/api/v1/events", checkout())

    run_dispatcher(dispatcher)

    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_error == "Failed: timed out after 0.5 s"


def test_messages_are_kept_90_days_once_nothing_is_left_to_deliver(
    alice: ShopAccess, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    endpoint = add_endpoint(alice, hooks.url, ["event.received"])
    alice.post("/api/v1/events", checkout(reference="delivered"))
    run_dispatcher(dispatcher)
    hooks.plan = [Answer(500)] * 10
    now.shift(dt.timedelta(days=1))
    alice.post("/api/v1/events", checkout(reference="still trying"))
    run_dispatcher(dispatcher)

    now.shift(dt.timedelta(days=90, hours=1))
    later = DispatchCommand()  # a dispatcher started now sweeps at its first claim
    run_dispatcher(later)
    later.worker.idle()

    assert [p["data"]["reference"] for p in map(json.loads, Message.objects.values_list("body", flat=True))] == [
        "still trying"
    ]
    assert [d["payload"]["data"]["reference"] for d in deliveries(alice, endpoint["id"])] == ["still trying"]
