"""Magento 2 (Adobe Commerce, Mage-OS): its orders pulled through the REST API.

Magento's open-source edition sends no webhooks, so the dispatcher asks it
(`reputable.integrations.pulls`): `GET <base_url>/rest/V1/orders` with `searchCriteria`, as
an integration's access token allows (`Authorization: Bearer <token>`, Magento_Sales::sales
read access). The orders come oldest change first, `updated_at` then `entity_id`; each page
is read from where the last one ended (keyset, never `currentPage`, so an order changed
while the pages are read cannot shift one past the reader):

    updated_at >= T   AND   (updated_at > T  OR  entity_id NOT IN <ids seen at T>)

`updated_at` has whole seconds, so the ids already read in the cursor's second are
remembered: an order saved later in that same second is still found. The cursor
(`connector.state["cursor"]`) is stored after each page is recorded, so a pull interrupted
between pages goes on from the last one, and a page read twice records nothing twice
(the same event of the same transaction is one event). A new connector starts with the
orders changed since it was made.

Each order read gives the stage `placed` (its checkout), and the stage of its state if it is
one Reputable takes: `complete` (invoiced and shipped), `closed` (refunded) or `canceled`.
Its reference is `increment_id`, a string that keeps its leading zeros ("000000003").
Magento writes an ordered configurable or bundle product as a parent line and its child
lines (`parent_item_id`): the parent is the product the customer chose, so only lines without
a parent are taken. Magento's dates are UTC without an offset.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reputable.integrations import models
from reputable.integrations.models import Connector
from reputable.integrations.platforms import (
    CANCEL,
    CHECKOUT,
    DELIVERY,
    RETURN,
    Order,
    Pull,
    Received,
    Unreadable,
    register,
)

PAGE_SIZE = 100  # orders per request
# Ids remembered from the cursor's second; past it (a mass update) the reader keeps to
# `entity_id > the last`, which only an order saved late in that very second could escape.
MAX_SEEN = 200
# EventIn's limits, which a long line item would break for the whole order.
MAX_PRODUCTS, MAX_SKU, MAX_NAME = 100, 100, 255
MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"
TOPIC = "orders"


@dataclass(frozen=True)
class Cursor:
    """Where the pull stands: the `updated_at` of the last order read and the ids read in it."""

    updated_at: str
    seen: tuple[int, ...] = ()

    @classmethod
    def of(cls, connector: Connector) -> "Cursor":
        state = (connector.state or {}).get("cursor")
        if isinstance(state, dict) and isinstance(state.get("updated_at"), str):
            return cls(state["updated_at"], tuple(int(i) for i in state.get("seen", [])))
        return cls(connector.created_at.astimezone(dt.UTC).strftime(MAGENTO_TIME))

    def as_json(self) -> dict[str, Any]:
        return {"updated_at": self.updated_at, "seen": list(self.seen)}

    def after(self, orders: list[dict[str, Any]]) -> "Cursor":
        """The cursor past `orders` (a page, in the order it came)."""
        if not orders:
            return self
        last = str(orders[-1]["updated_at"])
        ids = [int(o["entity_id"]) for o in orders if o["updated_at"] == last]
        seen = (*self.seen, *ids) if last == self.updated_at else tuple(ids)
        return Cursor(last, seen)

    def query(self, page_size: int = PAGE_SIZE) -> dict[str, str]:
        """The searchCriteria of the next page."""
        c = "searchCriteria"
        params = {
            f"{c}[filter_groups][0][filters][0][field]": "updated_at",
            f"{c}[filter_groups][0][filters][0][value]": self.updated_at,
            f"{c}[filter_groups][0][filters][0][condition_type]": "gteq",
            f"{c}[sortOrders][0][field]": "updated_at",
            f"{c}[sortOrders][0][direction]": "ASC",
            f"{c}[sortOrders][1][field]": "entity_id",
            f"{c}[sortOrders][1][direction]": "ASC",
            f"{c}[pageSize]": str(page_size),
            f"{c}[currentPage]": "1",
        }
        if self.seen:
            exclude = (
                ("nin", ",".join(map(str, self.seen))) if len(self.seen) <= MAX_SEEN else ("gt", str(max(self.seen)))
            )
            params |= {
                f"{c}[filter_groups][1][filters][0][field]": "updated_at",
                f"{c}[filter_groups][1][filters][0][value]": self.updated_at,
                f"{c}[filter_groups][1][filters][0][condition_type]": "gt",
                f"{c}[filter_groups][1][filters][1][field]": "entity_id",
                f"{c}[filter_groups][1][filters][1][value]": exclude[1],
                f"{c}[filter_groups][1][filters][1][condition_type]": exclude[0],
            }
        return params


@register
class Magento2(Pull):
    name = models.Platform.MAGENTO2
    stages = {
        "placed": CHECKOUT,
        "complete": DELIVERY,  # invoiced and shipped
        "closed": RETURN,  # refunded in full (a credit memo)
        "canceled": CANCEL,
    }

    def url(self, connector: Connector) -> str:
        return connector.base_url.rstrip("/") + "/rest/V1/orders"

    def page(self, answer: object) -> list[dict[str, Any]]:
        """The orders of an answer of `GET /V1/orders`; Unreadable if it is not one."""
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise Unreadable("the answer is not a list of orders (no `items`)", topic=TOPIC)
        for item in items:
            if not (
                isinstance(item, dict) and isinstance(item.get("updated_at"), str) and _is_id(item.get("entity_id"))
            ):
                raise Unreadable("an order of the answer has no `entity_id` or `updated_at`", topic=TOPIC)
        return items

    def received(self, orders: list[dict[str, Any]]) -> Received:
        """The stages of a page's orders, oldest change first."""
        received = Received(topic=TOPIC)
        for order in orders:
            event = order_event(order)
            received.orders += [Order(stage, event) for stage in _stages(order)]
        return received


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.isdigit()


def _stages(order: dict[str, Any]) -> Iterator[str]:
    yield "placed"
    if order.get("state") in ("complete", "closed", "canceled"):
        yield str(order["state"])


def order_event(order: dict[str, Any]) -> dict[str, Any]:
    """The event of a Magento order, in the shape of EventIn without its type."""
    billing = order.get("billing_address") or {}
    created = order.get("created_at")
    return {
        "transaction": {
            # A string: "000000003" must not become 3.
            "reference": str(order.get("increment_id") or ""),
            "date": f"{created.replace(' ', 'T')}Z" if isinstance(created, str) and created else None,
        },
        "customer": {
            "email": order.get("customer_email") or billing.get("email") or "",
            # A guest's order has no customer names: the billing address has them.
            "first_name": order.get("customer_firstname") or billing.get("firstname") or "",
            "last_name": order.get("customer_lastname") or billing.get("lastname") or "",
        },
        "products": [
            {"sku": str(item.get("sku") or "")[:MAX_SKU], "name": str(item["name"])[:MAX_NAME]}
            for item in order.get("items") or []
            if isinstance(item, dict) and not item.get("parent_item_id") and item.get("name")
        ][:MAX_PRODUCTS],
    }
