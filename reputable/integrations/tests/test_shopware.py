"""Shopware 6 as an app: the connector's app archive, the registration handshake as Shopware's
AppRegistrationService performs it (signatures computed here as Shopware documents them:
hex HMAC-SHA256 of the query string with the app secret, the proof over shop id, shop URL and
app name, the confirmation body signed with the shop secret), and the order webhooks in
Shopware's envelope, signed in `shopware-shop-signature`, deduplicated on `source.eventId`.
The order is the fixture's (tests/fixtures/shopware6): a whole serialized order entity."""

import datetime as dt
import hashlib
import hmac
import io
import itertools
import json
import xml.etree.ElementTree as ET
import zipfile
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, Team
from reputable.events.models import Event, Transaction
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.fbc_support import stored
from reputable.integrations.tests.shopify_support import FIXTURES, invite_on_delivery, logged

pytestmark = pytest.mark.usefixtures("now")

SHOP_ID, SHOP_URL = "dgrH7nLU6tlE", "https://alice-teas.example"
ORDER = json.loads((FIXTURES / "shopware6/app-php-sdk__payment.json").read_text())["order"]
PRODUCT_WRITTEN = json.loads((FIXTURES / "shopware6/docs__webhook_envelope_product_written.json").read_text())
_event_ids = itertools.count(1)


def hex_hmac(secret: str, message: bytes | str) -> str:
    raw = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def created(alice: ShopAccess) -> dict[str, Any]:
    """Alice connects Shopware through the API: the answer carries the app secret."""
    answer = alice.post("/api/v1/connectors", {"platform": "shopware6"})
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def connector_of(created: dict[str, Any]) -> Connector:
    return Connector.objects.get(pk=created["id"])


def register(
    connector: Connector,
    *,
    shop_id: str = SHOP_ID,
    shop_url: str = SHOP_URL,
    timestamp: int | None = None,
    app_secret: str | None = None,
    shop_secret: str = "",
) -> Any:
    """Shopware's registration request: GET with the query signed in shopware-app-signature
    (and, re-registering, in shopware-shop-signature with the shop's current secret)."""
    query = urlencode(
        {"shop-id": shop_id, "shop-url": shop_url, "timestamp": timestamp or int(dt.datetime.now(dt.UTC).timestamp())}
    )
    headers = {
        "shopware-app-signature": hex_hmac(app_secret or connector.secret, query),
        "sw-version": "6.6.9.0",
        "sw-context-language": "2fbb5fe2e29a4d70aa5854ce7ce3e20b",
        "sw-user-language": "en-GB",
    }
    if shop_secret:
        headers["shopware-shop-signature"] = hex_hmac(shop_secret, query)
    return Client().get(f"/connectors/{connector.key}/shopware/register?{query}", headers=headers)


def confirm(answer: dict[str, Any], *, shop_id: str = SHOP_ID, secret: str | None = None, **changes: Any) -> Any:
    """Shopware's confirmation: its API credentials, posted to the confirmation URL it was
    given, the body signed with the shop secret it was given."""
    body = json.dumps(
        {
            "apiKey": "SWIAQWXRSWLWRHNWAMNRZ1NPRQ",
            "secretKey": "c2VjcmV0LWtleS1vZi10aGUtaW50ZWdyYXRpb24",
            "timestamp": str(int(dt.datetime.now(dt.UTC).timestamp())),
            "shopUrl": SHOP_URL,
            "shopId": shop_id,
            **changes,
        }
    ).encode()
    headers = {"shopware-shop-signature": hex_hmac(secret or answer["secret"], body)}
    path = urlsplit(answer["confirmation_url"]).path
    return Client().post(path, body, content_type="application/json", headers=headers)


@pytest.fixture
def registered(created: dict[str, Any]) -> str:
    """The app installed and confirmed: the shop's secret."""
    answer = register(connector_of(created))
    assert answer.status_code == 200, answer.content
    assert confirm(answer.json()).status_code == 204
    return str(answer.json()["secret"])


def envelope(event: str, order: dict[str, Any] | None = None, *, event_id: str = "", shop_id: str = SHOP_ID) -> bytes:
    """A webhook as Shopware's WebhookDispatcher sends it."""
    return json.dumps(
        {
            "data": {"payload": {"order": order if order is not None else ORDER}, "event": event},
            "source": {
                "url": SHOP_URL,
                "appVersion": "1.0.0",
                "shopId": shop_id,
                "eventId": event_id or f"{next(_event_ids):032x}",
            },
            "timestamp": int(dt.datetime.now(dt.UTC).timestamp()),
        }
    ).encode()


def deliver(connector: Connector, body: bytes, *, secret: str | None, signature: str | None = None) -> Any:
    headers = {"sw-version": "6.6.9.0"}
    if secret is not None:
        headers["shopware-shop-signature"] = signature or hex_hmac(secret, body)
    return Client().post(f"/connectors/{connector.key}/", body, content_type="application/json", headers=headers)


# --- the app -------------------------------------------------------------------------------------


def test_the_app_archive_holds_a_manifest_with_the_connectors_registration_url_secret_and_webhooks(
    alice: ShopAccess, created: dict[str, Any]
) -> None:
    answer = alice.api.get(f"/api/v1/connectors/{created['id']}/shopware-app")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/zip"
    assert answer["Content-Disposition"] == 'attachment; filename="Reputable.zip"'
    assert "no-cache" in answer["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert archive.namelist() == ["Reputable/manifest.xml"]
    manifest = ET.fromstring(archive.read("Reputable/manifest.xml"))
    connector = connector_of(created)
    assert manifest.findtext("meta/name") == "Reputable"
    assert manifest.findtext("setup/secret") == created["secret"] == connector.secret
    assert manifest.findtext("setup/registrationUrl") == (
        f"http://localhost:8000/connectors/{connector.key}/shopware/register"
    )
    webhooks = {w.get("event"): w.get("url") for w in manifest.iterfind("webhooks/webhook")}
    assert webhooks == dict.fromkeys(
        [
            "checkout.order.placed",
            "state_enter.order_delivery.state.shipped",
            "state_enter.order_transaction.state.refunded",
            "state_enter.order.state.cancelled",
        ],
        created["url"],
    )
    assert {p.text for p in manifest.iterfind("permissions/read")} >= {"order", "order_customer", "order_line_item"}
    # A label and a description in each language, the shop's name in them.
    langs = [label.get("lang") for label in manifest.iterfind("meta/label")]
    assert langs == [None, "de-DE", "nl-NL", "pl-PL"]
    assert "Alice Teas" in (manifest.findtext("meta/description") or "")


def test_the_shops_name_in_the_manifest_is_escaped(alice: ShopAccess, created: dict[str, Any]) -> None:
    alice.shop.name = 'Tea & <Co> "]]>'
    alice.shop.save(update_fields=["name"])

    raw = zipfile.ZipFile(io.BytesIO(alice.api.get(f"/api/v1/connectors/{created['id']}/shopware-app").content))
    manifest = raw.read("Reputable/manifest.xml").decode()

    assert "<Co>" not in manifest and "Tea &amp; &lt;Co&gt;" in manifest
    assert 'Tea & <Co> "]]>' in ET.fromstring(manifest).findtext("meta/description", "")


def test_only_a_shopware_connector_has_an_app_and_only_of_ones_own_shop(
    alice: ShopAccess, charlie: ShopAccess, created: dict[str, Any]
) -> None:
    woo = alice.post("/api/v1/connectors", {"platform": "woocommerce"}).json()

    assert alice.api.get(f"/api/v1/connectors/{woo['id']}/shopware-app").status_code == 404
    assert charlie.api.get(f"/api/v1/connectors/{created['id']}/shopware-app").status_code == 404


def test_managers_download_the_app_from_the_dashboard_and_viewers_may_not(team: Team, alice: ShopAccess) -> None:
    owner = team.client(team.alice)
    owner.post("/dashboard/alice-teas/connectors", {"platform": "shopware6"})
    connector = Connector.objects.get(shop=alice.shop)
    app = f"/dashboard/alice-teas/connectors/{connector.pk}/shopware-app.zip"

    assert app in owner.get("/dashboard/alice-teas/connectors").content.decode()
    downloaded = team.client(team.bob["manager"]).get(app)
    assert downloaded.status_code == 200
    manifest = zipfile.ZipFile(io.BytesIO(downloaded.content)).read("Reputable/manifest.xml")
    assert ET.fromstring(manifest).findtext("setup/secret") == connector.secret
    assert team.client(team.bob["viewer"]).get(app).status_code in (403, 404)
    assert team.client(team.charlie).get(app).status_code == 404


# --- the registration ------------------------------------------------------------------------------


def test_the_registration_answers_the_proof_a_new_shop_secret_and_where_to_confirm(created: dict[str, Any]) -> None:
    connector = connector_of(created)

    answer = register(connector)

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"proof", "secret", "confirmation_url"}
    # Shopware checks the proof as hash_hmac('sha256', shopId . shopUrl . appName, appSecret).
    assert body["proof"] == hex_hmac(created["secret"], f"{SHOP_ID}{SHOP_URL}Reputable")
    assert 64 <= len(body["secret"]) <= 255
    assert body["confirmation_url"] == f"http://localhost:8000/connectors/{connector.key}/shopware/confirm"
    # Until it is confirmed, the shop is not registered: its webhooks are refused.
    assert deliver(connector, envelope("checkout.order.placed"), secret=body["secret"]).status_code == 401


def test_a_registration_signed_with_another_secret_or_unsigned_is_refused_and_stores_nothing(
    created: dict[str, Any],
) -> None:
    connector = connector_of(created)

    forged = register(connector, app_secret="not-the-app-secret")
    unsigned = Client().get(f"/connectors/{connector.key}/shopware/register?shop-id=x&shop-url=https://x&timestamp=1")

    assert forged.status_code == unsigned.status_code == 401
    assert forged.json()["error"] == "the shopware-app-signature header is missing or wrong"
    connector.refresh_from_db()
    assert connector.state == {}


def test_a_stale_registration_is_refused_as_a_replay(created: dict[str, Any]) -> None:
    connector = connector_of(created)
    an_hour_ago = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())

    answer = register(connector, timestamp=an_hour_ago)

    assert answer.status_code == 401
    assert "timestamp" in answer.json()["error"]
    connector.refresh_from_db()
    assert "pending" not in connector.state


def test_a_registration_without_the_shops_url_names_the_field(created: dict[str, Any]) -> None:
    answer = register(connector_of(created), shop_url="")

    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "shop-url"


def test_a_registration_for_a_connector_that_is_not_shopware_is_not_found(alice: ShopAccess) -> None:
    woo = Connector.objects.get(pk=alice.post("/api/v1/connectors", {"platform": "woocommerce"}).json()["id"])

    assert register(woo).status_code == 404


def test_a_confirmation_signed_with_another_secret_is_refused_and_the_shop_stays_unregistered(
    created: dict[str, Any],
) -> None:
    connector = connector_of(created)
    answer = register(connector).json()

    refused = confirm(answer, secret="x" * 64)

    assert refused.status_code == 401
    connector.refresh_from_db()
    assert "shop" not in connector.state and connector.state["pending"]["id"] == SHOP_ID


def test_a_confirmation_for_another_shop_than_the_one_that_registered_is_refused(created: dict[str, Any]) -> None:
    answer = register(connector_of(created)).json()

    refused = confirm(answer, shop_id="someone-else")

    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "shopId"


def test_a_confirmation_without_the_api_key_names_the_field(created: dict[str, Any]) -> None:
    answer = register(connector_of(created)).json()

    refused = confirm(answer, apiKey="")

    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "apiKey"


def test_the_confirmation_registers_the_shop_with_its_credentials(created: dict[str, Any], registered: str) -> None:
    connector = connector_of(created)

    shop = connector.state["shop"]
    assert (shop["id"], shop["url"], shop["secret"], shop["api_key"]) == (
        SHOP_ID,
        SHOP_URL,
        registered,
        "SWIAQWXRSWLWRHNWAMNRZ1NPRQ",
    )
    assert "pending" not in connector.state


def test_a_re_registration_rotates_the_shop_secret_and_the_old_one_lasts_a_minute(
    now: Any, created: dict[str, Any], registered: str
) -> None:
    connector = connector_of(created)

    again = register(connector, shop_secret=registered)
    assert again.status_code == 200
    new_secret = again.json()["secret"]
    assert confirm(again.json()).status_code == 204

    assert deliver(connector, envelope("checkout.order.placed"), secret=new_secret).status_code == 200
    assert deliver(connector, envelope("state_enter.order.state.cancelled"), secret=registered).status_code == 200
    now.shift(dt.timedelta(minutes=2))
    late = envelope("state_enter.order_delivery.state.shipped")
    assert deliver(connector, late, secret=registered).status_code == 401


def test_a_re_registration_signed_with_a_wrong_shop_secret_is_refused(created: dict[str, Any], registered: str) -> None:
    connector = connector_of(created)

    refused = register(connector, shop_secret="not-the-shop-secret" * 4)

    assert refused.status_code == 401
    connector.refresh_from_db()
    assert connector.state["shop"]["secret"] == registered and "pending" not in connector.state


# --- the webhooks ----------------------------------------------------------------------------------


def test_a_placed_order_is_a_checkout_of_its_number_for_its_customer_with_its_products(
    created: dict[str, Any], registered: str
) -> None:
    connector = connector_of(created)

    answer = deliver(connector, envelope("checkout.order.placed"), secret=registered)

    assert answer.status_code == 200
    assert answer.json() == {"status": "recorded", "events": 1}
    tx = Transaction.objects.get(shop=connector.shop)
    assert (tx.reference, tx.email, tx.first_name, tx.last_name) == ("10077", "test@example.com", "Max", "Mustermann")
    assert [(p.sku, p.name) for p in tx.products.all()] == [
        ("f3b92a7a618544308094cb4713b3ed84", "Aerodynamic Bronze Slo-Cooked Prawns")
    ]
    assert Event.objects.get().event_type.key == "checkout"


@pytest.mark.parametrize(
    ("event", "event_type"),
    [
        ("state_enter.order_delivery.state.shipped", "delivery"),
        ("state_enter.order_transaction.state.refunded", "return"),
        ("state_enter.order.state.cancelled", "cancel"),
    ],
)
def test_the_order_state_events_map_onto_delivery_return_and_cancel(
    alice: ShopAccess, created: dict[str, Any], registered: str, event: str, event_type: str
) -> None:
    connector = connector_of(created)
    invite_on_delivery(alice.shop)
    deliver(connector, envelope("checkout.order.placed"), secret=registered)

    answer = deliver(connector, envelope(event), secret=registered)

    assert answer.status_code == 200
    delivery = Delivery.objects.filter(connector=connector).order_by("-id").first()
    assert delivery is not None and delivery.topic == event and delivery.references == "10077"
    assert delivery.outcome == Delivery.Outcome.RECORDED
    assert sorted(e.event_type.key for e in Event.objects.filter(transaction__reference="10077")) == sorted(
        ["checkout", event_type]
    )


def test_a_state_change_whose_payload_lacks_the_customer_uses_the_address_reported_before(
    created: dict[str, Any], registered: str
) -> None:
    connector = connector_of(created)
    deliver(connector, envelope("checkout.order.placed"), secret=registered)
    without_customer = {k: v for k, v in ORDER.items() if k != "orderCustomer"}

    answer = deliver(connector, envelope("state_enter.order.state.cancelled", without_customer), secret=registered)

    assert answer.status_code == 200
    assert Transaction.objects.get().email == "test@example.com"


def test_a_replay_of_the_same_event_id_is_taken_once(created: dict[str, Any], registered: str) -> None:
    connector = connector_of(created)
    body = envelope("checkout.order.placed", event_id="7b04ebe416db4ebc93de4d791325e1d9")

    first = deliver(connector, body, secret=registered)
    replay = deliver(connector, body, secret=registered)

    assert first.json()["status"] == "recorded"
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    assert Delivery.objects.filter(connector=connector).count() == 1
    assert Event.objects.count() == 1


@pytest.mark.parametrize("signature", ["wrong", None])
def test_a_webhook_with_a_wrong_or_no_signature_is_refused_and_stores_nothing(
    alice: ShopAccess, created: dict[str, Any], registered: str, signature: str | None
) -> None:
    connector = connector_of(created)
    body = envelope("checkout.order.placed")

    answer = deliver(connector, body, secret=None if signature is None else "x", signature=signature or "")

    assert answer.status_code == 401
    assert stored(alice.shop) == (0, 0, 0)
    assert not Delivery.objects.exists()


def test_a_webhook_signed_with_the_secret_but_naming_another_shop_is_refused(
    alice: ShopAccess, created: dict[str, Any], registered: str
) -> None:
    answer = deliver(connector_of(created), envelope("checkout.order.placed", shop_id="another"), secret=registered)

    assert answer.status_code == 401
    assert stored(alice.shop) == (0, 0, 0)


def test_an_event_reputable_does_not_take_is_answered_and_logged(created: dict[str, Any], registered: str) -> None:
    connector = connector_of(created)
    body = json.dumps(PRODUCT_WRITTEN).encode()

    with logged() as lines:
        answer = deliver(connector, body, secret=registered)

    assert answer.status_code == 200
    assert Delivery.objects.get().outcome == Delivery.Outcome.IGNORED
    assert any("product.written" in line for line in lines)
    assert not Event.objects.exists()


def test_a_signed_body_that_is_not_json_is_logged_as_failed(created: dict[str, Any], registered: str) -> None:
    connector = connector_of(created)

    answer = deliver(connector, b"not json", secret=registered)

    assert answer.status_code == 200
    assert Delivery.objects.get().outcome == Delivery.Outcome.FAILED
