"""Shopify's webhooks at /connectors/<key>/, posted as Shopify posts them: the raw JSON body,
signed in X-Shopify-Hmac-Sha256, the topic in X-Shopify-Topic, the delivery's id in
X-Shopify-Webhook-Id. The bodies are Shopify's own payloads (tests/fixtures/shopify), dated
recently where a test needs an invitation (the fixtures' orders are from 2008)."""

import datetime as dt
import itertools
from typing import Any

import pytest

from reputable.conftest import ShopAccess
from reputable.events.models import Event, Transaction
from reputable.integrations.actions import create_connector, set_mapping, set_status
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.fbc_support import stored
from reputable.integrations.tests.shopify_support import body_of, invite_on_delivery, logged, payload, post, sign
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product

SECRET = "shpss_0123456789abcdef0123456789abcdef"
RECENT = "2026-11-22T11:00:00-05:00"  # the day before the tests' MONDAY
ORDER_ID = 450789469  # the fixtures' order, which the refund and the fulfilment name
_ids = itertools.count(1)


@pytest.fixture
def connector(alice: ShopAccess) -> Connector:
    return create_connector(shop=alice.shop, platform="shopify", secret=SECRET)


def order(**changes: Any) -> dict[str, Any]:
    return payload("shopify/shopify_python_api__order", **{"created_at": RECENT, **changes})


def deliver(
    connector: Connector, topic: str, value: dict[str, Any], *, webhook_id: str = "", secret: str = SECRET
) -> Any:
    body = body_of(value)
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": "alice-teas.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70b{next(_ids):05d}",
    }
    return post(connector.key, body, headers)


def events(connector: Connector) -> list[tuple[str, str]]:
    return [
        (e.transaction.reference, e.event_type.key)
        for e in Event.objects.filter(shop=connector.shop).select_related("transaction", "event_type")
    ]


# --- orders -----------------------------------------------------------------------------------


def test_a_new_order_is_a_checkout_of_the_order_id_inviting_the_orders_address(now: Any, connector: Connector) -> None:
    answer = deliver(connector, "orders/create", order())

    assert answer.status_code == 200
    assert answer.json() == {"status": "recorded", "events": 1}
    tx = Transaction.objects.get(shop=connector.shop)
    assert (tx.reference, tx.email, tx.first_name, tx.last_name) == (
        "450789469",
        "bob.norman@hostmail.com",
        "Bob",
        "Norman",
    )
    assert tx.date == dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)
    assert events(connector) == [("450789469", "checkout")]
    invitation = Invitation.objects.get(transaction=tx)
    assert (invitation.status, invitation.email) == ("pending", "bob.norman@hostmail.com")
    products = Product.objects.filter(shop=connector.shop).order_by("sku")
    assert [(p.sku, p.name, p.brand) for p in products] == [
        ("IPOD2008BLACK", "IPod Nano - 8gb - black", ""),
        ("IPOD2008GREEN", "IPod Nano - 8gb - green", ""),
        ("IPOD2008RED", "IPod Nano - 8gb - red", ""),
    ]
    delivery = Delivery.objects.get(connector=connector)
    assert (delivery.topic, delivery.outcome, delivery.references, delivery.events) == (
        "orders/create",
        "recorded",
        "450789469",
        1,
    )


def test_ids_beyond_two_to_the_53_stay_exact_from_the_order_to_its_refund(now: Any, connector: Connector) -> None:
    big = 2**53 + 1  # a double would read it as 2**53
    deliver(connector, "orders/create", order(id=big))
    deliver(connector, "refunds/create", payload("shopify/shopify_python_api__refund", order_id=big))

    assert events(connector) == [("9007199254740993", "checkout"), ("9007199254740993", "return")]
    assert Invitation.objects.get(shop=connector.shop).status == "cancelled"


def test_every_order_topic_of_one_order_lands_on_one_transaction(now: Any, connector: Connector) -> None:
    invite_on_delivery(connector.shop)
    for topic in ("orders/create", "orders/paid", "orders/fulfilled"):
        assert deliver(connector, topic, order()).status_code == 200

    assert Transaction.objects.filter(shop=connector.shop).count() == 1
    # Placed and paid are both a checkout: the second is the same event, stored once.
    assert events(connector) == [("450789469", "checkout"), ("450789469", "delivery")]
    assert Invitation.objects.filter(shop=connector.shop).count() == 1


def test_the_address_is_the_orders_then_the_contact_email_then_the_customers(now: Any, connector: Connector) -> None:
    customer = {**order()["customer"], "email": "account@example.com"}
    deliver(connector, "orders/create", order(id=1, email="order@example.com", customer=customer))
    deliver(connector, "orders/create", order(id=2, email="", contact_email="contact@example.com", customer=customer))
    deliver(connector, "orders/create", order(id=3, email=None, contact_email=None, customer=customer))

    addresses = dict(Transaction.objects.filter(shop=connector.shop).values_list("reference", "email"))
    assert addresses == {"1": "order@example.com", "2": "contact@example.com", "3": "account@example.com"}


def test_names_come_from_the_billing_address_without_a_customer_and_the_locale_from_the_order(
    now: Any, connector: Connector
) -> None:
    deliver(connector, "orders/create", order(customer=None, customer_locale="en-GB"))

    tx = Transaction.objects.get(shop=connector.shop)
    assert (tx.email, tx.first_name, tx.last_name, tx.locale) == ("bob.norman@hostmail.com", "Bob", "Norman", "en-GB")
    deliver(connector, "orders/create", order(id=2, customer_locale="zh-Hant-TW"))
    assert Transaction.objects.get(shop=connector.shop, reference="2").locale == "zh"


def test_a_line_without_sku_is_a_product_known_by_its_name_and_the_vendor_is_its_brand(
    now: Any, connector: Connector
) -> None:
    line = {**order()["line_items"][0], "sku": "", "vendor": "Apple"}
    deliver(connector, "orders/create", order(line_items=[line, {**line, "sku": None, "name": None}]))

    products = Product.objects.filter(shop=connector.shop).order_by("key")
    # The second line has no name: its title is one.
    assert [(p.key, p.sku, p.name, p.brand) for p in products] == [
        ("name:IPod Nano - 8gb", "", "IPod Nano - 8gb", "Apple"),
        ("name:IPod Nano - 8gb - green", "", "IPod Nano - 8gb - green", "Apple"),
    ]


def test_an_order_without_any_address_is_logged_as_failed_naming_the_field(now: Any, connector: Connector) -> None:
    answer = deliver(connector, "orders/create", order(email=None, contact_email=None, customer=None))

    assert answer.json()["status"] == "failed"
    delivery = Delivery.objects.get(connector=connector)
    assert delivery.outcome == "failed"
    assert "customer.email" in delivery.message
    assert stored(connector.shop) == (0, 0, 0)


def test_a_signed_body_that_is_not_json_is_logged_as_failed(connector: Connector) -> None:
    body = b"<order/>"
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(SECRET, body)}

    assert post(connector.key, body, headers).json()["status"] == "failed"
    assert Delivery.objects.get(connector=connector).message == "the body is not JSON"


# --- refunds, cancellations, fulfilments --------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "stop"),
    [
        ("refunds/create", payload("shopify/shopify_python_api__refund")),
        ("orders/cancelled", order(cancelled_at="2026-11-23T03:00:00-05:00", cancel_reason="customer")),
    ],
)
def test_a_refund_or_a_cancellation_cancels_the_pending_invitation(
    now: Any, connector: Connector, topic: str, stop: dict[str, Any]
) -> None:
    deliver(connector, "orders/create", order())
    assert Invitation.objects.get(shop=connector.shop).status == "pending"

    assert deliver(connector, topic, stop).json() == {"status": "recorded", "events": 1}

    assert Invitation.objects.get(shop=connector.shop).status == "cancelled"
    assert events(connector)[-1] == ("450789469", "return" if topic == "refunds/create" else "cancel")


def test_a_refund_of_an_order_never_reported_is_ignored_with_a_note(now: Any, connector: Connector) -> None:
    with logged() as lines:
        answer = deliver(connector, "refunds/create", payload("shopify/shopify_python_api__refund"))

    assert answer.json() == {"status": "ignored", "events": 0}
    delivery = Delivery.objects.get(connector=connector)
    assert delivery.outcome == "ignored"
    assert "order 450789469, which no webhook reported before" in delivery.message
    assert any("refunds/create ignored" in line for line in lines)
    assert stored(connector.shop) == (0, 0, 0)


def test_a_fulfilment_event_delivered_is_a_delivery_other_statuses_are_ignored(now: Any, connector: Connector) -> None:
    invite_on_delivery(connector.shop, instead_of_checkout=True)
    deliver(connector, "orders/create", order())
    fulfilment_event = payload("shopify/shopify_python_api__fulfillment_event", order_id=ORDER_ID)

    printed = deliver(connector, "fulfillment_events/create", fulfilment_event)
    assert printed.json()["status"] == "ignored"
    assert "the shipment status 'label_printed' is not a delivery" in Delivery.objects.first().message  # type: ignore[union-attr]
    assert Invitation.objects.filter(shop=connector.shop).count() == 0

    delivered = deliver(connector, "fulfillment_events/create", {**fulfilment_event, "status": "delivered"})
    assert delivered.json() == {"status": "recorded", "events": 1}
    assert events(connector) == [("450789469", "checkout"), ("450789469", "delivery")]
    invitation = Invitation.objects.get(shop=connector.shop)
    assert (invitation.status, invitation.email) == ("pending", "bob.norman@hostmail.com")


def test_a_delivery_of_an_order_whose_placement_maps_to_nothing_is_ignored_with_a_note(
    now: Any, connector: Connector
) -> None:
    # Fulfilment events carry no address: the order must have been recorded (as a checkout
    # without a rule, say) for its delivery to invite.
    invite_on_delivery(connector.shop)
    set_mapping(connector=connector, mapping={"placed": "", "paid": ""})
    deliver(connector, "orders/create", order())

    fulfilment_event = payload("shopify/shopify_python_api__fulfillment_event", order_id=ORDER_ID, status="delivered")
    assert deliver(connector, "fulfillment_events/create", fulfilment_event).json()["status"] == "ignored"
    assert "which no webhook reported before" in Delivery.objects.first().message  # type: ignore[union-attr]
    assert stored(connector.shop) == (0, 0, 0)


def test_a_fulfilment_update_counts_only_once_its_shipment_is_delivered(now: Any, connector: Connector) -> None:
    invite_on_delivery(connector.shop)
    deliver(connector, "orders/create", order())
    fulfilment = payload("shopify/shopify_python_api__fulfillment")  # status pending, no shipment status

    assert deliver(connector, "fulfillments/update", {**fulfilment, "status": "success"}).json()["status"] == "ignored"
    assert events(connector) == [("450789469", "checkout")]

    shipped = deliver(connector, "fulfillments/update", {**fulfilment, "shipment_status": "delivered"})
    assert shipped.json() == {"status": "recorded", "events": 1}
    assert events(connector) == [("450789469", "checkout"), ("450789469", "delivery")]


# --- signatures, replays, topics, the connector's state -----------------------------------------

ALL_FIXTURES = [
    ("orders/create", "shopify/shopify_python_api__order"),
    ("refunds/create", "shopify/shopify_python_api__refund"),
    ("fulfillments/update", "shopify/shopify_python_api__fulfillment"),
    ("fulfillment_events/create", "shopify/shopify_python_api__fulfillment_event"),
]


@pytest.mark.parametrize(("topic", "fixture"), ALL_FIXTURES)
@pytest.mark.parametrize("signature", [None, "", "c29tZXRoaW5nIGVsc2U=", "wrong secret", "body changed"])
def test_a_delivery_without_a_valid_signature_is_refused_and_stores_nothing(
    now: Any, connector: Connector, topic: str, fixture: str, signature: str | None
) -> None:
    body = body_of(payload(fixture))
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "1"}
    if signature == "wrong secret":
        headers["X-Shopify-Hmac-Sha256"] = sign("another secret", body)
    elif signature == "body changed":
        headers["X-Shopify-Hmac-Sha256"] = sign(SECRET, body)
        body = body[:-1] + b', "email": "mallory@example.com"}'
    elif signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature

    answer = post(connector.key, body, headers)

    assert answer.status_code == 401
    assert Delivery.objects.count() == 0
    assert stored(connector.shop) == (0, 0, 0)


@pytest.mark.parametrize(("topic", "fixture"), ALL_FIXTURES)
def test_a_replayed_webhook_is_answered_and_stores_nothing_more(
    now: Any, connector: Connector, topic: str, fixture: str
) -> None:
    deliver(connector, "orders/create", order(), webhook_id="first-order")
    value = payload(fixture, created_at=RECENT) if topic == "orders/create" else payload(fixture, order_id=ORDER_ID)
    first = deliver(connector, topic, value, webhook_id="the-delivery")
    before = (stored(connector.shop), Delivery.objects.count())

    again = deliver(connector, topic, value, webhook_id="the-delivery")

    assert first.status_code == again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert (stored(connector.shop), Delivery.objects.count()) == before


def test_an_unknown_topic_is_answered_ignored_and_logged(connector: Connector) -> None:
    with logged() as lines:
        answer = deliver(connector, "products/update", {"id": 632910392, "title": "IPod Nano - 8gb"})

    assert answer.status_code == 200
    assert answer.json() == {"status": "ignored", "events": 0}
    delivery = Delivery.objects.get(connector=connector)
    assert (delivery.topic, delivery.outcome) == ("products/update", "ignored")
    assert "the topic 'products/update' is not one Reputable takes" in delivery.message
    assert any("products/update ignored" in line for line in lines)


def test_a_paused_connector_drops_what_arrives(now: Any, connector: Connector) -> None:
    set_status(connector=connector, status="paused")

    answer = deliver(connector, "orders/create", order())

    assert answer.status_code == 200
    assert answer.json() == {"status": "paused"}
    assert Delivery.objects.count() == 0
    assert stored(connector.shop) == (0, 0, 0)


def test_the_merchants_mapping_changes_the_event_type_a_stage_records(now: Any, connector: Connector) -> None:
    invite_on_delivery(connector.shop)
    set_mapping(connector=connector, mapping={"placed": "delivery"})

    deliver(connector, "orders/create", order(id=1))
    set_mapping(connector=connector, mapping={"placed": ""})
    ignored = deliver(connector, "orders/create", order(id=2))

    assert events(connector) == [("1", "delivery")]
    assert ignored.json()["status"] == "ignored"
    assert "'placed' maps to no event type" in Delivery.objects.first().message  # type: ignore[union-attr]


def test_an_unknown_key_is_not_found(connector: Connector) -> None:
    body = body_of(order())
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(SECRET, body)}

    assert post("no-such-connector-key", body, headers).status_code == 404
    assert Delivery.objects.count() == 0


def test_another_shops_connector_neither_takes_this_shops_signature_nor_touches_its_orders(
    now: Any, connector: Connector, charlie: ShopAccess
) -> None:
    theirs = create_connector(shop=charlie.shop, platform="shopify", secret="charlie's own secret")
    deliver(connector, "orders/create", order())

    # Alice's delivery posted to Charlie's URL: not his signature.
    assert deliver(theirs, "orders/create", order()).status_code == 401
    # Charlie's own refund of the same order id finds no order of his, and leaves Alice's alone.
    refund = deliver(
        theirs, "refunds/create", payload("shopify/shopify_python_api__refund"), secret="charlie's own secret"
    )
    assert refund.json()["status"] == "ignored"
    assert stored(charlie.shop) == (0, 0, 0)
    assert Invitation.objects.get(shop=connector.shop).status == "pending"
