"""Disputes, notices and decisions: the fair procedure that may take a review down.

A review stays published while it is disputed. A shop's dispute (`Dispute`) is triaged by a
moderator, the reviewer is heard, the shop may rebut once, a moderator decides, and either
party may appeal to a different moderator. Anyone may send a notice (`Notice`, DSA Art. 16).
Every step is an append-only `Entry`; every decision a `Decision`, which is also the statement
of reasons (DSA Art. 17) sent to both parties. Deadlines are `Deadline` rows, due work of the
dispatcher, each done exactly once. See `reputable.moderation.actions`.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.moderation.grounds import Ground
from reputable.reviews.models import Review
from reputable.shops.models import Shop


class Party(models.TextChoices):
    SHOP = "shop", _("The shop")
    REVIEWER = "reviewer", _("The reviewer")
    MODERATOR = "moderator", _("Moderation")
    NOTIFIER = "notifier", _("The person who sent the notice")
    SYSTEM = "system", _("Reputable (automatically)")


class Dispute(models.Model):
    """A shop's complaint about one of its reviews, from opening to the final decision."""

    class Stage(models.TextChoices):
        TRIAGE = "triage", _("Waiting for triage")
        HEARING = "hearing", _("The reviewer is heard")
        REBUTTAL = "rebuttal", _("The shop may answer the reviewer")
        DECISION = "decision", _("Waiting for the decision")
        DECIDED = "decided", _("Decided")
        APPEAL = "appeal", _("Appealed")
        CLOSED = "closed", _("Closed")

    # Stages in which the dispute counts against the shop's limit of open disputes.
    OPEN_STAGES = (Stage.TRIAGE, Stage.HEARING, Stage.REBUTTAL, Stage.DECISION, Stage.APPEAL)

    class Outcome(models.TextChoices):
        INADMISSIBLE = "inadmissible", _("Not admissible")
        KEPT = "kept", _("Kept")
        REDACTED = "redacted", _("Redacted")
        REMOVED = "removed", _("Removed")
        WITHDRAWN = "withdrawn", _("Withdrawn by the reviewer")
        MOOT = "moot", _("Closed: the review was removed otherwise")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="disputes")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    reason = models.CharField(max_length=40, choices=Ground.choices)
    passage = models.TextField(max_length=5000, blank=True)
    explanation = models.TextField(max_length=5000)
    good_faith = models.BooleanField(default=False)
    # The review's rating when the dispute was opened (the transparency figures: which share
    # of a shop's disputes aim at 1-2 star reviews).
    rating = models.PositiveSmallIntegerField()
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.TRIAGE)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    admitted_at = models.DateTimeField(null=True, blank=True)
    # The reviewer's answer: a statement (or an edit, a withdrawal), and the one extension.
    reviewer_answered_at = models.DateTimeField(null=True, blank=True)
    extended = models.BooleanField(default=False)
    rebutted_at = models.DateTimeField(null=True, blank=True)
    # The last input of a party: the decision is due 7 days after it.
    last_input_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the shop's dispute list (API, dashboard), newest first.
            models.Index(fields=["shop", "-created_at", "-id"], name="dispute_newest"),
            # Serves the moderators' queues: open disputes by stage.
            models.Index(fields=["stage", "created_at"], condition=~Q(stage="closed"), name="dispute_queue"),
        ]
        permissions = [("moderator", "May moderate disputes and notices of every shop")]

    def __str__(self) -> str:
        return f"dispute {self.pk} on review {self.review_id} ({self.stage})"

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES


class Notice(models.Model):
    """A notice about a review from anyone (DSA Art. 16), confirmed by a link to its sender."""

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Waiting for the sender to confirm the address")
        OPEN = "open", _("Waiting for a moderator")
        DECIDED = "decided", _("Decided")

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="notices")
    reason = models.CharField(max_length=40, choices=Ground.choices)
    explanation = models.TextField(max_length=5000)
    name = models.CharField(max_length=120)
    email = models.EmailField()
    good_faith = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True)
    # SHA-256 of the confirmation link's token (the token is only in the email).
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNCONFIRMED)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the moderators' notice queue, oldest first.
            models.Index(fields=["status", "created_at"], condition=Q(status="open"), name="notice_queue"),
        ]

    def __str__(self) -> str:
        return f"notice {self.pk} on review {self.review_id}"


class Entry(models.Model):
    """One step of a dispute or a notice, as it happened: never changed, never deleted.

    Who sees it: moderators all; the shop and the reviewer what `shown_to_shop` and
    `shown_to_reviewer` say (the reviewer's evidence, for one, is for moderators only).
    """

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    actor = models.CharField(max_length=10, choices=Party.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # What happened, a word of `reputable.moderation.actions` ("opened", "admitted", ...).
    action = models.CharField(max_length=30)
    text = models.TextField(blank=True)
    shown_to_shop = models.BooleanField(default=True)
    shown_to_reviewer = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispute__isnull=False) | Q(notice__isnull=False), name="entry_of_a_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"


class Evidence(models.Model):
    """A file the reviewer sent to prove the review (an invoice, a photo): for moderators
    only, never shown to the shop. Kept in the database, like logos: no file storage to run."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence")
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"


class Decision(models.Model):
    """A moderator's (or, for a deadline, the automatic) decision on a dispute or a notice; it
    is the statement of reasons (DSA Art. 17(3)) that both parties receive by email."""

    class Measure(models.TextChoices):
        KEPT = "kept", _("No measure: the review stays as it is")
        RESTRICTED = "restricted", _("The review is hidden until the decision")
        REDACTED = "redacted", _("A passage of the review is replaced by a note")
        REMOVED = "removed", _("The review is removed and a notice of its removal is shown in its place")

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="decisions")
    # None: taken by automated means (a deadline passed), as the statement says.
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    measure = models.CharField(max_length=12, choices=Measure.choices)
    ground = models.CharField(max_length=40, choices=Ground.choices)
    passage = models.TextField(blank=True)  # the passage redacted
    facts = models.TextField()  # the facts and circumstances relied on
    explanation = models.TextField(blank=True)  # the moderator's reasons
    automated = models.BooleanField(default=False)
    interim = models.BooleanField(default=False)  # a restriction pending the decision
    appeal = models.BooleanField(default=False)  # decides an appeal (by another moderator)
    created_at = models.DateTimeField(default=timezone.now)
    appeal_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispute__isnull=False) | Q(notice__isnull=False), name="decision_of_a_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure} on review {self.review_id}"

    @property
    def notice_based(self) -> bool:
        return self.notice_id is not None


class DeadlineQuerySet(LeasedQuerySet["Deadline"]):
    due_field: ClassVar[str] = "due_at"
    pending: ClassVar[str] = "pending"
    failed: ClassVar[str] = "failed"


class Deadline(Leased):
    """A date by which a party must act, or by which moderation must decide: due work of the
    dispatcher (`reputable.moderation.dispatch`), done exactly once (one row per dispute and
    name; done in the transaction of what it does), or cancelled when acting made it moot."""

    class Name(models.TextChoices):
        TRIAGE = "triage", _("Triage")
        REVIEWER_REMINDER = "reviewer_reminder", _("Reminder to the reviewer")
        REVIEWER = "reviewer", _("The reviewer's answer")
        REBUTTAL = "rebuttal", _("The shop's rebuttal")
        DECISION = "decision", _("The decision")
        APPEAL_DECISION = "appeal_decision", _("The decision on the appeal")

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        CANCELLED = "cancelled"
        FAILED = "failed"

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="deadlines")
    name = models.CharField(max_length=20, choices=Name.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    done_at = models.DateTimeField(null=True, blank=True)

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dispute", "name"], name="one_deadline_of_each_name")]
        indexes = [
            # Serves LeasedQuerySet.due(): the dispatcher's "which deadline has passed" scan.
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="deadline_due"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of dispute {self.dispute_id} at {self.due_at:%Y-%m-%d %H:%M} ({self.status})"
