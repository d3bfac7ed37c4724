"""Magento 2: orders pulled by the dispatcher from `GET /rest/V1/orders`, against a fake shop.

The fake listens on 127.0.0.1 and answers as Magento's REST API does
(Magento\\Framework\\Api\\SearchCriteria): filter groups ANDed, the filters of a group ORed,
the conditions eq, gt, gteq, lt, lteq, in and nin, `sortOrders` applied in turn, `pageSize`
and `currentPage`, `{"items", "search_criteria", "total_count"}`; a missing or wrong Bearer
token gets Magento's 401. Its orders are the order of Adobe's REST tutorial
(fixtures/magento2/adobedocs__V1_orders_get_response.json), renumbered.
"""

import copy
import datetime as dt
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.events.models import Event, Transaction
from reputable.integrations.magento import PAGE_SIZE
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.tests.fbc_support import stored
from reputable.integrations.tests.shopify_support import invite_on_delivery

FIXTURE = Path(__file__).parent / "fixtures/magento2/adobedocs__V1_orders_get_response.json"
TOKEN = "k8ru1s5a3b6pq2w9cxzy0d7vn4tm1fgh"
UNAUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Sales::actions_view"},
}


def order(entity_id: int, updated_at: str, *, state: str = "processing", email: str = "") -> dict[str, Any]:
    """The tutorial's order as another one, changed last at `updated_at` (Magento's UTC)."""
    o = copy.deepcopy(json.loads(FIXTURE.read_text()))
    o.update(
        entity_id=entity_id,
        increment_id=f"{entity_id:09d}",
        created_at=updated_at,
        updated_at=updated_at,
        state=state,
        customer_email=email or f"buyer-{entity_id}@example.com",
    )
    return o


class FakeMagento:
    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.requests: list[dict[str, list[str]]] = []
        self.answer: tuple[int, dict[str, Any]] | None = None  # instead of the orders, when set
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                status, body = fake.respond(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def respond(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        query = parse_qs(url.query)
        self.requests.append(query)
        if url.path != "/rest/V1/orders":
            return 404, {"message": "Request does not match any route."}
        if authorization != f"Bearer {TOKEN}":
            return 401, UNAUTHORIZED
        if self.answer:
            return self.answer
        return 200, self.search(query)

    def search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        def param(name: str, default: str = "") -> str:
            return query.get(f"searchCriteria{name}", [default])[0]

        groups: list[list[tuple[str, str, str]]] = []
        while param(f"[filter_groups][{len(groups)}][filters][0][field]"):
            g, filters = len(groups), list[tuple[str, str, str]]()
            while field := param(f"[filter_groups][{g}][filters][{len(filters)}][field]"):
                f = len(filters)
                prefix = f"[filter_groups][{g}][filters][{f}]"
                filters.append((field, param(f"{prefix}[value]"), param(f"{prefix}[condition_type]", "eq")))
            groups.append(filters)
        found = [o for o in self.orders if all(any(_matches(o, *f) for f in group) for group in groups)]
        sorts: list[tuple[str, str]] = []
        while field := param(f"[sortOrders][{len(sorts)}][field]"):
            sorts.append((field, param(f"[sortOrders][{len(sorts)}][direction]", "ASC")))
        for field, direction in reversed(sorts):
            found.sort(key=lambda o: o[field], reverse=direction == "DESC")  # noqa: B023 - used at once
        size, page = int(param("[pageSize]", "0")) or len(found) or 1, int(param("[currentPage]", "1"))
        return {"items": found[(page - 1) * size : page * size], "search_criteria": {}, "total_count": len(found)}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _matches(o: dict[str, Any], field: str, value: str, condition: str) -> bool:
    have: Any = o[field]
    cast = int if isinstance(have, int) else str
    values = [cast(v) for v in value.split(",")]
    return {
        "eq": have == values[0],
        "gt": have > values[0],
        "gteq": have >= values[0],
        "lt": have < values[0],
        "lteq": have <= values[0],
        "in": have in values,
        "nin": have not in values,
    }[condition]


@pytest.fixture
def magento(settings: Any) -> Iterator[FakeMagento]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    fake = FakeMagento()
    yield fake
    fake.close()


@pytest.fixture
def pulls(dispatcher: DispatchCommand) -> DispatchCommand:
    return dispatcher


def connect(shop: ShopAccess, base_url: str, token: str = TOKEN) -> Connector:
    response = shop.post("/api/v1/connectors", {"platform": "magento2", "base_url": base_url, "access_token": token})
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["url"] is None  # pulled: Magento delivers nothing
    return Connector.objects.get(pk=answer["id"])


MONDAY = "2026-11-23 09:00:00"  # the `now` fixture's moment, as Magento writes it
LATER = "2026-11-23 09:00:30"


def test_orders_changed_since_the_connector_was_made_become_checkouts_with_their_numbers_intact(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connector = connect(alice, magento.base_url)
    magento.orders = [order(2, "2026-11-23 08:59:59"), order(3, LATER, email="jdoe@example.com")]
    run_dispatcher(pulls)

    tx = Transaction.objects.get(shop=alice.shop)
    assert tx.reference == "000000003"  # a string, its zeros kept
    assert tx.email == "jdoe@example.com"
    assert (tx.first_name, tx.last_name) == ("Jane", "Doe")
    assert tx.date == dt.datetime(2026, 11, 23, 9, 0, 30, tzinfo=dt.UTC)
    assert [e.event_type.key for e in Event.objects.filter(shop=alice.shop)] == ["checkout"]
    assert tx.invitation.status == "pending"
    products = alice.api.get("/api/v1/transactions/000000003").json()["products"]
    assert [(p["sku"], p["name"]) for p in products] == [("WS12-M-Orange", "Radiant Tee-M-Orange")]
    # Asked as an integration asks: its token, the orders changed since the connector was made.
    [query] = magento.requests
    assert query["searchCriteria[filter_groups][0][filters][0][field]"] == ["updated_at"]
    assert query["searchCriteria[filter_groups][0][filters][0][value]"] == [MONDAY]
    assert query["searchCriteria[filter_groups][0][filters][0][condition_type]"] == ["gteq"]
    assert query["searchCriteria[pageSize]"] == [str(PAGE_SIZE)]
    [delivery] = Delivery.objects.filter(connector=connector)
    assert (delivery.outcome, delivery.references, delivery.events) == ("recorded", "000000003", 1)
    connector.refresh_from_db()
    assert connector.next_pull_at == timezone.now() + dt.timedelta(seconds=300)
    assert connector.state["cursor"] == {"updated_at": LATER, "seen": [3]}


def test_complete_closed_and_canceled_orders_are_deliveries_returns_and_cancellations(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    invite_on_delivery(alice.shop)
    connect(alice, magento.base_url)
    magento.orders = [
        order(10, LATER, state="complete"),
        order(11, LATER, state="closed"),
        order(12, LATER, state="canceled"),
        order(13, LATER, state="holded"),  # on hold: no stage of its own
    ]
    run_dispatcher(pulls)

    kinds = {
        tx.reference: [e.event_type.key for e in tx.events.order_by("id")]
        for tx in Transaction.objects.filter(shop=alice.shop).prefetch_related("events__event_type")
    }
    assert kinds == {
        "000000010": ["checkout", "delivery"],
        "000000011": ["checkout", "return"],
        "000000012": ["checkout", "cancel"],
        "000000013": ["checkout"],
    }
    statuses = dict(Transaction.objects.filter(shop=alice.shop).values_list("reference", "invitation__status"))
    assert statuses["000000011"] == statuses["000000012"] == "cancelled"


def test_a_configurable_product_ordered_is_one_product_not_its_parent_and_child_lines(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connect(alice, magento.base_url)
    o = order(20, LATER)
    line = o["items"][0]
    parent = {**line, "item_id": 40, "product_type": "configurable", "name": "Radiant Tee", "product_id": 1556}
    child = {**line, "item_id": 41, "parent_item_id": 40, "price": 0, "parent_item": parent}
    o["items"] = [parent, child]
    magento.orders = [o]
    run_dispatcher(pulls)

    products = alice.api.get("/api/v1/transactions/000000020").json()["products"]
    assert [(p["sku"], p["name"]) for p in products] == [("WS12-M-Orange", "Radiant Tee")]


def test_a_shop_with_many_orders_is_read_page_by_page_each_order_once(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connect(alice, magento.base_url)
    # 250 orders, 130 of them changed in the same second (a mass update): pages must not
    # stall in that second, nor skip or repeat an order.
    same_second = [order(100 + i, LATER) for i in range(130)]
    others = [order(300 + i, f"2026-11-23 09:{1 + i // 60:02d}:{i % 60:02d}") for i in range(120)]
    magento.orders = same_second + others
    run_dispatcher(pulls)

    assert Transaction.objects.filter(shop=alice.shop).count() == 250
    assert Event.objects.filter(shop=alice.shop).count() == 250
    assert len(magento.requests) == 3  # 100 + 100 + 50: the short page ends the pull
    second = magento.requests[1]
    # The second page starts inside the same second, past the 100 orders read in it.
    assert second["searchCriteria[filter_groups][1][filters][0][condition_type]"] == ["gt"]
    assert second["searchCriteria[filter_groups][1][filters][1][condition_type]"] == ["nin"]
    assert len(second["searchCriteria[filter_groups][1][filters][1][value]"][0].split(",")) == 100
    assert sum(Delivery.objects.values_list("events", flat=True)) == 250


def test_a_pull_stopped_between_pages_goes_on_where_it_stopped_and_records_nothing_twice(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, smtp: Any
) -> None:
    connector = connect(alice, magento.base_url)
    magento.orders = [order(500 + i, f"2026-11-23 09:00:{10 + i // 10:02d}") for i in range(2 * PAGE_SIZE + 5)]
    first = DispatchCommand()
    assert first.handle_one()  # one page, then the dispatcher is killed
    assert Transaction.objects.filter(shop=alice.shop).count() == PAGE_SIZE
    connector.refresh_from_db()
    assert connector.state["cursor"]["updated_at"] == "2026-11-23 09:00:19"
    # The claim it held runs out; another dispatcher takes the connector over.
    now.shift(dt.timedelta(minutes=10))
    run_dispatcher(DispatchCommand())

    assert Transaction.objects.filter(shop=alice.shop).count() == 2 * PAGE_SIZE + 5
    assert Event.objects.filter(shop=alice.shop).count() == 2 * PAGE_SIZE + 5


def test_a_page_recorded_but_not_yet_noted_is_read_again_and_adds_nothing(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand, monkeypatch: Any
) -> None:
    connector = connect(alice, magento.base_url)
    magento.orders = [order(600 + i, LATER) for i in range(3)]
    from reputable.integrations import magento as module

    def crash(self: Any, orders: Any) -> Any:
        raise OSError("killed after recording, before the cursor was stored")

    monkeypatch.setattr(module.Cursor, "after", crash)
    run_dispatcher(pulls)
    connector.refresh_from_db()
    assert (connector.status, connector.attempts) == ("active", 1)
    assert stored(alice.shop)[:2] == (3, 3)
    monkeypatch.undo()

    now.shift(dt.timedelta(minutes=2))
    run_dispatcher(pulls)
    assert stored(alice.shop)[:2] == (3, 3)
    connector.refresh_from_db()
    assert (connector.attempts, connector.last_error) == (0, "")
    assert connector.state["cursor"] == {"updated_at": LATER, "seen": [600, 601, 602]}


def test_an_order_saved_late_in_the_second_the_pull_stopped_at_is_still_found(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connect(alice, magento.base_url)
    magento.orders = [order(701, LATER)]
    run_dispatcher(pulls)
    # Saved in that same second, with a lower id, after the pull had read it.
    magento.orders.insert(0, order(700, LATER))
    now.shift(dt.timedelta(seconds=300))
    run_dispatcher(pulls)

    assert sorted(Transaction.objects.filter(shop=alice.shop).values_list("reference", flat=True)) == [
        "000000700",
        "000000701",
    ]
    assert Event.objects.filter(shop=alice.shop).count() == 2
    # Nothing new makes no delivery: the log shows what arrived, not every look.
    now.shift(dt.timedelta(seconds=300))
    run_dispatcher(pulls)
    assert Delivery.objects.count() == 2


def test_an_order_changed_again_later_gives_its_new_stage(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    invite_on_delivery(alice.shop)
    connect(alice, magento.base_url)
    magento.orders = [order(800, LATER)]
    run_dispatcher(pulls)
    magento.orders = [order(800, "2026-11-25 14:00:00", state="complete")]
    now.shift(dt.timedelta(days=2, hours=5))
    run_dispatcher(pulls)

    tx = Transaction.objects.get(shop=alice.shop, reference="000000800")
    assert [e.event_type.key for e in tx.events.order_by("id")] == ["checkout", "delivery"]


def test_a_refused_token_fails_the_connector_at_once_with_magentos_reason_until_resumed(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connector = connect(alice, magento.base_url, token="wrong")
    magento.orders = [order(900, LATER)]
    run_dispatcher(pulls)

    shown = alice.api.get(f"/api/v1/connectors/{connector.pk}").json()
    assert shown["status"] == "failed"
    assert "Magento refused the access token (401)" in shown["last_error"]
    assert "isn't authorized" in shown["last_error"]
    assert stored(alice.shop) == (0, 0, 0)
    # No retries: a token does not mend itself.
    now.shift(dt.timedelta(hours=1))
    run_dispatcher(pulls)
    assert len(magento.requests) == 1
    # The merchant fixes the token in Magento and resumes: pulled at once.
    Connector.objects.filter(pk=connector.pk).update(access_token=TOKEN)
    alice.patch(f"/api/v1/connectors/{connector.pk}", {"status": "active"})
    run_dispatcher(pulls)
    assert stored(alice.shop)[:2] == (1, 1)


def test_a_shop_that_answers_503_is_asked_again_later(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connector = connect(alice, magento.base_url)
    magento.orders = [order(950, LATER)]
    magento.answer = (503, {"message": "Service Unavailable"})
    run_dispatcher(pulls)
    connector.refresh_from_db()
    assert (connector.status, connector.attempts) == ("active", 1)
    assert "Magento answered 503" in connector.last_error
    magento.answer = None
    run_dispatcher(pulls)
    assert len(magento.requests) == 1  # not before its back-off
    now.shift(dt.timedelta(minutes=1))
    run_dispatcher(pulls)
    assert stored(alice.shop)[:2] == (1, 1)


def test_a_paused_connector_is_not_pulled(
    alice: ShopAccess, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    connector = connect(alice, magento.base_url)
    alice.patch(f"/api/v1/connectors/{connector.pk}", {"status": "paused"})
    magento.orders = [order(960, LATER)]
    run_dispatcher(pulls)
    assert magento.requests == []


def test_a_base_url_on_the_machine_itself_is_refused_when_the_connector_is_made(alice: ShopAccess) -> None:
    answer = alice.post(
        "/api/v1/connectors", {"platform": "magento2", "base_url": "http://127.0.0.1:8080", "access_token": TOKEN}
    )
    assert answer.status_code == 422
    assert "base_url" in answer.content.decode()
    assert "may not be called" in answer.content.decode()
    assert Connector.objects.count() == 0


def test_a_name_that_resolves_to_the_machine_itself_is_never_called(
    alice: ShopAccess, now: time_machine.Traveller, pulls: DispatchCommand, monkeypatch: Any, settings: Any
) -> None:
    fake = FakeMagento()  # would answer, if the guard let the pull through
    try:
        real = socket.getaddrinfo

        def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            if host == "shop.example":
                return real("127.0.0.1", port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        connector = connect(alice, f"http://shop.example:{fake.server.server_port}")
        run_dispatcher(pulls)
        connector.refresh_from_db()
        assert connector.status == "failed"
        assert "may not be called" in connector.last_error
        assert fake.requests == []
    finally:
        fake.close()


def test_a_name_that_resolves_to_a_metadata_address_sends_no_packet(
    alice: ShopAccess, now: time_machine.Traveller, pulls: DispatchCommand, monkeypatch: Any
) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        assert host == "shop.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    def forbidden(*args: Any, **kwargs: Any) -> None:
        pytest.fail("a connection was attempted")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    connector = connect(alice, "https://shop.example")
    run_dispatcher(pulls)
    connector.refresh_from_db()
    assert connector.status == "failed"
    assert "may not be called" in connector.last_error


def test_alice_connects_magento_in_the_dashboard_and_sees_why_a_pull_failed(
    alice: ShopAccess, team: Team, now: time_machine.Traveller, magento: FakeMagento, pulls: DispatchCommand
) -> None:
    alice.shop.default_locale = "en"
    alice.shop.save(update_fields=["default_locale"])
    owner = team.client(team.alice)
    page = "/dashboard/alice-teas/connectors"
    created = owner.post(page, {"platform": "magento2", "base_url": magento.base_url, "access_token": "stale"})
    assert created.status_code == 200
    assert f"Reputable asks {magento.base_url} for new and changed orders" in created.content.decode()
    assert "stale" not in created.content.decode()  # the token is never shown back

    run_dispatcher(pulls)
    listed = owner.get(page).content.decode()
    assert "The last pull failed" in listed
    assert "Magento refused the access token (401)" in listed
