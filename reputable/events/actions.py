"""Recording the events shop systems report."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.events.models import Event, EventType, Transaction
from reputable.events.schemas import EventIn
from reputable.invitations.actions import InvitationPlanner
from reputable.reviews.models import Product
from reputable.shops.models import Shop


@dataclass(frozen=True)
class Recorded:
    event: Event
    created: bool  # False: the same event was recorded before, nothing new was stored


def record_events(*, shop: Shop, items: Sequence[tuple[EventType, EventIn]]) -> list[Recorded]:
    """Store events (type already checked to be active for `shop`), idempotently, in order.

    An event is identified by shop, type and transaction reference: posting it again stores
    nothing and answers what the first post answered. Set-based, so a batch of a thousand
    costs a handful of queries rather than thousands.
    """
    now = timezone.now()
    with db_transaction.atomic():
        _serialise_ingestion(shop)
        transactions = _transactions_for(shop, [data for _type, data in items], now)
        known = {
            (e.event_type_id, e.transaction_id): e
            for e in Event.objects.filter(transaction__in=transactions.values()).select_related("invitation")
        }
        planner = InvitationPlanner(shop=shop, transactions=transactions.values(), now=now)
        new_events: list[Event] = []
        new_items: list[EventIn] = []
        for event_type, data in items:
            tx = transactions[data.transaction.reference]
            if (event_type.pk, tx.pk) in known:
                continue  # recorded before, or earlier in this batch
            outcome, invitation = planner.decide(event_type, tx)
            event = Event(
                shop=shop,
                event_type=event_type,
                transaction=tx,
                outcome=outcome,
                invitation=invitation,
                received_at=now,
            )
            known[(event_type.pk, tx.pk)] = event
            new_events.append(event)
            new_items.append(data)
        planner.save()
        Event.objects.bulk_create(new_events)
        _link_products(shop, new_items, transactions)
    created = {id(e) for e in new_events}
    results = []
    for event_type, data in items:
        event = known[(event_type.pk, transactions[data.transaction.reference].pk)]
        results.append(Recorded(event=event, created=id(event) in created))
        created.discard(id(event))
    return results


def _serialise_ingestion(shop: Shop) -> None:
    # Two posts of the same event may race. On PostgreSQL the shop's row lock makes one
    # wait for the other, which then finds the event stored; SQLite's IMMEDIATE
    # transactions already admit one writer at a time.
    if connection.features.has_select_for_update:
        Shop.objects.select_for_update().filter(pk=shop.pk).values_list("pk").first()


def _transactions_for(shop: Shop, items: Sequence[EventIn], now: dt.datetime) -> dict[str, Transaction]:
    """The shop's transactions by reference, creating those seen for the first time."""
    references = {data.transaction.reference for data in items}
    found = {t.reference: t for t in Transaction.objects.filter(shop=shop, reference__in=references)}
    new: dict[str, Transaction] = {}
    for data in items:
        ref = data.transaction.reference
        if ref in found or ref in new:
            continue
        new[ref] = Transaction(
            shop=shop,
            reference=ref,
            date=data.transaction.date,
            email=data.customer.email,
            first_name=data.customer.first_name,
            last_name=data.customer.last_name,
            locale=data.customer.locale,
            estimated_delivery_date=data.estimated_delivery_date,
            created_at=now,
        )
    Transaction.objects.bulk_create(new.values())
    return found | new


def _link_products(shop: Shop, items: Sequence[EventIn], transactions: dict[str, Transaction]) -> None:
    products: dict[str, Product] = {}
    links: set[tuple[str, str]] = set()
    for data in items:
        for p in data.products:
            key = Product.key_for(sku=p.sku, name=p.name)
            products[key] = Product(
                shop=shop,
                key=key,
                sku=p.sku,
                name=p.name,
                gtin=p.gtin,
                mpn=p.mpn,
                brand=p.brand,
                url=str(p.url) if p.url else "",
                image_url=str(p.image_url) if p.image_url else "",
            )
            links.add((data.transaction.reference, key))
    if not products:
        return
    Product.objects.bulk_create(
        products.values(),
        update_conflicts=True,
        unique_fields=["shop", "key"],
        update_fields=["sku", "name", "gtin", "mpn", "brand", "url", "image_url"],
    )
    ids = dict(Product.objects.filter(shop=shop, key__in=products).values_list("key", "pk"))
    Link = Transaction.products.through
    Link.objects.bulk_create(
        [Link(transaction_id=transactions[ref].pk, product_id=ids[key]) for ref, key in links],
        ignore_conflicts=True,
    )
