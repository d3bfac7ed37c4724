"""Writes about invitations: who is invited when, stop events, objections."""

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction as db_transaction

from reputable.events.models import Event, EventType
from reputable.invitations.models import Invitation, Suppression
from reputable.lib import sql
from reputable.lib.tokens import new_tokens
from reputable.shops.models import Shop

if TYPE_CHECKING:
    from reputable.events.actions import ActiveType, IncomingTransaction

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
    at most three queries (the transactions' invitations and stop events, the addresses'
    suppressions and recent invitations), decides event by event in arrival order, and
    writes the result with `save()`. Whether an order is invited never depends on anything
    the customer said about it.
    """

    def __init__(
        self, db: sql.Statements, *, shop: Shop, transactions: list["IncomingTransaction"], now: dt.datetime
    ) -> None:
        self.db = db
        self.shop = shop
        self.shop_id = shop.pk
        self.now = now
        self.invitations: dict[int, PlannedInvitation] = {}
        self.stopped: set[int] = set()
        known = [t.id for t in transactions if not t.new]  # a new transaction has neither yet
        if known:
            for tx_id, inv_id, status, send_at, is_stop in db.fetch(
                f"SELECT i.transaction_id, i.id, i.status, i.send_at, 0 FROM {sql.table(Invitation)} i"
                f" WHERE i.transaction_id IN ({sql.marks(len(known))})"
                f" UNION ALL SELECT e.transaction_id, NULL, NULL, NULL, 1 FROM {sql.table(Event)} e"
                f" JOIN {sql.table(EventType)} t ON t.id = e.event_type_id"
                f" WHERE t.is_stop AND e.transaction_id IN ({sql.marks(len(known))})",
                [*known, *known],
            ):
                if is_stop:
                    self.stopped.add(tx_id)
                else:
                    self.invitations[tx_id] = PlannedInvitation(inv_id, status, sql.to_datetime(send_at))
        self.capped = shop.frequency_cap_days > 0
        self.suppressed: set[str] = set()
        self.recently_invited: set[str] = set()
        emails = list({t.email for t in transactions})
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
        self, event_type: "ActiveType", transaction: "IncomingTransaction"
    ) -> tuple[str, PlannedInvitation | None]:
        """The outcome of one new event, and the invitation it created or touched."""
        existing = self.invitations.get(transaction.id)
        if event_type.is_stop:
            self.stopped.add(transaction.id)
            if existing is not None and existing.status == Status.PENDING:
                existing.status = Status.CANCELLED
                if existing.id is not None:
                    self.to_cancel.append(existing.id)
                return Outcome.CANCELLED, existing
            return Outcome.STOPPED, existing
        rule = event_type.rule
        if rule is None:
            return Outcome.NO_ACTIVE_RULE, existing
        if existing is not None:
            return Outcome.ALREADY_INVITED, existing
        if transaction.id in self.stopped:
            return Outcome.STOPPED, None
        if rule.is_too_old(transaction.date, self.now):
            return Outcome.TOO_OLD, None
        if transaction.email in self.suppressed:
            return Outcome.SUPPRESSED, None
        if transaction.email in self.recently_invited:
            return Outcome.FREQUENCY_CAP, None
        invitation = PlannedInvitation(
            None, Status.PENDING, max(rule.first_send_at(transaction.date, self.shop), self.now)
        )
        row = (self.shop_id, transaction.id, rule.id, transaction.email, transaction.locale)
        self.invitations[transaction.id] = invitation
        self.new.append((invitation, row))
        if self.capped:
            self.recently_invited.add(transaction.email)
        return Outcome.SCHEDULED, invitation

    def save(self) -> None:
        columns = ["shop_id", "transaction_id", "rule_id", "email", "locale", "token", "status", "send_at"]
        columns += ["sent_count", "claim_id", "attempts", "last_error", "created_at"]
        created = self.db.value(self.now)
        tokens = new_tokens(len(self.new))
        rows = [
            (*row, token, planned.status, self.db.value(planned.send_at), 0, "", 0, "", created)
            for (planned, row), token in zip(self.new, tokens, strict=True)
        ]
        for (planned, _row), (pk,) in zip(self.new, self.db.insert(sql.table(Invitation), columns, rows), strict=True):
            planned.id = pk
        if self.to_cancel:
            self.db.execute(
                f"UPDATE {sql.table(Invitation)} SET status = %s, claimed_until = NULL"
                f" WHERE status = %s AND id IN ({sql.marks(len(self.to_cancel))})",
                [Status.CANCELLED, Status.PENDING, *self.to_cancel],
            )


def suppress_address(*, email: str, reason: str, shop: Shop | None) -> Suppression:
    """Nothing more goes to `email` from `shop` (from any shop when `shop` is None), at once."""
    email = email.strip().lower()
    with db_transaction.atomic():
        suppression, _created = Suppression.objects.get_or_create(shop=shop, email=email, defaults={"reason": reason})
        pending = Invitation.objects.filter(email=email, status=Status.PENDING)
        if shop is not None:
            pending = pending.filter(shop=shop)
        pending.update(status=Status.SUPPRESSED, claimed_until=None)
    return suppression
