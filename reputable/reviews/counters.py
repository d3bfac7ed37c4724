"""A shop's daily counters: what analytics read instead of the rows they count.

`add()` is called in the transaction of the write it counts (so a counter never drifts from
what happened) and adds to one row per metric and day (UTC), in one statement however many
metrics change. `totals()` and `per_day()` read them back for a span of days.

Metrics (names are `<what>` or `<what>.<part>`):
- orders                          transactions reported (first event of a reference)
- invitations.scheduled           invitations created
- invitations.skipped.<reason>    events that invited nobody, by Event.Outcome
- messages.sent.invitation        first messages sent
- messages.sent.reminder          reminders sent
- messages.failed                 invitations given up after failed sends
- bounced / unsubscribed          addresses suppressed for that reason
- reviews.<lang>                  reviews written, by the invitation's language
- reviews.source.<source>         reviews by where they came from (verified, imported)
- reviews.after_reminder          reviews written after at least one reminder
- subratings.<name>.sum / .count  delivery and service ratings (their mean)
- replies.<band>                  reviews that got their first public reply, by star band
- reply_hours.<band>.<bin>        hours from review to first reply, in bins (see REPLY_BINS)
"""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import connection

from reputable.lib import sql
from reputable.reviews.models import DailyCount
from reputable.shops.models import Shop

# Upper bounds (hours) of the bins of the time to a first reply; the last bin is open.
REPLY_BINS = (1, 4, 12, 24, 48, 72, 168, 336, 720)


def reply_bin(hours: float) -> str:
    for bound in REPLY_BINS:
        if hours < bound:
            return f"lt{bound}"
    return f"ge{REPLY_BINS[-1]}"


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


def totals(*, shop: Shop, prefixes: Iterable[str], start: dt.date, end: dt.date) -> dict[str, int]:
    """Each metric starting with one of `prefixes`, summed over start <= day <= end."""
    rows = per_day(shop=shop, prefixes=prefixes, start=start, end=end)
    result: dict[str, int] = {}
    for (_day, metric), value in rows.items():
        result[metric] = result.get(metric, 0) + value
    return result


def per_day(*, shop: Shop, prefixes: Iterable[str], start: dt.date, end: dt.date) -> dict[tuple[dt.date, str], int]:
    """(day, metric) -> value for the metrics starting with one of `prefixes`, start <= day <= end."""
    result: dict[tuple[dt.date, str], int] = {}
    for prefix in prefixes:
        rows = DailyCount.objects.filter(
            shop=shop, metric__startswith=prefix, day__gte=start, day__lte=end
        ).values_list("day", "metric", "value")
        for day, metric, value in rows:
            result[(day, metric)] = result.get((day, metric), 0) + value
    return result
