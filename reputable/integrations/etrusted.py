"""The eTrusted (Trusted Shops) API, spoken at `/compat/etrusted/`: shop modules and ERPs
written for it work with Reputable once their login and API base URLs are changed.

- `POST oauth/token` (a form: `grant_type=client_credentials`, `client_id=<shop slug>`,
  `client_secret=<API key>`, and the `audience` their clients send, which is not checked):
  an access token as their login server answers it (reputable.integrations.compat_auth).
- `POST events`: an event in their field names, recorded through `record_events`. Its `type`
  is an event type of the shop by key (their accounts name types as ours do: `checkout`,
  `delivery`, ...); one the shop does not have is refused. A missing `transaction.date` is
  now. `channel`, `system`, `systemVersion`, `metadata` and the customer's `mobile`,
  `address` and `reference` are read and not kept (a shop has one channel here). It answers
  202 with `EventRef`, an id made from our event's, so a repeat gets the same answer.

Errors are theirs: `{"Message": ...}` for the events API; `error` and `error_description`
(RFC 6749) for the token.
"""

import datetime as dt
import json
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as Invalid

from reputable.events.actions import Rejected, record_events
from reputable.events.schemas import EventIn
from reputable.integrations.compat_auth import Audience, Denied, grant_for_token, issue_token
from reputable.lib.api import field_errors

# Their clients cache a token for its `expires_in` and log in again after.
AUDIENCE = Audience("etrusted", dt.timedelta(hours=1))
# EventRefs are UUIDs in this namespace, named by our event's id.
EVENT_REFS = uuid.UUID("5d0f4a8e-2b7c-4e51-9a36-0c8e1f2b7d94")

# Our field names in theirs, part by part: an error names the field the client sent.
THEIR_NAMES = {
    "first_name": "firstName",
    "last_name": "lastName",
    "estimated_delivery_date": "estimatedDeliveryDate",
    "image_url": "imageUrl",
}


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Customer(Loose):
    email: str  # checked as an address by EventIn
    firstName: str | None = None  # noqa: N815 - their field names
    lastName: str | None = None  # noqa: N815


class Channel(Loose):
    id: str | None = None
    type: str | None = None


class Transaction(Loose):
    reference: str | int
    date: str | None = None


class Product(Loose):
    name: str | None = None
    sku: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    brand: str | None = None
    url: str | None = None
    imageUrl: str | None = None  # noqa: N815


class EventRequest(Loose):
    """An event as their clients post it: the shape only; EventIn checks the values."""

    type: str
    defaultLocale: str | None = None  # noqa: N815 - "de_DE"
    customer: Customer
    channel: Channel | None = None
    transaction: Transaction
    estimatedDeliveryDate: str | None = None  # noqa: N815
    products: list[Product] = Field(default_factory=list)
    system: str | None = None
    systemVersion: str | None = None  # noqa: N815
    metadata: dict[str, Any] | None = None

    def event(self) -> EventIn:
        return EventIn.model_validate(
            {
                "type": self.type,
                "transaction": {
                    "reference": self.transaction.reference,
                    "date": self.transaction.date or timezone.now(),
                },
                "customer": {
                    "email": self.customer.email,
                    "first_name": self.customer.firstName,
                    "last_name": self.customer.lastName,
                    "locale": (self.defaultLocale or "").replace("_", "-"),
                },
                "estimated_delivery_date": self.estimatedDeliveryDate or None,
                "products": [
                    {
                        "name": p.name,
                        "sku": p.sku,
                        "gtin": p.gtin,
                        "mpn": p.mpn,
                        "brand": p.brand,
                        "url": p.url or None,
                        "image_url": p.imageUrl or None,
                    }
                    for p in self.products
                ],
            }
        )


def _theirs(field: str) -> str:
    if field == "customer.locale":
        return "defaultLocale"
    return ".".join(THEIR_NAMES.get(part, part) for part in field.split("."))


def _message(status: int, message: str, *, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({"Message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def event_ref(event_id: int) -> str:
    return f"evt-{uuid.uuid5(EVENT_REFS, str(event_id))}"


@csrf_exempt  # no cookies: the credentials are in the request
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    grant_type = request.POST.get("grant_type", "")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    try:
        issued = issue_token(
            request,
            AUDIENCE,
            client_id=request.POST.get("client_id", ""),
            client_secret=request.POST.get("client_secret", ""),
        )
    except Denied as denied:
        if denied.status == 429:
            return _oauth_error(429, "too_many_attempts", denied.message, retry_after=denied.retry_after)
        return _oauth_error(401, "invalid_client", denied.message)
    response = JsonResponse(
        {
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "scope": "",
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def _oauth_error(status: int, error: str, description: str, *, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt  # a bearer token, not a session
@require_POST
def events(request: HttpRequest) -> JsonResponse:
    try:
        shop = grant_for_token(request, AUDIENCE).shop
    except Denied as denied:
        if denied.status == 401:
            return _message(401, f"Access to this resource is forbidden: {denied.message}")
        return _message(denied.status, denied.message, retry_after=denied.retry_after)
    try:
        body = json.loads(request.body)
    except ValueError:
        return _message(400, "Invalid request: the body is not JSON")
    try:
        event = EventRequest.model_validate(body).event()
    except Invalid as error:
        failing = "; ".join(f"{_theirs(f.field)}: {f.message}" for f in field_errors(error.errors()))
        return _message(400, f"Invalid request: {failing}")
    [answer] = record_events(shop=shop, events=[event])
    if isinstance(answer, Rejected):
        return _message(400, f"Invalid request: {_theirs(answer.field)}: {answer.message}")
    ref = event_ref(answer.event_id)
    return JsonResponse({"Message": f"Your event (`{ref}`) was accepted for processing.", "EventRef": ref}, status=202)


app_name = "etrusted"

urlpatterns = [
    path("oauth/token", token, name="token"),
    path("events", events, name="events"),
]
