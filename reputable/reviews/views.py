"""The customer's review form and the shop's public profile."""

import datetime as dt

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from reputable.events.models import EventType
from reputable.integrations import sources
from reputable.invitations.describe import describe_invitations
from reputable.invitations.messages import invitation_language
from reputable.invitations.models import Invitation
from reputable.invitations.views import invitation_of_link
from reputable.moderation import transparency
from reputable.reviews.actions import EditWindowClosed, author_name, submit_review
from reputable.reviews.charts import over_time_svg
from reputable.reviews.forms import ReviewForm
from reputable.reviews.listing import BadParameter, Listing, one
from reputable.reviews.models import Review
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import monthly, summarise
from reputable.shops.access import public_shop
from reputable.widgets import structured

REVIEWS_PER_PAGE = 20


def link_is_open(invitation: Invitation, now: dt.datetime) -> bool:
    """A new review can be written until REVIEW_LINK_DAYS after the last message."""
    start = invitation.last_sent_at or invitation.created_at
    return now < start + dt.timedelta(days=settings.REVIEW_LINK_DAYS)


@require_http_methods(["GET", "POST"])
def review_form(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_of_link(request, token)
    if isinstance(invitation, HttpResponse):
        return invitation
    now = timezone.now()
    with translation.override(invitation_language(invitation)):
        review = Review.objects.filter(invitation=invitation).select_related("shop").first()
        writable = review.is_editable(now) if review is not None else link_is_open(invitation, now)
        if not writable:
            status = 410 if request.method == "POST" or review is None else 200
            return render(
                request, "reviews/link_closed.html", {"shop": invitation.shop, "review": review}, status=status
            )
        products = list(invitation.transaction.products.order_by("name"))
        shown_name = author_name(invitation, Review.NameDisplay.FIRST_NAME_INITIAL)
        if request.method == "POST":
            form = ReviewForm(request.POST, products=products, first_name_initial=shown_name)
            if form.is_valid():
                try:
                    submit_review(invitation=invitation, data=form.review_input(), now=now)
                except EditWindowClosed:
                    return render(request, "reviews/link_closed.html", {"shop": invitation.shop}, status=410)
                return redirect(f"{request.path}?saved=1")
            status = 422
        else:
            initial = ReviewForm.initial_from(review) if review else None
            form = ReviewForm(initial=initial, products=products, first_name_initial=shown_name)
            status = 200
        return render(
            request,
            "reviews/review_form.html",
            {
                "shop": invitation.shop,
                "transaction": invitation.transaction,
                "form": form,
                "review": review,
                "saved": request.GET.get("saved") == "1" and review is not None,
                # Editable past its window because the shop wrote to the reviewer.
                "after_contact": review is not None and now >= review.editable_until(),
                "token": token,
            },
            status=status,
        )


def _page_language(request: HttpRequest) -> str:
    language = request.GET.get("lang") or translation.get_language()
    if language not in dict(settings.LANGUAGES):
        raise Http404
    return language


@require_safe
def profile(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's public page: its score, charts and every published review, with the same
    star filter, sort and pages as the reviews widget, a product filter and a text search."""
    shop = public_shop(slug)
    language = _page_language(request)
    with translation.override(language):
        try:
            listing = Listing.from_query(request.GET, search=True)
            sku = one(request.GET, "sku") or ""
        except BadParameter as error:
            return render(request, "reviews/bad_parameter.html", {"shop": shop, "error": error}, status=400)
        now = timezone.now()
        today = now.date()
        product, page = listing.page_of(shop, sku, per_page=REVIEWS_PER_PAGE)
        summaries = summarise(shop=shop, product=product, today=today)
        # Other portals rate the shop, not a product: shown beside the shop's verified score only.
        found = [] if sku else sources.sources_of(shop)
        all_time = summaries.all_time
        months = monthly(shop=shop, product=product, today=today)
        base = {"lang": language} | ({"sku": sku} if sku else {})
        rating = Rating.of(all_time)
        return render(
            request,
            "reviews/profile.html",
            {
                "shop": shop,
                "product": product,
                "sku": sku,
                "rating": rating,
                "recent": Rating.of(summaries.last_12_months),
                "sources": [source.as_dict(language) for source in found],
                "combined": sources.combined_score(shop=shop, verified=summaries, sources=found, now=now),
                "bars": [
                    {
                        "stars": stars,
                        "count": count,
                        "percent": percent,
                        "href": listing.link(base, stars=(stars,), page=1),
                        "active": listing.stars == (stars,),
                    }
                    for stars, count, percent in all_time.shares()
                ],
                "months": [
                    {"label": date_format(month, "YEAR_MONTH_FORMAT"), "rating": Rating.of(summary)}
                    for month, summary in months
                ],
                "over_time": over_time_svg(months, [date_format(month, "M") for month, _summary in months]),
                "listing": listing,
                "page": page,
                "sorts": [
                    (name, label, listing.link(base, sort=name, page=1), listing.sort == name)
                    for name, label in (("newest", _("Newest")), ("highest", _("Highest")), ("lowest", _("Lowest")))
                ],
                "clear": listing.link(base, stars=(), q="", page=1),
                "prev": listing.link(base, page=page.number - 1) if page.has_previous() else "",
                "next": listing.link(base, page=page.number + 1) if page.has_next() else "",
                "json_ld": "" if sku else structured.organization(shop.name, shop.website, rating, page),
                "language": language,
                "languages": [(code, name, listing.link(base | {"lang": code})) for code, name in settings.LANGUAGES],
            },
        )


@require_safe
def review_page(request: HttpRequest, slug: str, review_id: int) -> HttpResponse:
    """`/s/<slug>/reviews/<id>`: one review on a page of its own, for links from widgets and feeds;
    a restricted or removed review's stub in its place (no structured data for it)."""
    shop = public_shop(slug)
    review = get_object_or_404(
        Review.objects.shown().select_related("reply").prefetch_related("product_reviews__product"),
        shop=shop,
        pk=review_id,
    )
    language = _page_language(request)
    with translation.override(language):
        return render(
            request,
            "reviews/review_page.html",
            {
                "shop": shop,
                "review": review,
                "language": language,
                "json_ld": structured.review(shop, review) if review.is_published else "",
            },
        )


@require_safe
def how_reviews_work(request: HttpRequest, slug: str) -> HttpResponse:
    """What the shop's invitations, publication and score are, from its live configuration
    (EU Omnibus Directive; §5b UWG: how reviews are collected and checked)."""
    shop = public_shop(slug)
    language = _page_language(request)
    with translation.override(language):
        now = timezone.now()
        today = now.date()
        summaries = summarise(shop=shop, today=today)
        found = sources.sources_of(shop)
        return render(
            request,
            "reviews/how_reviews_work.html",
            {
                "shop": shop,
                "invitations": describe_invitations(shop),
                "stops": [t.name for t in EventType.objects.filter(shop=shop, is_stop=True).order_by("name")],
                "recent": Rating.of(summaries.last_12_months),
                "all_time": Rating.of(summaries.all_time),
                "sources": [source.as_dict(language) for source in found],
                "combined": sources.combined_score(shop=shop, verified=summaries, sources=found, now=now),
                "formula": sources.formula() if shop.combined_score else [],
                "contact": settings.CONTACT_EMAIL,
                "figures": transparency.of_shop(shop=shop, today=today),
                "language": language,
            },
        )
