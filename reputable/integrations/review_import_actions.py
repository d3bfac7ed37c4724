"""Writes of other portals' reviews: a file's (or a pull's) rows imported, a source described,
a scheduled pull set.

`import_reviews` is the one write path of imported reviews: the file import (API and dashboard)
and the scheduled pulls (reputable.integrations.review_pulls) all call it. A review already
imported (the same shop, source and the source's id) is not stored again, so a re-import
stores nothing new; the source's summary (ImportedSource, read by the seal and the profile)
changes in the same transaction. Nothing here touches the verified reviews or their score.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as Invalid

from reputable.integrations.actions import Refused
from reputable.integrations.models import ImportedReview, ImportedSource, ReviewPull, ReviewSource
from reputable.integrations.review_imports import BadReviews, Row, RowError, parse, to_stars
from reputable.integrations.sources import sources_changed
from reputable.lib.api import field_errors
from reputable.lib.text import LINE_MESSAGE, is_line
from reputable.shops.models import Shop

CHUNK = 500  # ids asked for at once (SQLite takes at most 999 parameters)

# Google's product review feed: how the reviews were collected (its `collection_method`).
COLLECTION_METHODS = ("unsolicited", "post_fulfillment")


@dataclass(frozen=True)
class Imported:
    created: int
    duplicates: int


def import_file(*, shop: Shop, source: str, data: bytes, source_name: str = "") -> Imported:
    """A file exported by `source`'s portal, read and checked whole, then imported: the API's
    and the dashboard's upload. BadReviews (nothing stored) naming the rows and fields."""
    return import_reviews(shop=shop, source=source, rows=parse(source, data, source_name=source_name))


def import_reviews(*, shop: Shop, source: str, rows: Sequence[Row]) -> Imported:
    """Store the rows not imported before and update their sources' summaries, all at once.

    A source keeps one scale: rows on another scale than the source's earlier reviews (or than
    each other) are refused, naming the row, and nothing is stored."""
    try:
        return _import(shop, source, rows)
    except IntegrityError:  # another import of the same reviews was committed meanwhile
        return _import(shop, source, rows)


def _import(shop: Shop, source: str, rows: Sequence[Row]) -> Imported:
    with db_transaction.atomic():
        # A review is known by its portal (the generic format's are many, each with ids of its
        # own) and its id there.
        known: set[tuple[str, str]] = set()
        ids = list(dict.fromkeys(r.source_id for r in rows))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            known.update(
                ImportedReview.objects.filter(shop=shop, source=source, source_id__in=chunk).values_list(
                    "source_name", "source_id"
                )
            )
        fresh: dict[tuple[str, str], Row] = {}
        for row in rows:
            key = (row.source_name, row.source_id)
            if key not in known and key not in fresh:
                fresh[key] = row
        by_name: dict[str, list[Row]] = defaultdict(list)
        for row in fresh.values():
            by_name[row.source_name].append(row)
        _check_scales(shop, source, by_name)
        now = timezone.now()
        reviews = []
        for row in fresh.values():
            stars, rating = to_stars(row.rating, row.scale)
            reviews.append(
                ImportedReview(
                    shop=shop,
                    source=source,
                    source_name=row.source_name,
                    source_id=row.source_id,
                    original_rating=row.rating,
                    original_scale=row.scale,
                    stars=stars,
                    rating=rating,
                    title=row.title,
                    body=row.body,
                    author=row.author,
                    url=row.url,
                    language=row.language,
                    reviewed_at=row.reviewed_at,
                    sku=row.sku,
                    gtin=row.gtin,
                    product_name=row.product_name,
                    imported_at=now,
                )
            )
        ImportedReview.objects.bulk_create(reviews, batch_size=CHUNK)
        for name, named in by_name.items():
            _summarise(shop, source, name, named, [r for r in reviews if r.source_name == name])
        if fresh:
            sources_changed(shop)
    return Imported(created=len(fresh), duplicates=len(rows) - len(fresh))


def _check_scales(shop: Shop, source: str, by_name: dict[str, list[Row]]) -> None:
    earlier = dict(
        ImportedSource.objects.filter(shop=shop, source=source, source_name__in=list(by_name), count__gt=0).values_list(
            "source_name", "original_scale"
        )
    )
    errors = []
    for name, rows in by_name.items():
        scale = earlier.get(name, rows[0].scale)
        errors += [
            RowError(0, "scale", f"{name}: a review {r.source_id} on a scale of {r.scale}, the source's is {scale}")
            for r in rows
            if r.scale != scale
        ]
    if errors:
        raise BadReviews(errors[:100])


def _summarise(shop: Shop, source: str, name: str, rows: list[Row], reviews: list[ImportedReview]) -> None:
    summary, _ = ImportedSource.objects.get_or_create(
        shop=shop, source=source, source_name=name, defaults={"original_scale": rows[0].scale}
    )
    latest: dt.datetime = max(r.reviewed_at for r in rows)
    ImportedSource.objects.filter(pk=summary.pk).update(
        count=F("count") + len(rows),
        stars_total=F("stars_total") + sum((r.stars for r in reviews), Decimal(0)),
        original_total=F("original_total") + sum((r.rating for r in rows), Decimal(0)),
        original_scale=rows[0].scale,
        last_reviewed_at=Greatest(Coalesce(F("last_reviewed_at"), Value(latest)), Value(latest)),
    )


def describe_source(*, source: ImportedSource, collection_method: str | None = None, url: str | None = None) -> None:
    """What the merchant says of a source: how it collected its reviews (Google's product
    review feed's values; empty: not said, and none of its reviews goes into the feed) and
    the shop's page there."""
    changed = []
    if collection_method is not None:
        if collection_method and collection_method not in COLLECTION_METHODS:
            raise Refused({"collection_method": f"must be one of {', '.join(COLLECTION_METHODS)}, or empty"})
        source.collection_method = collection_method
        changed.append("collection_method")
    if url is not None:
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise Refused({"url": "must be an http(s) address"}) from None
        source.url = url
        changed.append("url")
    if changed:
        with db_transaction.atomic():
            source.save(update_fields=changed)
            sources_changed(source.shop)


# --- scheduled pulls: what the merchant sets ------------------------------------------------


class KiyohSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    secrets: ClassVar[tuple[str, ...]] = ("api_token",)

    location_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$", description="Kiyoh's location id")
    api_token: str = Field(min_length=1, max_length=200, description="the location's publication API token")
    tenant_id: str = Field("98", pattern=r"^\d{1,6}$", description="98: Kiyoh, 99: Klantenvertellen")


class TrustpilotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    secrets: ClassVar[tuple[str, ...]] = ("api_key",)

    business_unit_id: str = Field(pattern=r"^[0-9a-fA-F]{24}$", description="the business unit's id (24 hex digits)")
    api_key: str = Field(min_length=1, max_length=200, description="the API key of the merchant's Trustpilot app")


SETTINGS: dict[str, type[KiyohSettings] | type[TrustpilotSettings]] = {
    ReviewSource.KIYOH: KiyohSettings,
    ReviewSource.TRUSTPILOT: TrustpilotSettings,
}


def shown(pull: ReviewPull) -> dict[str, Any]:
    """A pull's settings as they may be shown back: without its credentials."""
    secrets = SETTINGS[pull.source].secrets if pull.source in SETTINGS else ()
    return {k: v for k, v in pull.settings.items() if k not in secrets}


def configure_pull(*, shop: Shop, source: str, values: dict[str, Any]) -> ReviewPull:
    """Set (or replace) the shop's pull of `source` with `values`: checked per portal (Refused
    naming the field), active and due at once, read again from the start."""
    if source not in SETTINGS:
        raise Refused({"source": f"is not pulled: one of {', '.join(SETTINGS)}"})
    if bad := sorted(k for k, v in values.items() if isinstance(v, str) and not is_line(v)):
        raise Refused({key: LINE_MESSAGE for key in bad})
    try:
        checked = SETTINGS[source].model_validate(values)
    except Invalid as error:
        raise Refused({f.field: f.message for f in field_errors(error.errors())}) from None
    pull, _ = ReviewPull.objects.update_or_create(
        shop=shop,
        source=source,
        defaults={
            "settings": checked.model_dump(),
            "status": ReviewPull.Status.ACTIVE,
            "due_at": timezone.now(),
            "cursor": {},
            "attempts": 0,
            "last_error": "",
        },
    )
    return pull


def remove_pull(*, pull: ReviewPull) -> None:
    pull.delete()
