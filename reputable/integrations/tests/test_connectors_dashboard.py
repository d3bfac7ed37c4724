"""The connectors page of the dashboard: connect a platform and see its secret once, pause,
resume, remap, delete, read what arrived; viewers see it, outsiders find nothing."""

from typing import Any

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, Team
from reputable.events.models import Event, EventType
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.connapi_support import deliver, fake_connector, fake_platform, order

pytestmark = pytest.mark.usefixtures("now", "english")
__all__ = ["fake_platform"]  # a fixture of these tests

PAGE = "/dashboard/alice-teas/connectors"


@pytest.fixture
def english(alice: ShopAccess) -> None:
    alice.shop.default_locale = "en"
    alice.shop.save(update_fields=["default_locale"])


@pytest.fixture
def owner(team: Team) -> Client:
    return team.client(team.alice)


def test_alice_connects_woocommerce_and_sees_its_secret_on_that_answer_only(owner: Client) -> None:
    answer = owner.post(PAGE, {"platform": "woocommerce"})

    assert answer.status_code == 200
    connector = Connector.objects.get()
    created = answer.content.decode()
    assert connector.secret in created
    assert f"http://localhost:8000/connectors/{connector.key}/" in created
    assert "no-cache" in answer["Cache-Control"]
    listed = owner.get(PAGE).content.decode()
    assert f"http://localhost:8000/connectors/{connector.key}/" in listed
    assert connector.secret not in listed


def test_a_shopify_connector_without_its_secret_is_refused_on_the_form_and_nothing_is_stored(owner: Client) -> None:
    answer = owner.post(PAGE, {"platform": "shopify"})

    assert answer.status_code == 400
    assert "Shopify&#x27;s webhook signing secret is required" in answer.content.decode()
    assert not Connector.objects.exists()


def test_alice_pauses_a_connector_whose_deliveries_are_then_dropped_and_resumes_it(
    alice: ShopAccess, owner: Client, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    status_url = f"{PAGE}/{connector.pk}/status"

    paused = owner.post(status_url, {"status": "paused"}, follow=True)

    assert "The connector is paused" in paused.content.decode()
    assert deliver(connector, order("F-1")).json() == {"status": "paused"}
    assert not Event.objects.exists()
    owner.post(status_url, {"status": "active"})
    assert deliver(connector, order("F-1")).json()["status"] == "recorded"
    owner.post(status_url, {"status": "failed"})  # not the merchant's to set
    connector.refresh_from_db()
    assert connector.status == "active"


def test_alice_remaps_a_stage_and_the_next_delivery_records_that_event_type(
    alice: ShopAccess, owner: Client, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    EventType.objects.create(shop=alice.shop, key="picked_up", name="Picked up")
    prefix = f"connector-{connector.pk}"

    answer = owner.post(f"{PAGE}/{connector.pk}/mapping", {f"{prefix}-paid": "picked_up", f"{prefix}-shipped": ""})

    assert answer.status_code == 302
    connector.refresh_from_db()
    assert connector.mapping == {"paid": "picked_up", "shipped": ""}
    deliver(connector, order("F-1", "paid"))
    deliver(connector, order("F-1", "shipped"))
    assert [e.event_type.key for e in Event.objects.all()] == ["picked_up"]


def test_a_remapping_to_an_event_type_the_shop_lacks_is_refused_and_changes_nothing(
    alice: ShopAccess, owner: Client, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)

    answer = owner.post(f"{PAGE}/{connector.pk}/mapping", {f"connector-{connector.pk}-paid": "no_such_type"})

    assert answer.status_code == 400
    assert "Nothing is changed yet" in answer.content.decode()
    connector.refresh_from_db()
    assert connector.mapping == {}


def test_alice_deletes_a_connector_and_its_address_takes_nothing_more(
    alice: ShopAccess, owner: Client, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    deliver(connector, order("F-1"))

    answer = owner.post(f"{PAGE}/{connector.pk}/delete", follow=True)

    assert answer.redirect_chain == [(PAGE, 302)]
    assert "connector is deleted" in answer.content.decode()
    assert not Connector.objects.exists() and not Delivery.objects.exists()
    assert deliver(connector, order("F-2")).status_code == 404


def test_the_page_shows_the_latest_deliveries_with_their_outcome_and_message(
    alice: ShopAccess, owner: Client, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    deliver(connector, order("F-1"))
    deliver(connector, b"<not json>")

    page = owner.get(PAGE).content.decode()
    log = owner.get(f"{PAGE}/{connector.pk}/deliveries").content.decode()

    for shown in (page, log):
        assert "F-1" in shown and "Recorded" in shown
        assert "Failed" in shown and "not JSON" in shown
    assert "1 failed delivery in the last 7 days." in page


def test_a_viewer_sees_the_connectors_and_changes_none(alice: ShopAccess, team: Team, fake_platform: Any) -> None:
    connector = fake_connector(alice.shop)
    viewer = team.client(team.bob["viewer"])

    page = viewer.get(PAGE)

    assert page.status_code == 200
    assert connector.key in page.content.decode()
    assert "Pause" not in page.content.decode() and "Connect a shop system" not in page.content.decode()
    assert viewer.post(f"{PAGE}/{connector.pk}/status", {"status": "paused"}).status_code == 403
    assert viewer.post(f"{PAGE}/{connector.pk}/delete").status_code == 403
    assert viewer.post(PAGE, {"platform": "woocommerce"}).status_code == 403
    assert Connector.objects.get().status == "active"


def test_an_outsider_finds_neither_the_page_nor_alices_connector(
    alice: ShopAccess, team: Team, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    charlie = team.client(team.charlie)

    assert charlie.get(PAGE).status_code == 404
    assert charlie.post(f"/dashboard/charlie-gadgets/connectors/{connector.pk}/delete").status_code == 404
    assert charlie.get(f"/dashboard/charlie-gadgets/connectors/{connector.pk}/deliveries").status_code == 404
    assert Connector.objects.exists()
