"""Event ingestion and event types: `/api/v1/events`, `/api/v1/event-types`."""

import datetime as dt
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema, Status
from pydantic import TypeAdapter, ValidationError

from reputable.events.actions import Recorded, Rejected, record_events
from reputable.events.models import Event, EventType
from reputable.events.schemas import EventIn, EventOut, InvitationOut
from reputable.lib.api import ApiError, ErrorOut, FieldError, field_errors, invalid, invalid_fields
from reputable.lib.text import Line
from reputable.shops.access import event_type_of, shop_of, transaction_of

router = Router(tags=["events"])

MAX_BATCH = 1000


def event_out(recorded: Recorded) -> dict[str, Any]:
    invitation = recorded.invitation
    return {
        "event_id": recorded.event_id,
        "transaction_reference": recorded.reference,
        "outcome": recorded.outcome,
        "invitation": (
            {"id": invitation.id, "status": invitation.status, "send_at": invitation.send_at} if invitation else None
        ),
    }


@router.post(
    "/events",
    response={200: EventOut, 202: EventOut, 422: ErrorOut},
    summary="Report one transaction event",
    description="202 when stored; 200 with the first answer when the same event (shop, type, "
    "transaction reference) was stored before.",
)
def post_event(request: HttpRequest, payload: EventIn) -> HttpResponse:
    [answer] = record_events(shop=shop_of(request), events=[payload])
    if isinstance(answer, Rejected):
        raise invalid(answer.field, answer.message)
    # Built here rather than validated against EventOut again: this is the hot path.
    return JsonResponse(event_out(answer), status=202 if answer.created else 200)


class BatchIn(Schema):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class BatchItemOut(Schema):
    index: int
    status: int
    event: EventOut | None = None
    error: ErrorOut | None = None


class BatchOut(Schema):
    created: int
    duplicates: int
    rejected: int
    results: list[BatchItemOut]


@router.post(
    "/events/batch",
    response={200: BatchOut, 422: ErrorOut},
    summary="Report up to 1,000 events",
    description="Each item is answered on its own: status 202 (stored), 200 (stored before) or "
    "422 (rejected, with the failing fields; nothing of it is stored).",
)
def post_events_batch(request: HttpRequest, payload: BatchIn) -> HttpResponse:
    try:  # all valid, as a shop system's batches usually are: one pass in pydantic's core
        parsed: list[EventIn | ApiError] = list(EVENT_LIST.validate_python(payload.events))
    except ValidationError:
        parsed = [_parse_one(raw) for raw in payload.events]
    events = [(index, item) for index, item in enumerate(parsed) if isinstance(item, EventIn)]
    answers = record_events(shop=shop_of(request), events=[event for _index, event in events])
    results: list[dict[str, Any]] = [
        {"index": index, "status": item.status, "event": None, "error": item.body()}
        if isinstance(item, ApiError)
        else {}
        for index, item in enumerate(parsed)
    ]
    for (index, _event), answer in zip(events, answers, strict=True):
        if isinstance(answer, Rejected):
            error = invalid(answer.field, answer.message)
            results[index] = {"index": index, "status": error.status, "event": None, "error": error.body()}
        else:
            status = 202 if answer.created else 200
            results[index] = {"index": index, "status": status, "event": event_out(answer), "error": None}
    body = {
        "created": sum(1 for r in results if r["status"] == 202),
        "duplicates": sum(1 for r in results if r["status"] == 200),
        "rejected": sum(1 for r in results if r["status"] >= 400),
        "results": results,
    }
    # Built here rather than validated against BatchOut again: a thousand items per request.
    return JsonResponse(body)


EVENT_LIST = TypeAdapter(list[EventIn])


def _parse_one(raw: dict[str, Any]) -> EventIn | ApiError:
    try:
        return EventIn.model_validate(raw)
    except ValidationError as error:
        return invalid_fields(field_errors(error.errors()))


class EventTypeOut(Schema):
    key: str
    name: str
    is_active: bool
    is_stop: bool
    is_builtin: bool


class EventTypeIn(Schema):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    name: Line = Field(min_length=1, max_length=100)
    is_active: bool = True
    is_stop: bool = False


class EventTypePatch(Schema):
    name: Line | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None


@router.get("/event-types", response=list[EventTypeOut], summary="List event types")
def list_event_types(request: HttpRequest) -> Any:
    return EventType.objects.filter(shop=shop_of(request))


@router.post("/event-types", response={201: EventTypeOut, 409: ErrorOut, 422: ErrorOut}, summary="Add an event type")
def create_event_type(request: HttpRequest, payload: EventTypeIn) -> Status[EventType]:
    try:
        with db_transaction.atomic():
            event_type = EventType.objects.create(shop=shop_of(request), **payload.dict())
    except IntegrityError:
        raise ApiError(
            409,
            "event_type_exists",
            f"this shop already has an event type {payload.key!r}",
            [FieldError(field="key", message="already exists")],
        ) from None
    return Status(201, event_type)


@router.patch(
    "/event-types/{key}",
    response={200: EventTypeOut, 404: ErrorOut, 422: ErrorOut},
    summary="Rename, activate or deactivate an event type",
)
def update_event_type(request: HttpRequest, key: Line, payload: EventTypePatch) -> EventType:
    event_type = event_type_of(shop_of(request), key)
    for field, value in payload.dict(exclude_unset=True).items():
        if value is None:
            raise invalid(field, "must not be null")
        setattr(event_type, field, value)
    event_type.save()
    return event_type


class TransactionEventOut(Schema):
    id: int
    type: str
    outcome: str
    received_at: dt.datetime


class TransactionProductOut(Schema):
    sku: str
    name: str
    gtin: str
    mpn: str
    brand: str
    url: str
    image_url: str


class TransactionInvitationOut(InvitationOut):
    sent_count: int
    last_error: str = Field(description="Why the last attempt failed (a provider's refusal too); empty if none")
    forwarded_to: str = Field(description="The provider the invitation was forwarded to; empty for Reputable's email")
    forwarded_ref: str = Field(description="The provider's reference of the forwarded invitation")


class TransactionOut(Schema):
    reference: str
    date: dt.datetime
    email: str
    invitation: TransactionInvitationOut | None
    events: list[TransactionEventOut]
    products: list[TransactionProductOut] = Field(description="What was bought, by SKU (empty texts: not reported)")


@router.get(
    "/transactions/{path:reference}",
    response={200: TransactionOut, 404: ErrorOut},
    summary="A transaction, its events and why it was (not) invited",
)
def get_transaction(request: HttpRequest, reference: Line) -> dict[str, Any]:
    tx = transaction_of(shop_of(request), reference)
    invitation = getattr(tx, "invitation", None)
    return {
        "reference": tx.reference,
        "date": tx.date,
        "email": tx.email,
        "invitation": invitation,
        "events": [
            {"id": e.pk, "type": e.event_type.key, "outcome": e.outcome, "received_at": e.received_at}
            for e in Event.objects.filter(transaction=tx).select_related("event_type")
        ],
        "products": tx.products.order_by("key").values(*TransactionProductOut.model_fields),
    }
