"""Google's product reviews feed (schema 2.4), streamed, and the check of what Google would refuse.

One <review> per product rating of a published review, whatever its stars; then the imported
product reviews of sources with a collection method the merchant asserted (never verified). Merchant Center
fetches the whole feed each time and drops what a fetch no longer lists, so every answer is the
full snapshot, read in chunks and written as it is read.
"""

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import batched, chain
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from reputable.integrations.models import ImportedReview, ImportedSource
from reputable.reviews.models import Product, ProductReview, Review
from reputable.shops.access import public_shop
from reputable.shops.models import Shop

SCHEMA_URL = "http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd"
# Rows fetched per database round trip, and reviews sent per chunk of the answer.
CHUNK_SIZE = 2000
REVIEWS_PER_CHUNK = 200
# Event types whose invitation follows the order's fulfilment: Google's "post_fulfillment".
# An invitation after checkout may reach the customer before the parcel, so it claims nothing.
FULFILMENT_EVENTS = frozenset({"delivery"})
# What XML 1.0 cannot carry (C0 controls but tab and line ends, surrogates, U+FFFE and U+FFFF),
# and the DEL and C1 controls it discourages: dropped from every text.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANGUAGE = re.compile("[a-z]{2,3}")

# Google's schema needs a product URL and a text for each review: a product without a URL,
# or a rating without any words (neither the product's nor the shop review's), cannot be sent.
NO_PRODUCT_URL = Q(product__url="")
NO_TEXT = Q(body="", review__body="")
_FIELDS = (
    "review_id",
    "product_id",
    "rating",
    "body",
    "review__title",
    "review__body",
    "review__author_name",
    "review__locale",
    "review__created_at",
    "review__transaction_id",
    "review__invitation__rule__event_type__key",
    "product__name",
    "product__sku",
    "product__gtin",
    "product__mpn",
    "product__brand",
    "product__url",
)


def published_product_reviews(shop: Shop) -> QuerySet[ProductReview]:
    return ProductReview.objects.filter(review__shop=shop, review__status=Review.Status.PUBLISHED)


def feed_rows(shop: Shop) -> QuerySet[ProductReview]:
    """The product ratings the feed carries: every published one Google's schema can hold."""
    return published_product_reviews(shop).exclude(NO_PRODUCT_URL).exclude(NO_TEXT)


def feed_url(shop: Shop) -> str:
    return settings.BASE_URL + reverse("google-product-reviews", args=[shop.slug])


@require_GET
def google_product_reviews(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """GET /feeds/<slug>/google-product-reviews.xml, for Merchant Center's scheduled fetch."""
    shop = public_shop(slug)
    response = StreamingHttpResponse(_feed(shop), content_type="application/xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _feed(shop: Shop) -> Iterator[bytes]:
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:vc="http://www.w3.org/2007/XMLSchema-versioning"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:noNamespaceSchemaLocation="{SCHEMA_URL}">\n'
        "<version>2.4</version>\n"
        "<aggregator><name>Reputable</name></aggregator>\n"
        f"<publisher>{_element('name', shop.name) or _element('name', shop.slug)}</publisher>\n"
    ).encode()
    reviews_url = settings.BASE_URL + reverse("review-page", args=[shop.slug, 0])[:-1]
    language = _language(shop.default_locale) or settings.LANGUAGE_CODE
    rows = feed_rows(shop).values(*_FIELDS).order_by("review_id", "product_id").iterator(chunk_size=CHUNK_SIZE)
    imported = imported_feed_rows(shop).values(*_IMPORTED_FIELDS).order_by("pk").iterator(chunk_size=CHUNK_SIZE)
    reviews = filter(
        None,
        chain(
            (_review(row, reviews_url, language) for row in rows),
            (_imported_review(row, language) for row in imported),
        ),
    )
    opened = False  # <reviews> must hold at least one review: it opens with the first
    for chunk in batched(reviews, REVIEWS_PER_CHUNK, strict=False):
        yield (("" if opened else "<reviews>\n") + "".join(chunk)).encode()
        opened = True
    yield ("</reviews>\n</feed>\n" if opened else "</feed>\n").encode()


def _review(row: dict[str, Any], reviews_url: str, language: str) -> str | None:
    """One <review>, its elements in the schema's order; None when no text is left to send."""
    # The product's own words, else the shop review's (the feed lint reports those).
    content = _text(row["body"])
    if not content.strip():
        content = _text(row["review__body"])
    if not content.strip():
        return None
    name = _text(row["review__author_name"])
    reviewer = f"<name>{escape(name)}</name>" if name.strip() else '<name is_anonymous="true">Anonymous</name>'
    fulfilled = row["review__invitation__rule__event_type__key"] in FULFILMENT_EVENTS
    return "".join(
        [
            "<review>",
            _element("review_id", f"{row['review_id']}-{row['product_id']}"),
            f"<reviewer>{reviewer}</reviewer>",
            _element("is_verified_purchase", "true" if row["review__transaction_id"] is not None else "false"),
            "<is_incentivized_review>false</is_incentivized_review>",
            _element("review_timestamp", row["review__created_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            _element("title", row["review__title"]),
            f"<content>{escape(content)}</content>",
            _element("review_language", _language(row["review__locale"]) or language),
            # The review's own page on the public profile.
            f'<review_url type="singleton">{escape(reviews_url)}{row["review_id"]}</review_url>',
            f'<ratings><overall min="1" max="5">{row["rating"]}</overall></ratings>',
            f"<products><product>{_product(row)}</product></products>",
            "<collection_method>post_fulfillment</collection_method>" if fulfilled else "",
            "</review>\n",
        ]
    )


# Imported product reviews (reputable.integrations): only of a source whose collection method
# the merchant asserted (ImportedSource.collection_method, one of Google's values), sent with
# it, and never as verified purchases; only for a product of the shop's with a URL, matched by
# SKU or GTIN; and only with a link to the review (or to the shop's page on its portal).
COLLECTION_METHODS = ("unsolicited", "post_fulfillment")
_IMPORTED_FIELDS = (
    "pk",
    "author",
    "reviewed_at",
    "title",
    "body",
    "language",
    "stars",
    "sku",
    "gtin",
    "product_name",
    "review_url",
    "collection_method",
    "product_url",
)


def imported_feed_rows(shop: Shop) -> QuerySet[ImportedReview]:
    """The imported product reviews the feed carries, each with its source's collection method,
    its link and its product's URL (subqueries, so that the whole is one query)."""
    summary = ImportedSource.objects.filter(
        shop=shop, source=OuterRef("source"), source_name=OuterRef("source_name")
    ).order_by()
    by_sku = Q(sku=OuterRef("sku")) & ~Q(sku="")
    by_gtin = Q(gtin=OuterRef("gtin")) & ~Q(gtin="")
    products = Product.objects.filter(shop=shop).exclude(url="").filter(by_sku | by_gtin).order_by("pk")
    return (
        ImportedReview.objects.filter(shop=shop)
        .exclude(sku="", gtin="")
        .exclude(body="")
        .annotate(
            collection_method=Subquery(summary.values("collection_method")[:1]),
            source_url=Subquery(summary.values("url")[:1]),
            product_url=Subquery(products.values("url")[:1]),
        )
        .annotate(review_url=Case(When(url="", then=F("source_url")), default=F("url")))
        .filter(collection_method__in=COLLECTION_METHODS, product_url__isnull=False)
        .exclude(review_url="")
        .exclude(review_url__isnull=True)
    )


def _imported_review(row: dict[str, Any], language: str) -> str | None:
    """One imported <review>: not a verified purchase, with the source's collection method."""
    content = _text(row["body"])
    if not content.strip():
        return None
    name = _text(row["author"])
    reviewer = f"<name>{escape(name)}</name>" if name.strip() else '<name is_anonymous="true">Anonymous</name>'
    ids = "".join(f"<{tag}s>{element}</{tag}s>" for tag in ("gtin", "sku") if (element := _element(tag, row[tag])))
    product = (
        (f"<product_ids>{ids}</product_ids>" if ids else "")
        + _element("product_name", row["product_name"])
        + f"<product_url>{escape(_text(row['product_url']))}</product_url>"
    )
    return "".join(
        [
            "<review>",
            _element("review_id", f"imported-{row['pk']}"),
            f"<reviewer>{reviewer}</reviewer>",
            "<is_verified_purchase>false</is_verified_purchase>",
            _element("review_timestamp", row["reviewed_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            _element("title", row["title"]),
            f"<content>{escape(content)}</content>",
            _element("review_language", _language(row["language"]) or language),
            f'<review_url type="singleton">{escape(_text(row["review_url"]))}</review_url>',
            # A portal's lowest rating (0 of 10, say) is below Google's range: at least 1.
            f'<ratings><overall min="1" max="5">{max(row["stars"], 1)}</overall></ratings>',
            f"<products><product>{product}</product></products>",
            _element("collection_method", row["collection_method"]),
            "</review>\n",
        ]
    )


def _product(row: dict[str, Any]) -> str:
    ids = "".join(
        f"<{tag}s>{element}</{tag}s>"
        for tag in ("gtin", "mpn", "sku", "brand")
        if (element := _element(tag, row[f"product__{tag}"]))
    )
    return (
        (f"<product_ids>{ids}</product_ids>" if ids else "")
        + _element("product_name", row["product__name"])
        + f"<product_url>{escape(_text(row['product__url']))}</product_url>"
    )


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _element(tag: str, value: str) -> str:
    """`<tag>value</tag>`, escaped; nothing when no visible text is left (the schema's rule)."""
    text = _text(value)
    return f"<{tag}>{escape(text)}</{tag}>" if text.strip() else ""


def _language(locale: str) -> str | None:
    """The primary language subtag ("nl" of "nl-BE" or "nl_BE"), if there is one."""
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if _LANGUAGE.fullmatch(code) else None


# --- the lint: why Google would refuse the feed today ------------------------------------------

# Google's product ratings need at least this many reviews.
MINIMUM_REVIEWS = 50
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)


def lint(shop: Shop) -> list[Finding]:
    """What Google would refuse in the shop's feed, each by one count and one query of examples."""
    rows = published_product_reviews(shop)
    in_feed = feed_rows(shop)
    products = Product.objects.filter(pk__in=in_feed.values("product_id"))
    findings = []
    if (count := in_feed.count()) < MINIMUM_REVIEWS:
        findings.append(
            Finding(
                "too_few_reviews",
                f"The feed holds {count} reviews; Google shows product ratings from {MINIMUM_REVIEWS} reviews on.",
                count,
            )
        )
    findings += _products_finding(
        "product_without_gtin",
        "products have no GTIN: Google matches reviews to its products by GTIN first, and may match "
        "these (by SKU, or brand and MPN) or not. Send the GTIN with the product in your events.",
        products.filter(gtin=""),
    )
    if not shop.website:
        findings.append(
            Finding(
                "website_missing",
                "The shop's website is not set, so its product links cannot be checked: Google takes "
                "product URLs on the shop's own domain only. Set it with PATCH /api/v1/shop.",
                1,
            )
        )
    else:
        findings += _products_finding(
            "product_url_off_domain",
            f"products link outside {shop.website}: Google takes product URLs on the shop's own domain only.",
            products.exclude(url__iregex=_on_domain(shop.website)),
        )
    findings += _reviews_finding(
        "shop_text_in_product_review",
        "product reviews say nothing of their own (so the feed carries the shop review's text) or repeat "
        "the shop review word for word: Google refuses product reviews about the shop, its delivery or "
        "service rather than the product.",
        in_feed.filter(Q(body="") | Q(body=F("review__body"))),
    )
    findings += _reviews_finding(
        "review_without_product_link",
        "product reviews are left out of the feed because their product has no URL, which Google requires. "
        "Send the product's url in your events.",
        rows.filter(NO_PRODUCT_URL),
    )
    findings += _reviews_finding(
        "review_without_text",
        "product ratings are left out of the feed because neither they nor their shop review have any "
        "text, which Google requires.",
        rows.exclude(NO_PRODUCT_URL).filter(NO_TEXT),
    )
    return findings


def _on_domain(website: str) -> str:
    """A URL on the website's host or one of its subdomains (www. or not), as a regular expression."""
    host = re.escape((urlsplit(website).hostname or "").removeprefix("www."))
    return f"^https?://([^/?#@]*\\.)?{host}(:[0-9]+)?([/?#]|$)"


def _products_finding(code: str, message: str, products: QuerySet[Product]) -> list[Finding]:
    count = products.count()
    if not count:
        return []
    examples = products.order_by("name", "pk").values("sku", "name", "url")[:EXAMPLES]
    return [Finding(code, f"{count} {message}", count, [{"review_id": None, **e} for e in examples])]


def _reviews_finding(code: str, message: str, rows: QuerySet[ProductReview]) -> list[Finding]:
    count = rows.count()
    if not count:
        return []
    examples = rows.order_by("review_id", "product_id").values(
        "review_id", sku=F("product__sku"), name=F("product__name"), url=F("product__url")
    )[:EXAMPLES]
    return [Finding(code, f"{count} {message}", count, [dict(e) for e in examples])]
