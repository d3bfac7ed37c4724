"""The one outbound HTTP client refuses what a merchant's URL must not reach.

Loopback is tried for real against a sinkhole on 127.0.0.1 that counts the connections it
gets (none may arrive). Private, link-local and metadata addresses are never tried for real:
the socket's connect is replaced with one that fails the test, so that not a packet leaves
the machine even if the guard is broken.
"""

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reputable.lib import outbound


class Sinkhole:
    """A TCP listener on loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sinkhole() -> Iterator[Sinkhole]:
    hole = Sinkhole()
    yield hole
    hole.close()


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        pytest.fail(f"a connection was attempted: {args[1:]!r}")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket.socket, "connect_ex", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)


def resolving(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    """The resolver answers `address` for `name` (and nothing else is resolved)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == name, f"unexpected lookup of {host}"
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "localhost"],
)
def test_every_spelling_of_loopback_is_refused_and_no_connection_arrives(sinkhole: Sinkhole, host: str) -> None:
    with outbound.client() as web, pytest.raises((outbound.Blocked, httpx.InvalidURL)):
        web.get(f"http://{host}:{sinkhole.port}/")

    assert sinkhole.connections == 0


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "fd00::1",
     "fd00:ec2::254", "fe80::1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:0a00:0001::1", "ff02::1"],
)  # fmt: skip
def test_private_link_local_and_metadata_addresses_are_refused_before_connecting(
    no_connect: None, address: str
) -> None:
    literal = f"[{address}]" if ":" in address else address

    with outbound.client() as web, pytest.raises(outbound.Blocked):
        web.get(f"http://{literal}/latest/meta-data/")


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "fd00::1", "127.0.0.1"])
def test_a_name_resolving_to_a_refused_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_connect: None, address: str
) -> None:
    resolving(monkeypatch, "shop.example", address)

    with outbound.client() as web, pytest.raises(outbound.Blocked, match="shop.example resolves to"):
        web.get("https://shop.example/rest/V1/orders")


def test_the_checked_address_is_the_one_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # A second lookup could answer differently (DNS rebinding): there is none.
    resolving(monkeypatch, "shop.example", "93.184.216.34")
    connected: list[Any] = []

    def record(address: Any, *args: Any, **kwargs: Any) -> None:
        connected.append(address)
        raise OSError("not really connecting")

    monkeypatch.setattr(socket, "create_connection", record)

    with outbound.client() as web, pytest.raises(httpx.ConnectError):
        web.get("http://shop.example/")

    assert connected == [("93.184.216.34", 80)]


class Redirecting(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_redirect_is_an_answer_and_is_not_followed(settings: Any, sinkhole: Sinkhole) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the redirecting server only
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    Redirecting.target = f"http://127.0.0.2:{sinkhole.port}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with outbound.client() as web:
            response = web.get(f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 302
    assert sinkhole.connections == 0


def test_networks_the_operator_allows_are_called(settings: Any, sinkhole: Sinkhole) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    with outbound.client() as web, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        web.get(f"http://127.0.0.1:{sinkhole.port}/")  # the sinkhole hangs up without answering

    assert sinkhole.connections == 1


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "must be an http or https URL"),
        ("gopher://shop.example:70/_GET", "must be an http or https URL"),
        ("ftp://shop.example/", "must be an http or https URL"),
        ("https:///path", "must name a host"),
        ("https://user:secret@shop.example/", "must not carry a user name or password"),
        ("https://shop.example:99999/", "is not a valid URL"),
        ("http://169.254.169.254/latest/", "points at an address that may not be called"),
        ("http://[::1]:8000/", "points at an address that may not be called"),
        ("https://shop.example/rest/", ""),
    ],
)
def test_urls_typed_by_merchants_are_checked_at_input(url: str, why: str) -> None:
    assert outbound.check_url(url) == why


def test_a_scheme_other_than_http_is_refused_by_the_client_too(no_connect: None) -> None:
    with outbound.client() as web, pytest.raises(httpx.UnsupportedProtocol):
        web.get("file:///etc/passwd")
