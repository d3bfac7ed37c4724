"""Other portals' reviews imported from the files each portal exports: one copy however often a
file is imported, their own scale converted by the published rule, never in the verified score."""

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reputable.conftest import ShopAccess, write_review
from reputable.integrations.models import ImportedReview, ImportedSource
from reputable.integrations.review_imports import to_stars

pytestmark = pytest.mark.usefixtures("now")

DATA = Path(__file__).parent / "data/review_imports"
SAMPLES = [
    ("trustpilot", "trustpilot.csv", 3),
    ("google", "google.json", 2),
    ("trustedshops", "trustedshops.json", 2),
    ("kiyoh", "kiyoh.json", 2),
    ("kiyoh", "kiyoh.xml", 1),
    ("provenexpert", "provenexpert.csv", 2),
    ("generic", "generic.csv", 2),
]


def upload(shop: ShopAccess, source: str, content: bytes, name: str = "reviews.csv", **fields: str) -> Any:
    file = SimpleUploadedFile(name, content)
    return shop.api.post("/api/v1/review-imports", {"file": file, "source": source, **fields})


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def verified_summary(shop: ShopAccess) -> Any:
    return Client().get(f"/api/v1/public/shops/{shop.shop.slug}/summary").json()


@pytest.mark.parametrize(("source", "name", "reviews"), SAMPLES)
def test_each_portals_sample_imported_twice_gives_one_copy_and_leaves_the_verified_score_alone(
    alice: ShopAccess, source: str, name: str, reviews: int
) -> None:
    write_review(alice, "V-1", 2)
    before = verified_summary(alice)

    first = upload(alice, source, sample(name), name)
    assert first.status_code == 200, first.content
    assert first.json() == {"source": source, "created": reviews, "duplicates": 0}
    again = upload(alice, source, sample(name), name)
    assert again.json() == {"source": source, "created": 0, "duplicates": reviews}

    assert ImportedReview.objects.filter(shop=alice.shop, source=source).count() == reviews
    [summary] = ImportedSource.objects.filter(shop=alice.shop, source=source)
    assert summary.count == reviews
    assert verified_summary(alice) == before


def test_kiyoh_rates_out_of_ten_and_8_is_4_stars_exactly() -> None:
    assert to_stars(8, 10) == (Decimal("4.00"), 4)
    assert to_stars(7, 10) == (Decimal("3.50"), 4)  # shown rounded half up
    assert to_stars(1, 10) == (Decimal("0.50"), 1)  # at least one star
    assert to_stars(Decimal("4.5"), 5) == (Decimal("4.50"), 5)
    with pytest.raises(ValueError, match="between 0 and 10"):
        to_stars(11, 10)


def test_a_kiyoh_review_keeps_its_source_date_scale_author_and_link(alice: ShopAccess) -> None:
    upload(alice, "kiyoh", sample("kiyoh.json"), "kiyoh.json")

    review = ImportedReview.objects.get(source_id="b9a4b7c2-1d3e-4f5a-9b8c-7d6e5f4a3b21")
    assert (review.original_rating, review.original_scale, review.stars, review.rating) == (8, 10, Decimal("4"), 4)
    assert review.reviewed_at == dt.datetime(2026, 10, 12, 7, 30, tzinfo=dt.UTC)
    assert (review.author, review.title, review.body) == (
        "Jan de Vries",
        "Prima thee",
        "Snel geleverd en goed verpakt.",
    )
    assert review.url == "https://www.kiyoh.com/reviews/1063525/alice_teas"
    assert (review.source_name, review.language) == ("Kiyoh", "nl")
    summary = alice.api.get("/api/v1/review-sources").json()
    assert [(s["source"], s["count"], s["stars"], s["original_average"], s["original_scale"]) for s in summary] == [
        ("kiyoh", 2, "4.25", "8.50", 10)
    ]
    assert summary[0]["last_reviewed_at"] == "2026-10-20T16:05:12Z"


def test_the_portals_fields_are_read_as_each_exports_them(alice: ShopAccess) -> None:
    for source, name, _ in SAMPLES:
        upload(alice, source, sample(name), name)

    tp = ImportedReview.objects.get(source="trustpilot", source_id="670100d47c2a1b0013b5d882")
    assert (tp.title, tp.author, tp.rating, tp.language) == ('Good, but "smoky" was too strong', "J. Müller", 4, "en")
    assert tp.url == "https://www.trustpilot.com/reviews/670100d47c2a1b0013b5d882"
    google = ImportedReview.objects.get(source="google", source_id="AbFvOqn6p7q8R9s0")
    assert (google.rating, google.author, google.body) == (3, "A Google user", "")
    ts = ImportedReview.objects.get(source="trustedshops", source_id="rev-8f6b0c2e-2f41-4c4d-9a52-0d2a1b3c4d5e")
    assert (ts.author, ts.sku, ts.gtin, ts.product_name) == ("Tom B.", "TEA-1", "4006381333931", "Sencha Green Tea")
    pe = ImportedReview.objects.get(source="provenexpert", source_id="PE-48302")
    assert (pe.stars, pe.rating, pe.reviewed_at.date()) == (Decimal("4.5"), 5, dt.date(2026, 9, 17))
    generic = ImportedReview.objects.get(source="generic", source_id="ID-77102")
    assert (generic.source_name, generic.original_scale, generic.stars, generic.rating) == ("Idealo", 10, 3, 3)


def test_the_generic_format_takes_the_portals_name_for_the_file_when_its_rows_name_none(alice: ShopAccess) -> None:
    text = b"id,date,rating,scale\nR-1,2026-11-01,5,\n"  # an empty scale: out of 5
    assert upload(alice, "generic", text).status_code == 422
    answer = upload(alice, "generic", text, source_name="Shopvote")
    assert answer.status_code == 200, answer.content
    assert answer.json()["created"] == 1
    assert ImportedSource.objects.get(shop=alice.shop).source_name == "Shopvote"


def test_a_bad_row_is_named_with_its_field_and_nothing_of_the_file_is_stored(alice: ShopAccess) -> None:
    text = (
        b"Review Created (UTC),Review Id,Review Stars,Consumer Name\n"
        b"2026-10-02 14:21:09,AAA,5,Emma\n"
        b"yesterday,BBB,5,Kim\n"
        b"2026-10-03 10:00:00,CCC,7,Tom\n"
    )
    answer = upload(alice, "trustpilot", text)

    assert answer.status_code == 422
    fields = {f["field"]: f["message"] for f in answer.json()["fields"]}
    assert set(fields) == {"row 3: Review Created (UTC)", "row 4: Review Stars"}
    assert fields["row 4: Review Stars"] == "must be between 0 and 5"
    assert not ImportedReview.objects.exists()
    assert not ImportedSource.objects.exists()


def test_a_file_without_a_required_column_or_not_of_its_format_is_refused(alice: ShopAccess) -> None:
    missing = upload(alice, "trustpilot", b"Review Id,Review Stars\nAAA,5\n").json()
    assert missing["fields"] == [{"field": "row 1: Review Created (UTC)", "message": "the column is missing"}]
    not_json = upload(alice, "google", b"reviewId,rating\n").json()
    assert not_json["fields"] == [{"field": "file", "message": "is not JSON"}]
    unknown = upload(alice, "yelp", b"x").json()
    assert unknown["fields"][0]["field"] == "source"
    assert not ImportedReview.objects.exists()


def test_a_source_keeps_one_scale(alice: ShopAccess) -> None:
    upload(alice, "generic", b"source_name,id,date,rating,scale\nIdealo,1,2026-11-01,9,10\n")
    answer = upload(alice, "generic", b"source_name,id,date,rating,scale\nIdealo,2,2026-11-01,4,5\n")
    assert answer.status_code == 422
    assert "scale" in answer.json()["message"]
    assert ImportedReview.objects.count() == 1


def test_the_merchant_says_how_a_source_collected_its_reviews_and_where_its_page_is(alice: ShopAccess) -> None:
    upload(alice, "trustpilot", sample("trustpilot.csv"))
    [source] = alice.api.get("/api/v1/review-sources").json()
    assert source["collection_method"] == ""  # not said: none of its reviews goes into Google's feed

    changed = alice.patch(
        f"/api/v1/review-sources/{source['id']}",
        {"collection_method": "post_fulfillment", "url": "https://www.trustpilot.com/review/alice-teas.example"},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["collection_method"] == "post_fulfillment"
    bad = alice.patch(f"/api/v1/review-sources/{source['id']}", {"collection_method": "bought"})
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "collection_method"
    assert ImportedSource.objects.get().url == "https://www.trustpilot.com/review/alice-teas.example"


def test_charlie_cannot_see_or_change_alices_sources(alice: ShopAccess, charlie: ShopAccess) -> None:
    upload(alice, "trustpilot", sample("trustpilot.csv"))
    source = ImportedSource.objects.get(shop=alice.shop)

    assert charlie.patch(f"/api/v1/review-sources/{source.pk}", {"collection_method": "unsolicited"}).status_code == 404
    assert charlie.api.get("/api/v1/review-sources").json() == []
    # The same review ids in charlie's own file are his own copies.
    assert upload(charlie, "trustpilot", sample("trustpilot.csv")).json()["created"] == 3


def test_a_read_only_key_cannot_import(alice: ShopAccess) -> None:
    from reputable.shops.models import ApiKey

    key = ApiKey.objects.get(shop=alice.shop)
    key.scopes = "read"
    key.save(update_fields=["scopes"])
    assert upload(alice, "trustpilot", sample("trustpilot.csv")).status_code == 403


def test_an_import_through_the_api_drops_the_shops_cached_seal(
    alice: ShopAccess, django_capture_on_commit_callbacks: Any
) -> None:
    from reputable.conftest import wsgi_call

    seal = f"/w/{alice.shop.slug}/badge?lang=en"
    assert "Kiyoh" not in wsgi_call(seal)[2].decode()  # cached from here on

    with django_capture_on_commit_callbacks(execute=True):
        assert upload(alice, "kiyoh", sample("kiyoh.json"), "kiyoh.json").status_code == 200

    assert "Kiyoh" in wsgi_call(seal)[2].decode()


def test_the_generic_format_keeps_two_portals_reviews_with_the_same_id_apart(alice: ShopAccess) -> None:
    rows = b"source_name,id,date,rating\nPortalA,1,2026-07-01,4\nPortalB,1,2026-07-02,5\n"

    assert upload(alice, "generic", rows).json() == {"source": "generic", "created": 2, "duplicates": 0}
    assert upload(alice, "generic", rows).json() == {"source": "generic", "created": 0, "duplicates": 2}
    assert sorted(ImportedSource.objects.values_list("source_name", "count")) == [("PortalA", 1), ("PortalB", 1)]


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'source_name,id,date,rating,text\nIdealo,1,2026-07-01,4,"' + b"x" * 200_000 + b'"\n',
        b"source_name,id,date,rating,title\nIdealo,1,2026-07-01,4,bad\x00title\n",
    ],
    ids=["nested too deeply", "a cell over 128 KB", "a NUL in a title"],
)
def test_a_file_no_parser_can_take_is_a_422_and_stores_nothing(alice: ShopAccess, content: bytes) -> None:
    source = "google" if content.startswith(b"[") else "generic"

    answer = upload(alice, source, content)

    assert answer.status_code == 422, answer.content
    assert ImportedReview.objects.count() == 0
