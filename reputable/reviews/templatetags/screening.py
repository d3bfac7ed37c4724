"""What a review says about the checks at submission, in the page's language."""

from django import template

from reputable.reviews import screening

register = template.Library()


@register.filter
def disclosures(actions: list[str]) -> list[str]:
    """`review.automated` as sentences for the public (the profile, the review page, the inbox)."""
    return screening.disclosures(actions)


@register.filter
def short_disclosures(actions: list[str]) -> list[str]:
    """The same in a few words, for a widget's one line."""
    return screening.short_disclosures(actions)


@register.filter
def reviewer_notes(actions: list[str]) -> list[str]:
    """What the reviewer is told on the form."""
    return screening.reviewer_notes(actions)
