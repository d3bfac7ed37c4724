"""The dashboard page of other portals' reviews: a manager uploads a portal's export, sees the
source with its count, is told which row is wrong, and says how the source collected its reviews."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reputable.conftest import ShopAccess, Team
from reputable.integrations.models import ImportedReview, ImportedSource, ReviewPull

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


KIYOH = {
    "source": "kiyoh",
    "kiyoh-location_id": "1061234",
    "kiyoh-api_token": "tok-secret-1234",
    "kiyoh-tenant_id": "99",
}


def test_alice_sets_a_kiyoh_pull_and_sees_it_active_without_its_token(owner: Client, alice: ShopAccess) -> None:
    answer = owner.post(f"{PAGE}/pulls", KIYOH, follow=True)

    page = answer.content.decode()
    assert answer.status_code == 200
    assert "The pull is saved" in page and "Active" in page and "1061234" in page
    assert "tok-secret-1234" not in page
    pull = ReviewPull.objects.get(shop=alice.shop, source="kiyoh")
    assert (pull.status, pull.settings["tenant_id"], pull.settings["api_token"]) == ("active", "99", "tok-secret-1234")


def test_a_bad_location_id_is_shown_by_its_field_and_nothing_is_stored(owner: Client) -> None:
    answer = owner.post(f"{PAGE}/pulls", KIYOH | {"kiyoh-location_id": "10 61/234"})

    assert answer.status_code == 400
    page = answer.content.decode()
    field = page.split('for="id_kiyoh-location_id"', 1)[1].split("</div>", 1)[0]
    assert 'class="errorlist' in field
    assert "tok-secret-1234" not in page
    assert not ReviewPull.objects.exists()


def test_a_viewer_cannot_set_or_stop_a_pull(team: Team, alice: ShopAccess) -> None:
    viewer = team.client(team.bob["viewer"])
    assert viewer.post(f"{PAGE}/pulls", KIYOH).status_code == 403
    assert not ReviewPull.objects.exists()
    ReviewPull.objects.create(shop=alice.shop, source="kiyoh", settings={"location_id": "1", "api_token": "t"})
    assert viewer.post(f"{PAGE}/pulls/stop", {"source": "kiyoh"}).status_code == 403
    assert ReviewPull.objects.exists()


def test_stopping_a_pull_removes_it(owner: Client, alice: ShopAccess) -> None:
    owner.post(f"{PAGE}/pulls", KIYOH)
    answer = owner.post(f"{PAGE}/pulls/stop", {"source": "kiyoh"}, follow=True)

    assert "The pull is stopped" in answer.content.decode()
    assert not ReviewPull.objects.filter(shop=alice.shop).exists()
