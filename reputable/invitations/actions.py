"""Writes about invitations: who is invited when, stop events, objections."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction as db_transaction

from reputable.events.models import Event, EventType
from reputable.invitations.models import Invitation, InvitationRule, Suppression
from reputable.lib import sql
from reputable.lib.tokens import new_tokens
from reputable.shops.models import Shop

Outcome = Event.Outcome
Status = Invitation.Status


@dataclass
class PlannedInvitation:
    """A transaction's invitation as ingestion sees and answers it (stored, or about to be)."""

    id: int | None
    status: str
    send_at: dt.datetime


class InvitationPlanner:
    """Decides what each new event does to its transaction's one invitation.

    Built for a batch of new events of one shop: it loads what the decisions depend on in
    at most two queries (the known transactions' invitations and stop events, the
    addresses' suppressions and recent invitations), decides event by event in arrival
    order, and writes the result with `save()`. It takes plain values, so that it knows
    nothing of where events come from. Whether an order is invited never depends on
    anything the customer said about it.
    """

    def __init__(
        self, db: sql.Statements, *, shop: Shop, known_transactions: list[int], emails: list[str], now: dt.datetime
    ) -> None:
        self.db = db
        self.shop = shop
        self.shop_id = shop.pk
        self.now = now
        self.invitations: dict[int, PlannedInvitation] = {}
        self.stopped: set[int] = set()
        if known_transactions:
            marks = sql.marks(len(known_transactions))
            for tx_id, inv_id, status, send_at, is_stop in db.fetch(
                f"SELECT i.transaction_id, i.id, i.status, i.send_at, 0 FROM {sql.table(Invitation)} i"
                f" WHERE i.transaction_id IN ({marks})"
                f" UNION ALL SELECT e.transaction_id, NULL, NULL, NULL, 1 FROM {sql.table(Event)} e"
                f" JOIN {sql.table(EventType)} t ON t.id = e.event_type_id"
                f" WHERE t.is_stop AND e.transaction_id IN ({marks})",
                [*known_transactions, *known_transactions],
            ):
                if is_stop:
                    self.stopped.add(tx_id)
                else:
                    self.invitations[tx_id] = PlannedInvitation(inv_id, status, sql.to_datetime(send_at))
        self.capped = shop.frequency_cap_days > 0
        self.suppressed: set[str] = set()
        self.recently_invited: set[str] = set()
        cap_start = now - dt.timedelta(days=shop.frequency_cap_days)
        for kind, email in db.fetch(
            f"SELECT 's', email FROM {sql.table(Suppression)}"
            f" WHERE email IN ({sql.marks(len(emails))}) AND (shop_id = %s OR shop_id IS NULL)"
            f" UNION ALL SELECT 'c', email FROM {sql.table(Invitation)}"
            f" WHERE %s AND shop_id = %s AND email IN ({sql.marks(len(emails))})"
            " AND created_at >= %s AND status <> %s",
            [*emails, shop.pk, self.capped, shop.pk, *emails, db.value(cap_start), Status.CANCELLED],
        ):
            (self.suppressed if kind == "s" else self.recently_invited).add(email)
        self.new: list[tuple[PlannedInvitation, tuple[object, ...]]] = []
        self.to_cancel: list[int] = []

    def decide(
        self,
        *,
        transaction_id: int,
        date: dt.datetime,
        email: str,
        locale: str,
        is_stop: bool,
        rule: InvitationRule | None,
    ) -> tuple[str, PlannedInvitation | None]:
        """The outcome of one new event of a transaction, and the invitation it created or touched."""
        existing = self.invitations.get(transaction_id)
        if is_stop:
            self.stopped.add(transaction_id)
            if existing is not None and existing.status == Status.PENDING:
                existing.status = Status.CANCELLED
                if existing.id is not None:
                    self.to_cancel.append(existing.id)
                return Outcome.CANCELLED, existing
            return Outcome.STOPPED, existing
        if rule is None:
            return Outcome.NO_ACTIVE_RULE, existing
        if existing is not None:
            return Outcome.ALREADY_INVITED, existing
        if transaction_id in self.stopped:
            return Outcome.STOPPED, None
        if rule.is_too_old(date, self.now):
            return Outcome.TOO_OLD, None
        if email in self.suppressed:
            return Outcome.SUPPRESSED, None
        if email in self.recently_invited:
            return Outcome.FREQUENCY_CAP, None
        invitation = PlannedInvitation(None, Status.PENDING, max(rule.first_send_at(date, self.shop), self.now))
        self.invitations[transaction_id] = invitation
        self.new.append((invitation, (self.shop_id, transaction_id, rule.id, email, locale)))
        if self.capped:
            self.recently_invited.add(email)
        return Outcome.SCHEDULED, invitation

    def save(self) -> None:
        tokens = new_tokens(len(self.new))
        rows = [
            (*row, token, planned.status, planned.send_at, self.now)
            for (planned, row), token in zip(self.new, tokens, strict=True)
        ]
        for (planned, _row), pk in zip(self.new, Invitation.objects.schedule(self.db, rows), strict=True):
            planned.id = pk
        if self.to_cancel:
            Invitation.objects.filter(pk__in=self.to_cancel).cancel()


def suppress_address(*, email: str, reason: str, shop: Shop | None) -> Suppression:
    """Nothing more goes to `email` from `shop` (from any shop when `shop` is None), at once."""
    email = email.strip().lower()
    with db_transaction.atomic():
        suppression, _created = Suppression.objects.get_or_create(shop=shop, email=email, defaults={"reason": reason})
        pending = Invitation.objects.filter(email=email)
        if shop is not None:
            pending = pending.filter(shop=shop)
        pending.suppress()
    return suppression
