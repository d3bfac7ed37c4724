"""CSV imports of orders: detection, the mapping, dry runs, and the dispatcher's all-or-nothing
import through the API."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from reputable.conftest import ShopAccess, run_dispatcher
from reputable.events.models import Event, Transaction
from reputable.integrations import imports
from reputable.integrations.models import Import, ImportSettings
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product

pytestmark = pytest.mark.usefixtures("now", "data_dir")

ORDERS = (
    "Bestellnummer;Bestelldatum;E-Mail;Vorname;Nachname;Artikelnummer;Artikel\n"
    "A-1;20.11.2026 14:30;jan@example.nl;Jan;Visser;TEA-1;Grüner Tee\n"
    "A-1;20.11.2026 14:30;jan@example.nl;Jan;Visser;TEA-2;Schwarzer Tee\n"
    "A-2;21.11.2026;kim@example.nl;Kim;Jansen;TEA-1;Grüner Tee\n"
)


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """Uploads go to a folder of this test's own."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def csv_file(text: str | bytes, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/csv")


def upload(shop: ShopAccess, text: str | bytes, **fields: Any) -> Any:
    return shop.api.post("/api/v1/imports", {"file": csv_file(text), **fields})


def progress(shop: ShopAccess, import_id: int) -> dict[str, Any]:
    answer = shop.api.get(f"/api/v1/imports/{import_id}")
    assert answer.status_code == 200, answer.content
    return answer.json()


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(delimiter: str) -> None:
    rows = [["order", "date", "email", "name"], ["1", "2026-11-20", "a@example.nl", "Tea, green"]]
    text = "\n".join(delimiter.join(f'"{v}"' if delimiter in v or "," in v else v for v in row) for row in rows)

    assert imports.detect_delimiter(text + "\n2") == delimiter


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Straße;Größe\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "Straße;Größe\n".encode(), "utf-8-sig"),
        ("Straße;Größe\n".encode("cp1252"), "cp1252"),
        ("Stra\u00dfe".encode()[:-1], "utf-8"),  # a character cut at the sample's end is still UTF-8
    ],
)
def test_each_encoding_is_detected(data: bytes, encoding: str) -> None:
    assert imports.detect_encoding(data) == encoding


@pytest.mark.parametrize(
    ("values", "date_format"),
    [
        (["2026-11-20T14:30:00+01:00", "2026-11-21"], "iso"),
        (["20.11.2026 14:30", "01.02.2026"], "dd.mm.yyyy"),
        (["01/02/2026", "20/11/2026"], "dd/mm/yyyy"),  # the 20 decides: day first
        (["01/02/2026", "11/20/2026 09:15"], "mm/dd/yyyy"),  # the 20 decides: month first
        (["01/02/2026", "03/04/2026"], ""),  # nothing decides yet: the file's rows will
    ],
)
def test_each_date_format_is_detected(values: list[str], date_format: str) -> None:
    assert imports.detect_date_format(values) == date_format


def test_dates_are_read_in_their_format() -> None:
    assert imports.parse_date("20.11.2026 14:30", "dd.mm.yyyy") == dt.datetime(2026, 11, 20, 14, 30)  # noqa: DTZ001
    assert imports.parse_date("11/20/2026", "mm/dd/yyyy") == dt.datetime(2026, 11, 20)  # noqa: DTZ001
    assert imports.parse_date("2026-11-20T14:30:00Z", "iso") == dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="DD/MM/YYYY"):
        imports.parse_date("31/02/2026", "dd/mm/yyyy")


def test_the_mapping_is_guessed_from_common_headers_in_each_language() -> None:
    guessed = imports.guess_mapping(["Ordernummer", "Besteldatum", "E-mailadres", "Voornaam", "EAN", "Productnaam"])
    assert guessed == {
        "reference": "Ordernummer",
        "date": "Besteldatum",
        "email": "E-mailadres",
        "first_name": "Voornaam",
        "product_gtin": "EAN",
        "product_name": "Productnaam",
    }
    polish = imports.guess_mapping(["Numer zamówienia", "Data zamówienia", "Adres e-mail", "Imię", "Nazwisko"])
    assert set(polish) == {"reference", "date", "email", "first_name", "last_name"}
    assert imports.guess_mapping(["Order Number", "Created at", "Email", "Lineitem name"])["product_name"] == (
        "Lineitem name"
    )


# --- the upload -------------------------------------------------------------------------------


def test_an_uploaded_file_is_stored_with_its_hash_and_read_as_detected(alice: ShopAccess) -> None:
    data = ORDERS.encode("cp1252")

    answer = upload(alice, data)

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["phase"] == "checking"
    assert (body["encoding"], body["delimiter"], body["date_format"]) == ("cp1252", ";", "dd.mm.yyyy")
    assert body["mapping"]["reference"] == "Bestellnummer" and body["mapping"]["product_name"] == "Artikel"
    imp = Import.objects.get(pk=body["id"])
    import hashlib

    assert imp.sha256 == hashlib.sha256(data).hexdigest() == body["sha256"]
    stored = Path(settings.DATA_DIR) / imp.path
    assert stored.read_bytes() == data and stored.parent.name == "imports"


def test_the_mapping_is_saved_for_the_shop_and_reused_for_its_next_file(alice: ShopAccess) -> None:
    text = "Nr;Wann;Kunde\nA-1;2026-11-20;jan@example.nl\n"
    mapping = {"reference": "Nr", "date": "Wann", "email": "Kunde"}

    assert upload(alice, text, mapping=json.dumps(mapping)).status_code == 202
    assert ImportSettings.objects.get(shop=alice.shop).mapping == mapping

    again = upload(alice, text.replace("A-1", "A-2"))  # no mapping given: the saved one
    assert again.status_code == 202, again.content
    assert again.json()["mapping"] == mapping


@pytest.mark.parametrize(
    ("fields", "failing"),
    [
        ({}, "file"),
        ({"file": csv_file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "logo.png")}, "file"),
        ({"file": csv_file(b"")}, "file"),
        ({"file": csv_file("Nr;Datum\n1;2026-11-20\n")}, "mapping.email"),
        ({"file": csv_file(ORDERS), "encoding": "latin-7"}, "encoding"),
        ({"file": csv_file(ORDERS), "date_format": "yyyy/dd/mm"}, "date_format"),
        ({"file": csv_file(ORDERS), "event_type": "teleported"}, "event_type"),
        ({"file": csv_file(ORDERS), "mapping": "[1, 2]"}, "mapping"),
        ({"file": csv_file(ORDERS), "mapping": '{"email": "Mail"}'}, "mapping.email"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_kept(
    alice: ShopAccess, fields: dict[str, Any], failing: str
) -> None:
    answer = alice.api.post("/api/v1/imports", fields)

    assert answer.status_code == 422, answer.content
    assert failing in [f["field"] for f in answer.json()["fields"]]
    assert not Import.objects.exists()
    assert not list((Path(settings.DATA_DIR) / "imports").glob("*"))


def test_a_foreign_shops_import_is_not_found(alice: ShopAccess, charlie: ShopAccess) -> None:
    imp = upload(alice, ORDERS).json()

    assert charlie.api.get(f"/api/v1/imports/{imp['id']}").status_code == 404
    assert charlie.api.post(f"/api/v1/imports/{imp['id']}/start").status_code == 404
    assert charlie.api.get("/api/v1/imports").json() == []


# --- the import -------------------------------------------------------------------------------


def test_an_imported_file_becomes_events_transactions_and_invitations(alice: ShopAccess, dispatcher: Any) -> None:
    imp = upload(alice, ORDERS).json()

    run_dispatcher(dispatcher)

    done = progress(alice, imp["id"])
    assert (done["status"], done["rows_total"], done["rows_done"], done["created"]) == ("done", 3, 3, 2)
    assert done["errors"] == [] and done["finished_at"] is not None
    a1 = Transaction.objects.get(shop=alice.shop, reference="A-1")
    assert a1.email == "jan@example.nl" and a1.first_name == "Jan"
    assert a1.date == dt.datetime(2026, 11, 20, 13, 30, tzinfo=dt.UTC)  # 14:30 in Berlin
    assert sorted(Product.objects.filter(transactions=a1).values_list("name", flat=True)) == [
        "Grüner Tee",
        "Schwarzer Tee",
    ]
    assert Invitation.objects.filter(shop=alice.shop).count() == 2
    assert not (Path(settings.DATA_DIR) / Import.objects.get().path).is_file()  # the file went


def test_importing_the_same_file_again_stores_nothing_new(alice: ShopAccess, dispatcher: Any) -> None:
    upload(alice, ORDERS)
    run_dispatcher(dispatcher)
    events = Event.objects.count()

    again = upload(alice, ORDERS).json()
    run_dispatcher(dispatcher)

    second = progress(alice, again["id"])
    assert (second["status"], second["created"], second["duplicates"]) == ("done", 0, 2)
    assert Event.objects.count() == events
    assert Invitation.objects.count() == 2


def test_rows_with_a_type_column_carry_their_event_types(alice: ShopAccess, dispatcher: Any) -> None:
    text = (
        "order,date,email,type\n"
        "A-1,2026-11-20,jan@example.nl,checkout\n"
        "A-1,2026-11-21,jan@example.nl,cancel\n"
        "A-2,2026-11-20,kim@example.nl,\n"
    )
    imp = upload(alice, text).json()
    run_dispatcher(dispatcher)

    assert progress(alice, imp["id"])["created"] == 3
    assert sorted(Event.objects.filter(transaction__reference="A-1").values_list("event_type__key", flat=True)) == [
        "cancel",
        "checkout",
    ]
    assert Invitation.objects.get(transaction__reference="A-1").status == Invitation.Status.CANCELLED


def test_a_dry_run_lists_the_bad_rows_and_imports_nothing(alice: ShopAccess, dispatcher: Any) -> None:
    text = (
        "order,date,email,product,ean\n"
        "A-1,2026-11-20,jan@example.nl,Tea,4006381333931\n"
        "A-2,2026-13-20,kim@example.nl,Tea,\n"
        "A-3,2026-11-20,not-an-address,Tea,\n"
        "A-4,2026-11-20,piet@example.nl,Tea,12345\n"
        "A-5,2030-01-01,lea@example.nl,Tea,\n"
    )
    imp = upload(alice, text, dry_run="true").json()
    run_dispatcher(dispatcher)

    checked = progress(alice, imp["id"])
    assert checked["status"] == "failed" and checked["dry_run"] is True
    assert checked["error_count"] == 4 and checked["rows_total"] == 5
    assert [(e["row"], e["column"]) for e in checked["errors"]] == [(3, "date"), (4, "email"), (5, "ean"), (6, "date")]
    assert "lies in the future" in checked["errors"][3]["message"]
    assert not Transaction.objects.exists()


def test_a_clean_dry_run_can_then_be_imported(alice: ShopAccess, dispatcher: Any) -> None:
    imp = upload(alice, ORDERS, dry_run="1").json()
    run_dispatcher(dispatcher)
    assert progress(alice, imp["id"])["status"] == "done"
    assert not Transaction.objects.exists()

    assert alice.api.post(f"/api/v1/imports/{imp['id']}/start").status_code == 202
    run_dispatcher(dispatcher)

    done = progress(alice, imp["id"])
    assert (done["status"], done["dry_run"], done["created"]) == ("done", False, 2)
    assert Transaction.objects.count() == 2


def test_slashed_dates_are_read_as_the_rows_decide_and_a_contradiction_is_a_bad_row(
    alice: ShopAccess, dispatcher: Any
) -> None:
    rows = [f"A-{n},0{n % 9 + 1}/0{n % 7 + 1}/2026,c{n}@example.nl" for n in range(1200)]
    text = "order,date,email\n" + "\n".join([*rows, "B-1,11/20/2026,b@example.nl", "B-2,20/11/2026,c@example.nl"])
    imp = upload(alice, text).json()
    assert imp["date_format"] == ""  # the first thousand rows do not decide

    run_dispatcher(dispatcher)

    checked = progress(alice, imp["id"])
    assert checked["date_format"] == "mm/dd/yyyy"
    assert checked["errors"] == [{"row": 1203, "column": "date", "message": "is not a date as MM/DD/YYYY [HH:MM]"}]
    assert not Transaction.objects.exists()
