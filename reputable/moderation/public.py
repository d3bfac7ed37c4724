"""Moderation's public pages: the notice form under every review, its confirmation link, and
the platform's transparency figures (a shop's are on its "how reviews work" page)."""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from reputable.lib import ratelimit
from reputable.lib.http import too_many_attempts_page
from reputable.lib.tokens import hash_secret
from reputable.moderation import transparency
from reputable.moderation.actions import Invalid, NotAllowed
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Notice
from reputable.moderation.notices import MIN_EXPLANATION, confirm_notice, is_expired, notice_for_token, submit_notice
from reputable.reviews.models import Review
from reputable.reviews.views import _page_language as page_language
from reputable.shops.access import public_shop

NOTICE_WINDOW_SECONDS = 3600


class NoticeForm(forms.Form):
    """Parsing only; `submit_notice` holds the rules."""

    reason = forms.ChoiceField(
        label=_("What is wrong with this review?"), choices=Ground.choices, widget=forms.RadioSelect
    )
    explanation = forms.CharField(
        label=_("Please explain"),
        help_text=_("Why the review is unlawful or against the guidelines, and where it says so."),
        min_length=MIN_EXPLANATION,  # also checked by submit_notice; here to name every field at once
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_(
            "We send you a link to confirm it, and later the decision."
            " The shop and the reviewer never see your name or address."
        ),
    )
    good_faith = forms.BooleanField(
        label=_("I declare in good faith that the information in this notice is accurate and complete.")
    )


@require_http_methods(["GET", "POST"])
def notice_form(request: HttpRequest, slug: str, review_id: int) -> HttpResponse:
    """`/s/<slug>/reviews/<id>/report`: anyone's notice about a published review (DSA Art. 16)."""
    shop = public_shop(slug)
    review = get_object_or_404(Review.objects.published(), shop=shop, pk=review_id)
    language = page_language(request)
    with translation.override(language):
        context = {"shop": shop, "review": review, "language": language}
        if request.method == "GET":
            sent = request.GET.get("sent") == "1"
            return render(request, "moderation/notice_form.html", context | {"form": NoticeForm(), "sent": sent})
        form = NoticeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            for who in (ratelimit.client_address(request), hash_secret(data["email"].lower())):
                if retry_after := ratelimit.used(
                    "notice", who, limit=settings.NOTICES_PER_HOUR, seconds=NOTICE_WINDOW_SECONDS
                ):
                    response = render(request, "moderation/notice_too_many.html", context, status=429)
                    response["Retry-After"] = str(retry_after)
                    return response
            try:
                submit_notice(review=review, language=language, now=timezone.now(), **data)
            except Invalid as error:
                form.add_error(error.field, str(error))
            except NotAllowed as error:
                form.add_error(None, str(error))
            else:
                return redirect(f"{request.path}?lang={language}&sent=1")
        return render(request, "moderation/notice_form.html", context | {"form": form}, status=400)


@require_http_methods(["GET", "POST"])
def notice_link(request: HttpRequest, token: str) -> HttpResponse:
    """`/notices/<token>`: the link in the notifier's email. GET shows the notice and a button
    (mail scanners open links); the POST confirms the address."""
    notice = notice_for_token(token)
    if notice is None:
        if retry_after := ratelimit.failed("link-token", request):
            return too_many_attempts_page(request, retry_after)
        return render(request, "moderation/notice_link.html", {"unknown": True}, status=404)
    now = timezone.now()
    with translation.override(notice.language or settings.LANGUAGE_CODE):
        expired = is_expired(notice, now)
        if request.method == "POST" and not expired:
            confirm_notice(notice=notice, now=now)
            return redirect(request.path)
        context = {"notice": notice, "shop": notice.review.shop, "expired": expired, "Status": Notice.Status}
        return render(request, "moderation/notice_link.html", context, status=410 if expired else 200)


@require_safe
def transparency_page(request: HttpRequest) -> HttpResponse:
    """`/transparency`: the platform's figures, all shops together (DSA Art. 15, 24)."""
    language = page_language(request)
    with translation.override(language):
        return render(
            request,
            "moderation/transparency.html",
            {"figures": transparency.of_platform(today=timezone.now().date()), "language": language},
        )
