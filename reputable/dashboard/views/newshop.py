"""`/dashboard/new`: a signed-up user opens a shop of their own and becomes its owner."""

import zoneinfo

import holidays
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from holidays import registry

from reputable.lib.text import validate_line
from reputable.shops.actions import create_shop


def country_choices() -> list[tuple[str, str]]:
    """Every country with a holiday calendar, by its English name (from `holidays`' registry)."""
    supported = holidays.list_supported_countries()
    names = {code: module.replace("_", " ").title() for module, (_cls, code, *_rest) in registry.COUNTRIES.items()}
    return sorted(((code, f"{names.get(code, code)} ({code})") for code in supported), key=lambda c: c[1])


def timezone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


class NewShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=200, validators=[validate_line])
    website = forms.URLField(label=_("Website"), required=False, max_length=200, assume_scheme="https")
    country = forms.ChoiceField(label=_("Country (for public holidays)"), initial="DE")
    timezone = forms.ChoiceField(label=_("Time zone"), initial="Europe/Berlin")
    locale = forms.ChoiceField(label=_("Default language"), choices=settings.LANGUAGES, initial="en")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["country"].choices = country_choices()  # type: ignore[attr-defined]
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
@login_required
def new_shop(request: HttpRequest) -> HttpResponse:
    if not (settings.ALLOW_SHOP_CREATION or request.user.is_staff):
        raise PermissionDenied("on this installation, shops are created by its operator")
    form = NewShopForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            shop, raw_key = create_shop(**form.cleaned_data, owner=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            # The first API key is shown on this answer only.
            context = {
                "shop": None,
                "new": shop,
                "key": raw_key,
                "next": reverse("dashboard-overview", args=[shop.slug]),
            }
            return render(request, "dashboard/new_shop_done.html", context)
    return render(request, "dashboard/new_shop.html", {"form": form}, status=400 if form.errors else 200)


urls = [path("new", new_shop, name="dashboard-new-shop")]
