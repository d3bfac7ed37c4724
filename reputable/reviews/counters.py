"""A shop's daily counters: what analytics read instead of the rows they count.

`add()` is called in the transaction of the write it counts (so a counter never drifts from
what happened; the one exception, messages sent, is counted per claimed batch by the
dispatcher, see reputable.invitations.dispatch) and adds to one row per metric and day (UTC,
the day it happened), in one statement however many metrics change. `totals()` and `per_day()` read them back for a span
of days, in one query each.

Metrics (names are `<what>` or `<what>.<part>`):
- orders                          transactions reported (first event of a reference)
- invitations.scheduled           invitations created
- invitations.skipped.<reason>    events of an order that invited nobody, by Event.Outcome
                                  (see SKIP_REASONS; stop events are not counted here)
- invitations.cancelled           pending invitations a stop event cancelled
- messages.sent.invitation        first messages sent
- messages.sent.reminder          reminders sent
- messages.failed                 invitations given up after failed sends
- bounced / unsubscribed / complained   addresses suppressed for that reason (a suppression
                                  for every shop counts in each shop that invited the address)
- reviews.<lang>                  reviews written, by language (see `language_of`)
- reviews.source.<source>         reviews by where they came from (verified, imported)
- reviews.after_reminder          reviews written after at least one reminder
- reviews.removed.<ground>        reviews removed (and not reinstated), by the ground of the
                                  removal (reputable.moderation.grounds), on the day removed
- subratings.<name>.sum / .count  delivery and service ratings (their mean)
- replies.<band>                  reviews that got their first public reply, by StarBand value
- reply_hours.<band>.<bin>        hours from review to first reply, in bins (see REPLY_BINS)

`reply_metrics()` and `review_metrics()` name the metrics of one reply and one review, so that
the writes and `reputable recount` (which rebuilds the counters from the rows) agree.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation, Suppression
from reputable.lib import sql
from reputable.reviews.models import DailyCount, Review, StarBand
from reputable.shops.models import Shop

# Upper bounds (hours) of the bins of the time to a first reply; the last bin is open.
REPLY_BINS = (1, 4, 12, 24, 48, 72, 168, 336, 720)
SUBRATINGS = ("delivery", "service")
# Outcomes of an order's event that mean "not invited, and why" (when the order has no
# invitation). The others say what happened to an invitation, not why there is none.
SKIP_REASONS = (
    Event.Outcome.NO_ACTIVE_RULE,
    Event.Outcome.TOO_OLD,
    Event.Outcome.SUPPRESSED,
    Event.Outcome.FREQUENCY_CAP,
    Event.Outcome.STOPPED,
)
# Suppression reasons counted (a merchant's own manual suppression is not a funnel loss).
SUPPRESSION_METRICS = ("bounced", "unsubscribed", "complained")


def reply_bin(hours: float) -> str:
    for bound in REPLY_BINS:
        if hours < bound:
            return f"lt{bound}"
    return f"ge{REPLY_BINS[-1]}"


def median_reply_bin(counts: Mapping[str, int]) -> tuple[int, bool] | None:
    """The bin holding the median of a band's reply times, from its `reply_hours` counts by bin
    name: (its bound in hours, whether that is the open last bin "N hours or more"), or None
    without replies."""
    total = sum(counts.values())
    if not total:
        return None
    seen = 0
    for bound in REPLY_BINS:
        seen += counts.get(f"lt{bound}", 0)
        if 2 * seen >= total:
            return bound, False
    return REPLY_BINS[-1], True


def language_of(locale: str) -> str:
    """The language a review is counted under: the primary subtag of its locale ("de-AT" -> "de"),
    "und" (undetermined) without one."""
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code.isalpha() else "und"


def review_metrics(
    *, locale: str, verified: bool, sent_count: int, delivery: int | None, service: int | None
) -> dict[str, int]:
    """What one new review adds: its language, source, reminder, sub-ratings."""
    metrics = {
        f"reviews.{language_of(locale)}": 1,
        f"reviews.source.{'verified' if verified else 'imported'}": 1,
        "reviews.after_reminder": int(sent_count >= 2),  # the invitation and at least one reminder
    }
    return metrics | subrating_changes(before=(None, None), after=(delivery, service))


def subrating_changes(*, before: tuple[int | None, int | None], after: tuple[int | None, int | None]) -> dict[str, int]:
    """How the sub-rating sums and counts move when (delivery, service) change from `before` to `after`."""
    metrics: dict[str, int] = {}
    for name, old, new in zip(SUBRATINGS, before, after, strict=True):
        metrics[f"subratings.{name}.sum"] = (new or 0) - (old or 0)
        metrics[f"subratings.{name}.count"] = (new is not None) - (old is not None)
    return metrics


def reply_metrics(*, stars: int, hours: float) -> dict[str, int]:
    """What a review's first public reply adds, `hours` after the review was written."""
    band = StarBand.of(stars).value
    return {f"replies.{band}": 1, f"reply_hours.{band}.{reply_bin(hours)}": 1}


_TABLE = sql.table(DailyCount)


def add(*, shop: Shop | int, day: dt.date, metrics: Mapping[str, int]) -> None:
    """Add each of `metrics` (name -> amount, which may be negative) to `day`'s counter."""
    changes = [(name, n) for name, n in metrics.items() if n]
    if not changes:
        return
    shop_id = shop if isinstance(shop, int) else shop.pk
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(changes))
    params: list[object] = []
    with connection.cursor() as cursor:
        db = sql.Statements(cursor)
        for name, n in changes:
            params += [shop_id, name, db.value(day), n]
        db.execute(
            f"INSERT INTO {_TABLE} (shop_id, metric, day, value) VALUES {rows}"
            " ON CONFLICT (shop_id, metric, day) DO UPDATE SET value = "
            f"{_TABLE}.value + excluded.value",
            params,
        )


def _matching(shop: Shop, prefixes: Iterable[str], start: dt.date, end: dt.date) -> QuerySet[DailyCount]:
    prefixes = list(prefixes)
    if not prefixes:
        return DailyCount.objects.none()
    names = Q()
    if "" not in prefixes:  # "" is every metric
        for prefix in prefixes:
            names |= Q(metric__startswith=prefix)
    return DailyCount.objects.filter(names, shop=shop, day__gte=start, day__lte=end)


def totals(*, shop: Shop, prefixes: Iterable[str], start: dt.date, end: dt.date) -> dict[str, int]:
    """Each metric starting with one of `prefixes`, summed over start <= day <= end: one query,
    one row per metric (the sum is the database's)."""
    rows = _matching(shop, prefixes, start, end).values("metric").annotate(total=Sum("value")).order_by()
    return {row["metric"]: row["total"] for row in rows}


def per_day(*, shop: Shop, prefixes: Iterable[str], start: dt.date, end: dt.date) -> dict[tuple[dt.date, str], int]:
    """(day, metric) -> value for the metrics starting with one of `prefixes`, start <= day <= end."""
    rows = _matching(shop, prefixes, start, end).values_list("day", "metric", "value")
    return {(day, metric): value for day, metric, value in rows}


def recount(*, shop: Shop) -> int:
    """Rebuild the shop's counters from its rows, for an installation that had data before
    the counters existed (`reputable recount`). Returns the number of counter rows written.

    The rows keep no date of every message sent: an invitation's messages are counted on the
    day of its last one, and a failed invitation on the day it was last due. A reply counts
    under the review's rating as it is now.
    """
    days: Counter[tuple[dt.date, str]] = Counter()

    def by_day(rows: QuerySet[Any], field: str, metric: str, *, part: str = "", value: Any = None) -> None:
        """Count `rows` (or sum `value` over them) by the UTC day of `field`, as `metric`
        followed by the row's column `part` if one is named."""
        grouped = rows.annotate(day=TruncDate(field, tzinfo=dt.UTC)).values("day", *([part] if part else []))
        for row in grouped.annotate(n=value or Count("pk")).order_by():
            days[(row["day"], metric + (row[part] if part else ""))] += row["n"]

    invitations = Invitation.objects.filter(shop=shop)
    events = Event.objects.filter(shop=shop)
    sent = invitations.filter(last_sent_at__isnull=False)
    by_day(Transaction.objects.filter(shop=shop), "created_at", "orders")
    by_day(invitations, "created_at", "invitations.scheduled")
    by_day(events.filter(outcome=Event.Outcome.CANCELLED), "received_at", "invitations.cancelled")
    skipped = events.filter(outcome__in=SKIP_REASONS, invitation=None, event_type__is_stop=False)
    by_day(skipped, "received_at", "invitations.skipped.", part="outcome")
    by_day(sent.filter(sent_count__gte=1), "last_sent_at", "messages.sent.invitation")
    by_day(sent.filter(sent_count__gte=2), "last_sent_at", "messages.sent.reminder", value=Sum(F("sent_count") - 1))
    by_day(invitations.filter(status=Invitation.Status.FAILED), "send_at", "messages.failed")
    suppressions = Suppression.objects.filter(
        Q(shop=shop) | Q(shop=None, email__in=invitations.values("email")), reason__in=SUPPRESSION_METRICS
    )
    by_day(suppressions, "created_at", "", part="reason")
    reviews = Review.objects.filter(shop=shop).values_list(
        "created_at", "locale", "transaction_id", "invitation__sent_count", "delivery_rating", "service_rating"
    )
    for created_at, locale, transaction_id, sent_count, delivery, service in reviews.iterator():
        metrics = review_metrics(
            locale=locale,
            verified=transaction_id is not None,
            sent_count=sent_count or 0,
            delivery=delivery,
            service=service,
        )
        for metric, n in metrics.items():
            days[(created_at.astimezone(dt.UTC).date(), metric)] += n
    removed = Review.objects.filter(shop=shop, status=Review.Status.REMOVED)
    by_day(removed, "removed_at", "reviews.removed.", part="removal_ground")
    replied = Review.objects.filter(shop=shop, replied_at__isnull=False)
    for created_at, replied_at, stars in replied.values_list("created_at", "replied_at", "rating"):
        assert replied_at is not None  # as filtered (for the type checker)
        for metric, n in reply_metrics(stars=stars, hours=(replied_at - created_at).total_seconds() / 3600).items():
            days[(replied_at.astimezone(dt.UTC).date(), metric)] += n
    rows = [DailyCount(shop=shop, day=day, metric=metric, value=n) for (day, metric), n in days.items() if n]
    with db_transaction.atomic():
        DailyCount.objects.filter(shop=shop).delete()
        DailyCount.objects.bulk_create(rows, batch_size=500)
    return len(rows)
