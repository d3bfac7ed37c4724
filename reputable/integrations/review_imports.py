"""Other portals' reviews, read from the files each portal exports (and from their APIs' answers).

Each format has a parser that turns a file into normalised `Row`s; the one write path is
`reputable.integrations.review_import_actions.import_reviews`. A file is read whole and checked
whole before anything is written: a bad row is named (its number as a spreadsheet shows it, the
header being row 1; for JSON and XML the review's position, from 1) with its field, and nothing
of the file is stored.

Formats (`source`):

- `trustpilot`: the CSV of reviews exported from Trustpilot Business (columns `Review Id`,
  `Review Created (UTC)`, `Review Stars`, `Review Title`, `Review Content`, `Consumer Name`,
  `Review Language`, `Reference Id`, `Link`; others are ignored).
- `google`: Google Business Profile's reviews as JSON, the shape of the My Business API v4
  (`{"reviews": [{"reviewId", "name", "reviewer": {"displayName"}, "starRating": "FIVE",
  "comment", "createTime"}]}`) and of Google Takeout's `reviews.json`, which carries the same.
- `trustedshops`: eTrusted's reviews as JSON (`{"items": [{"id", "rating", "title", "comment",
  "createdAt", "customer": {"fullName"}, "product": {"sku", "gtin", "name"}}]}`), as the
  reviews API answers and the control centre exports.
- `kiyoh`: Kiyoh's (and Klantenvertellen's) review feed, JSON or XML (`feed.json`, `feed.xml`,
  `v1/publication/review/external`): `reviews[]` with `reviewId`, `rating` out of 10,
  `reviewAuthor`, `dateSince`, `reviewLanguage` and `reviewContent` (the one-liner and the
  opinion); the location's `viewReviewUrl` is each review's link.
- `provenexpert`: ProvenExpert's CSV export of ratings (`ID`, `Date`, `Stars`, `Title`,
  `Comment`, `Reviewer`, `Link`; German headers `Datum`, `Sterne`, `Titel`, `Kommentar` too).
- `generic`: our own documented CSV for any other portal: `source_name`, `id`, `date`,
  `rating`, `scale` (default 5), `title`, `text`, `author`, `url`, `language`, `sku`, `gtin`,
  `product_name`. See the README.

The CSV files may be UTF-8 (with or without a byte order mark) or Windows-1252, separated by
commas, semicolons or tabs (read from the header line).

Stars, the published rule (`to_stars`): a rating of `value` on a scale of `scale` is
`value / scale * 5` stars, kept exact to two decimals (rounded half up); it is shown as whole
stars, rounded half up, and at least 1. Kiyoh's 8 out of 10 is 4.00 stars, shown as 4; its 7 is
3.50, shown as 4; its 1 is 0.50, shown as 1.
"""

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from reputable.integrations.models import ImportedReview, ReviewSource
from reputable.lib import text as text_module

MAX_BYTES = 20 * 1024 * 1024  # the largest file read in a request: reviews are small
MAX_ERRORS = 100  # bad rows named in an answer
MAX_SCALE = 100
CENTS = Decimal("0.01")

# Google's star ratings, as its API writes them.
GOOGLE_STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


def to_stars(value: Decimal | int | float | str, scale: int) -> tuple[Decimal, int]:
    """The published rule: `value / scale * 5` stars, exact to two decimals (half up), and the
    whole stars shown: rounded half up, at least 1. ValueError for a value off the scale."""
    rating = Decimal(str(value))
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"the scale must be between 1 and {MAX_SCALE}")
    if not 0 <= rating <= scale:
        raise ValueError(f"must be between 0 and {scale}")
    stars = (rating * 5 / scale).quantize(CENTS, rounding=ROUND_HALF_UP)
    return stars, max(1, int(stars.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


@dataclass(frozen=True)
class Row:
    """One review as the parsers give it, whatever its format."""

    source_id: str
    reviewed_at: dt.datetime
    rating: Decimal  # on `scale`
    scale: int = 5
    source_name: str = ""  # the generic format's own; else the source's label
    title: str = ""
    body: str = ""
    author: str = ""
    url: str = ""
    language: str = ""
    sku: str = ""
    gtin: str = ""
    product_name: str = ""


@dataclass(frozen=True)
class RowError:
    row: int  # 0: the file itself
    field: str
    message: str

    @property
    def where(self) -> str:
        return f"row {self.row}: {self.field}" if self.row else self.field


class BadReviews(Exception):
    """A file that is not imported: what is wrong with it, row by row."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"{e.where}: {e.message}" for e in errors))
        self.errors = errors


def _max_length(name: str) -> int:
    return int(getattr(ImportedReview._meta.get_field(name), "max_length", 0) or 0)


def listed(value: object) -> list[Any]:
    """A JSON value as a list, or [] when it is none."""
    return value if isinstance(value, list) else []


def keyed(value: object) -> dict[str, Any]:
    """A JSON value as an object, or {} when it is none."""
    return value if isinstance(value, dict) else {}


# Row field -> the model field whose length bounds it.
LENGTHS = {
    "source_id": "source_id",
    "source_name": "source_name",
    "title": "title",
    "author": "author",
    "url": "url",
    "language": "language",
    "sku": "sku",
    "gtin": "gtin",
    "product_name": "product_name",
}
_url = URLValidator(schemes=["http", "https"])


class Reader:
    """Builds the rows of one file, collecting the errors of all of them."""

    def __init__(self, *, name_required: bool = False) -> None:
        self.name_required = name_required  # the generic format: each row names its portal
        self.rows: list[Row] = []
        self.errors: list[RowError] = []

    def fail(self, row: int, field: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, field, message))

    def add(self, number: int, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        """A row from `values` (Row field -> raw value); `names` says what each field is called
        in the file, for the errors."""
        before = len(self.errors)

        def text(field: str) -> str:
            value = values.get(field)
            result = "" if value is None else " ".join(str(value).split()) if field != "body" else str(value).strip()
            if not text_module.is_paragraphs(result):
                self.fail(number, names.get(field, field), text_module.PARAGRAPHS_MESSAGE)
                return ""
            if field in LENGTHS and len(result) > (limit := _max_length(LENGTHS[field])):
                self.fail(number, names.get(field, field), f"is longer than {limit} characters")
            return result

        source_id = text("source_id")
        if not source_id:
            self.fail(number, names.get("source_id", "id"), "is required")
        moment = _moment(values.get("reviewed_at"))
        if moment is None:
            self.fail(number, names.get("reviewed_at", "date"), "must be a date (ISO 8601, e.g. 2026-11-23T09:00:00Z)")
        scale = _number(values.get("scale") or 5)  # an empty cell: the default
        if scale is None or scale != scale.to_integral_value() or not 1 <= scale <= MAX_SCALE:
            self.fail(number, names.get("scale", "scale"), f"must be a whole number from 1 to {MAX_SCALE}")
            scale = Decimal(5)
        rating = _number(values.get("rating"))
        if rating is None:
            self.fail(number, names.get("rating", "rating"), "must be a number")
        elif not 0 <= rating <= scale:
            self.fail(number, names.get("rating", "rating"), f"must be between 0 and {scale}")
        url = text("url")
        if url:
            try:
                _url(url)
            except ValidationError:
                self.fail(number, names.get("url", "url"), "must be an http(s) address")
        fields = {f: text(f) for f in ("source_name", "title", "author", "language", "sku", "gtin", "product_name")}
        if self.name_required and not fields["source_name"]:
            self.fail(number, names.get("source_name", "source_name"), "is required (or give one for the file)")
        body = text("body")
        if len(self.errors) == before and moment is not None and rating is not None:
            self.rows.append(
                Row(source_id, moment, rating, int(scale), url=url, body=body, **fields)  # type: ignore[arg-type]
            )

    def result(self) -> list[Row]:
        if self.errors:
            raise BadReviews(self.errors)
        if not self.rows:
            raise BadReviews([RowError(0, "file", "holds no review")])
        return self.rows


def _number(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _moment(value: object) -> dt.datetime | None:
    """An aware moment from ISO 8601 (a date, or a date and time; naive is UTC) or dd.mm.yyyy."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10 and text[2] == "." and text[5] == ".":
            moment = dt.datetime.strptime(text, "%d.%m.%Y")  # noqa: DTZ007 - made aware below
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not dt.datetime(1990, 1, 1, tzinfo=dt.UTC) <= moment.replace(tzinfo=moment.tzinfo or dt.UTC) <= _later():
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _later() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=2)  # a portal's clock a little ahead


# --- CSV -------------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv(
    data: bytes, columns: Mapping[str, tuple[str, ...]], required: Iterable[str]
) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
    """The rows of a CSV file: (row number, Row field -> value, Row field -> its column).
    `columns` names, for each Row field, the headers that may hold it (case and spaces aside)."""
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    position = {" ".join(h.split()).casefold(): i for i, h in enumerate(header)}
    where: dict[str, int] = {}
    names: dict[str, str] = {}
    for field, headers in columns.items():
        for name in headers:
            if name.casefold() in position:
                where[field], names[field] = position[name.casefold()], name
                break
    missing = [columns[f][0] for f in required if f not in where]
    if missing:
        raise BadReviews([RowError(1, name, "the column is missing") for name in missing])
    number = 1
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            yield number, {f: cells[i] if i < len(cells) else "" for f, i in where.items()}, names
    except csv.Error as error:  # a cell over the csv module's limit (128 KB), a stray NUL
        raise BadReviews([RowError(number + 1, "file", f"cannot be read as CSV: {error}")]) from None


def _from_csv(
    data: bytes,
    columns: Mapping[str, tuple[str, ...]],
    required: Iterable[str],
    reader: Reader | None = None,
    **fixed: Any,
) -> list[Row]:
    reader = reader or Reader()
    for number, values, names in _csv(data, columns, required):
        reader.add(number, names, {**fixed, **{k: v for k, v in values.items() if v.strip() or k not in fixed}})
    return reader.result()


TRUSTPILOT_COLUMNS = {
    "source_id": ("Review Id",),
    "reviewed_at": ("Review Created (UTC)",),
    "rating": ("Review Stars",),
    "title": ("Review Title",),
    "body": ("Review Content",),
    "author": ("Consumer Name",),
    "language": ("Review Language",),
    "url": ("Link", "Review Link"),
}
PROVENEXPERT_COLUMNS = {
    "source_id": ("ID", "Rating ID", "Bewertungs-ID"),
    "reviewed_at": ("Date", "Datum"),
    "rating": ("Stars", "Sterne", "Rating"),
    "title": ("Title", "Titel"),
    "body": ("Comment", "Kommentar"),
    "author": ("Reviewer", "Name", "Bewerter"),
    "language": ("Language", "Sprache"),
    "url": ("Link",),
}
GENERIC_COLUMNS = {
    "source_name": ("source_name",),
    "source_id": ("id",),
    "reviewed_at": ("date",),
    "rating": ("rating",),
    "scale": ("scale",),
    "title": ("title",),
    "body": ("text",),
    "author": ("author",),
    "url": ("url",),
    "language": ("language",),
    "sku": ("sku",),
    "gtin": ("gtin",),
    "product_name": ("product_name",),
}
REQUIRED = ("source_id", "reviewed_at", "rating")


def trustpilot(data: bytes, source_name: str = "") -> list[Row]:
    return _from_csv(data, TRUSTPILOT_COLUMNS, REQUIRED)


def provenexpert(data: bytes, source_name: str = "") -> list[Row]:
    return _from_csv(data, PROVENEXPERT_COLUMNS, REQUIRED)


def generic(data: bytes, source_name: str = "") -> list[Row]:
    """Our own format; `source_name` names the portal of rows without a `source_name`."""
    fixed = {"source_name": source_name} if source_name else {}
    return _from_csv(data, GENERIC_COLUMNS, REQUIRED, Reader(name_required=True), **fixed)


# --- JSON and XML ------------------------------------------------------------------------------


def _json(data: bytes) -> Any:
    try:
        return json.loads(decode(data))
    except (ValueError, RecursionError):
        raise BadReviews([RowError(0, "file", "is not JSON")]) from None


def _items(answer: Any, key: str) -> list[Any]:
    items = answer.get(key) if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise BadReviews([RowError(0, "file", f"holds no list of reviews ({key!r})")])
    return items


def from_items(
    items: list[Any], fields: Callable[[dict[str, Any]], dict[str, Any]], names: dict[str, str]
) -> list[Row]:
    reader = Reader()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            reader.fail(number, "review", "must be an object")
            continue
        reader.add(number, names, fields(item))
    return reader.result()


def _get(item: Mapping[str, Any], *path: str) -> Any:
    value: Any = item
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def google_review(item: dict[str, Any]) -> dict[str, Any]:
    stars = item.get("starRating")
    return {
        "source_id": item.get("reviewId") or str(item.get("name") or "").rsplit("/", 1)[-1],
        "reviewed_at": item.get("createTime"),
        "rating": GOOGLE_STARS.get(stars, stars) if isinstance(stars, str) else stars,
        "body": item.get("comment"),
        "author": _get(item, "reviewer", "displayName"),
    }


GOOGLE_NAMES = {
    "source_id": "reviewId",
    "reviewed_at": "createTime",
    "rating": "starRating",
    "author": "reviewer.displayName",
}


def google(data: bytes, source_name: str = "") -> list[Row]:
    return from_items(_items(_json(data), "reviews"), google_review, GOOGLE_NAMES)


def trustedshops_review(item: dict[str, Any]) -> dict[str, Any]:
    customer = keyed(item.get("customer"))
    name = customer.get("fullName") or " ".join(filter(None, (customer.get("firstName"), customer.get("lastName"))))
    return {
        "source_id": item.get("id"),
        "reviewed_at": item.get("createdAt") or item.get("submittedAt"),
        "rating": item.get("rating"),
        "title": item.get("title"),
        "body": item.get("comment"),
        "author": name,
        "sku": _get(item, "product", "sku"),
        "gtin": _get(item, "product", "gtin"),
        "product_name": _get(item, "product", "name"),
    }


TRUSTEDSHOPS_NAMES = {
    "source_id": "id",
    "reviewed_at": "createdAt",
    "author": "customer.fullName",
    "sku": "product.sku",
}


def trustedshops(data: bytes, source_name: str = "") -> list[Row]:
    return from_items(_items(_json(data), "items"), trustedshops_review, TRUSTEDSHOPS_NAMES)


def kiyoh_review(item: dict[str, Any], page_url: str = "") -> dict[str, Any]:
    content = listed(item.get("reviewContent"))
    answers = {c.get("questionGroup"): c.get("rating") for c in content if isinstance(c, dict)}
    return {
        "source_id": item.get("reviewId"),
        "reviewed_at": item.get("dateSince"),
        "rating": item.get("rating"),
        "scale": 10,
        "title": answers.get("DEFAULT_ONELINER"),
        "body": answers.get("DEFAULT_OPINION"),
        "author": item.get("reviewAuthor"),
        "language": item.get("reviewLanguage"),
        "url": page_url,
    }


KIYOH_NAMES = {
    "source_id": "reviewId",
    "reviewed_at": "dateSince",
    "author": "reviewAuthor",
    "language": "reviewLanguage",
}


def _xml_value(element: ET.Element) -> Any:
    """Kiyoh's XML as its JSON: an element of children named as itself is a list."""
    children = list(element)
    if not children:
        return element.text or ""
    if all(c.tag == element.tag for c in children):
        return [_xml_value(c) for c in children]
    return {c.tag: _xml_value(c) for c in children}


def kiyoh_feed(data: bytes) -> dict[str, Any]:
    if data.lstrip()[:1] != b"<":
        answer = _json(data)
        return answer if isinstance(answer, dict) else {"reviews": answer}
    try:
        root = ET.fromstring(data)  # noqa: S314 - the standard library refuses external entities
    except ET.ParseError:
        raise BadReviews([RowError(0, "file", "is neither JSON nor XML")]) from None
    try:
        feed = _xml_value(root)
    except RecursionError:
        raise BadReviews([RowError(0, "file", "is nested too deeply for a review feed")]) from None
    if isinstance(feed, dict) and isinstance(feed.get("reviews"), str):  # an empty list
        feed["reviews"] = []
    return feed if isinstance(feed, dict) else {}


def kiyoh_rows(feed: dict[str, Any]) -> list[Row]:
    page_url = str(feed.get("viewReviewUrl") or "")
    return from_items(_items(feed, "reviews"), lambda item: kiyoh_review(item, page_url), KIYOH_NAMES)


def kiyoh(data: bytes, source_name: str = "") -> list[Row]:
    return kiyoh_rows(kiyoh_feed(data))


PARSERS: dict[str, Callable[[bytes, str], list[Row]]] = {
    ReviewSource.TRUSTPILOT: trustpilot,
    ReviewSource.GOOGLE: google,
    ReviewSource.TRUSTEDSHOPS: trustedshops,
    ReviewSource.KIYOH: kiyoh,
    ReviewSource.PROVENEXPERT: provenexpert,
    ReviewSource.GENERIC: generic,
}


def parse(source: str, data: bytes, *, source_name: str = "") -> list[Row]:
    """The rows of a file exported by `source`'s portal; BadReviews naming what is wrong."""
    if source not in PARSERS:
        raise BadReviews([RowError(0, "source", f"must be one of {', '.join(PARSERS)}")])
    if not data.strip():
        raise BadReviews([RowError(0, "file", "is empty")])
    if len(data) > MAX_BYTES:
        raise BadReviews([RowError(0, "file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")])
    rows = PARSERS[source](data, source_name)
    label = str(ReviewSource(source).label) if source != ReviewSource.GENERIC else ""
    return [replace(r, source_name=r.source_name or label) for r in rows]
