"""The settings section of a shop's dashboard: its profile (`/settings`) and its API keys
(`/settings/api-keys`). Members of every role see them; managers and owners change them.

The profile form changes the shop through `reputable.shops.actions.update_shop`, the one
write path it shares with the API's `PATCH /api/v1/shop`; keys are issued and revoked by
`ApiKey.issue` and `ApiKey.revoke`, as the API does it.
"""

import hashlib
from typing import Any

import holidays
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.views.newshop import country_choices, timezone_choices
from reputable.lib.text import validate_line
from reputable.shops import logos
from reputable.shops.access import api_key_of, may
from reputable.shops.actions import update_shop
from reputable.shops.models import ApiKey, Shop
from reputable.widgets import brand

SECTION = "dashboard-settings"
# The form's fields that are settings of the shop as they are (the others say what to do with
# the logo and the colour).
SHOP_FIELDS = (
    "name",
    "website",
    "country",
    "subdivision",
    "timezone",
    "default_locale",
    "sender_name",
    "reply_to",
    "frequency_cap_days",
    "edit_window_days",
    "retention_months",
    "combined_score",
    "brand_colour",
)


class ShopSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Shop name"), max_length=200)
    website = forms.URLField(
        label=gettext_lazy("Website"),
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text=gettext_lazy("Your shop's own site; its product links must point there."),
    )
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        help_text=gettext_lazy(
            "PNG, JPEG, GIF or WebP, at most 2 MB. It is shown on your public profile, at most 512 × 512 pixels;"
            " only its pixels are kept."
        ),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)
    brand_colour = forms.CharField(
        label=gettext_lazy("Brand colour"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=gettext_lazy(
            "The accent of your widgets' links and seal. A colour too light (or, in the dark theme, too dark)"
            " to read as text is adjusted until it can be read."
        ),
    )
    default_colour = forms.BooleanField(label=gettext_lazy("Use Reputable's colour instead"), required=False)
    country = forms.ChoiceField(label=gettext_lazy("Country"), help_text=gettext_lazy("For public holidays."))
    subdivision = forms.CharField(
        label=gettext_lazy("Region"),
        required=False,
        max_length=10,
        help_text=gettext_lazy(
            "For regional public holidays (e.g. BY for Bavaria); empty for the country's holidays only."
        ),
    )
    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone"), help_text=gettext_lazy("Invitations are timed in it.")
    )
    default_locale = forms.ChoiceField(
        label=gettext_lazy("Default language"),
        choices=settings.LANGUAGES,
        help_text=gettext_lazy("Of your widgets and profile, and of emails to customers whose language is unknown."),
    )
    sender_name = forms.CharField(
        label=gettext_lazy("Sender name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("The name invitation emails come from; empty for the shop's name."),
    )
    reply_to = forms.EmailField(
        label=gettext_lazy("Reply-to address"),
        required=False,
        help_text=gettext_lazy("Where customers' answers to invitation emails go."),
    )
    frequency_cap_days = forms.IntegerField(
        label=gettext_lazy("Frequency cap (days)"),
        min_value=0,
        max_value=3650,
        help_text=gettext_lazy("An address is not invited again within this many days."),
    )
    edit_window_days = forms.IntegerField(
        label=gettext_lazy("Edit window (days)"),
        min_value=0,
        max_value=365,
        help_text=gettext_lazy("How long a customer may still edit their review through its link."),
    )
    retention_months = forms.IntegerField(
        label=gettext_lazy("Retention (months)"),
        min_value=1,
        max_value=120,
        help_text=gettext_lazy(
            "Customers' email addresses and names are erased from orders and invitations this many months after"
            " the order was recorded; their reviews stay."
        ),
    )
    combined_score = forms.BooleanField(
        label=gettext_lazy("Show a combined score"),
        required=False,
        help_text=gettext_lazy(
            "Besides the verified score, also show one score of verified and imported reviews together,"
            " labelled as such; its formula is published on your page “How reviews work”."
        ),
    )

    def __init__(self, data: Any = None, files: Any = None, *, shop: Shop, read_only: bool = False) -> None:
        initial = {field: getattr(shop, field) for field in SHOP_FIELDS}
        # A colour input always sends a colour: it shows the one in use, and a shop without one
        # of its own keeps none until another is chosen (see `changes`).
        initial["brand_colour"] = shop.brand_colour or brand.DEFAULT
        super().__init__(data, files, initial=initial)
        self.fields["country"].choices = country_choices()  # type: ignore[attr-defined]
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        self.fields["subdivision"].widget.attrs["list"] = "subdivisions"
        for field in self.fields.values():
            field.disabled = read_only

    def changes(self) -> dict[str, Any]:
        """What the merchant changed, as `update_shop` takes it."""
        data = self.cleaned_data
        changes = {field: data[field] for field in SHOP_FIELDS if field in self.changed_data}
        if data["default_colour"]:
            changes["brand_colour"] = ""
        if data["logo"] is not None:
            # One byte more than a logo may have is enough to refuse it: a huge file is not read.
            changes["logo"] = data["logo"].read(logos.MAX_BYTES + 1)
        elif data["remove_logo"]:
            changes["logo"] = None
        return changes


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def shop_settings(request: ShopRequest) -> HttpResponse:
    """GET: the shop's profile and sending settings; POST: change them (all or nothing)."""
    shop = request.shop
    if request.method == "POST":
        form = ShopSettingsForm(request.POST, request.FILES, shop=shop)
        if form.is_valid():
            try:
                update_shop(shop=shop, changes=form.changes())
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, _("The settings are saved."))
                return redirect(SECTION, shop.slug)
    else:
        form = ShopSettingsForm(shop=shop, read_only=not may(request.membership, Role.MANAGER))
    context = {
        "section": SECTION,
        "form": form,
        "subdivisions": holidays.list_supported_countries().get(shop.country, []),
        # A new logo gets a new address, so that the browser does not show the old one it kept.
        "logo_version": hashlib.sha256(shop.logo_png).hexdigest()[:12] if shop.logo_png else "",
    }
    return page(request, "dashboard/settings/profile.html", context, status=400 if form.errors else 200)


# --- API keys -----------------------------------------------------------------------------------


class NewApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        validators=[validate_line],
        help_text=gettext_lazy("Where the key is used, e.g. the shop system; to tell keys apart."),
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("May"),
        choices=[
            (ApiKey.Scope.READ.value, gettext_lazy("read (GET requests)")),
            (ApiKey.Scope.WRITE.value, gettext_lazy("write (report events, change settings and everything else)")),
        ],
        initial=[ApiKey.Scope.READ.value, ApiKey.Scope.WRITE.value],
        widget=forms.CheckboxSelectMultiple,
    )


def _keys_page(request: ShopRequest, form: NewApiKeyForm, *, status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.filter(shop=request.shop).order_by("-created_at", "-pk")
    return page(
        request, "dashboard/settings/api_keys.html", {"section": SECTION, "keys": keys, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def api_keys(request: ShopRequest) -> HttpResponse:
    """GET: the shop's keys by their prefixes; POST: a new key, shown on the answer only."""
    if request.method != "POST":
        return _keys_page(request, NewApiKeyForm())
    form = NewApiKeyForm(request.POST)
    if not form.is_valid():
        return _keys_page(request, form, status=400)
    key, raw = ApiKey.issue(shop=request.shop, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"])
    # Not a redirect: the key is in this answer and nowhere else, and no cache may keep it.
    response = page(request, "dashboard/settings/api_key_created.html", {"section": SECTION, "key": key, "raw": raw})
    add_never_cache_headers(response)
    return response


@require_POST
@shop_page(role=Role.MANAGER)
def revoke_api_key(request: ShopRequest, api_key_id: int) -> HttpResponse:
    key = api_key_of(request.shop, api_key_id)
    key.revoke()
    messages.success(request, _("The key %(prefix)s… is revoked: it no longer works.") % {"prefix": key.prefix})
    return redirect("dashboard-api-keys", request.shop.slug)


urls = [
    path("settings", shop_settings, name=SECTION),
    path("settings/api-keys", api_keys, name="dashboard-api-keys"),
    path("settings/api-keys/<int:api_key_id>/revoke", revoke_api_key, name="dashboard-api-key-revoke"),
]
