"""CSV imports of orders: the file stored, how it is read, and each order made an event.

An upload is stored under the data folder as it streams in (with its SHA-256), then read from
its first 64 KB: the encoding (UTF-8, UTF-8 with BOM, else Windows-1252), the delimiter
(`,` `;` tab `|`, by csv.Sniffer), the header, the date format, and which column is which
Reputable field (guessed from common header names in English, German, Dutch and Polish, the
shop's last mapping first). Each may also be given. The dispatcher then reads the file in
steps from a byte offset (reputable.integrations.import_work), never all of it at once.

Rows follow one another in the file: a run of consecutive rows with the same reference (and
type) is one order with a product on each row, as exports of order lines write them. The
same reference again later in the file is that order's event again: recorded once, with the
products of its first run of rows (the file is never held in memory to find it).
"""

import codecs
import csv
import datetime as dt
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from django.utils.translation import gettext_noop
from pydantic import ValidationError

from reputable.events.actions import ActiveType, Rejected
from reputable.events.actions import _apply_rules as rules_of_ingestion
from reputable.events.models import EventType
from reputable.events.schemas import EventIn
from reputable.integrations.actions import Refused
from reputable.integrations.models import Import, ImportSettings
from reputable.lib.api import field_errors
from reputable.shops.models import Shop

ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252"}
# Names shown in the dashboard, translated there (marked here for makemessages).
DELIMITERS = {
    ",": gettext_noop("comma"),
    ";": gettext_noop("semicolon"),
    "\t": gettext_noop("tab"),
    "|": gettext_noop("pipe"),
}
DATE_FORMATS = {
    "iso": "ISO 8601 (2026-11-23 14:30)",
    "dd.mm.yyyy": "DD.MM.YYYY [HH:MM]",
    "dd/mm/yyyy": "DD/MM/YYYY [HH:MM]",
    "mm/dd/yyyy": "MM/DD/YYYY [HH:MM]",
}
# A file whose slashed dates never tell day from month (no part above 12) is read as most of
# the world writes them; the import shows the format it used, and the merchant may choose.
AMBIGUOUS_SLASHES = "dd/mm/yyyy"
SAMPLE_BYTES = 64 * 1024  # what detection reads
MAX_BYTES = 200 * 1024 * 1024  # the largest file taken
MAX_ERRORS = 100  # bad rows listed; all are counted


class Column(NamedTuple):
    label: str
    # Header names that mean this field, normalised (see `normal`): en, de, nl, pl.
    names: frozenset[str]


def _names(names: str) -> frozenset[str]:
    return frozenset(normal(name) for name in names.split("|"))


def normal(name: str) -> str:
    """A header name as it is compared: lower case, without accents, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", name.casefold().replace("ł", "l").replace("ß", "ss"))
    return "".join(c for c in folded if c.isalnum())


# The Reputable fields a column may hold, in the order the dashboard shows them.
FIELDS: dict[str, Column] = {
    "reference": Column(
        gettext_noop("Order reference"),
        _names(
            "reference|order|order id|order number|order no|order nr|order reference|transaction|transaction id"
            "|Bestellnummer|Bestellung|Bestellnr|Auftragsnummer|ordernummer|bestelnummer|bestelling"
            "|numer zamówienia|nr zamówienia|zamówienie"
        ),
    ),
    "date": Column(
        gettext_noop("Order date"),
        _names(
            "date|order date|created at|created|purchase date|Datum|Bestelldatum|besteldatum|orderdatum"
            "|data|data zamówienia"
        ),
    ),
    "email": Column(
        gettext_noop("Email address"),
        _names("email|e-mail|email address|mail|customer email|billing email|E-Mail-Adresse|e-mailadres|adres e-mail"),
    ),
    "first_name": Column(
        gettext_noop("First name"), _names("first name|given name|billing first name|Vorname|voornaam|imię")
    ),
    "last_name": Column(
        gettext_noop("Last name"),
        _names("last name|surname|family name|billing last name|Nachname|achternaam|nazwisko"),
    ),
    "locale": Column(gettext_noop("Language"), _names("locale|language|lang|Sprache|taal|język")),
    "type": Column(gettext_noop("Event type"), _names("type|event type|event|Ereignis|gebeurtenis|typ")),
    "estimated_delivery_date": Column(
        gettext_noop("Estimated delivery date"),
        _names("estimated delivery date|delivery date|Lieferdatum|leverdatum|data dostawy"),
    ),
    "product_sku": Column(
        gettext_noop("Product SKU"), _names("sku|product sku|article number|item sku|Artikelnummer|Artikelnr|indeks")
    ),
    "product_name": Column(
        gettext_noop("Product name"),
        _names(
            "product|product name|item|item name|line item name|Artikel|Artikelname|Produkt|Produktname"
            "|productnaam|nazwa produktu"
        ),
    ),
    "product_gtin": Column(gettext_noop("Product GTIN"), _names("gtin|ean|ean13|barcode|upc")),
    "product_mpn": Column(gettext_noop("Product MPN"), _names("mpn|manufacturer part number")),
    "product_brand": Column(
        gettext_noop("Product brand"), _names("brand|manufacturer|vendor|Marke|Hersteller|merk|marka")
    ),
    "product_url": Column(gettext_noop("Product URL"), _names("product url|url|link|product link|Produkt-URL")),
    "product_image_url": Column(gettext_noop("Product image URL"), _names("image url|image|Bild|afbeelding|zdjęcie")),
}
REQUIRED = ("reference", "date", "email")
PRODUCT = "product_"


# --- detection --------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with BOM, UTF-8, or else Windows-1252 (what Excel writes on Western systems)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a character cut at the end
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """The delimiter of the sample's whole lines; the most frequent candidate in the first line
    when the sniffer cannot tell (a file of one column: a comma)."""
    lines = text.splitlines()
    whole = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        return csv.Sniffer().sniff(whole, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


_DAY_FIRST = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def _slashed(value: str) -> tuple[int, int] | None:
    match = _DAY_FIRST.fullmatch(value.strip())
    return (int(match[1]), int(match[3])) if match and match[2] == "/" else None


def detect_date_format(values: Iterable[str]) -> str:
    """The format most of `values` are written in; for slashed dates the one a value with a
    part above 12 decides, or "" while none has (see `DateReader`)."""
    kinds: Counter[str] = Counter()
    for value in values:
        if not value.strip():
            continue
        for fmt in ("iso", "dd.mm.yyyy", "dd/mm/yyyy"):
            try:
                parse_date(value, fmt)
            except ValueError:
                continue
            kinds["slashed" if fmt == "dd/mm/yyyy" else fmt] += 1
            break
        else:
            if _slashed(value):
                kinds["slashed"] += 1  # a day above 12 in second place: month first
    if not kinds:
        return "iso"
    kind = kinds.most_common(1)[0][0]
    if kind != "slashed":
        return kind
    reader = DateReader("")
    for value in values:
        reader.learn(value)
    return reader.format


def parse_date(value: str, fmt: str) -> dt.datetime:
    """`value` in `fmt` (a key of DATE_FORMATS), naive unless it has an offset; ValueError if not."""
    value = value.strip()
    if fmt == "iso":
        return dt.datetime.fromisoformat(value)
    match = _DAY_FIRST.fullmatch(value)
    if match is None or match[2] != fmt[2]:
        raise ValueError(f"is not a date as {DATE_FORMATS[fmt]}")
    first, second, year = int(match[1]), int(match[3]), int(match[4])
    day, month = (second, first) if fmt == "mm/dd/yyyy" else (first, second)
    hour, minute, second_ = (int(match[n] or 0) for n in (5, 6, 7))
    try:
        return dt.datetime(year, month, day, hour, minute, second_)  # noqa: DTZ001 - the shop's local time
    except ValueError:
        raise ValueError(f"is not a date as {DATE_FORMATS[fmt]}") from None


@dataclass
class DateReader:
    """Reads the dates of a file in its format; slashed dates whose order is not decided yet
    ("") are read day first until a value decides it (a part above 12), and a later value
    that contradicts the decision is an error of its row."""

    format: str

    def learn(self, value: str) -> None:
        if self.format:
            return
        parts = _slashed(value)
        if parts and parts[0] > 12 >= parts[1]:
            self.format = "dd/mm/yyyy"
        elif parts and parts[1] > 12 >= parts[0]:
            self.format = "mm/dd/yyyy"

    def read(self, value: str) -> dt.datetime:
        self.learn(value)
        try:
            return parse_date(value, self.format or AMBIGUOUS_SLASHES)
        except ValueError:
            shown = DATE_FORMATS[self.format] if self.format else "DD/MM/YYYY or MM/DD/YYYY"
            raise ValueError(f"is not a date as {shown}") from None

    def read_day(self, value: str) -> dt.date:
        return self.read(value).date()


# --- reading rows -----------------------------------------------------------------------------


class Lines:
    """The file's lines from a byte offset, decoded, counting the bytes read: the csv reader
    pulls exactly the lines of one record at a time, so `offset` after a record is where the
    next one starts. A line that is not valid in the encoding is read with replacements and
    marked (`bad`), to be reported for its row."""

    def __init__(self, file: IO[bytes], encoding: str, offset: int) -> None:
        self.file = file
        self.encoding = "utf-8" if encoding == "utf-8-sig" and offset else encoding
        self.offset = offset
        self.bad = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.file.readline()
        if not line:
            raise StopIteration
        self.offset += len(line)
        try:
            return line.decode(self.encoding)
        except UnicodeDecodeError:
            self.bad = True
            return line.decode(self.encoding, errors="replace")


class Row(NamedTuple):
    number: int  # as a spreadsheet numbers it: the header is row 1
    start: int  # byte offsets of the row and of the next one
    end: int
    values: list[str]
    problem: str  # "" when the row could be read


def read_rows(file: IO[bytes], *, encoding: str, delimiter: str, start: int, number: int) -> Iterator[Row]:
    """The rows of `file` from byte offset `start`, the first numbered `number`."""
    file.seek(start)
    lines = Lines(file, encoding, start)
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        before, lines.bad = lines.offset, False
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over the csv module's limit
            values, problem = [], f"cannot be read: {error}"
        else:
            problem = f"is not valid {ENCODINGS[encoding]} text" if lines.bad else ""
        yield Row(number, before, lines.offset, values, problem)
        number += 1


class Problem(NamedTuple):
    row: int
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Order:
    """The consecutive rows of one order: the first gives the order, each its product."""

    key: tuple[str, str]
    row: int
    values: list[str]
    products: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class Chunk:
    orders: list[Order]
    problems: list[Problem]  # rows that could not be read at all
    rows: int  # rows read (blank ones too)
    position: int  # where the next chunk starts
    at_end: bool


@dataclass
class Layout:
    """How to read one import's file and what its columns mean."""

    encoding: str
    delimiter: str
    columns: list[str]
    mapping: dict[str, str]
    event_type: str
    dates: DateReader

    @classmethod
    def of(cls, imp: Import) -> "Layout":
        return cls(imp.encoding, imp.delimiter, imp.columns, imp.mapping, imp.event_type, DateReader(imp.date_format))

    def index(self, name: str) -> int | None:
        header = self.mapping.get(name)
        return self.columns.index(header) if header in self.columns else None

    def column(self, name: str) -> str:
        """The header of the column that holds `name` (the field's name when none does)."""
        return self.mapping.get(name) or name

    def reader(self) -> "Values":
        return Values({name: i for name in FIELDS if (i := self.index(name)) is not None})


@dataclass
class Values:
    """Fields of a row by their Reputable names."""

    indexes: dict[str, int]

    def get(self, values: list[str], name: str) -> str:
        i = self.indexes.get(name)
        return values[i].strip() if i is not None and i < len(values) else ""

    def products(self) -> list[str]:
        return [name for name in self.indexes if name.startswith(PRODUCT)]


def read_orders(path: Path, layout: Layout, *, start: int, number: int, limit: int) -> Chunk:
    """The orders from byte offset `start` (row `number`): whole orders of at least `limit` rows,
    fewer at the end of the file."""
    fields = layout.reader()
    orders: list[Order] = []
    problems: list[Problem] = []
    count = 0
    with path.open("rb") as file:
        for row in read_rows(file, encoding=layout.encoding, delimiter=layout.delimiter, start=start, number=number):
            if row.problem:
                problems.append(Problem(row.number, "", row.problem))
            if not any(v.strip() for v in row.values):
                count += 1  # a blank line
                continue
            key = (fields.get(row.values, "reference"), fields.get(row.values, "type"))
            if not orders or key != orders[-1].key or not key[0]:
                if count >= limit:
                    return Chunk(orders, problems, count, row.start, at_end=False)
                orders.append(Order(key, row.number, row.values))
            orders[-1].products.append((row.number, row.values))
            count += 1
        end = file.tell()
    return Chunk(orders, problems, count, end, at_end=True)


# --- rows as events ---------------------------------------------------------------------------


def event_of(order: Order, layout: Layout) -> EventIn | list[Problem]:
    """The order's event, or what is wrong with it (each problem at its row and column)."""
    fields = layout.reader()
    get = fields.get
    problems: list[Problem] = []
    date: dt.datetime | str = get(order.values, "date")
    try:
        date = layout.dates.read(str(date))
    except ValueError as error:
        problems.append(Problem(order.row, layout.column("date"), str(error)))
    event: dict[str, Any] = {
        "type": get(order.values, "type") or layout.event_type,
        "transaction": {"reference": get(order.values, "reference"), "date": date},
        "customer": {name: get(order.values, name) for name in ("email", "first_name", "last_name", "locale")},
    }
    if delivery := get(order.values, "estimated_delivery_date"):
        try:
            event["estimated_delivery_date"] = layout.dates.read_day(delivery)
        except ValueError as error:
            problems.append(Problem(order.row, layout.column("estimated_delivery_date"), str(error)))
    products = fields.products()
    event["products"] = [
        {name.removeprefix(PRODUCT): value for name in products if (value := get(values, name))}
        for _row, values in order.products
        if any(get(values, name) for name in products)
    ]
    rows = [row for row, values in order.products if any(get(values, name) for name in products)]
    if problems:
        return problems
    try:
        return EventIn.model_validate(event)
    except ValidationError as error:
        return [
            Problem(_row_of(failed.field, order.row, rows), layout.column(_field_of(failed.field)), failed.message)
            for failed in field_errors(error.errors())
        ]


def _field_of(location: str) -> str:
    """The Reputable field of a pydantic location: "customer.email" is email,
    "products.2.gtin" product_gtin, "transaction.reference" reference."""
    parts = location.split(".")
    if parts[0] == "products" and len(parts) > 2:
        return PRODUCT + parts[2]
    return {"transaction.date": "date", "transaction.reference": "reference"}.get(location, parts[-1])


def _row_of(location: str, first: int, product_rows: list[int]) -> int:
    parts = location.split(".")
    if parts[0] == "products" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(product_rows):
        return product_rows[int(parts[1])]
    return first


def check_order(
    order: Order, layout: Layout, *, shop: Shop, types: dict[str, ActiveType], now: dt.datetime
) -> list[Problem]:
    """What would keep the order from being recorded: its rows, then the rules of ingestion that
    `record_events` applies (an active event type, a date between 1970 and tomorrow, ...), so
    that a file that passes the check is recorded whole."""
    event = event_of(order, layout)
    if isinstance(event, list):
        return event
    rejected: Rejected | None = rules_of_ingestion(event, shop, types, now)
    return [] if rejected is None else [Problem(order.row, layout.column(_field_of(rejected.field)), rejected.message)]


# --- how a file is read -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the merchant chose; "" (or None for the mapping) leaves it to detection."""

    encoding: str = ""
    delimiter: str = ""
    date_format: str = ""
    event_type: str = "checkout"
    mapping: dict[str, str] | None = None


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Each field the header names, by its common names; the first such column wins."""
    guessed: dict[str, str] = {}
    for header in columns:
        name = normal(header)
        for field_name, column in FIELDS.items():
            if name in column.names and field_name not in guessed and header not in guessed.values():
                guessed[field_name] = header
    return guessed


def _check_options(shop: Shop, options: Options) -> None:
    errors = {}
    if options.encoding and options.encoding not in ENCODINGS:
        errors["encoding"] = f"must be one of {', '.join(ENCODINGS)}"
    if options.delimiter and options.delimiter not in DELIMITERS:
        errors["delimiter"] = "must be one of , ; | or a tab"
    if options.date_format and options.date_format not in DATE_FORMATS:
        errors["date_format"] = f"must be one of {', '.join(DATE_FORMATS)}"
    if not EventType.objects.filter(shop=shop, key=options.event_type, is_active=True).exists():
        errors["event_type"] = f"{options.event_type!r} is not an active event type of this shop"
    for name in options.mapping or {}:
        if name not in FIELDS:
            errors[f"mapping.{name}"] = "is not a field of an import"
    if errors:
        raise Refused(errors)


def read_layout(path: Path, shop: Shop, options: Options) -> dict[str, Any]:
    """How to read the file at `path`, from its first 64 KB and `options`: the Import's fields."""
    _check_options(shop, options)
    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
        if b"\0" in sample:
            raise Refused({"file": "is not a CSV file (it holds binary data)"})
        encoding = options.encoding or detect_encoding(sample)
        text = sample.decode(encoding, errors="replace")
        delimiter = options.delimiter or detect_delimiter(text)
        rows = read_rows(file, encoding=encoding, delimiter=delimiter, start=0, number=1)
        header = next(rows, None)
        if header is None or not any(v.strip() for v in header.values):
            raise Refused({"file": "has no header row"})
        columns = [value.strip().lstrip("\ufeff") for value in header.values]
        mapping = _mapping(shop, columns, options.mapping)
        date_format = options.date_format
        if not date_format:
            date = columns.index(mapping["date"])
            first = itertools.islice(rows, 1000)
            date_format = detect_date_format([row.values[date] for row in first if date < len(row.values)])
    return {
        "encoding": encoding,
        "delimiter": delimiter,
        "date_format": date_format,
        "event_type": options.event_type,
        "columns": columns,
        "mapping": mapping,
        "data_start": header.end,
        "position": header.end,
    }


def _mapping(shop: Shop, columns: list[str], given: dict[str, str] | None) -> dict[str, str]:
    """Guessed from the header, then the shop's last mapping, then what was given ("" unmaps)."""
    saved = ImportSettings.objects.filter(shop=shop).values_list("mapping", flat=True).first() or {}
    mapping = guess_mapping(columns)
    mapping |= {name: header for name, header in saved.items() if header in columns and name in FIELDS}
    errors = {}
    for name, header in (given or {}).items():
        if header and header not in columns:
            errors[f"mapping.{name}"] = f"the file has no column {header!r}"
        mapping[name] = header
    mapping = {name: header for name, header in mapping.items() if header}
    shown = ", ".join(repr(c) for c in columns[:30])
    for name in REQUIRED:
        if name not in mapping:
            errors.setdefault(f"mapping.{name}", f"no column is mapped to {name} (the file's columns: {shown})")
    if any(name.startswith(PRODUCT) for name in mapping) and "product_name" not in mapping:
        errors.setdefault("mapping.product_name", "must be mapped when other product columns are")
    if errors:
        raise Refused(errors)
    return mapping
