"""Merchant-editable message text: placeholders only, never template code.

A text may contain `{first_name}`, `{shop_name}`, `{order_reference}`, `{review_url}` and
`{unsubscribe_url}`. Anything else in braces (an unknown name, `{{ x }}`, `{% if %}`, a
stray brace) is rejected when the text is saved, and substitution is a plain string
replacement, so nothing a merchant writes is ever executed.
"""

import re
from collections.abc import Mapping

from django.utils.html import linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe

PLACEHOLDERS = ("first_name", "shop_name", "order_reference", "review_url", "unsubscribe_url")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class PlaceholderError(ValueError):
    pass


def check_placeholders(text: str) -> None:
    """Raise PlaceholderError unless `text` uses only the known placeholders."""
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise PlaceholderError(f"unknown placeholder {{{name}}}; allowed are {allowed}")
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        raise PlaceholderError(
            "braces may only enclose a placeholder such as {first_name}; template code is not allowed"
        )


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def as_html(text: str) -> SafeString:
    """Plain text as HTML paragraphs with its links clickable; every character escaped."""
    return mark_safe(linebreaks(urlize(text, autoescape=True), autoescape=False))  # urlize escaped it
