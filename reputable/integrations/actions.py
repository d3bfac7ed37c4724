"""Writes of the integrations: connectors made, paused and remapped, deliveries taken.

`take` is where every connector's orders go: the merchant's mapping picks the event type,
`record_events` (the one write path for events) stores them, and the delivery is logged once
(a replay of the same platform id is not taken again).
"""

import logging
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.utils import timezone
from pydantic import ValidationError as Invalid

from reputable.events.actions import Recorded, Rejected, record_events
from reputable.events.schemas import EventIn
from reputable.integrations.models import Connector, Delivery, Platform
from reputable.integrations.platforms import PLATFORMS, Pull, Received, platform_of
from reputable.lib import outbound, sql
from reputable.lib.emails import one_line
from reputable.shops.models import Shop

log = logging.getLogger("reputable.integrations")


class Refused(Exception):
    """A connector the domain does not take: a message per field (English, as the API answers)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in fields.items()))
        self.fields = fields


def create_connector(
    *, shop: Shop, platform: str, secret: str = "", base_url: str = "", access_token: str = ""
) -> Connector:
    """A new connector of `shop` to `platform`. Shopify makes the signing secret and the merchant
    copies it here; for the others a secret is made unless one is given."""
    if platform not in PLATFORMS:
        raise Refused({"platform": f"must be one of {', '.join(sorted(PLATFORMS))}"})
    errors = {}
    if platform == Platform.SHOPIFY and not secret:
        errors["secret"] = "Shopify's webhook signing secret is required"
    if platform == Platform.MAGENTO2:
        if not base_url:
            errors["base_url"] = "the Magento shop's base URL is required"
        elif why := outbound.check_url(base_url):
            errors["base_url"] = why
        if not access_token:
            errors["access_token"] = "the integration's access token is required"
    if errors:
        raise Refused(errors)
    connector = Connector(
        shop=shop,
        platform=platform,
        secret=secret or secrets.token_urlsafe(32),
        base_url=base_url,
        access_token=access_token,
        next_pull_at=timezone.now() if isinstance(PLATFORMS[platform], Pull) else None,
    )
    try:
        connector.full_clean(exclude=["shop", "key", "mapping", "state"])
    except ValidationError as error:  # a URL or a length the columns do not take
        raise Refused({f: "; ".join(ms) for f, ms in error.message_dict.items()}) from None
    connector.save()
    return connector


# The replay check, on every webhook: in plain SQL (the ORM's exists() cost a tenth of a
# Shopify delivery), and with the condition of the partial unique index
# one_delivery_per_platform_id written as the index has it, so that SQLite searches that
# index instead of walking all of the connector's deliveries (a delivery slower with each one).
_SEEN = (
    f"SELECT 1 FROM {sql.table(Delivery)}"
    """ WHERE connector_id = %s AND dedupe_key = %s AND NOT ("dedupe_key" = '') LIMIT 1"""
)


def _taken_before(connector: Connector, dedupe_key: str) -> bool:
    with connection.cursor() as cursor:
        return bool(sql.Statements(cursor).fetch(_SEEN, [connector.pk, dedupe_key]))


def take(*, connector: Connector, received: Received) -> Delivery | None:
    """Record the orders of a verified delivery and log it; None for a replay (taken before)."""
    if received.dedupe_key and _taken_before(connector, received.dedupe_key):
        return None
    platform = platform_of(connector)
    delivery = Delivery(connector=connector, topic=received.topic[:100], dedupe_key=received.dedupe_key[:200])
    events: list[EventIn] = []
    notes: list[str] = []
    references: list[str] = []
    if received.ignored:
        notes.append(received.ignored)
    for order in received.orders:
        reference = str(order.event.get("transaction", {}).get("reference", ""))
        references.append(reference)
        event_type = platform.event_type(connector, order.stage)
        if not event_type:
            notes.append(f"{reference}: {order.stage!r} maps to no event type")
            continue
        try:
            events.append(EventIn.model_validate({**order.event, "type": event_type}))
        except Invalid as error:
            failing = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            notes.append(f"{reference}: {failing}")
            delivery.outcome = Delivery.Outcome.FAILED
    answers = record_events(shop=connector.shop, events=events) if events else []
    for event, answer in zip(events, answers, strict=True):
        if isinstance(answer, Rejected):
            notes.append(f"{event.transaction.reference}: {answer.field} {answer.message}")
            if answer.field != "type":  # an event type switched off is the merchant's choice
                delivery.outcome = Delivery.Outcome.FAILED
    recorded = [a for a in answers if isinstance(a, Recorded)]
    delivery.events = sum(a.created for a in recorded)
    if not delivery.outcome:
        delivery.outcome = Delivery.Outcome.RECORDED if recorded else Delivery.Outcome.IGNORED
    delivery.references = ",".join(dict.fromkeys(r for r in references if r))[:500]
    delivery.message = one_line("; ".join(notes))[:2000]
    if delivery.outcome != Delivery.Outcome.RECORDED:
        log.info("connector %s: %s %s: %s", connector.pk, received.topic, delivery.outcome, delivery.message)
    try:
        with db_transaction.atomic():
            delivery.save()
    except IntegrityError:  # the same delivery, taken meanwhile by another request
        return None
    return delivery


def set_status(*, connector: Connector, status: str) -> None:
    """Pause or resume a connector; a resumed pull connector is due at once."""
    connector.status = status
    fields = ["status"]
    if status == Connector.Status.ACTIVE and isinstance(platform_of(connector), Pull):
        connector.next_pull_at, connector.attempts, connector.last_error = timezone.now(), 0, ""
        fields += ["next_pull_at", "attempts", "last_error"]
    connector.save(update_fields=fields)


def _mapping_errors(connector: Connector, mapping: dict[str, str]) -> dict[str, str]:
    platform = platform_of(connector)
    errors = {f"mapping.{s}": f"is not a stage of {platform.name}" for s in mapping if s not in platform.stages}
    known = set(connector.shop.event_types.values_list("key", flat=True))
    for stage, event_type in mapping.items():
        if event_type and event_type not in known:
            errors[f"mapping.{stage}"] = f"{event_type!r} is not an event type of this shop"
    return errors


def set_mapping(*, connector: Connector, mapping: dict[str, str]) -> None:
    """Remap the connector's stages: each stage to an active or inactive event type, or "" to ignore it."""
    if errors := _mapping_errors(connector, mapping):
        raise Refused(errors)
    connector.mapping = mapping
    connector.save(update_fields=["mapping"])


# What a merchant may set: `failed` is the dispatcher's verdict on a pull, left by resuming.
CHOSEN_STATUSES = (Connector.Status.ACTIVE, Connector.Status.PAUSED)


def change_connector(*, connector: Connector, status: str | None = None, mapping: dict[str, str] | None = None) -> None:
    """The merchant pauses or resumes a connector and/or remaps its stages (the new mapping
    replaces the old one): all of it, or nothing when any of it is refused."""
    errors = _mapping_errors(connector, mapping) if mapping is not None else {}
    if status is not None and status not in CHOSEN_STATUSES:
        errors["status"] = f"must be one of {', '.join(CHOSEN_STATUSES)}"
    if errors:
        raise Refused(errors)
    with db_transaction.atomic():
        if mapping is not None:
            set_mapping(connector=connector, mapping=mapping)
        if status is not None and status != connector.status:
            set_status(connector=connector, status=status)
