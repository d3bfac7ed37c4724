"""Filters for moderation's emails and pages: labels of codes, dates kept as ISO text."""

import datetime as dt

from django import template

from reputable.moderation import grounds
from reputable.moderation.models import Decision

register = template.Library()


@register.filter
def ground_label(code: str) -> str:
    return grounds.label(code)


@register.filter
def measure_label(code: str) -> str:
    return str(Decision.Measure(code).label) if code in Decision.Measure.values else code


@register.filter
def isodate(value: str) -> dt.datetime | str:
    """A datetime from the ISO text an email's context keeps (JSON has no dates), for |date."""
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return ""
