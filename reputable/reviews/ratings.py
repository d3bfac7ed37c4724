"""The one rating formatter: every place that shows a score (profile, widgets, seal, SVG,
JSON, structured data) takes it from here, so the number, its spoken label and the markup
always agree, rounding included."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, translation
from django.utils.translation import gettext, ngettext

from reputable.reviews.summaries import Summary

ONE_PLACE = Decimal("0.1")
HALF = Decimal("0.5")


@dataclass(frozen=True)
class Rating:
    """A summary as shown: the mean rounded half up to one decimal, and the count."""

    score: Decimal | None  # None: no ratings yet
    count: int

    @classmethod
    def of(cls, summary: Summary) -> "Rating":
        if not summary.count:
            return cls(score=None, count=0)
        total = sum(stars * n for stars, n in enumerate(summary.histogram, start=1))
        exact = Decimal(total) / Decimal(summary.count)
        return cls(score=exact.quantize(ONE_PLACE, rounding=ROUND_HALF_UP), count=summary.count)

    @classmethod
    def single(cls, stars: int) -> "Rating":
        """One review's stars, shown with the same stars and labels."""
        return cls(score=Decimal(stars).quantize(ONE_PLACE), count=1)

    @property
    def value(self) -> str:
        """The score as data (JSON, JSON-LD, SVG metadata): "4.6", whatever the language."""
        return str(self.score) if self.score is not None else ""

    def number(self, language: str) -> str:
        """The score as the language writes it: 4.6, 4,6."""
        if self.score is None:
            return ""
        with translation.override(language):
            return formats.number_format(self.score, decimal_pos=1, use_l10n=True)

    def label(self, language: str) -> str:
        """What a screen reader says: "Rated 4.6 out of 5, based on 128 reviews"."""
        with translation.override(language):
            if self.score is None:
                return gettext("No reviews yet")
            return ngettext(
                "Rated %(score)s out of 5, based on %(count)s review",
                "Rated %(score)s out of 5, based on %(count)s reviews",
                self.count,
            ) % {"score": self.number(language), "count": formats.number_format(self.count, use_l10n=True)}

    def count_text(self, language: str) -> str:
        with translation.override(language):
            return ngettext("%(count)s review", "%(count)s reviews", self.count) % {
                "count": formats.number_format(self.count, use_l10n=True)
            }

    @property
    def star_fills(self) -> tuple[str, ...]:
        """Five stars, each "full", "half" or "empty": the score to the nearest half star."""
        if self.score is None:
            return ("empty",) * 5
        halves = int((self.score / HALF).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return tuple("full" if halves >= 2 * n else "half" if halves == 2 * n - 1 else "empty" for n in range(1, 6))

    def aggregate_json_ld(self) -> dict[str, object]:
        """schema.org AggregateRating: the same rounded value the page shows."""
        return {
            "@type": "AggregateRating",
            "ratingValue": self.value,
            "bestRating": "5",
            "worstRating": "1",
            "ratingCount": self.count,
            "reviewCount": self.count,
        }

    def as_dict(self, language: str) -> dict[str, object]:
        """The widgets' JSON: the shown score, its label, the count."""
        return {
            "score": self.value or None,
            "score_text": self.number(language),
            "count": self.count,
            "label": self.label(language),
        }
