"""Access tokens of the compatible endpoints (The Feedback Company, eTrusted, Kiyoh).

Kiyoh's clients send their token itself with each request (`grant_for_api_key`): there it is
one of the shop's API keys. The others' clients trade a client id and secret for an access
token and send it as `Authorization: Bearer <token>`. Here the client id is the shop's slug and the secret one of
its API keys. The token is not the key: it names the key (its id and a fingerprint of its
stored hash) and is signed with the installation's SECRET_KEY, with a timestamp, so it
expires; and it is checked against the key on every use, so revoking the key revokes every
token made from it. Nothing is stored.

Wrong credentials and unknown tokens count as failed attempts of the address, as wrong API
keys do (reputable.lib.ratelimit). Each API renders a `Denied` in its own error shape.
"""

import datetime as dt
import hmac
from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

from reputable.lib import ratelimit
from reputable.lib.tokens import hash_secret
from reputable.shops.access import READING, Grant, grant_for_key
from reputable.shops.models import ApiKey


@dataclass(frozen=True)
class Audience:
    """One compatible API: its tokens are signed apart from the other's, and live this long."""

    name: str
    lifetime: dt.timedelta

    @property
    def signer(self) -> signing.TimestampSigner:
        return signing.TimestampSigner(salt=f"reputable.integrations.compat.{self.name}")


@dataclass(frozen=True)
class Issued:
    token: str
    expires_in: int  # seconds
    expires_at: dt.datetime


class Denied(Exception):  # noqa: N818 - raised as `raise Denied(401, "...")`
    """A request refused: its HTTP status, an English message, and Retry-After for a 429."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def _fingerprint(key: ApiKey | str) -> str:
    """A one-way digest of the key's stored hash: a new key never matches an old token."""
    hashed = key.hashed_key if isinstance(key, ApiKey) else key
    return hash_secret(hashed)[:24]


def _too_many(retry_after: int) -> Denied:
    return Denied(
        429, f"too many failed attempts from this address; try again in {retry_after} s", retry_after=retry_after
    )


def _failed(request: HttpRequest, message: str) -> Denied:
    """A 401 for a failed attempt, counted; a 429 once the address is past its limit."""
    if retry_after := ratelimit.failed("api-key", request):
        return _too_many(retry_after)
    return Denied(401, message)


def issue_token(request: HttpRequest, audience: Audience, *, client_id: str, client_secret: str) -> Issued:
    """A token for the live API key `client_secret` of the shop whose slug is `client_id`."""
    if retry_after := ratelimit.blocked("api-key", request):
        raise _too_many(retry_after)
    grant = grant_for_key(client_secret) if client_id and client_secret else None
    if grant is None or not hmac.compare_digest(grant.shop.slug.encode(), client_id.encode()):
        raise _failed(request, "unknown client_id or client_secret")
    # The key's stored hash is the hash of the secret just checked.
    token = audience.signer.sign(f"{grant.key_id}.{_fingerprint(hash_secret(client_secret))}")
    lifetime = int(audience.lifetime.total_seconds())
    return Issued(token=token, expires_in=lifetime, expires_at=timezone.now() + audience.lifetime)


def grant_for_token(request: HttpRequest, audience: Audience) -> Grant:
    """The shop and scopes the request's bearer token acts for, within the scope its method needs."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Denied(401, "an access token is required: Authorization: Bearer <token>")
    try:
        key_id, _, fingerprint = audience.signer.unsign(token.strip(), max_age=audience.lifetime).partition(".")
    except signing.SignatureExpired:
        raise Denied(401, "the access token has expired; request a new one") from None
    except signing.BadSignature:
        raise _failed(request, "the access token is not valid") from None
    key = ApiKey.objects.select_related("shop").filter(pk=int(key_id), revoked_at=None).first()
    if key is None or not hmac.compare_digest(_fingerprint(key), fingerprint):
        raise Denied(401, "the API key of this access token was revoked")
    needed = "read" if request.method in READING else "write"
    if needed not in key.scope_list:
        raise Denied(403, f"the API key of this access token lacks the {needed!r} scope")
    return Grant(shop=key.shop, scopes=frozenset(key.scope_list), key_id=key.pk)


def grant_for_api_key(request: HttpRequest, key: str, *, needed: str) -> Grant:
    """The shop and scopes of the API key a client sends as its token, if it has the scope
    `needed` ("read" or "write": the method does not say, a legacy client invites with a GET).

    As for the API's keys, only a wrong key counts as a failed attempt and reads the count.
    """
    if not key:
        raise Denied(401, "a token is required")
    grant = grant_for_key(key)
    if grant is None:
        raise _failed(request, "the token is not a valid API key")
    if needed not in grant.scopes:
        raise Denied(403, f"the API key lacks the {needed!r} scope")
    return grant


def their_name(field: str, names: dict[str, str]) -> str:
    """Our field's name (`customer.email`) as the client named it, by the prefixes `names`
    gives (ours -> theirs); a field not named there keeps its name."""
    for ours, theirs in names.items():
        if field == ours or field.startswith(f"{ours}."):
            return theirs + field[len(ours) :]
    return field
