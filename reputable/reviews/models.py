import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from reputable.shops.models import Shop

STARS = [MinValueValidator(1), MaxValueValidator(5)]


class Product(models.Model):
    # No index of its own: the (shop, key) constraint leads with it.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products", db_index=False)
    # The identity within the shop: the SKU, or the name where a shop has no SKUs.
    key = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255)
    gtin = models.CharField(max_length=14, blank=True)
    mpn = models.CharField(max_length=70, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="product_key_per_shop")]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def key_for(*, sku: str, name: str) -> str:
        return sku if sku else f"name:{name}"[:255]


class ReviewQuerySet(models.QuerySet["Review"]):
    def published(self) -> "ReviewQuerySet":
        return self.filter(status=Review.Status.PUBLISHED)


class Review(models.Model):
    """A customer's review of a shop, published the moment it is written."""

    # What the customer writes (and may change within the edit window), besides product ratings.
    WRITTEN_FIELDS = ("rating", "delivery_rating", "service_rating", "title", "body", "name_display")

    class Status(models.TextChoices):
        PUBLISHED = "published"
        REMOVED = "removed"  # only by a documented decision; leaves a public stub

    class NameDisplay(models.TextChoices):
        FIRST_NAME_INITIAL = "first_name_initial"
        ANONYMOUS = "anonymous"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="reviews")
    # Verified means linked to a transaction the shop reported, through its invitation.
    invitation = models.OneToOneField(
        "invitations.Invitation", on_delete=models.PROTECT, null=True, blank=True, related_name="review"
    )
    transaction = models.ForeignKey(
        "events.Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="reviews"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    rating = models.PositiveSmallIntegerField(validators=STARS)
    delivery_rating = models.PositiveSmallIntegerField(null=True, blank=True, validators=STARS)
    service_rating = models.PositiveSmallIntegerField(null=True, blank=True, validators=STARS)
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField(max_length=5000, blank=True)
    name_display = models.CharField(max_length=20, choices=NameDisplay.choices, default=NameDisplay.FIRST_NAME_INITIAL)
    author_name = models.CharField(max_length=120, blank=True)  # as shown: "Jan V." or ""
    locale = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the profile and the API: a shop's reviews, newest first.
            models.Index(fields=["shop", "-created_at", "-id"], name="review_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.shop_id}"

    @property
    def verified(self) -> bool:
        return self.transaction_id is not None

    def editable_until(self) -> dt.datetime:
        return self.created_at + dt.timedelta(days=self.shop.edit_window_days)

    def is_editable(self, now: dt.datetime) -> bool:
        return now < self.editable_until()


class ProductReview(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="product_reviews")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField(validators=STARS)
    body = models.TextField(max_length=2000, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "product"], name="one_rating_per_product")]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.product_id}"


class ReviewRevision(models.Model):
    """What a review said before an edit: the history is kept, never rewritten."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    content = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"revision of {self.review_id} at {self.created_at:%Y-%m-%d %H:%M}"


class RatingBucket(models.Model):
    """How many 1-5 star ratings a shop (product None) or one of its products received.

    One row per day (UTC) and one all-time row (day None). Kept current in the transaction of
    each review write, so that a summary is a read of one row (all time) or a sum of at most
    366 rows (last 12 months), whatever the number of reviews.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="rating_buckets")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="rating_buckets")
    day = models.DateField(null=True, blank=True)
    stars_1 = models.PositiveIntegerField(default=0)
    stars_2 = models.PositiveIntegerField(default=0)
    stars_3 = models.PositiveIntegerField(default=0)
    stars_4 = models.PositiveIntegerField(default=0)
    stars_5 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One row per subject and day; NULLs never collide in a unique index, hence four.
            models.UniqueConstraint(
                fields=["shop", "day"], condition=Q(product=None, day__isnull=False), name="bucket_shop_day"
            ),
            models.UniqueConstraint(fields=["shop"], condition=Q(product=None, day=None), name="bucket_shop_all"),
            models.UniqueConstraint(
                fields=["product", "day"],
                condition=Q(product__isnull=False, day__isnull=False),
                name="bucket_product_day",
            ),
            models.UniqueConstraint(
                fields=["product"], condition=Q(product__isnull=False, day=None), name="bucket_product_all"
            ),
        ]

    def __str__(self) -> str:
        return f"bucket {self.shop_id}/{self.product_id}/{self.day}"
