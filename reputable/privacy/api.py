"""Data subject requests through the API: `POST /api/v1/privacy/export` and `/privacy/erasure`.

A write key is needed for both (an export is a request the shop must log, not a mere read).
"""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from reputable.lib.api import Email, ErrorOut, model_invalid
from reputable.privacy import actions
from reputable.privacy.models import PrivacyRequest
from reputable.shops.access import api_key_of_request, shop_of

router = Router(tags=["privacy"])


class ExportIn(Schema):
    email: Email


class ErasureIn(Schema):
    email: Email
    review: Literal["anonymise", "remove"] = Field(
        description="the person's reviews: `anonymise` keeps them published as anonymous,"
        " `remove` takes them down, leaving a public stub"
    )


class PrivacyRequestOut(Schema):
    id: int
    kind: str
    email: str = Field(alias="email_hint", description="the address, masked: it is not kept")
    review: str = Field(alias="review_choice")
    requested_at: dt.datetime
    due_at: dt.datetime = Field(description="the legal deadline: one month after the request")
    completed_at: dt.datetime | None
    counts: dict[str, int] = Field(description="rows erased, by kind")


@router.post(
    "/privacy/export",
    response={200: dict[str, Any], 422: ErrorOut},
    summary="Everything the shop holds about an email address (a data subject's access request)",
)
def export(request: HttpRequest, payload: ExportIn) -> dict[str, Any]:
    try:
        _request, document = actions.export_address(
            shop=shop_of(request), email=payload.email, now=timezone.now(), api_key=api_key_of_request(request)
        )
    except ValidationError as error:
        raise model_invalid(error) from None
    return document


@router.post(
    "/privacy/erasure",
    response={200: PrivacyRequestOut, 422: ErrorOut},
    summary="Erase an email address's personal data at once (a data subject's erasure request)",
)
def erasure(request: HttpRequest, payload: ErasureIn) -> PrivacyRequest:
    try:
        return actions.erase_address(
            shop=shop_of(request),
            email=payload.email,
            review_choice=payload.review,
            now=timezone.now(),
            api_key=api_key_of_request(request),
        )
    except ValidationError as error:
        raise model_invalid(error) from None
