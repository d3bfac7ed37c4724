"""The checks at submission: contact and bank details masked, slurs flagged, all disclosed,
the original kept for moderators, publication never held back."""

import re
import string
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from reputable.conftest import ShopAccess, write_review
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product, Review, ReviewRevision
from reputable.reviews.screening import (
    FLAGGED_WORDS,
    MASKED_EMAIL,
    MASKED_IBAN,
    MASKED_PHONE,
    iban_is_valid,
    listed_words,
    screen,
)

pytestmark = pytest.mark.usefixtures("now")

PHONE = "[phone number hidden]"
EMAIL = "[e-mail address hidden]"
IBAN = "[IBAN hidden]"


def masked(text: str, language: str = "en") -> str:
    return screen({"text": text}, language).published["text"]


# --- phone numbers ------------------------------------------------------------------------------

PHONES = [
    # Germany
    "+49 30 1234567",
    "+49 (0)30 1234567",
    "0049 30 1234567",
    "030 1234567",
    "030/1234567",
    "030 / 123 456 7",
    "030-123 456 7",
    "(030) 1234567",
    "0171 1234567",
    "01711234567",
    "0171-12 34 567",
    "0171 - 1234567",
    "+49 171 1234567",
    "+491711234567",
    # the Netherlands
    "06-12345678",
    "06 12 34 56 78",
    "0612345678",
    "020-1234567",
    "020 123 4567",
    "+31 6 12345678",
    "+31 (0)20 123 4567",
    # Poland
    "512 345 678",
    "512-345-678",
    "+48 512 345 678",
    "22 123 45 67",
    "+48 22 123 45 67",
    # the UK
    "020 7946 0958",
    "07700 900123",
    "07700900123",
    "01632 960001",
    "+44 7700 900123",
    "+44 (0)20 7946 0958",
    # the US
    "(415) 555-2671",
    "415-555-2671",
    "415.555.2671",
    "415 555 2671",
    "+1 415 555 2671",
    "1-800-555-0199",
]


@pytest.mark.parametrize("number", PHONES)
def test_a_phone_number_as_people_write_it_is_masked(number: str) -> None:
    result = screen({"body": f"Please call {number} after six."}, "en")

    assert result.published["body"] == f"Please call {PHONE} after six."
    assert result.actions == (MASKED_PHONE,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ruf mich an: 0171 1234567!", f"Ruf mich an: {PHONE}!"),
        ("bel me op 06-12345678.", f"bel me op {PHONE}."),
        ("zadzwoń: 601 234 567", f"zadzwoń: {PHONE}"),
        # Written without spaces, a number is recognised by the word before it.
        ("tel. 512345678", f"tel. {PHONE}"),
        ("call me on 5552671", f"call me on {PHONE}"),
        ("Handy 015112345678, Festnetz 089 12345678", f"Handy {PHONE}, Festnetz {PHONE}"),
    ],
)
def test_a_phone_number_is_masked_in_its_sentence(text: str, expected: str) -> None:
    assert masked(text) == expected


NOT_PHONES = [
    # order, customer, invoice, ticket and tracking numbers
    "Bestellung 4711-0815-42",
    "order #123-456-789",
    "Order no. 555-123-4567",
    "Bestellnummer 100123456",
    "Bestelnummer: 0123456789",
    "Zamówienie nr 123 456 789",
    "Kundennummer 0123 456 789",
    "Rechnung 2024-000123",
    "Ticket #4711 0815",
    "Tracking 1234 5678 9012",
    "Paket 00340434161234567890",
    "00340434161234567890",
    "JJD0001234567890",
    "1Z999AA10123456784",
    "ref 0612345678",
    "Artikelnummer 0171 1234567",
    # dates and times
    "12.03.2024",
    "2024-03-12",
    "03/12/2024",
    "12.03.2024 - 15.03.2024",
    "01.02.2024-05.02.2024",
    "geliefert am 05/06/2024 12 Tage zu spät",
    "angerufen am 12.03.2024",
    "10:30-12:00",
    "von 8.00 bis 18.00 Uhr",
    # prices and quantities
    "1.299,00 €",
    "€ 1 299,99",
    "1 299 zł",
    "123 456 789 zł",
    "12 345 678 zł",
    "$1,299.99",
    "2 x 500 g",
    "3-4 Tage",
    "24/7",
    "+5 Sterne",
    "Größe 42 44 46 48 50",
    # postcodes
    "10115 Berlin",
    "Musterstraße 12, 10115 Berlin",
    "1012 AB Amsterdam",
    "00-950 Warszawa",
    "SW1A 1AA",
    "94105-1234",
    # product codes and other identifiers
    "EAN 4006381333931",
    "4006381333931",
    "036000291452",
    "SKU 12345678",
    "Art.-Nr. 0815-4711",
    "ISBN 978-3-16-148410-0",
    "NIP 123-456-32-18",
    "PESEL 02270803628",
    "v2.3.1",
    "1234567",
    "123456789",
]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_numbers_that_are_no_phone_numbers_stay_as_written(text: str) -> None:
    result = screen({"body": f"Leider: {text}, schade."}, "de")

    assert result.published["body"] == f"Leider: {text}, schade."
    assert result.actions == ()


# --- e-mail addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me: jan.visser+shop@example.nl.", f"Mail me: {EMAIL}."),
        ("JAN@EXAMPLE.COM", EMAIL),
        ("jürgen@müller.de schreiben", f"{EMAIL} schreiben"),
        ("jan (at) example (dot) nl", EMAIL),
        ("jan[at]example.de", EMAIL),
        ("mailto:jan@example.com", f"mailto:{EMAIL}"),
    ],
)
def test_an_email_address_is_masked(text: str, expected: str) -> None:
    result = screen({"body": text}, "en")

    assert (result.published["body"], result.actions) == (expected, (MASKED_EMAIL,))


@pytest.mark.parametrize(
    "text",
    ["@aliceteas on Instagram", "2 pcs @ 5.99", "x@2.50", "name@localhost", "https://evil.example@shop.example/"],
)
def test_an_at_sign_without_an_address_stays(text: str) -> None:
    assert masked(text) == text


# --- IBANs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "GB82 WEST 1234 5698 7654 32",
        "PL61 1090 1014 0000 0712 1981 2874",
        "61 1090 1014 0000 0712 1981 2874",  # a Polish account number as written, without "PL"
    ],
)
def test_an_iban_is_masked(iban: str) -> None:
    result = screen({"body": f"Refund to {iban} please"}, "en")

    assert (result.published["body"], result.actions) == (f"Refund to {IBAN} please", (MASKED_IBAN,))


@pytest.mark.parametrize(
    "text",
    [
        "DE89 3704 0044 0532 0130 01",  # one digit wrong: the checksum fails
        "DE12345678901234567890",
        "DE89370400440532013000X",  # it goes on: no German IBAN
        "AB12 CDEF 1234",
        "XX89370400440532013000",
        "SN1234567890",
    ],
)
def test_a_string_that_only_looks_like_an_iban_stays(text: str) -> None:
    assert masked(text) == text


def iban(country: str, bban: str) -> str:
    """The IBAN of `bban` in `country`, with its check digits."""
    rearranged = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(rearranged) % 97:02d}{bban}"


def chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


# Each country's BBAN: German 18 digits, Dutch a bank code and 10 digits, Polish 24 digits,
# British a bank code and 14 digits.
BBANS = {
    "DE": chars(string.digits, 18),
    "NL": st.tuples(chars(string.ascii_uppercase, 4), chars(string.digits, 10)).map("".join),
    "PL": chars(string.digits, 24),
    "GB": st.tuples(chars(string.ascii_uppercase, 4), chars(string.digits, 14)).map("".join),
}
IBANS = st.sampled_from(sorted(BBANS)).flatmap(lambda c: BBANS[c].map(lambda bban: iban(c, bban)))


@given(IBANS, st.data())
def test_every_valid_iban_is_masked_and_one_changed_digit_never_is(value: str, data: st.DataObject) -> None:
    assert iban_is_valid(value)
    grouped = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    assert masked(f"IBAN: {grouped}.") == masked(f"IBAN: {value}.") == f"IBAN: {IBAN}."

    position = data.draw(st.sampled_from([i for i, c in enumerate(value) if c.isdigit() and i >= 2]))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != value[position]]))
    wrong = value[:position] + other + value[position + 1 :]
    # Mod 97 catches every single changed digit.
    assert not iban_is_valid(wrong)
    assert MASKED_IBAN not in screen({"body": f"IBAN: {wrong}."}, "en").actions


# --- properties of the masking ------------------------------------------------------------------


@settings(max_examples=300)
@given(st.text())
def test_a_text_is_changed_only_where_something_was_masked(text: str) -> None:
    result = screen({"body": text}, "en")

    masked_something = set(result.actions) - {FLAGGED_WORDS}
    assert (result.published["body"] != text) == bool(masked_something)


@given(st.text(alphabet=st.characters(blacklist_characters="@0123456789()[]", blacklist_categories=["Nd"])))
def test_a_text_without_digits_or_at_signs_is_never_changed(text: str) -> None:
    assert masked(text) == text


@given(st.lists(st.sampled_from([*PHONES, *NOT_PHONES, "jan@example.nl", "DE89370400440532013000", "text"])))
def test_screening_what_was_published_masks_nothing_more(parts: list[str]) -> None:
    once = masked(" and ".join(parts))

    assert masked(once) == once  # the marks hold nothing the checks would take


# --- the word lists -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        ("You are a c*nt", "en", ["c*nt"]),
        ("what an a$$hole!", "en", ["a$$hole"]),
        ("N1GGER", "en", ["N1GGER"]),
        ("cuuuunt", "en", ["cuuuunt"]),
        ("Ihr Hurensöhne", "de", ["Hurensöhne"]),
        ("du ARSCHLOCH.", "de", ["ARSCHLOCH"]),
        ("klootzakken zijn het", "nl", ["klootzakken"]),
        ("ty skurwysynu", "pl", ["skurwysynu"]),
        ("Ty ciotą", "pl", ["ciotą"]),
        ("Der Fahrer war ein asshole", "de", ["asshole"]),  # English in any review
    ],
)
def test_listed_words_are_found_whole_case_insensitive_and_substituted(
    text: str, language: str, words: list[str]
) -> None:
    assert listed_words(text, language) == words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Scunthorpe", "en"),
        ("Arschlochkind", "de"),  # part of another word
        ("Das Fagott klingt schön", "de"),
        ("fagot", "pl"),  # bassoon
        ("the pedal broke", "en"),
        ("a chink in the armour", "en"),
        ("spic and span", "en"),
        ("kanker is een ziekte", "nl"),
        ("klootzak", "de"),  # Dutch words count in Dutch reviews
        ("****", "en"),
        ("c***", "en"),
        ("Shit happens, kurwa", "en"),  # swearing is not on the lists
    ],
)
def test_innocent_and_unlisted_words_are_not_found(text: str, language: str) -> None:
    assert listed_words(text, language) == []


def test_a_slur_flags_the_review_and_hides_nothing() -> None:
    result = screen({"title": "Awful", "body": "The driver was a c*nt."}, "en")

    assert result.published == {"title": "Awful", "body": "The driver was a c*nt."}
    assert (result.actions, result.flagged_words) == ((FLAGGED_WORDS,), ("c*nt",))


# --- through the review form --------------------------------------------------------------------

ENGLISH = {"locale": "en"}  # the marks in their message ids, whatever the catalogues say


def review_form(
    invitation: Invitation, rating: int, title: str, body: str, products: dict[str, tuple[int, str]]
) -> dict[str, str]:
    form = {"rating": str(rating), "title": title, "body": body, "name_display": "first_name_initial"}
    for sku, (stars, text) in products.items():
        pk = Product.objects.get(shop=invitation.shop, sku=sku).pk
        form |= {f"product_{pk}_rating": str(stars), f"product_{pk}_body": text}
    return form


def public_views(alice: ShopAccess, review: Review) -> dict[str, str]:
    slug = alice.shop.slug
    client = Client()
    return {
        "profile": client.get(f"/s/{slug}/", {"lang": "en"}).content.decode(),
        "review page": client.get(f"/s/{slug}/reviews/{review.pk}", {"lang": "en"}).content.decode(),
        "product profile": client.get(f"/s/{slug}/", {"lang": "en", "sku": "TEA-1"}).content.decode(),
        "widget": client.get(f"/w/{slug}/reviews", {"lang": "en"}).content.decode(),
        "carousel": client.get(f"/w/{slug}/carousel", {"lang": "en"}).content.decode(),
    }


def test_contact_details_are_masked_everywhere_disclosed_and_kept_for_moderators(alice: ShopAccess) -> None:
    review = write_review(
        alice,
        "1001",
        2,
        title="Call 0171 1234567",
        body="Slow. Write to jan@example.nl or refund DE89 3704 0044 0532 0130 00.",
        products={"TEA-1": (3, "Ring +31 6 12345678")},
        customer=ENGLISH,
    )

    review.refresh_from_db()
    assert review.title == f"Call {PHONE}"
    assert review.body == f"Slow. Write to {EMAIL} or refund {IBAN}."
    assert review.product_reviews.get().body == f"Ring {PHONE}"
    assert review.automated == [MASKED_EMAIL, MASKED_PHONE, MASKED_IBAN]
    pid = str(review.product_reviews.get().product_id)
    assert review.original == {
        "title": "Call 0171 1234567",
        "body": "Slow. Write to jan@example.nl or refund DE89 3704 0044 0532 0130 00.",
        "products": {pid: "Ring +31 6 12345678"},
    }
    assert (review.status, review.flagged_at) == ("published", None)

    for name, html in public_views(alice, review).items():
        assert "0171 1234567" not in html and "jan@example.nl" not in html and "6 12345678" not in html, name
        assert "3704 0044" not in html, name
    views = public_views(alice, review)
    for name in ("profile", "review page", "product profile"):
        assert PHONE in views[name], name
        assert "Contact details in this review were hidden automatically." in views[name], name
        assert "Bank details in this review were hidden automatically." in views[name], name
    for name in ("widget", "carousel"):
        assert "Details hidden automatically" in views[name], name

    api = alice.api.get("/api/v1/reviews").json()["items"][0]
    assert (api["title"], api["products"][0]["body"]) == (f"Call {PHONE}", f"Ring {PHONE}")
    assert api["automated"] == ["masked_email", "masked_phone", "masked_iban"]
    product_api = alice.api.get("/api/v1/reviews", {"kind": "product"}).json()["items"][0]
    assert (product_api["body"], product_api["automated"]) == (f"Ring {PHONE}", api["automated"])
    widget_json = Client().get(f"/w/{alice.shop.slug}/reviews.json").json()["reviews"][0]
    assert (widget_json["title"], widget_json["automated"]) == (f"Call {PHONE}", api["automated"])
    export: Any = alice.api.get("/api/v1/exports/reviews")
    exported = b"".join(export.streaming_content).decode()
    assert '"automated": ["masked_email", "masked_phone", "masked_iban"]' in exported
    assert "0171 1234567" not in exported  # the original is for moderators only


def test_the_reviewer_is_told_on_the_thank_you_page_what_was_hidden(alice: ShopAccess) -> None:
    review = write_review(alice, "1001", 5, body="Great! Call me: 0171 1234567", customer=ENGLISH)

    page = Client().get(f"/r/{review.invitation.token}", {"saved": "1"}).content.decode()

    assert "Thank you! Your review is published." in page
    assert "hidden automatically in the published review (which says so): a phone number." in page
    assert f"Great! Call me: {PHONE}" in page  # the form shows the published text


def test_a_slur_flags_the_review_for_a_moderator_without_hiding_it(alice: ShopAccess, now: Any) -> None:
    review = write_review(alice, "1001", 1, title="Never again", body="The owner is a c*nt.", customer=ENGLISH)

    review.refresh_from_db()
    assert (review.status, review.body) == ("published", "The owner is a c*nt.")
    assert (review.automated, review.original) == ([FLAGGED_WORDS], {})
    assert review.flagged_at == timezone.now()
    assert list(Review.objects.flagged()) == [review]
    views = public_views(alice, review)
    assert "The owner is a c*nt." in views["profile"]
    notice = "This review was sent to a moderator automatically because of its wording."
    assert notice in views["profile"] and notice in views["review page"]
    assert "Sent to a moderator automatically" in views["widget"]
    assert alice.api.get("/api/v1/reviews").json()["items"][0]["automated"] == ["flagged_words"]
    form = Client().get(f"/r/{review.invitation.token}").content.decode()
    assert "it was sent to a moderator" in form and "It is published meanwhile." in form


def test_a_one_star_review_with_nothing_to_mask_is_published_unchanged_and_nothing_is_disclosed(
    alice: ShopAccess,
) -> None:
    body = "Terrible. Order 4711-0815-42 came on 12.03.2026, 3-4 days late, for 1.299,00 €."
    review = write_review(
        alice, "1001", 1, title="1 star", body=body, products={"TEA-1": (1, "Stale.")}, customer=ENGLISH
    )

    review.refresh_from_db()
    assert (review.status, review.rating, review.title, review.body) == ("published", 1, "1 star", body)
    assert (review.automated, review.original, review.flagged_at) == ([], {}, None)
    views = public_views(alice, review)
    assert body in views["profile"] and "Stale." in views["product profile"]
    for name, html in views.items():
        assert "automatically" not in html, name
    assert alice.api.get("/api/v1/reviews").json()["items"][0]["automated"] == []


def test_a_link_in_a_review_is_shown_as_text_never_as_a_link(alice: ShopAccess) -> None:
    url = "https://evil.example/win?a=1&b=2"
    review = write_review(
        alice, "1001", 4, title=f"See {url}", body=f"Details at {url} and www.evil.example", customer=ENGLISH
    )

    for name, html in public_views(alice, review).items():
        assert not re.search(r"<a\b[^>]*\bhref=\"[^\"]*evil\.example", html), name
    views = public_views(alice, review)
    assert "Details at https://evil.example/win?a=1&amp;b=2 and www.evil.example" in views["profile"]
    assert "Details at https://evil.example/win?a=1&amp;b=2 and www.evil.example" in views["review page"]
    assert "See https://evil.example/win?a=1&amp;b=2" in views["widget"]


def post_edit(review: Review, rating: int, title: str, body: str, products: dict[str, tuple[int, str]]) -> None:
    invitation = review.invitation
    assert invitation is not None
    response = Client().post(f"/r/{invitation.token}", review_form(invitation, rating, title, body, products))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_an_edit_is_screened_again_and_a_text_sent_back_as_published_keeps_its_original(
    alice: ShopAccess, now: Any
) -> None:
    review = write_review(
        alice, "1001", 2, title="Meh", body="Call 0171 1234567.", products={"TEA-1": (2, "Ok")}, customer=ENGLISH
    )

    # The form shows the published text: sent back with new stars, it still stands for the number.
    post_edit(review, 3, "Meh", f"Call {PHONE}.", {"TEA-1": (2, "Ok")})
    review.refresh_from_db()
    assert (review.rating, review.body, review.automated) == (3, f"Call {PHONE}.", [MASKED_PHONE])
    assert review.original == {"body": "Call 0171 1234567."}

    # A new text: screened again; the revision keeps what was written before.
    post_edit(review, 3, "Meh", "Sorted out, write to jan@example.nl", {"TEA-1": (2, "Ok")})
    review.refresh_from_db()
    assert (review.body, review.automated) == (f"Sorted out, write to {EMAIL}", [MASKED_EMAIL])
    assert review.original == {"body": "Sorted out, write to jan@example.nl"}
    last = ReviewRevision.objects.filter(review=review).latest("pk")
    assert last.content["original"] == {"body": "Call 0171 1234567."}

    # Nothing left to mask: the original goes, the disclosure too.
    post_edit(review, 4, "Fine", "All good now.", {"TEA-1": (2, "Ok")})
    review.refresh_from_db()
    assert (review.body, review.automated, review.original) == ("All good now.", [], {})


def test_an_edit_flags_anew_only_for_a_new_listed_word_and_unflags_when_none_is_left(
    alice: ShopAccess, now: Any
) -> None:
    review = write_review(alice, "1001", 1, body="You dickhead.", customer=ENGLISH)
    review.refresh_from_db()
    first = review.flagged_at
    assert first is not None
    looked = timezone.now()
    Review.objects.filter(pk=review.pk).update(flag_cleared_at=looked)  # a moderator looked

    now.shift(60)
    post_edit(review, 1, "Still bad", "You dickhead.", {})
    review.refresh_from_db()
    assert (review.flagged_at, review.flag_cleared_at) == (first, looked)  # nothing new to look at
    assert list(Review.objects.flagged()) == []

    now.shift(60)
    post_edit(review, 1, "Still bad", "You dickhead, you motherfucker.", {})
    review.refresh_from_db()
    assert (review.flagged_at, review.flag_cleared_at) == (timezone.now(), None)
    assert list(Review.objects.flagged()) == [review]

    post_edit(review, 2, "Calmer", "Not good.", {})
    review.refresh_from_db()
    assert (review.flagged_at, review.flag_cleared_at, review.automated) == (None, None, [])


def test_a_title_the_mark_makes_too_long_is_cut_and_its_original_kept(alice: ShopAccess) -> None:
    title = "Write to me: a@b.de " + "x" * 99  # 119 characters; the mark is longer than the address

    review = write_review(alice, "1001", 3, title=title, customer=ENGLISH)

    review.refresh_from_db()
    assert review.title == (f"Write to me: {EMAIL} " + "x" * 99)[:119] + "…"
    assert len(review.title) == 120
    assert review.original == {"title": title}
