"""One rule for all text Reputable takes in (the API, forms, paths, queries): no control characters.

Single-line text (names, references, subjects, keys, filters) may contain a tab but no other
C0 or C1 control character, no DEL and no line separator. Multi-line text (review and template
bodies) may also break lines; the CRLF that browsers send is stored as LF. Text that is not
valid Unicode (a lone surrogate from a JSON escape) is refused too: no database can store it.
The API checks the patterns in pydantic's core (`Line`, `Paragraphs`); forms use the same
patterns through `validate_line` and `validate_paragraphs`.
"""

import re
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from pydantic import BeforeValidator, StringConstraints

# The control characters no text may hold (a regular expression class body): C0 but tab, LF
# and CR, DEL, C1, the line and paragraph separators.
CONTROL = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029"
LINE_PATTERN = f"^[^{CONTROL}\\n\\r]*$"
PARAGRAPHS_PATTERN = f"^[^{CONTROL}]*$"
LINE_MESSAGE = "must be one line of text, without control characters"
PARAGRAPHS_MESSAGE = "must not contain control characters"
# What the API says for each pattern, instead of pydantic's "String should match pattern ...".
MESSAGES = {LINE_PATTERN: LINE_MESSAGE, PARAGRAPHS_PATTERN: PARAGRAPHS_MESSAGE}

_LINE = re.compile(LINE_PATTERN)
_PARAGRAPHS = re.compile(PARAGRAPHS_PATTERN)
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def unix_line_ends(value: Any) -> Any:
    """CRLF and CR as LF: browsers send textarea line breaks as CRLF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]
Paragraphs = Annotated[str, BeforeValidator(unix_line_ends), StringConstraints(pattern=PARAGRAPHS_PATTERN)]


def is_line(value: str) -> bool:
    return _LINE.fullmatch(value) is not None and _SURROGATE.search(value) is None


def is_paragraphs(value: str) -> bool:
    return _PARAGRAPHS.fullmatch(value) is not None and _SURROGATE.search(value) is None


def validate_line(value: str) -> None:
    """Django validator: single-line text."""
    if not is_line(value):
        raise ValidationError(LINE_MESSAGE, code="control_characters")


def validate_paragraphs(value: str) -> None:
    """Django validator: multi-line text (line ends already made LF)."""
    if _PARAGRAPHS.fullmatch(unix_line_ends(value)) is None or _SURROGATE.search(value):
        raise ValidationError(PARAGRAPHS_MESSAGE, code="control_characters")
