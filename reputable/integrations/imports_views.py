"""The CSV import pages of a shop's dashboard (`/dashboard/<slug>/imports`), for managers and
owners: upload a file (a dry run first, by default), watch its progress, see its bad rows,
change how it is read and check it again, then import it. The forms call the actions the API
calls (reputable.integrations.import_actions); the dispatcher does the work.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.integrations.actions import Refused
from reputable.integrations.import_actions import check_again, create_import, start_import
from reputable.integrations.imports import DATE_FORMATS, DELIMITERS, ENCODINGS, FIELDS, Options
from reputable.integrations.models import Import
from reputable.shops.access import import_of

SECTION = "dashboard-imports"
RECENT = 20
DETECT = [("", gettext_lazy("Detect"))]


class ReadingForm(forms.Form):
    """How the file is read; each left to detection by default."""

    encoding = forms.ChoiceField(label=gettext_lazy("Encoding"), required=False, choices=DETECT)
    delimiter = forms.ChoiceField(label=gettext_lazy("Delimiter"), required=False, choices=DETECT)
    date_format = forms.ChoiceField(label=gettext_lazy("Date format"), required=False, choices=DETECT)
    event_type = forms.ChoiceField(
        label=gettext_lazy("Event type"),
        help_text=gettext_lazy("Of the rows without a type column."),
    )

    def __init__(self, *args: object, event_types: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["encoding"].choices = DETECT + list(ENCODINGS.items())  # type: ignore[attr-defined]
        self.fields["delimiter"].choices = DETECT + [(d, _(name)) for d, name in DELIMITERS.items()]  # type: ignore[attr-defined]
        self.fields["date_format"].choices = DETECT + list(DATE_FORMATS.items())  # type: ignore[attr-defined]
        self.fields["event_type"].choices = event_types  # type: ignore[attr-defined]
        self.fields["event_type"].initial = "checkout"

    def options(self, mapping: dict[str, str] | None = None) -> Options:
        data = self.cleaned_data
        return Options(data["encoding"], data["delimiter"], data["date_format"], data["event_type"], mapping)


class UploadForm(ReadingForm):
    file = forms.FileField(label=gettext_lazy("CSV file"))
    dry_run = forms.BooleanField(
        label=gettext_lazy("Only check the file (a dry run): nothing is imported"), required=False, initial=True
    )
    field_order = ["file", "dry_run"]


class MappingForm(ReadingForm):
    """A finished dry run read again: its options and, for each field, the column that holds it."""

    def __init__(self, *args: Any, imp: Import, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        columns = [("", _("(none)")), *((c, c) for c in imp.columns)]
        for name, column in FIELDS.items():
            self.fields[f"field_{name}"] = forms.ChoiceField(label=_(column.label), required=False, choices=columns)

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data[f"field_{name}"] for name in FIELDS}


def _event_types(request: ShopRequest) -> list[tuple[str, str]]:
    return list(request.shop.event_types.filter(is_active=True).values_list("key", "name"))


def _refused(form: forms.Form, error: Refused) -> None:
    for field, message in error.fields.items():
        name = f"field_{field.removeprefix('mapping.')}" if field.startswith("mapping.") else field
        form.add_error(
            name if name in form.fields else None, f"{field}: {message}" if name not in form.fields else message
        )


@shop_page(role=Role.MANAGER)
def imports(request: ShopRequest) -> HttpResponse:
    """The upload form and the latest imports; a POST uploads."""
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, event_types=_event_types(request))
        if form.is_valid():
            try:
                imp = create_import(
                    shop=request.shop,
                    upload=form.cleaned_data["file"],
                    options=form.options(),
                    dry_run=form.cleaned_data["dry_run"],
                    user=request.membership.user,
                )
            except Refused as error:
                _refused(form, error)
            else:
                return redirect("dashboard-import", request.shop.slug, imp.pk)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form, status = UploadForm(event_types=_event_types(request)), 200
    else:
        return HttpResponse(status=405)
    context = {"section": SECTION, "form": form, "imports": Import.objects.filter(shop=request.shop)[:RECENT]}
    return page(request, "integrations/imports/list.html", context, status=status)


def _detail(request: ShopRequest, imp: Import, form: MappingForm | None = None, *, status: int = 200) -> HttpResponse:
    if request.headers.get("HX-Request"):  # the progress, polled while the import runs
        return page(request, "integrations/imports/_progress.html", {"imp": imp})
    if form is None and imp.dry_run and imp.is_over and imp.path:
        initial = {"encoding": imp.encoding, "delimiter": imp.delimiter, "date_format": imp.date_format}
        initial |= {"event_type": imp.event_type} | {f"field_{n}": h for n, h in imp.mapping.items()}
        form = MappingForm(initial=initial, imp=imp, event_types=_event_types(request))
    context = {"section": SECTION, "imp": imp, "form": form, "fields": FIELDS}
    return page(request, "integrations/imports/detail.html", context, status=status)


@require_safe
@shop_page(role=Role.MANAGER)
def detail(request: ShopRequest, import_id: int) -> HttpResponse:
    return _detail(request, import_of(request.shop, import_id))


@require_POST
@shop_page(role=Role.MANAGER)
def check(request: ShopRequest, import_id: int) -> HttpResponse:
    """Read a finished dry run's file again as the form says, and check it again."""
    imp = import_of(request.shop, import_id)
    form = MappingForm(request.POST, imp=imp, event_types=_event_types(request))
    if form.is_valid():
        try:
            check_again(imp=imp, options=form.options(form.mapping()))
        except Refused as error:
            _refused(form, error)
        else:
            messages.success(request, _("The file is checked again."))
            return redirect("dashboard-import", request.shop.slug, imp.pk)
    return _detail(request, imp, form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def start(request: ShopRequest, import_id: int) -> HttpResponse:
    imp = import_of(request.shop, import_id)
    try:
        start_import(imp=imp)
    except Refused as error:
        messages.error(request, "; ".join(error.fields.values()))
    else:
        messages.success(request, _("The import has started."))
    return redirect("dashboard-import", request.shop.slug, imp.pk)


urls = [
    path("imports", imports, name=SECTION),
    path("imports/<int:import_id>", detail, name="dashboard-import"),
    path("imports/<int:import_id>/check", check, name="dashboard-import-check"),
    path("imports/<int:import_id>/start", start, name="dashboard-import-start"),
]
