"""The shop's invitation rules in words, for the public page on how its reviews are collected."""

from dataclasses import dataclass

from django.utils.translation import ngettext

from reputable.invitations.models import InvitationRule
from reputable.lib.dates import DelayUnit
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
