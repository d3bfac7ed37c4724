"""What privacy keeps: each shop's retention run (due work of the dispatcher) and the log of
data subject requests.

Neither keeps an address in clear text: a request names its person by a keyed hash (to find
their earlier requests) and a masked hint for people ("j•••@example.com").
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.shops.models import ApiKey, Shop


class RetentionRunQuerySet(LeasedQuerySet["RetentionRun"]):
    due_field: ClassVar[str] = "due_at"
    pending: ClassVar[str] = "pending"
    failed: ClassVar[str] = "failed"


class RetentionRun(Leased):
    """A shop's daily erasure of what is older than its retention period (`Shop.retention_months`).

    The run walks the shop's transactions in the order they were recorded (created_at, id),
    so it keeps where it got to (`erased_to_*`): each day it starts there, and a run cut short
    (many rows, a killed dispatcher) goes on from there, never over the erased rows again.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # always: a shop's run is due again every day (`failed` is never set)
        FAILED = "failed"

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="retention_run")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(default=timezone.now)
    # The last transaction erased by age (its created_at and id): the next batch starts after it.
    erased_to_created_at = models.DateTimeField(null=True, blank=True)
    erased_to_id = models.BigIntegerField(default=0)
    erased_count = models.PositiveBigIntegerField(default=0)  # transactions erased by age, all runs
    last_run_at = models.DateTimeField(null=True, blank=True)  # when a run last caught up

    objects = RetentionRunQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves LeasedQuerySet.due(): the dispatcher's "which shop's run is due" scan.
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="retention_due"),
        ]

    def __str__(self) -> str:
        return f"retention of shop {self.shop_id}"


class PrivacyRequest(models.Model):
    """A data subject's request to a shop, by email address: an export or an erasure. Done at
    once (they are writes to the database), kept with the deadline the law sets (GDPR Art. 12(3):
    one month from receipt)."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        ERASURE = "erasure", _("Erasure")

    class ReviewChoice(models.TextChoices):
        """What an erasure does to the person's reviews, as they chose."""

        ANONYMISE = "anonymise", _("Keep the reviews, shown as anonymous")
        REMOVE = "remove", _("Remove the reviews, leaving a stub")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="privacy_requests", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The address as a keyed hash (HMAC with the installation's secret), and masked for people.
    email_hash = models.CharField(max_length=64)
    email_hint = models.CharField(max_length=120)
    review_choice = models.CharField(max_length=10, choices=ReviewChoice.choices, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Who asked: a member in the dashboard, or an API key.
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True)
    # What was found (export) or erased (erasure): counts by kind of row.
    counts = models.JSONField(default=dict)

    class Meta:
        indexes = [
            # Serves the dashboard's log of requests, newest first (keyset by id).
            models.Index(fields=["shop", "-id"], name="privacy_request_newest"),
            # Serves an export's list of the person's earlier requests.
            models.Index(fields=["shop", "email_hash"], name="privacy_request_by_person"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.email_hint}"
