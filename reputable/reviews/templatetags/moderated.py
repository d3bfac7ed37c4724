"""How a review that moderation touched is shown (reputable.reviews.moderated), for templates."""

from django import template

from reputable.reviews import moderated
from reputable.reviews.models import Review

register = template.Library()


@register.filter
def disputed_label(review: Review) -> str:
    return moderated.disputed_label(review)


@register.filter
def redaction_note(review: Review) -> str:
    return moderated.redaction_note(review)


@register.simple_tag
def review_stub(review: Review, shop_name: str, stars: int | str | None = None) -> str:
    """The stub's sentence; `stars` the rating the list shows (a product's), if not the review's."""
    return moderated.stub_text(review, shop_name=shop_name, stars=stars if isinstance(stars, int) else None)
