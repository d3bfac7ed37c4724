"""API keys, the shop's settings, and tenant scoping."""

from typing import Any

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, checkout
from reputable.shops.models import ApiKey

pytestmark = pytest.mark.usefixtures("now")


def test_keys_are_stored_hashed_with_a_visible_prefix(alice: ShopAccess) -> None:
    key = ApiKey.objects.get(shop=alice.shop)

    assert alice.key.startswith(key.prefix)
    assert alice.key not in (key.hashed_key, key.prefix)
    assert len(alice.key) >= 40


def test_a_new_key_is_shown_once_and_listed_by_prefix_only(alice: ShopAccess) -> None:
    created = alice.post("/api/v1/api-keys", {"name": "ERP"})

    assert created.status_code == 201
    raw = created.json()["key"]
    listed = alice.api.get("/api/v1/api-keys").json()
    assert [k["name"] for k in listed] == ["first key", "ERP"]
    assert raw not in str(listed)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/shop").json()["slug"] == "alice-teas"


def test_a_revoked_key_gets_401_at_once(alice: ShopAccess) -> None:
    spare = alice.post("/api/v1/api-keys", {"name": "spare"}).json()

    assert alice.api.delete(f"/api/v1/api-keys/{spare['id']}").status_code == 204
    response = Client(HTTP_AUTHORIZATION=f"Bearer {spare['key']}").post(
        "/api/v1/events", checkout(), content_type="application/json"
    )
    assert response.status_code == 401
    assert alice.api.get("/api/v1/shop").status_code == 200  # the other key still works


def test_another_shops_objects_are_404(alice: ShopAccess, charlie: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout("A-1"))
    alice_rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]["id"]
    alice_key = alice.api.get("/api/v1/api-keys").json()[0]["id"]

    assert charlie.api.get("/api/v1/transactions/A-1").status_code == 404
    assert charlie.patch(f"/api/v1/rules/{alice_rule}", {"delay_amount": 1}).status_code == 404
    assert charlie.api.delete(f"/api/v1/api-keys/{alice_key}").status_code == 404
    assert charlie.api.get("/api/v1/shop").json()["slug"] == "charlie-gadgets"
    assert alice.api.get("/api/v1/transactions/A-1").status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"default_locale": "fr"}, "default_locale"),
        ({"reply_to": "nope"}, "reply_to"),
        ({"frequency_cap_days": -1}, "frequency_cap_days"),
        ({"name": None}, "name"),
    ],
)
def test_invalid_shop_settings_are_rejected_naming_the_field(
    alice: ShopAccess, change: dict[str, Any], field: str
) -> None:
    response = alice.patch("/api/v1/shop", change)

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == field
    assert alice.api.get("/api/v1/shop").json()["country"] == "DE"


def test_the_openapi_document_is_served(db: None) -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    assert "/api/v1/events" in schema["paths"]
    assert Client().get("/api/v1/docs").status_code == 200
