"""The webhooks pages of the dashboard: endpoints added, changed, rotated and deleted by their
forms, the delivery log with each try, and redelivery; for managers and owners only."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from reputable.conftest import ShopAccess, Team, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.webhooks.models import Delivery, Endpoint
from reputable.webhooks.tests.receiver import Answer, Receiver, receiver

LIST = "/dashboard/alice-teas/webhooks"
SECRET = re.compile(r'value="(whsec_[A-Za-z0-9+/=]+)"')


@pytest.fixture
def hooks(settings: Any) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with receiver() as site:
        yield site


def add(client: Client, url: str, event_types: list[str] | None = None, **fields: str) -> Any:
    return client.post(LIST, {"url": url, "event_types": event_types or ["event.received"], **fields})


def page_of(endpoint: Endpoint) -> str:
    return f"{LIST}/{endpoint.pk}"


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(team: Team, hooks: Receiver) -> None:
    alice = team.client(team.alice)

    answer = add(alice, hooks.url, ["event.received", "review.created"], description="CRM")

    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    endpoint = Endpoint.objects.get()
    (shown,) = SECRET.findall(answer.content.decode())
    assert shown == endpoint.secret
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        hooks.url,
        "CRM",
        ["event.received", "review.created"],
    )
    for later in (alice.get(LIST), alice.get(page_of(endpoint))):
        assert later.status_code == 200
        assert hooks.url in later.content.decode() and endpoint.secret not in later.content.decode()
    assert endpoint.secret not in str(dict(alice.session))


def test_the_section_is_for_managers_and_owners(team: Team, hooks: Receiver) -> None:
    for role in ("viewer", "responder"):
        bob = team.client(team.bob[role])
        assert bob.get(LIST).status_code == 403
        assert add(bob, hooks.url).status_code == 403
        assert b'href="/dashboard/alice-teas/webhooks"' not in bob.get("/dashboard/alice-teas/").content
    assert Endpoint.objects.count() == 0
    manager = team.client(team.bob["manager"])
    assert b'href="/dashboard/alice-teas/webhooks"' in manager.get("/dashboard/alice-teas/").content
    assert add(manager, hooks.url).status_code == 200


def test_an_outsider_gets_a_404_for_each_page_of_alices_endpoint(team: Team, hooks: Receiver) -> None:
    add(team.client(team.alice), hooks.url)
    endpoint = Endpoint.objects.get()
    charlie = team.client(team.charlie)

    for slug in ("alice-teas", "charlie-gadgets"):
        base = f"/dashboard/{slug}/webhooks/{endpoint.pk}"
        assert charlie.get(base).status_code == 404
        for action in ("/rotate-secret", "/delete", "/status"):
            assert charlie.post(base + action, {"status": "disabled"}).status_code == 404
    endpoint.refresh_from_db()
    assert not endpoint.disabled and Endpoint.objects.count() == 1


def test_a_bad_url_shows_the_field_error_and_stores_nothing(team: Team) -> None:
    alice = team.client(team.alice)

    answer = add(alice, "gopher://x")

    assert answer.status_code == 400
    assert Endpoint.objects.count() == 0
    assert 'aria-invalid="true"' in answer.content.decode()
    assert "whsec_" not in answer.content.decode()
    no_types = alice.post(LIST, {"url": "https://crm.example.com/hooks"})
    assert no_types.status_code == 400 and b"must name at least one event type" in no_types.content
    assert Endpoint.objects.count() == 0


def test_the_log_shows_a_failed_delivery_and_redeliver_makes_it_pending_with_the_same_message(
    alice: ShopAccess, team: Team, hooks: Receiver, dispatcher: DispatchCommand, now: time_machine.Traveller
) -> None:
    owner = team.client(team.alice)
    add(owner, hooks.url)
    endpoint = Endpoint.objects.get()
    hooks.plan = [Answer(410, body=b"<b>gone</b>")]
    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)
    failed = Delivery.objects.select_related("message").get()

    shown = owner.get(page_of(endpoint)).content.decode()
    assert failed.status == Delivery.Status.FAILED
    assert failed.message.uid in shown and "event.received" in shown
    assert "&lt;b&gt;gone&lt;/b&gt;" in shown and "<b>gone</b>" not in shown  # the body, escaped
    assert "410" in shown and "Redeliver" in shown
    redeliver = f"{page_of(endpoint)}/deliveries/{failed.pk}/redeliver"

    owner.post(redeliver)  # the endpoint was disabled by the 410: refused
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    owner.post(f"{page_of(endpoint)}/status", {"status": "enabled"})
    assert owner.post(redeliver).status_code == 302

    again = Delivery.objects.select_related("message").get()
    assert again.status == Delivery.Status.PENDING and again.message.uid == failed.message.uid
    run_dispatcher(dispatcher)
    assert [r.headers["webhook-id"] for r in hooks.received] == [failed.message.uid] * 2
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED


def test_rotating_shows_a_new_secret_once_and_the_old_one_signs_beside_it(team: Team, hooks: Receiver) -> None:
    alice = team.client(team.alice)
    add(alice, hooks.url)
    endpoint = Endpoint.objects.get()
    old = endpoint.secret

    answer = alice.post(f"{page_of(endpoint)}/rotate-secret")

    endpoint.refresh_from_db()
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    assert SECRET.findall(answer.content.decode()) == [endpoint.secret]
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret not in alice.get(page_of(endpoint)).content.decode()


def test_the_endpoint_page_changes_disables_and_deletes_it(team: Team, hooks: Receiver) -> None:
    alice = team.client(team.alice)
    add(alice, hooks.url)
    endpoint = Endpoint.objects.get()

    changed = alice.post(
        page_of(endpoint), {"url": hooks.url + "/v2", "event_types": ["review.created"], "description": "ERP"}
    )
    assert changed.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (hooks.url + "/v2", ["review.created"], "ERP")
    assert alice.post(page_of(endpoint), {"url": "gopher://x", "event_types": ["review.created"]}).status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == hooks.url + "/v2"

    alice.post(f"{page_of(endpoint)}/status", {"status": "disabled"})
    endpoint.refresh_from_db()
    assert endpoint.disabled and endpoint.disabled_reason == "disabled by the shop"
    assert b"Enable" in alice.get(page_of(endpoint)).content

    assert alice.post(f"{page_of(endpoint)}/delete").status_code == 302
    assert Endpoint.objects.count() == 0
