"""Transparency figures: what happened to reviews, disputes and notices, per shop (on its "how
reviews work" page) and for the whole platform (`/transparency`), for the last 12 months and
all time.

- Reviews received and removed by reason come from the daily counters
  (`reviews.source.<source>`, `reviews.removed.<ground>`, see reputable.reviews.counters);
  reviews published (still shown) from the rating summaries. No review row is read.
- Disputes and notices are few: counted from their tables (a shop's disputes through the
  index `dispute_newest`). A dispute is upheld when the review was removed or redacted; the
  time to decision runs from opening to the (first) decision; "aimed at negatives" is the
  share of disputes opened on a 1-2 star review: a shop that only disputes negatives shows
  100 %.
- The platform's figures read every shop's counters: they are cached for an hour.
"""

import datetime as dt
import statistics
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q, Sum

from reputable.moderation.grounds import label
from reputable.moderation.models import Decision, Dispute, Notice
from reputable.reviews.models import DailyCount, RatingBucket
from reputable.shops.models import Shop

PLATFORM_CACHE_SECONDS = 3600
UPHELD = (Dispute.Outcome.REMOVED, Dispute.Outcome.REDACTED)
STARS = ("stars_1", "stars_2", "stars_3", "stars_4", "stars_5")


@dataclass(frozen=True)
class Figures:
    received: int  # reviews written
    published: int  # of which shown now
    removed: list[tuple[str, int]]  # (reason's label, reviews) by reason, most first
    disputes: int  # disputes opened
    upheld: int  # of which the review was removed or redacted
    median_days: float | None  # from opening to decision, of those decided
    negative: int  # disputes opened on a 1-2 star review
    notices: int  # notices confirmed by their senders
    notice_outcomes: list[tuple[str, int]]  # (measure's label, notices decided so)

    @property
    def removed_total(self) -> int:
        return sum(count for _label, count in self.removed)

    @property
    def negative_share(self) -> int | None:
        """The percentage of disputes aimed at 1-2 star reviews, or None without disputes."""
        return round(100 * self.negative / self.disputes) if self.disputes else None


@dataclass(frozen=True)
class Transparency:
    last_12_months: Figures
    all_time: Figures


def of_shop(*, shop: Shop, today: dt.date) -> Transparency:
    return _transparency(shop, today)


def of_platform(*, today: dt.date) -> Transparency:
    key = f"transparency:platform:{today.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = _transparency(None, today)
        cache.set(key, figures, PLATFORM_CACHE_SECONDS)
    return figures


def _transparency(shop: Shop | None, today: dt.date) -> Transparency:
    # The same 365 days as the rating summaries' "last 12 months".
    start = today - dt.timedelta(days=364)
    return Transparency(last_12_months=_figures(shop, start, today), all_time=_figures(shop, None, today))


def _figures(shop: Shop | None, start: dt.date | None, today: dt.date) -> Figures:
    """The figures of `shop` (None: every shop) for the days from `start` (None: ever) to today."""
    counters = DailyCount.objects.filter(
        Q(metric__startswith="reviews.source.") | Q(metric__startswith="reviews.removed.")
    )
    counters = counters.filter(day__lte=today)
    buckets = RatingBucket.objects.filter(product=None)
    disputes = Dispute.objects.all()
    notices = Notice.objects.filter(confirmed_at__isnull=False)
    if shop is not None:
        counters, buckets = counters.filter(shop=shop), buckets.filter(shop=shop)
        disputes, notices = disputes.filter(shop=shop), notices.filter(review__shop=shop)
    if start is not None:
        since = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        counters = counters.filter(day__gte=start)
        disputes, notices = disputes.filter(created_at__gte=since), notices.filter(confirmed_at__gte=since)

    received, removed = 0, []
    for metric, total in (
        counters.values("metric").annotate(total=Sum("value")).order_by().values_list("metric", "total")
    ):
        if metric.startswith("reviews.source."):
            received += total
        elif total:
            removed.append((label(metric.removeprefix("reviews.removed.")), total))
    removed.sort(key=lambda item: (-item[1], item[0]))
    # Rating buckets: the day rows of the span, or the all-time row (day None).
    buckets = buckets.filter(day__gte=start, day__lte=today) if start is not None else buckets.filter(day=None)
    published = sum(buckets.aggregate(**{name: Sum(name, default=0) for name in STARS}).values())
    tally = disputes.aggregate(
        opened=Count("pk"),
        upheld=Count("pk", filter=Q(outcome__in=UPHELD)),
        negative=Count("pk", filter=Q(rating__lte=2)),
    )
    waits = [
        (decided - created).total_seconds() / 86400
        for created, decided in disputes.filter(decided_at__isnull=False).values_list("created_at", "decided_at")
        if decided is not None  # as filtered (for the type checker)
    ]
    outcomes = Decision.objects.filter(notice__in=notices, interim=False).values("measure").annotate(n=Count("pk"))
    return Figures(
        received=received,
        published=published,
        removed=removed,
        disputes=tally["opened"],
        upheld=tally["upheld"],
        median_days=round(statistics.median(waits), 1) if waits else None,
        negative=tally["negative"],
        notices=notices.count(),
        notice_outcomes=[
            (str(Decision.Measure(row["measure"]).label), row["n"]) for row in outcomes.order_by("-n", "measure")
        ],
    )
