"""The invitation and reminder emails: wording, languages, headers.

`render()` is what a message says: the shop's wording for the kind of message and language
(or the default), filled with the customer's values, as a subject, a text and an HTML body.

The dispatcher sends many messages that differ only in those values, and both Django's
template and `urlize` and Django's MIME serialisation (`EmailMessage.message()`, about 2 ms)
cost more per message than sending it. So `Composer` renders the HTML once per shop, kind,
language and wording with markers in place of the customer's values (a skeleton), then per
message fills in the values (escaped). A skeleton is used only if rendering it with two
different sets of markers gives the same HTML up to the markers, that is if no marker landed
where `urlize` rewrites text (inside a link, say); otherwise each message is rendered with
its real values. Either way the result is one `reputable.lib.emails.Email`, whose bytes
`emails.prebuilt()` writes (or Django, for addresses that are not plain ASCII), and one of
Django's mail backends sends it.

One difference: in a skeleton the customer's first name and order reference are inserted as
escaped text and never made into links by `urlize`, even if they look like an address.
"""

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reputable.invitations import verp
from reputable.invitations.models import Invitation, MessageKind
from reputable.lib.emails import PLACEHOLDERS, Email, as_html, fill_placeholders, message_id, prebuilt
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


def describe(letter: Letter, language: str, subject: str, text: str, html: str, unsubscribe_url: str) -> Email:
    """The message of one invitation step, with its one-click unsubscribe (RFC 8058)."""
    shop = letter.shop
    return Email(
        to=letter.email,
        subject=subject,
        text=text,
        html=html,
        sender_name=shop.display_sender,
        reply_to=shop.reply_to,
        headers={
            "Message-ID": message_id("invitation", letter.invitation_id, "step", letter.step),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        },
        return_path=verp.return_path(letter.invitation_id),
    )


def rendered(letter: Letter, words: Wording) -> Email:
    """The message rendered with its real values: the general way."""
    values = link_values(letter)
    return describe(letter, words.language, *render(words, values), values["unsubscribe_url"])


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
_VALUE_MARKER = re.compile("\ue000(?:first_name|order_reference)\ue001")
# A value's marker as a word of its own: after the start, white space or "(", before white
# space or the end, perhaps with punctuation between (which urlize trims off a word).
_WORD_MARKER = re.compile("(?:^|(?<=[\\s(]))\ue000(?:first_name|order_reference)\ue001(?=[,;:!?.)]*(?:\\s|$))")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")  # as in reputable.lib.emails
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


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
    review_url: tuple[str, str]  # the URLs before and after the token
    unsubscribe_url: tuple[str, str]


class Composer:
    """Builds the dispatcher's messages, keeping a skeleton per shop, kind, language and wording."""

    MAX_SKELETONS = 512

    def __init__(self) -> None:
        self.skeletons: dict[tuple[object, ...], Skeleton] = {}
        self.date: tuple[dt.datetime, str] | None = None  # the last Date value, per second

    def describe(self, letter: Letter, templates: Templates | None) -> Email:
        """The message of `letter`: from the skeleton when it can be, else rendered in full."""
        shop = letter.shop
        language = language_for(letter.locale, shop)
        own = (templates or {}).get((letter.kind, language))
        has_first_name = bool(letter.first_name)
        key: tuple[object, ...] = (shop.pk, shop.name, letter.kind, language, own, has_first_name)
        key += (settings.BASE_URL,)
        skeleton = self.skeletons.get(key)
        if skeleton is None:
            if len(self.skeletons) >= self.MAX_SKELETONS:
                self.skeletons.clear()
            words = wording(letter.kind, language, own, has_first_name=has_first_name)
            skeleton = self.skeletons[key] = self.skeleton(shop, words)
        if skeleton.html is None or skeleton.text is None or not _TOKEN.fullmatch(letter.token):
            return rendered(letter, skeleton.words)
        return self.fill(skeleton, letter)

    def compose(self, letter: Letter, templates: Templates | None, now: dt.datetime) -> EmailMultiAlternatives:
        return prebuilt(self.describe(letter, templates), date=self.date_value(now))

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
        # Usable only if the markers went through untouched (not made into links, quoted...),
        # and each stands as a word of its own in the text urlize reads, so that no value can
        # change how urlize reads the text around it.
        _subject, text, html = rendered["a"]
        text_or_none: str | None = text if _substitute(text, _MARKS["b"]) == rendered["b"][1] else None
        html_or_none: str | None = html if _substitute(html, _MARKS["b"]) == rendered["b"][2] else None
        if len(_VALUE_MARKER.findall(text)) != len(_WORD_MARKER.findall(text)):
            html_or_none = None
        token = _MARKS["a"]["token"]
        review = url("review-form", token).split(token)
        unsubscribe = url("unsubscribe", token).split(token)
        if len(review) != 2 or len(unsubscribe) != 2:
            html_or_none = None
        return Skeleton(
            words=words,
            subject=_split(words.subject, _PLACEHOLDER, PLACEHOLDERS),
            text=None if text_or_none is None else _split(text_or_none, _FILL_SPLIT, _FILLED),
            html=None if html_or_none is None else _split(html_or_none, _FILL_SPLIT, _FILLED),
            review_url=(review[0], review[1]),
            unsubscribe_url=(unsubscribe[0], unsubscribe[1]),
        )

    def date_value(self, now: dt.datetime) -> str:
        second = now.replace(microsecond=0)
        if self.date is None or self.date[0] != second:
            local = timezone.localtime(second) if settings.EMAIL_USE_LOCALTIME else second
            self.date = (second, format_datetime(local))
        return self.date[1]

    def fill(self, skeleton: Skeleton, letter: Letter) -> Email:
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
        text = _join(skeleton.text, {"first_name": first_name, "order_reference": reference, "zqx0token0xqz": token})
        escaped = {
            "first_name": escape(" ".join(first_name.split())),
            "order_reference": escape(" ".join(reference.split())),
            "zqx0token0xqz": token,
        }
        html = _join(skeleton.html, escaped)
        return describe(letter, skeleton.words.language, _join(skeleton.subject, values), text, html, unsubscribe_url)
