"""Recording the events shop systems report."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.events.models import Event, EventType, Transaction
from reputable.events.schemas import EventIn
from reputable.invitations.actions import InvitationPlanner, PlannedInvitation
from reputable.invitations.models import Invitation, InvitationRule
from reputable.lib import sql
from reputable.reviews.models import Product
from reputable.shops.models import Shop


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


RULE_COLUMNS = [
    "id",
    "delay_amount",
    "delay_unit",
    "send_time",
    "reminder_count",
    "reminder_interval_amount",
    "reminder_interval_unit",
    "max_transaction_age_days",
]


def active_event_types(shop: Shop) -> dict[str, ActiveType]:
    """The shop's active event types by key, with their active rules: one query."""
    with connection.cursor() as cursor:
        rows = sql.Statements(cursor).fetch(
            f"SELECT t.id, t.key, t.is_stop, {', '.join('r.' + c for c in RULE_COLUMNS)}"
            f" FROM {sql.table(EventType)} t LEFT JOIN {sql.table(InvitationRule)} r"
            " ON r.event_type_id = t.id AND r.is_active"
            " WHERE t.shop_id = %s AND t.is_active",
            [shop.pk],
        )
    return {
        key: ActiveType(type_id, key, bool(is_stop), _rule(type_id, *rule) if rule[0] is not None else None)
        for type_id, key, is_stop, *rule in rows
    }


@lru_cache(maxsize=1024)
def _rule(type_id: int, *row: Any) -> InvitationRule:
    """A rule from its row, made once per distinct row: any change to the rule is a new row.

    Ingestion only reads it (delays, age limit); nothing saves it.
    """
    values = dict(zip(RULE_COLUMNS, row, strict=True))
    values["send_time"] = sql.to_time(values["send_time"])
    return InvitationRule(event_type_id=type_id, is_active=True, **values)


def record_events(*, shop: Shop, items: Sequence[tuple[ActiveType, EventIn]]) -> list[Recorded]:
    """Store events of types active for `shop`, idempotently, in order.

    An event is identified by shop, type and transaction reference: posting it again stores
    nothing and answers what the first post answered. Set-based and in plain SQL, so a batch
    of a thousand costs about ten statements.
    """
    now = timezone.now()
    with sql.one_writer(), db_transaction.atomic(), connection.cursor() as cursor:
        db = sql.Statements(cursor)
        _serialise_ingestion(db, shop)
        transactions = _transactions_for(db, shop, [data for _type, data in items], now)
        known = _recorded_before(db, [t.id for t in transactions.values() if not t.new])
        fresh: dict[tuple[int, int], tuple[ActiveType, IncomingTransaction, EventIn]] = {}
        for event_type, data in items:
            tx = transactions[data.transaction.reference]
            if (event_type.id, tx.id) not in known:  # else recorded before
                fresh.setdefault((event_type.id, tx.id), (event_type, tx, data))  # once per batch
        ids = _record_new(db, shop, list(fresh.values()), list(transactions.values()), now, known) if fresh else []
    created = {event_id for (event_id,) in ids}
    results = []
    for event_type, data in items:
        tx = transactions[data.transaction.reference]
        event_id, outcome, invitation = known[(event_type.id, tx.id)]
        results.append(Recorded(event_id, tx.reference, outcome, invitation, created=event_id in created))
        created.discard(event_id)
    return results


def _record_new(
    db: sql.Statements,
    shop: Shop,
    fresh: list[tuple[ActiveType, IncomingTransaction, EventIn]],
    transactions: list[IncomingTransaction],
    now: dt.datetime,
    known: dict[tuple[int, int], tuple[int, str, PlannedInvitation | None]],
) -> list[tuple[int]]:
    """Decide and store the events not seen before; `known` learns them. Their ids."""
    shop_id = shop.pk
    planner = InvitationPlanner(db, shop=shop, transactions=transactions, now=now)
    decided = [(event_type.id, tx.id, *planner.decide(event_type, tx)) for event_type, tx, _data in fresh]
    planner.save()
    received = db.value(now)
    ids = db.insert(
        sql.table(Event),
        ["shop_id", "event_type_id", "transaction_id", "outcome", "invitation_id", "received_at"],
        [
            (shop_id, type_id, tx_id, outcome, inv.id if inv else None, received)
            for type_id, tx_id, outcome, inv in decided
        ],
    )
    for (type_id, tx_id, outcome, invitation), (event_id,) in zip(decided, ids, strict=True):
        known[(type_id, tx_id)] = (event_id, outcome, invitation)
    _link_products(db, shop, [data for _type, _tx, data in fresh], {t.reference: t for t in transactions})
    return ids


def _serialise_ingestion(db: sql.Statements, shop: Shop) -> None:
    # Two posts of the same event may race. On PostgreSQL the shop's row lock makes one
    # wait for the other, which then finds the event stored; SQLite's IMMEDIATE
    # transactions already admit one writer at a time.
    if connection.features.has_select_for_update:
        db.fetch(f"SELECT id FROM {sql.table(Shop)} WHERE id = %s FOR UPDATE", [shop.pk])


def _transactions_for(
    db: sql.Statements, shop: Shop, items: Sequence[EventIn], now: dt.datetime
) -> dict[str, IncomingTransaction]:
    """The shop's transactions by reference, creating those seen for the first time."""
    references = list({data.transaction.reference for data in items})
    found = {
        ref: IncomingTransaction(pk, ref, sql.to_datetime(date), email, locale, new=False)
        for pk, ref, date, email, locale in db.fetch(
            f"SELECT id, reference, date, email, locale FROM {sql.table(Transaction)}"
            f" WHERE shop_id = %s AND reference IN ({sql.marks(len(references))})",
            [shop.pk, *references],
        )
    }
    first: dict[str, EventIn] = {}
    for data in items:
        if data.transaction.reference not in found:
            first.setdefault(data.transaction.reference, data)
    if not first:
        return found
    columns = [
        "shop_id",
        "reference",
        "date",
        "email",
        "first_name",
        "last_name",
        "locale",
        "estimated_delivery_date",
        "created_at",
    ]
    created, shop_id = db.value(now), shop.pk
    rows = [
        (
            shop_id,
            ref,
            db.value(data.transaction.date),
            data.customer.email,
            data.customer.first_name,
            data.customer.last_name,
            data.customer.locale,
            db.value(data.estimated_delivery_date),
            created,
        )
        for ref, data in first.items()
    ]
    for (ref, data), (pk,) in zip(first.items(), db.insert(sql.table(Transaction), columns, rows), strict=True):
        found[ref] = IncomingTransaction(
            pk, ref, data.transaction.date, data.customer.email, data.customer.locale, new=True
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
    db: sql.Statements, shop: Shop, items: Sequence[EventIn], transactions: dict[str, IncomingTransaction]
) -> None:
    shop_id = shop.pk
    products: dict[str, tuple[object, ...]] = {}
    links: set[tuple[str, str]] = set()
    for data in items:
        for p in data.products:
            key = Product.key_for(sku=p.sku, name=p.name)
            url, image = str(p.url) if p.url else "", str(p.image_url) if p.image_url else ""
            products[key] = (shop_id, key, p.sku, p.name, p.gtin, p.mpn, p.brand, url, image)
            links.add((data.transaction.reference, key))
    if not products:
        return
    updated = ["sku", "name", "gtin", "mpn", "brand", "url", "image_url"]
    ids = dict(
        (key, pk)
        for pk, key in db.insert(
            sql.table(Product),
            ["shop_id", "key", *updated],
            list(products.values()),
            returning="id, key",
            suffix="ON CONFLICT (shop_id, key) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated),
        )
    )
    db.insert(
        sql.table(Transaction.products.through),
        ["transaction_id", "product_id"],
        [(transactions[ref].id, ids[key]) for ref, key in links],
        returning="",
        suffix="ON CONFLICT DO NOTHING",
    )
