"""The Feedback Company's API v2, spoken at `/compat/feedbackcompany/`: shop plugins and ERP
modules written for it work with Reputable once their base URL is changed.

- `api/v2/oauth2/token?client_id=<shop slug>&client_secret=<API key>` (GET, as the clients
  send it, or a POSTed form): an access token (reputable.integrations.compat_auth).
- `POST api/v2/orders`: an order to invite its customer for, recorded as a checkout event
  dated now through `record_events`; the client's `invitation.delay` replaces the rule's first
  delay for that invitation. Its `invitation.reminder` is read and checked, but reminders
  follow the shop's rule (an invitation has no reminders of its own).
- `GET api/v2/review`: the shop's published reviews, newest first, `start`/`limit` paged.
- `GET api/v2/product-reviews/aggregate?product_external_id=`: a product's count and average
  score, on their scale of ten.

Products are known by the `external_id` the client sends (WooCommerce's product id, say),
kept as the product's SKU, because that is what the clients later ask the aggregate for;
their `sku` stands in only for a product sent without one.

The clients' paths end as they write them: `review`, `review/` or `review.json`. Answers
carry `success`; an error carries `error` (a text, or "401 Unauthorized", on which the
clients fetch a new token) and, for bad input, `errors` by field, in their field names.
"""

import datetime as dt
import json
from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import BaseModel, Field
from pydantic import ValidationError as Invalid

from reputable.events.actions import Rejected, record_events
from reputable.events.schemas import EventIn
from reputable.integrations.compat_auth import Audience, Denied, grant_for_token, issue_token, their_name
from reputable.integrations.platforms import CHECKOUT
from reputable.lib.api import FieldError, field_errors
from reputable.lib.dates import DelayUnit
from reputable.reviews.models import Product, Review
from reputable.reviews.summaries import all_time_of

# Their clients keep a token for days (20 in their WordPress plugin) and fetch a new one on a 401.
AUDIENCE = Audience("feedbackcompany", dt.timedelta(days=30))
UNITS = {
    "minutes": DelayUnit.MINUTES,
    "hours": DelayUnit.HOURS,
    "days": DelayUnit.DAYS,
    "weekdays": DelayUnit.BUSINESS_DAYS,
}
MAX_LIMIT = 100

# Our field names in theirs: an error names the field the client sent.
THEIR_NAMES = {
    "transaction.reference": "external_id",
    "customer.first_name": "customer.fullname",
    "customer.last_name": "customer.fullname",
    "delay": "invitation.delay",
}


class Wait(BaseModel):
    unit: Literal["minutes", "hours", "days", "weekdays"]
    amount: int = Field(ge=0)


class InvitationIn(BaseModel):
    delay: Wait | None = None
    reminder: Wait | None = None  # checked; reminders follow the shop's rule


class OrderCustomer(BaseModel):
    email: str  # checked as an address by EventIn
    fullname: str | None = None
    name: str | None = None  # what some clients send instead of fullname


class OrderProduct(BaseModel):
    external_id: str | int | None = None
    sku: str | None = None
    name: str | None = None
    url: str | None = None
    image_url: str | None = None
    gtin: str | None = None
    brand: str | None = None


class OrderIn(BaseModel):
    """An order as their clients post it: the shape only; EventIn checks the values."""

    external_id: str | int
    customer: OrderCustomer
    products: list[OrderProduct] = Field(default_factory=list)
    invitation: InvitationIn | None = None

    def event(self) -> EventIn:
        name = (self.customer.fullname or self.customer.name or "").strip()
        first, _, last = name.partition(" ")
        delay = self.invitation.delay if self.invitation else None
        return EventIn.model_validate(
            {
                "type": CHECKOUT,
                "transaction": {"reference": self.external_id, "date": timezone.now()},
                "customer": {"email": self.customer.email, "first_name": first, "last_name": last.strip()},
                "products": [
                    {
                        "sku": str(p.external_id) if p.external_id not in (None, "") else p.sku,
                        "name": p.name,
                        "url": p.url or None,
                        "image_url": p.image_url or None,
                        "gtin": p.gtin,
                        "brand": p.brand,
                    }
                    for p in self.products
                ],
                "delay": {"amount": delay.amount, "unit": UNITS[delay.unit]} if delay else None,
            }
        )


def _theirs(field: str) -> str:
    return their_name(field, THEIR_NAMES)


def _answer(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _error(
    status: int,
    error: str,
    *,
    message: str = "",
    fields: list[FieldError] | None = None,
    retry_after: int | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {"success": False, "error": error}
    if message:
        body["message"] = message
    if fields:
        errors: dict[str, list[str]] = {}
        for f in fields:
            errors.setdefault(_theirs(f.field), []).append(f.message)
        body["error"] = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
        body["errors"] = errors
    response = _answer(body, status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _denied(denied: Denied) -> JsonResponse:
    if denied.status == 401:  # their clients match this very text to know that a new token is due
        return _error(401, "401 Unauthorized", message=denied.message)
    return _error(denied.status, denied.message, retry_after=denied.retry_after)


@csrf_exempt  # no cookies: the credentials are in the request
@require_http_methods(["GET", "POST"])
def token(request: HttpRequest) -> JsonResponse:
    params = request.POST if request.method == "POST" and request.POST else request.GET
    try:
        issued = issue_token(
            request, AUDIENCE, client_id=params.get("client_id", ""), client_secret=params.get("client_secret", "")
        )
    except Denied as denied:
        return _error(denied.status, denied.message, retry_after=denied.retry_after)
    return _answer(
        {
            "error": False,
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            # As theirs writes it ("Dec, 23 2026 09:00:00 UTC"): clients parse it to renew in time.
            "expires_on": issued.expires_at.astimezone(dt.UTC).strftime("%b, %d %Y %H:%M:%S UTC"),
        }
    )


@csrf_exempt  # a bearer token, not a session
@require_POST
def orders(request: HttpRequest) -> JsonResponse:
    try:
        shop = grant_for_token(request, AUDIENCE).shop
    except Denied as denied:
        return _denied(denied)
    try:
        body = json.loads(request.body)
    except ValueError:
        return _error(400, "the body is not JSON")
    try:
        event = OrderIn.model_validate(body).event()
    except Invalid as error:
        return _error(422, "invalid order", fields=field_errors(error.errors()))
    [answer] = record_events(shop=shop, events=[event])
    if isinstance(answer, Rejected):
        return _error(422, "invalid order", fields=[FieldError(field=answer.field, message=answer.message)])
    # A repeat of the same order stores nothing and answers the same.
    return _answer({"success": True, "message": "order registered", "order": {"external_id": answer.reference}})


def _paging(request: HttpRequest) -> tuple[int, int]:
    values = []
    for name, default, high in (("start", 0, 10**9), ("limit", 10, MAX_LIMIT)):
        text = request.GET.get(name, "") or str(default)
        if not text.isascii() or not text.isdigit() or not int(text) <= high:
            raise ValueError(f"{name} must be a whole number from 0 to {high}")
        values.append(int(text))
    return values[0], max(values[1], 1)


def _review(review: Review) -> dict[str, Any]:
    text = review.body or review.title
    return {
        "id": review.pk,
        "date_created": review.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "total_score": review.rating,  # out of 5, as theirs
        "recommends": None,  # Reputable asks no such question
        "client": {"name": review.author_name},
        "questions": [
            {"question_id": 1, "type": "final_score", "title": "Total score", "value": review.rating},
            {"question_id": 2, "type": "main_open", "title": review.title, "value": text},
        ],
        "product": None,
    }


@csrf_exempt
@require_GET
def reviews(request: HttpRequest) -> JsonResponse:
    try:
        shop = grant_for_token(request, AUDIENCE).shop
    except Denied as denied:
        return _denied(denied)
    try:
        start, limit = _paging(request)
    except ValueError as error:
        return _error(400, str(error))
    # Restricted and removed reviews are left out, as structured data leaves them out: a
    # plugin shows these as its own content, without the stub that says why one is missing.
    published = Review.objects.published().filter(shop=shop).order_by("-created_at", "-id")
    page = list(published[start : start + limit])
    return _answer(
        {
            "success": True,
            "count": {"total": published.count(), "start": start, "limit": limit},
            "reviews": [_review(r) for r in page],
        }
    )


@csrf_exempt
@require_GET
def aggregate(request: HttpRequest) -> JsonResponse:
    try:
        shop = grant_for_token(request, AUDIENCE).shop
    except Denied as denied:
        return _denied(denied)
    external_id = request.GET.get("product_external_id", "").strip()
    if not external_id or len(external_id) > 100:
        return _error(400, "product_external_id: give the product's external id (1 to 100 characters)")
    product = Product.objects.filter(shop=shop, sku=external_id).first()
    summary = all_time_of(shop=shop, products=[product])[product.pk] if product else None
    count = summary.count if summary else 0
    return _answer(
        {
            "success": True,
            "product_review_aggregate": {
                "product_external_id": external_id,
                "amount_of_reviews": count,
                # Theirs scores out of ten; clients halve it for five stars.
                "average_score": round(summary.mean * 2, 1) if summary and summary.mean is not None else 0,
            },
        }
    )


app_name = "feedbackcompany"

# The clients write the paths with or without a trailing slash or ".json".
urlpatterns = [
    re_path(r"^api/v2/oauth2/token(?:/|\.json)?$", token, name="token"),
    re_path(r"^api/v2/orders(?:/|\.json)?$", orders, name="orders"),
    re_path(r"^api/v2/review(?:/|\.json)?$", reviews, name="reviews"),
    re_path(r"^api/v2/product-reviews/aggregate(?:/|\.json)?$", aggregate, name="product-reviews-aggregate"),
]
