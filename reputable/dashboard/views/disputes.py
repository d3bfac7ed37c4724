"""The shop's side of the dispute procedure: open a dispute on a review
(`/dashboard/<slug>/reviews/<id>/dispute`), the list of the shop's disputes (`disputes`) and one
dispute (`disputes/<id>`) with the history the shop may see, its rebuttal and its appeal.

Each form calls one action of `reputable.moderation.actions`, which validates: its refusal is
shown next to the field it names (400), or above the form when the step is not possible now
(409). Reading is for every member; opening, rebutting and appealing for managers and owners.
"""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.moderation import actions
from reputable.moderation.grounds import Ground
from reputable.moderation.merchant import disputes_page, latest_dispute, may_dispute, shop_view
from reputable.moderation.models import Dispute, Party
from reputable.reviews.listing import BadParameter
from reputable.shops.access import dispute_of, review_of

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

SECTION = "dashboard-disputes"
PAGE_SIZE = 50


def _text_area(label: "_StrPromise", help_text: "_StrPromise") -> forms.CharField:
    # Not required here: the action says what is missing, in the same words as for the API.
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": 5000}),
    )


class DisputeForm(forms.Form):
    # A select, checked by the action alone (a ChoiceField would say it twice).
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Select(choices=[("", gettext_lazy("Choose a reason")), *Ground.choices]),
    )
    passage = _text_area(
        gettext_lazy("The passage concerned (optional)"),
        gettext_lazy("Copy it exactly as the review says it. The reviewer and the moderators read it."),
    )
    explanation = _text_area(
        gettext_lazy("Your explanation"),
        gettext_lazy(
            "Why the review should not stand, in at least 20 characters. The reviewer reads it; do not"
            " write your own contact details or the customer's."
        ),
    )
    good_faith = forms.BooleanField(
        label=gettext_lazy("I declare that I raise this dispute in good faith and that what I say is true."),
        required=False,
    )


class RebuttalForm(forms.Form):
    text = _text_area(
        gettext_lazy("Your answer to the reviewer's statement"),
        gettext_lazy("Once only. Then a moderator decides."),
    )


class AppealForm(forms.Form):
    text = _text_area(
        gettext_lazy("Why the decision is wrong"),
        gettext_lazy("In at least 20 characters. A moderator who did not take the decision decides the appeal."),
    )


def _refused(form: forms.Form, error: actions.NotAllowed) -> int:
    """The action's refusal on the form: next to its field (400) or above the form (409)."""
    if isinstance(error, actions.Invalid) and error.field in form.fields:
        form.add_error(error.field, str(error))
        return 400
    form.add_error(None, str(error))
    return 409


# --- opening a dispute ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def new_dispute(request: ShopRequest, review_id: int) -> HttpResponse:
    shop = request.shop
    review = review_of(shop, review_id)
    latest = latest_dispute(review)
    form = DisputeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        form.is_valid()  # parses only: the action validates
        data = form.cleaned_data
        try:
            dispute = actions.open_dispute(
                review=review,
                user=request.membership.user,
                reason=data.get("reason", ""),
                passage=data.get("passage", ""),
                explanation=data.get("explanation", ""),
                good_faith=bool(data.get("good_faith")),
                now=timezone.now(),
            )
        except actions.NotAllowed as error:
            status = _refused(form, error)
        else:
            messages.success(request, _("Your dispute is received. A moderator checks it within 2 working days."))
            return redirect("dashboard-dispute", shop.slug, dispute.pk)
    context = {
        "section": SECTION,
        "review": review,
        "latest": latest,
        "may_dispute": may_dispute(review, latest),
        "form": form,
    }
    return page(request, "dashboard/disputes/new.html", context, status=status)


# --- the shop's disputes ----------------------------------------------------------------------


@require_safe
@shop_page(role=Role.VIEWER)
def dispute_list(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    open_count = Dispute.objects.filter(shop=shop, stage__in=Dispute.OPEN_STAGES).count()
    context: dict[str, Any] = {
        "section": SECTION,
        "open_count": open_count,
        "allowed": actions.open_disputes_allowed(shop, timezone.now().date()),
    }
    try:
        disputes, cursor = disputes_page(shop, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except BadParameter as error:
        return page(request, "dashboard/disputes/list.html", context | {"error": error}, status=400)
    context |= {
        "disputes": disputes,
        "older": f"?cursor={cursor}" if cursor else None,
        "newest": "?" if request.GET.get("cursor") else None,
    }
    return page(request, "dashboard/disputes/list.html", context)


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def dispute_page(request: ShopRequest, dispute_id: int) -> HttpResponse:
    """The dispute as the shop may see it; for managers, the rebuttal or the appeal (the POST's
    `step` says which)."""
    shop = request.shop
    dispute = dispute_of(shop, dispute_id)
    posted = request.POST if request.method == "POST" else None
    step = request.POST.get("step")
    rebuttal = RebuttalForm(posted if step == "rebuttal" else None, auto_id="rebuttal_%s")
    appeal = AppealForm(None if step == "rebuttal" else posted, auto_id="appeal_%s")
    status = 200
    if posted is not None:
        form: forms.Form = rebuttal if step == "rebuttal" else appeal
        form.is_valid()  # parses only: the action validates
        text = form.cleaned_data.get("text", "")
        now = timezone.now()
        try:
            if step == "rebuttal":
                actions.rebut(dispute=dispute, user=request.membership.user, text=text, now=now)
                done = _("Your answer is sent. A moderator decides within 7 days.")
            else:
                actions.appeal(dispute=dispute, party=Party.SHOP, user=request.membership.user, text=text, now=now)
                done = _("Your appeal is sent. A moderator who did not take the decision decides within 7 days.")
        except actions.NotAllowed as error:
            status = _refused(form, error)
        else:
            messages.success(request, done)
            return redirect("dashboard-dispute", shop.slug, dispute.pk)
    context = {
        "section": SECTION,
        "view": shop_view(dispute, now=timezone.now()),
        "dispute": dispute,
        "review": dispute.review,
        "rebuttal": rebuttal,
        "appeal": appeal,
    }
    return page(request, "dashboard/disputes/dispute.html", context, status=status)


urls = [
    path("reviews/<int:review_id>/dispute", new_dispute, name="dashboard-dispute-new"),
    path("disputes", dispute_list, name=SECTION),
    path("disputes/<int:dispute_id>", dispute_page, name="dashboard-dispute"),
]
