"""The analytics section of a shop's dashboard: `/dashboard/<slug>/analytics?from=&to=`.

Ratings over time, their distribution, sources, sub-ratings, replies, the invitation funnel,
conversion and languages of a span of days (UTC), each an SVG chart with the same figures in
a table under it (the chart is hidden from screen readers, the table is not).

Everything is read from the rating buckets (one row per day) and the daily counters
(`reputable.reviews.counters`, one row per metric and day), never from the reviews or
invitations they count: the page costs the same three queries for a hundred reviews as for a
million.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import get_language, get_language_info, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.events.models import Event
from reputable.reviews import counters
from reputable.reviews.charts import bars_svg, over_time_svg
from reputable.reviews.models import StarBand
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import Summary, months_before, months_between
from reputable.shops.models import Shop

SECTION = "dashboard-analytics"
# The longest span the page shows: 120 months on one chart is as much as it can draw.
MAX_SPAN_DAYS = 3653

Outcome = Event.Outcome
SKIP_LABELS = {
    Outcome.NO_ACTIVE_RULE: gettext_lazy("No active rule for the event"),
    Outcome.TOO_OLD: gettext_lazy("Order older than the rule allows"),
    Outcome.SUPPRESSED: gettext_lazy("Address suppressed"),
    Outcome.FREQUENCY_CAP: gettext_lazy("Address invited recently (frequency cap)"),
    Outcome.STOPPED: gettext_lazy("Order returned or cancelled first"),
}


class RangeForm(forms.Form):
    """The span of days shown, both ends included; the last 12 months when neither is given."""

    def __init__(self, data: Mapping[str, Any], *, today: dt.date) -> None:
        super().__init__(data)
        self.today = today
        widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(label=gettext_lazy("From"), required=False, widget=widget)
        self.fields["to"] = forms.DateField(label=gettext_lazy("To"), required=False, widget=widget)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        end = data.get("to") or self.today
        start = data.get("from") or months_before(end, 11)
        if end > self.today:
            self.add_error("to", ValidationError(_("Pick a day up to today."), code="future"))
        elif start > end:
            self.add_error("from", ValidationError(_("The start lies after the end."), code="order"))
        elif (end - start).days >= MAX_SPAN_DAYS:
            self.add_error("from", ValidationError(_("Pick at most ten years."), code="span"))
        data["span"] = (start, end)
        return data


def presets(shop: Shop, today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(label, from, to) of the spans one click away."""
    since = max(shop.created_at.date(), today - dt.timedelta(days=MAX_SPAN_DAYS - 1))
    return [
        (_("Last 30 days"), today - dt.timedelta(days=29), today),
        (_("Last 12 months"), months_before(today, 11), today),
        (_("All"), min(since, today), today),
    ]


@dataclass(frozen=True)
class Chart:
    """One chart and its table: `columns` head the table (the first one the rows' heads)."""

    key: str
    title: str
    svg: SafeString
    columns: Sequence[str]
    rows: Sequence[tuple[str, Sequence[str]]]
    note: str = ""


def _count(n: int) -> str:
    return number_format(n, use_l10n=True, force_grouping=True)


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _percent_text(share: int | None) -> str:
    return "–" if share is None else f"{share} %"


def _score(summary: Summary) -> str:
    return Rating.of(summary).number(get_language()) or "–"


def _add(summaries: Sequence[Summary]) -> Summary:
    return Summary(histogram=tuple(sum(column) for column in zip(*(s.histogram for s in summaries), strict=True)))  # type: ignore[arg-type]


def _bars(key: str, title: str, rows: Sequence[tuple[str, int]], whole: int, *, column: str, note: str = "") -> Chart:
    """A chart of counts, each with its share of `whole`."""
    shares = [(label, n, _percent(n, whole)) for label, n in rows]
    return Chart(
        key,
        title,
        bars_svg([(label, n, _count(n)) for label, n, _share in shares]),
        [column, _("Number"), _("Share")],
        [(label, [_count(n), _percent_text(share)]) for label, n, share in shares],
        note,
    )


def _language_name(code: str) -> str:
    if code == "und":
        return _("Unknown")
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def _mean_text(mean: float | None) -> str:
    return "–" if mean is None else number_format(mean, decimal_pos=1, use_l10n=True)


class Report:
    """The figures and charts of the days `start`..`end`: three queries (two over rating
    buckets, one over counters), whatever the number of reviews."""

    def __init__(self, shop: Shop, start: dt.date, end: dt.date) -> None:
        self.months = months_between(shop=shop, start=start, end=end)
        # From 11 months before the first, for the rolling 12 months up to each month.
        history = [summary for _month, summary in months_between(shop=shop, start=months_before(start, 11), end=end)]
        self.rolling = [_add(history[index : index + 12]) for index in range(len(self.months))]
        self.ratings = _add([summary for _month, summary in self.months])
        self.counts = counters.totals(shop=shop, prefixes=[""], start=start, end=end)

    def n(self, metric: str) -> int:
        return self.counts.get(metric, 0)

    def context(self) -> dict[str, Any]:
        orders, reviewed = self.n("orders"), self.n("reviews.source.verified")
        return {
            "ratings": Rating.of(self.ratings),
            "rolling": Rating.of(self.rolling[-1]),
            "orders_text": ngettext("of %(count)s order reported", "of %(count)s orders reported", orders)
            % {"count": _count(orders)},
            "conversion": _percent_text(_percent(reviewed, orders)),
            # The reminders' uplift: the share of the invited customers' reviews that came after one.
            "uplift": _percent_text(_percent(self.n("reviews.after_reminder"), reviewed)),
            "charts": [
                self.over_time(),
                self.distribution(),
                self.sources(),
                self.subratings(),
                self.replies(),
                self.funnel(),
                self.losses(),
                self.languages(),
            ],
        }

    def over_time(self) -> Chart:
        months, rolling = self.months, self.rolling
        long_range = months[0][0].year != months[-1][0].year
        axis = [date_format(month, "M y" if long_range else "M") for month, _summary in months]
        return Chart(
            "over-time",
            _("Average rating per month"),
            over_time_svg(months, axis, rolling),
            [_("Month"), _("Average"), _("Reviews"), _("Rolling 12 months")],
            [
                (date_format(month, "YEAR_MONTH_FORMAT"), [_score(summary), _count(summary.count), _score(rolling[i])])
                for i, (month, summary) in enumerate(months)
            ],
            _("Dots and the solid line: each month's average. Dashed line: the 12 months up to each month."),
        )

    def distribution(self) -> Chart:
        rows = [
            (ngettext("%(stars)s star", "%(stars)s stars", stars) % {"stars": stars}, count)
            for stars, count, _share in self.ratings.shares()
        ]
        return _bars("distribution", _("Distribution of ratings"), rows, self.ratings.count, column=_("Rating"))

    def sources(self) -> Chart:
        labels = {"verified": _("Verified (invited)"), "imported": _("Imported")}
        rows = [(label, self.n(f"reviews.source.{source}")) for source, label in labels.items()]
        return _bars("sources", _("Reviews by source"), rows, sum(n for _label, n in rows), column=_("Source"))

    def subratings(self) -> Chart:
        labels = {"delivery": _("Delivery"), "service": _("Service")}
        rows = []
        for name in counters.SUBRATINGS:
            total, count = self.n(f"subratings.{name}.sum"), self.n(f"subratings.{name}.count")
            mean = total / count if count else None
            rows.append((labels[name], mean, _mean_text(mean), count))
        return Chart(
            "subratings",
            _("Sub-ratings"),
            bars_svg([(label, mean or 0, text) for label, mean, text, _n in rows], scale=5),
            [_("Sub-rating"), _("Average"), _("Ratings")],
            [(label, [text, _count(count)]) for label, _mean, text, count in rows],
        )

    def replies(self) -> Chart:
        """Response rate and median time to the first reply per star band: the replies written
        in the span against the reviews written in it (a reply may answer an older review)."""
        histogram = self.ratings.histogram
        reviews = {
            StarBand.LOW: histogram[0] + histogram[1],
            StarBand.MIDDLE: histogram[2],
            StarBand.HIGH: histogram[3] + histogram[4],
        }
        rows = []
        for band, written in reviews.items():
            replied = self.n(f"replies.{band.value}")
            rate = min(100, round(100 * replied / written)) if written else None
            rows.append((str(band.label), written, replied, rate, self.median_reply_text(band.value)))
        return Chart(
            "replies",
            _("Public replies by rating"),
            bars_svg([(label, rate or 0, _percent_text(rate)) for label, _w, _r, rate, _m in rows], scale=100),
            [_("Rating"), _("Reviews"), _("Replied"), _("Response rate"), _("Time to first reply")],
            [
                (label, [_count(written), _count(replied), _percent_text(rate), median])
                for label, written, replied, rate, median in rows
            ],
            _("Replies written in the span, against the reviews written in it."),
        )

    def median_reply_text(self, band: str) -> str:
        prefix = f"reply_hours.{band}."
        median = counters.median_reply_bin(
            {name.removeprefix(prefix): n for name, n in self.counts.items() if name.startswith(prefix)}
        )
        if median is None:
            return "–"
        hours, open_ended = median
        if open_ended:
            return ngettext("median %(hours)s hour or more", "median %(hours)s hours or more", hours) % {"hours": hours}
        return ngettext("median under %(hours)s hour", "median under %(hours)s hours", hours) % {"hours": hours}

    def funnel(self) -> Chart:
        rows = [
            (_("Orders"), self.n("orders")),
            (_("Invitations scheduled"), self.n("invitations.scheduled")),
            (_("Invitations sent"), self.n("messages.sent.invitation")),
            (_("Reminders sent"), self.n("messages.sent.reminder")),
            (_("Reviews"), self.n("reviews.source.verified")),
        ]
        return _bars(
            "funnel",
            _("Invitation funnel"),
            rows,
            self.n("orders"),
            column=_("Step"),
            note=_("Shares are of the orders reported in the span."),
        )

    def losses(self) -> Chart:
        rows = [
            (_("Bounced"), self.n("bounced")),
            (_("Unsubscribed"), self.n("unsubscribed")),
            (_("Complained"), self.n("complained")),
            (_("Sending failed"), self.n("messages.failed")),
            (_("Cancelled by a return or cancellation"), self.n("invitations.cancelled")),
            *((str(label), self.n(f"invitations.skipped.{outcome.value}")) for outcome, label in SKIP_LABELS.items()),
        ]
        return _bars("not-invited", _("Not invited or stopped, by reason"), rows, self.n("orders"), column=_("Reason"))

    def languages(self) -> Chart:
        rows = sorted(
            (
                (_language_name(metric.removeprefix("reviews.")), value)
                for metric, value in self.counts.items()
                # reviews.<lang>; not reviews.source.<source>, nor reviews.after_reminder
                if metric.startswith("reviews.") and metric.count(".") == 1 and metric != "reviews.after_reminder"
            ),
            key=lambda row: (-row[1], row[0]),
        )
        return _bars("languages", _("Reviews by language"), rows, sum(n for _l, n in rows), column=_("Language"))


@require_safe
@shop_page(role=Role.VIEWER)
def analytics(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    today = timezone.now().date()
    form = RangeForm(request.GET, today=today)
    context: dict[str, Any] = {
        "section": SECTION,
        "form": form,
        "presets": [
            (label, start, end, "?" + urlencode({"from": start.isoformat(), "to": end.isoformat()}))
            for label, start, end in presets(shop, today)
        ],
    }
    if not form.is_valid():
        return page(request, "dashboard/analytics/page.html", context, status=400)
    start, end = form.cleaned_data["span"]
    context |= {"start": start, "end": end, **Report(shop, start, end).context()}
    return page(request, "dashboard/analytics/page.html", context)


urls = [path("analytics", analytics, name="dashboard-analytics")]
