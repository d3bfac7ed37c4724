"""How a review that moderation touched is shown, in the same words everywhere it is shown (the
profile, the review page, the widgets and their JSON, the API, the exports, the inbox).

A disputed review stays published with the label "In dispute since <date>"; a redacted one
keeps its text, the mark already in it, and a note; a restricted or removed one is shown as its
stub only (its stars and date, when and why it was taken down), never its text or author.
Structured data and the product reviews feed leave restricted and removed reviews out.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext

from reputable.moderation import grounds
from reputable.reviews.models import RemovalOrigin, Review


def _day(moment: dt.datetime) -> str:
    """A date as the page's language writes it ("3 March 2026"), in the site's time zone."""
    return date_format(timezone.localtime(moment), "DATE_FORMAT")


def disputed_label(review: Review) -> str:
    """ "In dispute since 3 March 2026", or "" when no admissible dispute is open."""
    if review.disputed_since is None:
        return ""
    return gettext("In dispute since %(date)s") % {"date": _day(review.disputed_since)}


def redaction_note(review: Review) -> str:
    """The note under a text moderation redacted (the mark […] is in the text), or ""."""
    if review.redacted_at is None or not review.is_published:
        return ""
    return gettext("A passage was removed by moderation on %(date)s. Reason: %(reason)s.") % {
        "date": _day(review.redacted_at),
        "reason": grounds.label(review.redaction_ground),
    }


def restriction_ground(review: Review) -> str:
    """Why a restricted review is hidden: the ground of the interim decision that hid it.

    Read from the decision (the review keeps no ground of its own while restricted): one query
    per restricted review shown, and restricted reviews are few and short-lived (until the
    decision, days)."""
    from reputable.moderation.models import Decision  # moderation builds on reviews

    restrictions = Decision.objects.filter(review=review, measure=Decision.Measure.RESTRICTED)
    decision = restrictions.order_by("-created_at", "-id").first()
    return decision.ground if decision else ""


def takedown_ground(review: Review) -> str:
    """The ground code a stub names: the removal's, or the restriction's."""
    if review.status == Review.Status.REMOVED:
        return review.removal_ground
    return restriction_ground(review)


def stub_text(review: Review, *, shop_name: str, stars: int | None = None) -> str:
    """The public stub of a restricted or removed review, in its place: "Review (2 stars,
    3 March 2026) removed on 4 April 2026 after a dispute raised by <shop>. Reason: <label>.
    Decided by moderation; appeal possible." `stars`: the rating the list shows (a product
    rating in a product's list), the review's own by default."""
    stars = review.rating if stars is None else stars
    values = {"stars": stars, "written": _day(review.created_at), "shop": shop_name}
    reason = gettext("Reason: %(reason)s.") % {"reason": grounds.label(takedown_ground(review))}
    if review.status == Review.Status.RESTRICTED:
        values["date"] = _day(review.restricted_at or review.created_at)
        head = ngettext(
            "Review (%(stars)s star, %(written)s) hidden on %(date)s pending a moderator's decision.",
            "Review (%(stars)s stars, %(written)s) hidden on %(date)s pending a moderator's decision.",
            stars,
        )
        return f"{head % values} {reason}"
    values["date"] = _day(review.removed_at or review.updated_at)
    # Taken down by its author, or at their request: no moderator decided, nothing to appeal.
    if review.removal_origin == RemovalOrigin.REVIEWER:
        return (
            ngettext(
                "Review (%(stars)s star, %(written)s) removed by its author on %(date)s.",
                "Review (%(stars)s stars, %(written)s) removed by its author on %(date)s.",
                stars,
            )
            % values
        )
    if review.removal_origin == RemovalOrigin.DATA_SUBJECT:
        return (
            ngettext(
                "Review (%(stars)s star, %(written)s) removed at the reviewer's request on %(date)s.",
                "Review (%(stars)s stars, %(written)s) removed at the reviewer's request on %(date)s.",
                stars,
            )
            % values
        )
    if review.removal_origin == RemovalOrigin.NOTICE:
        head = ngettext(
            "Review (%(stars)s star, %(written)s) removed on %(date)s after a notice from a third party.",
            "Review (%(stars)s stars, %(written)s) removed on %(date)s after a notice from a third party.",
            stars,
        )
    else:
        head = ngettext(
            "Review (%(stars)s star, %(written)s) removed on %(date)s after a dispute raised by %(shop)s.",
            "Review (%(stars)s stars, %(written)s) removed on %(date)s after a dispute raised by %(shop)s.",
            stars,
        )
    decided = gettext("Decided by moderation; appeal possible.")
    return f"{head % values} {reason} {decided}"


# --- the same in JSON (the API, the widgets' JSON, the exports) --------------------------------


def state(review: Review) -> dict[str, Any]:
    """What every shown review says of its moderation, beside its own fields."""
    return {
        "status": review.status,
        "disputed_since": review.disputed_since,
        "redacted_at": review.redacted_at,
        "redaction_reason": grounds.label(review.redaction_ground) if review.redacted_at else None,
    }


def stub(review: Review, *, stars: int | None = None) -> dict[str, Any]:
    """A restricted or removed review in a list: its stub, without its text or its author."""
    ground = takedown_ground(review)
    return {
        "id": review.pk,
        "rating": review.rating if stars is None else stars,
        "created_at": review.created_at,
        "status": review.status,
        "disputed_since": review.disputed_since,
        "restricted_at": review.restricted_at,
        "removed_at": review.removed_at if review.status == Review.Status.REMOVED else None,
        "removal_origin": review.removal_origin or None,
        "removal_ground": ground or None,
        "removal_reason": grounds.label(ground) if ground else None,
    }
