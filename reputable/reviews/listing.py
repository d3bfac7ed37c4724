"""Which reviews a reader asked for: star filter, sort, search and page, shared by the public
profile and the widgets so that both read their parameters the same way; and the signed
cursors of the keyset pages (the API, the dashboard's inbox)."""

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict

from reputable.reviews.models import Product, ProductReview, Review
from reputable.shops.models import Shop

SORTS = ("newest", "highest", "lowest")
MAX_QUERY = 100
MAX_PAGE = 100_000
MAX_SKUS = 100


class BadParameter(ValueError):
    """A query parameter a reader cannot have meant; names it, for a 400 that says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


# A keyset page (newest first, on (created_at, id)) names where it starts by a signed cursor:
# one we did not give out is refused before it reaches a query.
_CURSORS = signing.Signer(salt="reputable.reviews.cursor")


def encode_cursor(created_at: dt.datetime, pk: int) -> str:
    return _CURSORS.sign_object([created_at.isoformat(), pk])


def decode_cursor(name: str, cursor: str) -> tuple[dt.datetime, int]:
    """The (created_at, id) of a cursor from `encode_cursor`; BadParameter(name) for any other text."""
    try:
        moment, pk = _CURSORS.unsign_object(cursor)
        return dt.datetime.fromisoformat(moment), int(pk)
    except (signing.BadSignature, TypeError, ValueError):
        raise BadParameter(name, "is not a cursor we gave out") from None


def one(params: QueryDict, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadParameter(name, "give it once")
    return values[0] if values else None


def number(params: QueryDict, name: str, *, default: int, low: int, high: int) -> int:
    text = one(params, name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return int(text)


def choice(params: QueryDict, name: str, options: tuple[str, ...], default: str) -> str:
    value = one(params, name)
    if value is None or value == "":
        return default
    if value not in options:
        raise BadParameter(name, "must be one of " + ", ".join(options))
    return value


def products_asked(shop: Shop, params: QueryDict) -> tuple[list[tuple[str, str]], dict[tuple[str, str], Product]]:
    """The products named by `sku=` and `gtin=` (each may repeat, up to 100 in all), in the
    order asked, and those of them the shop has."""
    asked = [("sku", v) for v in params.getlist("sku")] + [("gtin", v) for v in params.getlist("gtin")]
    if len(asked) > MAX_SKUS:
        raise BadParameter("sku", f"at most {MAX_SKUS} products (sku= and gtin=) in one request")
    for kind, value in asked:
        if not value or len(value) > (100 if kind == "sku" else 14):
            raise BadParameter(kind, "must be 1 to 100 characters" if kind == "sku" else "must be 1 to 14 digits")
    skus = [v for kind, v in asked if kind == "sku"]
    gtins = [v for kind, v in asked if kind == "gtin"]
    found: dict[tuple[str, str], Product] = {}
    if asked:
        rows = Product.objects.filter(shop=shop).filter(Q(sku__in=skus) | Q(gtin__in=gtins)).order_by("id")
        for product in rows:
            if product.sku in skus:
                found.setdefault(("sku", product.sku), product)
            if product.gtin in gtins:
                found.setdefault(("gtin", product.gtin), product)
    return asked, found


@dataclass(frozen=True)
class Listing:
    """What to list. A star filter changes which reviews are listed, never the score shown."""

    stars: tuple[int, ...] = ()
    sort: str = "newest"
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: QueryDict, *, search: bool = False) -> "Listing":
        stars_text = one(params, "stars") or ""
        stars: set[int] = set()
        for part in filter(None, stars_text.split(",")):
            if part not in ("1", "2", "3", "4", "5"):
                raise BadParameter("stars", "must be star counts from 1 to 5, separated by commas: stars=1,2")
            stars.add(int(part))
        q = (one(params, "q") or "").strip() if search else ""
        if len(q) > MAX_QUERY:
            raise BadParameter("q", f"must be at most {MAX_QUERY} characters")
        return cls(
            stars=tuple(sorted(stars)),
            sort=choice(params, "sort", SORTS, "newest"),
            q=q,
            page=number(params, "page", default=1, low=1, high=MAX_PAGE),
        )

    def params(self, **changes: object) -> dict[str, str]:
        """This listing as query parameters (defaults left out), with `changes` applied."""
        listing = replace(self, **changes)  # type: ignore[arg-type]
        params = {
            "stars": ",".join(map(str, listing.stars)),
            "sort": "" if listing.sort == "newest" else listing.sort,
            "q": listing.q,
            "page": "" if listing.page == 1 else str(listing.page),
        }
        return {name: value for name, value in params.items() if value}

    def link(self, base: dict[str, str], **changes: object) -> str:
        """A query string for a link to this listing changed: `?stars=1&lang=de`."""
        return "?" + urlencode({**base, **self.params(**changes)})

    def page_of(self, shop: Shop, sku: str, *, per_page: int) -> tuple[Product | None, Page[Any]]:
        """The product `sku` names (if the shop has it) and this listing's page: the product's
        reviews, none for a product the shop does not have, the shop's without `sku`."""
        product = Product.objects.filter(shop=shop, sku=sku).first() if sku else None
        rows: Any = self.product_reviews(product) if product else [] if sku else self.shop_reviews(shop)
        return product, Paginator(rows, per_page).get_page(self.page)

    @property
    def narrowed(self) -> bool:
        """Whether the reader asked for some reviews only (stars, words). A narrowed list shows
        published reviews only, as its counts do; the whole list shows the stub of a restricted
        or removed review in its place (a removal is never silent)."""
        return bool(self.stars or self.q)

    def shop_reviews(self, shop: Shop) -> QuerySet[Review]:
        rows = (Review.objects.published() if self.narrowed else Review.objects.shown()).filter(shop=shop)
        if self.stars:
            rows = rows.filter(rating__in=self.stars)
        if self.q:
            rows = rows.filter(
                Q(title__icontains=self.q) | Q(body__icontains=self.q) | Q(product_reviews__body__icontains=self.q)
            ).distinct()
        order = {"newest": (), "highest": ("-rating",), "lowest": ("rating",)}[self.sort]
        return (
            rows.order_by(*order, "-created_at", "-id")
            .select_related("reply")
            .prefetch_related("product_reviews__product")
        )

    def product_reviews(self, product: Product) -> QuerySet[ProductReview]:
        rows = ProductReview.objects.filter(product=product)
        if self.narrowed:
            rows = rows.filter(review__status=Review.Status.PUBLISHED)
        if self.stars:
            rows = rows.filter(rating__in=self.stars)
        if self.q:
            rows = rows.filter(
                Q(body__icontains=self.q) | Q(review__title__icontains=self.q) | Q(review__body__icontains=self.q)
            )
        order = {"newest": (), "highest": ("-rating",), "lowest": ("rating",)}[self.sort]
        return rows.order_by(*order, "-review__created_at", "-id").select_related("review__reply", "product")
