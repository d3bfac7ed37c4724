"""A shop's brand colour in its widgets: the accent of their links, the seal's title, the
verified mark.

widgets.css takes the accent from two custom properties, `--rp-brand` (light themes) and
`--rp-brand-dark`, with Reputable's own colours where they are not set; each shop's
stylesheet `/w/<slug>/brand.css` sets them. The accent is text on the widget's background, so
a colour too faint for that (a yellow on white, a navy on the dark theme) is darkened, or
lightened, just enough to be read (WCAG's 4.5:1 for text).
"""

import re

COLOUR = re.compile(r"#[0-9a-f]{6}")
# widgets.css's own accents, for a shop without a colour of its own.
DEFAULT = "#1a5a4b"
DEFAULT_DARK = "#8fd9c3"
# The widgets' backgrounds (--rp-bg) in the light and the dark theme.
LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#16181d"
MIN_CONTRAST = 4.5


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of a #rrggbb colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(linear, _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _legible(colour: str, background: str, towards: str) -> str:
    """`colour`, mixed with `towards` (black or white) in steps of 5 % until it reads on `background`."""
    start, end = _rgb(colour), _rgb(towards)
    for step in range(21):
        mixed = "#" + "".join(f"{round(s + (e - s) * step / 20):02x}" for s, e in zip(start, end, strict=True))
        if contrast(mixed, background) >= MIN_CONTRAST:
            return mixed
    return towards


def accents(brand_colour: str) -> tuple[str, str]:
    """The accent in light and in dark themes for a shop's colour ("" for Reputable's own)."""
    colour = brand_colour.lower()
    # Whatever was stored (a row written by hand), nothing but a colour goes into a style sheet.
    if not COLOUR.fullmatch(colour):
        return DEFAULT, DEFAULT_DARK
    return _legible(colour, LIGHT_BACKGROUND, "#000000"), _legible(colour, DARK_BACKGROUND, "#ffffff")


def stylesheet(brand_colour: str) -> str:
    """The shop's brand.css."""
    light, dark = accents(brand_colour)
    return f".rp{{--rp-brand:{light};--rp-brand-dark:{dark}}}\n"
