"""Writes about invitations: who is invited when, stop events, objections."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction as db_transaction

from reputable.events.models import Event, EventType, Transaction
from reputable.invitations.models import Invitation, InvitationRule, Suppression
from reputable.shops.models import Shop

Outcome = Event.Outcome


class InvitationPlanner:
    """Decides what each new event does to its transaction's one invitation.

    Built for a batch of new events of one shop: it loads what the decisions depend on in a
    few queries (existing invitations, stop events, suppressions, recent invitations of the
    same addresses, active rules), decides event by event in arrival order, and writes the
    result with `save()`. Whether an order is invited never depends on anything the customer
    said about it.
    """

    def __init__(self, *, shop: Shop, transactions: Iterable[Transaction], now: dt.datetime) -> None:
        self.shop = shop
        self.now = now
        tx_ids = [t.pk for t in transactions if t.pk is not None]
        emails = {t.email for t in transactions}
        self.invitations: dict[int, Invitation] = {
            i.transaction_id: i for i in Invitation.objects.filter(transaction_id__in=tx_ids)
        }
        self.stopped: set[int] = set(
            Event.objects.filter(transaction_id__in=tx_ids, event_type__is_stop=True).values_list(
                "transaction_id", flat=True
            )
        )
        self.suppressed: set[str] = set(
            Suppression.objects.for_shop(shop).filter(email__in=emails).values_list("email", flat=True)
        )
        self.capped = shop.frequency_cap_days > 0
        self.recently_invited: set[str] = set()
        if self.capped:
            self.recently_invited = set(
                Invitation.objects.filter(
                    shop=shop, email__in=emails, created_at__gte=now - dt.timedelta(days=shop.frequency_cap_days)
                )
                .exclude(status=Invitation.Status.CANCELLED)
                .values_list("email", flat=True)
            )
        self.rules: dict[int, InvitationRule] = {
            r.event_type_id: r for r in InvitationRule.objects.filter(event_type__shop=shop, is_active=True)
        }
        self.new: list[Invitation] = []
        self.to_cancel: list[int] = []

    def decide(self, event_type: EventType, transaction: Transaction) -> tuple[str, Invitation | None]:
        """The outcome of one new event, and the invitation it created or touched."""
        existing = self.invitations.get(transaction.pk)
        if event_type.is_stop:
            self.stopped.add(transaction.pk)
            if existing is not None and existing.status == Invitation.Status.PENDING:
                existing.status = Invitation.Status.CANCELLED
                if existing.pk is not None:
                    self.to_cancel.append(existing.pk)
                return Outcome.CANCELLED, existing
            return Outcome.STOPPED, existing
        rule = self.rules.get(event_type.pk)
        if rule is None:
            return Outcome.NO_ACTIVE_RULE, existing
        if existing is not None:
            return Outcome.ALREADY_INVITED, existing
        if transaction.pk in self.stopped:
            return Outcome.STOPPED, None
        if rule.is_too_old(transaction, self.now):
            return Outcome.TOO_OLD, None
        if transaction.email in self.suppressed:
            return Outcome.SUPPRESSED, None
        if transaction.email in self.recently_invited:
            return Outcome.FREQUENCY_CAP, None
        transaction.shop = self.shop
        invitation = Invitation(
            shop=self.shop,
            transaction=transaction,
            rule=rule,
            email=transaction.email,
            locale=transaction.locale,
            send_at=max(rule.first_send_at(transaction), self.now),
            created_at=self.now,
        )
        self.invitations[transaction.pk] = invitation
        if self.capped:
            self.recently_invited.add(transaction.email)
        self.new.append(invitation)
        return Outcome.SCHEDULED, invitation

    def save(self) -> None:
        Invitation.objects.bulk_create(self.new)
        if self.to_cancel:
            Invitation.objects.filter(pk__in=self.to_cancel, status=Invitation.Status.PENDING).update(
                status=Invitation.Status.CANCELLED, claimed_until=None
            )


def suppress_address(*, email: str, reason: str, shop: Shop | None) -> Suppression:
    """Nothing more goes to `email` from `shop` (from any shop when `shop` is None), at once."""
    email = email.strip().lower()
    with db_transaction.atomic():
        suppression, _created = Suppression.objects.get_or_create(shop=shop, email=email, defaults={"reason": reason})
        pending = Invitation.objects.filter(email=email, status=Invitation.Status.PENDING)
        if shop is not None:
            pending = pending.filter(shop=shop)
        pending.update(status=Invitation.Status.SUPPRESSED, claimed_until=None)
    return suppression
