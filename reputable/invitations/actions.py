"""Writes about invitations: who is invited when, stop events, objections, the rules and the
shop's own wording (for the API and the dashboard alike)."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.dispatch.outbox import send_email
from reputable.events.models import Event, EventType
from reputable.integrations.models import ProviderAccount
from reputable.invitations.describe import sample_message
from reputable.invitations.models import Invitation, InvitationRule, MessageKind, MessageTemplate, Suppression
from reputable.lib import sql
from reputable.lib.emails import PlaceholderError, check_placeholders, normalise_address, one_line
from reputable.lib.tokens import new_tokens
from reputable.reviews import counters
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
        delay: tuple[int, str] | None = None,
    ) -> tuple[str, PlannedInvitation | None]:
        """The outcome of one new event of a transaction, and the invitation it created or touched.

        `delay` (amount, unit), when the sender asked for one, replaces the rule's delay.
        """
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
        first = rule.first_send_at(date, self.shop) if delay is None else rule.send_at_after(date, *delay, self.shop)
        invitation = PlannedInvitation(None, Status.PENDING, max(first, self.now))
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


def suppress_address(*, email: str, reason: str, shop: Shop | None, detail: str = "", source: str = "") -> Suppression:
    """Nothing more goes to `email` from `shop` (from any shop when `shop` is None), at once.

    The one write path of suppressions: an unsubscription, the shop's own entry (dashboard,
    API), a hard bounce or a complaint (the providers' webhooks and `reputable bounces`, for
    every shop). `detail` says why as the provider or the DSN put it (cut to what the column
    holds); `source` where it came from (see Suppression.source). Idempotent: an address
    already suppressed keeps its first reason and detail, and is counted once.

    Raises AddressError for an address no message could carry (nothing to suppress).
    """
    email = normalise_address(email)
    limit = Suppression._meta.get_field("detail").max_length or 0
    defaults = {"reason": reason, "detail": one_line(detail)[:limit], "source": source}
    with db_transaction.atomic():
        suppression, created = Suppression.objects.get_or_create(shop=shop, email=email, defaults=defaults)
        pending = Invitation.objects.filter(email=email)
        if shop is not None:
            pending = pending.filter(shop=shop)
        pending.suppress()
        if created and reason in counters.SUPPRESSION_METRICS:
            _count_suppression(email=email, reason=reason, shop=shop)
    return suppression


def _count_suppression(*, email: str, reason: str, shop: Shop | None) -> None:
    """Count a new bounce, unsubscription or complaint; one for every shop counts in each shop
    that invited the address (the shops whose invitations it ends)."""
    if shop is not None:
        shop_ids = [shop.pk]
    else:
        shop_ids = list(Invitation.objects.filter(email=email).values_list("shop_id", flat=True).distinct())
    day = timezone.now().date()
    for shop_id in shop_ids:
        counters.add(shop=shop_id, day=day, metrics={reason: 1})


# --- rules and wording ------------------------------------------------------------------------


class Refused(Exception):
    """A rule or wording the domain does not take: a message per field (English, as the API
    answers it; the dashboard shows each next to its field)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in fields.items()))
        self.fields = fields


class ActiveRuleExists(Refused):
    """The rule would be a second active rule of its event type; `active` is the one that is."""

    def __init__(self, active: InvitationRule | None) -> None:
        super().__init__({"is_active": "another rule of this event type is active"})
        self.active = active


def check_rule(*, rule: InvitationRule) -> None:
    """Refused unless `rule` may be stored: the model's limits, the same for a new rule and a
    changed one; a stop event type takes no rule (it never starts an invitation)."""
    if rule.event_type.is_stop:
        raise Refused({"event_type": "a stop event type cancels invitations and takes no rule"})
    try:
        rule.full_clean(exclude=["event_type"], validate_constraints=False)
    except ValidationError as error:
        raise Refused({field: " ".join(messages) for field, messages in error.message_dict.items()}) from None
    if (
        rule.forwards
        and not ProviderAccount.objects.filter(shop=rule.event_type.shop_id, provider=rule.channel).exists()
    ):
        raise Refused({"channel": f"the shop has no {rule.channel} account: add it first (/api/v1/provider-accounts)"})


def save_rule(*, rule: InvitationRule, replace_active: bool = False) -> InvitationRule:
    """Store a new or changed rule, checked by `check_rule`.

    At most one rule of an event type is active: making a rule active while another is raises
    ActiveRuleExists, unless `replace_active`, which deactivates the other in the same
    transaction (so that the type never has two active rules, nor none in between).
    """
    check_rule(rule=rule)
    with db_transaction.atomic():
        others = InvitationRule.objects.filter(event_type_id=rule.event_type_id, is_active=True).exclude(pk=rule.pk)
        if rule.is_active and replace_active:
            others.update(is_active=False)
        elif rule.is_active and (active := others.first()) is not None:
            raise ActiveRuleExists(active)
        try:
            with db_transaction.atomic():
                rule.save()
        except IntegrityError:  # another request made a rule of the type active meanwhile
            raise ActiveRuleExists(others.first()) from None
    return rule


def check_wording(*, kind: str, locale: str, subject: str, body: str) -> None:
    """Refused unless the wording may be stored: a known kind and language, and text with the
    known placeholders only (see reputable.lib.emails)."""
    codes = [code for code, _name in settings.LANGUAGES]
    if locale not in codes:
        raise Refused({"locale": f"must be one of {', '.join(codes)}"})
    if kind not in MessageKind.values:
        raise Refused({"kind": f"must be one of {', '.join(MessageKind.values)}"})
    errors = {}
    for field, text in (("subject", subject), ("body", body)):
        try:
            check_placeholders(text)
        except PlaceholderError as error:
            errors[field] = str(error)
    if errors:
        raise Refused(errors)


def set_template(*, shop: Shop, kind: str, locale: str, subject: str, body: str) -> MessageTemplate:
    """The shop's own subject and body of `kind` messages in `locale`: text with the known
    placeholders only (see `check_wording`), else Refused."""
    check_wording(kind=kind, locale=locale, subject=subject, body=body)
    template, _created = MessageTemplate.objects.update_or_create(
        shop=shop, kind=kind, locale=locale, defaults={"subject": subject, "body": body, "updated_at": timezone.now()}
    )
    return template


def reset_template(*, template: MessageTemplate) -> None:
    """Back to the default wording: the shop's own is removed."""
    template.delete()


def send_test_message(*, shop: Shop, kind: str, locale: str, subject: str, body: str, to: str) -> None:
    """Send `to` (a member of the shop) the message a customer would get with this wording and
    sample values, as the dispatcher renders it; through the outbox, rendered now."""
    check_wording(kind=kind, locale=locale, subject=subject, body=body)
    message = sample_message(shop=shop, kind=kind, locale=locale, subject=subject, body=body, to=to)
    with db_transaction.atomic():
        send_email(
            "preview",
            to=to,
            context={"subject": message.subject, "text": message.text, "html": message.html},
            language=locale,
            shop=shop,
            sender_name=shop.display_sender,
            reply_to=shop.reply_to,
        )


# --- the pipeline: one invitation, suppressions -----------------------------------------------


def cancel_invitation(*, invitation: Invitation) -> bool:
    """The shop stops a pending invitation: nothing more is sent. False if it was not pending."""
    return Invitation.objects.filter(pk=invitation.pk).cancel() == 1


def send_invitation_now(*, invitation: Invitation) -> bool:
    """The next message of a pending invitation goes out at the dispatcher's next pass, not at
    its time by the rule. False if it was not pending."""
    return Invitation.objects.filter(pk=invitation.pk).send_now(timezone.now()) == 1


def resend_invitation(*, invitation: Invitation) -> bool:
    """A failed invitation is tried again at the dispatcher's next pass. False if it had not
    failed, or its order was returned or cancelled since."""
    return Invitation.objects.filter(pk=invitation.pk).resend(timezone.now()) == 1


def lift_suppression(*, suppression: Suppression) -> None:
    """The shop invites the address again: its next orders are invited as any other. What the
    suppression stopped stays stopped. A suppression for every shop (a bounce, a complaint) is
    not a shop's to lift."""
    if suppression.shop_id is None:
        raise Refused({"suppression": "a suppression for every shop is lifted by the operator only"})
    suppression.delete()
