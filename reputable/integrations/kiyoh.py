"""Kiyoh's and Klantenvertellen's API, spoken at `/compat/kiyoh/`: shop plugins and ERP modules
written for it work with Reputable once their base URL is changed.

- `POST v1/invite/external` (JSON, token in `X-Publication-Api-Token`), and its legacy `GET`
  form with the same fields in the query and the token as `hash=`: a customer to invite,
  recorded as a checkout event dated now through `record_events`. `location_id` is the shop's
  slug. `delay` (days) replaces the rule's first delay for that invitation. `reference_code`
  (or `ref_code`) is the order; an invitation without one is known by its address and day, so
  that a client's retry is recognised. `product_code[]` links the products of that code (a
  code the shop does not know yet becomes a product named by its code). `language` is
  Kiyoh's code ("gr" for Greek) or a locale ("nl_NL"). `city`, `product_invite`, `supplier`
  and `variable` are read and not kept.
- `GET v1/publication/review/external/location/statistics?locationId=`: the shop's counts
  and averages, and its public profile as `viewReviewUrl`.
- `GET v1/publication/review/external?locationId=&limit=&orderBy=&sortOrder=`: the same,
  with the published reviews in Kiyoh's shape.
- `GET v1/review/feed.json?hash=` and `feed.xml?hash=`: the feed, paged by `limit` and
  `pageNumber` (from 0). A `limit` above 250 gives 250 reviews.

Ratings are on Kiyoh's scale of ten: Reputable's stars (1 to 5) times two, so an average of
4.5 stars is 9.0. Reputable asks no "would you recommend us" question: the statistics leave
Kiyoh's recommendation out, the feeds carry `percentageRecommendation` empty (some clients
read the element without checking that it exists). Reviews are written by invited customers
only, so there is no `createReviewUrl` to give.

A repeat of an invitation (the same order, or an address the shop invited recently) answers
INVITATION_ALREADY_PLACED, which the clients take as done. Errors are Kiyoh's:
`{"httpCode", "errorCode", "message", "detailedError": [{"errorCode", "message", "field"?}]}`,
naming the client's own fields.
"""

import datetime as dt
import hashlib
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Annotated, Any

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import re_path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import ValidationError as Invalid

from reputable.events.actions import Recorded, Rejected, record_events
from reputable.events.models import Event
from reputable.events.schemas import EventIn
from reputable.integrations.compat_auth import Denied, grant_for_api_key, their_name
from reputable.integrations.platforms import CHECKOUT
from reputable.lib.api import field_errors
from reputable.lib.dates import DelayUnit
from reputable.reviews.listing import BadParameter, choice, number, one
from reputable.reviews.models import Product, Review
from reputable.reviews.summaries import Summary, summarise
from reputable.shops.models import Shop

TOKEN_HEADER = "X-Publication-Api-Token"
# Review ids are UUIDs, as Kiyoh's: in this namespace, named by our review's id.
REVIEW_IDS = uuid.UUID("0b6f3c2e-8a1d-4f57-b2c9-5e7d41a09c63")
MAX_LIMIT = 250  # reviews per answer, the most Kiyoh's own API gives
# A larger `limit` is cut to MAX_LIMIT, not refused: clients ask for "all" (limit=10000) and
# read what comes, warning when it is fewer than `numberReviews`.
MAX_ASKED = 1_000_000_000
MAX_PAGE = 100_000
ORDERS = {"CREATE_DATE": "created_at", "UPDATE_DATE": "updated_at", "RATING": "rating"}
# Outcomes Kiyoh calls INVITATION_ALREADY_PLACED (besides a repeat of the same invitation).
ALREADY_PLACED = {Event.Outcome.ALREADY_INVITED, Event.Outcome.FREQUENCY_CAP}

# Our field names in theirs: an error names the field the client sent.
THEIR_NAMES = {
    "customer.email": "invite_email",
    "customer.first_name": "first_name",
    "customer.last_name": "last_name",
    "customer.locale": "language",
    "delay.amount": "delay",
    "delay": "delay",
}
# Kiyoh's questions, as a plugin may show them next to the answers (in the shop's language).
QUESTIONS = {
    "DEFAULT_OVERALL": _("Your overall rating"),
    "DEFAULT_ONELINER": _("Describe your experience in one line"),
    "DEFAULT_OPINION": _("Describe your experience"),
}


class Detail:
    """One entry of Kiyoh's `detailedError`."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        self.code, self.message, self.field = code, message, field

    def as_dict(self) -> dict[str, str]:
        return {"errorCode": self.code, "message": self.message, **({"field": self.field} if self.field else {})}


class Refused(Exception):  # noqa: N818 - raised as `raise Refused(400, ...)`
    """An answer in Kiyoh's error shape: status, errorCode, message and the details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Detail] | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after
        self.details = details or [Detail(code, message)]

    def body(self) -> dict[str, Any]:
        return {
            "httpCode": self.status,
            "errorCode": self.code,
            "message": self.message,
            "detailedError": [d.as_dict() for d in self.details],
        }


def _invalid(details: list[Detail]) -> Refused:
    return Refused(400, "INVALID_REQUEST", "; ".join(d.message for d in details), details)


def _field_error(field: str, message: str, code: str = "INVALID_FIELD") -> Detail:
    return Detail(code, f"{field}: {message}", field)


def _as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# Location ids, order numbers and product codes: text, or a whole number some clients send
# as one (Kiyoh's own location ids are numbers). Errors then name the field, not the union.
Code = Annotated[str, BeforeValidator(_as_text)]
# Kiyoh's language codes that are not the language's own: Greek is "gr".
LANGUAGES = {"gr": "el"}


class InviteIn(BaseModel):
    """An invitation as Kiyoh's clients send it: the shape only; EventIn checks the values."""

    model_config = ConfigDict(extra="ignore")  # product_invite, supplier, variable, ...

    location_id: Code
    invite_email: str
    delay: int | None = Field(default=None, ge=0)  # days; the most is record_events' rule
    language: str | None = None  # "nl", or a locale as "nl_NL"
    first_name: str | None = None
    last_name: str | None = None
    reference_code: Code | None = None
    ref_code: Code | None = None
    product_code: list[Code] | None = None  # one code alone is taken as a list of one
    city: str | None = None  # read, not kept: a transaction has no city

    @field_validator("product_code", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return value if value is None or isinstance(value, list) else [value]

    @property
    def locale(self) -> str | None:
        if self.language is None:
            return None
        language = self.language.strip().replace("_", "-")
        return LANGUAGES.get(language.lower(), language)

    @property
    def reference_field(self) -> str:
        return "reference_code" if self.reference_code not in (None, "") else "ref_code"

    def codes(self) -> list[str]:
        return [code.strip() for code in self.product_code or [] if code.strip()]

    def event(self, known: dict[str, Product]) -> EventIn:
        now = timezone.now()
        reference = self.reference_code if self.reference_code not in (None, "") else self.ref_code
        if reference in (None, ""):
            # Known by the address and the day: a client's retry is the same invitation, a
            # later one is a new transaction, which the shop's frequency cap then answers.
            digest = hashlib.sha256(self.invite_email.strip().lower().encode()).hexdigest()[:16]
            reference = f"kiyoh-{now:%Y%m%d}-{digest}"
        return EventIn.model_validate(
            {
                "type": CHECKOUT,
                "transaction": {"reference": reference, "date": now},
                "customer": {
                    "email": self.invite_email,
                    "first_name": self.first_name,
                    "last_name": self.last_name,
                    "locale": self.locale,
                },
                # A product already known keeps what the shop told of it; a new one is named
                # by its code (Kiyoh's clients send only the code with an invitation).
                "products": [
                    _product_fields(known[code]) if code in known else {"sku": code, "name": code}
                    for code in self.codes()
                ],
                "delay": {"amount": self.delay, "unit": DelayUnit.DAYS} if self.delay is not None else None,
            }
        )


def _product_fields(product: Product) -> dict[str, Any]:
    fields = {f: getattr(product, f) for f in ("sku", "name", "gtin", "mpn", "brand", "url", "image_url")}
    return {**fields, "url": product.url or None, "image_url": product.image_url or None}


def _theirs(field: str, reference_field: str) -> str:
    if field == "transaction.reference":
        return reference_field
    if field.startswith("products."):  # products.0.sku: the first product code
        return "product_code." + field.split(".")[1]
    return their_name(field, THEIR_NAMES)


def _answer(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # answers for one key, never for a shared cache
    return response


def _refused(refused: Refused, *, xml: bool = False) -> HttpResponse:
    if xml:  # as Kiyoh's feed writes it: <error> with each detailedError in its own element
        root = ET.Element("error")
        for tag, value in (("httpCode", refused.status), ("errorCode", refused.code), ("message", refused.message)):
            ET.SubElement(root, tag).text = str(value)
        for detail in refused.details:
            _add(root, "detailedError", detail.as_dict())
        response = _xml_response(root, refused.status)
    else:
        response = _answer(refused.body(), refused.status)
    if refused.retry_after is not None:
        response["Retry-After"] = str(refused.retry_after)
    return response


def _shop(request: HttpRequest, token: str, *, needed: str, hash_param: bool = False) -> Shop:
    """The shop whose API key the request carries as its token, or Refused as Kiyoh refuses."""
    try:
        return grant_for_api_key(request, token.strip(), needed=needed).shop
    except Denied as denied:
        if denied.status == 429:
            raise Refused(429, "TOO_MANY_REQUESTS", denied.message, retry_after=denied.retry_after) from None
        if denied.status == 403:
            raise Refused(403, "ACCESS_DENIED", denied.message) from None
        code = "INVALID_HASH" if hash_param else "INVALID_TOKEN"
        raise Refused(401, code, f"{denied.message} (a Reputable API key of the shop)") from None


def _token(request: HttpRequest) -> tuple[str, bool]:
    """The token and whether it came as `hash=` (the legacy form) rather than in the header
    (a request with neither is told of the header's token)."""
    header = request.headers.get(TOKEN_HEADER, "")
    return (header, False) if header or "hash" not in request.GET else (request.GET["hash"], True)


def _check_location(shop: Shop, value: object, field: str) -> None:
    """A location is a shop, named by its slug: any other (another's, or none) is refused alike."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise _invalid([_field_error(field, "is required (your shop's slug)", "MISSING_FIELD")])
    if text != shop.slug:
        raise Refused(
            403,
            "LOCATION_ACCESS_DENIED",
            f"{field}: the token does not give access to location {text[:80]!r}",
            [_field_error(field, "is not the location of this token", "LOCATION_ACCESS_DENIED")],
        )


# --- invitations --------------------------------------------------------------------------------


def _query_fields(params: QueryDict) -> dict[str, Any]:
    """The legacy GET form's fields: empty ones left out, `product_code[]` (PHP's
    http_build_query writes `product_code[0]=..`) gathered into a list. Some modules write the
    address into the query unencoded, so that its "+" arrives as a space, which no address has."""
    fields: dict[str, Any] = {}
    codes: list[str] = []
    for name in params:
        if name == "hash":
            continue
        if name == "product_code" or name.startswith("product_code["):
            codes += params.getlist(name)
        elif (value := params.get(name, "")) != "":
            fields[name] = value.strip().replace(" ", "+") if name == "invite_email" else value
    return {**fields, "product_code": codes} if codes else fields


@csrf_exempt  # no cookies: the token is in the request
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    token, hash_param = _token(request)
    try:
        shop = _shop(request, token, needed="write", hash_param=hash_param)
        if request.method == "POST":
            try:
                body = json.loads(request.body)
            except ValueError:
                raise _invalid([Detail("INVALID_JSON", "the body is not JSON")]) from None
        else:
            body = _query_fields(request.GET)
        return _answer(_place(shop, body))
    except Refused as refused:
        return _refused(refused)


def _place(shop: Shop, body: object) -> dict[str, str]:
    try:
        invitation = InviteIn.model_validate(body)
    except Invalid as error:
        raise _invalid(
            [
                _field_error(f.field, f.message, "MISSING_FIELD" if e.get("type") == "missing" else "INVALID_FIELD")
                for e, f in zip(error.errors(), field_errors(error.errors()), strict=True)
            ]
        ) from None
    _check_location(shop, invitation.location_id, "location_id")
    known = {p.key: p for p in Product.objects.filter(shop=shop, key__in=invitation.codes())}
    try:
        event = invitation.event(known)
    except Invalid as error:
        raise _invalid(
            [
                _field_error(_theirs(f.field, invitation.reference_field), f.message)
                for f in field_errors(error.errors())
            ]
        ) from None
    [answer] = record_events(shop=shop, events=[event])
    if isinstance(answer, Rejected):
        if answer.field == "type":  # the shop switched its checkout events off: not the client's doing
            raise Refused(400, "INVITATION_NOT_PLACED", f"this shop takes no invitations now: {answer.message}")
        raise _invalid([_field_error(_theirs(answer.field, invitation.reference_field), answer.message)])
    return _placed(answer)


def _placed(answer: Recorded) -> dict[str, str]:
    if not answer.created or answer.outcome in ALREADY_PLACED:
        message = f"an invitation for {answer.reference!r} was already placed ({answer.outcome})"
        raise Refused(400, "INVITATION_ALREADY_PLACED", message)
    if answer.outcome == Event.Outcome.SCHEDULED:
        return {"code": "OK", "message": "invitation placed"}
    # Recorded, but the shop's rules invite no one for it (no rule, objected, ...): the
    # merchant sees why in the dashboard's events; for the client the order is done.
    return {"code": "OK", "message": f"recorded without an invitation ({answer.outcome})"}


# --- statistics and reviews ---------------------------------------------------------------------


def _ten(summary: Summary) -> float:
    """The mean on Kiyoh's scale of ten: stars times two, to one decimal; 0 without ratings."""
    return round(summary.mean * 2, 1) if summary.mean is not None else 0


def _location(shop: Shop) -> dict[str, Any]:
    summaries = summarise(shop=shop, today=timezone.now().date())
    return {
        "locationId": shop.slug,
        "locationName": shop.name,
        "locationActive": True,
        "numberReviews": summaries.all_time.count,
        "averageRating": _ten(summaries.all_time),
        "last12MonthNumberReviews": summaries.last_12_months.count,
        "last12MonthAverageRating": _ten(summaries.last_12_months),
        "viewReviewUrl": settings.BASE_URL + reverse("profile", args=[shop.slug]),
    }


def _moment(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _review(review: Review) -> dict[str, Any]:
    answers = [("DEFAULT_OVERALL", "INT", str(review.rating * 2))]
    answers += [
        (group, "TEXT", text)
        for group, text in (("DEFAULT_ONELINER", review.title), ("DEFAULT_OPINION", review.body))
        if text
    ]
    reply = review.reply_or_none()
    return {
        "reviewId": str(uuid.uuid5(REVIEW_IDS, str(review.pk))),
        "reviewAuthor": review.author_name,
        "city": "",  # Reputable does not ask for it
        "rating": review.rating * 2,
        "reviewContent": [
            {
                "questionGroup": group,
                "questionType": kind,
                "rating": value,  # Kiyoh's name for the answer, whatever its type
                "order": order,
                "questionTranslation": str(QUESTIONS[group]),
            }
            for order, (group, kind, value) in enumerate(answers)
        ],
        "reviewComments": reply.body if reply else "",  # the shop's public reply
        "dateSince": _moment(review.created_at),
        "updatedSince": _moment(review.updated_at),
        "referenceCode": review.transaction.reference if review.transaction else "",
        "reviewLanguage": review.locale,
    }


def _reviews(shop: Shop, reviews: Iterable[Review]) -> list[dict[str, Any]]:
    with translation.override(shop.default_locale):
        return [_review(r) for r in reviews]


def _published(shop: Shop) -> Any:
    # Restricted and removed reviews are left out: a plugin shows these as its own content,
    # without the stub that says why one is missing (as the other compatible APIs do).
    return Review.objects.published().filter(shop=shop).select_related("transaction", "reply")


def _limit(params: QueryDict) -> int:
    return min(number(params, "limit", default=10, low=1, high=MAX_ASKED), MAX_LIMIT)


def _since(params: QueryDict, name: str) -> dt.datetime | None:
    text = one(params, name)
    if not text:
        return None
    try:  # an unencoded "+" of the offset arrives as a space
        moment = dt.datetime.fromisoformat(text.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(name, "must be a date and time in ISO 8601, e.g. 2026-01-01T00:00:00+00:00") from None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)


@csrf_exempt
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    try:
        shop = _shop(request, request.headers.get(TOKEN_HEADER, ""), needed="read")
        _check_location(shop, request.GET.get("locationId"), "locationId")
        return _answer(_location(shop))
    except Refused as refused:
        return _refused(refused)


@csrf_exempt
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    try:
        shop = _shop(request, request.headers.get(TOKEN_HEADER, ""), needed="read")
        _check_location(shop, request.GET.get("locationId"), "locationId")
        params = request.GET
        try:
            limit = _limit(params)
            field = ORDERS[choice(params, "orderBy", tuple(ORDERS), "CREATE_DATE")]
            descending = choice(params, "sortOrder", ("DESC", "ASC"), "DESC") == "DESC"
            created_since, updated_since = _since(params, "dateSince"), _since(params, "updatedSince")
        except BadParameter as bad:
            raise _invalid([_field_error(bad.name, bad.message)]) from None
        published = _published(shop)
        if created_since:
            published = published.filter(created_at__gte=created_since)
        if updated_since:
            published = published.filter(updated_at__gte=updated_since)
        keys = [field, "created_at", "id"] if field != "created_at" else ["created_at", "id"]
        ordered = published.order_by(*[F(k).desc() if descending else F(k).asc() for k in keys])
        return _answer({**_location(shop), "reviews": _reviews(shop, ordered[:limit])})
    except Refused as refused:
        return _refused(refused)


# --- the feed -----------------------------------------------------------------------------------


def _add(parent: ET.Element, tag: str, value: object) -> None:
    """`value` as the element `tag` of `parent`, as Kiyoh's XML writes it: a list as an
    element holding one element of the same name per item; no value as an empty element.
    ElementTree escapes the text; stored text has no characters XML cannot carry (the text
    rule refuses control characters at input)."""
    element = ET.SubElement(parent, tag)
    if isinstance(value, list):
        for item in value:
            _add(element, tag, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _add(element, key, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _xml_response(root: ET.Element, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        ET.tostring(root, encoding="utf-8", xml_declaration=True),
        status=status,
        content_type="application/xml; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_GET
def feed(request: HttpRequest, extension: str) -> HttpResponse:
    xml = extension == "xml"
    try:
        shop = _shop(request, request.GET.get("hash", ""), needed="read", hash_param=True)
        try:
            limit = _limit(request.GET)
            page = number(request.GET, "pageNumber", default=0, low=0, high=MAX_PAGE)
        except BadParameter as bad:
            raise _invalid([_field_error(bad.name, bad.message)]) from None
    except Refused as refused:
        return _refused(refused, xml=xml)
    newest = _published(shop).order_by("-created_at", "-id")[page * limit : (page + 1) * limit]
    body = {**_location(shop), "percentageRecommendation": None, "reviews": _reviews(shop, newest)}
    if not xml:
        return _answer(body)
    root = ET.Element("ReviewFeedDto")
    for key, value in body.items():
        _add(root, key, value)
    return _xml_response(root)


app_name = "kiyoh"

# The clients write the paths with or without a trailing slash.
urlpatterns = [
    re_path(r"^v1/invite/external/?$", invite, name="invite"),
    re_path(r"^v1/publication/review/external/location/statistics/?$", statistics, name="statistics"),
    re_path(r"^v1/publication/review/external/?$", reviews, name="reviews"),
    re_path(r"^v1/review/feed\.(?P<extension>json|xml)$", feed, name="feed"),
]
