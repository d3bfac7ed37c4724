"""Notices (DSA Art. 16): anyone may report a review, by the form under every review.

    anyone sends the form ──▶ UNCONFIRMED (a link to the address given) ─(the link's POST)─▶
    OPEN (acknowledged; in the moderators' queue) ─(a moderator decides)─▶ DECIDED

- The address is verified by a link: the notice is stored with the SHA-256 of the link's token
  only. A notice not confirmed within CONFIRM_DAYS expires: it cannot be confirmed, and
  moderators never see it (their queue holds OPEN notices).
- A moderator (not of the shop's team) decides like on a dispute: kept, redacted or removed,
  and may restrict manifestly illegal content at once (`restrict_notice`). Every decision is a
  `Decision` with `notice` set, the statement of reasons that the notifier, the reviewer and
  the shop's managers receive (`notice_statement_recipients`).
- Privacy: the notifier's name and address are for moderators only; nothing the shop or the
  reviewer receives or sees names them.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction as db_transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from reputable.dispatch.outbox import send_email
from reputable.invitations.messages import language_for
from reputable.lib import emails, text
from reputable.lib.tokens import hash_secret, new_token
from reputable.moderation import actions
from reputable.moderation.actions import Invalid, NotAllowed
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Decision, Entry, Notice, Party
from reputable.reviews import actions as review_actions
from reputable.reviews.models import RemovalOrigin, Review
from reputable.shops.access import members_at_least
from reputable.shops.models import Membership

# How long the confirmation link works; then the notice expires unconfirmed.
CONFIRM_DAYS = 7
MIN_EXPLANATION = 20


def notice_url(token: str) -> str:
    return settings.BASE_URL + reverse("notice", args=[token])


# --- anyone sends a notice --------------------------------------------------------------------


def submit_notice(
    *,
    review: Review,
    reason: str,
    explanation: str,
    name: str,
    email: str,
    good_faith: bool,
    language: str,
    now: dt.datetime,
) -> Notice:
    """Store a notice about a published review, unconfirmed, and send its sender the link that
    confirms the address. Raises `Invalid` (naming the field) for input it cannot take."""
    if reason not in Ground.values:
        raise Invalid("reason", _("Choose one of the listed reasons."))
    # The texts' rules are the disputes' (`actions._text`: required, length, no control characters).
    explanation = actions._text("explanation", explanation, minimum=MIN_EXPLANATION)
    name = (name or "").strip()
    if not name:
        raise Invalid("name", _("This field is required."))
    if len(name) > 120 or not text.is_line(name):
        raise Invalid("name", _("Your name in one line of at most 120 characters, please."))
    email = (email or "").strip()
    if not emails.valid_address(email):
        raise Invalid("email", _("Enter a valid email address."))
    if not good_faith:
        raise Invalid("good_faith", _("Please confirm that you send this notice in good faith."))
    if not review.is_published:
        raise NotAllowed(_("This review is not shown, so there is nothing to report."))
    token = new_token()
    with db_transaction.atomic():
        notice = Notice.objects.create(
            review=review,
            reason=reason,
            explanation=explanation,
            name=name,
            email=emails.normalise_address(email),
            good_faith=True,
            language=language,
            token_hash=hash_secret(token),
            created_at=now,
        )
        send_email(
            "notice-confirm",
            to=notice.email,
            context=_context(notice) | {"url": notice_url(token), "days": CONFIRM_DAYS},
            language=language,
            shop=review.shop,
        )
    return notice


def _context(notice: Notice) -> dict[str, object]:
    """What the notifier's emails say about the notice (JSON)."""
    review = notice.review
    return {
        "notice": notice.pk,
        "shop_name": review.shop.name,
        "rating": review.rating,
        "review_date": review.created_at.isoformat(),
        "reason": notice.reason,
        "explanation": notice.explanation,
    }


def notice_for_token(token: str) -> Notice | None:
    """The notice a confirmation link names, or None."""
    return Notice.objects.select_related("review__shop").filter(token_hash=hash_secret(token)).first()


def is_expired(notice: Notice, now: dt.datetime) -> bool:
    """An unconfirmed notice past its link's time: never confirmed, never shown to moderators."""
    return notice.status == Notice.Status.UNCONFIRMED and now > notice.created_at + dt.timedelta(days=CONFIRM_DAYS)


def confirm_notice(*, notice: Notice, now: dt.datetime) -> Notice:
    """The sender confirmed the address (the link's POST): the notice waits for a moderator,
    and the sender gets the acknowledgement. Confirming again changes nothing."""
    with db_transaction.atomic():
        notice = _locked(notice)
        if notice.status != Notice.Status.UNCONFIRMED:
            return notice
        if is_expired(notice, now):
            raise NotAllowed(_("This link has expired. Please send the notice again."))
        notice.status, notice.confirmed_at = Notice.Status.OPEN, now
        notice.save(update_fields=["status", "confirmed_at"])
        # The notifier's text is for moderators: it may say who they are.
        _record(notice, "confirmed", actor=Party.NOTIFIER, now=now, text=notice.explanation, shown=False)
        send_email(
            "notice-received",
            to=notice.email,
            context=_context(notice),
            language=notice.language,
            shop=notice.review.shop,
        )
    return notice


def _locked(notice: Notice) -> Notice:
    return Notice.objects.select_for_update(of=("self",)).select_related("review__shop").get(pk=notice.pk)


def _record(
    notice: Notice, action: str, *, actor: str, now: dt.datetime, user: User | None = None, text: str = "", shown: bool
) -> Entry:
    return Entry.objects.create(
        notice=notice,
        actor=actor,
        user=user,
        action=action,
        text=text,
        shown_to_shop=shown,
        shown_to_reviewer=shown,
        created_at=now,
    )


# --- moderators decide ------------------------------------------------------------------------


def restrict_notice(*, notice: Notice, moderator: User, explanation: str, now: dt.datetime) -> Decision:
    """Hide the review at once until the decision on the notice: only for manifestly illegal
    content (threats, insults, hate, published personal data), with a statement of reasons."""
    explanation = actions._text("explanation", explanation)
    with db_transaction.atomic():
        notice = _locked(notice)
        review = notice.review
        actions.check_moderator(moderator, review.shop)
        if notice.status != Notice.Status.OPEN:
            raise NotAllowed(_("This notice is not open."))
        if notice.reason not in actions.RESTRICTABLE:
            raise NotAllowed(_("Only threats, insults, hate or published personal data may be restricted at once."))
        if not review.is_published:
            raise NotAllowed(_("The review is not published."))
        review_actions.restrict_review(review=review, now=now)
        return _decision(
            notice, measure=Decision.Measure.RESTRICTED, moderator=moderator, explanation=explanation, now=now
        )


def decide_notice(
    *, notice: Notice, moderator: User, measure: str, explanation: str, passage: str = "", now: dt.datetime
) -> Decision:
    """A moderator's decision on an open notice: "kept", "redacted" (`passage` replaced by a
    note) or "removed" (a `Decision.Measure` value). The statement of reasons goes to the
    notifier, the reviewer and the shop's managers and owners.

    Raises `NotAllowed` (not a moderator, a member of the shop's team, the notice not open, the
    review removed already) and `Invalid` (field "measure", "explanation" or "passage").
    """
    actions.check_final_measure(measure)
    explanation = actions._text("explanation", explanation)
    with db_transaction.atomic():
        notice = _locked(notice)
        review = notice.review
        actions.check_moderator(moderator, review.shop)
        if notice.status != Notice.Status.OPEN:
            raise NotAllowed(_("This notice is not open."))
        restricted_by_it = notice.decisions.filter(interim=True).exists()
        if measure != Decision.Measure.KEPT or restricted_by_it:
            # Keeping a review restricted by another case (a dispute) is not this notice's to undo.
            if review.status == Review.Status.REMOVED:
                raise NotAllowed(_("The review was removed already."))
            actions.apply_measure(
                review=review,
                measure=measure,
                ground=notice.reason,
                passage=passage,
                origin=RemovalOrigin.NOTICE,
                now=now,
            )
        notice.status, notice.decided_at = Notice.Status.DECIDED, now
        notice.save(update_fields=["status", "decided_at"])
        return _decision(
            notice, measure=measure, moderator=moderator, explanation=explanation, passage=passage, now=now
        )


def _decision(
    notice: Notice, *, measure: str, moderator: User, explanation: str, now: dt.datetime, passage: str = ""
) -> Decision:
    interim = measure == Decision.Measure.RESTRICTED
    confirmed = notice.confirmed_at or notice.created_at
    decision = Decision.objects.create(
        notice=notice,
        review=notice.review,
        moderator=moderator,
        measure=measure,
        ground=notice.reason,
        passage=passage,
        # In the platform's words, as for disputes; nothing that names the notifier.
        facts=(
            f"A notice sent through the notice form on {confirmed:%Y-%m-%d} reported the review on the"
            f" ground “{Ground(notice.reason).label}”."
        ),
        explanation=explanation,
        interim=interim,
        created_at=now,
    )
    _record(
        notice,
        "restricted" if interim else "decided",
        actor=Party.MODERATOR,
        user=moderator,
        now=now,
        text=explanation,
        shown=True,
    )
    actions.send_statement(decision)
    return decision


def notice_statement_recipients(notice: Notice) -> list[tuple[str, str, str, str]]:
    """Who receives the statement of reasons on a notice's decision, as (address, language,
    party, link): the notifier, the reviewer (unless the review was imported: no address) and
    the shop's managers and owners. Each link is one the recipient may open; none leads to the
    notifier's data."""
    review = notice.review
    shop = review.shop
    profile = settings.BASE_URL + reverse("profile", args=[shop.slug]) + f"#review-{review.pk}"
    recipients = [(notice.email, notice.language or settings.LANGUAGE_CODE, Party.NOTIFIER.value, profile)]
    invitation = review.invitation
    if invitation is not None and invitation.email:
        url = settings.BASE_URL + reverse("review-form", args=[invitation.token])
        recipients.append((invitation.email, language_for(review.locale, shop), Party.REVIEWER.value, url))
    dashboard = settings.BASE_URL + reverse("dashboard-review", args=[shop.slug, review.pk])
    for member in members_at_least(shop, Membership.Role.MANAGER).select_related("user"):
        recipients.append((member.user.email, language_for("", shop), Party.SHOP.value, dashboard))
    return recipients
