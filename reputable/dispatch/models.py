from typing import ClassVar

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.shops.models import Shop


class OutboxQuerySet(LeasedQuerySet["OutboxItem"]):
    due_field: ClassVar[str] = "due_at"
    pending: ClassVar[str] = "pending"
    failed: ClassVar[str] = "failed"

    def record_done(self, claim_id: str, *, now: object) -> int:
        return self.filter(claim_id=claim_id, status=self.pending).update(
            status=OutboxItem.Status.DONE, done_at=now, claimed_until=None, claim_id="", last_error=""
        )

    def erase(self) -> int:
        """The personal data these rows carry was erased (reputable.privacy): their payload goes,
        and one not sent yet never will be. Rows erased before are left alone."""
        unsent = Q(status=self.pending)
        return self.exclude(payload={}).update(
            payload={},
            status=Case(When(unsent, then=Value(self.failed)), default=F("status")),
            last_error=Case(
                When(unsent, then=Value("erased before it was sent")),
                default=F("last_error"),
                output_field=models.TextField(),
            ),
        )


class OutboxItem(Leased):
    """One message to send or call to make, written in the transaction of the change that causes it.

    The dispatcher delivers it when it is due (`due_at`: at once, or a deadline), with the
    retry schedule of its kind; `kind` names the class that delivers it (see
    `reputable.dispatch.outbox`). Its id is its stable identity across retries (Message-ID,
    webhook-id), so that a rare repeat is recognisable.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # waits for due_at
        DONE = "done"
        FAILED = "failed"  # given up after the kind's last attempt, or on a permanent error

    kind = models.CharField(max_length=40)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves LeasedQuerySet.due() for one kind: the dispatcher's "what is due now" scan.
            models.Index(fields=["kind", "due_at"], condition=Q(status="pending"), name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"
