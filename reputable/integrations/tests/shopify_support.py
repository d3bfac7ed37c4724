"""What the tests of the Shopify and WooCommerce webhooks share: the real payloads, signing,
posting as the platforms post, the log, and a shop that invites on delivery."""

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.test import Client

from reputable.events.models import EventType
from reputable.invitations.actions import save_rule
from reputable.invitations.models import InvitationRule
from reputable.shops.models import Shop

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture (`shopify/...order`), unwrapped as the webhook sends it (the REST answer wraps
    Shopify's objects in {"order": ...}), with top-level keys replaced by `changes`."""
    value: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    if len(value) == 1 and isinstance(inner := next(iter(value.values())), dict):
        value = inner
    return {**value, **changes}


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(key: str, body: bytes, headers: dict[str, str], content_type: str = "application/json") -> Any:
    """A webhook as the platform posts it: the raw body and the platform's headers."""
    return Client().post(f"/connectors/{key}/", body, content_type=content_type, headers=headers)


def body_of(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def invite_on_delivery(shop: Shop, *, instead_of_checkout: bool = False) -> None:
    """The merchant turns the built-in delivery event type on, with the default rule, and
    perhaps the checkout's rule off (checkouts are still recorded, they invite no more)."""
    EventType.objects.filter(shop=shop, key="delivery").update(is_active=True)
    save_rule(rule=InvitationRule(event_type=EventType.objects.get(shop=shop, key="delivery")))
    if instead_of_checkout:
        checkout = InvitationRule.objects.get(event_type__shop=shop, event_type__key="checkout", is_active=True)
        checkout.is_active = False
        save_rule(rule=checkout)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def logged(name: str = "reputable.integrations") -> Iterator[list[str]]:
    """The lines logged to `name` meanwhile (a handler of its own: the suite may run without
    pytest's logging plugin, and so without caplog)."""
    logger, handler = logging.getLogger(name), _Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
