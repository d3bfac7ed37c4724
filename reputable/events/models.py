from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.shops.models import Shop

BUILTIN_EVENT_TYPES = {
    # key: (name, is_stop, active by default)
    "checkout": ("Checkout", False, True),
    "delivery": ("Delivery", False, False),
    "return": ("Return", True, True),
    "cancel": ("Cancellation", True, True),
}


class EventType(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="event_types")
    key = models.CharField(
        max_length=40,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "lower-case letters, digits and _")],
    )
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    # A stop event cancels the transaction's pending invitation and prevents a later one.
    is_stop = models.BooleanField(default=False)
    is_builtin = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="event_type_key_per_shop")]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class Transaction(models.Model):
    # No index of its own: the (shop, reference) constraint leads with it.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="transactions", db_index=False)
    # The shop's own order id, always a string (Shopify ids exceed 2^53, Magento keeps zeros).
    reference = models.CharField(max_length=100)
    date = models.DateTimeField()
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=8, blank=True)
    estimated_delivery_date = models.DateField(null=True, blank=True)
    products = models.ManyToManyField(
        "reviews.Product", related_name="transactions", blank=True, through="TransactionProduct"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "reference"], name="transaction_reference_per_shop")]
        indexes = [
            # Serve the dashboard's pipeline (reputable.dashboard.pipeline), which pages every
            # list by transaction id, newest first: the shop's transactions ...
            models.Index(fields=["shop", "id"], name="transaction_newest_first"),
            # ... a search by the customer's address ...
            models.Index(fields=["shop", "email"], name="transaction_by_address"),
            # ... and the first and last transaction recorded in a date range.
            models.Index(fields=["shop", "created_at", "id"], name="transaction_by_time"),
        ]

    def __str__(self) -> str:
        return self.reference


class TransactionProduct(models.Model):
    """A product bought in a transaction (the many-to-many link, with one index fewer)."""

    # Indexed by one_link_per_product, which leads with it.
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, db_index=False)
    product = models.ForeignKey("reviews.Product", on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["transaction", "product"], name="one_link_per_product")]

    def __str__(self) -> str:
        return f"{self.transaction_id}:{self.product_id}"


class Event(models.Model):
    class Outcome(models.TextChoices):
        """What the event did to the transaction's invitation: the merchant's "why"."""

        SCHEDULED = "scheduled", _("An invitation was scheduled")
        ALREADY_INVITED = "already_invited", _("The transaction already has an invitation")
        NO_ACTIVE_RULE = "no_active_rule", _("The event type has no active invitation rule")
        TOO_OLD = "too_old", _("The transaction is older than the rule allows")
        SUPPRESSED = "suppressed", _("The address objected or bounced")
        FREQUENCY_CAP = "frequency_cap", _("The address was invited recently")
        STOPPED = "stopped", _("The transaction was returned or cancelled")
        CANCELLED = "cancelled", _("The pending invitation was cancelled")

    # Unindexed where a composite index already leads with the column: each index is one
    # more B-tree page written by every ingested event.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events", db_index=False)
    # Indexed by event_by_type, which leads with it.
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events", db_index=False)
    # Indexed by one_event_per_type, which leads with it.
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="events", db_index=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    invitation = models.ForeignKey(
        "invitations.Invitation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,  # only read through the event; invitations are never deleted alone
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The idempotency key: the same type for the same transaction is the same event.
        constraints = [models.UniqueConstraint(fields=["transaction", "event_type"], name="one_event_per_type")]
        indexes = [
            # Serves the pipeline's event type filter: the type's transactions, newest first.
            models.Index(fields=["event_type", "transaction"], name="event_by_type"),
            # Serves the pipeline's "not invited" filter: the events that found no invitation to
            # attach to; their transactions are the ones not invited, but for those a later
            # event invited.
            models.Index(
                fields=["shop", "transaction"], condition=Q(invitation__isnull=True), name="event_not_invited"
            ),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type_id}:{self.transaction_id} ({self.outcome})"
