"""The emails section of a shop's dashboard: the wording of invitations and reminders.

Per kind of message and language the shop uses its own subject and body or the default
(reputable.invitations.messages.default_wording); text with placeholders only. The preview is
the message a customer would get, built by the dispatcher's own code from sample values
(reputable.invitations.describe.sample_message): while the wording is edited, the form posts
to the preview on every change (htmx). Its HTML part is shown in a sandboxed frame, served by
`preview_html` with a policy that allows exactly the style attributes of the email's own
template. Writes go through reputable.invitations.actions, the API's path too; a test send
goes through the outbox.
"""

import base64
import hashlib
import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.invitations.actions import Refused, check_wording, reset_template, send_test_message, set_template
from reputable.invitations.describe import SAMPLE_FIRST_NAME, SAMPLE_ORDER_REFERENCE, sample_message
from reputable.invitations.messages import default_wording
from reputable.invitations.models import MessageKind, MessageTemplate
from reputable.lib.emails import PLACEHOLDERS, Email
from reputable.lib.text import unix_line_ends, validate_line, validate_paragraphs
from reputable.shops.access import may, own_template_of

SECTION = "dashboard-templates"
KINDS = {MessageKind.INVITATION.value: gettext_lazy("Invitation"), MessageKind.REMINDER.value: gettext_lazy("Reminder")}
PLACEHOLDER_MEANINGS = {
    "first_name": gettext_lazy("the customer's first name (empty if your shop system does not report it)"),
    "shop_name": gettext_lazy("your shop's name"),
    "order_reference": gettext_lazy("the order's reference"),
    "review_url": gettext_lazy("the link to the review form"),
    "unsubscribe_url": gettext_lazy("the link to object to review requests"),
}
assert set(PLACEHOLDER_MEANINGS) == set(PLACEHOLDERS), "every placeholder is explained"
# How long an edited wording waits in the cache for its frame to show it (see `preview_html`).
DRAFT_SECONDS = 3600


class ParagraphsField(forms.CharField):
    """Multi-line text with LF line ends (browsers send CRLF), checked after the conversion."""

    def to_python(self, value: Any) -> str:
        return unix_line_ends(super().to_python(value))


class WordingForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200, validators=[validate_line])
    body = ParagraphsField(
        label=gettext_lazy("Text"),
        max_length=5000,
        validators=[validate_paragraphs],
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy(
            "Plain text; a blank line starts a paragraph and links are made clickable. The notice that the"
            " customer may object, with its link, always follows it."
        ),
    )

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.disabled = read_only

    def refuse(self, error: Refused) -> None:
        for field, message in error.fields.items():
            self.add_error(field if field in self.fields else None, message)


def _checked(kind: str, locale: str) -> None:
    """A kind of message and a language Reputable has, else 404."""
    if kind not in KINDS or locale not in dict(settings.LANGUAGES):
        raise Http404


def _current(request: ShopRequest, kind: str, locale: str) -> tuple[str, str, bool]:
    """The subject and body of `kind` in `locale` the shop uses now, and whether they are its own."""
    own = own_template_of(request.shop, kind, locale)
    if own is not None:
        return own.subject, own.body, True
    with override(locale):
        subject, body = default_wording(kind, has_first_name=True)
    return subject, body, False


# --- the list --------------------------------------------------------------------------------


@require_safe
@shop_page(role=Role.VIEWER)
def templates(request: ShopRequest) -> HttpResponse:
    """Each kind of message in each language: the shop's own wording or the default."""
    own = {(t.kind, t.locale): t.subject for t in MessageTemplate.objects.filter(shop=request.shop)}
    rows: list[dict[str, Any]] = []
    for kind, kind_label in KINDS.items():
        for locale, language in settings.LANGUAGES:
            if (kind, locale) in own:
                subject = own[kind, locale]
            else:
                with override(locale):
                    subject, _body = default_wording(kind, has_first_name=True)
            rows.append({"kind": kind, "kind_label": kind_label, "locale": locale, "language": language})
            rows[-1] |= {"subject": subject, "own": (kind, locale) in own}
    return page(request, "dashboard/emails/index.html", {"section": SECTION, "rows": rows})


# --- one wording -------------------------------------------------------------------------------


def _sample(request: ShopRequest, kind: str, locale: str, subject: str, body: str) -> Email:
    to = request.membership.user.email
    return sample_message(shop=request.shop, kind=kind, locale=locale, subject=subject, body=body, to=to)


def _draft_key(request: ShopRequest, digest: str) -> str:
    return f"dashboard:email-draft:{request.shop.pk}:{digest}"


def _preview(request: ShopRequest, kind: str, locale: str, form: WordingForm) -> dict[str, Any]:
    """The sample message of the form's wording (its initial one, unbound), or the form, whose
    errors say what is wrong.

    The wording waits in the cache under its digest for the frame that shows the HTML part.
    """
    if not form.is_bound:
        subject, body = form.initial["subject"], form.initial["body"]
    elif not form.is_valid():
        return {"form": form}
    else:
        subject, body = form.cleaned_data["subject"], form.cleaned_data["body"]
        try:
            check_wording(kind=kind, locale=locale, subject=subject, body=body)
        except Refused as error:
            form.refuse(error)
            return {"form": form}
    digest = hashlib.sha256(f"{kind}\0{locale}\0{subject}\0{body}".encode()).hexdigest()
    cache.set(_draft_key(request, digest), (subject, body), DRAFT_SECONDS)
    frame = reverse("dashboard-template-html", args=[request.shop.slug, kind, locale]) + f"?draft={digest}"
    return {"message": _sample(request, kind, locale, subject, body), "frame": frame}


def _wording_page(request: ShopRequest, kind: str, locale: str, form: WordingForm, *, own: bool) -> HttpResponse:
    """The form with the preview of its wording; 400 with the errors of a bound form."""
    context = {
        "section": SECTION,
        "form": form,
        "kind": kind,
        "kind_label": KINDS[kind],
        "locale": locale,
        "language": dict(settings.LANGUAGES)[locale],
        "own": own,
        "placeholders": [("{" + name + "}", meaning) for name, meaning in PLACEHOLDER_MEANINGS.items()],
        "sample": {"first_name": SAMPLE_FIRST_NAME, "order_reference": SAMPLE_ORDER_REFERENCE},
        "preview": _preview(request, kind, locale, form),
    }
    return page(request, "dashboard/emails/form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def template(request: ShopRequest, kind: str, locale: str) -> HttpResponse:
    """GET: the wording in use with its preview; POST: the shop's own wording."""
    _checked(kind, locale)
    subject, body, own = _current(request, kind, locale)
    if request.method != "POST":
        read_only = not may(request.membership, Role.MANAGER)
        form = WordingForm(initial={"subject": subject, "body": body}, read_only=read_only)
        return _wording_page(request, kind, locale, form, own=own)
    form = WordingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            set_template(shop=request.shop, kind=kind, locale=locale, subject=data["subject"], body=data["body"])
        except Refused as error:
            form.refuse(error)
        else:
            messages.success(request, _("The wording is saved: the next messages use it."))
            return redirect("dashboard-template", request.shop.slug, kind, locale)
    return _wording_page(request, kind, locale, form, own=own)


@require_POST
@shop_page(role=Role.MANAGER)
def preview(request: ShopRequest, kind: str, locale: str) -> HttpResponse:
    """The preview of the form's wording: for htmx the preview alone, else the whole page."""
    _checked(kind, locale)
    form = WordingForm(request.POST)
    if request.headers.get("HX-Request"):
        context = {"shop": request.shop, "preview": _preview(request, kind, locale, form)}
        return render(request, "dashboard/emails/_preview.html", context)
    own = own_template_of(request.shop, kind, locale) is not None
    return _wording_page(request, kind, locale, form, own=own)


# The style attributes of an email's HTML: the policy of the preview frame allows exactly these.
_STYLE = re.compile(r'\sstyle="([^"]*)"')


@require_safe
@xframe_options_sameorigin
@shop_page(role=Role.VIEWER)
def preview_html(request: ShopRequest, kind: str, locale: str) -> HttpResponse:
    """The HTML part of the preview, for the page's sandboxed frame: the edited wording the
    preview left in the cache (`?draft=`), else the wording in use."""
    _checked(kind, locale)
    draft = cache.get(_draft_key(request, request.GET.get("draft", "")))
    subject, body = draft if draft is not None else _current(request, kind, locale)[:2]
    html = _sample(request, kind, locale, subject, body).html
    response = HttpResponse(html)
    # Customer and shop text in it is escaped, so every style attribute is the template's own.
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in _STYLE.findall(html)
    }
    response._csp_config = {  # type: ignore[attr-defined]
        "default-src": [CSP.NONE],
        "style-src": [CSP.UNSAFE_HASHES, *sorted(hashes)],
        "img-src": ["data:"],
        "base-uri": [CSP.NONE],
        "form-action": [CSP.NONE],
        "frame-ancestors": [CSP.SELF],
        "sandbox": True,
    }
    return response


@require_POST
@shop_page(role=Role.MANAGER)
def test_send(request: ShopRequest, kind: str, locale: str) -> HttpResponse:
    """Send the logged-in member the preview of the form's wording (saved or not)."""
    _checked(kind, locale)
    form = WordingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            send_test_message(
                shop=request.shop,
                kind=kind,
                locale=locale,
                subject=data["subject"],
                body=data["body"],
                to=request.membership.user.email,
            )
        except Refused as error:
            form.refuse(error)
        else:
            to = request.membership.user.email
            messages.success(request, _("A test message is on its way to %(email)s.") % {"email": to})
            return redirect("dashboard-template", request.shop.slug, kind, locale)
    own = own_template_of(request.shop, kind, locale) is not None
    return _wording_page(request, kind, locale, form, own=own)


@require_POST
@shop_page(role=Role.MANAGER)
def reset(request: ShopRequest, kind: str, locale: str) -> HttpResponse:
    """Back to the default wording."""
    _checked(kind, locale)
    own = own_template_of(request.shop, kind, locale)
    if own is not None:
        reset_template(template=own)
    messages.success(request, _("The default wording is in use again."))
    return redirect("dashboard-template", request.shop.slug, kind, locale)


urls = [
    path("emails", templates, name=SECTION),
    path("emails/<str:kind>/<str:locale>", template, name="dashboard-template"),
    path("emails/<str:kind>/<str:locale>/preview", preview, name="dashboard-template-preview"),
    path("emails/<str:kind>/<str:locale>/preview.html", preview_html, name="dashboard-template-html"),
    path("emails/<str:kind>/<str:locale>/test", test_send, name="dashboard-template-test"),
    path("emails/<str:kind>/<str:locale>/reset", reset, name="dashboard-template-reset"),
]
