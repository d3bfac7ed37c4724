"""Forwarding invitations to another provider, against a local fake of each provider.

Each fake listens on 127.0.0.1 and checks every request exactly as the provider's
documentation shapes it (path, method, auth header, content type, the fields of the body, no
others) and answers as the provider does; a request it does not expect fails the test.

- Kiyoh: `POST /v1/invite/external`, `X-Publication-Api-Token`, JSON; errors
  `{"httpCode", "errorCode", "message", "detailedError"}` (reputable.integrations.kiyoh).
- The Feedback Company: `GET /api/v2/oauth2/token?client_id=&client_secret=`, then
  `POST /api/v2/orders` with a Bearer token (reputable.integrations.feedbackcompany).
- eTrusted: `POST /oauth/token` (a form, client credentials) on the login host, then
  `POST /events` with a Bearer token (reputable.integrations.etrusted).
- Trustpilot: `POST /v1/oauth/oauth-business-users-for-applications/accesstoken` with Basic auth
  and `grant_type=client_credentials`, then `POST /v1/private/business-units/{id}/email-invitations`
  (developers.trustpilot.com: "Client credentials", "Create invitation(s)").
"""

import base64
import datetime as dt
import http.server
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, run_dispatcher
from reputable.conftest import checkout as checkout_event
from reputable.dispatch.management.commands.dispatch import Command
from reputable.integrations.models import ProviderAccount
from reputable.invitations.models import Invitation, InvitationRule

DAY = dt.timedelta(days=1)
DUE = MONDAY + 8 * DAY  # the default rule invites 7 days after the checkout (Monday 08:00 UTC)

KIYOH_TOKEN = "3c8f6a51-kiyoh-publication-token"
CREDENTIALS = {
    "kiyoh": {"api_token": KIYOH_TOKEN, "location_id": "1053874"},
    "feedbackcompany": {"client_id": "fbc-client", "client_secret": "fbc-secret"},
    "etrusted": {"client_id": "et-client", "client_secret": "et-secret", "channel_id": "chl-2c1f0c6a"},
    "trustpilot": {
        "api_key": "tp-key",
        "api_secret": "tp-secret",
        "business_unit_id": "46d6a890000064000500e0c3",
        "template_id": "507f191e810c19729de860ea",
        "reply_to": "service@alice-teas.example",
    },
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type") == "application/json", self.headers
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        assert self.headers.get("content-type") == "application/x-www-form-urlencoded", self.headers
        return parse_qs(self.body.decode(), strict_parsing=True)


type Answer = tuple[int, Any]


@dataclass
class FakeProvider:
    """A provider's API on loopback: `respond` checks a request and answers it; `queued`
    answers replace the answer to the next invitations (a 500, a refusal...)."""

    respond: Callable[["FakeProvider", Request], Answer]
    requests: list[Request] = field(default_factory=list)
    queued: list[Answer] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)  # the access tokens it takes
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    placed: set[str] = field(default_factory=set)  # Kiyoh: the references invited already
    expires_in: Any = 3600
    base_url: str = ""

    def __post_init__(self) -> None:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_request(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                fake.requests.append(request)
                try:
                    status, body = fake.respond(fake, request)
                except AssertionError as error:  # the test sees it: a 418 is no provider's answer
                    status, body = 418, {"assertion": str(error)}
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = handle_request  # noqa: N815 - the http.server API

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def issue(self) -> str:
        token = f"token-{next(self.numbers)}"
        self.tokens.add(token)
        return token

    def bearer_ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth.removeprefix("Bearer ") in self.tokens

    def answer(self, default: Answer) -> Answer:
        return self.queued.pop(0) if self.queued else default

    def invitations(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the providers as their documentation has them -----------------------------------------------


def kiyoh_api(fake: FakeProvider, request: Request) -> Answer:
    assert (request.method, request.path) == ("POST", "/v1/invite/external")
    if request.headers.get("x-publication-api-token") != KIYOH_TOKEN:
        return 401, {"httpCode": 401, "errorCode": "INVALID_TOKEN", "message": "invalid token", "detailedError": []}
    body = request.json()
    assert set(body) == {"location_id", "invite_email", "delay", "first_name", "last_name", "language", "ref_code"}
    assert body["location_id"] == "1053874" and body["delay"] == 0
    if body["ref_code"] in fake.placed:
        message = f"an invitation for {body['ref_code']!r} was already placed"
        return 400, {"httpCode": 400, "errorCode": "INVITATION_ALREADY_PLACED", "message": message}
    status, answer = fake.answer((200, {"code": "OK", "message": "invitation placed"}))
    if status == 200:
        fake.placed.add(body["ref_code"])
    return status, answer


def feedbackcompany_api(fake: FakeProvider, request: Request) -> Answer:
    if request.path == "/api/v2/oauth2/token":
        assert request.method == "GET"
        assert request.query == {"client_id": ["fbc-client"], "client_secret": ["fbc-secret"]}
        return 200, {
            "error": False,
            "access_token": fake.issue(),
            "token_type": "bearer",
            "expires_in": fake.expires_in,
            "expires_on": "Dec, 23 2026 09:00:00 UTC",
        }
    assert (request.method, request.path) == ("POST", "/api/v2/orders")
    if not fake.bearer_ok(request):
        return 401, {"success": False, "error": "401 Unauthorized"}
    body = request.json()
    assert set(body) == {"external_id", "customer", "invitation"}
    assert set(body["customer"]) == {"email", "fullname"}
    assert set(body["invitation"]) <= {"delay", "reminder"}
    return fake.answer((200, {"success": True, "message": "order registered", "order": {"external_id": "1001"}}))


def etrusted_api(fake: FakeProvider, request: Request) -> Answer:
    if request.path == "/oauth/token":
        assert request.method == "POST"
        form = request.form()
        assert set(form) == {"grant_type", "client_id", "client_secret", "audience"}
        assert (form["grant_type"], form["audience"]) == (["client_credentials"], ["https://api.etrusted.com"])
        if (form["client_id"], form["client_secret"]) != (["et-client"], ["et-secret"]):
            return 401, {"error": "invalid_client", "error_description": "Invalid client credentials"}
        token = fake.issue()
        return 200, {"access_token": token, "expires_in": fake.expires_in, "token_type": "Bearer", "scope": ""}
    assert (request.method, request.path) == ("POST", "/events")
    if not fake.bearer_ok(request):
        return 401, {"Message": "Access to this resource is forbidden"}
    body = request.json()
    assert set(body) == {"type", "defaultLocale", "customer", "channel", "transaction", "system", "systemVersion"}
    assert body["channel"] == {"id": "chl-2c1f0c6a", "type": "etrusted"}
    ref = "evt-7b0e2f52-1d7c-5a93-9c51-2a1f3c4b5d6e"
    return fake.answer((202, {"Message": f"Your event (`{ref}`) was accepted for processing.", "EventRef": ref}))


TRUSTPILOT_INVITATIONS = "/v1/private/business-units/46d6a890000064000500e0c3/email-invitations"


def trustpilot_api(fake: FakeProvider, request: Request) -> Answer:
    if request.path == "/v1/oauth/oauth-business-users-for-applications/accesstoken":
        assert request.method == "POST"
        assert request.headers["authorization"] == "Basic " + base64.b64encode(b"tp-key:tp-secret").decode()
        assert request.form() == {"grant_type": ["client_credentials"]}
        return 200, {"access_token": fake.issue(), "expires_in": str(fake.expires_in)}  # theirs is a string
    assert (request.method, request.path) == ("POST", TRUSTPILOT_INVITATIONS)
    if not fake.bearer_ok(request):
        return 401, {"message": "Unauthorized", "errorCode": 401}
    body = request.json()
    assert set(body) <= {
        "consumerEmail",
        "consumerName",
        "referenceNumber",
        "locale",
        "senderEmail",
        "replyTo",
        "serviceReviewInvitation",
    }
    assert {"consumerEmail", "consumerName", "referenceNumber", "locale", "serviceReviewInvitation"} <= set(body)
    assert set(body["serviceReviewInvitation"]) <= {"templateId", "preferredSendTime", "redirectUri", "tags"}
    return fake.answer((202, None))


APIS = {
    "kiyoh": kiyoh_api,
    "feedbackcompany": feedbackcompany_api,
    "etrusted": etrusted_api,
    "trustpilot": trustpilot_api,
}
INVITE_PATHS = {
    "kiyoh": "/v1/invite/external",
    "feedbackcompany": "/api/v2/orders",
    "etrusted": "/events",
    "trustpilot": TRUSTPILOT_INVITATIONS,
}
TOKEN_PATHS = {
    "feedbackcompany": "/api/v2/oauth2/token",
    "etrusted": "/oauth/token",
    "trustpilot": "/v1/oauth/oauth-business-users-for-applications/accesstoken",
}


def point_at(settings: Any, provider: str, url: str) -> None:
    names = {
        "kiyoh": ["KIYOH_BASE_URL"],
        "feedbackcompany": ["FEEDBACKCOMPANY_BASE_URL"],
        "etrusted": ["ETRUSTED_BASE_URL", "ETRUSTED_LOGIN_URL"],
        "trustpilot": ["TRUSTPILOT_BASE_URL", "TRUSTPILOT_API_URL"],
    }[provider]
    for name in names:
        setattr(settings, name, url)


@pytest.fixture
def fake(request: Any, settings: Any) -> Iterator[FakeProvider]:
    """The provider named by the test's parameter (Kiyoh unless parametrised), reachable."""
    provider = getattr(request, "param", "kiyoh")
    provider_fake = FakeProvider(APIS[provider])
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    point_at(settings, provider, provider_fake.base_url)
    yield provider_fake
    provider_fake.close()


def forward_checkouts_to(alice: ShopAccess, provider: str) -> None:
    """Alice connects her account with `provider` and has her checkout rule forward to it."""
    answer = alice.put(f"/api/v1/provider-accounts/{provider}", {"credentials": CREDENTIALS[provider]})
    assert answer.status_code == 200, answer.json()
    [rule] = alice.api.get("/api/v1/event-types/checkout/rules").json()
    answer = alice.patch(f"/api/v1/rules/{rule['id']}", {"channel": provider})
    assert (answer.status_code, answer.json()["channel"]) == (200, provider)


def order_of(reference: str, *, date: dt.datetime = MONDAY - dt.timedelta(hours=1)) -> dict[str, Any]:
    """A checkout of another customer (one address is invited once in a while only)."""
    customer = {"email": f"buyer-{reference}@example.nl", "first_name": "Jan", "last_name": "Visser", "locale": "nl"}
    return checkout_event(reference, transaction={"reference": reference, "date": date.isoformat()}, customer=customer)


def provider_of(fake: FakeProvider) -> str:
    return next(name for name, api in APIS.items() if api is fake.respond)


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fake", list(APIS), indirect=True)
def test_a_rule_forwarding_to_a_provider_hands_the_invitation_over_once_and_sends_no_email_nor_reminder(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    provider = provider_of(fake)
    forward_checkouts_to(alice, provider)
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)
    now.move_to(DUE + 60 * DAY)
    run_dispatcher(dispatcher)

    [sent] = fake.invitations(INVITE_PATHS[provider])
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.sent_count, invitation.last_error) == ("completed", 1, "")
    assert invitation.forwarded_to == provider and invitation.forwarded_ref
    assert smtp.messages == []
    shown = alice.api.get("/api/v1/transactions/1001").json()["invitation"]
    assert (shown["status"], shown["forwarded_to"]) == ("completed", provider)
    assert len(fake.requests) == (2 if provider in TOKEN_PATHS else 1)  # and a token, for OAuth


def test_kiyoh_is_sent_the_customer_and_order_as_its_invite_api_documents(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "kiyoh")
    alice.post("/api/v1/events", checkout_event())
    now.move_to(DUE)
    run_dispatcher(dispatcher)

    [sent] = fake.requests
    assert sent.json() == {
        "location_id": "1053874",
        "invite_email": "jan@example.nl",
        "delay": 0,
        "first_name": "Jan",
        "last_name": "Visser",
        "language": "nl",
        "ref_code": "1001",
    }
    assert Invitation.objects.get().forwarded_ref == "1001"


@pytest.mark.parametrize("fake", ["feedbackcompany"], indirect=True)
def test_the_feedback_company_gets_an_order_due_now_with_the_rules_reminder(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "feedbackcompany")
    alice.post("/api/v1/events", checkout_event())
    now.move_to(DUE)
    run_dispatcher(dispatcher)

    token, order = fake.requests
    assert order.headers["authorization"] == "Bearer token-1"
    assert order.json() == {
        "external_id": "1001",
        "customer": {"email": "jan@example.nl", "fullname": "Jan Visser"},
        "invitation": {"delay": {"unit": "days", "amount": 0}, "reminder": {"unit": "days", "amount": 7}},
    }
    account = ProviderAccount.objects.get(provider="feedbackcompany")
    assert (account.access_token, account.token_expires_at) == ("token-1", DUE + dt.timedelta(hours=1))


@pytest.mark.parametrize("fake", ["etrusted"], indirect=True)
def test_etrusted_gets_a_checkout_event_on_the_shops_channel(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "etrusted")
    alice.post("/api/v1/events", checkout_event())
    now.move_to(DUE)
    run_dispatcher(dispatcher)

    _token, event = fake.requests
    assert event.json() == {
        "type": "checkout",
        "defaultLocale": "nl",
        "customer": {"email": "jan@example.nl", "firstName": "Jan", "lastName": "Visser"},
        "channel": {"id": "chl-2c1f0c6a", "type": "etrusted"},
        "transaction": {"reference": "1001", "date": "2026-11-23T08:00:00Z"},
        "system": "Reputable",
        "systemVersion": "1",
    }
    assert Invitation.objects.get().forwarded_ref == "evt-7b0e2f52-1d7c-5a93-9c51-2a1f3c4b5d6e"


@pytest.mark.parametrize("fake", ["trustpilot"], indirect=True)
def test_trustpilot_gets_a_service_review_invitation_sent_now_in_the_shops_template(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "trustpilot")
    alice.post("/api/v1/events", checkout_event())
    now.move_to(DUE)
    run_dispatcher(dispatcher)

    _token, invitation = fake.requests
    assert invitation.headers["authorization"] == "Bearer token-1"
    assert invitation.json() == {
        "consumerEmail": "jan@example.nl",
        "consumerName": "Jan Visser",
        "referenceNumber": "1001",
        "locale": "nl-NL",
        "replyTo": "service@alice-teas.example",
        "serviceReviewInvitation": {
            "templateId": "507f191e810c19729de860ea",
            "preferredSendTime": "2026-12-01T09:00:00",
        },
    }


# --- faults --------------------------------------------------------------------------------------


def test_a_provider_error_is_retried_with_back_off_like_an_email(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "kiyoh")
    alice.post("/api/v1/events", checkout_event())
    fake.queued = [(500, {"httpCode": 500, "errorCode": "INTERNAL_ERROR", "message": "try again later"})]

    now.move_to(DUE)
    run_dispatcher(dispatcher)
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts) == ("pending", 1)
    assert "500" in invitation.last_error and "try again later" in invitation.last_error

    now.move_to(DUE + dt.timedelta(minutes=1))
    run_dispatcher(dispatcher)

    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.last_error) == ("completed", 0, "")
    assert len(fake.requests) == 2


def test_a_refused_invitation_fails_at_once_with_the_providers_message(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "kiyoh")
    alice.post("/api/v1/events", checkout_event())
    message = "invite_email: is not a valid email address"
    fake.queued = [(400, {"httpCode": 400, "errorCode": "INVALID_REQUEST", "message": message, "detailedError": []})]

    now.move_to(DUE)
    run_dispatcher(dispatcher)
    now.move_to(DUE + 30 * DAY)
    run_dispatcher(dispatcher)

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts) == ("failed", 1)
    assert message in invitation.last_error
    assert alice.api.get("/api/v1/transactions/1001").json()["invitation"]["last_error"] == invitation.last_error
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fake", ["feedbackcompany"], indirect=True)
def test_an_order_the_feedback_company_finds_invalid_fails_with_its_message(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "feedbackcompany")
    alice.post("/api/v1/events", checkout_event())
    errors = {"customer.email": ["is not a valid email address"]}
    fake.queued = [(422, {"success": False, "error": "customer.email: is not a valid email address", "errors": errors})]

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    invitation = Invitation.objects.get()
    assert invitation.status == "failed"
    assert "customer.email: is not a valid email address" in invitation.last_error


def test_a_repeat_kiyoh_already_placed_counts_as_done(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "kiyoh")
    fake.placed.add("1001")  # a dispatcher died after Kiyoh took it, before recording it
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.last_error, invitation.forwarded_ref) == ("completed", "", "1001")


@pytest.mark.parametrize("fake", ["etrusted"], indirect=True)
def test_a_cached_token_serves_until_it_expires_then_a_new_one_is_fetched(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "etrusted")
    for reference in ("1001", "1002"):
        alice.post("/api/v1/events", order_of(reference))
    now.move_to(DUE)
    run_dispatcher(dispatcher)
    alice.post("/api/v1/events", order_of("1003", date=DUE))

    now.move_to(DUE + 8 * DAY)  # the token of an hour is long gone
    run_dispatcher(dispatcher)

    assert [r.path for r in fake.requests] == ["/oauth/token", "/events", "/events", "/oauth/token", "/events"]
    assert fake.requests[-1].headers["authorization"] == "Bearer token-2"
    assert set(Invitation.objects.values_list("status", flat=True)) == {"completed"}


@pytest.mark.parametrize("fake", ["trustpilot"], indirect=True)
def test_a_token_the_provider_no_longer_takes_is_replaced_once(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "trustpilot")
    ProviderAccount.objects.update(access_token="revoked", token_expires_at=DUE + DAY)  # cached, yet refused
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    assert [r.path for r in fake.requests] == [
        TRUSTPILOT_INVITATIONS,
        TOKEN_PATHS["trustpilot"],
        TRUSTPILOT_INVITATIONS,
    ]
    assert Invitation.objects.get().status == "completed"
    assert ProviderAccount.objects.get().access_token == "token-1"


@pytest.mark.parametrize("fake", ["feedbackcompany"], indirect=True)
def test_a_provider_that_refuses_a_fresh_token_too_fails_the_invitation(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "feedbackcompany")
    fake.queued = [(401, {"success": False, "error": "401 Unauthorized"})] * 2
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    assert [r.path for r in fake.requests] == ["/api/v2/oauth2/token", "/api/v2/orders"] * 2
    invitation = Invitation.objects.get()
    assert invitation.status == "failed" and "401 Unauthorized" in invitation.last_error


@pytest.mark.parametrize("fake", ["etrusted"], indirect=True)
def test_credentials_the_provider_refuses_fail_the_invitation(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any
) -> None:
    forward_checkouts_to(alice, "etrusted")
    alice.put(
        "/api/v1/provider-accounts/etrusted", {"credentials": {**CREDENTIALS["etrusted"], "client_secret": "wrong"}}
    )
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    invitation = Invitation.objects.get()
    assert invitation.status == "failed" and "refused the credentials" in invitation.last_error


def test_a_provider_on_loopback_is_not_called_unless_the_operator_allows_it(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, now: Any, settings: Any
) -> None:
    forward_checkouts_to(alice, "kiyoh")
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    alice.post("/api/v1/events", checkout_event())

    now.move_to(DUE)
    run_dispatcher(dispatcher)

    assert fake.requests == []
    invitation = Invitation.objects.get()
    assert invitation.status == "failed" and "may not be called" in invitation.last_error


def test_a_reminder_of_an_invitation_emailed_before_the_rule_changed_goes_out_by_email(
    alice: ShopAccess, fake: FakeProvider, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout_event())
    now.move_to(DUE)
    run_dispatcher(dispatcher)  # the invitation by email; a reminder waits
    forward_checkouts_to(alice, "kiyoh")

    now.move_to(DUE + 8 * DAY)
    run_dispatcher(dispatcher)

    assert len(smtp.messages) == 2 and fake.requests == []


# --- the accounts and the rules through the API ----------------------------------------------------


def test_provider_accounts_show_which_credentials_are_set_never_their_values(alice: ShopAccess) -> None:
    alice.put("/api/v1/provider-accounts/trustpilot", {"credentials": CREDENTIALS["trustpilot"]})

    answer = alice.api.get("/api/v1/provider-accounts")

    assert answer.status_code == 200
    [account] = answer.json()
    assert account["provider"] == "trustpilot"
    assert account["credentials_set"] == ["api_key", "api_secret", "business_unit_id", "reply_to", "template_id"]
    assert "tp-secret" not in answer.content.decode()


@pytest.mark.parametrize(
    ("provider", "missing"),
    [
        ("kiyoh", "location_id"),
        ("feedbackcompany", "client_secret"),
        ("etrusted", "channel_id"),
        ("trustpilot", "business_unit_id"),
    ],
)
def test_an_account_without_a_required_credential_is_refused_naming_it(
    alice: ShopAccess, provider: str, missing: str
) -> None:
    credentials = {k: v for k, v in CREDENTIALS[provider].items() if k != missing}

    answer = alice.put(f"/api/v1/provider-accounts/{provider}", {"credentials": credentials})

    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == [f"credentials.{missing}"]
    assert not ProviderAccount.objects.exists()


def test_an_unknown_credential_or_provider_is_refused(alice: ShopAccess) -> None:
    extra = {"credentials": {**CREDENTIALS["kiyoh"], "password": "x"}}
    answer = alice.put("/api/v1/provider-accounts/kiyoh", extra)
    assert (answer.status_code, answer.json()["fields"][0]["field"]) == (422, "credentials.password")
    assert alice.put("/api/v1/provider-accounts/yotpo", {"credentials": {}}).status_code == 404


def test_a_numeric_kiyoh_location_id_is_taken_as_its_text(alice: ShopAccess) -> None:
    answer = alice.put(
        "/api/v1/provider-accounts/kiyoh", {"credentials": {"api_token": KIYOH_TOKEN, "location_id": 1053874}}
    )

    assert answer.status_code == 200
    assert ProviderAccount.objects.get().credentials["location_id"] == "1053874"


def test_replacing_the_credentials_forgets_the_cached_token(alice: ShopAccess) -> None:
    alice.put("/api/v1/provider-accounts/feedbackcompany", {"credentials": CREDENTIALS["feedbackcompany"]})
    ProviderAccount.objects.update(access_token="old", token_expires_at=MONDAY + DAY)

    alice.put("/api/v1/provider-accounts/feedbackcompany", {"credentials": CREDENTIALS["feedbackcompany"]})

    account = ProviderAccount.objects.get()
    assert (account.access_token, account.token_expires_at) == ("", None)


def test_a_rule_may_forward_only_to_a_provider_the_shop_has_an_account_with(alice: ShopAccess) -> None:
    [rule] = alice.api.get("/api/v1/event-types/checkout/rules").json()
    assert rule["channel"] == "email"

    answer = alice.patch(f"/api/v1/rules/{rule['id']}", {"channel": "kiyoh"})
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == ["channel"]

    answer = alice.patch(f"/api/v1/rules/{rule['id']}", {"channel": "carrier-pigeon"})
    assert (answer.status_code, answer.json()["fields"][0]["field"]) == (422, "channel")


def test_an_account_an_active_rule_forwards_to_cannot_be_deleted_until_the_rule_changes(
    alice: ShopAccess,
) -> None:
    forward_checkouts_to(alice, "kiyoh")

    assert alice.api.delete("/api/v1/provider-accounts/kiyoh").status_code == 409
    [rule] = alice.api.get("/api/v1/event-types/checkout/rules").json()
    alice.patch(f"/api/v1/rules/{rule['id']}", {"channel": "email"})
    assert alice.api.delete("/api/v1/provider-accounts/kiyoh").status_code == 204
    assert alice.api.delete("/api/v1/provider-accounts/kiyoh").status_code == 404


def test_another_shops_accounts_are_not_listed(alice: ShopAccess, charlie: ShopAccess) -> None:
    alice.put("/api/v1/provider-accounts/kiyoh", {"credentials": CREDENTIALS["kiyoh"]})

    assert charlie.api.get("/api/v1/provider-accounts").json() == []
    assert charlie.api.delete("/api/v1/provider-accounts/kiyoh").status_code == 404


# --- the rule form on the dashboard ----------------------------------------------------------------

DASHBOARD_RULE = {
    "delay_amount": "7",
    "delay_unit": "days",
    "send_time": "",
    "reminder_count": "1",
    "reminder_interval_amount": "7",
    "reminder_interval_unit": "days",
    "max_transaction_age_days": "90",
    "is_active": "on",
}


def test_the_rule_form_offers_the_channel_and_refuses_a_provider_without_an_account(
    alice: ShopAccess, team: Team, now: Any
) -> None:
    manager = team.client(team.bob["manager"])
    rule = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout")
    url = f"/dashboard/alice-teas/rules/{rule.pk}"
    assert 'name="channel"' in manager.get(url).content.decode()

    refused = manager.post(url, DASHBOARD_RULE | {"channel": "kiyoh"})
    assert refused.status_code == 400
    assert "no kiyoh account" in refused.content.decode()

    alice.put("/api/v1/provider-accounts/kiyoh", {"credentials": CREDENTIALS["kiyoh"]})
    assert manager.post(url, DASHBOARD_RULE | {"channel": "kiyoh"}).status_code == 302
    rule.refresh_from_db()
    assert rule.channel == "kiyoh"
