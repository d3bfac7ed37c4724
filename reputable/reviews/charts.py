"""Stars and charts as inline SVG: drawn to scale by geometry attributes, coloured by classes
(so themes work through CSS custom properties), no style attribute, no id, no script.

Every SVG here either carries its own accessible label (stars) or is hidden from assistive
technology because a data table beside it says the same (charts)."""

import datetime as dt
import math
from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import Summary


def _star_points(offset: float) -> list[tuple[float, float]]:
    """A five-pointed star in a 20x20 box, from the top point clockwise."""
    points = []
    for i in range(10):
        radius = 9.5 if i % 2 == 0 else 3.9
        angle = math.radians(-90 + 36 * i)
        points.append((round(offset + 10 + radius * math.cos(angle), 1), round(10.2 + radius * math.sin(angle), 1)))
    return points


def _path(points: Sequence[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{x:g} {y:g}" for x, y in points) + "Z"


def _full(n: int) -> str:
    return _path(_star_points(20 * n))


def _left_half(n: int) -> str:
    points = _star_points(20 * n)
    # The top point, the left side anticlockwise, down to the inner point on the axis.
    return _path([points[0], *points[9:4:-1]])


FULL = [_full(n) for n in range(5)]
HALF = [_left_half(n) for n in range(5)]


def star_paths(rating: Rating, on: str = 'class="rp-on"', off: str = 'class="rp-off"') -> SafeString:
    """The five stars' paths, to the nearest half star; `on` and `off` are their attributes."""
    lit, unlit = [], []
    for n, fill in enumerate(rating.star_fills):
        if fill == "full":
            lit.append(FULL[n])
        else:
            unlit.append(FULL[n])
            if fill == "half":
                lit.append(HALF[n])
    parts = [f'<path {off} d="{"".join(unlit)}"/>' if unlit else "", f'<path {on} d="{"".join(lit)}"/>' if lit else ""]
    return mark_safe("".join(parts))  # noqa: S308 - the callers' constant attributes, path data from numbers


def stars_svg(rating: Rating, label: str, css_class: str = "rp-stars") -> SafeString:
    """Five stars to the nearest half, labelled for screen readers (role img)."""
    return format_html(
        '<svg class="{}" viewBox="0 0 100 20" role="img" aria-label="{}" focusable="false">{}</svg>',
        css_class,
        label,
        star_paths(rating),
    )


def bar_svg(percent: int) -> SafeString:
    """A bar as long as its share (0-100): a histogram row, drawn to scale."""
    return format_html(
        '<svg class="rp-meter" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        '<rect class="rp-bar-track" width="100" height="8" rx="2"/>'
        '<rect class="rp-bar" width="{}" height="8" rx="2"/></svg>',
        max(0, min(100, int(percent))),
    )


def over_time_svg(months: Sequence[tuple[dt.date, Summary]], month_labels: Sequence[str]) -> SafeString:
    """The mean rating of each month as a line over a 1-5 scale, a dot per month with ratings."""
    width, height, left, top, bottom = 360, 140, 24, 8, 24
    plot_h = height - top - bottom
    step = (width - left - 8) / max(1, len(months) - 1)

    def y_of(value: float) -> float:
        return top + plot_h * (5 - value) / 4

    grid = "".join(
        f'<line class="rp-grid" x1="{left}" x2="{width - 4}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}"/>'
        f'<text class="rp-axis" x="{left - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v}</text>'
        for v in (1, 2, 3, 4, 5)
    )
    points, dots, labels = [], [], []
    for index, ((_month, summary), label) in enumerate(zip(months, month_labels, strict=True)):
        x = left + step * index
        if summary.mean is not None:
            score = float(Rating.of(summary).score or 0)
            points.append(f"{x:.1f},{y_of(score):.1f}")
            dots.append(f'<circle class="rp-dot" cx="{x:.1f}" cy="{y_of(score):.1f}" r="3"/>')
        if (len(months) - 1 - index) % 2 == 0:  # every other month, the latest included
            labels.append(
                f'<text class="rp-axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>'
            )
    line = f'<polyline class="rp-line" points="{" ".join(points)}"/>' if len(points) > 1 else ""
    return mark_safe(  # noqa: S308 - numbers and escaped month names only
        f'<svg class="rp-over-time" viewBox="0 0 {width} {height}" aria-hidden="true" focusable="false">'
        + grid
        + line
        + "".join(dots)
        + "".join(labels)
        + "</svg>"
    )
