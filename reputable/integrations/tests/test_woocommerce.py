"""WooCommerce's webhooks at /connectors/<key>/, posted as WC_Webhook posts them: the order as
REST API v3 shows it (tests/fixtures/woocommerce), signed in X-WC-Webhook-Signature, with the
topic, resource, event, webhook id and delivery id in X-WC-Webhook-* headers; and the unsigned
ping `webhook_id=<id>` sent when the merchant saves the webhook."""

import datetime as dt
import itertools
from typing import Any

import pytest

from reputable.events.models import Event, Transaction
from reputable.integrations.actions import create_connector, set_mapping, set_status
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.fbc_support import stored
from reputable.integrations.tests.shopify_support import body_of, invite_on_delivery, logged, payload, post, sign
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product

ORDER = "woocommerce/wc_rest_v3__order_retrieve"
REFUND = "woocommerce/wc_rest_v3__order_refund_retrieve"
_ids = itertools.count(1)


@pytest.fixture
def connector(alice: Any) -> Connector:
    return create_connector(shop=alice.shop, platform="woocommerce")


def order(**changes: Any) -> dict[str, Any]:
    """The fixture's order, placed the day before the tests' MONDAY (its own is from 2017)."""
    dates = {"date_created": "2026-11-22T16:28:02", "date_created_gmt": "2026-11-22T19:28:02"}
    return payload(ORDER, **{**dates, **changes})


def headers(connector: Connector, topic: str, body: bytes, *, delivery_id: str = "") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": "https://alice-teas.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(connector.secret, body),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery_id or f"{next(_ids):032x}",
    }


def deliver(connector: Connector, topic: str, value: dict[str, Any], *, delivery_id: str = "") -> Any:
    body = body_of(value)
    return post(connector.key, body, headers(connector, topic, body, delivery_id=delivery_id))


def events(connector: Connector) -> list[tuple[str, str]]:
    return [
        (e.transaction.reference, e.event_type.key)
        for e in Event.objects.filter(shop=connector.shop).select_related("transaction", "event_type")
    ]


# --- orders -----------------------------------------------------------------------------------


def test_a_processing_order_is_a_checkout_with_its_names_decoded_and_its_gmt_date_in_utc(
    now: Any, connector: Connector
) -> None:
    answer = deliver(connector, "order.created", order())

    assert answer.json() == {"status": "recorded", "events": 1}
    tx = Transaction.objects.get(shop=connector.shop)
    assert (tx.reference, tx.email, tx.first_name, tx.last_name, tx.locale) == (
        "727",
        "john.doe@example.com",
        "John",
        "Doe",
        "",
    )
    # date_created_gmt is UTC without an offset, not the shop's local (Berlin) time.
    assert tx.date == dt.datetime(2026, 11, 22, 19, 28, 2, tzinfo=dt.UTC)
    assert events(connector) == [("727", "checkout")]
    invitation = Invitation.objects.get(transaction=tx)
    assert (invitation.status, invitation.email) == ("pending", "john.doe@example.com")
    products = Product.objects.filter(shop=connector.shop).order_by("key")
    assert [(p.key, p.sku, p.name) for p in products] == [
        ("Bar3", "Bar3", "Ship Your Idea \u2013 Color: Black, Size: M Test"),
        ("name:Woo Single #1", "", "Woo Single #1"),  # no SKU: known by its name
    ]


def test_customer_names_are_decoded_and_the_locale_is_wpmls_order_language(now: Any, connector: Connector) -> None:
    billing = {**order()["billing"], "first_name": "Zo&euml;", "last_name": "O&#039;Brien &amp; Co"}
    meta = [
        {"id": 1, "key": "_download_permissions_granted", "value": "yes"},
        {"id": 2, "key": "wpml_language", "value": "de"},
    ]

    deliver(connector, "order.created", order(billing=billing, meta_data=meta))

    tx = Transaction.objects.get(shop=connector.shop)
    assert (tx.first_name, tx.last_name, tx.locale) == ("Zoë", "O'Brien & Co", "de")


def test_an_order_without_its_gmt_date_is_dated_in_the_shops_time_zone(now: Any, connector: Connector) -> None:
    deliver(connector, "order.created", order(date_created_gmt=None))

    # Alice's shop is in Berlin: 16:28 there is 15:28 UTC.
    assert Transaction.objects.get(shop=connector.shop).date == dt.datetime(2026, 11, 22, 15, 28, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("processing", "checkout"),
        ("completed", "delivery"),
        ("refunded", "return"),
        ("cancelled", "cancel"),
        ("failed", "cancel"),
    ],
)
def test_each_status_records_its_event_type(now: Any, connector: Connector, status: str, event_type: str) -> None:
    invite_on_delivery(connector.shop)

    assert deliver(connector, "order.updated", order(status=status)).json() == {"status": "recorded", "events": 1}
    assert events(connector) == [("727", event_type)]


@pytest.mark.parametrize("status", ["pending", "on-hold", "checkout-draft", "shipped-to-partner"])
def test_a_status_that_is_no_stage_is_ignored_with_a_note(now: Any, connector: Connector, status: str) -> None:
    answer = deliver(connector, "order.created", order(status=status))

    assert answer.json() == {"status": "ignored", "events": 0}
    assert f"order 727: the status {status!r} is no stage" in Delivery.objects.get(connector=connector).message
    assert stored(connector.shop) == (0, 0, 0)


def test_an_order_on_hold_then_paid_then_completed_is_one_transaction_invited_once(
    now: Any, connector: Connector
) -> None:
    invite_on_delivery(connector.shop)
    deliver(connector, "order.created", order(status="on-hold"))
    deliver(connector, "order.updated", order(status="processing"))
    deliver(connector, "order.updated", order(status="completed"))

    assert events(connector) == [("727", "checkout"), ("727", "delivery")]
    assert Invitation.objects.filter(shop=connector.shop).count() == 1


@pytest.mark.parametrize("status", ["refunded", "cancelled", "failed"])
def test_a_refund_or_cancellation_cancels_the_pending_invitation(now: Any, connector: Connector, status: str) -> None:
    deliver(connector, "order.created", order())
    assert Invitation.objects.get(shop=connector.shop).status == "pending"

    deliver(connector, "order.updated", order(status=status))

    assert Invitation.objects.get(shop=connector.shop).status == "cancelled"


def test_an_order_without_billing_address_is_logged_as_failed_naming_the_field(now: Any, connector: Connector) -> None:
    answer = deliver(connector, "order.created", order(billing={**order()["billing"], "email": ""}))

    assert answer.json()["status"] == "failed"
    assert "customer.email" in Delivery.objects.get(connector=connector).message
    assert stored(connector.shop) == (0, 0, 0)


def test_a_refund_object_is_no_order_and_is_ignored(now: Any, connector: Connector) -> None:
    # WooCommerce sends the parent order on a refund (its status "refunded" once in full);
    # a refund object posted under an order topic, by a filter say, holds no stage.
    answer = deliver(connector, "order.updated", payload(REFUND))

    assert answer.json() == {"status": "ignored", "events": 0}
    assert "order 726: the status None is no stage" in Delivery.objects.get(connector=connector).message


# --- the ping, signatures, replays, topics, the connector's state -----------------------------


def test_the_unsigned_ping_of_a_new_webhook_is_answered_200_and_stores_nothing(connector: Connector) -> None:
    answer = post(
        connector.key,
        b"webhook_id=12",
        {"User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"},
        content_type="application/x-www-form-urlencoded",
    )

    assert answer.status_code == 200  # exactly 200, or WooCommerce does not activate the webhook
    assert Delivery.objects.count() == 0
    assert stored(connector.shop) == (0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [b"webhook_id=12&status=completed", b"webhook_id=", b" webhook_id=12", b"webhook_id=12\n", b"{}"],
    ids=["more", "no id", "space", "newline", "json"],
)
def test_an_unsigned_body_other_than_the_ping_is_refused(connector: Connector, body: bytes) -> None:
    answer = post(
        connector.key, body, {"X-WC-Webhook-Topic": "order.created"}, content_type="application/x-www-form-urlencoded"
    )

    assert answer.status_code == 401
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("fixture", [ORDER, REFUND])
@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "wrong secret", "body changed"])
def test_a_delivery_without_a_valid_signature_is_refused_and_stores_nothing(
    now: Any, connector: Connector, fixture: str, signature: str | None
) -> None:
    body = body_of(payload(fixture))
    sent = headers(connector, "order.created", body)
    del sent["X-WC-Webhook-Signature"]
    if signature == "wrong secret":
        sent["X-WC-Webhook-Signature"] = sign("another secret", body)
    elif signature == "body changed":
        sent["X-WC-Webhook-Signature"] = sign(connector.secret, body)
        body = body[:-1] + b', "status": "completed"}'
    elif signature is not None:
        sent["X-WC-Webhook-Signature"] = signature

    assert post(connector.key, body, sent).status_code == 401
    assert Delivery.objects.count() == 0
    assert stored(connector.shop) == (0, 0, 0)


@pytest.mark.parametrize("fixture", [ORDER, REFUND])
def test_a_replayed_webhook_is_answered_and_stores_nothing_more(now: Any, connector: Connector, fixture: str) -> None:
    value = order() if fixture == ORDER else payload(REFUND)
    first = deliver(connector, "order.created", value, delivery_id="5f2ae1d5c1e0a6d3f7b1e1f0b6a1c0de")
    before = (stored(connector.shop), Delivery.objects.count())

    again = deliver(connector, "order.created", value, delivery_id="5f2ae1d5c1e0a6d3f7b1e1f0b6a1c0de")

    assert first.status_code == again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert (stored(connector.shop), Delivery.objects.count()) == before


def test_a_bulk_edit_sending_many_orders_under_one_delivery_id_takes_each(now: Any, connector: Connector) -> None:
    # WooCommerce's delivery id is a hash of the webhook's id and the second it fires.
    same_second = "0c7a9bd02a5c4e1d9c3f00a1b2c3d4e5"
    for order_id in (727, 728, 729):
        deliver(connector, "order.updated", order(id=order_id, number=str(order_id)), delivery_id=same_second)

    assert sorted(Transaction.objects.filter(shop=connector.shop).values_list("reference", flat=True)) == [
        "727",
        "728",
        "729",
    ]


def test_an_unknown_topic_is_answered_ignored_and_logged(connector: Connector) -> None:
    with logged() as lines:
        answer = deliver(connector, "product.updated", {"id": 93, "name": "Woo Single #1"})

    assert answer.status_code == 200
    assert answer.json() == {"status": "ignored", "events": 0}
    delivery = Delivery.objects.get(connector=connector)
    assert (delivery.topic, delivery.outcome) == ("product.updated", "ignored")
    assert any(
        "product.updated ignored: the topic 'product.updated' is not one Reputable takes" in line for line in lines
    )


def test_a_paused_connector_drops_what_arrives(now: Any, connector: Connector) -> None:
    set_status(connector=connector, status="paused")

    assert deliver(connector, "order.created", order()).json() == {"status": "paused"}
    assert Delivery.objects.count() == 0
    assert stored(connector.shop) == (0, 0, 0)


def test_the_merchants_mapping_changes_the_event_type_a_status_records(now: Any, connector: Connector) -> None:
    invite_on_delivery(connector.shop)
    set_mapping(connector=connector, mapping={"processing": "", "completed": "checkout"})

    ignored = deliver(connector, "order.created", order(id=1))
    deliver(connector, "order.updated", order(id=2, status="completed"))

    assert ignored.json()["status"] == "ignored"
    assert events(connector) == [("2", "checkout")]


def test_an_unknown_key_is_not_found(connector: Connector) -> None:
    body = body_of(order())

    assert post("no-such-connector-key", body, headers(connector, "order.created", body)).status_code == 404
    assert post("no-such-connector-key", b"webhook_id=12", {}).status_code == 404


def test_another_shops_connector_does_not_take_this_shops_signature(
    now: Any, connector: Connector, charlie: Any
) -> None:
    theirs = create_connector(shop=charlie.shop, platform="woocommerce")
    body = body_of(order())

    assert post(theirs.key, body, headers(connector, "order.created", body)).status_code == 401
    assert stored(charlie.shop) == (0, 0, 0)
