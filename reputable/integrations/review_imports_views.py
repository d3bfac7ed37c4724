"""The dashboard page of other portals' reviews (`/dashboard/<slug>/review-imports`), for managers
and owners: upload a portal's export file, see each source with its count, and say how a source
collected its reviews. The forms call the actions the API calls
(reputable.integrations.review_import_actions).
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.integrations.actions import Refused
from reputable.integrations.models import ImportedSource, ReviewPull, ReviewSource
from reputable.integrations.review_import_actions import (
    configure_pull,
    describe_source,
    import_file,
    remove_pull,
    shown,
)
from reputable.integrations.review_imports import MAX_BYTES, BadReviews
from reputable.shops.access import imported_source_of

SECTION = "dashboard-review-imports"
SHOWN_ERRORS = 20

# Google's product review feed's values (COLLECTION_METHODS), as the merchant reads them.
METHODS = {
    "unsolicited": gettext_lazy("Unsolicited: written without an invitation"),
    "post_fulfillment": gettext_lazy("After fulfilment: invited after the order"),
}


class UploadForm(forms.Form):
    source = forms.ChoiceField(label=gettext_lazy("Portal"), choices=ReviewSource.choices)
    source_name = forms.CharField(
        label=gettext_lazy("Portal's name"),
        required=False,
        max_length=80,
        help_text=gettext_lazy("For the generic format: the portal the rows without a source_name come from."),
    )
    file = forms.FileField(label=gettext_lazy("Exported file (CSV, JSON or XML)"))

    def clean_file(self) -> object:
        file = self.cleaned_data["file"]
        if file.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)})
        return file


class SourceForm(forms.Form):
    collection_method = forms.ChoiceField(
        label=gettext_lazy("How were these reviews collected?"),
        required=False,
        choices=[("", gettext_lazy("Not said (kept out of Google's product feed)")), *METHODS.items()],
    )
    url = forms.URLField(label=gettext_lazy("The shop's page on the portal"), required=False, max_length=500)


def _secret() -> forms.PasswordInput:
    # Never rendered back (render_value=False); the browser is asked not to fill it in.
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


class KiyohPullForm(forms.Form):
    location_id = forms.CharField(label=gettext_lazy("Location id"), max_length=64)
    api_token = forms.CharField(
        label=gettext_lazy("API token"),
        max_length=200,
        widget=_secret(),
        help_text=gettext_lazy("Enter it again at each save: it is stored, never shown."),
    )
    tenant_id = forms.ChoiceField(
        label=gettext_lazy("Portal"), choices=[("98", gettext_lazy("Kiyoh")), ("99", gettext_lazy("Klantenvertellen"))]
    )


class TrustpilotPullForm(forms.Form):
    business_unit_id = forms.CharField(label=gettext_lazy("Business unit id"), max_length=24)
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        max_length=200,
        widget=_secret(),
        help_text=gettext_lazy("Enter it again at each save: it is stored, never shown."),
    )


PULL_FORMS: dict[str, type[KiyohPullForm] | type[TrustpilotPullForm]] = {
    ReviewSource.KIYOH: KiyohPullForm,
    ReviewSource.TRUSTPILOT: TrustpilotPullForm,
}


def _pulls(request: ShopRequest, bound: forms.Form | None) -> list[tuple[str, str, ReviewPull | None, forms.Form]]:
    """Each pullable source: (source, its name, its pull or None, its form: `bound` for the one
    just posted, else the pull's settings without the credentials)."""
    pulls = {p.source: p for p in ReviewPull.objects.filter(shop=request.shop)}
    rows = []
    for source, form_class in PULL_FORMS.items():
        pull = pulls.get(source)
        form = bound if bound is not None and bound.prefix == source else None
        if form is None:
            form = form_class(initial=shown(pull) if pull else None, prefix=source)
        rows.append((source, str(ReviewSource(source).label), pull, form))
    return rows


def _page(
    request: ShopRequest, form: UploadForm, errors: list[str], status: int = 200, pull_form: forms.Form | None = None
) -> HttpResponse:
    sources = ImportedSource.objects.filter(shop=request.shop)
    rows = [
        (s, SourceForm(initial={"collection_method": s.collection_method, "url": s.url}, prefix=f"s{s.pk}"))
        for s in sources
    ]
    context = {
        "section": SECTION,
        "form": form,
        "errors": errors,
        "sources": rows,
        "pulls": _pulls(request, pull_form),
    }
    return page(request, "integrations/review_imports/list.html", context, status=status)


@shop_page(role=Role.MANAGER)
def review_imports(request: ShopRequest) -> HttpResponse:
    """The upload form and the imported sources; a POST imports a file."""
    if request.method in ("GET", "HEAD"):
        return _page(request, UploadForm(), [])
    if request.method != "POST":
        return HttpResponse(status=405)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, [], status=400)
    data = form.cleaned_data
    try:
        imported = import_file(
            shop=request.shop, source=data["source"], data=data["file"].read(), source_name=data["source_name"]
        )
    except BadReviews as bad:
        errors = [f"{e.where}: {e.message}" for e in bad.errors[:SHOWN_ERRORS]]
        form.add_error(None, _("Nothing was imported: the file has errors."))
        return _page(request, form, errors, status=400)
    messages.success(
        request,
        _("%(created)d reviews imported; %(duplicates)d were imported before.")
        % {"created": imported.created, "duplicates": imported.duplicates},
    )
    return redirect(SECTION, request.shop.slug)


@require_POST
@shop_page(role=Role.MANAGER)
def describe(request: ShopRequest, source_id: int) -> HttpResponse:
    source = imported_source_of(request.shop, source_id)
    form = SourceForm(request.POST, prefix=f"s{source.pk}")
    if form.is_valid():
        method = form.cleaned_data["collection_method"]
        try:
            describe_source(source=source, collection_method=method, url=form.cleaned_data["url"])
        except Refused as error:
            messages.error(request, "; ".join(error.fields.values()))
        else:
            messages.success(request, _("The source is saved."))
    else:
        messages.error(request, "; ".join(str(m) for ms in form.errors.values() for m in ms))
    return redirect(SECTION, request.shop.slug)


@require_POST
@shop_page(role=Role.MANAGER)
def set_pull(request: ShopRequest) -> HttpResponse:
    """Set (or replace) a scheduled pull: the posted `source`'s form, checked by configure_pull;
    its refusals are shown by their fields and nothing is stored."""
    source = request.POST.get("source", "")
    if source not in PULL_FORMS:
        messages.error(request, _("This portal's reviews cannot be pulled."))
        return redirect(SECTION, request.shop.slug)
    form = PULL_FORMS[source](request.POST, prefix=source)
    if form.is_valid():
        try:
            configure_pull(shop=request.shop, source=source, values=dict(form.cleaned_data))
        except Refused as error:
            for field, message in error.fields.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("The pull is saved: the reviews are pulled shortly."))
            return redirect(SECTION, request.shop.slug)
    return _page(request, UploadForm(), [], status=400, pull_form=form)


@require_POST
@shop_page(role=Role.MANAGER)
def stop_pull(request: ShopRequest) -> HttpResponse:
    """Stop the posted `source`'s pull; its reviews pulled so far stay."""
    pull = ReviewPull.objects.filter(shop=request.shop, source=request.POST.get("source", "")).first()
    if pull is None:
        messages.error(request, _("This portal's reviews are not pulled."))
    else:
        remove_pull(pull=pull)
        messages.success(request, _("The pull is stopped; the reviews pulled so far stay."))
    return redirect(SECTION, request.shop.slug)


urls = [
    path("review-imports", review_imports, name=SECTION),
    path("review-imports/sources/<int:source_id>", describe, name="dashboard-review-source"),
    path("review-imports/pulls", set_pull, name="dashboard-review-pull"),
    path("review-imports/pulls/stop", stop_pull, name="dashboard-review-pull-stop"),
]
