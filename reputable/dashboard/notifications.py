"""Notifications to a shop's team: an email on each new review, and a weekly digest.

Both are sent by the dispatcher, never in a request, as two outbox kinds:

- `new-review`: the row `reputable.reviews.actions` writes when a review is published. Done,
  it becomes one email to each active member whose star bands (1-2, 3, 4-5) and languages
  include the review's.
- `digest`: one row per shop and week, due on Monday at 08:00 in the shop's time zone. Done,
  it becomes one email to each member who wants the weekly digest, with the numbers of the
  week before, Monday to Sunday (UTC days, as the rating buckets and counters keep them),
  and the row of the next Monday. A shop whose members want the digest and that has no
  pending digest row (a new shop or member, a digest given up on) gets one from
  `Digests.plan()`.

Each row fans out in one transaction with its own completion (`FanOut`): a dispatcher killed
midway leaves the row to do and no email, and the row is done once however many dispatchers
run. The emails are the outbox's own (`send_email`), sent and retried one by one, so that a
failing address never repeats the others.

Team members have no language of their own in Reputable: their emails are in the shop's
default language, as the other mail to a shop's team (`language_for("", shop)`).

A member chooses their notifications on the dashboard (`save_preferences`) and stops one
kind from the link in each of its emails (`unsubscribe`, RFC 8058 one-click included).
"""

import datetime as dt
import logging
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db import transaction as db_transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.text import Truncator

from reputable.dispatch.models import OutboxItem
from reputable.dispatch.outbox import OutboxKind, enqueue, send_email
from reputable.dispatch.work import register
from reputable.invitations.messages import language_for
from reputable.lib.dates import time_zone
from reputable.lib.emails import AddressError
from reputable.reviews import counters
from reputable.reviews.models import Review, StarBand
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import between
from reputable.shops.access import members_at_least
from reputable.shops.models import Membership, Shop

log = logging.getLogger("reputable.notifications")

NEW_REVIEW = "new-review"
DIGEST = "digest"
KINDS = (NEW_REVIEW, DIGEST)  # each stopped on its own by the link in its emails

LANGUAGES = [code for code, _name in settings.LANGUAGES]
EXCERPT = 300  # characters of a review's text in its email
DIGEST_TIME = dt.time(8)  # on Mondays, in the shop's time zone
# The funnel of the digest: (metric of reputable.reviews.counters, key in the email's context).
FUNNEL = [
    ("invitations.scheduled", "scheduled"),
    ("messages.sent.invitation", "sent"),
    ("messages.sent.reminder", "reminders"),
    ("reviews.source.verified", "reviewed"),
]


# --- preferences ----------------------------------------------------------------------------


def save_preferences(
    *, membership: Membership, bands: Collection[str], languages: Collection[str], weekly_digest: bool
) -> None:
    """A member's own choice: an email on each new review in `bands` (StarBand values) and
    `languages` (none: any), and the weekly digest or not."""
    unknown = (set(bands) - set(StarBand.values)) | (set(languages) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown star bands or languages: {sorted(unknown)}")
    membership.notify_bands = " ".join(band for band in StarBand.values if band in bands)
    membership.notify_languages = " ".join(code for code in LANGUAGES if code in languages)
    membership.weekly_digest = weekly_digest
    membership.save(update_fields=["notify_bands", "notify_languages", "weekly_digest"])


def unsubscribe(*, membership: Membership, kind: str) -> None:
    """Stop one kind of notification (the other stays as it was)."""
    if kind == NEW_REVIEW:
        membership.notify_bands = ""
    elif kind == DIGEST:
        membership.weekly_digest = False
    else:
        raise ValueError(f"no notification kind named {kind!r}")
    membership.save(update_fields=["notify_bands", "weekly_digest"])


def wants_review(member: Membership, review: Review) -> bool:
    languages = member.notify_languages.split()
    return StarBand.of(review.rating) in member.notify_bands.split() and (
        not languages or counters.language_of(review.locale) in languages
    )


# --- the emails -----------------------------------------------------------------------------


def team_language(shop: Shop) -> str:
    return language_for("", shop)


def absolute(name: str, *args: object) -> str:
    return settings.BASE_URL + reverse(name, args=args)


def send_to_member(member: Membership, kind: str, context: dict[str, Any], *, shop: Shop, language: str) -> None:
    """One notification email of `kind` to `member`, with the link that stops this kind (also
    as RFC 8058 one-click unsubscribe headers)."""
    unsubscribe_url = absolute("notifications-unsubscribe", member.notification_token, kind)
    try:
        send_email(
            f"notify-{kind}",
            to=member.user.email,
            context=context | {"unsubscribe_url": unsubscribe_url},
            language=language,
            shop=shop,
            headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
    except AddressError:  # an account's address that no message can carry must not hold up the others
        log.warning("notifications: membership %s: no message can carry its user's address", member.pk)


class FanOut(OutboxKind):
    """An outbox row whose delivery writes emails to the team: in one transaction with the
    row's completion, so that the row is done once, with all its emails or none of them."""

    def perform(self, item: OutboxItem, now: dt.datetime) -> None:
        with db_transaction.atomic():
            # Only the holder of the claim completes the row (another dispatcher may have
            # taken it over after the lease ran out): the conditional update decides.
            if OutboxItem.objects.filter(pk=item.pk).record_done(item.claim_id, now=now):
                self.deliver(item)

    def record_done(self, item: OutboxItem, now: dt.datetime) -> None:
        """Recorded in `perform`, with the emails."""


@register
class NewReviews(FanOut):
    """A review was published: an email to each member who wants to hear of it."""

    name = NEW_REVIEW

    def deliver(self, item: OutboxItem) -> None:
        review = Review.objects.published().select_related("shop").filter(pk=item.payload["review"]).first()
        if review is None:
            return  # removed by a decision meanwhile
        shop = review.shop
        members = members_at_least(shop, Membership.Role.VIEWER).select_related("user")
        readers = [member for member in members if wants_review(member, review)]
        if not readers:
            return
        products = review.product_reviews.select_related("product").order_by("product__name", "pk")
        context = {
            "shop_name": shop.name,
            "rating": review.rating,
            "stars": "★" * review.rating + "☆" * (5 - review.rating),
            "title": review.title,
            "excerpt": Truncator(review.body).chars(EXCERPT),
            "author_name": review.author_name,
            "products": [{"name": p.product.name, "rating": p.rating} for p in products],
            "review_url": absolute("dashboard-review", shop.slug, review.pk),
            "preferences_url": absolute("dashboard-notifications", shop.slug),
        }
        language = team_language(shop)
        for member in readers:
            send_to_member(member, NEW_REVIEW, context, shop=shop, language=language)


# --- the weekly digest ----------------------------------------------------------------------


def next_digest_at(shop: Shop, after: dt.datetime) -> dt.datetime:
    """The first Monday 08:00 in the shop's time zone after `after`, in UTC."""
    zone = time_zone(shop.timezone)
    day = after.astimezone(zone).date()
    day += dt.timedelta(days=-day.weekday() % 7)  # the next Monday, or today if it is one
    while (moment := dt.datetime.combine(day, DIGEST_TIME, tzinfo=zone)) <= after:
        day += dt.timedelta(weeks=1)
    return moment.astimezone(dt.UTC)


def plan_digest(shop: Shop, now: dt.datetime) -> None:
    """The shop's next digest row, due on the next Monday at 08:00."""
    enqueue(DIGEST, {}, shop=shop, due_at=next_digest_at(shop, now))


def last_full_week(shop: Shop, now: dt.datetime) -> dt.date:
    """The Monday of the week before this one, in the shop's time zone: the week a digest sent
    now reports (sent late, after a dispatcher was down for days, it reports the last week too)."""
    today = now.astimezone(time_zone(shop.timezone)).date()
    return today - dt.timedelta(days=today.weekday() + 7)


def week_numbers(shop: Shop, first: dt.date, language: str) -> dict[str, Any]:
    """What the digest of the week from `first` (seven UTC days) says, formatted in `language`."""
    last = first + dt.timedelta(days=6)
    week = Rating.of(between(shop=shop, start=first, end=last))
    # As `summarise` counts the last 12 months, but ending with the week (not with today).
    year = Rating.of(between(shop=shop, start=last - dt.timedelta(days=364), end=last))
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    # Served by the index review_newest (shop, -created_at, -id): one week of one shop.
    unanswered = (
        Review.objects.published()
        .filter(shop=shop, created_at__gte=start, created_at__lt=start + dt.timedelta(weeks=1), replied_at=None)
        .count()
    )
    funnel = counters.totals(shop=shop, prefixes=[metric for metric, _key in FUNNEL], start=first, end=last)
    with translation.override(language):
        return {
            "first_day": formats.date_format(first, "DATE_FORMAT"),
            "last_day": formats.date_format(last, "DATE_FORMAT"),
            "week_score": week.number(language),
            "week_count": week.count_text(language),
            "year_score": year.number(language),
            "year_count": year.count_text(language),
            "new_reviews": week.count,
            "unanswered": unanswered,
            "funnel": {key: funnel.get(metric, 0) for metric, key in FUNNEL},
        }


@register
class Digests(FanOut):
    """A shop's week is over: the digest to each member who wants it, and the next week's row."""

    name = DIGEST
    PLAN_EVERY = dt.timedelta(minutes=1)  # how often a dispatcher looks for shops to plan

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planned_at: dt.datetime | None = None

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[OutboxItem]:
        if self.planned_at is None or now >= self.planned_at + self.PLAN_EVERY:
            self.plan(now)
            self.planned_at = now
        return super().claim(now, lease)

    def plan(self, now: dt.datetime) -> None:
        """A first digest row for each shop that has readers for it and no pending row."""
        wanted = Membership.objects.filter(shop=OuterRef("pk"), weekly_digest=True, user__is_active=True)
        pending = OutboxItem.objects.filter(shop=OuterRef("pk"), kind=DIGEST, status=OutboxItem.Status.PENDING)
        for shop in Shop.objects.filter(Exists(wanted)).exclude(Exists(pending)).only("pk", "timezone"):
            with db_transaction.atomic():
                # Dispatchers planning at once queue on the shop's row; the later one finds the row.
                list(Shop.objects.select_for_update().filter(pk=shop.pk).values_list("pk"))
                if not OutboxItem.objects.filter(shop=shop, kind=DIGEST, status=OutboxItem.Status.PENDING).exists():
                    plan_digest(shop, now)

    def deliver(self, item: OutboxItem) -> None:
        shop = item.shop
        assert shop is not None  # each digest row is a shop's (plan_digest)
        readers = list(members_at_least(shop, Membership.Role.VIEWER).filter(weekly_digest=True).select_related("user"))
        if not readers:
            return  # nobody wants it now: no next row either, until `plan()` finds a reader
        language = team_language(shop)
        now = timezone.now()
        context = week_numbers(shop, last_full_week(shop, now), language) | {
            "shop_name": shop.name,
            "dashboard_url": absolute("dashboard-overview", shop.slug),
            "preferences_url": absolute("dashboard-notifications", shop.slug),
        }
        for member in readers:
            send_to_member(member, DIGEST, context, shop=shop, language=language)
        plan_digest(shop, now)
