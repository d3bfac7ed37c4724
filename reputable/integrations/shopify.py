"""Shopify: the webhooks of a shop's orders, refunds and fulfilments.

Shopify signs every webhook with the shop's webhook signing secret (Settings > Notifications >
Webhooks) or the app's client secret: `X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(secret,
raw body)). `X-Shopify-Topic` names what happened, `X-Shopify-Webhook-Id` the delivery (a
retry keeps it). An `orders/*` body is the order itself, unwrapped; `refunds/create`,
`fulfillments/update` and `fulfillment_events/create` carry the refund, fulfilment or event with
its `order_id` but neither the customer nor the order's name.

The transaction's reference is therefore the order's `id`, the one key every topic carries, as a
string: Python's json reads integers exactly, so an id beyond 2^53 arrives intact. A refund or
fulfilment can only stop or advance an order reported before; it takes that transaction's
address, and of an order never seen it makes nothing.
"""

from typing import Any

from django.http import HttpRequest

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
    Webhooks,
    json_object,
    locale_of,
    order_reference,
    register,
    signed_base64,
)

# The topics whose body is the order, and the stage each reports.
ORDER_TOPICS = {
    "orders/create": "placed",
    "orders/paid": "paid",
    "orders/fulfilled": "fulfilled",
    "orders/cancelled": "cancelled",
}
# The topics whose body only names the order (`order_id`).
FOLLOW_UPS = ("refunds/create", "fulfillments/update", "fulfillment_events/create")
# EventIn's limits, which a long line item would break for the whole order.
MAX_PRODUCTS, MAX_SKU, MAX_NAME = 100, 100, 255


@register
class Shopify(Webhooks):
    name = models.Platform.SHOPIFY
    stages = {
        "placed": CHECKOUT,
        "paid": CHECKOUT,
        "fulfilled": DELIVERY,  # every item of the order has shipped
        "delivered": DELIVERY,  # the carrier reported a shipment delivered
        "refunded": RETURN,
        "cancelled": CANCEL,
    }

    def verify(self, connector: Connector, request: HttpRequest) -> bool:
        return signed_base64(connector.secret, request.body, request.headers.get("X-Shopify-Hmac-Sha256", ""))

    def read(self, connector: Connector, request: HttpRequest) -> Received:
        topic = request.headers.get("X-Shopify-Topic", "")
        received = Received(topic=topic or "unknown", dedupe_key=request.headers.get("X-Shopify-Webhook-Id", ""))
        if topic not in ORDER_TOPICS and topic not in FOLLOW_UPS:
            received.ignored = f"the topic {topic!r} is not one Reputable takes"
            return received
        body = json_object(request.body, topic=topic)
        if topic in ORDER_TOPICS:
            received.orders.append(Order(ORDER_TOPICS[topic], order_event(body, topic)))
            return received
        stage, why_not = _follow_up_stage(topic, body)
        reference = order_reference(body.get("order_id"), topic=topic)
        if not stage:
            received.ignored = f"order {reference}: {why_not}"
            return received
        known = Transaction.objects.filter(shop=connector.shop, reference=reference).values("email", "date").first()
        if known is None:
            received.ignored = (
                f"{topic} of order {reference}, which no webhook reported before: nothing to stop or advance"
            )
            return received
        event = {"transaction": {"reference": reference, "date": known["date"]}, "customer": {"email": known["email"]}}
        received.orders.append(Order(stage, event))
        return received


def order_event(order: dict[str, Any], topic: str) -> dict[str, Any]:
    """The event of an `orders/*` body, in the shape of EventIn without its type."""
    customer = order.get("customer") or {}
    billing = order.get("billing_address") or {}
    # The names as one pair, from the customer if it has any, else from the billing address.
    names = customer if customer.get("first_name") or customer.get("last_name") else billing
    return {
        "transaction": {"reference": order_reference(order.get("id"), topic=topic), "date": order.get("created_at")},
        "customer": {
            # The order's own address first: a customer account's may be older, or missing.
            "email": order.get("email") or order.get("contact_email") or customer.get("email") or "",
            "first_name": names.get("first_name") or "",
            "last_name": names.get("last_name") or "",
            "locale": locale_of(order.get("customer_locale")),
        },
        "products": [
            # The line's name is the product with its variant ("IPod Nano - 8gb - green"), as the
            # customer saw it; the product's URL needs its handle, which a line item lacks.
            {"sku": (item.get("sku") or "")[:MAX_SKU], "name": name[:MAX_NAME], "brand": item.get("vendor") or ""}
            for item in order.get("line_items") or []
            if isinstance(item, dict) and (name := item.get("name") or item.get("title") or "")
        ][:MAX_PRODUCTS],
    }


def _follow_up_stage(topic: str, body: dict[str, Any]) -> tuple[str, str]:
    """The stage a refund or fulfilment reports, or "" and why it reports none."""
    if topic == "refunds/create":
        return "refunded", ""
    # A fulfilment's `status` success only says it was created (shipped); orders/fulfilled
    # reports the whole order shipped. Delivery is the carrier's shipment status.
    status = body.get("shipment_status") if topic == "fulfillments/update" else body.get("status")
    if status == "delivered":
        return "delivered", ""
    return "", f"the shipment status {status!r} is not a delivery"
