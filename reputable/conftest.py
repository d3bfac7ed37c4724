"""Shared test fixtures: personas, API clients, a real SMTP server, the dispatcher, time."""

import asyncio
import datetime as dt
import email
import email.policy
import functools
import io
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.shops.actions import create_shop
from reputable.shops.models import Shop

# The browser tests' fixtures (Chromium, axe-core): see the module.
pytest_plugins = ["reputable.tests.browser"]

# No timing assertions in tests: a slow first holiday lookup is not a failure.
hypothesis_settings.register_profile("reputable", deadline=None, database=None)
hypothesis_settings.load_profile("reputable")

# A Monday morning, well clear of holidays and DST changes.
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with no failed attempts counted (every test client has one address)."""
    cache.clear()
    yield


@pytest.fixture
def now() -> Iterator[time_machine.Traveller]:
    """Time stands still at MONDAY until the test moves it (`now.move_to`, `now.shift`)."""
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@dataclass
class ShopAccess:
    shop: Shop
    key: str
    api: Client

    def post(self, path: str, body: Any) -> Any:
        return self.api.post(path, body, content_type="application/json")

    def patch(self, path: str, body: Any) -> Any:
        return self.api.patch(path, body, content_type="application/json")

    def put(self, path: str, body: Any) -> Any:
        return self.api.put(path, body, content_type="application/json")


def shop_access(name: str, **kwargs: Any) -> ShopAccess:
    shop, key = create_shop(name=name, **kwargs)
    return ShopAccess(shop=shop, key=key, api=Client(HTTP_AUTHORIZATION=f"Bearer {key}"))


@pytest.fixture
def alice(db: None) -> ShopAccess:
    """Alice owns "Alice Teas", a German shop; her API key acts for it."""
    return shop_access("Alice Teas", country="DE", timezone="Europe/Berlin", locale="de")


@pytest.fixture
def charlie(db: None) -> ShopAccess:
    """Charlie runs another shop on the same installation: an outsider to Alice's data."""
    return shop_access("Charlie Gadgets", country="NL", timezone="Europe/Amsterdam", locale="nl")


def checkout(reference: str = "1001", **overrides: Any) -> dict[str, Any]:
    """A checkout event as a shop system posts it; keyword arguments replace top-level keys."""
    event = {
        "type": "checkout",
        "transaction": {"reference": reference, "date": "2026-11-23T08:00:00Z"},
        "customer": {"email": "jan@example.nl", "first_name": "Jan", "last_name": "Visser", "locale": "nl"},
        "products": [
            {
                "sku": "TEA-1",
                "name": "Green tea",
                "gtin": "4006381333931",
                "mpn": None,
                "brand": "Alice Teas",
                "url": "https://shop.example/tea-1",
                "image_url": None,
            }
        ],
    }
    event.update(overrides)
    return event


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # each message's envelope sender (MAIL FROM)
    # Replies to give instead of accepting, one per incoming message, e.g. "451 try later".
    refusals: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.senders.append(envelope.mail_from)
        self.received.set()
        return "250 Message accepted"

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(handler: Any) -> Controller:
    controller = Controller(handler, hostname=handler.host, port=handler.port)
    controller.start()
    return controller


@contextmanager
def hanging_smtp() -> Iterator[tuple[SmtpSink, threading.Event]]:
    """An SMTP server that takes a message's DATA and never answers: a sender hangs there.

    Yields the server and an event set once a sender is hanging.
    """
    hanging = SmtpSink(host="127.0.0.1", port=free_port())
    entered, release = threading.Event(), threading.Event()

    async def hang(server: Any, session: Any, envelope: Any) -> str:
        entered.set()
        while not release.is_set():  # the SMTP server's own thread waits, not the test
            await asyncio.sleep(0.05)
        return "451 gone"

    hanging.handle_DATA = hang  # type: ignore[method-assign]
    controller = start_sink(hanging)
    try:
        yield hanging, entered
    finally:
        release.set()
        controller.stop()


def use_mail_server(settings: Any, sink: SmtpSink) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": sink.host, "port": sink.port, "timeout": 10},
        }
    }


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    """Mail goes over SMTP to a real aiosmtpd server on loopback for this test."""
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = start_sink(sink)
    use_mail_server(settings, sink)
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def dispatcher(smtp: SmtpSink) -> Iterator[DispatchCommand]:
    """The dispatcher command, sending to the `smtp` sink; tests call `handle_one()`."""
    command = DispatchCommand()
    yield command
    command.worker.idle()


def run_dispatcher(command: DispatchCommand) -> int:
    """One pass over due work, as `reputable dispatch` makes it; the number of messages tried."""
    steps = 0
    while command.handle_one():
        steps += 1
    return steps


def database_url() -> str:
    """The URL of the (test) database this process uses, for subprocesses that must share it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "BASE_URL": settings.BASE_URL, **extra}


@functools.cache
def _customer() -> Client:
    """The customers' browser: one client, so its handler loads the middleware once."""
    return Client()


def write_review(
    shop: ShopAccess,
    reference: str,
    rating: int,
    *,
    title: str = "",
    body: str = "",
    products: dict[str, tuple[int, str]] | None = None,
    product_details: dict[str, dict[str, Any]] | None = None,
    customer: dict[str, str] | None = None,
) -> Any:
    """A customer's review through the real path: the shop reports the order (its products
    `products`: sku -> (stars, text)), the customer opens the link and posts the form."""
    from reputable.invitations.models import Invitation
    from reputable.reviews.models import Product, Review

    products = products or {}
    details = product_details or {}
    event = checkout(
        reference,
        transaction={"reference": reference, "date": timezone.now().isoformat()},
        customer={
            "email": f"buyer-{reference}@example.nl",
            "first_name": "Jan",
            "last_name": "Visser",
            **(customer or {}),
        },
        products=[{"sku": sku, "name": f"Product {sku}", **details.get(sku, {})} for sku in products],
    )
    assert shop.post("/api/v1/events", event).status_code == 202
    invitation = Invitation.objects.get(shop=shop.shop, transaction__reference=reference)
    form = {"rating": str(rating), "title": title, "body": body, "name_display": "first_name_initial"}
    for sku, (stars, text) in products.items():
        pk = Product.objects.get(shop=shop.shop, sku=sku).pk
        form |= {f"product_{pk}_rating": str(stars), f"product_{pk}_body": text}
    response = _customer().post(f"/r/{invitation.token}", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Review.objects.get(invitation=invitation)


def xss_payloads() -> list[str]:
    """The hostile texts of reputable/tests/data/xss_payloads.txt: one line of printable text
    each (the text rule refuses control characters, U+2028 and U+2029 everywhere), without
    surrounding white space (forms strip it). Some are longer than a field takes: cut them."""
    path = os.path.join(os.path.dirname(__file__), "tests", "data", "xss_payloads.txt")
    with open(path, encoding="utf-8") as lines:
        return lines.read().splitlines()


def as_published(text: str, language: str = "de") -> str:
    """`text` as a review in `language` (Alice's shop's) publishes it: the checks at submission
    mask the e-mail addresses, phone numbers and IBANs that some hostile payloads hold."""
    from reputable.reviews.screening import screen

    return screen({"text": text}, language).published["text"]


def wsgi_call(
    path: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    """A request to the WSGI application that `reputable serve` runs (not the test client's
    handler): the lean stack for the API and widgets, the page cache in front of widgets."""
    from reputable.wsgi import application

    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    # As Django's test client does: the test's database transaction must stay open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


# --- people of the dashboard --------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@functools.cache
def _password_hash() -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


def person(email: str) -> Any:
    """A user who signed up with `email` and verified it, with the password PASSWORD."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import User

    user = User.objects.create_user(username=email, email=email)
    user.password = _password_hash()  # PASSWORD, hashed once per run: each hash takes a second
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def join(shop: Shop, user: Any, role: str) -> Any:
    from reputable.shops.models import Membership

    return Membership.objects.create(shop=shop, user=user, role=role)


@dataclass
class Team:
    """Alice owns "Alice Teas"; bob[role] is on her team with that role; charlie owns his own shop."""

    alice: Any
    bob: dict[str, Any]
    charlie: Any

    @staticmethod
    def client(user: Any) -> Client:
        """A browser session logged in as `user`."""
        client = Client()
        client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
        return client


@pytest.fixture
def team(alice: ShopAccess, charlie: ShopAccess) -> Team:
    roles = ["owner", "manager", "responder", "viewer"]
    owner = person("alice@alice-teas.example")
    join(alice.shop, owner, "owner")
    bob = {}
    for role in roles:
        bob[role] = person(f"bob-{role}@alice-teas.example")
        join(alice.shop, bob[role], role)
    outsider = person("charlie@charlie-gadgets.example")
    join(charlie.shop, outsider, "owner")
    return Team(alice=owner, bob=bob, charlie=outsider)


def moderator(email: str) -> Any:
    """Platform staff (not of any shop) with the moderation.moderator permission."""
    from django.contrib.auth.models import Permission

    user = person(email)
    user.user_permissions.add(Permission.objects.get(codename="moderator", content_type__app_label="moderation"))
    return user
