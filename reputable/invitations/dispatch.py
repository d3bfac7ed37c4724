"""Invitations as the dispatcher's due work: claim due invitations, re-check one, send its next
message, record (see `reputable.dispatch.work` for the steps every kind shares).

Rows are claimed in batches of 50 and sent one by one. Just before its send each row is read
again (`recheck`): a review, a cancellation or an objection that came after the claim stops
it, and so does the loss of the claim. The statements that run once per message (`recheck`,
`Invitation.record_sent`) are written out in SQL: through the ORM
each would cost about 0.4 ms of CPU on a small machine, as much as the send.
"""

import collections
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Model
from django.utils import timezone

from reputable.dispatch.work import Check, LeasedKind, Permanent, register
from reputable.events.models import Transaction
from reputable.integrations import forwarding
from reputable.integrations.models import ProviderAccount
from reputable.invitations.messages import Composer, Letter, Templates
from reputable.invitations.models import Invitation, InvitationRule, MessageTemplate, Suppression
from reputable.lib import sql
from reputable.lib.emails import AddressError
from reputable.reviews import counters
from reputable.shops.models import Shop
from reputable.webhooks.events import emit, listened_to


@dataclass(slots=True)
class Claimed:
    """A claimed invitation: what the send and its record need."""

    pk: int
    claim_id: str
    claimed_until: dt.datetime
    attempts: int
    rule: InvitationRule | None
    letter: Letter
    templates: Templates  # the shop's own wording
    forwarded_to: str = ""  # the provider it was handed to instead of an email (no reminders follow)

    @property
    def shop(self) -> Shop:
        return self.letter.shop


def _fetch(query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        return sql.Statements(cursor).fetch(query, params)


def _load[M: Model](model: type[M], pks: list[int]) -> dict[int, M]:
    """Model instances by pk, in plain SQL: the ORM's in_bulk() without its query building."""
    if not pks:
        return {}
    select = sql.Select(model)
    rows = _fetch(f"SELECT {select.columns} FROM {sql.table(model)} WHERE id IN ({sql.marks(len(pks))})", pks)
    return {obj.pk: obj for obj in map(select.instance, rows)}


# Whether the address of invitation `i` is suppressed for its shop (or everywhere).
_SUPPRESSED = (
    f"EXISTS (SELECT 1 FROM {Suppression._meta.db_table} s"
    " WHERE s.email = i.email AND (s.shop_id = i.shop_id OR s.shop_id IS NULL))"
)
_RECHECK = f"SELECT i.status, i.claim_id, {_SUPPRESSED} FROM {Invitation._meta.db_table} i WHERE i.id = %s"


@register
class Invitations(LeasedKind):
    """Invitations and their reminders, each at its `send_at`."""

    name = "invitations"
    model = Invitation

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.composer = Composer()  # keeps the messages' skeletons (see messages.py)
        # Messages sent and not counted yet: (shop id, day, metric) -> n.
        self.sent: collections.Counter[tuple[int, dt.date, str]] = collections.Counter()
        # The webhook event types the shops of the claimed batch listen to.
        self.listened: dict[int, set[str]] = {}

    def settle(self) -> None:
        """Count the messages sent since the last time, in one statement per shop and day.

        Counted per batch, not in the statement that records each send: that would double
        the statements per message (the dispatch benchmark's target). A dispatcher killed
        mid-batch leaves at most a batch of sends uncounted; no message is sent twice for it.
        """
        by_shop: dict[tuple[int, dt.date], dict[str, int]] = {}
        for (shop_id, day, metric), n in self.sent.items():
            by_shop.setdefault((shop_id, day), {})[metric] = n
        self.sent.clear()
        for (shop_id, day), metrics in by_shop.items():
            counters.add(shop=shop_id, day=day, metrics=metrics)

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[Claimed]:
        self.settle()
        claim = Invitation.objects.claim(now, size=self.batch_size, lease=lease)
        if not claim.pks:
            return []
        rows = _fetch(
            "SELECT i.id, i.shop_id, i.rule_id, i.email, i.locale, i.token, i.sent_count, i.attempts,"
            f" t.first_name, t.reference FROM {sql.table(Invitation)} i JOIN {sql.table(Transaction)} t"
            f" ON t.id = i.transaction_id WHERE i.id IN ({sql.marks(len(claim.pks))}) AND i.claim_id = %s"
            " ORDER BY i.send_at, i.id",
            [*claim.pks, claim.id],
        )
        shop_ids = list({row[1] for row in rows})
        shops = _load(Shop, shop_ids)
        self.listened = listened_to(shop_ids)
        rules = _load(InvitationRule, list({row[2] for row in rows if row[2] is not None}))
        templates: dict[int, dict[tuple[str, str], tuple[str, str]]] = {shop_id: {} for shop_id in shop_ids}
        if shop_ids:
            for shop_id, kind, locale, subject, body in _fetch(
                f"SELECT shop_id, kind, locale, subject, body FROM {sql.table(MessageTemplate)}"
                f" WHERE shop_id IN ({sql.marks(len(shop_ids))})",
                shop_ids,
            ):
                templates[shop_id][(kind, locale)] = (subject, body)
        batch = []
        for pk, shop_id, rule_id, email, locale, token, sent_count, attempts, first_name, reference in rows:
            letter = Letter(pk, sent_count, email, locale, token, first_name, reference, shops[shop_id])
            rule = rules.get(rule_id) if rule_id is not None else None
            batch.append(Claimed(pk, claim.id, claim.until, attempts, rule, letter, templates[shop_id]))
        return batch

    def recheck(self, item: Claimed) -> Check:
        """Still pending and ours? An address suppressed since it was due ends it here."""
        row = _fetch(_RECHECK, [item.pk])
        if not row or row[0][0] != Invitation.Status.PENDING or row[0][1] != item.claim_id:
            return Check.GONE
        if row[0][2]:
            Invitation.objects.filter(pk=item.pk).suppress()
            self.release([item])
            return Check.HANDLED
        return Check.DO

    def perform(self, item: Claimed, now: dt.datetime) -> None:
        if item.rule is not None and item.rule.forwards and item.letter.step == 0:
            self.forward(item, item.rule, now)
            return
        try:
            message = self.composer.compose(item.letter, item.templates, now)
        except AddressError as error:
            raise Permanent(str(error)) from None
        try:
            self.mail.connection().send_messages([message])
        except Exception:
            self.mail.close()  # the session may be broken; the next send opens a fresh one
            raise

    @staticmethod
    def forward(item: Claimed, rule: InvitationRule, now: dt.datetime) -> None:
        """Hand the invitation to the rule's provider instead of sending an email; keep its answer.

        The provider sends its own reminders, so none is due here: `record_done` records the
        invitation as its last step (completed). A shop whose account is gone, or a refusal,
        fails it with the provider's message (`last_error`).
        """
        account = ProviderAccount.objects.filter(shop_id=item.shop.pk, provider=rule.channel).first()
        if account is None:
            raise Permanent(f"the shop has no {rule.get_channel_display()} account to forward to")
        tx = Transaction.objects.filter(invitation__pk=item.pk).values_list("last_name", "date").first()
        last_name, ordered_at = tx if tx is not None else ("", now)
        letter = item.letter
        reminder = (rule.reminder_interval_amount, rule.reminder_interval_unit) if rule.reminder_count else None
        outgoing = forwarding.Outgoing(
            email=letter.email,
            first_name=letter.first_name,
            last_name=last_name,
            reference=letter.order_reference,
            locale=letter.locale or item.shop.default_locale,
            ordered_at=ordered_at,
            delay_unit=rule.delay_unit,
            reminder=reminder,
        )
        ref = forwarding.forward(outgoing, account, now)
        Invitation.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
            forwarded_to=rule.channel, forwarded_ref=ref[:200]
        )
        item.forwarded_to = rule.channel

    def record_done(self, item: Claimed, now: dt.datetime) -> None:
        """Count the message; the next reminder is due after the rule's interval, if one is left."""
        rule, step = item.rule, item.letter.step + 1
        last = rule is None or step > rule.reminder_count or item.forwarded_to
        next_send_at = None if last or rule is None else rule.reminder_send_at(now, item.shop)
        if "invitation.sent" in self.listened.get(item.shop.pk, ()):
            with db_transaction.atomic():
                Invitation.record_sent(item.pk, item.claim_id, now=now, next_send_at=next_send_at)
                data = {
                    "id": item.pk,
                    "reference": item.letter.order_reference,
                    "step": item.letter.kind,
                    "sent_at": now,
                    "channel": item.forwarded_to or "email",
                }
                emit(item.shop, [("invitation.sent", {**data, "reminders_left": next_send_at is not None})])
        else:  # nobody listens: one statement, no transaction (the dispatch benchmark's path)
            Invitation.record_sent(item.pk, item.claim_id, now=now, next_send_at=next_send_at)
        self.sent[(item.shop.pk, now.date(), f"messages.sent.{item.letter.kind}")] += 1

    def record_failure(self, item: Claimed, error: str, retry_at: dt.datetime | None) -> None:
        """Keep the error; an invitation given up on counts as failed."""
        with db_transaction.atomic():
            super().record_failure(item, error, retry_at)
            # Given up on: failed, unless a review, a stop or an objection came during the try.
            if retry_at is None and Invitation.objects.filter(pk=item.pk, status=Invitation.Status.FAILED).exists():
                counters.add(shop=item.shop.pk, day=timezone.now().date(), metrics={"messages.failed": 1})
                data = {
                    "id": item.pk,
                    "reference": item.letter.order_reference,
                    "step": item.letter.kind,
                    "error": error,
                }
                emit(item.shop, [("invitation.failed", data)])
