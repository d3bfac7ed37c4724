import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Substr
from django.utils import timezone

from reputable.lib.emails import fill_placeholders
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


class Language(Func):
    """The first two letters of a locale in lower case ("de-AT": "de"). Written without query
    parameters: SQLite uses an index on an expression only for the very same expression."""

    template = "LOWER(SUBSTR(%(expressions)s, 1, 2))"
    output_field = models.CharField()


# A review's language as the inbox filters it: the first two letters of its locale, where they
# are the whole primary subtag (LANGUAGE_END is "", "-" or "_").
LANGUAGE = Language("locale")
LANGUAGE_END = Substr("locale", 3, 1)


class RemovalOrigin(models.TextChoices):
    """What led to a review's removal, as its stub says."""

    DISPUTE = "dispute"  # a decision on the shop's dispute
    NOTICE = "notice"  # a decision on a notice from anyone (DSA Art. 16)
    REVIEWER = "reviewer"  # the reviewer withdrew it
    DATA_SUBJECT = "data_subject"  # the reviewer's erasure request


class ReviewQuerySet(models.QuerySet["Review"]):
    def published(self) -> "ReviewQuerySet":
        return self.filter(status=Review.Status.PUBLISHED)

    def flagged(self) -> "ReviewQuerySet":
        """The moderators' queue: reviews the word list flagged that no moderator has looked at
        yet, oldest first (the index review_flagged)."""
        return self.filter(flagged_at__isnull=False, flag_cleared_at=None).order_by("flagged_at", "id")

    def shown(self) -> "ReviewQuerySet":
        """What lists show: published reviews, and the stubs of restricted and removed ones in
        their place (a removal is never silent). That is every status, so no condition on it:
        the lists' indexes (review_newest, review_by_stars, ...) serve it without reading a row
        they do not return."""
        return self.all()


class Review(models.Model):
    """A customer's review of a shop, published the moment it is written."""

    # What the customer writes (and may change within the edit window), besides product ratings.
    WRITTEN_FIELDS = ("rating", "delivery_rating", "service_rating", "title", "body", "name_display")

    class Status(models.TextChoices):
        PUBLISHED = "published"
        # Hidden at once by a moderator (manifestly illegal content) until the decision; a stub
        # says so. Its rating is out of the summaries meanwhile.
        RESTRICTED = "restricted"
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
    # When the shop first answered in public, and first wrote to the reviewer in private:
    # shown with the review, and read by the inbox's filters without a join.
    replied_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    # Moderation (reputable.moderation), shown with the review wherever it is shown: an
    # admissible dispute open since; a passage redacted; the review removed (its stub says
    # when and why: a ground of reputable.moderation.grounds, and what led to it).
    disputed_since = models.DateTimeField(null=True, blank=True)
    restricted_at = models.DateTimeField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    redaction_ground = models.CharField(max_length=40, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_ground = models.CharField(max_length=40, blank=True)
    removal_origin = models.CharField(max_length=12, blank=True, choices=RemovalOrigin.choices)
    # The checks at submission (reputable.reviews.screening), run on every write of the text:
    # what the reviewer wrote, where the published text masks something ({"title", "body",
    # "products": {product id: text}}, only the texts that differ; for moderators only, never
    # in public, the API or exports); the codes of the automated actions, each disclosed with
    # the review; when the word list sent it to a moderator, and when a moderator looked.
    original = models.JSONField(default=dict, blank=True)
    automated = models.JSONField(default=list, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    flag_cleared_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the profile and the API: a shop's reviews, newest first; and the inbox's
            # pages without a filter, or by date.
            models.Index(fields=["shop", "-created_at", "-id"], name="review_newest"),
            # The inbox's filters (reputable.reviews.inbox), each newest first: by stars,
            models.Index(fields=["shop", "rating", "-created_at", "-id"], name="review_by_stars"),
            # not replied yet, and replied (each review is in one of the two, so both together
            # cost what one index on all reviews costs),
            models.Index(fields=["shop", "-created_at", "-id"], condition=Q(replied_at=None), name="review_unreplied"),
            models.Index(
                fields=["shop", "-created_at", "-id"], condition=Q(replied_at__isnull=False), name="review_replied"
            ),
            # and by language.
            models.Index(F("shop"), LANGUAGE, F("created_at").desc(), F("id").desc(), name="review_language"),
            # Serves the moderators' queue of reviews the word list flagged (ReviewQuerySet.flagged):
            # oldest first; small, as it holds only those no moderator has looked at yet.
            models.Index(
                fields=["flagged_at", "id"],
                condition=Q(flagged_at__isnull=False, flag_cleared_at=None),
                name="review_flagged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.shop_id}"

    def reply_or_none(self) -> "Reply | None":
        """The shop's public reply (select_related("reply") in lists: else one query each)."""
        try:
            return self.reply
        except Reply.DoesNotExist:
            return None

    @property
    def was_updated(self) -> bool:
        """Whether the reviewer changed the review after writing it (shown as "updated on")."""
        return self.updated_at - self.created_at > dt.timedelta(minutes=1)

    @property
    def verified(self) -> bool:
        return self.transaction_id is not None

    def editable_until(self) -> dt.datetime:
        return self.created_at + dt.timedelta(days=self.shop.edit_window_days)

    def is_editable(self, now: dt.datetime) -> bool:
        """Within the edit window, at any time once the shop has written to the reviewer or
        while the review is in dispute (the reviewer may answer a complaint by changing it);
        never once it is taken down."""
        if self.status != Review.Status.PUBLISHED:
            return False
        return self.contacted_at is not None or self.disputed_since is not None or now < self.editable_until()

    @property
    def is_published(self) -> bool:
        return self.status == Review.Status.PUBLISHED


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


class Reply(models.Model):
    """The shop's one public answer under a review: shown wherever the review is, dated."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="reply")
    body = models.TextField(max_length=5000)
    # Who wrote it last, for the team (never shown in public: the shop answers).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"reply to {self.review_id}"

    @property
    def was_edited(self) -> bool:
        return self.updated_at > self.created_at


class ReviewMessage(models.Model):
    """One message of the private conversation between the shop and a reviewer, kept for good.

    Relayed by email without showing either side's address; the reviewer answers through
    the link of their review (its invitation's token).
    """

    class Sender(models.TextChoices):
        SHOP = "shop"
        REVIEWER = "reviewer"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="messages", db_index=False)
    sender = models.CharField(max_length=10, choices=Sender.choices)
    # The team member who wrote a shop's message.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Serves the thread of one review, oldest first.
            models.Index(fields=["review", "created_at"], name="message_thread"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.sender} message on {self.review_id}"


class StarBand(models.TextChoices):
    """How notifications and reply templates group ratings."""

    LOW = "1-2", "1–2 ★"
    MIDDLE = "3", "3 ★"
    HIGH = "4-5", "4–5 ★"

    @classmethod
    def of(cls, stars: int) -> "StarBand":
        return cls.LOW if stars <= 2 else cls.MIDDLE if stars == 3 else cls.HIGH


class ReplyTemplateQuerySet(models.QuerySet["ReplyTemplate"]):
    def matching(self, *, language: str, stars: int) -> "ReplyTemplateQuerySet":
        """The templates for a review in `language` with `stars`: its own and those for any."""
        return self.filter(Q(locale=language) | Q(locale=""), Q(band=StarBand.of(stars)) | Q(band=""))


class ReplyTemplate(models.Model):
    """A saved answer a team reuses, for one language (or any) and one star band (or any)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="reply_templates")
    name = models.CharField(max_length=100)
    locale = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)  # "": any language
    band = models.CharField(max_length=3, blank=True, choices=StarBand.choices)  # "": any rating
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ReplyTemplateQuerySet.as_manager()

    # What a template may say in braces (the rule of reputable.lib.emails), filled in when it is
    # put into a reply: the reply itself is plain text.
    PLACEHOLDERS = ("first_name", "shop_name")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def text_for(self, review: Review) -> str:
        """The text for a reply to `review`: {first_name} as the review shows the reviewer's
        name (nothing for an anonymous review: a public reply must not name them), {shop_name}."""
        shown = review.transaction if review.name_display != Review.NameDisplay.ANONYMOUS else None
        first_name = shown.first_name.strip() if shown else ""
        return fill_placeholders(self.body, {"first_name": first_name, "shop_name": self.shop.name})


class DailyCount(models.Model):
    """A shop's counter for one day (UTC): orders, invitations sent, reviews per language, ...

    Kept in the transaction of the write it counts, so that analytics read at most one row per
    metric and day, never the rows they count. `metric` names are listed in
    `reputable.reviews.counters`.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="daily_counts", db_index=False)
    metric = models.CharField(max_length=60)
    day = models.DateField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also serves the analytics' range reads: one shop, some metrics, a span of days.
            models.UniqueConstraint(fields=["shop", "metric", "day"], name="one_count_per_metric_and_day"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.day}: {self.value}"
