"""The widgets under /w/: server-rendered fragments, their JSON, the seal as SVG, iframe pages,
and the loader that upgrades custom elements in a shop's page.

Every answer is the same for every visitor (no cookie, no session, no Accept-Language: the
language is the `lang` parameter or the shop's), cacheable with an ETag, readable from any
origin, and kept whole by reputable.lib.pagecache until the shop's reviews change.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from reputable.demo import DEMO_SLUG
from reputable.integrations import sources
from reputable.lib import pagecache
from reputable.lib.api import ApiError, FieldError
from reputable.lib.http import CORS_HEADERS, public_response, with_headers
from reputable.reviews import moderated
from reputable.reviews.charts import star_paths
from reputable.reviews.listing import BadParameter, Listing, choice, number, one, products_asked
from reputable.reviews.models import Product, Reply, Review
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import Summary, all_time_of, summarise
from reputable.shops.access import public_shop
from reputable.shops.models import Shop
from reputable.widgets import brand, structured

THEMES = ("light", "dark", "auto")
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
# Reviews per page of the reviews widget, and cards in the carousel: default and most.
LIMITS = {"reviews": (5, 20), "carousel": (10, 20), "stars": (1, 20), "badge": (1, 20)}
# Browsers and proxies keep a widget this long, then may show it while they fetch it again.
MAX_AGE = 300
STALE_WHILE_REVALIDATE = 86_400
STATIC = Path(__file__).resolve().parent / "static" / "widgets"
# Other portals the seal shows (in its taller box, widgets.css's rp-has-sources; the profile lists all).
SEAL_SOURCES = 3
# A widget's frame: the site's policy, but any shop may frame it.
FRAME_CSP: dict[str, Any] = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


@dataclass(frozen=True)
class Options:
    """What every widget takes: `lang`, `theme`, `limit`."""

    language: str
    theme: str
    limit: int

    @classmethod
    def from_query(cls, params: QueryDict, shop: Shop, widget: str) -> "Options":
        default, most = LIMITS[widget]
        return cls(
            language=choice(params, "lang", LANGUAGES, shop.default_locale),
            theme=choice(params, "theme", THEMES, "auto"),
            limit=number(params, "limit", default=default, low=1, high=most),
        )

    def params(self) -> dict[str, str]:
        return {"lang": self.language, "theme": self.theme, "limit": str(self.limit)}


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def shop_links(shop: Shop, language: str) -> dict[str, str]:
    return {
        "profile": absolute(reverse("profile", args=[shop.slug])) + f"?lang={language}",
        "how": absolute(reverse("how-reviews-work", args=[shop.slug])) + f"?lang={language}",
        "styles": absolute(reverse("widget-asset", args=["widgets.css"])),
        "brand": absolute(reverse("widget-brand", args=[shop.slug])),
        # A review's own page is this and its id.
        "reviews": absolute(reverse("review-page", args=[shop.slug, 0]))[:-1],
    }


# --- what each widget shows --------------------------------------------------------------------


def stars_data(shop: Shop, params: QueryDict, options: Options) -> dict[str, Any]:
    asked, found = products_asked(shop, params)
    if not asked:
        raise BadParameter("sku", "give at least one product: sku= or gtin=")
    summaries = all_time_of(shop=shop, products=list(found.values()))
    items = []
    for kind, value in asked:
        product = found.get((kind, value))
        rating = Rating.of(summaries[product.pk]) if product else Rating(None, 0)
        items.append({"kind": kind, "value": value, "product": product, "rating": rating})
    return {"items": items}


def badge_data(shop: Shop, params: QueryDict, options: Options) -> dict[str, Any]:
    """The seal: the verified score of the last 12 months first; then, apart, the shop's other
    portals (at most SEAL_SOURCES, most reviews first; the profile lists all) and, when the shop
    shows one, the combined score."""
    now = timezone.now()
    summaries = summarise(shop=shop, today=now.date())
    found = sources.sources_of(shop)
    return {
        "rating": Rating.of(summaries.last_12_months),
        "all_time": Rating.of(summaries.all_time),
        "sources": [source.as_dict(options.language) for source in found[:SEAL_SOURCES]],
        "combined": sources.combined_score(shop=shop, verified=summaries, sources=found, now=now),
    }


def reviews_data(shop: Shop, params: QueryDict, options: Options) -> dict[str, Any]:
    listing = Listing.from_query(params)
    sku = one(params, "sku") or ""
    product, page = listing.page_of(shop, sku, per_page=options.limit)
    summary = (
        summarise(shop=shop, product=product, today=timezone.now().date()).all_time if (product or not sku) else None
    )
    return {
        "sku": sku,
        "product": product,
        "summary": summary,
        "rating": Rating.of(summary) if summary else Rating(None, 0),
        "listing": listing,
        "page": page,
        "bars": _bars(summary, listing) if summary else [],
        "json_ld": structured.product(product, Rating.of(summary), page, shop.name)
        if product and summary and summary.count
        else "",
    }


def carousel_data(shop: Shop, params: QueryDict, options: Options) -> dict[str, Any]:
    summaries = summarise(shop=shop, today=timezone.now().date())
    page = Paginator(Listing().shop_reviews(shop), options.limit).get_page(1)
    return {"rating": Rating.of(summaries.last_12_months), "page": page}


def _bars(summary: Summary, listing: Listing) -> list[dict[str, Any]]:
    return [
        {"stars": stars, "count": count, "percent": percent, "active": stars in listing.stars}
        for stars, count, percent in summary.shares()
    ]


WIDGETS: dict[str, Callable[[Shop, QueryDict, Options], dict[str, Any]]] = {
    "stars": stars_data,
    "badge": badge_data,
    "reviews": reviews_data,
    "carousel": carousel_data,
}


# --- JSON --------------------------------------------------------------------------------------


def _iso(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, dt.datetime) else value for name, value in values.items()}


def _stub_json(review: Review, reviews: str, shop: Shop, stars: int) -> dict[str, Any]:
    """A restricted or removed review in its place: its stub, with the sentence to show."""
    return _iso(moderated.stub(review, stars=stars)) | {
        "url": f"{reviews}{review.pk}",
        "stub": moderated.stub_text(review, shop_name=shop.name, stars=stars),
    }


def _review_json(review: Any, reviews: str, shop: Shop) -> dict[str, Any]:
    if not review.is_published:
        return _stub_json(review, reviews, shop, review.rating)
    return {
        "id": review.pk,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "author": review.author_name,
        "verified": review.verified,
        "created_at": review.created_at.isoformat(),
        "url": f"{reviews}{review.pk}",
        "reply": _reply_json(review.reply_or_none()),
        # What the checks at submission did automatically (reputable.reviews.screening), to show.
        "automated": review.automated,
        **_iso(moderated.state(review)),
        # What to show with it: the note of a redaction, "In dispute since <date>".
        "notes": [note for note in (moderated.redaction_note(review), moderated.disputed_label(review)) if note],
    }


def _reply_json(reply: Reply | None) -> dict[str, str] | None:
    """The shop's public reply under a review, dated."""
    if reply is None:
        return None
    return {"body": reply.body, "created_at": reply.created_at.isoformat(), "updated_at": reply.updated_at.isoformat()}


def _product_review_json(product_review: Any, reviews: str, shop: Shop) -> dict[str, Any]:
    review = product_review.review
    if not review.is_published:
        return _stub_json(review, reviews, shop, product_review.rating) | {
            "id": product_review.pk,
            "review_id": review.pk,
        }
    return _review_json(review, reviews, shop) | {
        "id": product_review.pk,
        "review_id": review.pk,
        "rating": product_review.rating,
        "body": product_review.body,
    }


def as_json(widget: str, shop: Shop, data: dict[str, Any], options: Options) -> dict[str, Any]:
    language = options.language
    links = shop_links(shop, language)
    body: dict[str, Any] = {
        "shop": {
            "name": shop.name,
            "slug": shop.slug,
            "profile": links["profile"],
            "how": links["how"],
            "brand_colour": shop.brand_colour or None,
        },
        "language": language,
    }
    if widget == "stars":
        body["products"] = [
            {item["kind"]: item["value"], "found": item["product"] is not None, **item["rating"].as_dict(language)}
            for item in data["items"]
        ]
    elif widget == "badge":
        # The verified score (of reviews collected by Reputable) first; other portals apart.
        body["last_12_months"] = data["rating"].as_dict(language)
        body["all_time"] = data["all_time"].as_dict(language)
        body["sources"] = data["sources"]
        combined = data["combined"]
        body["combined"] = combined.as_dict(language) | {"formula": links["how"] + "#combined"} if combined else None
    elif widget == "reviews":
        page: Page[Any] = data["page"]
        shape = _product_review_json if data["product"] else _review_json
        body |= {
            "sku": data["sku"] or None,
            "summary": data["rating"].as_dict(language) | {"histogram": {b["stars"]: b["count"] for b in data["bars"]}},
            "page": page.number,
            "pages": page.paginator.num_pages,
            "reviews": [shape(item, links["reviews"], shop) for item in page],
        }
    else:
        body["last_12_months"] = data["rating"].as_dict(language)
        body["reviews"] = [_review_json(review, links["reviews"], shop) for review in data["page"]]
    return body


# --- the answers ---------------------------------------------------------------------------------


def _context(widget: str, shop: Shop, data: dict[str, Any], options: Options, *, origin: str | None) -> dict[str, Any]:
    """What a widget's template gets. `origin` is None for a fragment, else for a frame the
    origin of the page that frames it ("" when unknown)."""
    links = shop_links(shop, options.language)
    context = {"shop": shop, "widget": widget, "options": options, "links": links, "frame": origin is not None, **data}
    if "rating" in data:
        context["count_text"] = data["rating"].count_text(options.language)
    if widget == "reviews":
        context["nav"] = _navigation(shop, data, options, origin)
    return context


def _navigation(shop: Shop, data: dict[str, Any], options: Options, origin: str | None) -> dict[str, Any]:
    """The reviews widget's filter, sort and page links. Without script they go to the profile
    with the same parameters (in a frame: to the frame itself); the loader follows them in
    place, fetching the fragment with `data-rp-params`."""
    listing: Listing = data["listing"]
    page: Page[Any] = data["page"]
    widget_params = options.params() | ({"sku": data["sku"]} if data["sku"] else {})
    if origin is None:
        target = absolute(reverse("profile", args=[shop.slug]))
        link_params = {"lang": options.language} | ({"sku": data["sku"]} if data["sku"] else {})
    else:
        target = ""  # the frame itself, wherever it is served from
        link_params = widget_params | ({"origin": origin} if origin else {})

    def link(**changes: object) -> dict[str, str]:
        return {
            "href": target + listing.link(link_params, **changes),
            "params": listing.link(widget_params, **changes)[1:],
        }

    def toggled(stars: int) -> tuple[int, ...]:
        return tuple(sorted(set(listing.stars) ^ {stars}))

    sort_labels = {"newest": gettext("Newest"), "highest": gettext("Highest"), "lowest": gettext("Lowest")}
    return {
        "bars": [bar | link(stars=toggled(bar["stars"]), page=1) for bar in data["bars"]],
        "clear": link(stars=(), page=1),
        "stars_text": ", ".join(map(str, listing.stars)),
        "sorts": [
            {"label": label, "current": listing.sort == name} | link(sort=name, page=1)
            for name, label in sort_labels.items()
        ],
        "prev": link(page=page.number - 1) if page.has_previous() else None,
        "next": link(page=page.number + 1) if page.has_next() else None,
    }


# The seal as an image has no style sheet: its colours are attributes. "auto" is light there.
SVG_COLOURS = {
    "light": {"bg": "#ffffff", "fg": "#1f2328", "muted": "#59636e", "line": "#d0d7de", "accent": "#1d5c4d"},
    "dark": {"bg": "#16181d", "fg": "#e6e6e6", "muted": "#a8b0b8", "line": "#3a3f47", "accent": "#7fd1b9"},
}
STAR_COLOURS = {"light": ("#d97706", "#d0d7de"), "dark": ("#f5b942", "#4a5059")}


# The seal as an image: its height without other portals, and with them (room for SEAL_SOURCES
# of two lines each, a heading and the combined score), as widgets.css's two boxes.
SVG_HEIGHTS = (92, 220)


def _svg_badge(shop: Shop, data: dict[str, Any], options: Options) -> dict[str, Any]:
    rating: Rating = data["rating"]
    height = SVG_HEIGHTS[1] if data["sources"] else SVG_HEIGHTS[0]
    # The baselines of each source's two lines, under the heading's at 100.
    lines = [(source, 118 + 32 * index, 132 + 32 * index) for index, source in enumerate(data["sources"])]
    theme = "dark" if options.theme == "dark" else "light"
    on, off = STAR_COLOURS[theme]
    colours = SVG_COLOURS[theme]
    if shop.brand_colour:
        light, dark = brand.accents(shop.brand_colour)
        colours = colours | {"accent": dark if theme == "dark" else light}
    return {
        "height": height,
        "frame_height": height - 1,
        "source_lines": lines,
        "combined_y": 116 + 32 * len(lines),
        "colours": colours,
        "label": rating.label(options.language),
        "score": rating.number(options.language),
        "stars": star_paths(rating, f'fill="{on}"', f'fill="{off}"'),
    }


def _bad_parameter(error: BadParameter, *, as_json: bool) -> HttpResponse:
    if as_json:
        fields = [FieldError(field=error.name, message=error.message)]
        body = ApiError(400, "invalid", f"{error.name} {error.message}", fields).body()
        return _public(JsonResponse(body, status=400))
    text = f"{error.name}: {error.message}"
    return _public(HttpResponse(text, status=400, content_type="text/plain; charset=utf-8"))


def _public(response: HttpResponse) -> HttpResponse:
    return with_headers(response, CORS_HEADERS)


def _shop_or_404_fragment(slug: str, *, as_json: bool) -> Shop | HttpResponse:
    try:
        return public_shop(slug)
    except Http404:
        if as_json:
            return _public(JsonResponse(ApiError(404, "not_found", "no shop with this address").body(), status=404))
        return _public(HttpResponse(render_to_string("widgets/not_found.html"), status=404))


@require_safe
def widget(request: HttpRequest, slug: str, name: str, fmt: str = "html") -> HttpResponseBase:
    """`/w/<slug>/<name>` (a fragment), `<name>.json`, and `badge.svg`."""
    if name not in WIDGETS or (fmt == "svg" and name != "badge"):
        raise Http404
    shop = _shop_or_404_fragment(slug, as_json=fmt == "json")
    if isinstance(shop, HttpResponse):
        return shop
    try:
        options = Options.from_query(request.GET, shop, name)
        with translation.override(options.language):
            data = WIDGETS[name](shop, request.GET, options)
            if fmt == "json":
                response: HttpResponse = JsonResponse(
                    as_json(name, shop, data, options), json_dumps_params={"ensure_ascii": False}
                )
            elif fmt == "svg":
                context = _context(name, shop, data, options, origin=None) | _svg_badge(shop, data, options)
                response = HttpResponse(render_to_string("widgets/badge.svg", context), content_type="image/svg+xml")
            else:
                context = _context(name, shop, data, options, origin=None)
                response = HttpResponse(render_to_string(f"widgets/{name}.html", context))
    except BadParameter as error:
        return _bad_parameter(error, as_json=fmt == "json")
    return pagecache.cacheable(public_response(request, response, max_age=MAX_AGE, swr=STALE_WHILE_REVALIDATE))


@require_safe
@xframe_options_exempt
@csp_override(FRAME_CSP)
def frame(request: HttpRequest, slug: str, name: str) -> HttpResponseBase:
    """`/w/<slug>/frame/<name>`: the widget as a page of its own, for an iframe; any shop may frame it."""
    if name not in WIDGETS:
        raise Http404
    shop = public_shop(slug)
    try:
        options = Options.from_query(request.GET, shop, name)
        parent = one(request.GET, "origin") or ""
        with translation.override(options.language):
            data = WIDGETS[name](shop, request.GET, options)
            origin = _origin(parent)
            context = _context(name, shop, data, options, origin=origin) | {
                "parent_origin": origin,
                "template": f"widgets/{name}.html",
            }
            response = HttpResponse(render_to_string("widgets/frame.html", context))
    except BadParameter as error:
        return _bad_parameter(error, as_json=False)
    return pagecache.cacheable(public_response(request, response, max_age=MAX_AGE, swr=STALE_WHILE_REVALIDATE))


def _origin(text: str) -> str:
    """The embedding page's origin as given (`origin=https://shop.example`), if it is one."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


ASSETS = {
    "embed.js": "text/javascript; charset=utf-8",
    "frame.js": "text/javascript; charset=utf-8",
    "widgets.css": "text/css; charset=utf-8",
}


@require_safe
def asset(request: HttpRequest, name: str) -> HttpResponseBase:
    """`/w/embed.js` (the loader), `/w/frame.js` (the frame's height reporter), `/w/widgets.css`."""
    if name not in ASSETS:
        raise Http404
    response = HttpResponse((STATIC / name).read_bytes(), content_type=ASSETS[name])
    return pagecache.cacheable(public_response(request, response, max_age=3600, swr=STALE_WHILE_REVALIDATE))


@require_safe
def brand_stylesheet(request: HttpRequest, slug: str) -> HttpResponseBase:
    """`/w/<slug>/brand.css`: the shop's colour for the accent of its widgets (reputable.widgets.brand)."""
    shop = public_shop(slug)
    response = HttpResponse(brand.stylesheet(shop.brand_colour), content_type="text/css; charset=utf-8")
    return pagecache.cacheable(public_response(request, response, max_age=MAX_AGE, swr=STALE_WHILE_REVALIDATE))


@require_safe
def demo_shop(request: HttpRequest) -> HttpResponse:
    """`/demo/shop/`: a shop's product page with every widget embedded, as a shop would do it
    (only with the demo's pages on: REPUTABLE_MAILBOX_PAGE)."""
    if not settings.MAILBOX_PAGE:
        raise Http404
    shop = get_object_or_404(Shop, slug=DEMO_SLUG)
    skus = list(Product.objects.filter(shop=shop).order_by("sku").values_list("sku", flat=True))
    return render(request, "widgets/demo_shop.html", {"shop": shop, "skus": skus, "product": skus[0] if skus else ""})
