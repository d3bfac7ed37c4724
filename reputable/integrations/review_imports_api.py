"""Other portals' reviews through the API: files imported, sources described, pulls configured.

- `POST /api/v1/review-imports` (multipart: `file`, `source`, optionally `source_name` for the
  generic format): the file is read and checked whole in the request (review exports are
  small), then imported at once; the answer counts what was new and what was there before.
  A bad row is a 422 naming the row and the field, and nothing of the file is stored.
- `GET /api/v1/review-sources`, `PATCH /api/v1/review-sources/{id}`: each source's summary, and
  what the merchant says of it (how it collected its reviews, the shop's page there).
- `PUT|GET|DELETE /api/v1/review-pulls/{source}`, `GET /api/v1/review-pulls`: the scheduled
  pulls (reputable.integrations.review_pulls); credentials are never shown back.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Body, Field, File, Form, Router, Schema, Status, UploadedFile

from reputable.integrations.actions import Refused
from reputable.integrations.models import ImportedSource, ReviewPull
from reputable.integrations.review_import_actions import (
    COLLECTION_METHODS,
    configure_pull,
    describe_source,
    import_file,
    remove_pull,
    shown,
)
from reputable.integrations.review_imports import MAX_BYTES, BadReviews
from reputable.lib.api import ApiError, ErrorOut, FieldError, invalid, invalid_fields, refused
from reputable.shops.access import imported_source_of, review_pull_of, shop_of

router = Router(tags=["review imports"])


class ImportedOut(Schema):
    source: str
    created: int = Field(description="reviews stored")
    duplicates: int = Field(description="reviews imported before (by the source's id), not stored again")


class SourceOut(Schema):
    id: int
    source: str
    source_name: str
    count: int
    stars: Decimal | None = Field(description="the mean of the exact stars (see the stars rule), two decimals")
    original_average: Decimal | None = Field(description="the mean on the source's own scale")
    original_scale: int
    last_reviewed_at: dt.datetime | None
    url: str
    collection_method: str

    @staticmethod
    def resolve_stars(source: ImportedSource) -> Decimal | None:
        return round(source.stars_total / source.count, 2) if source.count else None

    @staticmethod
    def resolve_original_average(source: ImportedSource) -> Decimal | None:
        return round(source.original_total / source.count, 2) if source.count else None


class SourcePatch(Schema):
    collection_method: str | None = Field(
        None, description=f"how the source collected its reviews: {', '.join(COLLECTION_METHODS)}, or empty"
    )
    url: str | None = Field(None, max_length=500, description="the shop's page on the portal")


class PullOut(Schema):
    source: str
    status: str
    settings: dict[str, Any] = Field(description="the settings, without the credentials")
    due_at: dt.datetime | None
    last_pulled_at: dt.datetime | None
    last_count: int = Field(description="new reviews at the last pull")
    attempts: int
    last_error: str

    @staticmethod
    def resolve_settings(pull: ReviewPull) -> dict[str, Any]:
        return shown(pull)


def bad_reviews(error: BadReviews) -> ApiError:
    return invalid_fields([FieldError(field=e.where, message=e.message) for e in error.errors])


def read_upload(file: UploadedFile) -> bytes:
    """The upload's bytes, refused past MAX_BYTES without reading further."""
    if (file.size or 0) > MAX_BYTES:
        raise invalid("file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return file.read()


@router.post(
    "/review-imports",
    response={200: ImportedOut, 422: ErrorOut},
    summary="Import a file of reviews exported by another portal",
    description="Multipart form: `file`, `source` (`trustpilot`, `google`, `trustedshops`, `kiyoh`, "
    "`provenexpert`, `generic`) and, for the generic format, `source_name` (the portal's name, for rows "
    "without one). Imported reviews are never verified and never count in the verified score.",
)
def upload_reviews(
    request: HttpRequest, file: File[UploadedFile], source: Form[str], source_name: Form[str] = ""
) -> dict[str, Any]:
    try:
        imported = import_file(shop=shop_of(request), source=source, data=read_upload(file), source_name=source_name)
    except BadReviews as error:
        raise bad_reviews(error) from None
    return {"source": source, "created": imported.created, "duplicates": imported.duplicates}


@router.get("/review-sources", response=list[SourceOut], summary="The shop's imported sources and their counts")
def list_sources(request: HttpRequest) -> Any:
    return ImportedSource.objects.filter(shop=shop_of(request))


@router.patch(
    "/review-sources/{source_id}",
    response={200: SourceOut, 404: ErrorOut, 422: ErrorOut},
    summary="Say how a source collected its reviews (for Google's product feed) and where its page is",
)
def update_source(request: HttpRequest, source_id: int, payload: SourcePatch) -> ImportedSource:
    source = imported_source_of(shop_of(request), source_id)
    try:
        describe_source(source=source, collection_method=payload.collection_method, url=payload.url)
    except Refused as error:
        raise refused(error.fields) from None
    return source


@router.get("/review-pulls", response=list[PullOut], summary="The shop's scheduled pulls of other portals' reviews")
def list_pulls(request: HttpRequest) -> Any:
    return ReviewPull.objects.filter(shop=shop_of(request)).order_by("source")


@router.put(
    "/review-pulls/{source}",
    response={200: PullOut, 422: ErrorOut},
    summary="Pull a portal's reviews on a schedule, with the merchant's credentials",
    description="Kiyoh: `location_id`, `api_token`, optionally `tenant_id` (98 Kiyoh, 99 Klantenvertellen). "
    "Trustpilot: `business_unit_id`, `api_key`. Replaces the settings; the pull is due at once.",
)
def put_pull(request: HttpRequest, source: str, payload: Body[dict[str, Any]]) -> ReviewPull:
    try:
        return configure_pull(shop=shop_of(request), source=source, values=payload)
    except Refused as error:
        raise refused(error.fields) from None


@router.get("/review-pulls/{source}", response={200: PullOut, 404: ErrorOut}, summary="A scheduled pull")
def get_pull(request: HttpRequest, source: str) -> ReviewPull:
    return review_pull_of(shop_of(request), source)


@router.delete("/review-pulls/{source}", response={204: None, 404: ErrorOut}, summary="Stop pulling a portal")
def delete_pull(request: HttpRequest, source: str) -> Status[None]:
    remove_pull(pull=review_pull_of(shop_of(request), source))
    return Status(204, None)
