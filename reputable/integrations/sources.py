"""Other portals' ratings as the seal, the badge and the profile show them: beside Reputable's
verified score, never in it.

Each source of a shop is read from its ImportedSource row (one row a source, one query for all),
kept up to date by the imports. A combined score of verified and imported reviews is shown
only when the shop turned it on (`Shop.combined_score`), labelled as such, and computed by the
formula published on /s/<slug>/how-reviews-work (WEIGHTS below, explained in `formula()`).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, translation
from django.utils.translation import gettext, ngettext

from reputable.integrations.models import ImportedSource
from reputable.lib import pagecache
from reputable.reviews.ratings import ONE_PLACE, Rating
from reputable.reviews.summaries import Summaries, Summary
from reputable.shops.models import Shop

# The combined score's weights, by where a rating comes from and how old it is. Verified
# reviews are linked to an order the shop reported; imported ones were collected elsewhere, by
# rules Reputable cannot check, so they weigh half. The age of an imported rating is its
# source's: the summary keeps totals, not each rating's date, so a source without any review in
# the last 12 months weighs half again.
WEIGHTS = {
    "verified_recent": Decimal("1.0"),  # verified, written in the last 12 months
    "verified_older": Decimal("0.5"),  # verified, older
    "imported_recent": Decimal("0.5"),  # imported, its source's newest review within 12 months
    "imported_older": Decimal("0.25"),  # imported, its source's newest review older than that
}
RECENT = dt.timedelta(days=365)


@dataclass(frozen=True)
class SourceScore:
    """One other portal's rating of the shop, on its own scale and in stars."""

    source: str  # ReviewSource's value
    name: str
    score: Decimal  # on the portal's own scale, rounded half up to one decimal
    scale: int  # 5, or Kiyoh's 10
    stars: Decimal  # the exact stars' mean, 1-5
    stars_total: Decimal
    count: int
    last_reviewed_at: dt.datetime | None
    url: str

    def score_text(self, language: str) -> str:
        """ "8.7/10", "4,6/5": the score as the portal gives it, in the language's numbers."""
        with translation.override(language):
            return f"{formats.number_format(self.score, decimal_pos=1, use_l10n=True)}/{self.scale}"

    def count_text(self, language: str) -> str:
        with translation.override(language):
            return ngettext("%(count)s review", "%(count)s reviews", self.count) % {
                "count": formats.number_format(self.count, use_l10n=True)
            }

    def date_text(self, language: str) -> str:
        if self.last_reviewed_at is None:
            return ""
        with translation.override(language):
            return formats.date_format(self.last_reviewed_at.date(), "SHORT_DATE_FORMAT", use_l10n=True)

    def as_dict(self, language: str) -> dict[str, object]:
        """The widgets' JSON of a source: never `verified`, its own scale said."""
        return {
            "source": self.source,
            "name": self.name,
            "score": str(self.score),
            "scale": self.scale,
            "score_text": self.score_text(language),
            "stars": str(self.stars.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)),
            "count": self.count,
            "count_text": self.count_text(language),
            "last_reviewed_at": self.last_reviewed_at.isoformat() if self.last_reviewed_at else None,
            "last_reviewed_text": self.date_text(language),
            "url": self.url or None,
            "verified": False,
        }


def sources_of(shop: Shop) -> list[SourceScore]:
    """The shop's other portals with at least one review, most reviews first: one query."""
    rows = ImportedSource.objects.filter(shop=shop, count__gt=0).order_by("-count", "source_name", "pk")
    return [
        SourceScore(
            source=row.source,
            name=row.source_name,
            score=(Decimal(row.original_total) / row.count).quantize(ONE_PLACE, rounding=ROUND_HALF_UP),
            scale=row.original_scale,
            stars=Decimal(row.stars_total) / row.count,
            stars_total=Decimal(row.stars_total),
            count=row.count,
            last_reviewed_at=row.last_reviewed_at,
            url=row.url,
        )
        for row in rows
    ]


def _weighted(summary: Summary) -> tuple[Decimal, int]:
    """The sum of a summary's stars, and its count."""
    return Decimal(sum(stars * n for stars, n in enumerate(summary.histogram, start=1))), summary.count


def combined_score(*, shop: Shop, verified: Summaries, sources: list[SourceScore], now: dt.datetime) -> Rating | None:
    """The combined score, when the shop shows one and has other portals' reviews; else None.

    The weighted mean of every rating, by WEIGHTS: from the verified summaries (last 12 months
    and older) and each source's totals, so O(1) a source. Its count is every rating's.
    """
    if not shop.combined_score or not sources:
        return None
    recent_total, recent_count = _weighted(verified.last_12_months)
    all_total, all_count = _weighted(verified.all_time)
    total = WEIGHTS["verified_recent"] * recent_total + WEIGHTS["verified_older"] * (all_total - recent_total)
    weight = WEIGHTS["verified_recent"] * recent_count + WEIGHTS["verified_older"] * (all_count - recent_count)
    count = all_count
    for source in sources:
        recent = source.last_reviewed_at is not None and source.last_reviewed_at > now - RECENT
        factor = WEIGHTS["imported_recent"] if recent else WEIGHTS["imported_older"]
        total += factor * source.stars_total
        weight += factor * source.count
        count += source.count
    if not weight:
        return None
    return Rating(score=(total / weight).quantize(ONE_PLACE, rounding=ROUND_HALF_UP), count=count)


def formula() -> list[str]:
    """The combined score's formula, sentence by sentence, as /s/<slug>/how-reviews-work publishes it."""

    def number(value: Decimal) -> str:
        return formats.number_format(value, decimal_pos=2, use_l10n=True)

    return [
        gettext(
            "The combined score is a weighted mean of the star ratings of the verified reviews and of the"
            " reviews imported from other portals, rounded to one decimal."
        ),
        gettext("A verified review of the last 12 months weighs %(recent)s, an older one %(older)s.")
        % {"recent": number(WEIGHTS["verified_recent"]), "older": number(WEIGHTS["verified_older"])},
        gettext(
            "An imported review weighs %(recent)s, because Reputable cannot check how it was collected;"
            " %(older)s when its portal has no review from the last 12 months."
        )
        % {"recent": number(WEIGHTS["imported_recent"]), "older": number(WEIGHTS["imported_older"])},
        gettext("A rating on another scale (such as 1 to 10) is converted to stars first."),
    ]


def sources_changed(shop: Shop) -> None:
    """What the seal, badge and profile show of `shop`'s sources has changed: its cached
    widgets go once the transaction commits. Call in the transaction that writes an
    ImportedSource (an import, a change of its URL or collection method)."""
    pagecache.changed(shop.slug)
