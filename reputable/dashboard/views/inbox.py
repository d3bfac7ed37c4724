"""The review inbox: the shop's reviews, filtered, newest first (`/dashboard/<slug>/reviews`);
one review with the shop's public reply and the private conversation (`reviews/<id>`); the
saved reply templates (`reviews/reply-templates`).

A merchant never edits, hides or deletes a review: no URL here does (removal is the dispute
procedure's). Replying writes the reply only (reputable.reviews.actions.reply_to_review).
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.views.messages import thread_context
from reputable.invitations.messages import language_for
from reputable.lib.emails import PlaceholderError, check_placeholders
from reputable.lib.text import unix_line_ends, validate_line, validate_paragraphs
from reputable.moderation.merchant import latest_dispute, may_dispute
from reputable.reviews.actions import clean_reply, reply_to_review
from reputable.reviews.inbox import InboxFilter, inbox_page
from reputable.reviews.listing import BadParameter, one
from reputable.reviews.models import ReplyTemplate, Review, StarBand
from reputable.shops.access import reply_template_of, review_of

SECTION = "dashboard-inbox"


# --- the list ------------------------------------------------------------------------------------


@require_safe
@shop_page(role=Role.VIEWER)
def inbox(request: ShopRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "section": SECTION,
        "languages": settings.LANGUAGES,
        "star_choices": (5, 4, 3, 2, 1),
    }
    try:
        filters = InboxFilter.from_query(request.GET)
        after, before = one(request.GET, "after") or "", one(request.GET, "before") or ""
        found = inbox_page(filters.reviews(request.shop), after=after, before=before)
    except BadParameter as error:
        context |= {"filters": InboxFilter(), "error": error}
        return page(request, "dashboard/inbox/list.html", context, status=400)
    base = filters.params()
    context |= {
        "filters": filters,
        "reviews": found.reviews,
        "older": "?" + urlencode([*base, ("after", found.older)]) if found.older else "",
        "newer": "?" + urlencode([*base, ("before", found.newer)]) if found.newer else "",
        "first": "?" + urlencode(base) if after or before else "",
    }
    return page(request, "dashboard/inbox/list.html", context)


# --- one review and its reply --------------------------------------------------------------------


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your public reply"),
        required=False,  # clean_reply says what is missing, in the same words as for the API
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": 5000}),
    )

    def clean_body(self) -> str:
        return clean_reply(self.cleaned_data["body"])


def _inserted(text: str, template: ReplyTemplate, review: Review) -> str:
    """The reply being written with a saved reply added at its end."""
    text = unix_line_ends(text).rstrip()
    return (text + "\n\n" if text else "") + template.text_for(review)


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.RESPONDER)
def review_page(request: ShopRequest, review_id: int) -> HttpResponse:
    """The review, and for responders the form of the shop's reply: publish it, change it, or
    insert one of the saved replies for the review's language and stars (nothing is stored)."""
    shop = request.shop
    review = review_of(shop, review_id)
    reply = review.reply_or_none()
    language = language_for(review.locale, shop)
    templates = list(ReplyTemplate.objects.filter(shop=shop).matching(language=language, stars=review.rating))
    status = 200
    if request.method == "POST" and "insert" in request.POST:
        chosen = next((t for t in templates if str(t.pk) == request.POST.get("template")), None)
        text = request.POST.get("body", "")
        form = ReplyForm(initial={"body": _inserted(text, chosen, review) if chosen else text})
    elif request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            reply_to_review(
                review=review, body=form.cleaned_data["body"], author=request.membership.user, now=timezone.now()
            )
            messages.success(request, _("Your reply is published.") if reply is None else _("Your reply is changed."))
            return redirect("dashboard-review", shop.slug, review.pk)
        status = 400
    else:
        form = ReplyForm(initial={"body": reply.body if reply else ""})
    dispute = latest_dispute(review)
    context = {
        "section": SECTION,
        "review": review,
        "reply": reply,
        "form": form,
        "templates": templates,
        "dispute": dispute,  # the dispute button's (dashboard/disputes/_review_action.html)
        "may_dispute": may_dispute(review, dispute),
    }
    return page(request, "dashboard/inbox/review.html", context | thread_context(request, review), status=status)


# --- saved reply templates -----------------------------------------------------------------------


class ReplyTemplateForm(forms.ModelForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, validators=[validate_line])
    locale = forms.ChoiceField(
        label=gettext_lazy("For reviews in"),
        choices=[("", gettext_lazy("Any language")), *settings.LANGUAGES],
        required=False,
    )
    band = forms.ChoiceField(
        label=gettext_lazy("For reviews with"),
        choices=[("", gettext_lazy("Any rating")), *StarBand.choices],
        required=False,
    )
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=5000,
        validators=[validate_paragraphs],
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    class Meta:
        model = ReplyTemplate
        fields = ["name", "locale", "band", "body"]

    def clean_body(self) -> str:
        body = unix_line_ends(self.cleaned_data["body"]).strip()
        try:
            check_placeholders(body, ReplyTemplate.PLACEHOLDERS)
        except PlaceholderError as error:
            raise forms.ValidationError(str(error)) from None
        return body


@require_safe
@shop_page(role=Role.VIEWER)
def reply_templates(request: ShopRequest) -> HttpResponse:
    return page(
        request,
        "dashboard/inbox/reply_templates.html",
        {"section": SECTION, "templates": ReplyTemplate.objects.filter(shop=request.shop)},
    )


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def new_reply_template(request: ShopRequest) -> HttpResponse:
    return _template_form(request, ReplyTemplate(shop=request.shop))


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def edit_reply_template(request: ShopRequest, template_id: int) -> HttpResponse:
    return _template_form(request, reply_template_of(request.shop, template_id))


def _template_form(request: ShopRequest, template: ReplyTemplate) -> HttpResponse:
    form = ReplyTemplateForm(request.POST if request.method == "POST" else None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The saved reply “%(name)s” is stored.") % {"name": template.name})
        return redirect("dashboard-reply-templates", request.shop.slug)
    context = {"section": SECTION, "form": form, "template": template}
    status = 400 if form.errors else 200
    return page(request, "dashboard/inbox/reply_template_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def delete_reply_template(request: ShopRequest, template_id: int) -> HttpResponse:
    template = reply_template_of(request.shop, template_id)
    if request.method == "POST":
        template.delete()
        messages.success(request, _("The saved reply “%(name)s” is deleted.") % {"name": template.name})
        return redirect("dashboard-reply-templates", request.shop.slug)
    return page(request, "dashboard/inbox/reply_template_delete.html", {"section": SECTION, "template": template})


urls = [
    path("reviews", inbox, name="dashboard-inbox"),
    path("reviews/<int:review_id>", review_page, name="dashboard-review"),
    path("reviews/reply-templates", reply_templates, name="dashboard-reply-templates"),
    path("reviews/reply-templates/new", new_reply_template, name="dashboard-reply-template-new"),
    path("reviews/reply-templates/<int:template_id>", edit_reply_template, name="dashboard-reply-template"),
    path(
        "reviews/reply-templates/<int:template_id>/delete",
        delete_reply_template,
        name="dashboard-reply-template-delete",
    ),
]
