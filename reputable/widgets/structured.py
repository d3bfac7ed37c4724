"""schema.org data as JSON-LD blocks.

Only the product reviews widget carries rating markup on a shop's own pages, for a Product:
Google ignores (and may penalise) Organization or LocalBusiness ratings a business shows
about itself. The shop's rating as an Organization is marked up on the public profile, which
lives on Reputable's host.

Restricted and removed reviews are left out (the lists they come from show their stubs): no
markup claims a review that is not published. A redacted review's text is marked up as shown.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from reputable.reviews.models import Product, ProductReview, Review
from reputable.reviews.ratings import Rating

# Inside <script>, "</script>" or "<!--" in any text would end or change the block: every <, >
# and & is written as a JSON escape, which parses back to the same text.
_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def script(data: dict[str, Any]) -> SafeString:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 - escaped above


def _review(review: Review, stars: int, body: str, shop_name: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "Review",
        "reviewRating": {"@type": "Rating", "ratingValue": str(stars), "bestRating": "5", "worstRating": "1"},
        "author": {"@type": "Person", "name": review.author_name or "Anonymous"},
        "datePublished": review.created_at.date().isoformat(),
    }
    if review.title:
        data["name"] = review.title
    if body:
        data["reviewBody"] = body
    if reply := review.reply_or_none():
        # The shop's public reply: a Comment on the Review (CreativeWork.comment), by the shop.
        data["comment"] = {
            "@type": "Comment",
            "text": reply.body,
            "author": {"@type": "Organization", "name": shop_name},
            "dateCreated": reply.created_at.date().isoformat(),
            **({"dateModified": reply.updated_at.date().isoformat()} if reply.was_edited else {}),
        }
    return data


def product(item: Product, rating: Rating, reviews: Iterable[ProductReview], shop_name: str) -> SafeString:
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "Product", "name": item.name}
    for field in ("sku", "gtin", "mpn"):
        if getattr(item, field):
            data[field] = getattr(item, field)
    if item.brand:
        data["brand"] = {"@type": "Brand", "name": item.brand}
    if item.url:
        data["url"] = item.url
    if item.image_url:
        data["image"] = item.image_url
    data["aggregateRating"] = rating.aggregate_json_ld()
    data["review"] = [_review(pr.review, pr.rating, pr.body, shop_name) for pr in reviews if pr.review.is_published]
    return script(data)


def review(shop: Any, item: Review) -> SafeString:
    """One shop review, of the shop as an Organization: for its page on Reputable's own host."""
    data = {"@context": "https://schema.org", **_review(item, item.rating, item.body, shop.name)}
    data["itemReviewed"] = {
        "@type": "Organization",
        "name": shop.name,
        **({"url": shop.website} if shop.website else {}),
    }
    return script(data)


def organization(name: str, url: str, rating: Rating, reviews: Iterable[Review]) -> SafeString:
    """The shop as an Organization with its rating: for the profile on Reputable's own host."""
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "Organization", "name": name}
    if url:
        data["url"] = url
    if rating.count:
        data["aggregateRating"] = rating.aggregate_json_ld()
        data["review"] = [_review(r, r.rating, r.body, name) for r in reviews if r.is_published]
    return script(data)
