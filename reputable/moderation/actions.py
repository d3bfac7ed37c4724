"""The dispute procedure: every step a shop, a reviewer, a moderator or a deadline takes.

    shop opens ──▶ TRIAGE ─(moderator: admissible)─▶ HEARING ─(reviewer answers, or 14 days)─▶
    REBUTTAL ─(shop's one rebuttal, or 7 days)─▶ DECISION ─(moderator decides)─▶ DECIDED
    ─(an appeal within 6 months)─▶ APPEAL ─(a different moderator decides)─▶ CLOSED

- Triage within 2 working days; not admissible closes the dispute, and the review was never
  labelled (a shop cannot put "in dispute" on a review by clicking a button).
- Admitted, the review is labelled "in dispute since <date>" and stays published. The
  reviewer gets the complaint without the shop's private contact details, and 14 days (a
  reminder on day 7, one 7-day extension on request) to answer with a statement and evidence
  for the moderators, to change the review or to withdraw it. Without an answer the hearing
  ends at the deadline; a "not a customer" complaint without an answer is then decided by
  automated means: removed (BGH VI ZR 1244/20), with a statement and an appeal like any other.
- After an answer the shop may rebut once within 7 days, seeing the statement but not the
  evidence. The decision is due 7 days after the last stage closes.
- A moderator decides: kept, redacted or removed. Only manifestly illegal content (threats,
  published personal data) may be restricted at once, pending the decision.
- Every decision is a `Decision`, the statement of reasons both parties receive by email.

Each step writes an `Entry` and, in the same transaction, the emails it causes (the outbox)
and the deadlines it sets or cancels. A step that does not fit the dispute's stage raises
`NotAllowed` with a message for the person who tried.
"""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction as db_transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from reputable.dispatch.outbox import send_email
from reputable.invitations.messages import language_for
from reputable.lib.dates import DelayUnit, add_delay, add_months
from reputable.lib.text import unix_line_ends, validate_paragraphs
from reputable.moderation.grounds import Ground, Withdrawal
from reputable.moderation.models import Deadline, Decision, Dispute, Entry, Evidence, Party
from reputable.reviews import actions as review_actions
from reputable.reviews.models import RemovalOrigin, Review
from reputable.reviews.summaries import summarise
from reputable.shops.access import members_at_least
from reputable.shops.models import Membership, Shop
from reputable.webhooks.events import emit

HEARING_DAYS = 14
REMINDER_DAYS = 7
EXTENSION_DAYS = 7
REBUTTAL_DAYS = 7
DECISION_DAYS = 7
TRIAGE_WORKING_DAYS = 2
APPEAL_MONTHS = 6
# Grounds a moderator may act on at once, before hearing anyone: manifestly illegal content.
RESTRICTABLE = (Ground.ILLEGAL_CONTENT, Ground.PERSONAL_DATA)
# Evidence the reviewer may send: what an invoice, a delivery note or a photo is.
EVIDENCE_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_EVIDENCE_FILES = 5


class NotAllowed(Exception):
    """A step the dispute's stage, the deadlines or the rules do not allow; says why."""

    status = 409


class Invalid(NotAllowed):
    """Input the procedure cannot take; `field` names it."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Upload:
    """A file the reviewer sent, as read from the form."""

    name: str
    content_type: str
    data: bytes


# --- who hears about it -----------------------------------------------------------------------


def moderators() -> QuerySet[User]:
    """Platform staff with the moderator permission (superusers have every permission)."""
    perm = Q(user_permissions__codename="moderator", user_permissions__content_type__app_label="moderation")
    group = Q(groups__permissions__codename="moderator", groups__permissions__content_type__app_label="moderation")
    return User.objects.filter(perm | group | Q(is_superuser=True), is_active=True).distinct()


def is_moderator(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm("moderation.moderator"))


def check_moderator(user: User, shop: Shop) -> None:
    """A moderator may act on any shop's cases but those of a shop they belong to."""
    if not is_moderator(user):
        raise NotAllowed(_("Only moderators may do this."))
    if Membership.objects.filter(shop=shop, user=user).exists():
        raise NotAllowed(_("You are a member of this shop's team, so another moderator must handle its cases."))


def _shop_url(dispute: Dispute) -> str:
    return settings.BASE_URL + reverse("dashboard-dispute", args=[dispute.shop.slug, dispute.pk])


def _reviewer_url(dispute: Dispute) -> str:
    invitation = dispute.review.invitation
    assert invitation is not None
    return settings.BASE_URL + reverse("dispute-reviewer", args=[invitation.token, dispute.pk])


def _reviewer_language(dispute: Dispute) -> str:
    return language_for(dispute.review.locale, dispute.shop)


def tell_shop(dispute: Dispute, what: str, **context: Any) -> None:
    """An email about the dispute to the shop's managers and owners, in the shop's language."""
    shop = dispute.shop
    for member in members_at_least(shop, Membership.Role.MANAGER).select_related("user"):
        send_email(
            "dispute-news",
            to=member.user.email,
            context=_news_context(dispute, what, party=Party.SHOP, url=_shop_url(dispute)) | context,
            language=language_for("", shop),
            shop=shop,
        )


def tell_reviewer(dispute: Dispute, what: str, **context: Any) -> None:
    """An email about the dispute to the reviewer, in the review's language; none for an
    imported review (there is no address)."""
    invitation = dispute.review.invitation
    if invitation is None or not invitation.email:
        return
    send_email(
        "dispute-news",
        to=invitation.email,
        context=_news_context(dispute, what, party=Party.REVIEWER, url=_reviewer_url(dispute)) | context,
        language=_reviewer_language(dispute),
        shop=dispute.shop,
        sender_name=dispute.shop.display_sender,
    )


def _news_context(dispute: Dispute, what: str, *, party: str, url: str) -> dict[str, Any]:
    review = dispute.review
    return {
        "what": what,
        "party": party,
        "dispute": dispute.pk,
        "shop_name": dispute.shop.name,
        "reason": dispute.reason,
        "passage": dispute.passage,
        "explanation": dispute.explanation,
        "rating": review.rating,
        "title": review.title,
        "review_date": review.created_at.isoformat(),
        "url": url,
    }


def _tell_moderators(dispute: Dispute, what: str) -> None:
    url = settings.BASE_URL + reverse("moderation-dispute", args=[dispute.pk])
    for user in moderators():
        if user.email:
            send_email(
                "moderation-overdue",
                to=user.email,
                context={"what": what, "dispute": dispute.pk, "shop_name": dispute.shop.name, "url": url},
                language=settings.LANGUAGE_CODE,
            )


# --- records ----------------------------------------------------------------------------------


def _record(
    dispute: Dispute,
    action: str,
    *,
    actor: str,
    now: dt.datetime,
    user: User | None = None,
    text: str = "",
    shown_to_shop: bool = True,
    shown_to_reviewer: bool = True,
) -> Entry:
    return Entry.objects.create(
        dispute=dispute,
        actor=actor,
        user=user,
        action=action,
        text=text,
        shown_to_shop=shown_to_shop,
        shown_to_reviewer=shown_to_reviewer,
        created_at=now,
    )


def _set_deadline(dispute: Dispute, name: str, due_at: dt.datetime) -> None:
    Deadline.objects.create(dispute=dispute, name=name, due_at=due_at)


def _cancel_deadlines(dispute: Dispute, *names: str) -> None:
    Deadline.objects.filter(dispute=dispute, name__in=names, status=Deadline.Status.PENDING).update(
        status=Deadline.Status.CANCELLED, claimed_until=None, claim_id=""
    )


def _locked(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",)).select_related("shop", "review__invitation").get(pk=dispute.pk)
    )


def _move(dispute: Dispute, stage: str, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(dispute, name, value)
    dispute.stage = stage
    dispute.save(update_fields=["stage", *fields])


def _need_stage(dispute: Dispute, *stages: str) -> None:
    if dispute.stage not in stages:
        raise NotAllowed(
            _("This step is not possible now: the dispute is at the stage “%(stage)s”.")
            % {"stage": dispute.get_stage_display()}
        )


def _text(field: str, value: str, *, required: bool = True, minimum: int = 0) -> str:
    value = unix_line_ends(value or "").strip()
    if required and not value:
        raise Invalid(field, _("This field is required."))
    if len(value) > 5000:
        raise Invalid(field, _("At most 5000 characters, please."))
    if value and len(value) < minimum:
        raise Invalid(field, _("Please explain in at least %(count)d characters.") % {"count": minimum})
    try:
        validate_paragraphs(value)
    except ValidationError as error:  # its message is for the writer
        raise Invalid(field, " ".join(error.messages)) from None
    return value


# --- the shop opens a dispute -----------------------------------------------------------------


def open_disputes_allowed(shop: Shop, today: dt.date) -> int:
    """How many disputes the shop may have open at once: DISPUTES_PER_100_REVIEWS per 100 of
    its published reviews (rounded up), at least one."""
    published = summarise(shop=shop, today=today).all_time.count
    return max(1, math.ceil(published * settings.DISPUTES_PER_100_REVIEWS / 100))


def open_dispute(
    *,
    review: Review,
    user: User | None,
    reason: str,
    passage: str,
    explanation: str,
    good_faith: bool,
    now: dt.datetime,
) -> Dispute:
    """A manager's or owner's dispute of a published review (the caller checked the role);
    `user` None: through the API, whose key has no user.

    Acknowledged to the shop at once; a moderator triages it within 2 working days. The review
    stays as it is: it is labelled only once the dispute is admitted.
    """
    if reason not in Ground.values:
        raise Invalid("reason", _("Choose one of the listed reasons."))
    passage = _text("passage", passage, required=False)
    explanation = _text("explanation", explanation, minimum=20)
    if not good_faith:
        raise Invalid("good_faith", _("Please confirm that you raise this dispute in good faith."))
    with db_transaction.atomic():
        review = Review.objects.select_for_update(of=("self",)).select_related("shop").get(pk=review.pk)
        shop = review.shop
        if passage and not any(passage in text for text in _texts(review)):
            raise Invalid("passage", _("Quote the passage exactly as the review says it."))
        if not review.is_published:
            raise NotAllowed(_("This review is not published, so there is nothing to dispute."))
        if Dispute.objects.filter(review=review, stage__in=Dispute.OPEN_STAGES).exists():
            raise NotAllowed(_("This review is in dispute already."))
        if Dispute.objects.filter(review=review, stage=Dispute.Stage.DECIDED).exists():
            raise NotAllowed(_("This review was decided on already; you may appeal that decision instead."))
        allowed = open_disputes_allowed(shop, now.date())
        if Dispute.objects.filter(shop=shop, stage__in=Dispute.OPEN_STAGES).count() >= allowed:
            raise NotAllowed(
                _(
                    "Your shop has %(count)d open disputes, as many as it may have at once for its"
                    " number of reviews. Please wait for a decision first."
                )
                % {"count": allowed}
            )
        dispute = Dispute.objects.create(
            shop=shop,
            review=review,
            opened_by=user,
            reason=reason,
            passage=passage,
            explanation=explanation,
            good_faith=True,
            rating=review.rating,
            created_at=now,
        )
        _record(dispute, "opened", actor=Party.SHOP, user=user, now=now, text=explanation)
        data = {"id": dispute.pk, "review_id": review.pk, "reason": reason, "created_at": now}
        emit(shop, [("dispute.opened", data)])
        triage_by = add_delay(
            now,
            TRIAGE_WORKING_DAYS,
            DelayUnit.BUSINESS_DAYS,
            zone=shop.timezone,
            country=shop.country,
            subdivision=shop.subdivision,
        )
        _set_deadline(dispute, Deadline.Name.TRIAGE, triage_by)
        tell_shop(dispute, "opened", triage_by=triage_by.isoformat())
    return dispute


def _texts(review: Review) -> list[str]:
    return [review.title, review.body, *review.product_reviews.values_list("body", flat=True)]


# --- moderation -------------------------------------------------------------------------------


def triage(*, dispute: Dispute, moderator: User, admissible: bool, note: str, now: dt.datetime) -> Dispute:
    """Admit the dispute (the reviewer is heard) or close it as not admissible (`note` says
    why, to the shop)."""
    note = _text("note", note, required=not admissible)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        check_moderator(moderator, dispute.shop)
        _need_stage(dispute, Dispute.Stage.TRIAGE)
        _cancel_deadlines(dispute, Deadline.Name.TRIAGE)
        if not admissible:
            _move(dispute, Dispute.Stage.CLOSED, outcome=Dispute.Outcome.INADMISSIBLE, closed_at=now)
            _record(dispute, "inadmissible", actor=Party.MODERATOR, user=moderator, now=now, text=note)
            tell_shop(dispute, "inadmissible", note=note)
            return dispute
        answer_by = now + dt.timedelta(days=HEARING_DAYS)
        _move(dispute, Dispute.Stage.HEARING, admitted_at=now)
        review_actions.set_disputed(review=dispute.review, since=now)
        _record(dispute, "admitted", actor=Party.MODERATOR, user=moderator, now=now, text=note)
        _set_deadline(dispute, Deadline.Name.REVIEWER_REMINDER, now + dt.timedelta(days=REMINDER_DAYS))
        _set_deadline(dispute, Deadline.Name.REVIEWER, answer_by)
        tell_reviewer(dispute, "complaint", answer_by=answer_by.isoformat())
        tell_shop(dispute, "admitted", answer_by=answer_by.isoformat())
    return dispute


def restrict(*, dispute: Dispute, moderator: User, explanation: str, now: dt.datetime) -> Decision:
    """Hide the review at once until the decision: only for manifestly illegal content (threats,
    published personal data), with a statement of reasons to both parties."""
    explanation = _text("explanation", explanation)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        check_moderator(moderator, dispute.shop)
        if not dispute.is_open:
            raise NotAllowed(_("This dispute is not open."))
        if dispute.reason not in RESTRICTABLE:
            raise NotAllowed(_("Only threats, insults, hate or published personal data may be restricted at once."))
        if not dispute.review.is_published:
            raise NotAllowed(_("The review is not published."))
        review_actions.restrict_review(review=dispute.review, now=now)
        return _decision(
            dispute,
            measure=Decision.Measure.RESTRICTED,
            moderator=moderator,
            explanation=explanation,
            now=now,
            interim=True,
        )


def decide(
    *, dispute: Dispute, moderator: User, measure: str, explanation: str, passage: str = "", now: dt.datetime
) -> Decision:
    """The moderator's decision once both sides were heard (or on the appeal, by another
    moderator than the one who decided before): kept, redacted (`passage` replaced by a note)
    or removed."""
    check_final_measure(measure)
    explanation = _text("explanation", explanation)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        check_moderator(moderator, dispute.shop)
        _need_stage(dispute, Dispute.Stage.DECISION, Dispute.Stage.APPEAL)
        appeal = dispute.stage == Dispute.Stage.APPEAL
        if appeal and dispute.decisions.filter(appeal=False, interim=False, moderator=moderator).exists():
            raise NotAllowed(_("You decided this dispute before, so another moderator must decide the appeal."))
        apply_measure(
            review=dispute.review,
            measure=measure,
            ground=dispute.reason,
            passage=passage,
            origin=RemovalOrigin.DISPUTE,
            now=now,
        )
        return _decision(
            dispute,
            measure=measure,
            moderator=moderator,
            explanation=explanation,
            passage=passage,
            now=now,
            appeal=appeal,
        )


def check_final_measure(measure: str) -> None:
    if measure not in (Decision.Measure.KEPT, Decision.Measure.REDACTED, Decision.Measure.REMOVED):
        raise Invalid("measure", _("Choose to keep, redact or remove the review."))


def apply_measure(*, review: Review, measure: str, ground: str, passage: str, origin: str, now: dt.datetime) -> None:
    """What a final decision (on a dispute or a notice) does to the review: kept (shown again
    if it was restricted), `passage` redacted, or removed with its stub."""
    if measure == Decision.Measure.REDACTED:
        try:
            review_actions.redact_review(review=review, passage=passage, ground=ground, now=now)
        except review_actions.PassageNotFound as error:
            raise Invalid("passage", str(error)) from None
    elif measure == Decision.Measure.REMOVED:
        review_actions.remove_review(review=review, ground=ground, origin=origin, now=now)
    else:
        review_actions.reinstate_review(review=review)


def _decision(
    dispute: Dispute,
    *,
    measure: str,
    moderator: User | None,
    explanation: str,
    now: dt.datetime,
    passage: str = "",
    interim: bool = False,
    appeal: bool = False,
    facts: str = "",
) -> Decision:
    """Record the decision, move the dispute on, and send the statement of reasons to both."""
    decision = Decision.objects.create(
        dispute=dispute,
        review=dispute.review,
        moderator=moderator,
        measure=measure,
        ground=dispute.reason,
        passage=passage,
        facts=facts or _facts(dispute),
        explanation=explanation,
        automated=moderator is None,
        interim=interim,
        appeal=appeal,
        created_at=now,
        appeal_until=None if interim or appeal else add_months(now, APPEAL_MONTHS),
    )
    actor = Party.SYSTEM if moderator is None else Party.MODERATOR
    _record(dispute, "restricted" if interim else "decided", actor=actor, user=moderator, now=now, text=explanation)
    if not interim:
        _cancel_deadlines(dispute, Deadline.Name.DECISION, Deadline.Name.APPEAL_DECISION)
        review_actions.set_disputed(review=dispute.review, since=None)
        outcome = {"kept": Dispute.Outcome.KEPT, "redacted": Dispute.Outcome.REDACTED}.get(measure)
        stage = Dispute.Stage.CLOSED if appeal else Dispute.Stage.DECIDED
        _move(
            dispute,
            stage,
            outcome=outcome or Dispute.Outcome.REMOVED,
            decided_at=now,
            closed_at=now if appeal else None,
        )
    if not interim:
        data = {
            "id": dispute.pk,
            "review_id": dispute.review_id,
            "measure": measure,
            "appeal": appeal,
            "decided_at": now,
        }
        emit(dispute.shop_id, [("dispute.decided", data)])
    send_statement(decision)
    return decision


def _facts(dispute: Dispute) -> str:
    """The facts a decision relies on, as the history shows them (in the platform's words)."""
    heard = (
        "The reviewer answered the complaint."
        if dispute.reviewer_answered_at
        else "The reviewer did not answer the complaint."
    )
    rebutted = " The shop answered the reviewer's statement." if dispute.rebutted_at else ""
    return (
        f"The shop disputed the review on {dispute.created_at:%Y-%m-%d} on the ground"
        f" “{Ground(dispute.reason).label}”. {heard}{rebutted}"
    )


def send_statement(decision: Decision) -> None:
    """The statement of reasons (DSA Art. 17(3)) to the shop's managers, the reviewer and, for
    a notice, its sender: the measure, its scope and duration, the facts, whether automated
    means were used, the ground, and the redress."""
    review = decision.review
    shop = review.shop
    context: dict[str, Any] = {
        "decision": decision.pk,
        "shop_name": shop.name,
        "measure": decision.measure,
        "ground": decision.ground,
        "passage": decision.passage,
        "facts": decision.facts,
        "explanation": decision.explanation,
        "automated": decision.automated,
        "interim": decision.interim,
        "appeal": decision.appeal,
        "notice_based": decision.notice_based,
        "appeal_until": decision.appeal_until.isoformat() if decision.appeal_until else "",
        "rating": review.rating,
        "review_date": review.created_at.isoformat(),
        "decided_at": decision.created_at.isoformat(),
    }
    dispute = decision.dispute
    if dispute is not None:
        context |= {
            "reviewer_answered": dispute.reviewer_answered_at is not None,
            "heard": dispute.admitted_at is not None,
            "rebutted": dispute.rebutted_at is not None,
        }
    if dispute is not None:
        for member in members_at_least(shop, Membership.Role.MANAGER).select_related("user"):
            send_email(
                "moderation-statement",
                to=member.user.email,
                context=context | {"party": Party.SHOP, "url": _shop_url(dispute)},
                language=language_for("", shop),
                shop=shop,
            )
        if review.invitation is not None and review.invitation.email:
            send_email(
                "moderation-statement",
                to=review.invitation.email,
                context=context | {"party": Party.REVIEWER, "url": _reviewer_url(dispute)},
                language=_reviewer_language(dispute),
                shop=shop,
                sender_name=shop.display_sender,
            )
    notice = decision.notice
    if notice is not None:
        from reputable.moderation.notices import notice_statement_recipients  # the notice's own parties

        for to, language, party, url in notice_statement_recipients(notice):
            send_email(
                "moderation-statement",
                to=to,
                context=context | {"party": party, "url": url},
                language=language,
                shop=shop,
            )


# --- the reviewer is heard --------------------------------------------------------------------


def _check_evidence(files: Sequence[Upload]) -> None:
    if len(files) > MAX_EVIDENCE_FILES:
        raise Invalid("evidence", _("At most %(count)d files, please.") % {"count": MAX_EVIDENCE_FILES})
    for upload in files:
        magic = EVIDENCE_TYPES.get(upload.content_type)
        if magic is None or not upload.data.startswith(magic):
            raise Invalid("evidence", _("“%(name)s” is not a PDF, PNG or JPEG file.") % {"name": upload.name[:80]})
        if len(upload.data) > MAX_EVIDENCE_BYTES:
            raise Invalid("evidence", _("“%(name)s” is larger than 5 MB.") % {"name": upload.name[:80]})


def answer(*, dispute: Dispute, statement: str, evidence: Sequence[Upload] = (), now: dt.datetime) -> Dispute:
    """The reviewer's answer to the complaint: a statement the shop will read, and evidence only
    moderators see. It ends the hearing: the shop may rebut once within 7 days."""
    statement = _text("statement", statement)
    _check_evidence(evidence)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        _need_stage(dispute, Dispute.Stage.HEARING)
        _record(dispute, "statement", actor=Party.REVIEWER, now=now, text=statement)
        for upload in evidence:
            Evidence.objects.create(
                dispute=dispute,
                name=upload.name[:120],
                content_type=upload.content_type,
                size=len(upload.data),
                data=upload.data,
                created_at=now,
            )
            _record(dispute, "evidence", actor=Party.REVIEWER, now=now, text=upload.name[:120], shown_to_shop=False)
        _end_hearing(dispute, answered=True, now=now)
    return dispute


def review_edited(*, review: Review, now: dt.datetime) -> None:
    """The reviewer changed a disputed review: the history says so (the shop and the moderators
    read the new text on the review). In the hearing it counts as the reviewer's answer to the
    complaint, and the hearing goes on until the reviewer answers or the deadline."""
    for dispute in Dispute.objects.select_for_update().filter(review=review, stage__in=Dispute.OPEN_STAGES):
        _record(dispute, "review_edited", actor=Party.REVIEWER, now=now)
        dispute.last_input_at = now
        if dispute.stage == Dispute.Stage.HEARING:
            dispute.reviewer_answered_at = now
        dispute.save(update_fields=["last_input_at", "reviewer_answered_at"])


def withdraw(*, dispute: Dispute, now: dt.datetime) -> Dispute:
    """The reviewer takes the review down: removed with its stub, the dispute closed (by
    `close_disputes_of`, as for any removal that is not this dispute's decision)."""
    with db_transaction.atomic():
        dispute = _locked(dispute)
        _need_stage(dispute, Dispute.Stage.HEARING, Dispute.Stage.REBUTTAL, Dispute.Stage.DECISION)
        review_actions.remove_review(
            review=dispute.review, ground=Withdrawal.BY_REVIEWER, origin=RemovalOrigin.REVIEWER, now=now
        )
    dispute.refresh_from_db()
    return dispute


def close_disputes_of(*, review: Review, origin: str, now: dt.datetime) -> None:
    """The review was removed other than by a dispute's decision (its author withdrew it, a
    notice's decision, an erasure request): its open dispute has nothing left to decide."""
    for dispute in (
        Dispute.objects.select_for_update()
        .select_related("shop", "review")
        .filter(review=review, stage__in=Dispute.OPEN_STAGES)
    ):
        withdrawn = origin == RemovalOrigin.REVIEWER
        _cancel_deadlines(dispute, *Deadline.Name.values)
        outcome = Dispute.Outcome.WITHDRAWN if withdrawn else Dispute.Outcome.MOOT
        _move(dispute, Dispute.Stage.CLOSED, outcome=outcome, closed_at=now, last_input_at=now)
        if withdrawn:
            _record(dispute, "withdrawn", actor=Party.REVIEWER, now=now)
        else:
            _record(dispute, "moot", actor=Party.SYSTEM, now=now)
        tell_shop(dispute, "withdrawn" if withdrawn else "moot")


def extend(*, dispute: Dispute, now: dt.datetime) -> Dispute:
    """The reviewer's one extension of the hearing, by 7 days."""
    with db_transaction.atomic():
        dispute = _locked(dispute)
        _need_stage(dispute, Dispute.Stage.HEARING)
        if dispute.extended:
            raise NotAllowed(_("The time to answer was extended once already."))
        deadline = Deadline.objects.select_for_update().get(
            dispute=dispute, name=Deadline.Name.REVIEWER, status=Deadline.Status.PENDING
        )
        deadline.due_at += dt.timedelta(days=EXTENSION_DAYS)
        deadline.save(update_fields=["due_at"])
        _move(dispute, Dispute.Stage.HEARING, extended=True)
        _record(dispute, "extended", actor=Party.REVIEWER, now=now, text=deadline.due_at.isoformat())
        tell_shop(dispute, "extended", answer_by=deadline.due_at.isoformat())
        tell_reviewer(dispute, "extended", answer_by=deadline.due_at.isoformat())
    return dispute


def _end_hearing(dispute: Dispute, *, answered: bool, now: dt.datetime) -> None:
    _cancel_deadlines(dispute, Deadline.Name.REVIEWER_REMINDER, Deadline.Name.REVIEWER)
    if answered:
        rebut_by = now + dt.timedelta(days=REBUTTAL_DAYS)
        _move(dispute, Dispute.Stage.REBUTTAL, reviewer_answered_at=now, last_input_at=now)
        _set_deadline(dispute, Deadline.Name.REBUTTAL, rebut_by)
        tell_shop(dispute, "answered", rebut_by=rebut_by.isoformat())
    elif dispute.reviewer_answered_at is not None:  # changed the review, and no statement
        _to_decision(dispute, now=now)
        tell_shop(dispute, "heard")
    else:
        _to_decision(dispute, now=now)
        tell_shop(dispute, "no_answer")


def _to_decision(dispute: Dispute, *, now: dt.datetime) -> None:
    _move(dispute, Dispute.Stage.DECISION)
    _set_deadline(dispute, Deadline.Name.DECISION, now + dt.timedelta(days=DECISION_DAYS))


# --- the shop's rebuttal and either party's appeal --------------------------------------------


def rebut(*, dispute: Dispute, user: User | None, text: str, now: dt.datetime) -> Dispute:
    """The shop's one answer to the reviewer's statement (a manager or owner: the caller
    checked), within 7 days; then the moderators decide."""
    text = _text("text", text)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        _need_stage(dispute, Dispute.Stage.REBUTTAL)
        _cancel_deadlines(dispute, Deadline.Name.REBUTTAL)
        _record(dispute, "rebuttal", actor=Party.SHOP, user=user, now=now, text=text)
        dispute.rebutted_at = dispute.last_input_at = now
        dispute.save(update_fields=["rebutted_at", "last_input_at"])
        _to_decision(dispute, now=now)
    return dispute


def appeal(*, dispute: Dispute, party: str, text: str, now: dt.datetime, user: User | None = None) -> Dispute:
    """Either party's appeal of the decision within 6 months (once per dispute), decided by a
    different moderator within 7 days."""
    if party not in (Party.SHOP, Party.REVIEWER):
        raise Invalid("party", "unknown party")
    text = _text("text", text, minimum=20)
    with db_transaction.atomic():
        dispute = _locked(dispute)
        _need_stage(dispute, Dispute.Stage.DECIDED)
        last = dispute.decisions.filter(interim=False).last()
        if last is None or last.appeal_until is None or now > last.appeal_until:
            raise NotAllowed(_("The time to appeal this decision has passed."))
        _move(dispute, Dispute.Stage.APPEAL, last_input_at=now)
        if dispute.review.is_published:
            review_actions.set_disputed(review=dispute.review, since=now)
        _record(dispute, "appealed", actor=party, user=user, now=now, text=text)
        _set_deadline(dispute, Deadline.Name.APPEAL_DECISION, now + dt.timedelta(days=DECISION_DAYS))
        tell_shop(dispute, "appealed", by=party)
        tell_reviewer(dispute, "appealed", by=party)
    return dispute


# --- deadlines --------------------------------------------------------------------------------


def deadline_passed(*, deadline: Deadline, now: dt.datetime) -> None:
    """What a deadline does when it passes; called by the dispatcher in the transaction that
    marks it done, so that it happens exactly once."""
    dispute = _locked(deadline.dispute)
    name = deadline.name
    if name == Deadline.Name.REVIEWER_REMINDER:
        if dispute.stage == Dispute.Stage.HEARING and dispute.reviewer_answered_at is None:
            answer_by = Deadline.objects.get(dispute=dispute, name=Deadline.Name.REVIEWER).due_at
            _record(dispute, "reminded", actor=Party.SYSTEM, now=now)
            tell_reviewer(dispute, "reminder", answer_by=answer_by.isoformat())
    elif name == Deadline.Name.REVIEWER:
        if dispute.stage != Dispute.Stage.HEARING:
            return
        _record(dispute, "hearing_ended", actor=Party.SYSTEM, now=now)
        if dispute.reason == Ground.NOT_A_CUSTOMER and dispute.reviewer_answered_at is None:
            # BGH VI ZR 1244/20: asked for proof of the purchase, the reviewer gave none.
            _cancel_deadlines(dispute, Deadline.Name.REVIEWER_REMINDER)
            _move(dispute, Dispute.Stage.DECISION)
            review_actions.remove_review(
                review=dispute.review, ground=dispute.reason, origin=RemovalOrigin.DISPUTE, now=now
            )
            _decision(
                dispute,
                measure=Decision.Measure.REMOVED,
                moderator=None,
                explanation="",  # the statement explains an automated removal in its own words
                now=now,
            )
            return
        _end_hearing(dispute, answered=False, now=now)
    elif name == Deadline.Name.REBUTTAL:
        if dispute.stage == Dispute.Stage.REBUTTAL:
            _record(dispute, "rebuttal_time_ended", actor=Party.SYSTEM, now=now)
            _to_decision(dispute, now=now)
    elif name in (Deadline.Name.TRIAGE, Deadline.Name.DECISION, Deadline.Name.APPEAL_DECISION):
        # Moderation is late: the moderators hear it once; the dispute waits for them.
        waiting = {
            Deadline.Name.TRIAGE: Dispute.Stage.TRIAGE,
            Deadline.Name.DECISION: Dispute.Stage.DECISION,
            Deadline.Name.APPEAL_DECISION: Dispute.Stage.APPEAL,
        }[Deadline.Name(name)]
        if dispute.stage == waiting:
            _record(dispute, f"{name}_overdue", actor=Party.SYSTEM, now=now, shown_to_reviewer=False)
            _tell_moderators(dispute, name)


# --- the word list's flags --------------------------------------------------------------------


def clear_flag(*, review: Review, moderator: User, now: dt.datetime) -> Review:
    """A moderator looked at a review the word list flagged and found nothing to do: it leaves
    the queue. Nothing public changes (the review was never hidden; its disclosure stays)."""
    with db_transaction.atomic():
        review = Review.objects.select_for_update(of=("self",)).select_related("shop").get(pk=review.pk)
        check_moderator(moderator, review.shop)
        if review.flagged_at is None or review.flag_cleared_at is not None:
            raise NotAllowed(_("This review is not waiting for a moderator."))
        review.flag_cleared_at = now
        review.save(update_fields=["flag_cleared_at"])
    return review
