"""Event ingestion through POST /api/v1/events and /api/v1/events/batch."""

import threading
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, checkout
from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product

pytestmark = pytest.mark.usefixtures("now")


def stored() -> tuple[int, int, int]:
    return Event.objects.count(), Transaction.objects.count(), Invitation.objects.count()


def test_it_stores_a_checkout_and_schedules_its_invitation(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/events", checkout("1001"))

    assert response.status_code == 202
    body = response.json()
    invitation = Invitation.objects.get()
    assert body == {
        "event_id": Event.objects.get().pk,
        "transaction_reference": "1001",
        "outcome": "scheduled",
        # The default rule: seven days after the transaction date.
        "invitation": {"id": invitation.pk, "status": "pending", "send_at": "2026-11-30T08:00:00Z"},
    }
    tx = Transaction.objects.get()
    assert (tx.email, tx.first_name, tx.locale) == ("jan@example.nl", "Jan", "nl")
    assert [p.name for p in tx.products.all()] == ["Green tea"]


def test_the_same_event_posted_again_answers_200_with_the_same_body_and_stores_nothing(alice: ShopAccess) -> None:
    first = alice.post("/api/v1/events", checkout("1001"))
    counts = stored()

    again = alice.post("/api/v1/events", checkout("1001"))

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert stored() == counts


def test_only_type_reference_date_and_email_are_required(alice: ShopAccess) -> None:
    minimal = {
        "type": "checkout",
        "transaction": {"reference": "7", "date": "2026-11-22T12:00:00+01:00"},
        "customer": {"email": "MIXED@Example.COM"},
    }

    response = alice.post("/api/v1/events", minimal)

    assert response.status_code == 202
    assert Transaction.objects.get().email == "mixed@example.com"


def test_a_numeric_reference_with_many_digits_is_kept_as_a_string(alice: ShopAccess) -> None:
    event = checkout()
    event["transaction"]["reference"] = 450789469000000000001  # beyond 2^53, as Shopify ids are

    response = alice.post("/api/v1/events", event)

    assert response.json()["transaction_reference"] == "450789469000000000001"


def test_a_date_without_offset_is_read_in_the_shops_time_zone(alice: ShopAccess) -> None:
    event = checkout()
    event["transaction"]["date"] = "2026-11-23T09:00:00"  # 09:00 in Berlin is 08:00 UTC

    alice.post("/api/v1/events", event)

    assert Transaction.objects.get().date.isoformat() == "2026-11-23T08:00:00+00:00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": {"email": "not-an-address"}}, "customer.email"),
        ({"customer": {}}, "customer.email"),
        ({"type": "teleport"}, "type"),
        ({"type": "delivery"}, "type"),  # built in, but inactive until the merchant turns it on
        ({"transaction": {"date": "2026-11-23T08:00:00Z"}}, "transaction.reference"),
        ({"transaction": {"reference": "  ", "date": "2026-11-23T08:00:00Z"}}, "transaction.reference"),
        ({"transaction": {"reference": "1", "date": "2027-03-01T00:00:00Z"}}, "transaction.date"),
        ({"transaction": {"reference": "1", "date": "yesterday"}}, "transaction.date"),
        ({"products": [{"sku": "X"}]}, "products.0.name"),
        ({"products": [{"name": "Tea", "gtin": "12"}]}, "products.0.gtin"),
        ({"products": [{"name": "Tea", "url": "javascript:alert(1)"}]}, "products.0.url"),
    ],
)
def test_bad_input_gets_422_naming_the_field_and_stores_nothing(
    alice: ShopAccess, change: dict[str, Any], field: str
) -> None:
    response = alice.post("/api/v1/events", checkout(**change))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in [f["field"] for f in body["fields"]]
    assert stored() == (0, 0, 0)
    assert Product.objects.count() == 0


def test_a_body_that_is_not_json_gets_400_and_stores_nothing(alice: ShopAccess) -> None:
    response = alice.api.post("/api/v1/events", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert stored() == (0, 0, 0)


def test_an_oversized_body_gets_413(alice: ShopAccess, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    event = checkout(products=[{"name": "x" * 200, "sku": str(i)} for i in range(100)])

    response = alice.post("/api/v1/events", event)

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert stored() == (0, 0, 0)


def test_without_a_valid_key_the_api_answers_401(alice: ShopAccess) -> None:
    headers: list[dict[str, str]] = [{}, {"Authorization": "Bearer rpk_wrong"}, {"Authorization": alice.key}]
    for header in headers:
        response = Client(headers=header).post("/api/v1/events", checkout(), content_type="application/json")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    assert stored() == (0, 0, 0)


def test_the_same_reference_in_two_shops_is_two_transactions(alice: ShopAccess, charlie: ShopAccess) -> None:
    assert alice.post("/api/v1/events", checkout("1001")).status_code == 202
    assert charlie.post("/api/v1/events", checkout("1001")).status_code == 202

    assert Transaction.objects.filter(reference="1001").count() == 2


def test_a_batch_is_answered_per_item(alice: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout("1"))
    events = [
        checkout("1"),  # posted before
        checkout("2", customer={"email": "eva@example.de"}),
        checkout("3", customer={"email": "nope"}),
        checkout("2", customer={"email": "eva@example.de"}),  # the same event twice in one batch
    ]

    response = alice.post("/api/v1/events/batch", {"events": events})

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["rejected"]) == (1, 2, 1)
    assert [r["status"] for r in body["results"]] == [200, 202, 422, 200]
    assert body["results"][2]["error"]["fields"][0]["field"] == "customer.email"
    assert body["results"][3]["event"] == body["results"][1]["event"]
    assert Transaction.objects.filter(reference="3").count() == 0
    assert Event.objects.count() == 2


def test_a_replayed_batch_answers_the_same_and_stores_nothing(alice: ShopAccess) -> None:
    events = [checkout(str(n), customer={"email": f"c{n}@example.com"}) for n in range(50)]
    first = alice.post("/api/v1/events/batch", {"events": events}).json()
    counts = stored()

    again = alice.post("/api/v1/events/batch", {"events": events}).json()

    assert (first["created"], again["created"], again["duplicates"]) == (50, 0, 50)
    assert [r["event"] for r in again["results"]] == [r["event"] for r in first["results"]]
    assert stored() == counts


@pytest.mark.parametrize("events", [[], [checkout(str(n)) for n in range(1001)], "not a list"])
def test_an_empty_oversized_or_malformed_batch_gets_422(alice: ShopAccess, events: Any) -> None:
    response = alice.post("/api/v1/events/batch", {"events": events})

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "events"
    assert stored() == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_two_racing_posts_of_the_same_event_store_it_once(alice: ShopAccess) -> None:
    start = threading.Barrier(4)
    answers: list[Any] = []

    def post() -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
        start.wait()
        answers.append(client.post("/api/v1/events", checkout("1001"), content_type="application/json"))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
    assert len({str(a.json()) for a in answers}) == 1
    assert stored() == (1, 1, 1)


def test_a_delay_sent_with_the_event_replaces_the_rules_delay_for_that_invitation(alice: ShopAccess) -> None:
    event = checkout("1001")  # dated 2026-11-23 09:00 Berlin; the rule waits seven days
    event["delay"] = {"amount": 3, "unit": "business_days"}

    response = alice.post("/api/v1/events", event)

    assert response.json()["invitation"]["send_at"] == "2026-11-26T08:00:00Z"
    other = checkout("1002")
    other["customer"]["email"] = "eva@example.nl"  # not capped by the first
    assert alice.post("/api/v1/events", other).json()["invitation"]["send_at"] == "2026-11-30T08:00:00Z"


def test_a_delay_beyond_a_year_of_its_unit_is_refused_naming_the_field(alice: ShopAccess) -> None:
    event = checkout("1001")
    event["delay"] = {"amount": 366, "unit": "days"}

    response = alice.post("/api/v1/events", event)

    assert response.status_code == 422
    assert response.json()["fields"] == [{"field": "delay.amount", "message": "at most 365 days"}]
    assert stored() == (0, 0, 0)


def test_a_transaction_lists_the_products_bought_by_sku(alice: ShopAccess) -> None:
    kettle = {
        "sku": "KET-2",
        "name": "Kettle",
        "brand": "Brewer",
        "mpn": "K2",
        "image_url": "https://shop.example/k.png",
    }
    tea = checkout()["products"][0]
    alice.post("/api/v1/events", checkout("1001", products=[tea, kettle]))
    alice.post("/api/v1/events", checkout("1002", products=[tea]))  # the same product in another order

    products = alice.api.get("/api/v1/transactions/1001").json()["products"]

    assert products == [
        {"sku": "KET-2", "name": "Kettle", "gtin": "", "mpn": "K2", "brand": "Brewer", "url": ""}
        | {"image_url": "https://shop.example/k.png"},
        {"sku": "TEA-1", "name": "Green tea", "gtin": "4006381333931", "mpn": "", "brand": "Alice Teas"}
        | {"url": "https://shop.example/tea-1", "image_url": ""},
    ]
    assert [p["sku"] for p in alice.api.get("/api/v1/transactions/1002").json()["products"]] == ["TEA-1"]
