"""The invitation and reminder emails: wording, languages, headers.

`render()` is what a message says: the shop's wording for the kind of message and language
(or the default), filled with the customer's values, as a subject, a text and an HTML body.

The dispatcher sends many messages that differ only in those values, and both Django's
template and `urlize` and Django's MIME serialisation (`EmailMessage.message()`, about 2 ms)
cost more per message than sending it. So `Composer` renders the HTML once per shop, kind,
language and wording with markers in place of the customer's values (a skeleton), then per
message fills in the values (escaped) and writes the MIME bytes itself
(`reputable.lib.emails.text_and_html`). A skeleton is used only if rendering it with two
different sets of markers gives the same HTML up to the markers, that is if no marker landed
where `urlize` rewrites text (inside a link, say); otherwise, and for addresses that are not
plain ASCII, each message is rendered with its real values and serialised by Django
(`django_message`), as it always was. Either way one of Django's mail backends sends it.

One difference: in a skeleton the customer's first name and order reference are inserted as
escaped text and never made into links by `urlize`, even if they look like an address.
"""

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from email.utils import format_datetime, formataddr
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reputable.invitations.models import Invitation, MessageKind
from reputable.lib.emails import (
    BOUNDARY,
    MAX_LINE,
    PLACEHOLDERS,
    PrebuiltEmail,
    as_html,
    fill_placeholders,
    header_line,
    text_and_html,
)
from reputable.shops.models import Shop

# A shop's own wording: (subject, body) by (kind, language).
Templates = Mapping[tuple[str, str], tuple[str, str]]


def default_wording(kind: str, *, has_first_name: bool) -> tuple[str, str]:
    """The neutral default subject and body, in the active language, with placeholders."""
    greeting = _("Hello {first_name},") if has_first_name else _("Hello,")
    if kind == MessageKind.INVITATION:
        subject = _("How was your order at {shop_name}?")
        body = _(
            "thank you for your order {order_reference} at {shop_name}. How was your experience"
            " with the shop and the products you bought? Your review helps other shoppers,"
            " whatever it says.\n\nWrite your review: {review_url}"
        )
    else:
        subject = _("Reminder: your review of {shop_name}")
        body = _(
            "a little while ago we asked about your order {order_reference} at {shop_name}."
            " If you have a moment, your review helps other shoppers, whatever it says.\n\n"
            "Write your review: {review_url}"
        )
    return subject, f"{greeting}\n\n{body}"


def objection_notice() -> str:
    """The notice every message carries, whatever the merchant wrote (placeholders inside)."""
    return _(
        "You receive this email because you ordered at {shop_name}, which invites its customers"
        " to review their orders. You may object to further review requests at any time, free of"
        " charge: {unsubscribe_url}"
    )


def language_for(locale: str, shop: Shop) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (locale, shop.default_locale):
        code = (candidate or "").split("-")[0].split("_")[0].lower()
        if code in supported:
            return code
    return settings.LANGUAGE_CODE


def invitation_language(invitation: Invitation) -> str:
    return language_for(invitation.locale, invitation.shop)


def message_id(invitation_id: int, step: int) -> str:
    """Stable per invitation and step, so that a re-send after a crash is recognisable."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "reputable.invalid"
    return f"<invitation-{invitation_id}-step-{step}@{domain}>"


@dataclass(frozen=True, slots=True)
class Letter:
    """What one message needs to know: the invitation's step, its addressee and order, the shop."""

    invitation_id: int
    step: int  # the invitation's sent_count: 0 is the invitation, 1 the first reminder...
    email: str
    locale: str
    token: str
    first_name: str
    order_reference: str
    shop: Shop

    @property
    def kind(self) -> MessageKind:
        return MessageKind.INVITATION if self.step == 0 else MessageKind.REMINDER


@dataclass(frozen=True)
class Wording:
    """Subject, body and notice with placeholders, and the button's label, in one language."""

    language: str
    subject: str
    body: str
    notice: str
    review_label: str


def wording(kind: str, language: str, own: tuple[str, str] | None, *, has_first_name: bool) -> Wording:
    """The shop's own wording (`own`: subject and body) or the default one, with the notice."""
    with translation.override(language):
        subject, body = own if own is not None else default_wording(kind, has_first_name=has_first_name)
        return Wording(language, subject, body, objection_notice(), _("Write your review"))


def render(words: Wording, values: Mapping[str, str]) -> tuple[str, str, str]:
    """Subject, text and HTML of a message: `words` filled with `values`."""
    subject = " ".join(fill_placeholders(words.subject, values).split())
    body = fill_placeholders(words.body, values).strip()
    notice = fill_placeholders(words.notice, values)
    html = render_to_string(
        "invitations/email.html",
        {
            "language": words.language,
            "subject": subject,
            "body_html": as_html(body),
            "review_url": values["review_url"],
            "notice_html": as_html(notice),
            "review_label": words.review_label,
        },
    )
    return subject, f"{body}\n\n-- \n{notice}\n", html


def link_values(letter: Letter) -> dict[str, str]:
    return {
        "first_name": letter.first_name,
        "shop_name": letter.shop.name,
        "order_reference": letter.order_reference,
        "review_url": settings.BASE_URL + reverse("review-form", args=[letter.token]),
        "unsubscribe_url": settings.BASE_URL + reverse("unsubscribe", args=[letter.token]),
    }


def sender(shop: Shop) -> str:
    return formataddr((shop.display_sender, settings.DEFAULT_FROM_EMAIL))


def fixed_headers(letter: Letter, language: str, unsubscribe_url: str) -> dict[str, str]:
    return {
        "Message-ID": message_id(letter.invitation_id, letter.step),
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Content-Language": language,
    }


def django_message(letter: Letter, words: Wording) -> EmailMultiAlternatives:
    """The message rendered with its real values and serialised by Django: the general way."""
    values = link_values(letter)
    subject, text, html = render(words, values)
    shop = letter.shop
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender(shop),
        to=[letter.email],
        reply_to=[shop.reply_to] if shop.reply_to else [],
        headers=fixed_headers(letter, words.language, values["unsubscribe_url"]),
    )
    message.attach_alternative(html, "text/html")
    return message


# --- skeletons ------------------------------------------------------------------------------

# Markers for the customer's values: private-use characters, which urlize and escape keep.
# The token sits inside URLs, so its marker is made of characters a URL keeps as they are.
_MARKS = {
    "a": {
        "first_name": "\ue000first_name\ue001",
        "order_reference": "\ue000order_reference\ue001",
        "token": "zqx0token0xqz",
    },
    "b": {
        "first_name": "\ue002first_name\ue003",
        "order_reference": "\ue002order_reference\ue003",
        "token": "zqx1token1xqz",
    },
}
_FILL = re.compile("\ue000(first_name|order_reference)\ue001|zqx0token0xqz")
_FILL_SPLIT = re.compile("\ue000(first_name|order_reference)\ue001|(zqx0token0xqz)")
_FILLED = ("first_name", "order_reference", "zqx0token0xqz")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")  # as in reputable.lib.emails
# Addresses written as they are: ASCII, no quoting or display name needed.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Values that can go into a 7bit part as they are.
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return _FILL.sub(lambda m: values[m.group(1) or "token"], text)


def _split(text: str, pattern: re.Pattern[str], names: Collection[str]) -> tuple[str, ...]:
    """`text` cut at the markers or placeholders of `names`: text, name, text, ..., name, text."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        name = next(group for group in match.groups() if group is not None)
        if name in names:
            parts += [text[start : match.start()], name]
            start = match.end()
    return (*parts, text[start:])


def _join(parts: tuple[str, ...], values: Mapping[str, str]) -> str:
    out = list(parts)
    out[1::2] = [values[name] for name in parts[1::2]]
    return "".join(out)


@dataclass(frozen=True)
class Skeleton:
    words: Wording
    subject: tuple[str, ...]  # the subject, cut at its placeholders (see _split)
    # Text and HTML cut at the "a" markers, or None: then each message is rendered in full.
    text: tuple[str, ...] | None
    html: tuple[str, ...] | None
    # Both are printable ASCII with lines of at most this many characters (markers left out);
    # None if not.
    seven_bit_lines: int | None
    markers: int  # markers in the longest line, at most
    review_url: tuple[str, str]  # the URLs before and after the token
    unsubscribe_url: tuple[str, str]
    sender: str  # the From header's value
    reply_to: list[str]
    from_line: str
    reply_to_line: str  # or ""
    last_lines: str  # List-Unsubscribe-Post, Content-Language


class Composer:
    """Builds the dispatcher's messages, keeping a skeleton per shop, kind, language and wording."""

    MAX_SKELETONS = 512

    def __init__(self) -> None:
        self.skeletons: dict[tuple[object, ...], Skeleton] = {}
        self.date: tuple[dt.datetime, str] | None = None  # the last Date line, per second

    def compose(self, letter: Letter, templates: Templates | None, now: dt.datetime) -> EmailMultiAlternatives:
        shop = letter.shop
        language = language_for(letter.locale, shop)
        own = (templates or {}).get((letter.kind, language))
        has_first_name = bool(letter.first_name)
        key: tuple[object, ...] = (shop.pk, shop.name, shop.display_sender, shop.reply_to, letter.kind, language)
        key += (own, has_first_name, settings.BASE_URL, settings.DEFAULT_FROM_EMAIL)
        skeleton = self.skeletons.get(key)
        if skeleton is None:
            if len(self.skeletons) >= self.MAX_SKELETONS:
                self.skeletons.clear()
            words = wording(letter.kind, language, own, has_first_name=has_first_name)
            skeleton = self.skeletons[key] = self.skeleton(shop, words)
        if (
            skeleton.html is None
            or skeleton.text is None
            or not _TOKEN.fullmatch(letter.token)
            or not _PLAIN_ADDRESS.fullmatch(letter.email)
        ):
            return django_message(letter, skeleton.words)
        return self.fill(skeleton, letter, now)

    def skeleton(self, shop: Shop, words: Wording) -> Skeleton:
        def url(name: str, token: str) -> str:
            return settings.BASE_URL + reverse(name, args=[token])

        rendered = {}
        for variant, marks in _MARKS.items():
            values = {
                "first_name": marks["first_name"],
                "shop_name": shop.name,
                "order_reference": marks["order_reference"],
                "review_url": url("review-form", marks["token"]),
                "unsubscribe_url": url("unsubscribe", marks["token"]),
            }
            rendered[variant] = render(words, values)
        # Usable only if the markers went through untouched (not made into links, quoted...).
        _subject, text, html = rendered["a"]
        text_or_none: str | None = text if _substitute(text, _MARKS["b"]) == rendered["b"][1] else None
        html_or_none: str | None = html if _substitute(html, _MARKS["b"]) == rendered["b"][2] else None
        from_ = sender(shop)
        reply_to = [shop.reply_to] if shop.reply_to else []
        if not all(_PLAIN_ADDRESS.fullmatch(a) for a in (settings.DEFAULT_FROM_EMAIL, *reply_to)):
            html_or_none = None
        token = _MARKS["a"]["token"]
        review = url("review-form", token).split(token)
        unsubscribe = url("unsubscribe", token).split(token)
        if len(review) != 2 or len(unsubscribe) != 2:
            html_or_none = None
        lines = [line for part in (text, html) for line in part.split("\n")]
        bare = [_FILL.sub("", line) for line in lines]
        seven_bit = all(_PRINTABLE.fullmatch(line) for line in bare) and not any(BOUNDARY in line for line in bare)
        return Skeleton(
            words=words,
            subject=_split(words.subject, _PLACEHOLDER, PLACEHOLDERS),
            text=None if text_or_none is None else _split(text_or_none, _FILL_SPLIT, _FILLED),
            html=None if html_or_none is None else _split(html_or_none, _FILL_SPLIT, _FILLED),
            seven_bit_lines=max(map(len, bare)) if seven_bit else None,
            markers=max(len(_FILL.findall(line)) for line in lines),
            review_url=(review[0], review[1]),
            unsubscribe_url=(unsubscribe[0], unsubscribe[1]),
            sender=from_,
            reply_to=reply_to,
            from_line=header_line("From", from_),
            reply_to_line=header_line("Reply-To", reply_to[0]) if reply_to else "",
            last_lines="List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            + header_line("Content-Language", words.language),
        )

    def date_line(self, now: dt.datetime) -> str:
        second = now.replace(microsecond=0)
        if self.date is None or self.date[0] != second:
            local = timezone.localtime(second) if settings.EMAIL_USE_LOCALTIME else second
            self.date = (second, f"Date: {format_datetime(local)}\r\n")
        return self.date[1]

    def fill(self, skeleton: Skeleton, letter: Letter, now: dt.datetime) -> PrebuiltEmail:
        assert skeleton.text is not None and skeleton.html is not None
        token = letter.token
        first_name, reference = letter.first_name, letter.order_reference
        review_url = skeleton.review_url[0] + token + skeleton.review_url[1]
        unsubscribe_url = skeleton.unsubscribe_url[0] + token + skeleton.unsubscribe_url[1]
        values = {
            "first_name": first_name,
            "shop_name": letter.shop.name,
            "order_reference": reference,
            "review_url": review_url,
            "unsubscribe_url": unsubscribe_url,
        }
        subject = " ".join(_join(skeleton.subject, values).split())
        text = _join(skeleton.text, {"first_name": first_name, "order_reference": reference, "zqx0token0xqz": token})
        escaped = {
            "first_name": escape(" ".join(first_name.split())),
            "order_reference": escape(" ".join(reference.split())),
            "zqx0token0xqz": token,
        }
        html = _join(skeleton.html, escaped)
        extra = fixed_headers(letter, skeleton.words.language, unsubscribe_url)
        headers = "".join(
            (
                header_line("Subject", subject),
                skeleton.from_line,
                f"To: {letter.email}\r\n",
                skeleton.reply_to_line,
                self.date_line(now),
                f"Message-ID: {extra['Message-ID']}\r\n",
                header_line("List-Unsubscribe", extra["List-Unsubscribe"]),
                skeleton.last_lines,
            )
        )
        # 7bit as they are when the skeleton is and the values cannot change that.
        longest = max(len(escaped["first_name"]), len(escaped["order_reference"]), len(token), len(reference))
        if (
            skeleton.seven_bit_lines is not None
            and skeleton.seven_bit_lines + skeleton.markers * longest <= MAX_LINE
            and _PRINTABLE.fullmatch(first_name)
            and _PRINTABLE.fullmatch(reference)
            and BOUNDARY not in first_name + reference
        ):
            wire = text_and_html(headers, text, html, seven_bit=True)
        else:
            wire = text_and_html(headers, text, html)
        message = PrebuiltEmail(
            wire,
            subject=subject,
            body=text,
            # The envelope sender; the From header, with the shop's name, is in the bytes.
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[letter.email],
            reply_to=skeleton.reply_to,
            headers={"From": skeleton.sender, **extra},
        )
        message.attach_alternative(html, "text/html")
        return message
