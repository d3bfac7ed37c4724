"""The dispatcher's fast path writes the bytes Django would: one description, two serialisers.

Over random shops, customers, languages and the shops' own wording, the message that
`prebuilt()` writes and the one Django serialises from the same `Email` parse (strictly) to
the same headers and the same text and HTML; and the skeleton the Composer fills gives the
same message as rendering it in full.
"""

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from typing import Any

import time_machine
from hypothesis import given
from hypothesis import strategies as st

from reputable.invitations.messages import Composer, Letter, language_for, rendered, wording
from reputable.lib.emails import PLACEHOLDERS, Email, django_message
from reputable.shops.models import Shop

NOW = dt.datetime(2026, 11, 30, 8, 0, 12, tzinfo=dt.UTC)

# Any stored text, however it got there: control characters, line breaks, all of Unicode.
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
# Names and references as the API takes them (one line, no control characters), that
# urlize leaves alone, as most are; single spaces, as the skeleton writes them.
plain_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"], exclude_characters=".@:/"), max_size=40
).map(lambda text: " ".join(text.split()))
addresses = st.sampled_from(
    ["jan@example.nl", "o'brien@example.ie", "x+tag@sub.example.com", "anna@xn--bcher-kva.example", "user@[127.0.0.1]"]
)
# A shop's own wording: text without braces, with placeholders among it.
wording_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="{}"), max_size=30),
        st.sampled_from([f"{{{name}}}" for name in PLACEHOLDERS]),
    ),
    max_size=6,
).map("".join)
shops = st.builds(
    Shop,
    pk=st.integers(min_value=1, max_value=3),
    name=any_text.filter(str.strip),
    sender_name=any_text,
    reply_to=st.one_of(st.just(""), addresses),
    default_locale=st.sampled_from(["en", "de", "nl", "pl"]),
)


def letters(names: st.SearchStrategy[str]) -> st.SearchStrategy[Letter]:
    return st.builds(
        Letter,
        invitation_id=st.integers(min_value=1, max_value=10**9),
        step=st.integers(min_value=0, max_value=3),
        email=addresses,
        locale=st.sampled_from(["", "en", "de-DE", "nl", "pl_PL", "fr"]),
        token=st.from_regex(r"[A-Za-z0-9_-]{32}", fullmatch=True),
        first_name=names,
        order_reference=names.filter(str.strip),
        shop=shops,
    )


templates = st.dictionaries(
    st.tuples(st.sampled_from(["invitation", "reminder"]), st.sampled_from(["en", "de", "nl", "pl"])),
    st.tuples(wording_text.filter(str.strip), wording_text.filter(str.strip)),
    max_size=3,
)


def parsed(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.strict)  # type: ignore[return-value]


def shape(message: EmailMessage) -> dict[str, Any]:
    """What a reader of the message sees: headers (the multipart boundary aside) and both parts."""
    headers = sorted((name, str(value)) for name, value in message.items() if name != "Content-Type")
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    return {
        "headers": headers,
        "type": message.get_content_type(),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
    }


@given(letter=letters(any_text), own=templates)
def test_the_fast_path_and_django_serialise_the_same_message(letter: Letter, own: Any) -> None:
    composer = Composer()
    with time_machine.travel(NOW, tick=False):
        description = composer.describe(letter, own)
        fast = composer.compose(letter, own, NOW).message().as_bytes()
        django = django_message(description).message().as_bytes()

    assert shape(parsed(fast)) == shape(parsed(django))
    headers = dict(parsed(fast).items())
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for value in headers.values() for c in str(value))


@given(letter=letters(plain_text), own=templates)
def test_the_skeleton_gives_the_message_a_full_rendering_gives(letter: Letter, own: Any) -> None:
    composer = Composer()
    language = language_for(letter.locale, letter.shop)
    words = wording(letter.kind, language, own.get((letter.kind, language)), has_first_name=bool(letter.first_name))

    from_skeleton: Email = composer.describe(letter, own)

    assert from_skeleton.header_items() == rendered(letter, words).header_items()
    assert (from_skeleton.text, from_skeleton.html) == (rendered(letter, words).text, rendered(letter, words).html)


def test_the_default_wording_in_every_language_is_filled_from_a_skeleton() -> None:
    shop = Shop(pk=1, name="Alice Teas", default_locale="de")
    for language in ("en", "de", "nl", "pl"):
        for kind in ("invitation", "reminder"):
            for has_first_name in (True, False):
                skeleton = Composer().skeleton(shop, wording(kind, language, None, has_first_name=has_first_name))
                assert skeleton.text is not None and skeleton.html is not None, (language, kind, has_first_name)
