"""Which reviews the merchant's inbox lists: its filters and its keyset pages.

Newest first, in pages that start after (or end before) a signed cursor on (created_at, id):
never an OFFSET, so the thousandth page costs what the first does. Each filter has an index
that keeps its reviews in that order (see Review.Meta.indexes and migration 0003_inbox); a
page reads at most `per_page + 1` rows of it. The product filter joins a product's ratings
(index on ProductReview.product) and sorts that product's reviews.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import QueryDict

from reputable.lib import dates
from reputable.reviews.listing import BadParameter, choice, decode_cursor, encode_cursor, one
from reputable.reviews.models import LANGUAGE, LANGUAGE_END, Product, Review
from reputable.shops.models import Shop

PER_PAGE = 20
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
REPLIED = ("yes", "no")


def _day(params: QueryDict, name: str) -> dt.date | None:
    text = one(params, name) or ""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadParameter(name, "must be a date: 2026-11-23") from None
    if not dates.EARLIEST.date() <= day < dt.date(9999, 1, 1):
        raise BadParameter(name, "must be a date from 1970 on")
    return day


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows: reviews with these stars, of this product, in this language,
    replied or not, written from `since` to `until` (days in the shop's time zone)."""

    stars: tuple[int, ...] = ()
    sku: str = ""
    language: str = ""
    replied: str = ""  # "yes", "no" or "" (either)
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_query(cls, params: QueryDict) -> "InboxFilter":
        """From the filter form's GET: `stars` (repeated, 1-5), `sku`, `lang`, `replied`, `since`, `until`."""
        stars: set[int] = set()
        for value in params.getlist("stars"):
            if value not in ("1", "2", "3", "4", "5"):
                raise BadParameter("stars", "must be star counts from 1 to 5")
            stars.add(int(value))
        sku = (one(params, "sku") or "").strip()
        if len(sku) > 100:
            raise BadParameter("sku", "must be at most 100 characters")
        since, until = _day(params, "since"), _day(params, "until")
        if since and until and until < since:
            raise BadParameter("until", "must not be before the start date")
        return cls(
            stars=tuple(sorted(stars)),
            sku=sku,
            language=choice(params, "lang", LANGUAGES, ""),
            replied=choice(params, "replied", REPLIED, ""),
            since=since,
            until=until,
        )

    def params(self) -> list[tuple[str, str]]:
        """This filter as query parameters (what is not set left out), for the page links."""
        pairs = [("stars", str(n)) for n in self.stars]
        pairs += [(name, value) for name, value in (("sku", self.sku), ("lang", self.language)) if value]
        pairs += [("replied", self.replied)] if self.replied else []
        pairs += [(name, day.isoformat()) for name, day in (("since", self.since), ("until", self.until)) if day]
        return pairs

    @property
    def is_set(self) -> bool:
        return bool(self.params())

    def reviews(self, shop: Shop) -> QuerySet[Review]:
        """The shop's reviews this filter lets through, in no order: published ones, and the
        stubs of those moderation took down (the merchant sees what happened to them). No
        condition on the status, so each filter's index serves it as it is."""
        rows = Review.objects.shown().filter(shop=shop)
        if self.stars:
            rows = rows.filter(rating__in=self.stars)  # index review_by_stars
        if self.replied:
            rows = rows.filter(replied_at__isnull=self.replied == "no")  # review_unreplied, review_replied
        if self.language:
            rows = rows.alias(language=LANGUAGE, language_end=LANGUAGE_END).filter(  # review_language
                language=self.language, language_end__in=("", "-", "_")
            )
        if self.sku:
            product = Product.objects.filter(shop=shop, sku=self.sku).first()
            rows = rows.filter(product_reviews__product=product) if product else rows.none()
        zone = dates.time_zone(shop.timezone)
        if self.since:
            rows = rows.filter(created_at__gte=dt.datetime.combine(self.since, dt.time.min, tzinfo=zone))
        if self.until:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            rows = rows.filter(created_at__lt=end)
        return rows


@dataclass(frozen=True)
class InboxPage:
    reviews: list[Review]
    # Cursors of the pages around this one: `after=older` (rel=next), `before=newer` (rel=prev).
    older: str | None
    newer: str | None


def inbox_page(rows: QuerySet[Review], *, after: str = "", before: str = "", per_page: int = PER_PAGE) -> InboxPage:
    """The page of `rows` (newest first) that starts after the cursor `after`, or ends before
    `before`, or the first page; BadParameter for a cursor we did not give out."""
    rows = rows.select_related("reply", "transaction").prefetch_related("product_reviews__product")
    if before:
        moment, pk = decode_cursor("before", before)
        # Oldest first from the cursor up, then turned round: the index read backwards.
        found = list(
            rows.filter(created_at__gte=moment)
            .filter(Q(created_at__gt=moment) | Q(pk__gt=pk))
            .order_by("created_at", "id")[: per_page + 1]
        )
        more = len(found) > per_page
        reviews = found[:per_page][::-1]
        return InboxPage(
            reviews, older=_cursor(reviews[-1]) if reviews else None, newer=_cursor(reviews[0]) if more else None
        )
    if after:
        moment, pk = decode_cursor("after", after)
        # created_at <= moment bounds the index range; the OR only sorts out the ties.
        rows = rows.filter(created_at__lte=moment).filter(Q(created_at__lt=moment) | Q(pk__lt=pk))
    found = list(rows.order_by("-created_at", "-id")[: per_page + 1])
    reviews = found[:per_page]
    more = len(found) > per_page
    return InboxPage(
        reviews,
        older=_cursor(reviews[-1]) if more else None,
        newer=_cursor(reviews[0]) if after and reviews else None,
    )


def _cursor(review: Review) -> str:
    return encode_cursor(review.created_at, review.pk)
