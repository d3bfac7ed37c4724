"""Webhook endpoints through the API: `/api/v1/webhook-endpoints`, their deliveries and retries.

A secret is in the answer to the endpoint's creation and to a rotation, nowhere else. Each
endpoint calls one action of reputable.webhooks.actions; what it refuses is a 422 naming the
field (a 409 for a retry that cannot be made now).
"""

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from reputable.dashboard.paging import api_position, keyset_page
from reputable.lib.api import ApiError, ErrorOut, FieldError, invalid, refused
from reputable.lib.text import Line
from reputable.shops.access import shop_of, webhook_delivery_of, webhook_endpoint_of
from reputable.webhooks import actions
from reputable.webhooks.events import EVENT_TYPES
from reputable.webhooks.models import Delivery, Endpoint

router = Router(tags=["webhooks"])

TYPES = ", ".join(f"`{t}`" for t in EVENT_TYPES)


class EndpointIn(Schema):
    url: str = Field(max_length=2000, description="Where to POST: an http or https URL on the public internet")
    event_types: list[str] = Field(description=f"The event types it receives: {TYPES}")
    description: Line = Field(default="", max_length=200)


class EndpointPatch(Schema):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = None
    description: Line | None = Field(default=None, max_length=200)
    disabled: bool | None = Field(default=None, description="`true` stops deliveries; `false` starts them again")


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    disabled: bool
    disabled_reason: str = Field(description="Why it was disabled (410, failing for 5 days, the shop)")
    failing_since: dt.datetime | None = Field(description="The first failed try since the last success")
    previous_secret_expires_at: dt.datetime | None = Field(
        description="After a rotation: until when the previous secret signs too"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`): shown in this answer only")


class AttemptOut(Schema):
    at: dt.datetime
    response_status: int | None
    response_body: str = Field(description="The first KB of the answer's body")
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    id: int
    message_id: str = Field(description="The `webhook-id`, the same on every try")
    event_type: str
    status: str = Field(description="`pending`, `succeeded` or `failed`")
    attempts: int = Field(description="Tries made so far")
    next_try_at: dt.datetime | None = Field(description="When it is tried next, while pending")
    last_try_at: dt.datetime | None
    response_status: int | None = Field(description="The last try's HTTP status; null when none came back")
    response_body: str = Field(description="The first KB of the last answer's body")
    duration_ms: int | None = Field(description="How long the last try took")
    last_error: str
    created_at: dt.datetime
    payload: dict[str, Any] = Field(description="The body sent: `type`, `timestamp`, `data`")
    tries: list[AttemptOut]


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(Schema):
    cursor: Line | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)
    status: str | None = Field(default=None, description="`pending`, `succeeded` or `failed`")


def endpoint_out(endpoint: Endpoint) -> dict[str, Any]:
    fields = ("id", "url", "description", "event_types", "disabled", "disabled_reason", "failing_since")
    return {
        **{f: getattr(endpoint, f) for f in fields},
        "previous_secret_expires_at": endpoint.previous_secret_until if endpoint.previous_secret else None,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the API and the dashboard show it (with its message and its tries)."""
    pending = delivery.status == Delivery.Status.PENDING
    return {
        "id": delivery.pk,
        "message_id": delivery.message.uid,
        "event_type": delivery.message.event_type,
        "status": delivery.status,
        "attempts": delivery.tries,
        "next_try_at": delivery.due_at if pending else None,
        **{f: getattr(delivery, f) for f in ("last_try_at", "response_status", "response_body", "duration_ms")},
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "payload": json.loads(delivery.message.body),
        "tries": list(delivery.attempts_made.values("at", "response_status", "response_body", "duration_ms", "error")),
    }


def _refused(error: actions.Refused) -> ApiError:
    return refused(error.fields)


@router.post(
    "/webhook-endpoints",
    response={201: EndpointSecretOut, 422: ErrorOut},
    summary="Add a webhook endpoint",
    description="The answer carries the signing secret, once. Deliveries follow the Standard Webhooks "
    "specification: headers `webhook-id`, `webhook-timestamp`, `webhook-signature`.",
)
def create_endpoint(request: HttpRequest, payload: EndpointIn) -> Status[dict[str, Any]]:
    try:
        endpoint = actions.create_endpoint(shop=shop_of(request), now=timezone.now(), **payload.dict())
    except actions.Refused as error:
        raise _refused(error) from None
    return Status(201, {**endpoint_out(endpoint), "secret": endpoint.secret})


@router.get("/webhook-endpoints", response=list[EndpointOut], summary="The shop's webhook endpoints")
def list_endpoints(request: HttpRequest) -> list[dict[str, Any]]:
    return [endpoint_out(e) for e in Endpoint.objects.filter(shop=shop_of(request))]


@router.get("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, 404: ErrorOut}, summary="An endpoint")
def get_endpoint(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    return endpoint_out(webhook_endpoint_of(shop_of(request), endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response={200: EndpointOut, 404: ErrorOut, 422: ErrorOut},
    summary="Change an endpoint's URL, event types or description, or disable or enable it",
    description="Disabling fails its pending deliveries; enabling clears why it was disabled. Failed "
    "deliveries are sent again by retrying them.",
)
def update_endpoint(request: HttpRequest, endpoint_id: int, payload: EndpointPatch) -> dict[str, Any]:
    endpoint = webhook_endpoint_of(shop_of(request), endpoint_id)
    try:
        endpoint = actions.change_endpoint(endpoint=endpoint, now=timezone.now(), **payload.dict(exclude_unset=True))
    except actions.Refused as error:
        raise _refused(error) from None
    return endpoint_out(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    response={204: None, 404: ErrorOut},
    summary="Delete an endpoint and its deliveries",
)
def delete_endpoint(request: HttpRequest, endpoint_id: int) -> Status[None]:
    actions.delete_endpoint(endpoint=webhook_endpoint_of(shop_of(request), endpoint_id))
    return Status(204, None)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response={200: EndpointSecretOut, 404: ErrorOut},
    summary="Rotate an endpoint's signing secret",
    description="The new secret signs from now on; for 24 hours the previous one signs too (two "
    "signatures in `webhook-signature`), so the receiver can change over without losing a message.",
)
def rotate_secret(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    endpoint = actions.rotate_secret(endpoint=webhook_endpoint_of(shop_of(request), endpoint_id), now=timezone.now())
    return {**endpoint_out(endpoint), "secret": endpoint.secret}


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response={200: DeliveryPage, 404: ErrorOut, 422: ErrorOut},
    summary="An endpoint's deliveries, newest first",
    description="Follow `next_cursor` (pass it as `cursor`) for the next page.",
)
def list_deliveries(request: HttpRequest, endpoint_id: int, filters: Query[DeliveryFilters]) -> dict[str, Any]:
    endpoint = webhook_endpoint_of(shop_of(request), endpoint_id)
    position = api_position(filters.cursor)
    rows = Delivery.objects.filter(endpoint=endpoint)
    if filters.status is not None:
        if filters.status not in Delivery.Status.values:
            raise invalid("status", "must be pending, succeeded or failed")
        rows = rows.filter(status=filters.status)
    found = keyset_page(rows, "id", position, filters.limit)
    by_id = Delivery.objects.select_related("message").in_bulk(found.keys)
    return {"items": [delivery_out(by_id[pk]) for pk in found.keys], "next_cursor": found.older}


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    response={202: DeliveryOut, 404: ErrorOut, 409: ErrorOut},
    summary="Deliver again, at once",
    description="With the same `webhook-id`, and the retry schedule from its start. Refused (409) while the "
    "delivery is pending or the endpoint is disabled.",
)
def retry_delivery(request: HttpRequest, endpoint_id: int, delivery_id: int) -> Status[dict[str, Any]]:
    endpoint = webhook_endpoint_of(shop_of(request), endpoint_id)
    delivery = webhook_delivery_of(endpoint, delivery_id)
    try:
        delivery = actions.retry_delivery(delivery=delivery, now=timezone.now())
    except actions.Refused as error:
        fields = [FieldError(field=f, message=m) for f, m in error.fields.items()]
        raise ApiError(409, "conflict", str(error), fields) from None
    return Status(202, delivery_out(delivery))
