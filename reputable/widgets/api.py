"""The merchant's data as files (`/api/v1/exports/reviews`) and the check of its Google feed."""

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import batched
from typing import Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Router, Schema

from reputable.lib.api import ErrorOut
from reputable.reviews import moderated
from reputable.reviews.models import ProductReview, Review
from reputable.shops.access import shop_of
from reputable.shops.models import Shop
from reputable.widgets.feeds import feed_url, lint

router = Router(tags=["exports"])

# Reviews fetched per database round trip (with their product ratings), and sent per chunk.
CHUNK_SIZE = 1000
ITEMS_PER_CHUNK = 200
MEDIA_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}
CSV_COLUMNS = (
    "id",
    "status",
    "rating",
    "delivery_rating",
    "service_rating",
    "title",
    "body",
    "author",
    "verified",
    "locale",
    "transaction_reference",
    "created_at",
    "updated_at",
    "products",
    "reply_body",
    "reply_created_at",
    "reply_updated_at",
    "automated",
    # Moderation (reputable.reviews.moderated): a published review's label and redaction; a
    # restricted or removed review's stub.
    "disputed_since",
    "redacted_at",
    "redaction_reason",
    "restricted_at",
    "removed_at",
    "removal_origin",
    "removal_ground",
    "removal_reason",
)
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): such a
# cell gets a leading apostrophe, which spreadsheets show as text and do not display.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@router.get(
    "/exports/reviews",
    response={422: ErrorOut},
    summary="Every review of the shop, as a file",
    description="All reviews, oldest first: published ones with their product ratings, their "
    "moderation (`disputed_since`, `redacted_at`, `redaction_reason`) and the shop's public reply "
    "(`reply_body`, `reply_created_at`, `reply_updated_at`; null "
    "without one), and `automated` (the codes of what the checks at submission did, e.g. `masked_phone`). "
    "`format=json` (an array, the default), `ndjson` (one review per line) or `csv` (one row "
    "per review, its product ratings as JSON in the `products` column; UTF-8 with a byte order mark, "
    "cells that a spreadsheet would run as a formula start with an apostrophe). A review taken down by "
    "moderation (`status` `restricted` or `removed`) is its stub: `id`, `rating`, `created_at`, when and why "
    "(`restricted_at`, `removed_at`, `removal_origin`, `removal_ground`, `removal_reason`), no text or author. "
    "Streamed.",
    openapi_extra={"responses": {200: {"description": "the file", "content": {t: {} for t in MEDIA_TYPES.values()}}}},
)
def export_reviews(request: HttpRequest, format: Literal["json", "ndjson", "csv"] = "json") -> StreamingHttpResponse:
    shop = shop_of(request)
    items = (_exported(review) for review in _reviews(shop))
    chunks = {"json": _json_array, "ndjson": _json_lines, "csv": _csv}[format](items)
    response = StreamingHttpResponse(chunks, content_type=MEDIA_TYPES[format])
    filename = f"reviews-{shop.slug}-{timezone.now():%Y-%m-%d}.{format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _reviews(shop: Shop) -> Iterator[Review]:
    ratings = ProductReview.objects.select_related("product").order_by("product__name", "pk")
    return (
        Review.objects.filter(shop=shop)
        .select_related("transaction", "reply")
        .prefetch_related(Prefetch("product_reviews", queryset=ratings))
        .order_by("created_at", "pk")
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _exported(review: Review) -> dict[str, Any]:
    if not review.is_published:
        # Taken down: its stub only, as everywhere. Its text and author do not travel on in
        # files (it may publish personal data, or its author asked for it to go).
        return dict.fromkeys(CSV_COLUMNS) | _instants(moderated.stub(review))
    reply = review.reply_or_none()
    return dict.fromkeys(CSV_COLUMNS) | {
        "id": review.pk,
        "status": review.status,
        **{f: getattr(review, f) for f in ("rating", "delivery_rating", "service_rating", "title", "body")},
        "author": review.author_name,
        "verified": review.verified,
        "locale": review.locale,
        "transaction_reference": review.transaction.reference if review.transaction else None,
        "created_at": _instant(review.created_at),
        "updated_at": _instant(review.updated_at),
        "products": [
            {f: getattr(pr.product, f) for f in ("sku", "name", "gtin")} | {"rating": pr.rating, "body": pr.body}
            for pr in review.product_reviews.all()
        ],
        # The shop's public reply (none: null, an empty CSV cell).
        "reply_body": reply.body if reply else None,
        "reply_created_at": _instant(reply.created_at) if reply else None,
        "reply_updated_at": _instant(reply.updated_at) if reply else None,
        # What the checks at submission did (the codes of reputable.reviews.screening); what the
        # reviewer wrote where the text masks it is for moderators only, not in the export.
        "automated": review.automated,
        **_instants(moderated.state(review)),
    }


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _instants(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _instant(value) if isinstance(value, dt.datetime) else value for name, value in values.items()}


def _json_array(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    first = True
    for batch in batched(items, ITEMS_PER_CHUNK, strict=False):
        yield ("" if first else ",") + ",".join(f"\n{json.dumps(item)}" for item in batch)
        first = False
    yield "\n]\n"


def _json_lines(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    for batch in batched(items, ITEMS_PER_CHUNK, strict=False):
        yield "".join(f"{json.dumps(item)}\n" for item in batch)


class _Echo:
    """A file for csv.writer that hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte order mark makes spreadsheets read the file as UTF-8.
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)
    for batch in batched(items, ITEMS_PER_CHUNK, strict=False):
        yield "".join(writer.writerow([_cell(item[column]) for column in CSV_COLUMNS]) for item in batch)


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- the feed lint -------------------------------------------------------------------------------


class ExampleOut(Schema):
    review_id: int | None
    sku: str
    name: str
    url: str


class FindingOut(Schema):
    code: str
    message: str
    count: int
    examples: list[ExampleOut]


class LintOut(Schema):
    feed_url: str
    findings: list[FindingOut]


@router.get(
    "/feeds/lint",
    response={200: LintOut},
    summary="Why Google would refuse the shop's product reviews feed today",
    description="Each finding has a `code` (`too_few_reviews`, `product_without_gtin`, `website_missing`, "
    "`product_url_off_domain`, `shop_text_in_product_review`, `review_without_product_link`, "
    "`review_without_text`), a message, how many reviews or products it concerns and a few examples. "
    "No findings: nothing we know of stands in the way.",
)
def lint_feed(request: HttpRequest) -> dict[str, Any]:
    shop = shop_of(request)
    return {"feed_url": feed_url(shop), "findings": [asdict(finding) for finding in lint(shop)]}
