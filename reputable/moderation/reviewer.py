"""`/r/<token>/disputes/<dispute_id>`: the reviewer's side of a shop's dispute.

No account: the review link's token is the credential, as on the review form and the
conversation (an unknown one counts as a failed attempt). The reviewer reads the complaint
(never the shop's contact details or its team's names), the deadline, the history meant for
them and the decisions; in the hearing they answer with a statement and evidence for the
moderators, change the review, withdraw it or ask once for more time; after a decision they
may appeal. Each step is one action of `reputable.moderation.actions`.
"""

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from reputable.invitations.messages import language_for
from reputable.invitations.views import invitation_of_link
from reputable.moderation import actions
from reputable.moderation.models import Deadline, Dispute, Party
from reputable.shops.access import dispute_for_invitation

# The largest body this page takes: five evidence files of 5 MB and the form around them. (File
# data does not count against DATA_UPLOAD_MAX_MEMORY_SIZE; the proxy recipes allow this much on
# this URL only.)
MAX_BODY_BYTES = actions.MAX_EVIDENCE_FILES * actions.MAX_EVIDENCE_BYTES + 1024 * 1024

# What each step of the history is called on the reviewer's page (the shop's and the
# moderators' pages word it for their readers).
STEPS = {
    "opened": _("The shop disputed your review"),
    "admitted": _("A moderator admitted the dispute and asked for your answer"),
    "restricted": _("A moderator hid the review until the decision"),
    "reminded": _("We reminded you of the dispute"),
    "extended": _("You asked for more time"),
    "statement": _("You answered"),
    "evidence": _("You sent evidence for the moderators"),
    "review_edited": _("You changed your review"),
    "hearing_ended": _("The time for your answer ended"),
    "rebuttal": _("The shop answered your statement"),
    "rebuttal_time_ended": _("The time for the shop's answer ended"),
    "decided": _("The decision"),
    "appealed": _("The decision was appealed"),
    "withdrawn": _("You withdrew your review"),
    "moot": _("The review was removed for another reason; the dispute is closed"),
    "inadmissible": _("A moderator found that the dispute cannot be examined; it is closed"),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """The files of one `<input type=file multiple>`, as a list."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        return [super(EvidenceField, self).clean(item, initial) for item in data or []]


class AnswerForm(forms.Form):
    # What a statement and evidence must be is the action's rule (actions.answer).
    statement = forms.CharField(required=False, strip=False)
    evidence = EvidenceField(required=False)


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        error_messages={"required": _("Tick the box to confirm that you withdraw your review.")}
    )


class AppealForm(forms.Form):
    text = forms.CharField(required=False, strip=False)


FORMS: dict[str, type[forms.Form]] = {
    "answer": AnswerForm,
    "withdraw": WithdrawForm,
    "extend": forms.Form,
    "appeal": AppealForm,
}


@csrf_exempt  # the body's size is checked first; then csrf_protect checks the token
@require_http_methods(["GET", "POST"])
def dispute_page(request: HttpRequest, token: str, dispute_id: int) -> HttpResponse:
    if request.method == "POST" and _too_large(request):
        return HttpResponse(status=413)
    return _dispute_page(request, token, dispute_id)


def _too_large(request: HttpRequest) -> bool:
    """Whether the body is over the limit: asked before Django parses (and spools) the files."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES
    except ValueError:
        return False  # Django reads a body of no valid length as empty


@csrf_protect
def _dispute_page(request: HttpRequest, token: str, dispute_id: int) -> HttpResponse:
    """GET: the dispute as the reviewer may see it; POST (`step`): answer, withdraw, extend
    or appeal, then back here."""
    invitation = invitation_of_link(request, token)
    if isinstance(invitation, HttpResponse):
        return invitation
    dispute = dispute_for_invitation(invitation, dispute_id)
    now = timezone.now()
    with translation.override(language_for(dispute.review.locale, dispute.shop)):
        bound: forms.Form | None = None
        refused = ""
        status = 200
        if request.method == "POST":
            step = request.POST.get("step", "")
            if step not in FORMS:
                return HttpResponse(status=400)
            bound = FORMS[step](request.POST, request.FILES, prefix=step)
            if bound.is_valid():
                try:
                    _take(step, dispute, bound, now)
                except actions.Invalid as invalid:
                    bound.add_error(invalid.field if invalid.field in bound.fields else None, str(invalid))
                    status = 400
                except actions.NotAllowed as not_allowed:
                    refused, status = str(not_allowed), not_allowed.status
                else:
                    return redirect(f"{request.path}?done={step}")
            else:
                status = 400
            dispute.refresh_from_db()
        return render(
            request,
            "moderation/reviewer/dispute.html",
            _context(dispute, token, bound, refused, request.GET.get("done", ""), now),
            status=status,
        )


def _take(step: str, dispute: Dispute, form: forms.Form, now: dt.datetime) -> None:
    if step == "answer":
        evidence = [
            actions.Upload(name=f.name or "", content_type=f.content_type or "", data=f.read())
            for f in form.cleaned_data["evidence"]
        ]
        actions.answer(dispute=dispute, statement=form.cleaned_data["statement"], evidence=evidence, now=now)
    elif step == "withdraw":
        actions.withdraw(dispute=dispute, now=now)
    elif step == "extend":
        actions.extend(dispute=dispute, now=now)
    else:
        actions.appeal(dispute=dispute, party=Party.REVIEWER, text=form.cleaned_data["text"], now=now)


def _context(
    dispute: Dispute, token: str, bound: forms.Form | None, refused: str, done: str, now: dt.datetime
) -> dict[str, Any]:
    """What the page shows: the forms of the steps the dispute's stage allows (the posted one
    with its errors)."""

    def form(step: str) -> forms.Form:
        return bound if bound is not None and bound.prefix == step else FORMS[step](prefix=step)

    review = dispute.review
    stage = dispute.stage
    answer_by = dispute.deadlines.filter(name=Deadline.Name.REVIEWER, status=Deadline.Status.PENDING).first()
    decision = dispute.decisions.filter(interim=False).last()
    may_appeal = (
        stage == Dispute.Stage.DECIDED
        and decision is not None
        and decision.appeal_until is not None
        and now <= decision.appeal_until
    )
    hearing = stage == Dispute.Stage.HEARING
    may_withdraw = stage in (Dispute.Stage.HEARING, Dispute.Stage.REBUTTAL, Dispute.Stage.DECISION)
    history = [
        (entry, STEPS.get(entry.action, _("A step of the procedure")))
        for entry in dispute.entries.filter(shown_to_reviewer=True)
    ]
    return {
        "shop": dispute.shop,
        "review": review,
        "dispute": dispute,
        "token": token,
        "answer_by": answer_by.due_at if hearing and answer_by else None,
        "history": history,
        "decisions": list(dispute.decisions.all()),
        "editable": hearing and review.is_editable(now),
        "answer_form": form("answer") if hearing else None,
        "extend_form": form("extend") if hearing and not dispute.extended else None,
        "withdraw_form": form("withdraw") if may_withdraw else None,
        "appeal_form": form("appeal") if may_appeal else None,
        "appeal_until": decision.appeal_until if decision is not None else None,
        "evidence_limit": actions.MAX_EVIDENCE_FILES,
        "refused": refused,
        "done": done if done in FORMS else "",
    }
