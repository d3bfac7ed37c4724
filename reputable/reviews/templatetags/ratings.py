"""Template tags over the one rating formatter (reputable.reviews.ratings) and its SVG."""

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from reputable.reviews.charts import bar_svg, stars_svg
from reputable.reviews.ratings import Rating

register = template.Library()


@register.simple_tag
def rating_stars(rating: Rating, css_class: str = "rp-stars") -> SafeString:
    """A summary's stars, labelled "Rated 4.6 out of 5, based on 128 reviews"."""
    return stars_svg(rating, rating.label(get_language()), css_class)


@register.simple_tag
def review_stars(stars: int, css_class: str = "rp-stars") -> SafeString:
    """One review's stars, labelled "4 of 5 stars"."""
    return stars_svg(Rating.single(stars), gettext("%(stars)s of 5 stars") % {"stars": stars}, css_class)


@register.filter
def score(rating: Rating) -> str:
    """The score as the current language writes it: 4.6, 4,6."""
    return rating.number(get_language())


@register.simple_tag
def bar(percent: int) -> SafeString:
    return bar_svg(percent)


@register.filter
def label(rating: Rating) -> str:
    """What a screen reader says of the rating, in the current language."""
    return rating.label(get_language())
