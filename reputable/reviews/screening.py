"""The checks at submission: what a review publishes of what its reviewer wrote.

Every review is published at once, whatever its stars and whatever these checks find. They do
two things, each disclosed on the review wherever it is shown (DSA Art. 17(3)(c): the use of
automated means is stated):

- **Mask** e-mail addresses, phone numbers and IBANs: the published text carries a mark in the
  review's own language ("[phone number hidden]") where they were. A mark in words rather than
  a neutral "•••" reads right wherever the text goes without our disclosure beside it (feeds,
  exports, API clients, search engines), and no reader takes it for the reviewer's own
  punctuation. The original stays with the review, for moderators only.
- **Flag** a review whose words are on the word list of its language (or the English one):
  a moderator looks at it; nothing is hidden.

The patterns err on the side of leaving text alone: order numbers, dates, prices, postcodes,
product codes and random letter-digit strings stay as written (see the tests). A phone number
is recognised by how people write one in Germany, the Netherlands, Poland, the UK and the US,
and by words around it ("Tel.", "call me", "Bestellnummer").

`screen` is a pure function of the texts and the language (its marks come from the gettext
catalogue of that language).
"""

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext as _

MASKED_EMAIL = "masked_email"
MASKED_PHONE = "masked_phone"
MASKED_IBAN = "masked_iban"
FLAGGED_WORDS = "flagged_words"
# The codes of the automated actions, in the order they are listed (API `automated`).
ACTIONS = (MASKED_EMAIL, MASKED_PHONE, MASKED_IBAN, FLAGGED_WORDS)

WORD_LISTS = Path(__file__).parent / "data" / "slurs"


@dataclass(frozen=True)
class Screening:
    """What the checks made of a review's texts (keyed as given)."""

    published: dict[str, str]  # each text as it is published
    actions: tuple[str, ...]  # codes of ACTIONS, in that order
    flagged_words: tuple[str, ...]  # the listed words found (as written), for the moderator

    @property
    def masked(self) -> bool:
        return any(code != FLAGGED_WORDS for code in self.actions)

    @property
    def flagged(self) -> bool:
        return FLAGGED_WORDS in self.actions


def screen(texts: Mapping[str, str], language: str) -> Screening:
    """Mask contact and bank details in `texts` (a review's title, text and product texts, by
    any keys) with marks in `language`, and find the words of the word lists."""
    with translation.override(language):
        masks: tuple[tuple[str, Callable[[str], list[tuple[int, int]]], str], ...] = (
            (MASKED_EMAIL, _emails, _("[e-mail address hidden]")),
            (MASKED_IBAN, _ibans, _("[IBAN hidden]")),
            (MASKED_PHONE, _phones, _("[phone number hidden]")),
        )
    found: set[str] = set()
    published = {}
    for key, text in texts.items():
        for code, find, mark in masks:  # in this order: an address or an IBAN holds digits
            spans = find(text)
            if spans:
                found.add(code)
                text = _replace(text, spans, mark)
        published[key] = text
    words = tuple(dict.fromkeys(word for text in texts.values() for word in listed_words(text, language)))
    if words:
        found.add(FLAGGED_WORDS)
    return Screening(published=published, actions=tuple(c for c in ACTIONS if c in found), flagged_words=words)


def _replace(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    for start, end in reversed(spans):
        text = text[:start] + mark + text[end:]
    return text


# --- e-mail addresses ---------------------------------------------------------------------------

# Also as people hide them from robots: "jan (at) example (dot) nl", "jan[at]example.de"; not a
# URL's user part ("https://user@host/": shown as text, never a link).
_AT = r"(?:@|\s?[\[(]\s?(?:at|ät|@|małpa)\s?[\])]\s?)"
_DOT = r"(?:\.|\s?[\[(]\s?(?:dot|punkt|punt|kropka)\s?[\])]\s?)"
_EMAIL = re.compile(
    rf"(?<![\w.+/-])[\w+-]+(?:\.[\w+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[^\W\d_]{{2,24}}(?![\w-])", re.I
)


def _emails(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _EMAIL.finditer(text)]


# --- IBANs --------------------------------------------------------------------------------------

# The length of each country's IBAN (SWIFT's IBAN registry): a string that does not have its
# country's length is no IBAN, whatever its checksum.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}")
# A Polish account number (NRB) is written without its "PL": 26 digits, usually 2 + 6 x 4.
_NRB = re.compile(r"(?<![\w-])\d{2}(?:[ \u00a0]?\d{4}){6}(?![\w-])")
_SPACES = " \u00a0"


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: the country's length, and mod 97 of the rearranged number is 1."""
    iban = iban.upper()
    if not iban.isascii() or not iban.isalnum() or IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ibans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    end = 0
    for start in _IBAN_START.finditer(text):
        if start.start() < end:
            continue
        span = _iban_at(text, start.start())
        if span:
            spans.append(span)
            end = span[1]
    for nrb in _NRB.finditer(text):
        digits = "".join(c for c in nrb.group() if c.isdigit())
        if iban_is_valid("PL" + digits) and not any(s <= nrb.start() < e for s, e in spans):
            spans.append(nrb.span())
    return sorted(spans)


def _iban_at(text: str, start: int) -> tuple[int, int] | None:
    """The span of the IBAN starting at `start`, written compact or with single spaces."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    chars: list[str] = []
    i = start
    while len(chars) < length and i < len(text):
        c = text[i]
        if c.isascii() and c.isalnum():
            chars.append(c)
        elif not (c in _SPACES and chars and i + 1 < len(text) and text[i + 1].isalnum()):
            break
        i += 1
    if len(chars) < length or (i < len(text) and text[i].isalnum()):
        return None  # shorter, or it goes on: no IBAN of this country
    return (start, i) if iban_is_valid("".join(chars)) else None


# --- phone numbers ------------------------------------------------------------------------------

# A run of digit groups with one separator between groups: "+49 (0)30 123 456-7", "06-12345678",
# "(415) 555-2671". Not inside a word or a longer number, and never "#123".
_GROUP = r"(?:\(\d{1,5}\)|\d+)"
_SEP = r"(?:[ \u00a0]?[./-][ \u00a0]?|[ \u00a0])"
_CANDIDATE = re.compile(rf"(?<![\w+#])(?<!\d[.,/-])(?:\+[ \u00a0]?)?{_GROUP}(?:{_SEP}?{_GROUP})*(?![\w%])(?!{_SEP}?\d)")
# Dates are digit groups too: 12.03.2024, 03/12/2024, 12-03-24, 2024-03-12.
_DATE = re.compile(
    r"(?<!\d)(?:(?:0?[1-9]|[12]\d|3[01])([./-])(?:0?[1-9]|1[0-2])\1(?:\d{4}|\d{2})"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})"
    r"|(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01]))(?!\d)"
)
# Mobile numbers as written without a space: German 015x/016x/017x, Dutch 06, British 07.
_MOBILE = re.compile(r"01[5-7]\d{8,9}|06\d{8}|07\d{9}")
# Words that say what the number after them is (the last such word before it decides).
_PHONE_WORDS = (
    r"tel|telef\w*|telephone|phone\w*|mobil\w*|mobiel\w*|handy\w*|cell\w*|call\w*|ring me|whats ?app|sms|fax"
    r"|anruf\w*|angerufen|ruf\w*|rief\w*|bel|bellen|belde\w*|gebeld|gsm|zadzwo\w*|dzwo\w*|komórk\w*|kom"
)
_OTHER_WORDS = (
    r"order\w*|bestel\w*|auftrag\w*|rechnung\w*|invoice\w*|factu\w*|faktur\w*|zam[óo]wie\w*|"
    r"kundennr|kundennummer\w*|klantnummer\w*|customer (?:no|number)|account\w*|konto\w*|rekening\w*|"
    r"track\w*|sendung\w*|paket\w*|pakket\w*|parcel\w*|przesy[łl]k\w*|shipment\w*|sku|ean|gtin|isbn|upc|"
    r"art|artikel\w*|article\w*|item\w*|product\w*|produkt\w*|model\w*|serial\w*|serien\w*|iban|bic|blz|"
    r"ref\w*|ticket\w*|case|vorgang\w*|kod\w*|code\w*|plz|postcode\w*|zip|nip|regon|pesel|ust\w*"
)
_CONTEXT = re.compile(rf"\b(?:(?P<phone>{_PHONE_WORDS})|(?P<other>{_OTHER_WORDS}))\b", re.I)
_NUMBER_SIGN = re.compile(r"(?:#|\bnr\.?|\bno\.?|\bnº)\s*:?\s*$", re.I)
_CURRENCY = re.compile(r"\s?(?:€|eur\b|euro|zł|zl\b|pln\b|\$|usd\b|£|gbp\b|chf\b)", re.I)
_CONTEXT_CHARS = 40
_BRACKETED = re.compile(r"\[[^\]\n]*\]")


def _phones(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    before, read = "", 0  # the text before the candidate, each phone found in it as " "
    for m in _CANDIDATE.finditer(text):
        before += text[read : m.start()]
        read = m.start()
        # As the published text will read it: a phone found is a mark by then, which `_context`
        # reads as " ", so that screening the published text again finds nothing more.
        if _is_phone(m.group(), before, text[m.end() :]):
            spans.append(m.span())
            before += " "
            read = m.end()
    return spans


def _context(before: str) -> str | None:
    """ "phone" or "other" by the last telling word shortly before a number (on its line)."""
    # Without bracketed text: the marks put in ("[phone number hidden]") say nothing of the next number.
    window = _BRACKETED.sub(" ", before.rpartition("\n")[2])[-_CONTEXT_CHARS:]
    last = None
    for word in _CONTEXT.finditer(window):
        last = "phone" if word.group("phone") else "other"
    if last is None and _NUMBER_SIGN.search(window):
        return "other"  # "Nr. 123 456 789", "#4711"
    return last


def _is_phone(candidate: str, before: str, after: str) -> bool:
    digits = "".join(c for c in candidate if c.isdigit())
    context = _context(before)
    if context == "other" or _CURRENCY.match(after) or len(digits) > 15:
        return False
    if candidate.startswith("+"):  # international: a country code and the number, E.164
        return len(digits) >= 8 and digits[0] != "0"
    if len(digits) < 7 or _DATE.search(candidate):
        return False
    if context == "phone":  # "Tel. 512345678", "call me on 5552671"
        return True
    grouped = not candidate.isdigit()
    groups = re.findall(r"\d+", candidate)
    if digits.startswith("00"):  # the international call prefix: "0049 30 1234567"
        return grouped and digits[2] != "0" and len(digits) >= 10
    if digits.startswith("0"):  # national with the trunk prefix (DE, NL, UK): "030 1234567"
        if not grouped:
            return _MOBILE.fullmatch(digits) is not None
        return digits[1] != "0" and 2 <= len(groups[0]) <= 6 and 9 <= len(digits) <= 12
    shape = [len(g) for g in groups]
    if shape in ([3, 3, 4], [1, 3, 3, 4]):  # US: (415) 555-2671, 1-800-555-0199
        local = digits[-10:]
        return (len(digits) == 10 or digits[0] == "1") and local[0] not in "01" and local[3] not in "01"
    return shape in ([3, 3, 3], [2, 3, 2, 2])  # Poland: 512 345 678, 22 123 45 67


# --- the word lists -----------------------------------------------------------------------------

# Letters people write as other characters to get past a filter ("*" stands for any letter).
_SUBSTITUTES = {"a": "4@", "e": "3", "i": "1!|", "l": "1|", "o": "0", "s": "5$", "t": "7", "g": "9", "b": "8"}
_TOKEN = re.compile(r"[\w*@$!|]+")


def _folded(text: str) -> str:
    """Lower case without accents: "Hurensöhne" → "hurensohne", "ciotą" → "ciota"."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("ł", "l"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _word_pattern(word: str) -> str:
    """A listed word as a pattern: each letter or a substitute or "*", as often as listed or
    more ("cuuunt")."""
    runs = re.finditer(r"(.)\1*", _folded(word))
    return "".join(
        f"[{re.escape(run.group(1) + _SUBSTITUTES.get(run.group(1), '') + '*')}]{{{len(run.group())},}}" for run in runs
    )


@functools.cache
def _word_list(language: str) -> re.Pattern[str] | None:
    path = WORD_LISTS / f"{language}.txt"
    if not path.is_file():
        return None
    words = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    patterns = [_word_pattern(word) for word in words if word and not word.startswith("#")]
    return re.compile("|".join(patterns)) if patterns else None


def listed_words(text: str, language: str) -> list[str]:
    """The words of `text` (as written) that are on the list of `language` or the English one."""
    lists = [p for p in {_word_list(language), _word_list("en")} if p is not None]
    found = []
    for match in _TOKEN.finditer(text):
        token = match.group().strip("!*|")
        folded = _folded(token)
        if not folded or folded[0] == "*" or folded.count("*") * 2 > len(folded):
            continue  # "****" or "c***" could be anything
        if any(pattern.fullmatch(folded) for pattern in lists):
            found.append(token)
    return found


# --- disclosure ---------------------------------------------------------------------------------


def disclosures(actions: list[str] | tuple[str, ...]) -> list[str]:
    """What the review says about the checks' actions, in the current language, for anyone."""
    notes = []
    if MASKED_EMAIL in actions or MASKED_PHONE in actions:
        notes.append(_("Contact details in this review were hidden automatically."))
    if MASKED_IBAN in actions:
        notes.append(_("Bank details in this review were hidden automatically."))
    if FLAGGED_WORDS in actions:
        # Neutral: a word list is no verdict, and the review stays published.
        notes.append(_("This review was sent to a moderator automatically because of its wording."))
    return notes


def short_disclosures(actions: list[str] | tuple[str, ...]) -> list[str]:
    """The same in a few words, for the one line a widget's review has for it."""
    notes = []
    if any(code in actions for code in (MASKED_EMAIL, MASKED_PHONE, MASKED_IBAN)):
        notes.append(_("Details hidden automatically"))
    if FLAGGED_WORDS in actions:
        notes.append(_("Sent to a moderator automatically"))
    return notes


def reviewer_notes(actions: list[str] | tuple[str, ...]) -> list[str]:
    """What the reviewer is told on the form about what the checks did to their review."""
    hidden = [
        label
        for code, label in (
            (MASKED_EMAIL, _("an e-mail address")),
            (MASKED_PHONE, _("a phone number")),
            (MASKED_IBAN, _("bank details (IBAN)")),
        )
        if code in actions
    ]
    notes = []
    if hidden:
        notes.append(
            _(
                "To protect you and others, this was hidden automatically in the published review (which says"
                " so): %(what)s. Only moderators can see what you wrote there."
            )
            % {"what": ", ".join(hidden)}
        )
    if FLAGGED_WORDS in actions:
        notes.append(
            _(
                "Some words in your review are on our list of slurs and insults, so it was sent to a moderator"
                " automatically. It is published meanwhile."
            )
        )
    return notes
