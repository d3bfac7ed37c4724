"""Recording the events shop systems report: `record_events`, the one write path for events.

Every source of events (the API, connectors, CSV imports, compatible endpoints, the demo)
parses its input into `EventIn` and calls `record_events`, which applies the rules of
ingestion and stores what they take.
"""

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.events.models import Event, EventType, Transaction, TransactionProduct
from reputable.events.schemas import EventIn
from reputable.invitations.actions import InvitationPlanner, PlannedInvitation
from reputable.invitations.models import Invitation, InvitationRule
from reputable.lib import sql
from reputable.lib.dates import EARLIEST, MAX_DELAY, DelayUnit, load_holidays, time_zone
from reputable.reviews import counters
from reputable.reviews.models import Product
from reputable.shops.models import Shop
from reputable.webhooks.events import emit

Outcome = Event.Outcome

# A transaction dated later than this is a clock or data error, not an order.
FUTURE_TOLERANCE = dt.timedelta(days=1)
# An estimated delivery further ahead than this is a data error.
DELIVERY_HORIZON = dt.timedelta(days=2 * 366)


@dataclass
class IncomingTransaction:
    """A transaction as ingestion needs it: stored before (`new` False) or created now."""

    id: int
    reference: str
    date: dt.datetime
    email: str
    locale: str
    new: bool


class ActiveType(NamedTuple):
    """An active event type of a shop, with its active invitation rule if it has one."""

    id: int
    key: str
    is_stop: bool
    rule: InvitationRule | None


@dataclass(frozen=True)
class Recorded:
    event_id: int
    reference: str
    outcome: str
    invitation: PlannedInvitation | None
    created: bool  # False: the same event was recorded before, nothing new was stored


@dataclass(frozen=True)
class Rejected:
    """An event the rules of ingestion do not take; nothing of it is stored."""

    field: str
    message: str


_RULE = sql.Select(InvitationRule, "r")


def active_event_types(shop: Shop) -> dict[str, ActiveType]:
    """The shop's active event types by key, with their active rules: one query."""
    with connection.cursor() as cursor:
        rows = sql.Statements(cursor).fetch(
            f"SELECT t.id, t.key, t.is_stop, {_RULE.columns}"
            f" FROM {sql.table(EventType)} t LEFT JOIN {sql.table(InvitationRule)} r"
            " ON r.event_type_id = t.id AND r.is_active"
            " WHERE t.shop_id = %s AND t.is_active",
            [shop.pk],
        )
    return {
        key: ActiveType(type_id, key, bool(is_stop), _rule(*rule) if rule[0] is not None else None)
        for type_id, key, is_stop, *rule in rows
    }


@lru_cache(maxsize=1024)
def _rule(*row: Any) -> InvitationRule:
    """A rule from its row, made once per distinct row: any change to the rule is a new row.

    Ingestion only reads it (delays, age limit); nothing saves it.
    """
    return _RULE.instance(row)


def record_events(*, shop: Shop, events: Sequence[EventIn]) -> list[Recorded | Rejected]:
    """Store events for `shop`, idempotently, in order; one answer per event.

    The rules of ingestion: the type must be an active event type of the shop; a date
    without offset is the shop's local time; a transaction is dated between 1970 and a day
    ahead, an estimated delivery no more than two years ahead. An event that breaks one is
    `Rejected` and nothing of it is stored; the others are recorded. An event is identified
    by shop, type and transaction reference: posting it again stores nothing and answers
    what the first post answered.
    """
    now = timezone.now()
    types = active_event_types(shop)
    rejected = {i: why for i, event in enumerate(events) if (why := _apply_rules(event, shop, types, now)) is not None}
    taken = [(i, types[event.type], event) for i, event in enumerate(events) if i not in rejected]
    if any(t.rule is not None and t.rule.counts_business_days for t in types.values()) or any(
        event.delay is not None and event.delay.unit == DelayUnit.BUSINESS_DAYS for event in events
    ):
        load_holidays(shop.country, shop.subdivision, now.date())  # before the write lock
    recorded = iter(_record(shop, taken, now) if taken else [])
    return [rejected[i] if i in rejected else next(recorded) for i in range(len(events))]


def _apply_rules(event: EventIn, shop: Shop, types: dict[str, ActiveType], now: dt.datetime) -> Rejected | None:
    """Why `event` cannot be taken, or None; makes its date aware (in the shop's time zone)."""
    if event.type not in types:
        return Rejected("type", f"{event.type!r} is not an active event type of this shop")
    date = event.transaction.date
    if timezone.is_naive(date):
        # A date without offset is the shop's local time, as ERPs and CSV exports write it.
        date = event.transaction.date = date.replace(tzinfo=time_zone(shop.timezone))
    # Compared as they are: converting a date near year 1 or 9999 to UTC could overflow.
    if date < EARLIEST:
        return Rejected("transaction.date", "lies before 1970")
    if date > now + FUTURE_TOLERANCE:
        return Rejected("transaction.date", "lies in the future")
    delivery = event.estimated_delivery_date
    if delivery is not None and not EARLIEST.date() <= delivery <= (now + DELIVERY_HORIZON).date():
        return Rejected("estimated_delivery_date", "must lie between 1970 and two years from now")
    if event.delay is not None and event.delay.amount > MAX_DELAY[event.delay.unit]:
        return Rejected("delay.amount", f"at most {MAX_DELAY[event.delay.unit]} {event.delay.unit.replace('_', ' ')}")
    return None


def _record(shop: Shop, taken: Sequence[tuple[int, ActiveType, EventIn]], now: dt.datetime) -> list[Recorded]:
    """Store the events the rules took. Set-based and in plain SQL: a batch of a thousand costs
    about ten statements."""
    with sql.one_writer(), db_transaction.atomic(), connection.cursor() as cursor:
        db = sql.Statements(cursor)
        _serialise_ingestion(db, shop)
        transactions = _transactions_for(db, shop, [event for _i, _type, event in taken], now)
        known = _recorded_before(db, [t.id for t in transactions.values() if not t.new])
        fresh: dict[tuple[int, int], tuple[ActiveType, IncomingTransaction, EventIn]] = {}
        for _index, event_type, event in taken:
            tx = transactions[event.transaction.reference]
            if (event_type.id, tx.id) not in known:  # else recorded before
                fresh.setdefault((event_type.id, tx.id), (event_type, tx, event))  # once per batch
        ids = _record_new(db, shop, list(fresh.values()), list(transactions.values()), now, known) if fresh else []
    created = {event_id for (event_id,) in ids}
    results = []
    for _index, event_type, event in taken:
        tx = transactions[event.transaction.reference]
        event_id, outcome, invitation = known[(event_type.id, tx.id)]
        results.append(Recorded(event_id, tx.reference, outcome, invitation, created=event_id in created))
        created.discard(event_id)
    return results


INSERT_TRANSACTION = sql.Insert(
    Transaction,
    [
        "shop_id",
        "reference",
        "date",
        "email",
        "first_name",
        "last_name",
        "locale",
        "estimated_delivery_date",
        "created_at",
    ],
)
INSERT_EVENT = sql.Insert(
    Event, ["shop_id", "event_type_id", "transaction_id", "outcome", "invitation_id", "received_at"]
)
# Product fields a new event updates; a field not listed keeps its value (or its default).
PRODUCT_FIELDS = ["sku", "name", "gtin", "mpn", "brand", "url", "image_url"]
UPSERT_PRODUCT = sql.Insert(Product, ["shop_id", "key", *PRODUCT_FIELDS])
INSERT_TRANSACTION_PRODUCT = sql.Insert(TransactionProduct, ["transaction_id", "product_id"])


def _record_new(
    db: sql.Statements,
    shop: Shop,
    fresh: list[tuple[ActiveType, IncomingTransaction, EventIn]],
    transactions: list[IncomingTransaction],
    now: dt.datetime,
    known: dict[tuple[int, int], tuple[int, str, PlannedInvitation | None]],
) -> list[tuple[int]]:
    """Decide and store the events not seen before; `known` learns them. Their ids."""
    planner = InvitationPlanner(
        db,
        shop=shop,
        known_transactions=[t.id for t in transactions if not t.new],  # a new one has neither yet
        emails=list({t.email for t in transactions}),
        now=now,
    )
    decided = [
        (
            event_type.id,
            tx.id,
            *planner.decide(
                transaction_id=tx.id,
                date=tx.date,
                email=tx.email,
                locale=tx.locale,
                is_stop=event_type.is_stop,
                rule=event_type.rule,
                delay=(event.delay.amount, event.delay.unit) if event.delay is not None else None,
            ),
        )
        for event_type, tx, event in fresh
    ]
    planner.save()
    counters.add(shop=shop, day=now.date(), metrics=_counts(fresh, decided, transactions))
    shop_id = shop.pk
    ids = INSERT_EVENT.run(
        db,
        [(shop_id, type_id, tx_id, outcome, inv.id if inv else None, now) for type_id, tx_id, outcome, inv in decided],
    )
    for (type_id, tx_id, outcome, invitation), (event_id,) in zip(decided, ids, strict=True):
        known[(type_id, tx_id)] = (event_id, outcome, invitation)
    emit(shop, _told(fresh, decided, ids))
    _link_products(db, shop, [event for _type, _tx, event in fresh], {t.reference: t for t in transactions})
    return ids


def _told(
    fresh: list[tuple[ActiveType, IncomingTransaction, EventIn]],
    decided: list[tuple[int, int, str, PlannedInvitation | None]],
    ids: list[tuple[int]],
) -> list[tuple[str, dict[str, Any]]]:
    """What a batch tells the shop's webhooks: each event received, each invitation scheduled,
    and a new one that a stop event of the same batch cancelled before it was stored (those
    stored before tell of themselves, see InvitationQuerySet.cancel)."""
    told: list[tuple[str, dict[str, Any]]] = []
    stopped: list[tuple[str, dict[str, Any]]] = []
    for (event_type, tx, _event), (_t, _x, outcome, invitation), (event_id,) in zip(fresh, decided, ids, strict=True):
        invitation_id = invitation.id if invitation is not None else None
        received = {"id": event_id, "type": event_type.key, "reference": tx.reference, "outcome": outcome}
        told.append(("event.received", {**received, "invitation_id": invitation_id}))
        if outcome == Outcome.SCHEDULED and invitation is not None:
            scheduled = {"id": invitation_id, "reference": tx.reference, "status": "pending"}
            told.append(("invitation.scheduled", {**scheduled, "send_at": invitation.send_at}))
            if invitation.status == Invitation.Status.CANCELLED:
                stopped.append(("invitation.cancelled", {**scheduled, "status": invitation.status}))
    return told + stopped


def _counts(
    fresh: list[tuple[ActiveType, IncomingTransaction, EventIn]],
    decided: list[tuple[int, int, str, PlannedInvitation | None]],
    transactions: list[IncomingTransaction],
) -> Counter[str]:
    """What a batch adds to the shop's daily counters (see reputable.reviews.counters)."""
    counts = Counter({"orders": sum(t.new for t in transactions)})
    for (event_type, _tx, _event), (_type_id, _tx_id, outcome, invitation) in zip(fresh, decided, strict=True):
        if outcome == Outcome.SCHEDULED:
            counts["invitations.scheduled"] += 1
        elif outcome == Outcome.CANCELLED:
            counts["invitations.cancelled"] += 1
        elif outcome in counters.SKIP_REASONS and invitation is None and not event_type.is_stop:
            counts[f"invitations.skipped.{outcome}"] += 1
    return counts


def _serialise_ingestion(db: sql.Statements, shop: Shop) -> None:
    # Two posts of the same event may race. On PostgreSQL the shop's row lock makes one
    # wait for the other, which then finds the event stored; SQLite's IMMEDIATE
    # transactions already admit one writer at a time.
    if connection.features.has_select_for_update:
        db.fetch(f"SELECT id FROM {sql.table(Shop)} WHERE id = %s FOR UPDATE", [shop.pk])


def _transactions_for(
    db: sql.Statements, shop: Shop, events: Sequence[EventIn], now: dt.datetime
) -> dict[str, IncomingTransaction]:
    """The shop's transactions by reference, creating those seen for the first time."""
    references = list({event.transaction.reference for event in events})
    found = {
        ref: IncomingTransaction(pk, ref, sql.to_datetime(date), email, locale, new=False)
        for pk, ref, date, email, locale in db.fetch(
            f"SELECT id, reference, date, email, locale FROM {sql.table(Transaction)}"
            f" WHERE shop_id = %s AND reference IN ({sql.marks(len(references))})",
            [shop.pk, *references],
        )
    }
    first: dict[str, EventIn] = {}
    for event in events:
        if event.transaction.reference not in found:
            first.setdefault(event.transaction.reference, event)
    if not first:
        return found
    shop_id = shop.pk
    rows = [
        (
            shop_id,
            ref,
            event.transaction.date,
            event.customer.email,
            event.customer.first_name,
            event.customer.last_name,
            event.customer.locale,
            event.estimated_delivery_date,
            now,
        )
        for ref, event in first.items()
    ]
    for (ref, event), (pk,) in zip(first.items(), INSERT_TRANSACTION.run(db, rows), strict=True):
        found[ref] = IncomingTransaction(
            pk, ref, event.transaction.date, event.customer.email, event.customer.locale, new=True
        )
    return found


def _recorded_before(
    db: sql.Statements, transaction_ids: list[int]
) -> dict[tuple[int, int], tuple[int, str, PlannedInvitation | None]]:
    """Events already stored for these transactions, with the invitation they touched."""
    if not transaction_ids:
        return {}
    rows = db.fetch(
        f"SELECT e.event_type_id, e.transaction_id, e.id, e.outcome, i.id, i.status, i.send_at"
        f" FROM {sql.table(Event)} e LEFT JOIN {sql.table(Invitation)} i ON i.id = e.invitation_id"
        f" WHERE e.transaction_id IN ({sql.marks(len(transaction_ids))})",
        transaction_ids,
    )
    return {
        (type_id, tx_id): (
            event_id,
            outcome,
            PlannedInvitation(id=inv_id, status=status, send_at=sql.to_datetime(send_at)) if inv_id else None,
        )
        for type_id, tx_id, event_id, outcome, inv_id, status, send_at in rows
    }


def _link_products(
    db: sql.Statements, shop: Shop, events: Sequence[EventIn], transactions: dict[str, IncomingTransaction]
) -> None:
    products: dict[str, tuple[object, ...]] = {}
    links: set[tuple[str, str]] = set()
    shop_id = shop.pk
    for event in events:
        for p in event.products:
            key = Product.key_for(sku=p.sku, name=p.name)
            url, image = str(p.url) if p.url else "", str(p.image_url) if p.image_url else ""
            products[key] = (shop_id, key, p.sku, p.name, p.gtin, p.mpn, p.brand, url, image)
            links.add((event.transaction.reference, key))
    if not products:
        return
    ids = dict(
        (key, pk)
        for pk, key in UPSERT_PRODUCT.run(
            db,
            list(products.values()),
            returning="id, key",
            suffix="ON CONFLICT (shop_id, key) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in PRODUCT_FIELDS),
        )
    )
    INSERT_TRANSACTION_PRODUCT.run(
        db,
        [(transactions[ref].id, ids[key]) for ref, key in links],
        returning="",
        suffix="ON CONFLICT DO NOTHING",
    )


def invite_customer(
    *, shop: Shop, email: str, first_name: str, last_name: str, locale: str, reference: str, send_now: bool
) -> Recorded | Rejected:
    """A manual invitation for one customer, from the dashboard: a checkout event of an order
    placed now, recorded by `record_events` like any other, so that its rules hold (one
    invitation per transaction, suppressions, the frequency cap, the checkout rule's delay and
    reminders). An empty `reference` gets one made up. With `send_now`, the invitation it
    scheduled is due at once instead of by the rule (its reminders still follow the rule).
    """
    now = timezone.now()
    event = EventIn.model_validate(
        {
            "type": "checkout",
            "transaction": {"reference": reference or f"manual-{now:%Y%m%d}-{secrets.token_hex(3)}", "date": now},
            "customer": {"email": email, "first_name": first_name, "last_name": last_name, "locale": locale},
        }
    )
    [answer] = record_events(shop=shop, events=[event])
    if send_now and isinstance(answer, Recorded) and answer.created and answer.outcome == Outcome.SCHEDULED:
        # A second transaction: record_events holds the write lock in its own (see one_writer).
        Invitation.objects.filter(shop=shop, transaction__reference=answer.reference).send_now(now)
        if answer.invitation is not None:
            answer.invitation.send_at = now
    return answer
