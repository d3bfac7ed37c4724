"""Scheduled pulls of a shop's reviews from portals with a public API, as the dispatcher's due work.

A pull (ReviewPull) is due at `due_at`. A step reads one page of the portal's reviews with the
merchant's credentials (through the one outbound client), imports it through the one write path
(`import_reviews`: a review imported before is not stored again) and keeps the cursor past it.
A full page makes the pull due again at once; a short one means it has caught up, due again
after `REVIEW_PULL_INTERVAL` seconds.

- Kiyoh (and Klantenvertellen): `GET {KIYOH_BASE_URL}/v1/publication/review/external` with
  `locationId`, `tenantId`, `limit`, `orderBy=UPDATE_DATE`, `sortOrder=ASC` and `updatedSince`
  (the cursor: the last review's `updatedSince`), the token in `X-Publication-Api-Token`.
  Ratings out of 10.
- Trustpilot: `GET {TRUSTPILOT_API_URL}/v1/business-units/{id}/reviews` with `apikey`,
  `perPage`, `page` (the cursor) and `orderBy=createdat.asc`: the public reviews, the next
  page announced by a `links` entry `rel: next-page`.

Failures are the dispatcher's: a network error or a 5xx is retried with back-off, and after
DISPATCH_MAX_ATTEMPTS the pull is `failed`. An answer no retry can mend (credentials refused,
no such location or business unit, a redirect, a blocked address) fails it at once. Either
way `last_error` says why.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from django.conf import settings
from django.db.models import Q

from reputable.dispatch.work import LeasedKind, Permanent, register
from reputable.integrations.models import ReviewPull, ReviewSource
from reputable.integrations.review_import_actions import import_reviews
from reputable.integrations.review_imports import BadReviews, Row, from_items, keyed, kiyoh_rows, listed
from reputable.lib import outbound

log = logging.getLogger("reputable.integrations")

MAX_BODY = 300  # characters of a refusal's body kept in the error
KIYOH_PAGE = 100
TRUSTPILOT_PAGE = 100


class PullFailed(Exception):
    """The portal could not be read this time: retried with back-off."""


# --- the portals --------------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[Row]
    cursor: dict[str, Any]
    more: bool = field(default=False)  # a next page waits


def _said(response: httpx.Response) -> str:
    return " ".join(response.text[:MAX_BODY].split())


def fetch(portal: str, url: str, *, params: dict[str, str], headers: dict[str, str]) -> Any:
    """The portal's JSON answer; PullFailed for what a retry may mend, Permanent for the rest."""
    try:
        with outbound.client(headers={"Accept": "application/json", **headers}) as http:
            response = http.get(url, params=params)
    except outbound.Blocked as blocked:
        raise Permanent(f"{portal} may not be called from here: {blocked}") from None
    except httpx.HTTPError as error:
        raise PullFailed(f"{portal} could not be reached: {error or type(error).__name__}") from None
    status = response.status_code
    if status in (401, 403):
        raise Permanent(f"{portal} refused the credentials ({status}): {_said(response)}")
    if status == 404:
        raise Permanent(f"{portal} knows no such location or business unit (404): {_said(response)}")
    if 300 <= status < 400:
        raise Permanent(f"{portal} answered {status} (a redirect to {response.headers.get('Location', '')!r})")
    if status != 200:
        raise PullFailed(f"{portal} answered {status}: {_said(response)}")
    try:
        return response.json()
    except ValueError:
        raise PullFailed(f"{portal}'s answer is not JSON: {_said(response)}") from None


def _rows(portal: str, read: Any, *args: Any) -> list[Row]:
    try:
        return list(read(*args))
    except BadReviews as bad:
        if any(e.message == "holds no review" for e in bad.errors):
            return []
        raise Permanent(f"{portal} answered reviews that cannot be read: {bad}") from None


def kiyoh_page(pull: ReviewPull) -> Page:
    config = pull.settings
    params = {
        "locationId": config["location_id"],
        "tenantId": config.get("tenant_id", "98"),
        "limit": str(KIYOH_PAGE),
        "orderBy": "UPDATE_DATE",
        "sortOrder": "ASC",
    }
    since = pull.cursor.get("updated_since", "")
    if since:
        params["updatedSince"] = since
    answer = fetch(
        "Kiyoh",
        f"{settings.KIYOH_BASE_URL.rstrip('/')}/v1/publication/review/external",
        params=params,
        headers={"X-Publication-Api-Token": config["api_token"]},
    )
    feed = keyed(answer)
    items = listed(feed.get("reviews"))
    rows = _rows("Kiyoh", kiyoh_rows, feed)
    latest = max((str(i.get("updatedSince") or "") for i in items if isinstance(i, dict)), default="")
    # Each page starts at the last one's latest change (inclusive: its reviews come again and
    # are known); a full page that moved no further has caught up too, or it would loop.
    moved = bool(latest) and latest > since
    return Page(rows, {"updated_since": latest if moved else since}, more=len(items) >= KIYOH_PAGE and moved)


def trustpilot_review(item: dict[str, Any]) -> dict[str, Any]:
    """A review of Trustpilot's public API as the fields of a row."""
    consumer = keyed(item.get("consumer"))
    review_id = str(item.get("id") or "")
    return {
        "source_id": review_id,
        "reviewed_at": item.get("createdAt"),
        "rating": item.get("stars"),
        "title": item.get("title"),
        "body": item.get("text"),
        "author": consumer.get("displayName"),
        "language": item.get("language"),
        "url": f"https://www.trustpilot.com/reviews/{review_id}" if review_id.isalnum() else "",
    }


def _trustpilot_rows(items: list[Any]) -> list[Row]:
    names = {"source_id": "id", "reviewed_at": "createdAt", "rating": "stars", "author": "consumer.displayName"}
    rows = from_items(items, trustpilot_review, names)
    label = str(ReviewSource.TRUSTPILOT.label)
    return [replace(r, source_name=label) for r in rows]


def trustpilot_page(pull: ReviewPull) -> Page:
    config = pull.settings
    page = int(pull.cursor.get("page", 1))
    answer = fetch(
        "Trustpilot",
        f"{settings.TRUSTPILOT_API_URL.rstrip('/')}/v1/business-units/{config['business_unit_id']}/reviews",
        params={
            "apikey": config["api_key"],
            "perPage": str(TRUSTPILOT_PAGE),
            "page": str(page),
            "orderBy": "createdat.asc",
        },
        headers={},
    )
    feed = keyed(answer)
    items = listed(feed.get("reviews"))
    rows = _rows("Trustpilot", _trustpilot_rows, items) if items else []
    links = listed(feed.get("links"))
    more = any(isinstance(link, dict) and link.get("rel") == "next-page" for link in links)
    # Caught up, the pull stays on its last page: the next pull reads it again (its reviews are
    # known) and goes on from there as new ones arrive.
    return Page(rows, {"page": page + 1 if more else page}, more=more)


PAGES: dict[str, Callable[[ReviewPull], Page]] = {
    ReviewSource.KIYOH: kiyoh_page,
    ReviewSource.TRUSTPILOT: trustpilot_page,
}


# --- the dispatcher's work --------------------------------------------------------------------


@register
class ReviewPulls(LeasedKind):
    """The review pulls whose time has come, the longest waiting first."""

    name = "review-pulls"
    model = ReviewPull
    batch_size = 5
    related = ("shop",)

    def perform(self, item: ReviewPull, now: dt.datetime) -> None:
        if item.source not in PAGES:  # pragma: no cover - the API makes pulls of these only
            raise Permanent(f"{item.source} is not pulled")
        continuing = bool(item.cursor.get("more"))
        page = PAGES[item.source](item)
        try:
            imported = import_reviews(shop=item.shop, source=item.source, rows=page.rows) if page.rows else None
        except BadReviews as bad:  # another scale than the source's imported reviews: no retry mends it
            raise Permanent(f"the reviews cannot be imported: {bad}") from None
        created = imported.created if imported else 0
        item.cursor = {**page.cursor, "more": page.more}
        item.last_count = (item.last_count if continuing else 0) + created
        item.last_pulled_at = now
        item.due_at = now if page.more else now + dt.timedelta(seconds=settings.REVIEW_PULL_INTERVAL)

    def record_done(self, item: ReviewPull, now: dt.datetime) -> None:
        ReviewPull.objects.filter(Q(pk=item.pk) & Q(claim_id=item.claim_id)).update(
            cursor=item.cursor,
            last_count=item.last_count,
            last_pulled_at=item.last_pulled_at,
            due_at=item.due_at,
            attempts=0,
            last_error="",
            claimed_until=None,
            claim_id="",
        )
