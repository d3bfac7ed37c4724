"""A platform of the tests' own (a fake), to drive the connector API and pages through a real delivery
without depending on any real platform's module: it signs with an HMAC of the raw body in a
header and sends one order per delivery, as JSON {"id", "stage", "event"}."""

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client

from reputable.integrations.models import Connector
from reputable.integrations.platforms import PLATFORMS, Order, Received, Unreadable, Webhooks
from reputable.shops.models import Shop

NAME = "fake-platform"
SIGNATURE = "X-Test-Signature"


class FakePlatform(Webhooks):
    name = NAME
    stages = {"paid": "checkout", "shipped": "delivery"}

    def verify(self, connector: Connector, request: HttpRequest) -> bool:
        return hmac.compare_digest(request.headers.get(SIGNATURE, ""), sign(connector.secret, request.body))

    def read(self, connector: Connector, request: HttpRequest) -> Received:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Unreadable("not JSON", topic="order") from None
        return Received(topic="order", dedupe_key=body["id"], orders=[Order(stage=body["stage"], event=body["event"])])


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fake_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    """The test platform, in the registry for this test only."""
    platform = FakePlatform()
    monkeypatch.setitem(PLATFORMS, NAME, platform)
    yield platform


def fake_connector(shop: Shop) -> Connector:
    """A connector of `shop` to the test platform (made as a row: the model's choices name the
    real platforms only)."""
    return Connector.objects.create(shop=shop, platform=NAME, secret="the shared secret")


def order(reference: str, stage: str = "paid", delivery_id: str | None = None) -> dict[str, Any]:
    return {
        "id": delivery_id or f"delivery-{reference}-{stage}",
        "stage": stage,
        "event": {
            "transaction": {"reference": reference, "date": "2026-11-23T08:00:00Z"},
            "customer": {"email": f"buyer-{reference}@example.nl", "first_name": "Jan"},
        },
    }


def deliver(connector: Connector, body: dict[str, Any] | bytes) -> Any:
    """The platform posts a signed delivery to the connector's URL."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {SIGNATURE: sign(connector.secret, raw)}
    return Client().post(f"/connectors/{connector.key}/", raw, content_type="application/json", headers=headers)
