"""The shop's side of a dispute through the API: open one on a review, read its history, rebut
the reviewer's statement, appeal the decision. Each endpoint calls one action of
`reputable.moderation.actions`; an API key has no user, so the steps it takes are the shop's
without a name.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from reputable.lib.api import ApiError, ErrorOut, invalid
from reputable.lib.text import Line
from reputable.moderation import actions
from reputable.moderation.grounds import Ground
from reputable.moderation.merchant import disputes_page, shop_view
from reputable.moderation.models import Dispute, Party
from reputable.reviews.listing import BadParameter
from reputable.shops.access import dispute_of, review_of, shop_of

router = Router(tags=["disputes"])

ERRORS: dict[int, type[ErrorOut]] = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DisputeIn(Schema):
    reason: Ground = Field(description="Why the review should not stand, one of a closed list")
    passage: str = Field(
        default="", max_length=5000, description="The passage concerned, quoted exactly as the review says it"
    )
    explanation: str = Field(max_length=5000, description="Why, in at least 20 characters; the reviewer reads it")
    good_faith: bool = Field(description="The shop declares that it raises the dispute in good faith (must be true)")


class TextIn(Schema):
    text: str = Field(max_length=5000)


class AppealIn(Schema):
    text: str = Field(max_length=5000, description="Why the decision is wrong, in at least 20 characters")


class EntryOut(Schema):
    actor: str = Field(description="`shop`, `reviewer`, `moderator` or `system`")
    action: str = Field(description="What happened: `opened`, `admitted`, `statement`, `rebuttal`, `decided`, ...")
    text: str
    created_at: dt.datetime


class DeadlineOut(Schema):
    name: str = Field(description="`triage`, `reviewer`, `rebuttal`, `decision`, `appeal_decision`, ...")
    due_at: dt.datetime


class DecisionOut(Schema):
    """The statement of reasons (DSA Art. 17(3)), as both parties received it by email."""

    measure: str = Field(description="`kept`, `restricted` (until the decision), `redacted` or `removed`")
    ground: str
    passage: str = Field(description="The passage replaced by a note, for `redacted`")
    facts: str
    explanation: str
    automated: bool = Field(description="Taken by automated means (a deadline passed)")
    interim: bool
    appeal: bool = Field(description="Decides an appeal (the final word)")
    created_at: dt.datetime
    appeal_until: dt.datetime | None


class DisputeOut(Schema):
    id: int
    review_id: int
    reason: str
    passage: str
    explanation: str
    rating: int = Field(description="The review's stars when the dispute was opened")
    stage: str = Field(description="`triage`, `hearing`, `rebuttal`, `decision`, `decided`, `appeal`, `closed`")
    outcome: str = Field(description="Once decided: `kept`, `redacted`, `removed`, `inadmissible`, `withdrawn`, `moot`")
    created_at: dt.datetime
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None


class DisputeDetailOut(DisputeOut):
    history: list[EntryOut] = Field(description="The steps so far, oldest first (what the shop may see)")
    deadlines: list[DeadlineOut] = Field(description="Pending deadlines, soonest first")
    decisions: list[DecisionOut]
    appeal_until: dt.datetime | None = Field(description="Until when the shop may appeal; null when it may not")


class DisputePage(Schema):
    items: list[DisputeOut]
    next_cursor: str | None


class DisputeFilters(Schema):
    cursor: Line | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


def _detail(dispute: Dispute) -> dict[str, Any]:
    view = shop_view(dispute, now=timezone.now())
    return {
        **{f: getattr(dispute, f) for f in DisputeOut.model_fields},
        "history": view.entries,
        "deadlines": view.deadlines,
        "decisions": view.decisions,
        "appeal_until": view.appeal_until,
    }


def _step(do: Callable[[], Dispute]) -> dict[str, Any]:
    """Take a step of the procedure; its refusals as the API's errors."""
    try:
        return _detail(do())
    except actions.Invalid as error:
        raise invalid(error.field, str(error)) from None
    except actions.NotAllowed as error:
        raise ApiError(409, "not_allowed", str(error)) from None


@router.post(
    "/reviews/{review_id}/disputes",
    response={201: DisputeDetailOut, **ERRORS},
    summary="Dispute a review",
    description="The review stays published; a moderator triages the dispute within 2 working days, "
    "then the reviewer is heard. 409 `not_allowed` when the review is not published, is in dispute "
    "or was decided on already, or when the shop has as many open disputes as it may have "
    "(`DISPUTES_PER_100_REVIEWS` per 100 published reviews).",
)
def open_dispute(request: HttpRequest, review_id: int, payload: DisputeIn) -> Status[dict[str, Any]]:
    review = review_of(shop_of(request), review_id)
    detail = _step(
        lambda: actions.open_dispute(
            review=review,
            user=None,
            reason=payload.reason,
            passage=payload.passage,
            explanation=payload.explanation,
            good_faith=payload.good_faith,
            now=timezone.now(),
        )
    )
    return Status(201, detail)


@router.get(
    "/disputes",
    response={200: DisputePage, 422: ErrorOut},
    summary="The shop's disputes, newest first",
    description="Follow `next_cursor` (pass it as `cursor`) for the next page.",
)
def list_disputes(request: HttpRequest, filters: Query[DisputeFilters]) -> dict[str, Any]:
    try:
        items, cursor = disputes_page(shop_of(request), cursor=filters.cursor, limit=filters.limit)
    except BadParameter as error:
        raise invalid(error.name, error.message) from None
    return {"items": items, "next_cursor": cursor}


@router.get(
    "/disputes/{dispute_id}",
    response={200: DisputeDetailOut, 404: ErrorOut},
    summary="A dispute with its history, deadlines and decisions",
    description="What the shop may see: the reviewer's statement, never the evidence sent to the moderators.",
)
def get_dispute(request: HttpRequest, dispute_id: int) -> dict[str, Any]:
    return _detail(dispute_of(shop_of(request), dispute_id))


@router.post(
    "/disputes/{dispute_id}/rebuttal",
    response={200: DisputeDetailOut, **ERRORS},
    summary="Answer the reviewer's statement, once",
    description="Only while the dispute is at the stage `rebuttal` (7 days after the reviewer answered); "
    "then a moderator decides.",
)
def rebut(request: HttpRequest, dispute_id: int, payload: TextIn) -> dict[str, Any]:
    dispute = dispute_of(shop_of(request), dispute_id)
    return _step(lambda: actions.rebut(dispute=dispute, user=None, text=payload.text, now=timezone.now()))


@router.post(
    "/disputes/{dispute_id}/appeal",
    response={200: DisputeDetailOut, **ERRORS},
    summary="Appeal the decision",
    description="Once, within 6 months of the decision (`appeal_until`); a moderator who did not take "
    "the decision decides the appeal within 7 days.",
)
def appeal(request: HttpRequest, dispute_id: int, payload: AppealIn) -> dict[str, Any]:
    dispute = dispute_of(shop_of(request), dispute_id)
    return _step(
        lambda: actions.appeal(dispute=dispute, party=Party.SHOP, text=payload.text, user=None, now=timezone.now())
    )
