"""Every email Reputable sends is built here, one way: from an `Email` description.

An `Email` says what a message is (recipient, subject, text, HTML, sender name, reply-to,
headers). `django_message()` makes it a Django message, the general way; `prebuilt()` writes
the same message's bytes itself, the dispatcher's fast path for invitations (Django's
serialisation costs more than the send). Both take every header from `Email.header_items()`,
where header values are cleaned of control characters and addresses are checked with the
same rule the API applies to input (`valid_address`). Every message is automated and says so
(`Auto-Submitted: auto-generated`).

`send(name, to=..., context=...)` renders `templates/emails/<name>-subject.txt`, `-body.txt`
and `-body.html` in the recipient's language and sends the result; the dispatcher calls it
for the outbox's emails (see `reputable.dispatch.outbox`).

Merchant-editable message text (the invitation templates) holds placeholders only, never
template code: `{first_name}`, `{shop_name}`, `{order_reference}`, `{review_url}` and
`{unsubscribe_url}`. Anything else in braces (an unknown name, `{{ x }}`, `{% if %}`, a stray
brace) is rejected when the text is saved, and substitution is a plain string replacement,
so nothing a merchant writes is ever executed.
"""

import binascii
import email.message
import email.policy
import functools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import translation
from django.utils.html import linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe

from reputable.lib import text

PLACEHOLDERS = ("first_name", "shop_name", "order_reference", "review_url", "unsubscribe_url")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class PlaceholderError(ValueError):
    pass


def check_placeholders(text: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    """Raise PlaceholderError unless `text` uses only the `allowed` placeholders (by default
    the invitations'; reply templates have fewer)."""
    for name in _PLACEHOLDER.findall(text):
        if name not in allowed:
            names = ", ".join("{" + p + "}" for p in allowed)
            raise PlaceholderError(f"unknown placeholder {{{name}}}; allowed are {names}")
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


# --- Addresses and header text ----------------------------------------------------------------

# Plain addresses (dot-atom @ host names, lower case): a strict subset of what Django's
# validator takes, checked in one match. Anything else (quoted parts, IP literals, IDN) goes
# to Django's validator.
PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
# What no header may carry: the control characters no text may hold, tab and line breaks too
# (the Unicode separators are line ends to str.splitlines() and so to the email package),
# and lone surrogates (which no encoding can write).
_UNSAFE = re.compile(f"[{text.CONTROL}\\t\\n\\r\\ud800-\\udfff]")


class AddressError(ValueError):
    """An address that no message can carry."""


def valid_address(value: str) -> bool:
    """Whether a message can carry `value` as an address: the one rule, at input and at send time."""
    if PLAIN_EMAIL.fullmatch(value):
        return True
    if _UNSAFE.search(value):
        return False  # Django's validator takes control characters inside quotes
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def normalise_address(value: str) -> str:
    """An address as Reputable stores it (lower case: compared case-insensitively everywhere)."""
    value = value.strip().lower()
    if not valid_address(value):
        raise AddressError("is not a valid email address")
    return value


def one_line(value: str) -> str:
    """`value` as a header can carry it: control characters and line breaks become spaces,
    runs of white space one space."""
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value  # the usual case, checked in C: isprintable() is False for all of _UNSAFE
    return " ".join(_UNSAFE.sub(" ", value).split())


def message_id(*parts: object) -> str:
    """A stable Message-ID from `parts` (a kind and ids), so that a re-send is recognisable."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "reputable.invalid"
    return f"<{'-'.join(map(str, parts))}@{domain}>"


# --- The description ------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    """What one message is. Built into a message by `django_message()` or `prebuilt()` only."""

    to: str
    subject: str
    text: str
    html: str = ""
    sender_name: str = ""  # the From header's display name; the address is DEFAULT_FROM_EMAIL
    reply_to: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # Message-ID, List-Unsubscribe, ...
    # The envelope sender (where bounces go: an invitation's VERP address, see
    # reputable.invitations.verp); DEFAULT_FROM_EMAIL when empty.
    return_path: str = ""

    def header_items(self) -> list[tuple[str, str]]:
        """Every header the message carries but Date and the MIME ones, in order, cleaned."""
        for address in (self.to, self.reply_to) if self.reply_to else (self.to,):
            if not valid_address(address):
                raise AddressError(f"no message can carry the address {address!r}")
        items = [
            ("Subject", one_line(self.subject)),
            ("From", _from_value(one_line(self.sender_name), settings.DEFAULT_FROM_EMAIL)),
            ("To", self.to),
        ]
        if self.reply_to:
            items.append(("Reply-To", self.reply_to))
        headers = {"Auto-Submitted": "auto-generated", **self.headers}
        return items + [(name, one_line(value)) for name, value in headers.items()]


@functools.lru_cache(maxsize=1024)
def _from_value(display_name: str, address: str) -> str:
    # As the header registry writes it (a display name with ":" or "," quoted): an RFC 2047
    # encoded name from formataddr() comes back unquoted from Django's parser, as a group.
    return str(Address(display_name=display_name, addr_spec=address))


def django_message(description: Email) -> EmailMultiAlternatives:
    """The message serialised by Django: the general way."""
    headers = dict(description.header_items())
    reply_to = headers.pop("Reply-To", "")
    message = EmailMultiAlternatives(
        subject=headers.pop("Subject"),
        body=description.text,
        # The envelope sender; Django writes the From header from `headers`.
        from_email=description.return_path or headers["From"],
        to=[headers.pop("To")],
        reply_to=[reply_to] if reply_to else [],
        headers=headers,
    )
    if description.html:
        message.attach_alternative(description.html, "text/html")
    return message


# Addresses written into headers as they are: ASCII, no quoting or display name needed.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def prebuilt(description: Email, *, date: str) -> EmailMultiAlternatives:
    """The same message as `django_message()` gives, its bytes written here (text and HTML
    messages to plain addresses; any other goes to `django_message()`). `date`: the Date
    header's value."""
    if not description.html or not _PLAIN_ADDRESS.fullmatch(description.to):
        return django_message(description)
    if description.reply_to and not _PLAIN_ADDRESS.fullmatch(description.reply_to):
        return django_message(description)
    items = description.header_items()
    own = {"Subject", "From", "To", "Reply-To"}
    lines = [header_line(name, value) for name, value in items if name in own]
    lines.append(header_line("Date", date))
    extra = {name: value for name, value in items if name not in own}
    lines += [header_line(name, value) for name, value in extra.items()]
    headers = dict(items)
    message = PrebuiltEmail(
        text_and_html("".join(lines), description.text, description.html),
        subject=headers["Subject"],
        body=description.text,
        # The envelope sender; the From header, with the display name, is in the bytes.
        from_email=description.return_path or settings.DEFAULT_FROM_EMAIL,
        to=[description.to],
        reply_to=[description.reply_to] if description.reply_to else [],
        headers={"From": headers["From"], **extra},
    )
    message.attach_alternative(description.html, "text/html")
    return message


# --- Messages from templates --------------------------------------------------------------------


def render(name: str, context: Mapping[str, Any], *, language: str) -> tuple[str, str, str]:
    """Subject, text and HTML ("" without an HTML template) of `templates/emails/<name>-*`.

    The subject and text are plain text: rendered without HTML escaping.
    """
    plain = Context(dict(context), autoescape=False)
    with translation.override(language):
        subject = get_template(f"emails/{name}-subject.txt").template.render(plain)  # type: ignore[attr-defined]
        text = get_template(f"emails/{name}-body.txt").template.render(plain)  # type: ignore[attr-defined]
        try:
            html = get_template(f"emails/{name}-body.html").render(dict(context))
        except TemplateDoesNotExist:
            html = ""
    return subject, text.strip() + "\n", html


def send(
    name: str,
    *,
    to: str,
    context: Mapping[str, Any],
    language: str,
    sender_name: str = "",
    reply_to: str = "",
    headers: Mapping[str, str] | None = None,
    connection: BaseEmailBackend | None = None,
) -> None:
    """Render the `name` templates in `language` and send the message to `to` (dispatcher only)."""
    subject, text, html = render(name, context, language=language)
    description = Email(
        to=to,
        subject=subject,
        text=text,
        html=html,
        sender_name=sender_name,
        reply_to=reply_to,
        headers={"Content-Language": language, **(headers or {})},
    )
    (connection or mailers.default).send_messages([django_message(description)])


# --- Messages in wire form -------------------------------------------------------------------
#
# Django's EmailMessage.message().as_bytes() builds a message through the email package's
# modern API and costs about 2 ms here, more than sending it over SMTP. `prebuilt()` writes
# the bytes of text + HTML messages itself, with the shape of Django's output: headers folded
# and RFC 2047-encoded by the email package's SMTP policy unless they are short ASCII, CRLF
# line ends, and each part 7bit when it is printable ASCII in lines of at most 998 characters
# (RFC 5322's limit), quoted-printable otherwise. Django's backends send them.

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


def body_part(subtype: str, text: str) -> bytes:
    """A text/<subtype> part, UTF-8: 7bit as it is when it can be, else quoted-printable."""
    seven, quoted = _HEADS[subtype]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (
        _NOT_7BIT.search(text) is None
        and BOUNDARY not in text
        and (len(text) <= MAX_LINE or max(map(len, text.split("\n"))) <= MAX_LINE)
    ):
        return seven + text.replace("\n", _CRLF).encode("ascii")
    data = text.replace("\n", _CRLF).encode()
    return quoted + binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def text_and_html(headers: str, text: str, html: str) -> bytes:
    """A multipart/alternative message: `headers` (CRLF-terminated lines, ASCII), then the parts."""
    parts = (body_part("plain", text), body_part("html", html))
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
