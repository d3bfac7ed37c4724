"""The moderators' console at /moderation/: the queues, one dispute with everything said in it,
the reviewer's evidence, and the moderator's steps (triage, restriction, decision).

For platform staff with the `moderation.moderator` permission (superusers have it), not for a
shop role: anyone else logged in gets 403, a visitor is sent to the login page. Moderators
work across shops, so disputes are looked up here by id rather than through a shop's
membership (reputable.shops.access); what the console refuses instead is a moderator's own
shop: a moderator on a shop's team neither acts on its cases nor reads them (its evidence
included), and the queues list them as handled by another moderator.

Each POST calls one action of reputable.moderation.actions and redirects to the dispute; bad
input is a 400 with the message beside its field, a step the stage does not allow a 409.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST, require_safe

from reputable.moderation import actions, notices, templates_text
from reputable.moderation.models import Deadline, Decision, Dispute, Evidence, Notice
from reputable.reviews.models import Review
from reputable.shops.models import Membership, Shop

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# A queue shows its first rows: more than a day's work, and every row served by an index.
QUEUE_SIZE = 100
View = Callable[..., HttpResponseBase]

# The words of the history (Entry.action), as moderators read them.
ENTRY_LABELS = {
    "opened": gettext_lazy("Dispute opened"),
    "confirmed": gettext_lazy("Notice sent, its address confirmed"),
    "admitted": gettext_lazy("Admitted"),
    "inadmissible": gettext_lazy("Not admissible"),
    "restricted": gettext_lazy("Hidden until the decision"),
    "decided": gettext_lazy("Decided"),
    "statement": gettext_lazy("The reviewer's statement"),
    "evidence": gettext_lazy("Evidence sent"),
    "review_edited": gettext_lazy("The reviewer changed the review"),
    "withdrawn": gettext_lazy("The reviewer withdrew the review"),
    "moot": gettext_lazy("Closed: the review was removed otherwise"),
    "extended": gettext_lazy("Time to answer extended"),
    "rebuttal": gettext_lazy("The shop's rebuttal"),
    "appealed": gettext_lazy("Appealed"),
    "reminded": gettext_lazy("Reminder sent to the reviewer"),
    "hearing_ended": gettext_lazy("The time to answer ended"),
    "rebuttal_time_ended": gettext_lazy("The time to rebut ended"),
    "triage_overdue": gettext_lazy("Triage overdue"),
    "decision_overdue": gettext_lazy("Decision overdue"),
    "appeal_decision_overdue": gettext_lazy("Decision on the appeal overdue"),
}


class Forbidden(Exception):
    """The moderator may not see this case: it is their own shop's."""


def moderator_page(view: View) -> View:
    """A console page: moderators only; a refusal of the procedure is shown with its reason
    (403 for a moderator's own shop, 409 for a step the dispute's stage does not allow)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not actions.is_moderator(request.user):
            return _refused(request, _("Only moderators may do this."), status=403)
        try:
            return view(request, **kwargs)
        except Forbidden as error:
            return _refused(request, str(error), status=403)
        except actions.NotAllowed as error:  # an Invalid the view did not expect is a refusal too
            return _refused(request, str(error), status=409 if not isinstance(error, actions.Invalid) else 400)

    return wrapper


def _refused(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "moderation/console/refused.html", {"message": message}, status=status)


def _moderator(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # moderator_page let only moderators in
    return user


def _dispute_of(request: HttpRequest, dispute_id: int) -> Dispute:
    dispute = get_object_or_404(Dispute.objects.select_related("shop", "review__shop"), pk=dispute_id)
    _check_shop(request, dispute.shop)
    return dispute


def _check_shop(request: HttpRequest, shop: Shop) -> None:
    try:
        actions.check_moderator(_moderator(request), shop)
    except actions.NotAllowed as error:  # the user is a moderator: it is their own shop
        raise Forbidden(str(error)) from None


# --- the queues ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    dispute: Dispute
    due_at: Any
    overdue: bool
    own_shop: bool  # handled by another moderator


# The disputes waiting for a moderator: the stage, the deadline that says by when, the title.
DISPUTE_QUEUES: list[tuple[str, str, Promise]] = [
    (Dispute.Stage.TRIAGE, Deadline.Name.TRIAGE, gettext_lazy("Waiting for triage")),
    (Dispute.Stage.DECISION, Deadline.Name.DECISION, gettext_lazy("Waiting for the decision")),
    (Dispute.Stage.APPEAL, Deadline.Name.APPEAL_DECISION, gettext_lazy("Appeals")),
]


def _dispute_queue(stage: str, deadline: str, own_shops: set[int], now: Any) -> list[QueueRow]:
    """The disputes at `stage`, by their deadline `deadline`, soonest (most overdue) first.

    The deadline is pending, or done when it passed (the moderators were told; the dispute
    still waits): not cancelled. Open disputes are few, so the join is small; the dispute_queue
    index finds them by stage."""
    due = (
        Deadline.objects.filter(name=deadline, dispute__stage=stage)
        .exclude(status=Deadline.Status.CANCELLED)
        .select_related("dispute__shop")
        .order_by("due_at", "id")[:QUEUE_SIZE]
    )
    return [
        QueueRow(dispute=d.dispute, due_at=d.due_at, overdue=d.due_at < now, own_shop=d.dispute.shop_id in own_shops)
        for d in due
    ]


@require_safe
@moderator_page
def queues(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    own_shops = set(Membership.objects.filter(user=_moderator(request)).values_list("shop_id", flat=True))
    context = {
        "queues": [
            (stage, title, _dispute_queue(stage, deadline, own_shops, now)) for stage, deadline, title in DISPUTE_QUEUES
        ],
        # The notice_queue index, oldest first.
        "notices": Notice.objects.filter(status=Notice.Status.OPEN)
        .select_related("review__shop")
        .order_by("created_at", "id")[:QUEUE_SIZE],
        # The review_flagged index, oldest first.
        "flagged": Review.objects.flagged().select_related("shop")[:QUEUE_SIZE],
        "own_shops": own_shops,
        "queue_size": QUEUE_SIZE,
    }
    return render(request, "moderation/console/queues.html", context)


@require_POST
@moderator_page
def clear_flag(request: HttpRequest, review_id: int) -> HttpResponse:
    """ "Looked at, nothing to do": the flagged review leaves the queue."""
    review = get_object_or_404(Review.objects.select_related("shop"), pk=review_id)
    _check_shop(request, review.shop)
    actions.clear_flag(review=review, moderator=_moderator(request), now=timezone.now())
    messages.success(request, _("The review left the queue."))
    return redirect("moderation-queues")


# --- the forms of a case (a dispute, a notice) ---------------------------------------------------

YES_NO = [("yes", gettext_lazy("Admissible: hear the reviewer")), ("no", gettext_lazy("Not admissible: close it"))]
MEASURES = [(m.value, m.label) for m in (Decision.Measure.KEPT, Decision.Measure.REDACTED, Decision.Measure.REMOVED)]


def _text_field(label: "_StrPromise", rows: int = 6, help_text: "str | _StrPromise" = "") -> forms.CharField:
    # Not required here: the action says what is missing, in the same words as everywhere.
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": 5000}),
    )


class TriageForm(forms.Form):
    admissible = forms.ChoiceField(label=gettext_lazy("Triage"), choices=YES_NO, widget=forms.RadioSelect)
    note = _text_field(
        gettext_lazy("Note"), rows=3, help_text=gettext_lazy("Required when not admissible: the shop reads why.")
    )


class RestrictForm(forms.Form):
    explanation = _text_field(
        gettext_lazy("Reasons"), help_text=gettext_lazy("Part of the statement of reasons the parties receive.")
    )


class DecideForm(forms.Form):
    measure = forms.ChoiceField(label=gettext_lazy("Decision"), choices=MEASURES, widget=forms.RadioSelect)
    passage = _text_field(
        gettext_lazy("Passage to redact"),
        rows=2,
        help_text=gettext_lazy("Only for a redaction: quoted exactly as the review says it."),
    )
    explanation = _text_field(
        gettext_lazy("Reasons"), help_text=gettext_lazy("Part of the statement of reasons the parties receive.")
    )


FORMS: dict[str, type[forms.Form]] = {"triage": TriageForm, "restrict": RestrictForm, "decide": DecideForm}


def _case_context(
    request: HttpRequest,
    review: Review,
    *,
    ground: str,
    can: dict[str, bool],
    bound: dict[str, forms.Form] | None,
    template: str,
) -> dict[str, Any]:
    """What a dispute's and a notice's page share: the review as published and as written, its
    earlier versions, and the moderator's forms with the ready explanations for `ground`
    (`template` prefills one: `?template=<key>`, no script needed)."""
    chosen = templates_text.BY_KEY.get(template)
    initial: dict[str, dict[str, str]] = {}
    if chosen is not None and chosen.fits(ground):
        if chosen.measure == Decision.Measure.RESTRICTED:
            initial["restrict"] = {"explanation": chosen.explanation(ground)}
        else:
            initial["decide"] = {"measure": chosen.measure, "explanation": chosen.explanation(ground)}
    shown = bound or {}
    products = list(review.product_reviews.select_related("product"))
    original_products = review.original.get("products", {})
    return {
        "review": review,
        "shop": review.shop,
        "products": products,
        "original": review.original,
        "original_products": [
            (pr, original_products[str(pr.product_id)]) for pr in products if str(pr.product_id) in original_products
        ],
        "revisions": review.revisions.order_by("created_at", "id"),
        "now": timezone.now(),
        "can": can,
        "forms": {
            name: shown.get(name) or form(prefix=name, initial=initial.get(name)) for name, form in FORMS.items()
        },
        "decision_templates": [
            t
            for t in templates_text.templates_for(ground)
            if (can["restrict"] if t.measure == Decision.Measure.RESTRICTED else can["decide"])
        ],
        "chosen_template": template if chosen else "",
    }


def _history(entries: Any) -> list[tuple[Any, str]]:
    return [(entry, ENTRY_LABELS.get(entry.action, entry.action)) for entry in entries.select_related("user")]


Step = Callable[[User, dict[str, Any]], object]


def _act(
    request: HttpRequest, name: str, step: Step, *, done: str, case_url: str, again: Callable[..., HttpResponse]
) -> HttpResponse:
    """Run one step of the procedure with the form `name`'s data: on success back to the case
    with `done` said; on bad input its page again (`again`), 400, the message by its field. A
    refusal (NotAllowed) goes up to moderator_page: 409."""
    form = FORMS[name](request.POST, prefix=name)
    if form.is_valid():
        try:
            step(_moderator(request), form.cleaned_data)
        except actions.Invalid as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, done)
            return redirect(case_url)
    return again(bound={name: form}, status=400)


def _url(case: Dispute | Notice) -> str:
    name = "moderation-dispute" if isinstance(case, Dispute) else "moderation-notice"
    return reverse(name, args=[case.pk])


def _urls(pk: int, page: str, restrict: str, decide: str) -> dict[str, str]:
    """Where a case's page and its forms are (templates _forms.html)."""
    return {
        "page": reverse(page, args=[pk]),
        "restrict": reverse(restrict, args=[pk]),
        "decide": reverse(decide, args=[pk]),
    }


def _passage(data: dict[str, Any]) -> str:
    return data["passage"] if data["measure"] == Decision.Measure.REDACTED else ""


DECIDED = gettext_lazy("Decided: the statement of reasons is on its way to both parties.")
RESTRICTED = gettext_lazy("The review is hidden until the decision.")


# --- one dispute --------------------------------------------------------------------------------


@require_safe
@moderator_page
def dispute(request: HttpRequest, dispute_id: int) -> HttpResponse:
    return _dispute_page(request, _dispute_of(request, dispute_id), template=request.GET.get("template", ""))


def _dispute_page(
    request: HttpRequest,
    dispute: Dispute,
    *,
    bound: dict[str, forms.Form] | None = None,
    template: str = "",
    status: int = 200,
) -> HttpResponse:
    review = dispute.review
    decided_before = dispute.decisions.filter(appeal=False, interim=False, moderator=_moderator(request)).exists()
    can = {
        "triage": dispute.stage == Dispute.Stage.TRIAGE,
        "restrict": dispute.is_open and dispute.reason in actions.RESTRICTABLE and review.is_published,
        "decide": dispute.stage == Dispute.Stage.DECISION
        or (dispute.stage == Dispute.Stage.APPEAL and not decided_before),
    }
    context = _case_context(request, review, ground=dispute.reason, can=can, bound=bound, template=template) | {
        "dispute": dispute,
        "urls": _urls(dispute.pk, "moderation-dispute", "moderation-restrict", "moderation-decide"),
        "entries": _history(dispute.entries),
        "evidence": dispute.evidence.defer("data").order_by("created_at", "id"),
        "decisions": dispute.decisions.select_related("moderator"),
        "deadlines": dispute.deadlines.filter(status=Deadline.Status.PENDING).order_by("due_at", "id"),
        "decided_before": decided_before and dispute.stage == Dispute.Stage.APPEAL,
    }
    return render(request, "moderation/console/dispute.html", context, status=status)


@require_POST
@moderator_page
def triage(request: HttpRequest, dispute_id: int) -> HttpResponse:
    case = _dispute_of(request, dispute_id)

    def step(moderator: User, data: dict[str, Any]) -> object:
        admissible = data["admissible"] == "yes"
        return actions.triage(
            dispute=case, moderator=moderator, admissible=admissible, note=data["note"], now=timezone.now()
        )

    return _act(
        request,
        "triage",
        step,
        done=_("Triaged."),
        case_url=_url(case),
        again=functools.partial(_dispute_page, request, case),
    )


# --- one notice (reputable.moderation.notices) --------------------------------------------------


def _notice_of(request: HttpRequest, notice_id: int) -> Notice:
    """An open or decided notice: an unconfirmed one is not a moderator's yet."""
    found = get_object_or_404(
        Notice.objects.select_related("review__shop").exclude(status=Notice.Status.UNCONFIRMED), pk=notice_id
    )
    _check_shop(request, found.review.shop)
    return found


@require_safe
@moderator_page
def notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    return _notice_page(request, _notice_of(request, notice_id), template=request.GET.get("template", ""))


def _notice_page(
    request: HttpRequest,
    case: Notice,
    *,
    bound: dict[str, forms.Form] | None = None,
    template: str = "",
    status: int = 200,
) -> HttpResponse:
    review = case.review
    is_open = case.status == Notice.Status.OPEN
    can = {
        "triage": False,
        "restrict": is_open and case.reason in actions.RESTRICTABLE and review.is_published,
        "decide": is_open,
    }
    context = _case_context(request, review, ground=case.reason, can=can, bound=bound, template=template) | {
        "notice": case,
        "urls": _urls(case.pk, "moderation-notice", "moderation-notice-restrict", "moderation-notice-decide"),
        "entries": _history(case.entries),
        "decisions": case.decisions.select_related("moderator"),
    }
    return render(request, "moderation/console/notice.html", context, status=status)


# --- restriction and decision, on a dispute or a notice -----------------------------------------


def _case(request: HttpRequest, kind: str, case_id: int) -> tuple[Dispute | Notice, Callable[..., HttpResponse]]:
    """The dispute or notice, and its page (shown again with a refused form)."""
    if kind == "dispute":
        dispute = _dispute_of(request, case_id)
        return dispute, functools.partial(_dispute_page, request, dispute)
    notice = _notice_of(request, case_id)
    return notice, functools.partial(_notice_page, request, notice)


def _restrict(request: HttpRequest, kind: str, case_id: int) -> HttpResponse:
    case, again = _case(request, kind, case_id)

    def step(moderator: User, data: dict[str, Any]) -> object:
        args = {"moderator": moderator, "explanation": data["explanation"], "now": timezone.now()}
        if isinstance(case, Dispute):
            return actions.restrict(dispute=case, **args)
        return notices.restrict_notice(notice=case, **args)

    return _act(request, "restrict", step, done=str(RESTRICTED), case_url=_url(case), again=again)


def _decide(request: HttpRequest, kind: str, case_id: int) -> HttpResponse:
    case, again = _case(request, kind, case_id)

    def step(moderator: User, data: dict[str, Any]) -> object:
        args = {
            "moderator": moderator,
            "measure": data["measure"],
            "explanation": data["explanation"],
            "passage": _passage(data),
            "now": timezone.now(),
        }
        if isinstance(case, Dispute):
            return actions.decide(dispute=case, **args)
        return notices.decide_notice(notice=case, **args)

    return _act(request, "decide", step, done=str(DECIDED), case_url=_url(case), again=again)


@require_POST
@moderator_page
def restrict(request: HttpRequest, dispute_id: int) -> HttpResponse:
    return _restrict(request, "dispute", dispute_id)


@require_POST
@moderator_page
def decide(request: HttpRequest, dispute_id: int) -> HttpResponse:
    return _decide(request, "dispute", dispute_id)


@require_POST
@moderator_page
def notice_restrict(request: HttpRequest, notice_id: int) -> HttpResponse:
    return _restrict(request, "notice", notice_id)


@require_POST
@moderator_page
def notice_decide(request: HttpRequest, notice_id: int) -> HttpResponse:
    return _decide(request, "notice", notice_id)


# --- the reviewer's evidence --------------------------------------------------------------------


@require_safe
@moderator_page
# `True`: a directive without a value (Django's CSP builder takes it; the stubs do not know).
@csp_override({"default-src": [CSP.NONE], "sandbox": True, "frame-ancestors": [CSP.NONE]})  # type: ignore[dict-item]
def evidence(request: HttpRequest, dispute_id: int, evidence_id: int) -> HttpResponse:
    """One file as the reviewer sent it, as a download only: never shown inline on our origin
    (a file a browser would render could run as our page), never sniffed into another type,
    and sandboxed should a browser show it anyway."""
    dispute = _dispute_of(request, dispute_id)
    item = get_object_or_404(Evidence, dispute=dispute, pk=evidence_id)
    content_type = item.content_type if item.content_type in actions.EVIDENCE_TYPES else "application/octet-stream"
    response = HttpResponse(bytes(item.data), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=item.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
