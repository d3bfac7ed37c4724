"""The one HTTP client for every call out of Reputable (a connector's pull, a webhook, a
provider's API): guarded against server-side request forgery.

A merchant types the URLs we call, so a URL may point at the machine itself or at the
network it stands in (a database, a cloud's metadata service). The guard sits where the
connection is made: the host name is resolved once, every address it resolves to is checked,
and the socket connects to the checked address itself, so a name cannot resolve to something
else between the check and the connection (DNS rebinding). Refused are loopback, private,
link-local (the metadata services at 169.254.169.254 and fd00:ec2::254), shared, multicast,
reserved and unspecified addresses, and any IPv6 address that embeds an IPv4 one that is
refused (IPv4-mapped, 6to4, Teredo, NAT64). Redirects are never followed: a 3xx is an answer
like any other, for the caller to treat as a failure. Proxies from the environment are not
used. The operator may allow networks with `OUTBOUND_ALLOWED_NETWORKS` (e.g. `127.0.0.0/8`
for tests, or an ERP on the office network).
"""

import ipaddress
import socket
import typing
from functools import lru_cache
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from reputable.lib.text import LINE_MESSAGE, is_line

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address
type Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TIMEOUT = 15.0  # seconds, for connecting and for each read
SCHEMES = ("http", "https")
# The well-known NAT64 prefix: its addresses reach the IPv4 address in their last 32 bits.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Blocked(httpx.ConnectError):
    """The address may not be called from here; nothing was sent to it."""


def client(*, timeout: float = TIMEOUT, headers: dict[str, str] | None = None) -> httpx.Client:
    """A client that calls only addresses the guard allows, follows no redirect and uses no
    proxy. Use it as a context manager."""
    return httpx.Client(
        transport=GuardedTransport(),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Reputable", **(headers or {})},
    )


def check_url(url: str) -> str:
    """Why `url` cannot be called ("" when it can, as far as can be told before connecting):
    for the forms where merchants type URLs. The guard at connect time decides in the end."""
    if not is_line(url):
        return LINE_MESSAGE
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in SCHEMES:
        return "must be an http or https URL"
    if not hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    try:
        address: Address = ipaddress.ip_address(hostname)
    except ValueError:
        try:  # the old numeric forms a resolver still takes: 0x7f000001, 2130706433, 0177.0.0.1
            address = ipaddress.IPv4Address(socket.inet_aton(hostname))
        except (OSError, ValueError):  # not such a form (a NUL in it, say)
            return ""  # a name: checked when it is resolved
    return "" if allowed(address) else "points at an address that may not be called"


def allowed(address: Address) -> bool:
    """Whether a connection to `address` may be made."""
    if any(address in network for network in allowed_networks()):
        return True
    return all(_public(a) for a in _meant(address))


def _meant(address: Address) -> list[Address]:
    """The address, and the IPv4 address an IPv6 one carries to (each must be public)."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [address, *(a for a in embedded if a is not None)]


def _public(address: Address) -> bool:
    # is_global is False for loopback, private, link-local, shared (100.64/10), reserved and
    # unspecified addresses; multicast ones can be global, and are refused too.
    return address.is_global and not address.is_multicast


@lru_cache(maxsize=8)
def _parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def allowed_networks() -> tuple[Network, ...]:
    return _parse_networks(tuple(settings.OUTBOUND_ALLOWED_NETWORKS))


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard allows, and to the address it checked."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} cannot be resolved: {error}") from error
        addresses = [ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in resolved]
        refused = [a for a in addresses if not allowed(a)]
        if refused or not addresses:
            # Refused whole when any address is: which one the socket would take is not ours to pick.
            raise Blocked(f"{host} resolves to {refused[0] if refused else 'nothing'}, which may not be called")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=GuardedBackend(),
        )
