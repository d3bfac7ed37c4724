"""A file of 100,000 orders: checked whole before anything is recorded, read in steps whose
progress shows, in memory far smaller than the file."""

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from reputable.conftest import ShopAccess, run_dispatcher
from reputable.events.models import Event, Transaction
from reputable.integrations.models import Import
from reputable.integrations.tests.test_imports import data_dir, progress  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("now", "data_dir")

ROWS = 100_000
BAD_ROW = 50_001  # as a spreadsheet numbers it: the header is row 1


def write_orders(path: Path, *, bad_row: int | None = None) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("order,date,email,first name,last name,sku,product\n")
        for n in range(2, ROWS + 2):
            email = "not-an-address" if n == bad_row else f"customer{n}@example.nl"
            out.write(f"O-{n},2026-11-20 10:00,{email},Jan,Visser,TEA-{n % 50},Green tea no. {n % 50}\n")
    return path


def upload(alice: ShopAccess, path: Path) -> int:
    with path.open("rb") as file:
        answer = alice.api.post("/api/v1/imports", {"file": file})
    assert answer.status_code == 202, answer.content
    return int(answer.json()["id"])


def test_a_bad_row_in_the_middle_of_a_large_file_imports_nothing_and_is_named(
    alice: ShopAccess, dispatcher: Any, tmp_path: Path
) -> None:
    import_id = upload(alice, write_orders(tmp_path / "orders.csv", bad_row=BAD_ROW))

    run_dispatcher(dispatcher)

    checked = progress(alice, import_id)
    assert (checked["status"], checked["rows_total"], checked["rows_done"]) == ("failed", ROWS, 0)
    assert checked["error_count"] == 1
    assert checked["errors"][0]["row"] == BAD_ROW and checked["errors"][0]["column"] == "email"
    assert not Transaction.objects.exists()


def test_a_large_file_is_imported_in_steps_in_bounded_memory(
    alice: ShopAccess, dispatcher: Any, tmp_path: Path
) -> None:
    path = write_orders(tmp_path / "orders.csv")
    size = path.stat().st_size
    import_id = upload(alice, path)
    seen: list[tuple[int, int]] = []

    tracemalloc.start()
    try:
        while dispatcher.handle_one():
            imp = Import.objects.get(pk=import_id)
            seen.append((imp.rows_checked, imp.rows_done))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    print(
        f"\nfile: {size / 1e6:.1f} MB, peak memory of the import: {peak / 1e6:.1f} MB ({peak / size:.0%} of the file)"
    )
    assert peak < size / 2
    done = progress(alice, import_id)
    assert (done["status"], done["rows_done"], done["created"], done["errors"]) == ("done", ROWS, ROWS, [])
    assert Event.objects.filter(shop=alice.shop).count() == ROWS
    # Progress moved step by step: first the check, then the recording, each growing.
    checked, recorded = [c for c, _r in seen], [r for _c, r in seen]
    assert checked == sorted(checked) and recorded == sorted(recorded)
    assert len({c for c in checked if c < ROWS}) > 10 and len({r for r in recorded if 0 < r < ROWS}) > 10
