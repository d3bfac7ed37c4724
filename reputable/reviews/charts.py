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


def over_time_svg(
    months: Sequence[tuple[dt.date, Summary]],
    month_labels: Sequence[str],
    rolling: Sequence[Summary] | None = None,
) -> SafeString:
    """The mean rating of each month as a line over a 1-5 scale, a dot per month with ratings;
    with `rolling` (a summary per month, e.g. of the 12 months up to it), a second, dashed line.
    At most about seven month names on the axis, the latest always."""
    width, height, left, top, bottom = 360, 140, 24, 8, 24
    plot_h = height - top - bottom
    step = (width - left - 18) / max(1, len(months) - 1)
    label_every = max(2, math.ceil(len(months) / 6))

    def y_of(value: float) -> float:
        return top + plot_h * (5 - value) / 4

    def x_of(index: int) -> float:
        return left + step * index

    def line(summaries: Sequence[Summary], css_class: str) -> str:
        points = [
            f"{x_of(index):.1f},{y_of(float(Rating.of(summary).score or 0)):.1f}"
            for index, summary in enumerate(summaries)
            if summary.count
        ]
        return f'<polyline class="{css_class}" points="{" ".join(points)}"/>' if len(points) > 1 else ""

    grid = "".join(
        f'<line class="rp-grid" x1="{left}" x2="{width - 4}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}"/>'
        f'<text class="rp-axis" x="{left - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v}</text>'
        for v in (1, 2, 3, 4, 5)
    )
    dots, labels = [], []
    for index, ((_month, summary), label) in enumerate(zip(months, month_labels, strict=True)):
        x = x_of(index)
        if summary.mean is not None:
            score = float(Rating.of(summary).score or 0)
            dots.append(f'<circle class="rp-dot" cx="{x:.1f}" cy="{y_of(score):.1f}" r="3"/>')
        if (len(months) - 1 - index) % label_every == 0:
            labels.append(
                f'<text class="rp-axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>'
            )
    lines = line([summary for _month, summary in months], "rp-line")
    if rolling is not None:
        lines = line(rolling, "rp-line rp-rolling") + lines
    return mark_safe(  # noqa: S308 - numbers and escaped month names only
        f'<svg class="rp-over-time" viewBox="0 0 {width} {height}" aria-hidden="true" focusable="false">'
        + grid
        + lines
        + "".join(dots)
        + "".join(labels)
        + "</svg>"
    )


def bars_svg(rows: Sequence[tuple[str, float, str]], *, scale: float | None = None) -> SafeString:
    """Horizontal bars, one per (label, amount, amount as shown) row, drawn to scale against
    `scale` (default: the largest amount); each row's label and shown amount above its bar, so
    that a label of any length fits."""
    width, row_h = 360, 30
    most = scale if scale is not None else max((amount for _label, amount, _shown in rows), default=0)
    parts = []
    for index, (label, amount, shown) in enumerate(rows):
        y = index * row_h
        length = width * max(0.0, min(1.0, amount / most)) if most > 0 else 0
        parts.append(
            f'<text class="rp-axis" x="0" y="{y + 11}">{escape(label)}</text>'
            f'<text class="rp-axis" x="{width}" y="{y + 11}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="rp-bar-track" y="{y + 15}" width="{width}" height="10" rx="2"/>'
            f'<rect class="rp-bar" y="{y + 15}" width="{length:.1f}" height="10" rx="2"/>'
        )
    return mark_safe(  # noqa: S308 - numbers and escaped labels only
        f'<svg class="rp-bars" viewBox="0 0 {width} {max(1, len(rows)) * row_h}" aria-hidden="true" focusable="false">'
        + "".join(parts)
        + "</svg>"
    )
