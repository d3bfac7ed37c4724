"""Forwarding invitations to another provider: a rule whose channel is a provider hands its
invitations to that provider's API, with the shop's own credentials (a `ProviderAccount`),
instead of Reputable sending its email. The provider then sends its own invitation and
reminders.

The dispatcher calls `forward()` at the invitation's `send_at`, so the provider is told to
invite at once (a delay of 0). One function per provider builds its documented request:

- Kiyoh / Klantenvertellen: `POST {KIYOH_BASE_URL}/v1/invite/external`, the token in
  `X-Publication-Api-Token`. A repeat (`INVITATION_ALREADY_PLACED`) is done, not a failure.
- The Feedback Company: a token from `GET /api/v2/oauth2/token?client_id=&client_secret=`,
  then `POST /api/v2/orders` with `invitation.delay` (and the rule's reminder).
- eTrusted: a client-credentials token from `POST {ETRUSTED_LOGIN_URL}/oauth/token`, then
  `POST {ETRUSTED_BASE_URL}/events` on the shop's channel.
- Trustpilot: a client-credentials token from `POST {TRUSTPILOT_API_URL}/v1/oauth/
  oauth-business-users-for-applications/accesstoken` (Basic auth with the API key and secret),
  then `POST {TRUSTPILOT_BASE_URL}/v1/private/business-units/{id}/email-invitations`.

OAuth tokens are kept in the account (`access_token`, `token_expires_at`) until shortly before
they expire. Answers: a 2xx is done (the provider's reference is kept); a 401 or 403 fetches a
fresh token and tries once more, then gives up (`Permanent`); any other 4xx is a refusal no
retry mends (`Permanent`, with the provider's message); a 429, a 5xx, a timeout or a broken
connection is retried by the dispatcher as an email is. Every call goes through the one
outbound client, so a base URL cannot reach the machine or its network.
"""

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.utils import timezone

from reputable.dispatch.work import Permanent
from reputable.integrations.models import Provider, ProviderAccount
from reputable.invitations.models import InvitationRule
from reputable.lib import outbound
from reputable.lib.text import LINE_MESSAGE, is_line
from reputable.shops.models import Shop

MAX_MESSAGE = 300  # characters of a provider's answer kept in an error
# A cached token is renewed when less than this is left of it.
TOKEN_MARGIN = dt.timedelta(minutes=5)
ETRUSTED_AUDIENCE = "https://api.etrusted.com"
# The rule's delay units in The Feedback Company's.
FBC_UNITS = {"minutes": "minutes", "hours": "hours", "days": "days", "business_days": "weekdays"}

# The country of a language whose code is not its country's, for Trustpilot's locales.
COUNTRIES = {"en": "GB", "da": "DK", "sv": "SE", "nb": "NO", "el": "GR", "cs": "CZ", "ja": "JP"}

# Each provider's credentials: the keys required, then those that may be given.
CREDENTIALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Provider.KIYOH: (("api_token", "location_id"), ()),
    Provider.FEEDBACKCOMPANY: (("client_id", "client_secret"), ()),
    Provider.ETRUSTED: (("client_id", "client_secret", "channel_id"), ()),
    Provider.TRUSTPILOT: (
        ("api_key", "api_secret", "business_unit_id"),
        ("template_id", "sender_email", "reply_to", "redirect_uri"),
    ),
}


MAX_CREDENTIAL = 500  # characters of one credential


class Refused(Exception):
    """Credentials or a change the domain does not take: a message per field."""

    def __init__(self, fields: dict[str, str], *, conflict: bool = False) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in fields.items()))
        self.fields, self.conflict = fields, conflict


def set_account(*, shop: Shop, provider: str, credentials: dict[str, Any]) -> ProviderAccount:
    """Create or replace the shop's account with `provider`: every required credential given,
    none unknown. A cached token goes with the credentials it was fetched with."""
    required, optional = CREDENTIALS[provider]
    errors: dict[str, str] = {}
    for key, value in credentials.items():
        if key not in required + optional:
            errors[f"credentials.{key}"] = (
                f"is not a credential of {provider} (known: {', '.join(required + optional)})"
            )
        elif isinstance(value, bool) or not isinstance(value, str | int) or len(str(value)) > MAX_CREDENTIAL:
            # A number is taken as its text: Kiyoh's location ids are numbers.
            errors[f"credentials.{key}"] = f"must be text of at most {MAX_CREDENTIAL} characters"
        elif not is_line(str(value)):
            errors[f"credentials.{key}"] = LINE_MESSAGE
    for key in required:
        if not str(credentials.get(key) or "").strip():
            errors[f"credentials.{key}"] = "is required"
    if errors:
        raise Refused(errors)
    cleaned = {key: str(value).strip() for key, value in credentials.items() if str(value).strip()}
    account, _created = ProviderAccount.objects.update_or_create(
        shop=shop,
        provider=provider,
        defaults={"credentials": cleaned, "access_token": "", "token_expires_at": None, "updated_at": timezone.now()},
    )
    return account


def remove_account(*, account: ProviderAccount) -> None:
    """Forget the shop's account with a provider, unless an active rule forwards to it."""
    using = InvitationRule.objects.filter(
        event_type__shop=account.shop_id, channel=account.provider, is_active=True
    ).values_list("event_type__key", flat=True)
    if keys := list(using):
        raise Refused(
            {"provider": f"the active rules of {', '.join(keys)} forward to it: change their channel first"},
            conflict=True,
        )
    account.delete()


class ForwardFailed(Exception):
    """The provider could not take the invitation this time: retried with back-off."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a provider is told of an invitation."""

    email: str
    first_name: str
    last_name: str
    reference: str  # the order's
    locale: str  # "de", "nl-BE", ...
    ordered_at: dt.datetime
    delay_unit: str = "days"  # the rule's, for The Feedback Company
    reminder: tuple[int, str] | None = None  # the rule's interval, if it has reminders

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True)
class Call:
    """One forwarding: the client, the account and the time."""

    http: httpx.Client
    account: ProviderAccount
    now: dt.datetime

    @property
    def credentials(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.account.credentials.items()}


def forward(invitation: Outgoing, account: ProviderAccount, now: dt.datetime) -> str:
    """Hand `invitation` to the account's provider; returns the provider's reference of it.

    Raises Permanent for a refusal no retry mends, ForwardFailed (or another exception) for
    one the dispatcher retries.
    """
    send = SENDERS.get(account.provider)
    if send is None:
        raise Permanent(f"{account.provider!r} is not a provider invitations are forwarded to")
    missing = [key for key in CREDENTIALS[account.provider][0] if not account.credentials.get(key)]
    if missing:
        raise Permanent(f"the {account.get_provider_display()} account lacks {', '.join(missing)}")
    try:
        with outbound.client(headers={"Accept": "application/json"}) as http:
            return send(Call(http, account, now), invitation)
    except outbound.Blocked as blocked:
        raise Permanent(f"the provider's URL may not be called from here: {blocked}") from None
    except httpx.HTTPError as error:
        label = account.get_provider_display()
        raise ForwardFailed(f"{label} could not be reached: {error or type(error).__name__}") from None


# --- answers -------------------------------------------------------------------------------------


def said(response: httpx.Response) -> str:
    """The provider's own message in an answer: its error field(s), else the body's start."""
    try:
        body = response.json()
    except ValueError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("errorCode", "message", "Message", "error", "error_description", "details"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        for detail in body.get("detailedError") or []:
            if isinstance(detail, dict) and (message := detail.get("message")) and message not in parts:
                parts.append(str(message))
        if isinstance(errors := body.get("errors"), dict) and not parts:
            parts += [f"{field}: {' '.join(map(str, m))}" for field, m in errors.items()]
    text = ": ".join(parts) if parts else response.text
    return " ".join(text.split())[:MAX_MESSAGE]


def checked(provider: str, response: httpx.Response) -> httpx.Response:
    """A 2xx as it is; else the failure it means (see the module's docstring)."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    label = Provider(provider).label
    message = f"{label} answered {status}: {said(response)}"
    if status == 429 or status >= 500:
        raise ForwardFailed(message)
    if 300 <= status < 400:
        where = response.headers.get("Location", "")
        raise Permanent(f"{label} answered {status} (a redirect to {where!r}): check its base URL setting")
    raise Permanent(message)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _base(url: str) -> str:
    return url.rstrip("/")


# --- tokens --------------------------------------------------------------------------------------


type Fetch = Callable[[Call], tuple[str, int]]  # a new token and its lifetime in seconds
type Send = Callable[[str], httpx.Response]  # the request, with a token


def _token(call: Call, fetch: Fetch, *, fresh: bool = False) -> str:
    """The account's token: the cached one while it lasts (unless `fresh`), else a new one,
    kept in the account."""
    account = call.account
    expires = account.token_expires_at
    if not fresh and account.access_token and expires is not None and expires - TOKEN_MARGIN > call.now:
        return account.access_token
    token, lifetime = fetch(call)
    account.access_token, account.token_expires_at = token, call.now + dt.timedelta(seconds=lifetime)
    ProviderAccount.objects.filter(pk=account.pk).update(
        access_token=account.access_token, token_expires_at=account.token_expires_at
    )
    return token


def _with_token(call: Call, fetch: Fetch, send: Send) -> httpx.Response:
    """`send` with the account's token; refused (401, 403), once more with a fresh one."""
    response = send(_token(call, fetch))
    if response.status_code in (401, 403):
        response = send(_token(call, fetch, fresh=True))
        if response.status_code in (401, 403):
            label = call.account.get_provider_display()
            raise Permanent(f"{label} refused a fresh access token ({response.status_code}): {said(response)}")
    return response


def _issued(provider: str, response: httpx.Response) -> tuple[str, int]:
    """The token in a token endpoint's answer; a refusal of the credentials is permanent."""
    label = Provider(provider).label
    if response.status_code in (400, 401, 403):
        raise Permanent(f"{label} refused the credentials ({response.status_code}): {said(response)}")
    body = _json(checked(provider, response))
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ForwardFailed(f"{label} gave no access token: {said(response)}")
    try:
        lifetime = int(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600
    return token, lifetime


# --- the providers -------------------------------------------------------------------------------


def kiyoh(call: Call, invitation: Outgoing) -> str:
    """Kiyoh's invite API: the invitation goes out now (delay 0); a repeat is done already."""
    credentials = call.credentials
    response = call.http.post(
        f"{_base(settings.KIYOH_BASE_URL)}/v1/invite/external",
        headers={"X-Publication-Api-Token": credentials["api_token"]},
        json={
            "location_id": credentials["location_id"],
            "invite_email": invitation.email,
            "delay": 0,
            "first_name": invitation.first_name,
            "last_name": invitation.last_name,
            "language": invitation.locale.split("-")[0],
            "ref_code": invitation.reference,
        },
    )
    if response.status_code == 400 and _json(response).get("errorCode") == "INVITATION_ALREADY_PLACED":
        return invitation.reference
    if response.status_code in (401, 403):  # a token of its own, no fresh one to fetch
        raise Permanent(f"Kiyoh refused the API token ({response.status_code}): {said(response)}")
    checked(Provider.KIYOH, response)
    return invitation.reference


def _fbc_token(call: Call) -> tuple[str, int]:
    credentials = call.credentials
    response = call.http.get(
        f"{_base(settings.FEEDBACKCOMPANY_BASE_URL)}/api/v2/oauth2/token",
        params={"client_id": credentials["client_id"], "client_secret": credentials["client_secret"]},
    )
    return _issued(Provider.FEEDBACKCOMPANY, response)


def feedbackcompany(call: Call, invitation: Outgoing) -> str:
    """The Feedback Company's order: the invitation due now, its reminder after the rule's interval."""
    unit = FBC_UNITS.get(invitation.delay_unit, "days")
    wait: dict[str, Any] = {"delay": {"unit": unit, "amount": 0}}
    if invitation.reminder is not None:
        amount, reminder_unit = invitation.reminder
        wait["reminder"] = {"unit": FBC_UNITS.get(reminder_unit, "days"), "amount": amount}
    body = {
        "external_id": invitation.reference,
        "customer": {"email": invitation.email, "fullname": invitation.name},
        "invitation": wait,
    }
    url = f"{_base(settings.FEEDBACKCOMPANY_BASE_URL)}/api/v2/orders"
    response = checked(
        Provider.FEEDBACKCOMPANY,
        _with_token(call, _fbc_token, lambda token: call.http.post(url, json=body, headers=_bearer(token))),
    )
    answer = _json(response)
    if answer.get("success") is False:
        raise Permanent(f"The Feedback Company refused the order: {said(response)}")
    order = answer.get("order")
    return str(order.get("external_id") or invitation.reference) if isinstance(order, dict) else invitation.reference


def _etrusted_token(call: Call) -> tuple[str, int]:
    credentials = call.credentials
    response = call.http.post(
        f"{_base(settings.ETRUSTED_LOGIN_URL)}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "audience": ETRUSTED_AUDIENCE,
        },
    )
    return _issued(Provider.ETRUSTED, response)


def etrusted(call: Call, invitation: Outgoing) -> str:
    """An eTrusted checkout event on the shop's channel: eTrusted invites by its own rules."""
    body = {
        "type": "checkout",
        "defaultLocale": invitation.locale.replace("-", "_"),
        "customer": {
            "email": invitation.email,
            "firstName": invitation.first_name,
            "lastName": invitation.last_name,
        },
        "channel": {"id": call.credentials["channel_id"], "type": "etrusted"},
        "transaction": {"reference": invitation.reference, "date": _moment(invitation.ordered_at)},
        "system": "Reputable",
        "systemVersion": "1",
    }
    url = f"{_base(settings.ETRUSTED_BASE_URL)}/events"
    response = checked(
        Provider.ETRUSTED,
        _with_token(call, _etrusted_token, lambda token: call.http.post(url, json=body, headers=_bearer(token))),
    )
    return str(_json(response).get("EventRef") or invitation.reference)


def _trustpilot_token(call: Call) -> tuple[str, int]:
    credentials = call.credentials
    basic = base64.b64encode(f"{credentials['api_key']}:{credentials['api_secret']}".encode()).decode()
    response = call.http.post(
        f"{_base(settings.TRUSTPILOT_API_URL)}/v1/oauth/oauth-business-users-for-applications/accesstoken",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials"},
    )
    return _issued(Provider.TRUSTPILOT, response)


def trustpilot(call: Call, invitation: Outgoing) -> str:
    """A Trustpilot service review invitation, sent now, in the shop's template if it chose one."""
    credentials = call.credentials
    review: dict[str, str] = {"preferredSendTime": call.now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")}
    if credentials.get("template_id"):
        review["templateId"] = credentials["template_id"]
    if credentials.get("redirect_uri"):
        review["redirectUri"] = credentials["redirect_uri"]
    body: dict[str, Any] = {
        "consumerEmail": invitation.email,
        "consumerName": invitation.name or invitation.email,
        "referenceNumber": invitation.reference,
        "locale": _full_locale(invitation.locale),
        "serviceReviewInvitation": review,
    }
    for key, theirs in (("sender_email", "senderEmail"), ("reply_to", "replyTo")):
        if credentials.get(key):
            body[theirs] = credentials[key]
    unit = quote(str(credentials["business_unit_id"]), safe="")  # a path segment, whatever it says
    url = f"{_base(settings.TRUSTPILOT_BASE_URL)}/v1/private/business-units/{unit}/email-invitations"
    checked(
        Provider.TRUSTPILOT,
        _with_token(call, _trustpilot_token, lambda token: call.http.post(url, json=body, headers=_bearer(token))),
    )
    return invitation.reference


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _moment(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _full_locale(locale: str) -> str:
    """Trustpilot's locales name a country ("de-DE"): a bare language gets its own."""
    if "-" in locale:
        language, country = locale.split("-", 1)
        return f"{language.lower()}-{country.upper()}"
    language = locale.lower() or "en"
    return f"{language}-{COUNTRIES.get(language, language.upper())}"


SENDERS: dict[str, Callable[[Call, Outgoing], str]] = {
    Provider.KIYOH: kiyoh,
    Provider.FEEDBACKCOMPANY: feedbackcompany,
    Provider.ETRUSTED: etrusted,
    Provider.TRUSTPILOT: trustpilot,
}
