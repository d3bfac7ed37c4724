"""The dashboard page of other portals' reviews: a manager uploads a portal's export, sees the
source with its count, is told which row is wrong, and says how the source collected its reviews."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reputable.conftest import ShopAccess, Team
from reputable.integrations.models import ImportedReview, ImportedSource

pytestmark = pytest.mark.usefixtures("now", "english")

PAGE = "/dashboard/alice-teas/review-imports"
DATA = Path(__file__).parent / "data/review_imports"


@pytest.fixture
def english(alice: ShopAccess) -> None:
    alice.shop.default_locale = "en"
    alice.shop.save(update_fields=["default_locale"])


@pytest.fixture
def owner(team: Team) -> Client:
    return team.client(team.alice)


def post_file(client: Client, source: str, content: bytes, **fields: Any) -> Any:
    file = SimpleUploadedFile("export", content)
    return client.post(PAGE, {"file": file, "source": source, **fields}, follow=True)


def test_alice_imports_a_kiyoh_export_twice_and_sees_one_source_with_its_reviews(owner: Client) -> None:
    first = post_file(owner, "kiyoh", (DATA / "kiyoh.json").read_bytes()).content.decode()
    assert "2 reviews imported; 0 were imported before." in first
    again = post_file(owner, "kiyoh", (DATA / "kiyoh.json").read_bytes()).content.decode()
    assert "0 reviews imported; 2 were imported before." in again
    assert "<td>2</td>" in again and "Kiyoh" in again
    assert ImportedReview.objects.count() == 2


def test_a_bad_row_is_shown_and_nothing_is_imported(owner: Client) -> None:
    text = b"source_name,id,date,rating\nIdealo,1,2026-11-01,5\nIdealo,2,2026-11-01,six\n"
    answer = post_file(owner, "generic", text)

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Nothing was imported: the file has errors." in page
    assert "row 3: rating: must be a number" in page
    assert not ImportedReview.objects.exists()


def test_alice_says_how_a_source_collected_its_reviews(owner: Client, alice: ShopAccess) -> None:
    post_file(owner, "trustpilot", (DATA / "trustpilot.csv").read_bytes())
    source = ImportedSource.objects.get(shop=alice.shop)
    owner.post(
        f"{PAGE}/sources/{source.pk}",
        {
            f"s{source.pk}-collection_method": "post_fulfillment",
            f"s{source.pk}-url": "https://www.trustpilot.com/review/x",
        },
    )
    source.refresh_from_db()
    assert (source.collection_method, source.url) == ("post_fulfillment", "https://www.trustpilot.com/review/x")


def test_a_viewer_cannot_import(team: Team) -> None:
    viewer = team.client(team.bob["viewer"])
    assert viewer.get(PAGE).status_code == 403
