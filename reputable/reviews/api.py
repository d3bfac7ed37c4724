"""Reading reviews: `/api/v1/reviews` (API key) and the public summary (no key)."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from reputable.lib.api import Day, ErrorOut, invalid
from reputable.lib.http import public_json
from reputable.lib.text import Line
from reputable.reviews import listing, moderated
from reputable.reviews.listing import BadParameter, encode_cursor
from reputable.reviews.models import Product, ProductReview, Reply, Review
from reputable.reviews.summaries import summarise
from reputable.shops.access import public_shop, shop_of

router = Router(tags=["reviews"])
public_router = Router(tags=["public"], auth=None)


class ReviewFilters(Schema):
    kind: Literal["shop", "product"] = "shop"
    rating: int | None = Field(default=None, ge=1, le=5)
    sku: Line | None = Field(default=None, max_length=100)
    since: Day | None = None
    until: Day | None = None
    cursor: Line | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


AUTOMATED = (
    "What the checks at submission did to the review, automatically: `masked_email`, `masked_phone`, "
    "`masked_iban` (the text shows a mark where they were), `flagged_words` (its wording sent it to a "
    "moderator; nothing is hidden). Show it with the review."
)


class ProductRatingOut(Schema):
    sku: str
    name: str
    rating: int
    body: str


class ReplyOut(Schema):
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


MODERATION = (
    "`published`; a restricted (hidden pending a moderator's decision) or removed review is listed "
    "in its place as its stub only: no text, no author."
)


class PublishedState(Schema):
    """What a published review says of its moderation, to show with it."""

    status: Literal["published"] = Field(description=MODERATION)
    disputed_since: dt.datetime | None = Field(
        description='An admissible dispute is open: show "In dispute since <date>" with the review'
    )
    redacted_at: dt.datetime | None = Field(
        description="Moderation replaced a passage by […] (already in the text): show that, and why"
    )
    redaction_reason: str | None


class StubOut(Schema):
    """A restricted or removed review in its place (reputable.reviews.moderated.stub)."""

    id: int
    rating: int
    created_at: dt.datetime
    status: Literal["restricted", "removed"] = Field(description=MODERATION)
    disputed_since: dt.datetime | None
    restricted_at: dt.datetime | None
    removed_at: dt.datetime | None
    removal_origin: str | None = Field(description="`dispute`, `notice`, `reviewer` or `data_subject`")
    removal_ground: str | None = Field(description="The ground's code, e.g. `not_a_customer`")
    removal_reason: str | None = Field(description="The ground as the stub names it")


class ProductStubOut(StubOut):
    review_id: int
    sku: str
    name: str
    gtin: str


class ReviewOut(PublishedState):
    id: int
    rating: int
    delivery_rating: int | None
    service_rating: int | None
    title: str
    body: str
    author: str
    verified: bool
    locale: str
    transaction_reference: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    products: list[ProductRatingOut]
    reply: ReplyOut | None = Field(description="The shop's public reply, if it answered")
    automated: list[str] = Field(description=AUTOMATED)


class ProductReviewOut(PublishedState):
    id: int
    review_id: int
    sku: str
    name: str
    gtin: str
    rating: int
    body: str
    author: str
    verified: bool
    created_at: dt.datetime
    automated: list[str] = Field(description=AUTOMATED)


class ReviewPage(Schema):
    kind: str
    items: (
        list[Annotated[ReviewOut | StubOut, Field(discriminator="status")]]
        | list[Annotated[ProductReviewOut | ProductStubOut, Field(discriminator="status")]]
    )
    next_cursor: str | None


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        return listing.decode_cursor("cursor", cursor)
    except BadParameter:
        raise invalid("cursor", "is not a cursor this API gave out") from None


def _reply_out(reply: Reply | None) -> dict[str, Any] | None:
    return {f: getattr(reply, f) for f in ("body", "created_at", "updated_at")} if reply else None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _page(rows: QuerySet[Any], filters: ReviewFilters, prefix: str) -> tuple[list[Any], str | None]:
    """Newest first, keyset-paginated on (created_at, id): stable while reviews arrive."""
    created = f"{prefix}created_at"
    if filters.since:
        rows = rows.filter(**{f"{created}__gte": _day_start(filters.since)})
    if filters.until:
        rows = rows.filter(**{f"{created}__lt": _day_start(filters.until + dt.timedelta(days=1))})
    if filters.cursor:
        moment, pk = decode_cursor(filters.cursor)
        rows = rows.filter(Q(**{f"{created}__lt": moment}) | Q(**{created: moment, "pk__lt": pk}))
    items = list(rows.order_by(f"-{created}", "-pk")[: filters.limit + 1])
    more = len(items) > filters.limit
    items = items[: filters.limit]
    last = items[-1] if more else None
    cursor = encode_cursor(last.created_at if prefix == "" else last.review.created_at, last.pk) if last else None
    return items, cursor


@router.get(
    "/reviews",
    response={200: ReviewPage, 422: ErrorOut},
    summary="The shop's reviews, newest first",
    description="`kind=shop` (default): shop reviews with their product ratings; `kind=product`: "
    "product ratings. Filter by `rating`, product `sku`, `since`/`until` (dates, UTC). Follow "
    "`next_cursor` (pass it as `cursor`) for the next page. A review taken down by moderation "
    "(`status` `restricted` or `removed`) is listed in its place as its stub: when and why, "
    "without its text or author; remove it from wherever you show it.",
)
def list_reviews(request: HttpRequest, filters: Query[ReviewFilters]) -> dict[str, Any]:
    shop = shop_of(request)
    if filters.kind == "shop":
        reviews = Review.objects.shown().filter(shop=shop).select_related("transaction", "reply")
        if filters.rating:
            reviews = reviews.filter(rating=filters.rating)
        if filters.sku:
            reviews = reviews.filter(product_reviews__product__sku=filters.sku)
        page, cursor = _page(reviews.prefetch_related("product_reviews__product"), filters, "")
        items: list[dict[str, Any]] = [
            {
                **{f: getattr(r, f) for f in ("id", "rating", "delivery_rating", "service_rating", "title", "body")},
                **{f: getattr(r, f) for f in ("verified", "locale", "created_at", "updated_at")},
                "author": r.author_name,
                "transaction_reference": r.transaction.reference if r.transaction else None,
                "products": [
                    {"sku": pr.product.sku, "name": pr.product.name, "rating": pr.rating, "body": pr.body}
                    for pr in r.product_reviews.all()
                ],
                "reply": _reply_out(r.reply_or_none()),
                "automated": r.automated,
                **moderated.state(r),
            }
            if r.is_published
            else moderated.stub(r)
            for r in page
        ]
    else:
        ratings = ProductReview.objects.filter(review__shop=shop).select_related("product", "review")
        if filters.rating:
            ratings = ratings.filter(rating=filters.rating)
        if filters.sku:
            ratings = ratings.filter(product__sku=filters.sku)
        page, cursor = _page(ratings, filters, "review__")
        items = [
            {
                "id": pr.pk,
                "review_id": pr.review_id,
                **{f: getattr(pr.product, f) for f in ("sku", "name", "gtin")},
                "rating": pr.rating,
                "body": pr.body,
                "author": pr.review.author_name,
                "verified": pr.review.verified,
                "created_at": pr.review.created_at,
                "automated": pr.review.automated,
                **moderated.state(pr.review),
            }
            if pr.review.is_published
            else moderated.stub(pr.review, stars=pr.rating)
            | {"id": pr.pk, "review_id": pr.review_id, **{f: getattr(pr.product, f) for f in ("sku", "name", "gtin")}}
            for pr in page
        ]
    return {"kind": filters.kind, "items": items, "next_cursor": cursor}


@public_router.get(
    "/public/shops/{slug}/summary",
    response={200: dict[str, Any], 304: None, 404: ErrorOut},
    summary="A shop's rating summary, for anyone (CORS open, cacheable)",
    description="All time and the last 12 months: count, mean and 1-5 histogram. Pass `sku` for a "
    "product's summary. Answers carry an ETag; send it back as If-None-Match for a 304.",
)
def public_summary(request: HttpRequest, slug: Line, sku: Line | None = None) -> HttpResponseBase:
    shop = public_shop(slug)
    product = get_object_or_404(Product, shop=shop, sku=sku) if sku else None
    summaries = summarise(shop=shop, product=product, today=timezone.now().date())
    body = {
        "shop": {
            "name": shop.name,
            "slug": shop.slug,
            "profile_url": settings.BASE_URL + reverse("profile", args=[shop.slug]),
        },
        "product": {"sku": product.sku, "name": product.name} if product else None,
        "all_time": summaries.all_time.as_dict(),
        "last_12_months": summaries.last_12_months.as_dict(),
    }
    return public_json(request, body, max_age=300)
