"""Merchant-editable message text: placeholders only, never template code.

A text may contain `{first_name}`, `{shop_name}`, `{order_reference}`, `{review_url}` and
`{unsubscribe_url}`. Anything else in braces (an unknown name, `{{ x }}`, `{% if %}`, a
stray brace) is rejected when the text is saved, and substitution is a plain string
replacement, so nothing a merchant writes is ever executed.
"""

import binascii
import email.message
import email.policy
import functools
import re
import secrets
from collections.abc import Mapping
from typing import Any

from django.core.mail import EmailMultiAlternatives
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


# --- Messages in wire form -------------------------------------------------------------------
#
# Django's EmailMessage.message().as_bytes() builds a message through the email package's
# modern API and costs about 2 ms here, more than sending it over SMTP. The dispatcher writes
# the bytes of its text + HTML messages itself, with the shape of Django's output: headers
# folded and RFC 2047-encoded by the email package's SMTP policy unless they are short ASCII,
# CRLF line ends, and each part 7bit when it is printable ASCII in lines of at most 998
# characters (RFC 5322's limit), quoted-printable otherwise. Django's backends send them.

_POLICY = email.policy.SMTP
# One boundary per process. A 7bit part that contains it is sent quoted-printable, where it
# cannot appear ("=" is always encoded).
BOUNDARY = f"==============={secrets.randbelow(10**19):019d}=="
_CRLF = "\r\n"
_NOT_7BIT = re.compile(r"[^\t\n\x20-\x7e]")
MAX_LINE = 998


def header_line(name: str, value: str) -> str:
    """`Name: value` with CRLF, folded and RFC 2047-encoded by the email package when needed."""
    line = f"{name}: {value}{_CRLF}"
    if len(line) <= 80 and value.isascii() and "\r" not in value and "\n" not in value:
        return line
    return _folded(name, value)


@functools.lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> str:
    return _POLICY.header_factory(name, value).fold(policy=_POLICY)


def _part_heads(subtype: str) -> tuple[bytes, bytes]:
    head = f'--{BOUNDARY}{_CRLF}Content-Type: text/{subtype}; charset="utf-8"{_CRLF}Content-Transfer-Encoding: '
    return (f"{head}7bit{_CRLF}{_CRLF}".encode(), f"{head}quoted-printable{_CRLF}{_CRLF}".encode())


_TOP = f'MIME-Version: 1.0{_CRLF}Content-Type: multipart/alternative;{_CRLF} boundary="{BOUNDARY}"{_CRLF}'.encode()
_HEADS = {"plain": _part_heads("plain"), "html": _part_heads("html")}
_END = f"{_CRLF}--{BOUNDARY}--{_CRLF}".encode()


def body_part(subtype: str, text: str, *, seven_bit: bool = False) -> bytes:
    """A text/<subtype> part, UTF-8: 7bit as it is when it can be, else quoted-printable.

    `seven_bit=True`: the caller knows that `text` is printable ASCII in lines of at most
    MAX_LINE characters without the boundary, so it is not checked again.
    """
    seven, quoted = _HEADS[subtype]
    if seven_bit:
        return seven + text.replace("\n", _CRLF).encode("ascii")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (
        _NOT_7BIT.search(text) is None
        and BOUNDARY not in text
        and (len(text) <= MAX_LINE or max(map(len, text.split("\n"))) <= MAX_LINE)
    ):
        return seven + text.replace("\n", _CRLF).encode("ascii")
    data = text.replace("\n", _CRLF).encode()
    return quoted + binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def text_and_html(headers: str, text: str, html: str, *, seven_bit: bool = False) -> bytes:
    """A multipart/alternative message: `headers` (CRLF-terminated lines, ASCII), then the parts."""
    parts = (body_part("plain", text, seven_bit=seven_bit), body_part("html", html, seven_bit=seven_bit))
    return b"".join((_TOP, headers.encode("ascii"), b"\r\n", parts[0], b"\r\n", parts[1], _END))


class WireMessage(email.message.EmailMessage):
    """A message given as bytes (CRLF line ends): `as_bytes()` returns them as they are.

    Django's backends only serialise what `EmailMessage.message()` returns; anything else that
    reads it (headers, parts) gets it parsed from the bytes on first use.
    """

    def __init__(self, data: bytes, policy: email.policy.Policy = email.policy.default) -> None:
        # No super().__init__(): the parsed state (_headers, _payload...) comes in __getattr__.
        self.policy = policy
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_data", "policy") or "_headers" in self.__dict__:
            raise AttributeError(name)
        parsed = email.message_from_bytes(self._data, policy=self.policy)
        self.__dict__.update({k: v for k, v in vars(parsed).items() if k != "policy"})
        return getattr(self, name)

    def as_bytes(self, unixfrom: bool = False, policy: email.policy.Policy | None = None) -> bytes:
        linesep = (policy or self.policy).linesep
        return self._data if linesep == _CRLF else self._data.replace(b"\r\n", linesep.encode())

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def as_string(
        self, unixfrom: bool = False, maxheaderlen: int | None = None, policy: email.policy.Policy | None = None
    ) -> str:
        return self.as_bytes(policy=policy).decode("ascii")

    def __str__(self) -> str:
        return self.as_string()


class PrebuiltEmail(EmailMultiAlternatives):
    """A Django email whose wire form was built beforehand (see `text_and_html`).

    Its attributes (subject, body, to, headers, the HTML alternative) describe the message for
    code that inspects them, such as the locmem backend's outbox; `message()` gives the bytes.
    """

    def __init__(self, wire: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wire = wire

    def message(self, *, policy: email.policy.Policy = email.policy.default) -> WireMessage:  # type: ignore[override]
        return WireMessage(self.wire, policy)
