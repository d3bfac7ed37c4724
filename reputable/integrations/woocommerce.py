"""WooCommerce: the webhooks `order.created` and `order.updated`.

WooCommerce (WC_Webhook::deliver) posts the order as its REST API v3 shows it, signed with the
webhook's secret: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(secret, raw body)); the topic is
in `X-WC-Webhook-Topic`, the delivery in `X-WC-Webhook-Delivery-ID`. The order's `status` is its
stage. When a webhook is saved, WooCommerce first sends a ping (WC_Webhook::deliver_ping): the
form body `webhook_id=<id>`, unsigned, which must be answered with 200 or the webhook is not
activated; it is answered and nothing is stored.

Quirks of the REST shape: names arrive HTML-encoded ("Ship Your Idea &ndash; Color: Black"),
`date_created_gmt` is UTC without an offset (`date_created` is the site's local time), an SKU
may be empty, and the order's language is WPML's `wpml_language` meta where WPML runs. The
transaction's reference is the order's `id`, which no plugin renumbers (`number` is filtered
by sequential-number plugins).
"""

import hashlib
import html
import re
from typing import Any

from django.http import HttpRequest, JsonResponse

from reputable.integrations import models
from reputable.integrations.models import Connector
from reputable.integrations.platforms import (
    CANCEL,
    CHECKOUT,
    DELIVERY,
    RETURN,
    Order,
    Received,
    Webhooks,
    json_object,
    locale_of,
    order_reference,
    register,
    signed_base64,
)

TOPICS = ("order.created", "order.updated")
# The ping's whole body, and nothing else, passes without a signature.
PING = re.compile(rb"webhook_id=[0-9]{1,20}")
# EventIn's limits, which a long line item would break for the whole order.
MAX_PRODUCTS, MAX_SKU, MAX_NAME = 100, 100, 255


@register
class WooCommerce(Webhooks):
    name = models.Platform.WOOCOMMERCE
    # The order statuses Reputable takes; pending, on-hold and the shop's own are no stage.
    stages = {
        "processing": CHECKOUT,  # paid, to be shipped
        "completed": DELIVERY,  # shipped
        "refunded": RETURN,
        "cancelled": CANCEL,
        "failed": CANCEL,  # the payment failed
    }

    def verify(self, connector: Connector, request: HttpRequest) -> bool:
        # The ping is unsigned; it takes nothing and tells nothing, so its sender does not matter.
        if PING.fullmatch(request.body):
            return True
        return signed_base64(connector.secret, request.body, request.headers.get("X-WC-Webhook-Signature", ""))

    def read(self, connector: Connector, request: HttpRequest) -> Received:
        if PING.fullmatch(request.body):
            return Received(topic="ping", response=JsonResponse({"status": "ok"}))
        topic = request.headers.get("X-WC-Webhook-Topic", "")
        received = Received(topic=topic or "unknown", dedupe_key=_dedupe_key(request))
        if topic not in TOPICS:
            received.ignored = f"the topic {topic!r} is not one Reputable takes"
            return received
        order = json_object(request.body, topic=topic)
        status = order.get("status")
        if status not in self.stages:
            received.ignored = f"order {order.get('id')}: the status {status!r} is no stage Reputable takes"
            return received
        received.orders.append(Order(str(status), order_event(order, topic)))
        return received


def order_event(order: dict[str, Any], topic: str) -> dict[str, Any]:
    """The event of a WooCommerce order, in the shape of EventIn without its type."""
    billing = order.get("billing") or {}
    gmt = order.get("date_created_gmt")
    return {
        "transaction": {
            "reference": order_reference(order.get("id"), topic=topic),
            # A date without offset would be read as the shop's local time, which it is not.
            "date": f"{gmt}Z" if isinstance(gmt, str) and gmt else order.get("date_created"),
        },
        "customer": {
            "email": billing.get("email") or "",
            "first_name": _text(billing.get("first_name")),
            "last_name": _text(billing.get("last_name")),
            "locale": _language(order.get("meta_data")),
        },
        "products": [
            {"sku": (item.get("sku") or "")[:MAX_SKU], "name": name[:MAX_NAME]}
            for item in order.get("line_items") or []
            if isinstance(item, dict) and (name := _text(item.get("name")))
        ][:MAX_PRODUCTS],
    }


def _dedupe_key(request: HttpRequest) -> str:
    """The delivery's key. WooCommerce makes the delivery id from the webhook's id and the
    second it fires (get_new_delivery_id), so a bulk edit of many orders sends them all under
    one id: the body's digest tells them apart, while a replay repeats both."""
    delivery = request.headers.get("X-WC-Webhook-Delivery-ID", "")
    return f"{delivery[:100]}:{hashlib.sha256(request.body).hexdigest()}" if delivery else ""


def _text(value: object) -> str:
    """A name as WooCommerce's REST API gives it, HTML entities decoded."""
    return html.unescape(value).strip() if isinstance(value, str) else ""


def _language(meta: object) -> str:
    for entry in meta if isinstance(meta, list) else []:
        if isinstance(entry, dict) and entry.get("key") == "wpml_language":
            return locale_of(entry["value"])
    return ""
