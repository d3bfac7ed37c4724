import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db import transaction as db_transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.events.models import Event, EventType, Transaction
from reputable.integrations.models import Provider
from reputable.lib import sql
from reputable.lib.dates import MAX_DELAY, DelayUnit, add_delay
from reputable.lib.tokens import new_token
from reputable.shops.models import Shop
from reputable.webhooks.events import emit

EMAIL = "email"
# Who sends a rule's invitations: Reputable by email, or a provider the shop connected
# (reputable.integrations.forwarding), which then sends its own reminders.
CHANNELS = [(EMAIL, _("Email from Reputable")), *Provider.choices]


class InvitationRule(models.Model):
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="rules")
    is_active = models.BooleanField(default=True)
    # At most MAX_DELAY of its unit (see clean()), as is the reminder interval.
    delay_amount = models.PositiveIntegerField(default=7)
    delay_unit = models.CharField(max_length=16, choices=DelayUnit.choices, default=DelayUnit.DAYS)
    # Wall time in the shop's time zone at which the message goes out, if set.
    send_time = models.TimeField(null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(3)])
    reminder_interval_amount = models.PositiveIntegerField(default=7, validators=[MinValueValidator(1)])
    reminder_interval_unit = models.CharField(max_length=16, choices=DelayUnit.choices, default=DelayUnit.DAYS)
    # Transactions older than this when their event arrives are not invited (None: any age).
    max_transaction_age_days = models.PositiveIntegerField(
        null=True, blank=True, default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    channel = models.CharField(max_length=20, choices=CHANNELS, default=EMAIL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event_type"], condition=Q(is_active=True), name="one_active_rule_per_event_type"
            )
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delay_amount} {self.delay_unit} after {self.event_type_id}"

    def clean(self) -> None:
        """The rule's own limits, for a new rule and a changed one alike."""
        errors = {}
        for amount, unit in (("delay_amount", "delay_unit"), ("reminder_interval_amount", "reminder_interval_unit")):
            most = MAX_DELAY.get(getattr(self, unit))
            if most is not None and getattr(self, amount) > most:
                errors[amount] = f"at most {most} {getattr(self, unit).replace('_', ' ')}"
        if self.send_time is not None and (self.send_time.second or self.send_time.microsecond):
            errors["send_time"] = "takes hours and minutes only"
        if errors:
            raise ValidationError(errors)

    @property
    def forwards(self) -> bool:
        """Whether a provider sends this rule's invitations (and reminders), not Reputable."""
        return self.channel != EMAIL

    @property
    def counts_business_days(self) -> bool:
        return DelayUnit.BUSINESS_DAYS in (self.delay_unit, self.reminder_interval_unit)

    def first_send_at(self, transaction_date: dt.datetime, shop: Shop) -> dt.datetime:
        return self.send_at_after(transaction_date, self.delay_amount, self.delay_unit, shop)

    def reminder_send_at(self, previous_send: dt.datetime, shop: Shop) -> dt.datetime:
        return self.send_at_after(previous_send, self.reminder_interval_amount, self.reminder_interval_unit, shop)

    def send_at_after(self, start: dt.datetime, amount: int, unit: str, shop: Shop) -> dt.datetime:
        """When a message `amount` `unit`s after `start` goes out, at the rule's time of day."""
        return add_delay(
            start,
            amount,
            unit,
            zone=shop.timezone,
            country=shop.country,
            subdivision=shop.subdivision,
            time_of_day=self.send_time,
        )

    def is_too_old(self, transaction_date: dt.datetime, now: dt.datetime) -> bool:
        if self.max_transaction_age_days is None:
            return False
        return transaction_date < now - dt.timedelta(days=self.max_transaction_age_days)


class MessageKind(models.TextChoices):
    INVITATION = "invitation"
    REMINDER = "reminder"


class MessageTemplate(models.Model):
    """A shop's own subject and body for one kind of message in one language.

    Text with placeholders only (see `reputable.lib.emails`); never template code.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="message_templates")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    locale = models.CharField(max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind", "locale"], name="one_template_per_kind_and_locale")
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.locale})"


class InvitationQuerySet(LeasedQuerySet["Invitation"]):
    """The invitation's lifecycle: every change of `status` is one of these methods.

    pending --(Invitation.record_sent, the last step)--> completed
    pending --(cancel: a stop event, or the shop)--> cancelled
    pending --(suppress: objection, bounce, complaint)--> suppressed
    pending, completed, failed --(mark_reviewed)--> reviewed
    pending --(retry_later without a retry: the last failed attempt)--> failed
    pending --(send_now: the shop asks for the next message at once)--> pending, due now
    failed --(resend: the shop tries again, unless the order was stopped)--> pending, due now

    `schedule` creates pending rows; the dispatcher's lease (`claim`, `release`, the claim
    columns) comes from `LeasedQuerySet`. Changes by others (a review, a stop event, an
    objection, the shop) leave the lease alone: the dispatcher that holds the row records its
    result, which keeps their status (see `record_sent`).
    """

    due_field: ClassVar[str] = "send_at"
    pending: ClassVar[str] = "pending"
    failed: ClassVar[str] = "failed"

    def schedule(self, db: sql.Statements, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Create pending invitations, in plain SQL inside the caller's ingestion transaction.

        `rows`: values of SCHEDULE.given. Returns their ids, in order.
        """
        return [pk for (pk,) in SCHEDULE.run(db, rows)]

    def cancel(self) -> int:
        """A return or cancellation stopped the order, or the shop stopped the invitation:
        nothing more is sent."""
        return self._stop(Invitation.Status.CANCELLED, "invitation.cancelled")

    def suppress(self) -> int:
        """The address objected, bounced or complained: nothing more is sent."""
        return self._stop(Invitation.Status.SUPPRESSED, "invitation.suppressed")

    def _stop(self, status: str, event_type: str) -> int:
        """Pending rows end in `status`, and each shop's webhooks hear of it (`event_type`), in
        one transaction. The rows are locked as they are read (PostgreSQL), so that those told
        of are those changed."""
        with db_transaction.atomic():
            stopped = list(
                self.filter(status=self.pending)
                .select_for_update(of=("self",))
                .values_list("pk", "shop_id", "transaction__reference")
            )
            if not stopped:
                return 0
            changed = Invitation.objects.filter(pk__in=[pk for pk, _shop, _ref in stopped]).update(status=status)
            by_shop: dict[int, list[tuple[str, dict[str, Any]]]] = {}
            for pk, shop_id, reference in stopped:
                by_shop.setdefault(shop_id, []).append(
                    (event_type, {"id": pk, "reference": reference, "status": status})
                )
            for shop_id, events in by_shop.items():
                emit(shop_id, events)
        return changed

    def mark_reviewed(self) -> int:
        """The customer wrote a review: no reminder goes out after it (nor after a resend of a
        reminder that had failed)."""
        statuses = [self.pending, Invitation.Status.COMPLETED, self.failed]
        return self.filter(status__in=statuses).update(status=Invitation.Status.REVIEWED)

    def send_now(self, now: dt.datetime) -> int:
        """The shop wants the next message (the invitation or a reminder) out at once: it is due
        now, and the dispatcher takes it at its next pass, with every check it makes."""
        return self.filter(status=self.pending).update(send_at=now)

    def resend(self, now: dt.datetime) -> int:
        """The shop tries a failed invitation again: pending, due now, its failed attempts
        forgotten (the last error stays until a message goes out). Not after a stop event: a
        returned or cancelled order is never invited."""
        stopped = Event.objects.filter(transaction=OuterRef("transaction"), event_type__is_stop=True)
        return (
            self.filter(status=self.failed)
            .exclude(Exists(stopped))
            .update(status=self.pending, attempts=0, send_at=now)
        )


class Stage(models.TextChoices):
    """Where an invitation stands, as the shop sees it: its status, and for one on its way or
    done, how many messages went out."""

    SCHEDULED = "scheduled", _("Scheduled")  # pending, nothing sent yet
    SENT = "sent", _("Sent")  # the invitation went out, no reminder (yet)
    REMINDED = "reminded", _("Reminded")  # one reminder or more went out too
    REVIEWED = "reviewed", _("Reviewed")
    CANCELLED = "cancelled", _("Cancelled")
    SUPPRESSED = "suppressed", _("Suppressed")
    FAILED = "failed", _("Failed")


# Each stage as a condition on invitations (`Invitation.stage` says the same of one row).
# Written with OR, not IN: SQLite matches a partial index to a query's bound values only so.
_UNDER_WAY = Q(status="pending") | Q(status="completed")
STAGES = {
    Stage.SCHEDULED: Q(status="pending", sent_count=0),
    Stage.SENT: _UNDER_WAY & Q(sent_count=1),
    Stage.REMINDED: _UNDER_WAY & Q(sent_count__gte=2),
    **{stage: Q(status=stage.value) for stage in (Stage.REVIEWED, Stage.CANCELLED, Stage.SUPPRESSED, Stage.FAILED)},
}


class Invitation(Leased):
    class Status(models.TextChoices):
        PENDING = "pending"  # a message (invitation or reminder) waits for send_at
        COMPLETED = "completed"  # the invitation and all its reminders went out
        REVIEWED = "reviewed"  # the customer wrote a review; nothing more is sent
        CANCELLED = "cancelled"  # a return or cancellation stopped it
        SUPPRESSED = "suppressed"  # the address objected, bounced or complained
        FAILED = "failed"  # sending failed DISPATCH_MAX_ATTEMPTS times, or cannot succeed

    # No index of its own: invitation_by_address leads with it.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    # One invitation per transaction, whatever happens: the database holds the rule.
    transaction = models.OneToOneField(Transaction, on_delete=models.CASCADE, related_name="invitation")
    rule = models.ForeignKey(
        InvitationRule,
        on_delete=models.SET_NULL,
        null=True,
        related_name="invitations",
        db_index=False,  # rules are deactivated, hardly ever deleted: no index to write per invitation
    )
    email = models.EmailField()
    locale = models.CharField(max_length=8)
    # The secret in the customer's review and unsubscribe links.
    token = models.CharField(max_length=64, unique=True, default=new_token)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # Messages sent so far: 0 before the invitation, 1 after it, 2 after the first reminder...
    sent_count = models.PositiveSmallIntegerField(default=0)
    send_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # A forwarded invitation: the provider it went to and its answer (its reference of the
    # invitation, or the order's when it gives none). Blank for Reputable's own email.
    forwarded_to = models.CharField(max_length=20, blank=True, default="")
    forwarded_ref = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves LeasedQuerySet.due(): the dispatcher's "what is due now" scan.
            models.Index(fields=["send_at"], condition=Q(status="pending"), name="invitation_due"),
            # Serves the frequency cap: "was this address invited by this shop lately?"
            models.Index(fields=["shop", "email", "created_at"], name="invitation_by_address"),
            # Serve the pipeline's stage filters, newest transaction first (reputable.dashboard.
            # pipeline): by status (scheduled: pending, then sent_count 0 among them) ...
            models.Index(fields=["shop", "status", "transaction"], name="invitation_by_status"),
            # ... and the stages that are counts of messages of pending and completed ones.
            models.Index(fields=["shop", "transaction"], condition=STAGES[Stage.SENT], name="invitation_sent"),
            models.Index(fields=["shop", "transaction"], condition=STAGES[Stage.REMINDED], name="invitation_reminded"),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.status})"

    @property
    def stage(self) -> Stage:
        """Where it stands for the shop (see STAGES, the same as conditions)."""
        if self.status in (self.Status.PENDING, self.Status.COMPLETED):
            return Stage.SCHEDULED if self.sent_count == 0 else Stage.SENT if self.sent_count == 1 else Stage.REMINDED
        return Stage(self.status)

    @property
    def reminders_sent(self) -> int:
        return max(self.sent_count - 1, 0)

    @classmethod
    def record_sent(cls, pk: int, claim_id: str, *, now: dt.datetime, next_send_at: dt.datetime | None) -> None:
        """The claimed row's message went out: count it, then wait for the next step or finish.

        One statement, in plain SQL (it runs once per message; a class method, as building a
        QuerySet alone costs a tenth of it). A review, cancellation or objection that came
        during the send keeps its status: only a pending row moves on.
        """
        with connection.cursor() as cursor:
            db = sql.Statements(cursor)
            if next_send_at is None:
                db.execute(_SENT_LAST_STEP, [db.value(now), pk, claim_id])
            else:
                db.execute(_SENT_NEXT_STEP, [db.value(now), db.value(next_send_at), pk, claim_id])


_RECORD_SENT = (
    f"UPDATE {sql.table(Invitation)} SET sent_count = sent_count + 1, last_sent_at = %s, attempts = 0,"
    " last_error = '', claimed_until = NULL, claim_id = '', {changes} WHERE id = %s AND claim_id = %s"
)
# The status values are ours, written into the SQL: only a pending row moves on.
_PENDING, _COMPLETED = Invitation.Status.PENDING.value, Invitation.Status.COMPLETED.value
_SENT_LAST_STEP = _RECORD_SENT.format(
    changes=f"status = CASE WHEN status = '{_PENDING}' THEN '{_COMPLETED}' ELSE status END"
)
_SENT_NEXT_STEP = _RECORD_SENT.format(changes=f"send_at = CASE WHEN status = '{_PENDING}' THEN %s ELSE send_at END")

# Ingestion's INSERT of new invitations (the dispatcher's columns take their defaults).
SCHEDULE = sql.Insert(
    Invitation, ["shop_id", "transaction_id", "rule_id", "email", "locale", "token", "status", "send_at", "created_at"]
)


class SuppressionQuerySet(models.QuerySet["Suppression"]):
    def for_shop(self, shop: Shop) -> "SuppressionQuerySet":
        """Suppressions that bind `shop`: its own and the global ones."""
        return self.filter(Q(shop=shop) | Q(shop__isnull=True))


class Suppression(models.Model):
    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")
        MANUAL = "manual", _("Added by the shop")

    # None: every shop on this installation (hard bounces, complaints). No index of its own:
    # one_suppression_per_shop and suppression_newest_first lead with it.
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="suppressions", db_index=False
    )
    email = models.EmailField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # What the provider or the DSN said, shown to the merchant ("550 5.1.1 user unknown
    # (Postmark HardBounce)"); blank for an unsubscription or a shop's own entry.
    detail = models.CharField(max_length=500, blank=True, default="")
    # Where it came from: "unsubscribe", "dashboard", "api", "dsn" (`reputable bounces`), or
    # the email provider's webhook ("postmark", "amazon_ses", ...).
    source = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "email"], name="one_suppression_per_shop"),
            models.UniqueConstraint(fields=["email"], condition=Q(shop__isnull=True), name="one_global_suppression"),
        ]
        indexes = [
            # Serves the dashboard's suppressions list: the shop's own, newest first.
            models.Index(fields=["shop", "id"], name="suppression_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
