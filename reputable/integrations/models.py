"""Connectors of shop systems and what they delivered.

A connector is one shop's link to one platform: it receives the platform's webhooks at its
own URL (`/connectors/<key>/`) or, for a platform without webhooks (Magento 2), pulls from the
platform as due work of the dispatcher. Every delivery it took is logged, so the merchant can
see what arrived and what it made of it.
"""

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.dispatch.leases import Leased, LeasedQuerySet
from reputable.lib.tokens import new_token
from reputable.shops.models import Shop


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    SHOPWARE6 = "shopware6", "Shopware 6"
    MAGENTO2 = "magento2", "Magento 2"


class ConnectorQuerySet(LeasedQuerySet["Connector"]):
    # The pull connectors' due work (reputable.integrations.dispatch); webhook connectors
    # have no next_pull_at and are never due.
    due_field = "next_pull_at"
    pending = "active"
    failed = "failed"


class Connector(Leased):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        FAILED = "failed", _("Failed")  # a pull that gave up; the merchant resumes it

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="connectors")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    # The connector's part of its delivery URL: unguessable, so URLs cannot be enumerated.
    key = models.CharField(max_length=32, unique=True, default=new_token)
    # The secret the platform signs with (Shopify's, or made here and shown once). Kept as it
    # is: verifying an HMAC needs the key itself, a hash would not do.
    secret = models.CharField(max_length=200, blank=True)
    # Magento 2: the shop's base URL and its integration access token.
    base_url = models.URLField(max_length=500, blank=True)
    access_token = models.CharField(max_length=500, blank=True)
    # The merchant's remapping of the platform's stages onto event types:
    # {"paid": "checkout", "fulfilled": ""} ("" ignores a stage); stages not named keep the
    # platform's default (reputable.integrations.platforms).
    mapping = models.JSONField(default=dict, blank=True)
    # What the platform's module keeps between deliveries (Shopware's registration, Magento's
    # cursor); nobody else reads it.
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    next_pull_at = models.DateTimeField(null=True, blank=True)  # pull connectors only
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ConnectorQuerySet] = ConnectorQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        indexes = [
            # Serves ConnectorQuerySet.due(): the pull connectors whose next pull has come.
            models.Index(fields=["next_pull_at"], condition=Q(status="active"), name="connector_pull_due"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.platform} of {self.shop_id}"

    @property
    def is_paused(self) -> bool:
        return self.status == self.Status.PAUSED


class Delivery(models.Model):
    """One webhook a connector took (signature verified) or one page of a pull."""

    class Outcome(models.TextChoices):
        RECORDED = "recorded", _("Recorded")  # events handed to record_events
        IGNORED = "ignored", _("Ignored")  # a topic or stage that maps to no active event type
        FAILED = "failed", _("Failed")  # the payload could not be read (no address, say)

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    received_at = models.DateTimeField(default=timezone.now)
    topic = models.CharField(max_length=100)
    # The platform's id of the delivery (X-Shopify-Webhook-Id, Shopware's source.eventId, ...):
    # a delivery seen before is a replay and is not taken again. Blank when it has none.
    dedupe_key = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # The references of the orders it concerned, comma separated, and the events recorded.
    references = models.CharField(max_length=500, blank=True)
    events = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "dedupe_key"], condition=~Q(dedupe_key=""), name="one_delivery_per_platform_id"
            )
        ]
        indexes = [
            # Serves the connector's delivery log: its latest deliveries first.
            models.Index(fields=["connector", "-id"], name="delivery_newest_first"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.topic} ({self.outcome})"

    def as_log(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "received_at": self.received_at,
            "topic": self.topic,
            "outcome": self.outcome,
            "references": [r for r in self.references.split(",") if r],
            "events": self.events,
            "message": self.message,
        }
