"""The privacy page of a shop's dashboard (`/dashboard/<slug>/privacy`), for managers and owners:
a data subject's export and erasure requests by email address, the log of requests with their
deadlines, and where the retention run stands. Both forms call the action the API calls.
"""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.paging import BadCursor, Position, keyset_page
from reputable.privacy import actions
from reputable.privacy.models import PrivacyRequest, RetentionRun

SECTION = "dashboard-privacy"
PAGE_SIZE = 50


class ExportForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Customer's email address"), max_length=254)


class ErasureForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Customer's email address"), max_length=254)
    review = forms.ChoiceField(
        label=gettext_lazy("Their reviews"),
        choices=PrivacyRequest.ReviewChoice.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("As the customer asked: the reviews stay published without a name, or are removed."),
    )


def _page(
    request: ShopRequest, *, export: ExportForm | None = None, erasure: ErasureForm | None = None, status: int = 200
) -> HttpResponse:
    shop = request.shop
    requests = PrivacyRequest.objects.filter(shop=shop)
    try:
        position = Position.of(request.GET.get("cursor"))
    except BadCursor:
        position = None  # an altered link: the newest page
    found = keyset_page(requests, "id", position, PAGE_SIZE)
    by_id = PrivacyRequest.objects.select_related("requested_by", "api_key").in_bulk(found.keys)
    context = {
        "section": SECTION,
        "export": export or ExportForm(auto_id="export_%s"),
        "erasure": erasure or ErasureForm(auto_id="erasure_%s"),
        "log": [by_id[pk] for pk in found.keys],
        "older": found.link(request.GET, found.older) if found.older else None,
        "newer": found.link(request.GET, found.newer) if found.newer else None,
        "run": RetentionRun.objects.filter(shop=shop).first(),
    }
    return page(request, "privacy/dashboard.html", context, status=status)


@require_safe
@shop_page(role=Role.MANAGER)
def privacy(request: ShopRequest) -> HttpResponse:
    return _page(request)


def _field_errors(form: forms.Form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@require_POST
@shop_page(role=Role.MANAGER)
def export(request: ShopRequest) -> HttpResponse:
    """The export, as a JSON file to download (not a redirect: the file is the answer)."""
    form = ExportForm(request.POST, auto_id="export_%s")
    if form.is_valid():
        try:
            logged, document = actions.export_address(
                shop=request.shop,
                email=form.cleaned_data["email"],
                now=timezone.now(),
                requested_by=request.membership.user,
            )
        except ValidationError as error:
            _field_errors(form, error)
        else:
            response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
            name = f"{request.shop.slug}-privacy-export-{logged.pk}.json"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, export=form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def erasure(request: ShopRequest) -> HttpResponse:
    form = ErasureForm(request.POST, auto_id="erasure_%s")
    if form.is_valid():
        try:
            logged = actions.erase_address(
                shop=request.shop,
                email=form.cleaned_data["email"],
                review_choice=form.cleaned_data["review"],
                now=timezone.now(),
                requested_by=request.membership.user,
            )
        except ValidationError as error:
            _field_errors(form, error)
        else:
            messages.success(request, _("The personal data of %(email)s is erased.") % {"email": logged.email_hint})
            return redirect(SECTION, request.shop.slug)
    return _page(request, erasure=form, status=400)


urls = [
    path("privacy", privacy, name=SECTION),
    path("privacy/export", export, name="dashboard-privacy-export"),
    path("privacy/erasure", erasure, name="dashboard-privacy-erasure"),
]
