"""Rating summaries from the per-day buckets: count, mean and 1-5 histogram."""

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import F, Sum

from reputable.reviews.models import Product, RatingBucket
from reputable.shops.models import Shop

STAR_FIELDS = ("stars_1", "stars_2", "stars_3", "stars_4", "stars_5")


@dataclass(frozen=True)
class Summary:
    histogram: tuple[int, int, int, int, int]  # how many 1, 2, 3, 4, 5 star ratings

    @property
    def count(self) -> int:
        return sum(self.histogram)

    @property
    def mean(self) -> float | None:
        if not self.count:
            return None
        return round(sum(stars * n for stars, n in enumerate(self.histogram, start=1)) / self.count, 2)

    def shares(self) -> list[tuple[int, int, int]]:
        """(stars, count, percent of all) for 5 stars down to 1: the rows of a histogram."""
        total = self.count or 1
        return [
            (stars, self.histogram[stars - 1], round(100 * self.histogram[stars - 1] / total))
            for stars in (5, 4, 3, 2, 1)
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean": self.mean,
            "histogram": {str(stars): n for stars, n in enumerate(self.histogram, start=1)},
        }


@dataclass(frozen=True)
class Summaries:
    all_time: Summary
    last_12_months: Summary


def summarise(*, shop: Shop, product: Product | None = None, today: dt.date) -> Summaries:
    """Two queries: the all-time row, and the sum of the last 365 days' rows."""
    buckets = RatingBucket.objects.filter(shop=shop, product=product)
    all_time = buckets.filter(day=None).values_list(*STAR_FIELDS).first() or (0, 0, 0, 0, 0)
    recent = buckets.filter(day__gt=today - dt.timedelta(days=365)).aggregate(
        **{name: Sum(name, default=0) for name in STAR_FIELDS}
    )
    return Summaries(
        all_time=Summary(histogram=tuple(all_time)),  # type: ignore[arg-type]
        last_12_months=Summary(histogram=tuple(recent[name] for name in STAR_FIELDS)),  # type: ignore[arg-type]
    )


def between(*, shop: Shop, start: dt.date, end: dt.date, product: Product | None = None) -> Summary:
    """The ratings of the days start <= day <= end (UTC days): one sum over their day rows."""
    counts = RatingBucket.objects.filter(shop=shop, product=product, day__gte=start, day__lte=end).aggregate(
        **{name: Sum(name, default=0) for name in STAR_FIELDS}
    )
    return Summary(histogram=tuple(counts[name] for name in STAR_FIELDS))  # type: ignore[arg-type]


def all_time_of(*, shop: Shop, products: list[Product]) -> dict[int, Summary]:
    """Each product's all-time summary, in one query whatever the number of products."""
    rows = RatingBucket.objects.filter(shop=shop, product__in=products, day=None).values_list(
        "product_id", *STAR_FIELDS
    )
    found = {product_id: Summary(histogram=tuple(counts)) for product_id, *counts in rows}  # type: ignore[arg-type]
    return {product.pk: found.get(product.pk, Summary(histogram=(0, 0, 0, 0, 0))) for product in products}


def count_rating(*, shop: Shop, product: Product | None, day: dt.date, stars: int, change: int) -> None:
    """Add (change=1) or take back (change=-1) one rating in the day's and the all-time rows.

    Call inside the transaction that writes the review, so the summary never drifts from it.
    """
    field = STAR_FIELDS[stars - 1]
    for bucket_day in (day, None):
        rows = RatingBucket.objects.filter(shop=shop, product=product, day=bucket_day)
        if rows.update(**{field: F(field) + change}):
            continue
        try:
            with db_transaction.atomic():
                RatingBucket.objects.create(shop=shop, product=product, day=bucket_day, **{field: max(change, 0)})
        except IntegrityError:  # created meanwhile by a concurrent review
            rows.update(**{field: F(field) + change})


def monthly(*, shop: Shop, product: Product | None = None, today: dt.date) -> list[tuple[dt.date, Summary]]:
    """The ratings of each of the last 12 calendar months (this one included), oldest first:
    one query over at most 366 day rows."""
    return months_between(shop=shop, product=product, start=months_before(today, 11), end=today)


def months_before(day: dt.date, n: int) -> dt.date:
    """The first day of the calendar month `n` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(
    *, shop: Shop, product: Product | None = None, start: dt.date, end: dt.date
) -> list[tuple[dt.date, Summary]]:
    """The ratings of the days start..end, by calendar month (the first day of each), oldest
    first, a month without ratings included: one query over at most one row per day."""
    rows = RatingBucket.objects.filter(shop=shop, product=product, day__gte=start, day__lte=end).values_list(
        "day", *STAR_FIELDS
    )
    totals: dict[dt.date, list[int]] = {}
    month = start.replace(day=1)
    while month <= end:
        totals[month] = [0, 0, 0, 0, 0]
        month = months_before(month, -1)  # the next one
    for day, *counts in rows:
        month_total = totals[day.replace(day=1)]
        for index, n in enumerate(counts):
            month_total[index] += n
    return [(month, Summary(histogram=tuple(counts))) for month, counts in totals.items()]  # type: ignore[arg-type]
