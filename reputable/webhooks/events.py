"""The event types of outgoing webhooks, and `emit`: the one way a change makes a message.

`emit(shop, [(type, data), ...])` is called inside the transaction of the change. It reads the
shop's enabled endpoints (one query) and, when any listens to one of the types, writes the
messages and one delivery per listening endpoint, in that transaction: a change rolled back
leaves no message, and a change stored has its messages. A shop without endpoints costs that
one query. The body of a message is `{"type", "timestamp", "data"}` (Standard Webhooks), fixed
when it is made.
"""

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction as db_transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reputable.shops.models import Shop
from reputable.webhooks.models import Delivery, Endpoint, Message

# Each event type, and what it tells of (the dashboard's labels; `data` is in the README).
EVENT_TYPES: dict[str, str | Promise] = {
    "event.received": _("A transaction event was recorded"),
    "invitation.scheduled": _("An invitation was scheduled"),
    "invitation.sent": _("An invitation or a reminder went out (or was handed to a provider)"),
    "invitation.failed": _("An invitation was given up on, with the last error"),
    "invitation.cancelled": _("An invitation was cancelled (a stop event, the shop, an erasure)"),
    "invitation.suppressed": _("An invitation was stopped because its address objected, bounced or complained"),
    "review.created": _("A review was published"),
    "review.updated": _("A review was changed by its reviewer, redacted or reinstated"),
    "review.removed": _("A review was taken down (a stub stays in its place) or restricted pending a decision"),
    "reply.created": _("The shop replied to a review in public"),
    "reply.updated": _("The shop changed its public reply"),
    "message.received": _("A reviewer wrote to the shop in private"),
    "dispute.opened": _("The shop opened a dispute about a review"),
    "dispute.decided": _("A moderator decided a dispute (or its appeal)"),
}


def new_uid() -> str:
    """A message's `webhook-id`: "msg_" and 128 random bits."""
    return "msg_" + secrets.token_urlsafe(16)


def body(event_type: str, data: Mapping[str, Any], timestamp: dt.datetime) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"), "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def listening(shop_id: int) -> list[tuple[int, list[str]]]:
    """The shop's enabled endpoints and the event types each listens to."""
    return list(
        Endpoint.objects.filter(shop_id=shop_id, disabled_at=None).order_by("pk").values_list("pk", "event_types")
    )


def listened_to(shop_ids: Iterable[int]) -> dict[int, set[str]]:
    """The event types some enabled endpoint of each shop listens to: for the dispatcher, which
    skips the transaction of a message nobody listens to (`emit` checks again inside it)."""
    types: dict[int, set[str]] = {}
    rows = Endpoint.objects.filter(shop_id__in=list(shop_ids), disabled_at=None).values_list("shop_id", "event_types")
    for shop_id, event_types in rows:
        types.setdefault(shop_id, set()).update(event_types)
    return types


def listens(shop_id: int, event_type: str) -> bool:
    """Whether an enabled endpoint of the shop listens to `event_type`: to skip building the data
    of a message nobody would get."""
    return any(event_type in types for _pk, types in listening(shop_id))


def emit(shop: Shop | int, events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Message]:
    """Messages of `events` ((type, data) pairs) for the endpoints listening, in the caller's
    transaction. Returns the messages made (none when no endpoint listens)."""
    if not db_transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() belongs inside the transaction of the change it tells about")
    shop_id = shop if isinstance(shop, int) else shop.pk
    events = list(events)
    unknown = {event_type for event_type, _data in events} - EVENT_TYPES.keys()
    if unknown:
        raise ValueError(f"unknown webhook event types: {sorted(unknown)}")
    endpoints = listening(shop_id) if events else []
    if not endpoints:
        return []
    now = timezone.now()
    made: list[tuple[Message, list[int]]] = []
    for event_type, data in events:
        to = [pk for pk, types in endpoints if event_type in types]
        if to:
            message = Message(shop_id=shop_id, uid=new_uid(), event_type=event_type, body=body(event_type, data, now))
            made.append((message, to))
    if not made:
        return []
    messages = Message.objects.bulk_create([message for message, _to in made])
    Delivery.objects.bulk_create(
        Delivery(endpoint_id=pk, message=message, due_at=now, created_at=now) for message, to in made for pk in to
    )
    return messages
