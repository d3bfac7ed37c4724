"""Outgoing webhooks: a shop's endpoints, the messages its changes make, and their deliveries.

A change a shop's systems may want to hear about (an event received, an invitation sent, a
review written, ...) makes one `Message` (`reputable.webhooks.events.emit`), in the transaction
of the change, with one `Delivery` per endpoint listening to its type: the webhooks' outbox. The
dispatcher delivers each delivery by the Standard Webhooks specification
(`reputable.webhooks.dispatch`); every try is kept as an `Attempt`.
"""

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.shops.models import Shop

# How long the secret a rotation replaced keeps signing beside the new one.
ROTATION_OVERLAP = dt.timedelta(hours=24)


class Endpoint(models.Model):
    """A URL of the shop's that receives the messages of the event types it listens to.

    `secret` signs (`whsec_` and base64 of 32 random bytes). It is kept as it is, not hashed:
    signing needs it. After a rotation the previous secret signs too, until
    `previous_secret_until`. `failing_since` is the first failed try since the last success;
    an endpoint failing for ENDPOINT_FAILING_DAYS is disabled, as is one that answers 410.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=64)
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook endpoint {self.pk} of {self.shop_id}"

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def secrets(self, now: dt.datetime) -> list[str]:
        """The secrets that sign a message sent at `now`: the current one, and the previous one
        within a day of its rotation."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


class Message(models.Model):
    """One event type's message about one change: its body is fixed when it is made, and its
    `uid` (the `webhook-id`) stays the same on every try to every endpoint."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_messages", db_index=False)
    uid = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    body = models.TextField()  # {"type", "timestamp", "data"}, as sent
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Serves the sweep of messages past WEBHOOK_RETENTION_DAYS (reputable.webhooks.dispatch).
            models.Index(fields=["created_at"], name="webhook_message_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.uid}"


class DeliveryQuerySet(LeasedQuerySet["Delivery"]):
    # The dispatcher's due work (reputable.webhooks.dispatch).
    due_field: ClassVar[str] = "due_at"
    pending: ClassVar[str] = "pending"
    failed: ClassVar[str] = "failed"


class Delivery(Leased):
    """One message to one endpoint, tried on the retry schedule until it succeeds or is given up."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waits for due_at
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # given up after the last try, refused for good, or its endpoint disabled

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # What the last try saw.
    tries = models.PositiveIntegerField(default=0)
    last_try_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # its first KB
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[DeliveryQuerySet] = DeliveryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        indexes = [
            # Serves DeliveryQuerySet.due(): the deliveries whose time has come.
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            # Serves an endpoint's delivery log, newest first (the API and the dashboard), and
            # the failing of an endpoint's pending deliveries when it is disabled.
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_newest"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class Attempt(models.Model):
    """One try of a delivery: when, what came back (status, the first KB of the body), how long
    it took, or the error that stopped it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_made")
    at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}"
