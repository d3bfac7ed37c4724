"""Shopware 6: a private app whose webhooks report the shop's orders.

The merchant installs the app from the manifest Reputable makes for the connector
(`manifest_for`); the manifest holds the connector's app secret (Shopware's `<setup><secret>`,
which a private app with its own server must carry). Installing it starts the registration:

1. Shopware GETs the registration URL with `shop-id`, `shop-url` and `timestamp`, the query string
   signed in `shopware-app-signature`: hex(HMAC-SHA256(app secret, query string as sent)). A
   re-registration (secret rotation, a new shop URL) also signs it with the shop's current
   secret in `shopware-shop-signature`. The answer proves that Reputable holds the app secret
   (`proof`: hex(HMAC-SHA256(app secret, shop id + shop URL + app name))) and gives the shop a
   new secret of its own and the URL to confirm at.
2. Shopware POSTs the confirmation (`apiKey`, `secretKey`, `timestamp`, `shopUrl`, `shopId`) there,
   the body signed in `shopware-shop-signature` with the new shop secret. Only then is the shop
   registered: until it is, the connector takes no webhook; a re-registration's new secret takes
   over at the confirmation, the old one stays valid for a minute for requests under way.

Each webhook is the envelope `{data: {event, payload}, source: {url, shopId, eventId, ...},
timestamp}`, its raw body signed in `shopware-shop-signature` with the shop secret. The order
events (`checkout.order.placed` and the state machine's `state_enter.*`) carry the whole order
as `payload.order`, with its customer and line items (Shopware's OrderStateChangeEventListener
loads them). `source.eventId` (also `X-Shopware-Event-Id`) stays the same over Shopware's
retries, which go on for about 4.5 hours: a delivery is deduplicated on it rather than refused
for its age. The transaction's reference is the order's `orderNumber`, which every order event
carries, so all the events of an order fall on one transaction.
"""

import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction as db_transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from reputable.events.models import Transaction
from reputable.integrations import models
from reputable.integrations.models import Connector
from reputable.integrations.platforms import (
    CANCEL,
    CHECKOUT,
    DELIVERY,
    RETURN,
    Order,
    Received,
    Unreadable,
    Webhooks,
    delivery_url,
    json_object,
    locale_of,
    order_reference,
    register,
)
from reputable.lib.api import ApiError, invalid

log = logging.getLogger("reputable.integrations")

# The app's technical name: the folder it is installed in (custom/apps/Reputable), and part
# of the registration's proof.
APP_NAME = "Reputable"
# The events Reputable takes and the stage each reports (their names as Shopware's webhook
# events reference lists them).
EVENTS = {
    "checkout.order.placed": "placed",
    "state_enter.order_delivery.state.shipped": "shipped",
    "state_enter.order_transaction.state.refunded": "refunded",
    "state_enter.order.state.cancelled": "cancelled",
}
# How far a registration's or confirmation's timestamp may lie from now: Shopware sends both
# as it makes them (with a 5 s timeout), so only clock skew separates them from now.
MAX_SKEW = dt.timedelta(minutes=5)
# How long a rotated shop secret stays valid after the new one is confirmed.
ROTATION_GRACE = dt.timedelta(minutes=1)
# EventIn's limits, which a long line item would break for the whole order.
MAX_PRODUCTS, MAX_SKU, MAX_NAME = 100, 100, 255
# Column-like limits of what the registration stores.
MAX_SHOP_ID, MAX_SHOP_URL = 100, 500


def signed_hex(secret: str, message: bytes, signature: str) -> bool:
    """Whether `signature` is hex(HMAC-SHA256(secret, message)), as Shopware signs; compared in
    constant time."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _live_secrets(shop: dict[str, Any]) -> Iterator[str]:
    """The confirmed shop's secret, and the one it replaced while its grace lasts."""
    yield shop["secret"]
    until = shop.get("previous_until")
    if shop.get("previous_secret") and until and timezone.now() < dt.datetime.fromisoformat(until):
        yield shop["previous_secret"]


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@register
class Shopware6(Webhooks):
    name = models.Platform.SHOPWARE6
    stages = {
        "placed": CHECKOUT,
        "shipped": DELIVERY,  # a delivery of the order entered the state shipped
        "refunded": RETURN,  # a payment of the order was refunded in full
        "cancelled": CANCEL,
    }

    def verify(self, connector: Connector, request: HttpRequest) -> bool:
        shop = (connector.state or {}).get("shop")
        if not shop:  # not registered, or the registration is not confirmed yet
            return False
        signature = request.headers.get("shopware-shop-signature", "")
        if not any(signed_hex(secret, request.body, signature) for secret in _live_secrets(shop)):
            return False
        try:
            body = json.loads(request.body)
        except ValueError:
            return True  # signed, yet unreadable: `read` logs it as failed
        # Signed with this shop's secret, it must also name this shop.
        return not isinstance(body, dict) or _object(body.get("source")).get("shopId") == shop["id"]

    def read(self, connector: Connector, request: HttpRequest) -> Received:
        envelope = json_object(request.body, topic="unknown")
        data, source = _object(envelope.get("data")), _object(envelope.get("source"))
        event = str(data.get("event") or "")
        event_id = source.get("eventId") or request.headers.get("X-Shopware-Event-Id", "")
        received = Received(topic=event or "unknown", dedupe_key=str(event_id))
        stage = EVENTS.get(event)
        if stage is None:
            received.ignored = f"the event {event!r} is not one Reputable takes"
            return received
        order = _object(data.get("payload")).get("order")
        if not isinstance(order, dict):
            raise Unreadable("the payload holds no order", topic=event)
        order_of_event = order_event(order, event)
        if not order_of_event["customer"]["email"]:
            # A state change of an order whose customer the payload lacks: the address the
            # order was reported with before, if it was.
            reference = order_of_event["transaction"]["reference"]
            known = (
                Transaction.objects.filter(shop=connector.shop, reference=reference)
                .values("email", "first_name", "last_name", "locale")
                .first()
            )
            if known is None:
                received.ignored = (
                    f"order {reference}: the payload names no customer's address, and no earlier event reported it"
                )
                return received
            order_of_event["customer"] = known
        received.orders.append(Order(stage, order_of_event))
        return received


def order_event(order: dict[str, Any], topic: str) -> dict[str, Any]:
    """The event of a Shopware order entity, in the shape of EventIn without its type."""
    customer = _object(order.get("orderCustomer"))
    locale = _object(_object(order.get("language")).get("locale")).get("code")
    return {
        "transaction": {
            "reference": order_reference(order.get("orderNumber"), topic=topic),
            "date": order.get("orderDateTime"),
        },
        "customer": {
            "email": customer.get("email") or "",
            "first_name": customer.get("firstName") or "",
            "last_name": customer.get("lastName") or "",
            "locale": locale_of(locale),
        },
        "products": [
            # The label is the product as the customer bought it; promotions, credits and the
            # shop's custom lines are no product.
            {"sku": str(_object(item.get("payload")).get("productNumber") or "")[:MAX_SKU], "name": label[:MAX_NAME]}
            for item in order.get("lineItems") or []
            if isinstance(item, dict) and item.get("type") == "product" and (label := str(item.get("label") or ""))
        ][:MAX_PRODUCTS],
    }


# --- the registration ---------------------------------------------------------------------------


def _fresh(timestamp: object, *, field: str) -> None:
    """Refuse a request whose Unix timestamp is not within MAX_SKEW of now: a replay."""
    try:
        when = dt.datetime.fromtimestamp(int(str(timestamp)), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise invalid(field, "must be a Unix timestamp") from None
    if abs(timezone.now() - when) > MAX_SKEW:
        raise ApiError(401, "stale_request", f"{field}: the request is too old (or from the future) to be taken")


def register_shop(*, connector: Connector, query: bytes, app_signature: str, shop_signature: str) -> dict[str, str]:
    """Answer a shop's registration request: the proof, the shop's new secret (pending until
    confirmed) and the confirmation URL. `query` is the query string as sent."""
    if not signed_hex(connector.secret, query, app_signature):
        raise ApiError(401, "invalid_signature", "the shopware-app-signature header is missing or wrong")
    params = QueryDict(query)
    shop_id, shop_url = params.get("shop-id", ""), params.get("shop-url", "")
    for field, value, limit in (("shop-id", shop_id, MAX_SHOP_ID), ("shop-url", shop_url, MAX_SHOP_URL)):
        if not value:
            raise invalid(field, "is required")
        if len(value) > limit:
            raise invalid(field, f"must have at most {limit} characters")
    _fresh(params.get("timestamp", ""), field="timestamp")
    with db_transaction.atomic():
        connector = Connector.objects.select_for_update().get(pk=connector.pk)
        state = dict(connector.state or {})
        shop = state.get("shop")
        # The shop registered before re-registers: Shopware signs that with its current secret too.
        if (
            shop
            and shop["id"] == shop_id
            and shop_signature
            and not any(signed_hex(secret, query, shop_signature) for secret in _live_secrets(shop))
        ):
            raise ApiError(401, "invalid_signature", "the shopware-shop-signature header is wrong")
        # 64 characters: Shopware takes a shop secret of 64 to 255.
        secret = secrets.token_urlsafe(48)
        state["pending"] = {"id": shop_id, "url": shop_url, "secret": secret}
        connector.state = state
        connector.save(update_fields=["state"])
    proof = hmac.new(connector.secret.encode(), f"{shop_id}{shop_url}{APP_NAME}".encode(), hashlib.sha256)
    return {
        "proof": proof.hexdigest(),
        "secret": secret,
        "confirmation_url": settings.BASE_URL + reverse("connectors:shopware-confirm", args=[connector.key]),
    }


CONFIRMATION_FIELDS = ("apiKey", "secretKey", "timestamp", "shopUrl", "shopId")


def confirm_shop(*, connector: Connector, body: bytes, signature: str) -> None:
    """Complete a registration: the shop confirms with its API credentials, signed with the
    secret it was given; from now on its webhooks are taken."""
    with db_transaction.atomic():
        connector = Connector.objects.select_for_update().get(pk=connector.pk)
        state = dict(connector.state or {})
        pending = state.get("pending")
        if not pending or not signed_hex(pending["secret"], body, signature):
            raise ApiError(401, "invalid_signature", "the shopware-shop-signature header is missing or wrong")
        try:
            confirmation = json.loads(body)
        except ValueError:
            confirmation = None
        if not isinstance(confirmation, dict):
            raise invalid("body", "must be a JSON object")
        for field in CONFIRMATION_FIELDS:
            value = confirmation.get(field)
            if isinstance(value, bool) or not isinstance(value, str | int) or not str(value):
                raise invalid(field, "is required")
        _fresh(confirmation["timestamp"], field="timestamp")
        if confirmation["shopId"] != pending["id"]:
            raise invalid("shopId", "is not the shop that registered")
        shop = {
            "id": pending["id"],
            "url": str(confirmation["shopUrl"])[:MAX_SHOP_URL],
            "secret": pending["secret"],
            "api_key": str(confirmation["apiKey"]),
            "secret_key": str(confirmation["secretKey"]),
            "confirmed_at": timezone.now().isoformat(),
        }
        previous = state.get("shop")
        if previous and previous["id"] == shop["id"]:
            shop["previous_secret"] = previous["secret"]
            shop["previous_until"] = (timezone.now() + ROTATION_GRACE).isoformat()
        del state["pending"]
        state["shop"] = shop
        connector.state = state
        connector.save(update_fields=["state"])


def _shopware_connector(key: str) -> Connector:
    return get_object_or_404(Connector, key=key, platform=models.Platform.SHOPWARE6)


def _refused(connector: Connector, step: str, error: ApiError) -> JsonResponse:
    log.warning("connector %s: a Shopware %s was refused: %s", connector.pk, step, error.message)
    # Shopware shows the merchant the `error` of a refused registration.
    return JsonResponse({**error.body(), "error": error.message}, status=error.status)


@require_GET
def registration(request: HttpRequest, key: str) -> HttpResponse:
    connector = _shopware_connector(key)
    try:
        answer = register_shop(
            connector=connector,
            # The query string as it came (WSGI hands it over as Latin-1): what Shopware signed.
            query=request.META.get("QUERY_STRING", "").encode("latin-1"),
            app_signature=request.headers.get("shopware-app-signature", ""),
            shop_signature=request.headers.get("shopware-shop-signature", ""),
        )
    except ApiError as error:
        return _refused(connector, "registration", error)
    return JsonResponse(answer)


@csrf_exempt  # signed by the shop instead
@require_POST
def confirmation(request: HttpRequest, key: str) -> HttpResponse:
    connector = _shopware_connector(key)
    try:
        confirm_shop(
            connector=connector, body=request.body, signature=request.headers.get("shopware-shop-signature", "")
        )
    except ApiError as error:
        return _refused(connector, "confirmation", error)
    return HttpResponse(status=204)


# --- the manifest -------------------------------------------------------------------------------

MANIFEST = Path(__file__).parent / "manifest.xml"
ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
# What XML 1.0 cannot carry at all, escaped or not.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> None:
    ET.SubElement(parent, tag, attributes).text = NOT_XML.sub("", text)


def manifest_for(connector: Connector) -> str:
    """The connector's Shopware app: the manifest template with its registration URL, app
    secret and webhooks filled in. ElementTree escapes every text and attribute."""
    root = ET.parse(MANIFEST).getroot()
    meta = root.find("meta")
    setup = root.find("setup")
    webhooks = root.find("webhooks")
    assert meta is not None and setup is not None and webhooks is not None, "the manifest template is broken"
    # The template's own name, labels and descriptions give way to these, ahead of the rest.
    kept = [element for element in meta if element.tag not in ("name", "label", "description")]
    meta.clear()
    _text(meta, "name", APP_NAME)
    for code, _name in settings.LANGUAGES:
        # Shopware's lang attribute takes a locale; each language is named for its main country,
        # and the first (the default language) is the text without one.
        lang = {} if code == settings.LANGUAGE_CODE else {"lang": f"{code}-{code.upper()}"}
        with translation.override(code):
            _text(meta, "label", gettext("Reputable reviews"), **lang)
            description = gettext("Reports the orders of %(shop)s to Reputable, which invites the customers to review.")
            _text(meta, "description", description % {"shop": connector.shop.name}, **lang)
    meta.extend(kept)
    setup.clear()
    _text(setup, "registrationUrl", settings.BASE_URL + reverse("connectors:shopware-register", args=[connector.key]))
    _text(setup, "secret", connector.secret)
    webhooks.clear()
    url = delivery_url(connector) or ""
    for event, stage in EVENTS.items():
        ET.SubElement(webhooks, "webhook", {"name": f"reputable-{stage}", "url": url, "event": event})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def app_archive(connector: Connector) -> bytes:
    """The connector's Shopware app as Shopware's "Upload extension" takes it: a zip of the
    folder `Reputable/` holding its manifest (the same folder goes to custom/apps/ for
    `bin/console app:install --activate Reputable`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{APP_NAME}/manifest.xml", manifest_for(connector))
    return buffer.getvalue()


def app_download(connector: Connector) -> HttpResponse:
    """The app archive as a download no cache keeps: it holds the connector's app secret."""
    response = HttpResponse(app_archive(connector), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{APP_NAME}.zip"'
    add_never_cache_headers(response)
    return response
