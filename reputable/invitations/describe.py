"""The shop's invitations in words: its rules for the public page on how its reviews are
collected; a rule's sentence, its next send dates and a sample message for the dashboard."""

import datetime as dt
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from reputable.events.models import EventType
from reputable.invitations.messages import Composer, Letter
from reputable.invitations.models import InvitationRule, MessageKind
from reputable.lib.dates import DelayUnit, time_zone
from reputable.lib.emails import Email
from reputable.shops.models import Shop


def delay_text(amount: int, unit: str) -> str:
    """ "7 days", "3 business days", in the current language."""
    words = {
        DelayUnit.MINUTES: ngettext("%(n)s minute", "%(n)s minutes", amount),
        DelayUnit.HOURS: ngettext("%(n)s hour", "%(n)s hours", amount),
        DelayUnit.DAYS: ngettext("%(n)s day", "%(n)s days", amount),
        DelayUnit.BUSINESS_DAYS: ngettext("%(n)s business day", "%(n)s business days", amount),
    }
    return words[DelayUnit(unit)] % {"n": amount}


@dataclass(frozen=True)
class InvitationWay:
    event: str
    delay: str
    business_days: bool
    send_time: str
    reminders: int
    reminder_interval: str
    max_age_days: int | None


def describe_invitations(shop: Shop) -> list[InvitationWay]:
    """Each active event type with its active rule: after what, how long, how many reminders."""
    rules = (
        InvitationRule.objects.filter(
            event_type__shop=shop, event_type__is_active=True, event_type__is_stop=False, is_active=True
        )
        .select_related("event_type")
        .order_by("event_type__name")
    )
    return [
        InvitationWay(
            event=rule.event_type.name,
            delay=delay_text(rule.delay_amount, rule.delay_unit),
            business_days=DelayUnit.BUSINESS_DAYS in (rule.delay_unit, rule.reminder_interval_unit),
            send_time=rule.send_time.strftime("%H:%M") if rule.send_time else "",
            reminders=rule.reminder_count,
            reminder_interval=delay_text(rule.reminder_interval_amount, rule.reminder_interval_unit),
            max_age_days=rule.max_transaction_age_days,
        )
        for rule in rules
    ]


# When an invitation goes out, after the built-in event types that start one, and after others.
_AFTER = {
    "checkout": (gettext_lazy("%(delay)s after the order"), gettext_lazy("right after the order")),
    "delivery": (gettext_lazy("%(delay)s after delivery"), gettext_lazy("right after delivery")),
}
_AFTER_OTHER = (gettext_lazy("%(delay)s after “%(event)s”"), gettext_lazy("right after “%(event)s”"))


def zone_city(zone: str) -> str:
    """The city that names a time zone: "Europe/Berlin" is "Berlin", "America/New_York" "New York"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def rule_sentence(rule: InvitationRule, shop: Shop) -> str:
    """The rule in the current language: "7 business days after delivery, at 10:00 Berlin
    time; 1 reminder 5 days later"."""
    event_type: EventType = rule.event_type
    delayed, at_once = _AFTER.get(event_type.key, _AFTER_OTHER) if event_type.is_builtin else _AFTER_OTHER
    values = {"delay": delay_text(rule.delay_amount, rule.delay_unit), "event": event_type.name}
    invitation = (delayed if rule.delay_amount else at_once) % values
    if rule.send_time is not None:
        invitation = _("%(invitation)s, at %(time)s %(city)s time") % {
            "invitation": invitation,
            "time": rule.send_time.strftime("%H:%M"),
            "city": zone_city(shop.timezone),
        }
    if rule.reminder_count:
        reminders = ngettext(
            "%(count)s reminder %(interval)s later", "%(count)s reminders, %(interval)s apart", rule.reminder_count
        ) % {
            "count": rule.reminder_count,
            "interval": delay_text(rule.reminder_interval_amount, rule.reminder_interval_unit),
        }
    else:
        reminders = _("no reminder")
    return capfirst(_("%(invitation)s; %(reminders)s") % {"invitation": invitation, "reminders": reminders})


def next_sends(rule: InvitationRule, shop: Shop, event_at: dt.datetime) -> list[dt.datetime]:
    """When the invitation and each reminder would go out for an order dated `event_at` and
    reported then: as ingestion schedules it (never before the report) and the dispatcher
    times each reminder from the message before it (here: sent on time)."""
    sends = [max(rule.first_send_at(event_at, shop), event_at)]
    for _step in range(rule.reminder_count):
        sends.append(rule.reminder_send_at(sends[-1], shop))
    return sends


def sample_schedule(rule: InvitationRule, shop: Shop, now: dt.datetime) -> list[tuple[str, str]]:
    """(what, when) for an event now: the event, the invitation and each reminder, in the
    shop's time zone and the current language ("Tue 8 Dec 10:00")."""
    zone = time_zone(shop.timezone)

    def when(moment: dt.datetime) -> str:
        return date_format(moment.astimezone(zone), "D j M H:i")

    first, *reminders = next_sends(rule, shop, now)
    rows = [(_("The event, now"), when(now)), (_("Invitation"), when(first))]
    rows += [(_("Reminder %(n)s") % {"n": n}, when(moment)) for n, moment in enumerate(reminders, 1)]
    return rows


# The values of a sample message: a customer called Jan, order 1001, links that lead nowhere.
SAMPLE_FIRST_NAME = "Jan"
SAMPLE_ORDER_REFERENCE = "1001"
SAMPLE_TOKEN = "example"


def sample_message(*, shop: Shop, kind: str, locale: str, subject: str, body: str, to: str) -> Email:
    """The message of `kind` a customer would get with this wording in `locale`, built by the
    dispatcher's own code (`Composer`) from sample values."""
    letter = Letter(
        invitation_id=0,
        step=0 if kind == MessageKind.INVITATION else 1,
        email=to,
        locale=locale,
        token=SAMPLE_TOKEN,
        first_name=SAMPLE_FIRST_NAME,
        order_reference=SAMPLE_ORDER_REFERENCE,
        shop=shop,
    )
    return Composer().describe(letter, {(kind, locale): (subject, body)})
