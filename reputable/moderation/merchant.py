"""A dispute as its shop may see it, for the API and the dashboard alike.

The shop reads the entries of the history marked `shown_to_shop` (the reviewer's statement is
one; the evidence is not, nor anything else the moderators keep to themselves), the pending
deadlines and every decision with its statement of reasons. Never the reviewer's address: no
field of what this module gives out holds it.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reputable.moderation.models import Deadline, Decision, Dispute, Entry
from reputable.reviews.listing import decode_cursor, encode_cursor
from reputable.reviews.models import Review
from reputable.shops.models import Shop

# What each step of the history is called on the shop's pages (its words: actions.py's).
ACTIONS: dict[str, Promise] = {
    "opened": _("Dispute opened"),
    "inadmissible": _("Not admissible"),
    "admitted": _("Admitted: the reviewer is heard"),
    "restricted": _("Review hidden until the decision"),
    "statement": _("The reviewer's statement"),
    "review_edited": _("The reviewer changed the review"),
    "extended": _("The reviewer was given 7 more days"),
    "reminded": _("The reviewer was reminded"),
    "hearing_ended": _("The time for the reviewer's answer ended"),
    "rebuttal": _("The shop's rebuttal"),
    "rebuttal_time_ended": _("The time for the shop's rebuttal ended"),
    "decided": _("Decision"),
    "appealed": _("Appeal"),
    "withdrawn": _("The reviewer withdrew the review"),
    "moot": _("Closed: the review was removed otherwise"),
    "triage_overdue": _("Triage is late; the moderators were reminded"),
    "decision_overdue": _("The decision is late; the moderators were reminded"),
    "appeal_decision_overdue": _("The decision on the appeal is late; the moderators were reminded"),
}

# The deadline that ends each stage, which the shop's pages show with the stage.
STAGE_DEADLINES = {
    Dispute.Stage.TRIAGE: Deadline.Name.TRIAGE,
    Dispute.Stage.HEARING: Deadline.Name.REVIEWER,
    Dispute.Stage.REBUTTAL: Deadline.Name.REBUTTAL,
    Dispute.Stage.DECISION: Deadline.Name.DECISION,
    Dispute.Stage.APPEAL: Deadline.Name.APPEAL_DECISION,
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


@dataclass(frozen=True)
class ShopView:
    """One dispute, with what of its history the shop may see."""

    dispute: Dispute
    entries: list[Entry]
    decisions: list[Decision]
    deadlines: list[Deadline]  # pending, soonest first
    # Until when the shop may appeal the decision; None when it may not (now or any more).
    appeal_until: dt.datetime | None

    @property
    def stage_deadline(self) -> Deadline | None:
        name = STAGE_DEADLINES.get(Dispute.Stage(self.dispute.stage))
        return next((d for d in self.deadlines if d.name == name), None)

    @property
    def may_rebut(self) -> bool:
        return self.dispute.stage == Dispute.Stage.REBUTTAL

    @property
    def may_appeal(self) -> bool:
        return self.appeal_until is not None


def shop_view(dispute: Dispute, *, now: dt.datetime) -> ShopView:
    decisions = list(dispute.decisions.all())
    final = [d for d in decisions if not d.interim]
    appeal_until = final[-1].appeal_until if final else None
    if dispute.stage != Dispute.Stage.DECIDED or appeal_until is None or now > appeal_until:
        appeal_until = None
    return ShopView(
        dispute=dispute,
        entries=list(dispute.entries.filter(shown_to_shop=True).select_related("user")),
        decisions=decisions,
        deadlines=list(dispute.deadlines.filter(status=Deadline.Status.PENDING).order_by("due_at", "pk")),
        appeal_until=appeal_until,
    )


def disputes_page(shop: Shop, *, cursor: str | None, limit: int) -> tuple[list[Dispute], str | None]:
    """The shop's disputes, newest first, from `cursor` on (keyset on (created_at, id), served
    by the index dispute_newest), and the cursor of the next page; BadParameter("cursor") for a
    cursor we did not give out."""
    rows = Dispute.objects.filter(shop=shop).select_related("review")
    if cursor:
        moment, pk = decode_cursor("cursor", cursor)
        rows = rows.filter(created_at__lte=moment).filter(Q(created_at__lt=moment) | Q(pk__lt=pk))
    found = list(rows.order_by("-created_at", "-id")[: limit + 1])
    items = found[:limit]
    more = len(found) > limit
    return items, encode_cursor(items[-1].created_at, items[-1].pk) if more else None


def latest_dispute(review: Review) -> Dispute | None:
    """The review's latest dispute, for its page in the inbox."""
    return review.disputes.order_by("-created_at", "-id").first()


def may_dispute(review: Review, latest: Dispute | None) -> bool:
    """Whether the shop may open a dispute on the review (as `open_dispute` checks, to show the
    button only where it would work): published, and neither in dispute nor decided on."""
    return review.is_published and (latest is None or latest.stage == Dispute.Stage.CLOSED)
