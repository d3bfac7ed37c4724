"""A member's own notifications (`/dashboard/<slug>/notifications`: everyone on the team, a
viewer too, chooses their own), and the unsubscribe pages their emails link to."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.notifications import KINDS, save_preferences, team_language, unsubscribe
from reputable.lib import ratelimit
from reputable.lib.http import too_many_attempts_page
from reputable.reviews.models import StarBand
from reputable.shops.access import membership_for_notification_token

ANY, CHOSEN = "any", "chosen"


class PreferencesForm(forms.Form):
    bands = forms.MultipleChoiceField(
        label=_("Email me about each new review with"),
        choices=StarBand.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: no emails about new reviews."),
    )
    language_choice = forms.ChoiceField(
        label=_("Written in"),
        choices=[(ANY, _("any language")), (CHOSEN, _("only the languages below"))],
        widget=forms.RadioSelect,
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=settings.LANGUAGES, required=False, widget=forms.CheckboxSelectMultiple
    )
    weekly_digest = forms.BooleanField(
        label=_("Send me the weekly digest"),
        required=False,
        help_text=_(
            "On Mondays at 08:00 in the shop's time zone: the average rating, new and unanswered reviews,"
            " and the invitations of the week before."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("language_choice") == CHOSEN and not data.get("languages"):
            self.add_error("languages", _("Tick at least one language, or choose any language."))
        return data


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER)
def preferences(request: ShopRequest) -> HttpResponse:
    member = request.membership
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            save_preferences(
                membership=member,
                bands=data["bands"],
                languages=data["languages"] if data["language_choice"] == CHOSEN else [],
                weekly_digest=data["weekly_digest"],
            )
            messages.success(request, _("Your notifications are saved."))
            return redirect("dashboard-notifications", request.shop.slug)
    else:
        languages = member.notify_languages.split()
        form = PreferencesForm(
            initial={
                "bands": member.notify_bands.split(),
                "language_choice": CHOSEN if languages else ANY,
                "languages": languages,
                "weekly_digest": member.weekly_digest,
            }
        )
    return page(
        request,
        "dashboard/notifications/preferences.html",
        {"form": form, "section": "dashboard-notifications"},
        status=400 if form.is_bound else 200,
    )


# The link's token is the credential (192 random bits, known only to the member), and mail
# providers send the one-click POST (RFC 8058) without cookies, so a CSRF token cannot be
# asked for; as the customers' unsubscribe link (reputable.invitations.views.unsubscribe).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    """GET (and HEAD) says what stops and shows a button, changing nothing; POST stops it."""
    member = membership_for_notification_token(token)
    if member is None:
        if retry_after := ratelimit.failed("link-token", request):
            return too_many_attempts_page(request, retry_after)
        raise Http404
    if kind not in KINDS:
        raise Http404
    done = request.method == "POST"
    if done:
        unsubscribe(membership=member, kind=kind)
    with translation.override(team_language(member.shop)):
        return render(
            request,
            "dashboard/notifications/unsubscribe.html",
            {"shop": member.shop, "kind": kind, "done": done},
        )


shop_urls = [path("notifications", preferences, name="dashboard-notifications")]
public_urls = [
    path("notifications/unsubscribe/<str:token>/<str:kind>", unsubscribe_page, name="notifications-unsubscribe")
]
