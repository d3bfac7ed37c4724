"""Connectors through the API: /api/v1/connectors and their delivery log."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from reputable.conftest import ShopAccess
from reputable.events.models import Event, EventType
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.connapi_support import deliver, fake_connector, fake_platform, order
from reputable.shops.models import ApiKey

pytestmark = pytest.mark.usefixtures("now")
__all__ = ["fake_platform"]  # a fixture of these tests

DELIVERY_URL = "http://localhost:8000/connectors/"


def connectors(shop: ShopAccess) -> list[dict[str, Any]]:
    response = shop.api.get("/api/v1/connectors")
    assert response.status_code == 200
    return response.json()


def test_a_shopify_connector_keeps_the_secret_shopify_made_and_shows_it_once(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/connectors", {"platform": "shopify", "secret": "shpss_from_shopify"})

    assert response.status_code == 201
    body = response.json()
    connector = Connector.objects.get()
    assert (body["id"], body["platform"], body["status"]) == (connector.pk, "shopify", "active")
    assert body["secret"] == connector.secret == "shpss_from_shopify"
    assert body["url"] == f"{DELIVERY_URL}{connector.key}/"
    assert "secret" not in connectors(alice)[0]
    assert "secret" not in alice.api.get(f"/api/v1/connectors/{connector.pk}").json()


def test_a_woocommerce_connector_gets_a_secret_made_here(alice: ShopAccess) -> None:
    body = alice.post("/api/v1/connectors", {"platform": "woocommerce"}).json()

    connector = Connector.objects.get()
    assert len(body["secret"]) >= 40 and body["secret"] == connector.secret
    assert body["url"] == f"{DELIVERY_URL}{connector.key}/"
    assert "secret" not in connectors(alice)[0]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"platform": "shopify"}, ["secret"]),
        ({"platform": "magento2"}, ["base_url", "access_token"]),
        ({"platform": "magento2", "base_url": "ftp://shop.example", "access_token": "t"}, ["base_url"]),
        ({"platform": "magento2", "base_url": "http://10.0.0.5", "access_token": "t"}, ["base_url"]),
        ({"platform": "prestashop"}, ["platform"]),
        ({}, ["platform"]),
    ],
)
def test_a_connector_the_domain_refuses_gets_422_naming_the_fields_and_nothing_is_stored(
    alice: ShopAccess, payload: dict[str, str], fields: list[str]
) -> None:
    response = alice.post("/api/v1/connectors", payload)

    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == fields
    assert not Connector.objects.exists()


def test_the_list_shows_the_effective_mapping_the_last_delivery_and_the_recent_failures(
    alice: ShopAccess, fake_platform: Any, now: time_machine.Traveller
) -> None:
    connector = fake_connector(alice.shop)
    connector.mapping = {"shipped": ""}
    connector.save()
    assert deliver(connector, b"not json").status_code == 200  # failed, 8 days ago: not recent
    now.shift(dt.timedelta(days=8))
    deliver(connector, b"still not json")
    deliver(connector, order("F-1"))

    [listed] = connectors(alice)

    assert listed["mapping"] == {"paid": "checkout", "shipped": ""}
    assert listed["last_delivery_at"] == "2026-12-01T09:00:00Z"
    assert listed["recent_failures"] == 1
    assert listed["last_error"] == ""


def test_a_paused_connector_drops_deliveries_and_a_resumed_one_takes_them(
    alice: ShopAccess, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)

    paused = alice.patch(f"/api/v1/connectors/{connector.pk}", {"status": "paused"})
    dropped = deliver(connector, order("F-1"))

    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert dropped.json() == {"status": "paused"}
    assert not Event.objects.exists() and not Delivery.objects.exists()

    assert alice.patch(f"/api/v1/connectors/{connector.pk}", {"status": "active"}).json()["status"] == "active"
    assert deliver(connector, order("F-1")).json() == {"status": "recorded", "events": 1}
    assert Event.objects.get().transaction.reference == "F-1"


def test_a_remapped_stage_records_the_event_type_it_is_mapped_to_or_nothing(
    alice: ShopAccess, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    EventType.objects.create(shop=alice.shop, key="picked_up", name="Picked up")

    response = alice.patch(f"/api/v1/connectors/{connector.pk}", {"mapping": {"paid": "", "shipped": "picked_up"}})

    assert response.json()["mapping"] == {"paid": "", "shipped": "picked_up"}
    assert deliver(connector, order("F-1", "paid")).json()["status"] == "ignored"
    assert deliver(connector, order("F-1", "shipped")).json()["status"] == "recorded"
    assert [e.event_type.key for e in Event.objects.all()] == ["picked_up"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"mapping": {"refunded": "return"}}, "mapping.refunded"),
        ({"mapping": {"paid": "no_such_type"}}, "mapping.paid"),
        ({"mapping": {"paid": None}}, "mapping.paid"),
        ({"status": "failed"}, "status"),
        ({"status": "paused", "mapping": {"paid": "no_such_type"}}, "mapping.paid"),
    ],
)
def test_a_change_the_domain_refuses_gets_422_naming_the_field_and_changes_nothing(
    alice: ShopAccess, fake_platform: Any, patch: dict[str, Any], field: str
) -> None:
    connector = fake_connector(alice.shop)

    response = alice.patch(f"/api/v1/connectors/{connector.pk}", patch)

    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == [field]
    connector.refresh_from_db()
    assert (connector.status, connector.mapping) == ("active", {})


def test_a_deleted_connector_is_gone_with_its_log_and_its_url_takes_nothing(
    alice: ShopAccess, fake_platform: Any
) -> None:
    connector = fake_connector(alice.shop)
    deliver(connector, order("F-1"))

    response = alice.api.delete(f"/api/v1/connectors/{connector.pk}")

    assert response.status_code == 204
    assert not Connector.objects.exists() and not Delivery.objects.exists()
    assert deliver(connector, order("F-2")).status_code == 404
    assert Event.objects.count() == 1  # what it recorded stays


def test_deliveries_are_listed_newest_first_a_page_at_a_time(alice: ShopAccess, fake_platform: Any) -> None:
    connector = fake_connector(alice.shop)
    for reference in ("F-1", "F-2", "F-3"):
        deliver(connector, order(reference))
    url = f"/api/v1/connectors/{connector.pk}/deliveries"

    first = alice.api.get(url, {"limit": 2}).json()
    second = alice.api.get(url, {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [d["references"] for d in first["items"]] == [["F-3"], ["F-2"]]
    assert first["items"][0] | {"id": 0} == {
        "id": 0,
        "received_at": "2026-11-23T09:00:00Z",
        "topic": "order",
        "outcome": "recorded",
        "references": ["F-3"],
        "events": 1,
        "message": "",
    }
    assert ([d["references"] for d in second["items"]], second["next_cursor"]) == ([["F-1"]], None)
    bad = alice.api.get(url, {"cursor": "42"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "cursor"


def test_another_shops_connector_is_not_found(alice: ShopAccess, charlie: ShopAccess, fake_platform: Any) -> None:
    connector = fake_connector(alice.shop)
    url = f"/api/v1/connectors/{connector.pk}"

    assert charlie.api.get(url).status_code == 404
    assert charlie.patch(url, {"status": "paused"}).status_code == 404
    assert charlie.api.delete(url).status_code == 404
    assert charlie.api.get(f"{url}/deliveries").status_code == 404
    assert connectors(charlie) == []
    connector.refresh_from_db()
    assert connector.status == "active"


def test_a_read_key_sees_the_connectors_and_changes_none(alice: ShopAccess, fake_platform: Any) -> None:
    connector = fake_connector(alice.shop)
    _key, raw = ApiKey.issue(shop=alice.shop, name="reader", scopes=["read"])
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert reader.get("/api/v1/connectors").status_code == 200
    refused = reader.patch(f"/api/v1/connectors/{connector.pk}", {"status": "paused"}, content_type="application/json")
    assert refused.status_code == 403
    assert (
        reader.post("/api/v1/connectors", {"platform": "woocommerce"}, content_type="application/json").status_code
        == 403
    )
    assert Connector.objects.get().status == "active"
