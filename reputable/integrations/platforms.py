"""What every platform module provides, and the registry of them.

A platform module (`shopify.py`, `woocommerce.py`, `shopware.py`, `magento.py`) subclasses
`Webhooks` (the platform posts to `/connectors/<key>/`) or `Pull` (the dispatcher asks the
platform), declares its stages with their default event types, and turns what the platform
sends into `Received`: the stage of each order and the event it reports, in the shape of
`/api/v1/events`. Everything after that (the merchant's mapping, deduplication, recording
through `record_events`, the delivery log) is the same for all (`reputable.integrations.actions`).
"""

import abc
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from reputable.integrations.models import Connector

# Reputable's built-in event types, which the platforms' stages map onto by default.
CHECKOUT, DELIVERY, RETURN, CANCEL = "checkout", "delivery", "return", "cancel"


@dataclass
class Order:
    """One order a delivery reports: its stage on the platform and the event, as a dict in
    the shape of `EventIn` without `type` (the mapping decides the type)."""

    stage: str
    event: dict[str, Any]


@dataclass
class Received:
    """What a platform made of one delivery."""

    topic: str
    dedupe_key: str = ""  # the platform's id of the delivery, if it sends one
    orders: list[Order] = field(default_factory=list)
    ignored: str = ""  # why nothing is taken from it (an unknown topic), for the log
    # Where the platform wants an answer of its own (a ping), it is given here.
    response: HttpResponse | None = None


class Unreadable(Exception):  # noqa: N818 - raised as `raise Unreadable("no address")`
    """A signed delivery whose body makes no order (not JSON, say): logged as failed."""

    def __init__(self, message: str, *, topic: str = "") -> None:
        super().__init__(message)
        self.topic = topic


class Platform(abc.ABC):
    name: ClassVar[str]  # a value of models.Platform
    # The platform's stages of an order and the event type each maps to by default.
    stages: ClassVar[Mapping[str, str]]

    def event_type(self, connector: Connector, stage: str) -> str:
        """The event type a stage maps to for this connector ("" when it is ignored)."""
        mapping: dict[str, str] = connector.mapping or {}
        return mapping.get(stage, self.stages.get(stage, ""))

    def mapping(self, connector: Connector) -> dict[str, str]:
        """Each stage and the event type it maps to for this connector, defaults included."""
        return {stage: self.event_type(connector, stage) for stage in self.stages}


class Webhooks(Platform):
    @abc.abstractmethod
    def verify(self, connector: Connector, request: HttpRequest) -> bool:
        """Whether the request carries the platform's valid signature of its raw body."""

    @abc.abstractmethod
    def read(self, connector: Connector, request: HttpRequest) -> Received:
        """The orders of a verified delivery; raises Unreadable for a body that makes none."""


def signed_base64(secret: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is base64(HMAC-SHA256(secret, body)), as Shopify and WooCommerce
    sign their webhooks; compared in constant time."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def json_object(body: bytes, *, topic: str) -> dict[str, Any]:
    """A delivery's JSON object; Unreadable if it is none. Integers are read exactly (Python's
    json has no 2^53 limit), so ids stay intact."""
    try:
        value = json.loads(body)
    except ValueError:  # not UTF-8, or not JSON
        raise Unreadable("the body is not JSON", topic=topic) from None
    if not isinstance(value, dict):
        raise Unreadable("the body is not a JSON object", topic=topic)
    return value


def order_reference(value: object, *, topic: str) -> str:
    """A platform's order id (a number or a string) as a transaction's reference."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise Unreadable("the body names no order id", topic=topic)
    return str(value)


def locale_of(value: object) -> str:
    """A platform's locale as a customer's (at most 8 characters): "zh-Hant-TW" as "zh"."""
    if not isinstance(value, str):
        return ""
    return value if len(value) <= 8 else value.partition("-")[0][:8]


class Pull(Platform):
    """A platform the dispatcher pulls from (see reputable.integrations.dispatch)."""


PLATFORMS: dict[str, Platform] = {}


def register[P: type[Platform]](cls: P) -> P:
    PLATFORMS[cls.name] = cls()
    return cls


MODULES = ["shopify", "woocommerce", "shopware", "magento"]


def load() -> None:
    for module in MODULES:
        import_module(f"reputable.integrations.{module}")


def platform_of(connector: Connector) -> Platform:
    return PLATFORMS[connector.platform]


def delivery_url(connector: Connector) -> str | None:
    """Where the platform delivers the connector's webhooks, to paste into its settings; None
    for a connector that pulls (the platform is asked, it sends nothing)."""
    if isinstance(platform_of(connector), Pull):
        return None
    return settings.BASE_URL + reverse("connectors:receive", args=[connector.key])
