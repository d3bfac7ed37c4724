"""The customer's review form and the shop's public profile."""

import datetime as dt

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from reputable.invitations.messages import invitation_language
from reputable.invitations.models import Invitation
from reputable.invitations.views import invitation_of_link
from reputable.reviews.actions import EditWindowClosed, author_name, submit_review
from reputable.reviews.forms import ReviewForm
from reputable.reviews.models import Review
from reputable.reviews.summaries import summarise
from reputable.shops.access import public_shop

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
            },
            status=status,
        )


def profile(request: HttpRequest, slug: str) -> HttpResponse:
    shop = public_shop(slug)
    language = request.GET.get("lang") or translation.get_language()
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        summaries = summarise(shop=shop, today=timezone.now().date())
        reviews = (
            Review.objects.published()
            .filter(shop=shop)
            .order_by("-created_at", "-id")
            .prefetch_related("product_reviews__product")
        )
        page = Paginator(reviews, REVIEWS_PER_PAGE).get_page(request.GET.get("page"))
        bars = list(reversed(list(enumerate(summaries.all_time.histogram, start=1))))
        return render(
            request,
            "reviews/profile.html",
            {
                "shop": shop,
                "summaries": summaries,
                "rounded_mean": round(summaries.all_time.mean or 0),
                "bars": bars,
                "page": page,
                "language": language,
                "languages": settings.LANGUAGES,
            },
        )
