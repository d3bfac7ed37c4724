"""Reading reviews: `/api/v1/reviews` (API key) and the public summary (no key)."""

import datetime as dt
from typing import Any, Literal

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
from reputable.reviews import listing
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


class ProductRatingOut(Schema):
    sku: str
    name: str
    rating: int
    body: str


class ReplyOut(Schema):
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ReviewOut(Schema):
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


class ProductReviewOut(Schema):
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


class ReviewPage(Schema):
    kind: str
    items: list[ReviewOut] | list[ProductReviewOut]
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
    summary="The shop's published reviews, newest first",
    description="`kind=shop` (default): shop reviews with their product ratings; `kind=product`: "
    "product ratings. Filter by `rating`, product `sku`, `since`/`until` (dates, UTC). Follow "
    "`next_cursor` (pass it as `cursor`) for the next page.",
)
def list_reviews(request: HttpRequest, filters: Query[ReviewFilters]) -> dict[str, Any]:
    shop = shop_of(request)
    if filters.kind == "shop":
        reviews = Review.objects.published().filter(shop=shop).select_related("transaction", "reply")
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
            }
            for r in page
        ]
    else:
        ratings = ProductReview.objects.filter(
            review__shop=shop, review__status=Review.Status.PUBLISHED
        ).select_related("product", "review")
        if filters.rating:
            ratings = ratings.filter(rating=filters.rating)
        if filters.sku:
            ratings = ratings.filter(product__sku=filters.sku)
        page, cursor = _page(ratings, filters, "review__")
        items = [
            {
                "id": pr.pk,
                "review_id": pr.review_id,
                "sku": pr.product.sku,
                "name": pr.product.name,
                "gtin": pr.product.gtin,
                "rating": pr.rating,
                "body": pr.body,
                "author": pr.review.author_name,
                "verified": pr.review.verified,
                "created_at": pr.review.created_at,
            }
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
