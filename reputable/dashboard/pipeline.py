"""Which transactions the invitation pipeline lists, and what it shows of each.

Every list of the pipeline is the shop's transactions by id, newest first, in keyset pages
(`reputable.dashboard.paging`). Each filter reads the index made for it, so that a page costs
the same for a million transactions as for a hundred: one filter drives (its rows give the
transaction ids, in the order of its index) and the others are checked for each of those ids
through an index on the transaction. Which one drives, in this order:

- a search (`q`): the customer's address, lower-case (transaction_by_address), or else the
  exact reference (transaction_reference_per_shop): a few rows at most;
- a stage (`status`): the invitations in it (invitation_by_status, invitation_sent,
  invitation_reminded), or for "not invited" the events that found no invitation
  (event_not_invited) whose transaction has none;
- an event type (`type`): its events (event_by_type), at most one per transaction;
- none: the shop's transactions (transaction_newest_first).

A date range (`since`, `until`: days in the shop's time zone, of when Reputable recorded the
transaction) becomes a range of transaction ids, from the first and the last transaction
recorded in it (transaction_by_time): ids grow with the time of recording (a shop's events are
recorded one batch at a time), so every list takes the range in the index it reads.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from reputable.dashboard.paging import Page, Position, keyset_page
from reputable.events.models import Event, EventType, Transaction
from reputable.invitations.models import STAGES, Invitation, Stage
from reputable.lib.dates import time_zone
from reputable.lib.emails import AddressError, normalise_address
from reputable.shops.models import Shop

NOT_INVITED = "not_invited"
STAGE_LABELS = {**dict(Stage.choices), NOT_INVITED: _("Not invited")}
PAGE_SIZE = 50


def transaction_url(shop: Shop, reference: str) -> str:
    """The page of the transaction `reference`: every character of it quoted, the dots of a
    "." or ".." part too, so that a browser takes the path as it is."""
    base = reverse("dashboard-transaction", args=[shop.slug, "-"])[:-1]
    parts = (quote(part, safe="") for part in reference.split("/"))
    return base + "/".join(part.replace(".", "%2E") if part in (".", "..") else part for part in parts)


@dataclass(frozen=True)
class Filters:
    stage: str = ""  # a Stage, NOT_INVITED, or "" for any
    event_type: EventType | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    q: str = ""


@dataclass
class Row:
    """A transaction as the pipeline shows it: its events, its invitation or why it has none."""

    transaction: Transaction
    invitation: Invitation | None
    events: list[Event] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.invitation.stage if self.invitation is not None else NOT_INVITED

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS[self.stage])

    @property
    def url(self) -> str:
        return transaction_url(self.transaction.shop, self.transaction.reference)

    @property
    def reasons(self) -> list[str]:
        """Why it was not invited: what its events found, each once, in order."""
        return list(dict.fromkeys(str(Event.Outcome(e.outcome).label) for e in self.events))


def _has_invitation(column: str, stage: str | None = None) -> Exists:
    invitations = Invitation.objects.filter(transaction_id=OuterRef(column))
    return Exists(invitations.filter(STAGES[Stage(stage)]) if stage else invitations)


def _in_stage(column: str, stage: str) -> Any:
    return ~_has_invitation(column) if stage == NOT_INVITED else _has_invitation(column, stage)


def _driver(shop: Shop, filters: Filters) -> tuple[QuerySet[Any], str, list[str]]:
    """The rows whose `column` gives the list's transaction ids, and the filters left to check."""
    left = [name for name in ("stage", "event_type") if getattr(filters, name)]
    if filters.q:
        transactions = Transaction.objects.filter(shop=shop)
        try:
            return transactions.filter(email=normalise_address(filters.q)), "id", left
        except AddressError:
            return transactions.filter(reference=filters.q.strip()), "id", left
    if filters.stage == NOT_INVITED:
        events = Event.objects.filter(shop=shop, invitation__isnull=True).filter(~_has_invitation("transaction_id"))
        return events.distinct(), "transaction_id", left[1:]
    if filters.stage:
        return Invitation.objects.filter(shop=shop).filter(STAGES[Stage(filters.stage)]), "transaction_id", left[1:]
    if filters.event_type:
        return Event.objects.filter(event_type=filters.event_type), "transaction_id", []
    return Transaction.objects.filter(shop=shop), "id", []


def recorded_between(shop: Shop, since: dt.date | None, until: dt.date | None) -> dict[str, int] | None:
    """Lookups of transaction ids (`gte`, `lte`) for the transactions recorded from day `since`
    to day `until` (in the shop's time zone, either open), or None when none was."""
    zone = time_zone(shop.timezone)
    transactions = Transaction.objects.filter(shop=shop).values_list("id", flat=True)
    bounds: dict[str, int | None] = {}
    if since is not None:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=zone)
        bounds["gte"] = transactions.filter(created_at__gte=start).order_by("created_at", "id").first()
    if until is not None:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        bounds["lte"] = transactions.filter(created_at__lt=end).order_by("-created_at", "-id").first()
    if None in bounds.values():
        return None
    return {lookup: pk for lookup, pk in bounds.items() if pk is not None}


def list_transactions(
    shop: Shop, filters: Filters, position: Position | None, *, types: dict[int, EventType], size: int = PAGE_SIZE
) -> tuple[list[Row], Page]:
    """One page of the pipeline: its rows (with `types`, the shop's event types by id) and links."""
    rows, column, left = _driver(shop, filters)
    if "stage" in left:
        rows = rows.filter(_in_stage(column, filters.stage))
    if "event_type" in left:
        rows = rows.filter(Exists(Event.objects.filter(event_type=filters.event_type, transaction_id=OuterRef(column))))
    if filters.since or filters.until:
        bounds = recorded_between(shop, filters.since, filters.until)
        if bounds is None:
            return [], Page([], None, None)
        rows = rows.filter(**{f"{column}__{lookup}": pk for lookup, pk in bounds.items()})
    page = keyset_page(rows, column, position, size)
    return rows_of(shop, page.keys, types), page


def rows_of(shop: Shop, ids: list[int], types: dict[int, EventType]) -> list[Row]:
    """The shop's transactions `ids`, in that order, each with its invitation and events: two
    queries."""
    transactions = Transaction.objects.filter(pk__in=ids).select_related("invitation")
    found = {}
    for tx in transactions:
        tx.shop = shop  # known: no query for each link
        found[tx.pk] = Row(tx, getattr(tx, "invitation", None))
    for event in Event.objects.filter(transaction_id__in=ids).order_by("transaction_id", "id"):
        event.event_type = types[event.event_type_id]
        found[event.transaction_id].events.append(event)
    return [found[pk] for pk in ids if pk in found]
