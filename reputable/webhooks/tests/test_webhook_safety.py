"""Webhooks cannot be turned on the machine or its network (SSRF), and a dispatcher killed
mid-delivery loses nothing.

Loopback forms are aimed at a sinkhole on 127.0.0.1 that counts the connections made to it:
none may be. Private, link-local and metadata addresses are never connected to for real: the
socket's connect is replaced by one that fails the test, so that no packet leaves the machine
even if the guard were broken.
"""

import datetime as dt
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from reputable.conftest import ShopAccess, checkout, run_dispatcher, subprocess_env
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.webhooks.actions import new_secret
from reputable.webhooks.models import Delivery, Endpoint
from reputable.webhooks.tests.receiver import Answer, receiver, sinkhole

LOOPBACK_FORMS = [
    "127.0.0.1",
    "[::1]",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "127.1",
]
PRIVATE = ["10.0.0.1", "192.168.1.1", "169.254.169.254", "[fd00::1]", "[fd00:ec2::254]", "100.64.0.1"]


@pytest.fixture
def sink() -> Iterator[Callable[[], int]]:
    with sinkhole() as count:
        yield count


def stored(shop: ShopAccess, url: str) -> Endpoint:
    """An endpoint stored as if the input check had let `url` through: the guard at connect time
    must hold by itself."""
    return Endpoint.objects.create(shop=shop.shop, url=url, event_types=["event.received"], secret=new_secret())


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
def test_a_loopback_form_is_refused_at_input_and_never_connected_to(
    alice: ShopAccess, dispatcher: DispatchCommand, sink: Callable[[], int], host: str
) -> None:
    url = f"http://{host}:{sink.port}/hooks"  # type: ignore[attr-defined]
    answer = alice.post("/api/v1/webhook-endpoints", {"url": url, "event_types": ["event.received"]})
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "url"

    stored(alice, url)
    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)

    assert sink() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "may not be called" in delivery.last_error


def test_a_name_resolving_to_loopback_is_never_connected_to(
    alice: ShopAccess, dispatcher: DispatchCommand, sink: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = socket.getaddrinfo

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return resolve("127.0.0.1", port, *args, **kwargs)
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://hooks.example.com:{sink.port}/hooks"  # type: ignore[attr-defined]
    assert alice.post("/api/v1/webhook-endpoints", {"url": url, "event_types": ["event.received"]}).status_code == 201

    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)

    assert sink() == 0
    assert "hooks.example.com resolves to 127.0.0.1" in Delivery.objects.get().last_error


def test_a_redirect_to_loopback_is_not_followed(
    alice: ShopAccess, dispatcher: DispatchCommand, sink: Callable[[], int], settings: Any
) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]  # the receiver's address only
    with receiver(host="127.0.0.2") as hooks:
        hooks.plan = [Answer(307, headers={"Location": f"http://127.0.0.1:{sink.port}/"})]  # type: ignore[attr-defined]
        stored(alice, hooks.url)
        alice.post("/api/v1/events", checkout())
        run_dispatcher(dispatcher)

    assert len(hooks.received) == 1 and sink() == 0
    assert Delivery.objects.get().last_error == "Failed: HTTP 307"


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connect of a socket to an address off loopback fails the test (and is recorded):
    nothing is ever sent there. Loopback stays open for the test's own servers (the SMTP sink)."""
    import ipaddress

    tried: list[Any] = []
    connect, connect_ex, create_connection = socket.socket.connect, socket.socket.connect_ex, socket.create_connection

    def off_loopback(address: Any) -> bool:
        try:
            return not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
        except (TypeError, ValueError, IndexError):
            return True  # a name, or anything else: refused too

    def guarded(original: Any) -> Any:
        def check(self: Any, address: Any, *args: Any, **kwargs: Any) -> Any:
            if off_loopback(address):
                tried.append(address)
                pytest.fail(f"a connection to {address} was attempted")
            return original(self, address, *args, **kwargs)

        return check

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    monkeypatch.setattr(
        socket,
        "create_connection",
        lambda address, *a, **k: guarded(lambda _s, ad, *x, **y: create_connection(ad, *x, **y))(
            None, address, *a, **k
        ),
    )
    return tried


@pytest.mark.parametrize("host", PRIVATE)
def test_a_private_link_local_or_metadata_address_is_refused_and_never_connected_to(
    alice: ShopAccess, dispatcher: DispatchCommand, no_connect: list[Any], host: str
) -> None:
    url = f"http://{host}/latest/meta-data/"
    answer = alice.post("/api/v1/webhook-endpoints", {"url": url, "event_types": ["event.received"]})
    assert answer.status_code == 422

    stored(alice, url)
    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)

    assert no_connect == []
    assert "may not be called" in Delivery.objects.get().last_error


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.1", "169.254.169.254", "fd00::1"])
def test_a_name_resolving_to_a_private_address_is_never_connected_to(
    alice: ShopAccess, dispatcher: DispatchCommand, no_connect: list[Any], monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, 80, 0, 0) if family == socket.AF_INET6 else (address, 80)
    resolve = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "metadata.example.com":
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        return resolve(host, *args, **kwargs)  # the SMTP sink's name, on loopback

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = "http://metadata.example.com/latest/meta-data/"
    assert alice.post("/api/v1/webhook-endpoints", {"url": url, "event_types": ["event.received"]}).status_code == 201

    alice.post("/api/v1/events", checkout())
    run_dispatcher(dispatcher)

    assert no_connect == []
    assert f"resolves to {address}" in Delivery.objects.get().last_error


# --- killed mid-delivery ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_the_redelivery_keeps_its_webhook_id(
    alice: ShopAccess, settings: Any
) -> None:
    """`reputable dispatch` posts the message and is killed (SIGKILL) while the receiver holds
    the answer back. The delivery stays claimed until the lease runs out; then a dispatcher
    delivers it again, with the same webhook-id."""
    import threading

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with receiver() as hooks:
        endpoint = alice.post("/api/v1/webhook-endpoints", {"url": hooks.url, "event_types": ["event.received"]})
        secret = endpoint.json()["secret"]
        alice.post("/api/v1/events", checkout())
        held = threading.Event()
        hooks.plan = [Answer(hang=held)]
        process = subprocess.Popen(
            [sys.executable, "-m", "reputable.cli", "dispatch"],
            env=subprocess_env(OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8"),
        )
        try:
            assert hooks.entered.wait(timeout=60), "the dispatcher never posted"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            held.set()

        claimed = Delivery.objects.get()
        assert (claimed.status, claimed.tries) == ("pending", 0) and claimed.claimed_until is not None
        dispatcher = DispatchCommand()
        assert run_dispatcher(dispatcher) == 0  # the lease still holds
        with time_machine.travel(claimed.claimed_until + dt.timedelta(seconds=1), tick=False):
            run_dispatcher(dispatcher)
            first, again = hooks.received
            assert again.verify(secret)["type"] == "event.received"
        dispatcher.worker.idle()

    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert Delivery.objects.get().status == "succeeded"
