"""The CSV import pages of the dashboard: upload a dry run, see its bad rows, fix how the file is
read and check it again, import it and watch the progress that htmx polls."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reputable.conftest import ShopAccess, Team, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command as DispatchCommand
from reputable.events.models import Transaction
from reputable.integrations.models import Import

pytestmark = pytest.mark.usefixtures("now", "english")

PAGE = "/dashboard/alice-teas/imports"
ORDERS = (
    "Order;Date;Email;First name;Last name;SKU;Product\n"
    "A-1;2026-11-20;jan@example.nl;Jan;Visser;TEA-1;Green <b>tea</b>\n"
    "A-2;2026-11-21;not-an-address;Kim;Jansen;TEA-1;Green tea\n"
)


@pytest.fixture
def english(alice: ShopAccess, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    alice.shop.default_locale = "en"
    alice.shop.save(update_fields=["default_locale"])


@pytest.fixture
def owner(team: Team) -> Client:
    return team.client(team.alice)


def uploaded(owner: Client, text: str, **fields: Any) -> Import:
    file = SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")
    answer = owner.post(PAGE, {"file": file, "dry_run": "on", "event_type": "checkout", **fields})
    assert answer.status_code == 302, answer.content
    return Import.objects.get(pk=int(answer["Location"].rsplit("/", 1)[1]))


def test_alice_checks_a_file_sees_its_bad_row_fixes_it_and_imports_it_watching_the_progress(
    owner: Client, dispatcher: DispatchCommand, alice: ShopAccess
) -> None:
    imp = uploaded(owner, ORDERS)
    detail = f"{PAGE}/{imp.pk}"
    polled = owner.get(detail, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in polled  # queued: the page keeps asking

    run_dispatcher(dispatcher)
    page = owner.get(detail).content.decode()
    assert "2 rows checked, 1 with errors." in page
    assert "Rows with errors" in page and "<td>3</td>" in page  # the row of the bad address
    assert "Import this file" not in page
    assert 'hx-trigger="every 2s"' not in page  # over: nothing more to poll
    assert not Transaction.objects.filter(shop=alice.shop).exists()

    fixed = uploaded(owner, ORDERS.replace("not-an-address", "kim@example.nl"))
    run_dispatcher(dispatcher)
    checked = owner.get(f"{PAGE}/{fixed.pk}").content.decode()
    assert "2 rows checked, 0 with errors." in checked
    started = owner.post(f"{PAGE}/{fixed.pk}/start", follow=True).content.decode()
    assert "The import has started." in started
    assert "<progress" in started and 'hx-trigger="every 2s"' in started

    run_dispatcher(dispatcher)
    done = owner.get(f"{PAGE}/{fixed.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "2 new events, 0 already recorded before." in done
    assert sorted(Transaction.objects.filter(shop=alice.shop).values_list("reference", flat=True)) == ["A-1", "A-2"]
    listed = owner.get(PAGE).content.decode()
    assert listed.count("orders.csv") == 2


def test_a_file_without_an_address_column_is_refused_on_the_form_naming_it(owner: Client) -> None:
    file = SimpleUploadedFile("orders.csv", ORDERS.replace("Email", "Contact").encode(), content_type="text/csv")
    answer = owner.post(PAGE, {"file": file, "dry_run": "on", "event_type": "checkout"})
    assert answer.status_code == 400
    assert "email" in answer.content.decode().lower()
    assert not Import.objects.exists()


def test_a_file_that_is_no_csv_is_refused_on_the_form_and_nothing_is_stored(owner: Client) -> None:
    file = SimpleUploadedFile("orders.csv", b"\x00\x01\x02", content_type="text/csv")
    answer = owner.post(PAGE, {"file": file, "dry_run": "on", "event_type": "checkout"})
    assert answer.status_code == 400
    assert not Import.objects.exists()


def test_user_text_of_a_file_is_escaped_on_the_pages(owner: Client, dispatcher: DispatchCommand) -> None:
    imp = uploaded(owner, ORDERS.replace("not-an-address", "<script>x</script>"))
    run_dispatcher(dispatcher)
    page = owner.get(f"{PAGE}/{imp.pk}").content.decode()
    assert "<script>x" not in page


def test_the_form_speaks_the_shops_language(owner: Client, alice: ShopAccess) -> None:
    alice.shop.default_locale = "de"
    alice.shop.save(update_fields=["default_locale"])
    page = owner.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Bestellungen importieren" in page
    assert "Semikolon" in page
