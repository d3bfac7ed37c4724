"""Connectors of shop systems and what they delivered.

A connector is one shop's link to one platform: it receives the platform's webhooks at its
own URL (`/connectors/<key>/`) or, for a platform without webhooks (Magento 2), pulls from the
platform as due work of the dispatcher. Every delivery it took is logged, so the merchant can
see what arrived and what it made of it.

An import is a CSV file of orders the merchant uploaded, read by the dispatcher
(reputable.integrations.imports, .import_work).
"""

import datetime as dt
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.dispatch.leases import MAX_ERROR, Leased, LeasedQuerySet
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

    def with_activity(self, *, since: dt.datetime) -> Self:
        """With what the merchant watches: `last_delivery_at` and `recent_failures` (failed
        deliveries since `since`), each a subquery served by the index delivery_newest_first."""
        deliveries = Delivery.objects.filter(connector=OuterRef("pk")).order_by()
        failures = deliveries.filter(outcome=Delivery.Outcome.FAILED, received_at__gte=since)
        return self.annotate(
            last_delivery_at=Subquery(deliveries.order_by("-id").values("received_at")[:1]),
            recent_failures=Coalesce(Subquery(failures.values("connector").annotate(n=Count("id")).values("n")), 0),
        )


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


class ImportQuerySet(LeasedQuerySet["Import"]):
    # CSV imports as due work (reputable.integrations.import_work): queued until the dispatcher
    # takes one, running while it works through the file step by step, due again between steps.
    due_field = "due_at"
    pending = "queued"
    failed = "failed"
    WAITING = ("queued", "running")

    def due(self, now: dt.datetime) -> Self:
        # A running import is due as a queued one is: both wait for their next step.
        return self.filter(status__in=self.WAITING, due_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )

    def retry_later(self, claim_id: str, *, error: str, retry_at: dt.datetime | None) -> int:
        """A failed step; given up on, the import failed whether it had started or not."""
        if retry_at is not None:
            return super().retry_later(claim_id, error=error, retry_at=retry_at)
        return self.filter(claim_id=claim_id, status__in=self.WAITING).update(
            status=self.failed,
            due_at=None,
            finished_at=timezone.now(),
            attempts=F("attempts") + 1,
            last_error=error[:MAX_ERROR],
            claimed_until=None,
            claim_id="",
        )


class Import(Leased):
    """A CSV file of orders a shop uploaded: each row (or run of rows of one order) an event.

    The dispatcher reads it in steps (`position` is the byte offset of the next row): first the
    whole file is checked (`rows_total` stays None until it is), and only a file without a bad
    row is then recorded, so that a file imports all or nothing. A dry run stops after the check.
    The file is kept under the data folder (`path`) until the import is over, and no longer.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="imports", db_index=False)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=255, blank=True)  # under DATA_DIR; "" once removed
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    # How the file is read (detected, or as the merchant chose) and what its columns mean.
    encoding = models.CharField(max_length=10)
    delimiter = models.CharField(max_length=1)
    date_format = models.CharField(max_length=12, blank=True)  # "" until the data decides
    event_type = models.CharField(max_length=40, default="checkout")  # of rows without a type column
    columns = models.JSONField(default=list)  # the header's names, in order
    mapping = models.JSONField(default=dict)  # Reputable field -> header name
    data_start = models.PositiveBigIntegerField()  # the byte offset of the first row after the header
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # Progress: where the next step starts, rows checked, rows in the file (once checked), rows
    # recorded, and what the recording made of them.
    position = models.PositiveBigIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    # The first bad rows, [{"row", "column", "message"}], and how many there were in all.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[ImportQuerySet] = ImportQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        indexes = [
            # Serves ImportQuerySet.due(): the imports waiting for their next step.
            models.Index(fields=["due_at"], condition=Q(status__in=["queued", "running"]), name="import_due"),
            # Serves the dashboard's and the API's list of a shop's imports, newest first.
            models.Index(fields=["shop", "-id"], name="import_newest_first"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"import {self.filename} of {self.shop_id}"

    @property
    def is_over(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportSettings(models.Model):
    """What a shop's last import's columns meant, offered again for its next file."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="import_settings")
    mapping = models.JSONField(default=dict)  # Reputable field -> header name
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"import settings of {self.shop_id}"


# --- forwarding invitations to another provider (reputable.integrations.forwarding) ----------------


class Provider(models.TextChoices):
    """A review provider a shop may hand its invitations to instead of Reputable's email."""

    KIYOH = "kiyoh", "Kiyoh / Klantenvertellen"
    FEEDBACKCOMPANY = "feedbackcompany", "The Feedback Company"
    ETRUSTED = "etrusted", "Trusted Shops eTrusted"
    TRUSTPILOT = "trustpilot", "Trustpilot"


class ProviderAccount(models.Model):
    """A shop's credentials with one provider: what the dispatcher signs in with to forward.

    `credentials` are the provider's own (an API token, a client id and secret, ...); they are
    never shown back, only replaced. `access_token` caches the provider's OAuth token until
    `token_expires_at`.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="provider_accounts")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    credentials = models.JSONField(default=dict)
    access_token = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="one_account_per_provider")]

    def __str__(self) -> str:
        return f"{self.provider} account of {self.shop_id}"


# --- other portals' reviews, imported and kept apart (reputable.integrations.review_imports) ------


class ReviewSource(models.TextChoices):
    """Portals whose reviews a shop may import. `generic` is the documented format of our own,
    for any other portal, which names itself in the file."""

    TRUSTPILOT = "trustpilot", "Trustpilot"
    GOOGLE = "google", "Google"
    TRUSTEDSHOPS = "trustedshops", "Trusted Shops"
    KIYOH = "kiyoh", "Kiyoh"
    PROVENEXPERT = "provenexpert", "ProvenExpert"
    GENERIC = "generic", _("Other portal")


class ImportedReview(models.Model):
    """A review written on another portal and imported: never verified, never in the verified
    score, kept with its source, its id there, its date, its own rating and scale, its author
    as given and its link. Deduplicated on (shop, source, source_name, source_id) across imports:
    the generic format carries many portals, each with ids of its own."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="imported_reviews", db_index=False)
    source = models.CharField(max_length=20, choices=ReviewSource.choices)
    # The portal's name as shown (the generic format's own; else the source's label).
    source_name = models.CharField(max_length=80)
    source_id = models.CharField(max_length=200)
    # The rating as the portal gave it, on its scale (Kiyoh: 10), and converted to stars by the
    # published rule (reputable.integrations.review_imports.to_stars): `stars` exact, `rating`
    # the whole stars shown.
    original_rating = models.DecimalField(max_digits=5, decimal_places=2)
    original_scale = models.PositiveSmallIntegerField(default=5)
    stars = models.DecimalField(max_digits=4, decimal_places=2)
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    author = models.CharField(max_length=200, blank=True)  # as the portal gave it
    url = models.URLField(max_length=500, blank=True)
    language = models.CharField(max_length=8, blank=True)
    reviewed_at = models.DateTimeField()  # the original date
    # A product review: the shop's SKU (and GTIN) of the product, when the portal names it.
    sku = models.CharField(max_length=100, blank=True)
    gtin = models.CharField(max_length=20, blank=True)
    product_name = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "source_name", "source_id"], name="one_copy_per_source_review"
            ),
        ]
        indexes = [
            # Serves the profile's list of a shop's imported reviews, newest first.
            models.Index(fields=["shop", "-reviewed_at", "-id"], name="imported_review_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.source} review {self.source_id} of {self.shop_id}"


class ImportedSource(models.Model):
    """What the seal, badge and profile show of one source of a shop: read in O(1), kept up to
    date in the transaction of each import. `stars_total` sums the exact stars, `original_total`
    the ratings on the source's own scale. `collection_method` is what the merchant asserts of
    how the source collected its reviews (Google's product review feed's values); without it,
    no review of the source goes into the feed."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="imported_sources")
    source = models.CharField(max_length=20, choices=ReviewSource.choices)
    source_name = models.CharField(max_length=80)
    count = models.PositiveIntegerField(default=0)
    stars_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    original_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    original_scale = models.PositiveSmallIntegerField(default=5)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)  # the shop's page on the portal
    collection_method = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "source", "source_name"], name="one_summary_per_source"),
        ]
        ordering = ["source", "source_name"]

    def __str__(self) -> str:
        return f"{self.source_name} of {self.shop_id}"


class ReviewPullQuerySet(LeasedQuerySet["ReviewPull"]):
    # Scheduled pulls of a portal's reviews (reputable.integrations.review_pulls).
    due_field = "due_at"
    pending = "active"
    failed = "failed"


class ReviewPull(Leased):
    """A shop's scheduled pull of its reviews from a portal with a public API (Kiyoh's review
    feed, Trustpilot's business-unit reviews), with the merchant's credentials."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="review_pulls")
    source = models.CharField(max_length=20, choices=ReviewSource.choices)
    # The source's own settings and credentials (location id and token, business unit id and
    # API key, ...): never shown back, only replaced.
    settings = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    due_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    cursor = models.JSONField(default=dict)  # where the next pull goes on
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0)  # new reviews at the last pull
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ReviewPullQuerySet] = ReviewPullQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "source"], name="one_pull_per_source")]
        indexes = [
            # Serves ReviewPullQuerySet.due(): the pulls whose time has come.
            models.Index(fields=["due_at"], condition=Q(status="active"), name="review_pull_due"),
        ]

    def __str__(self) -> str:
        return f"{self.source} pull of {self.shop_id}"
