"""Ingestion under bad input: dates at the edges of time, control characters, odd addresses and
references, huge delays. Every answer is a 4xx naming the field, or a success, never a 5xx."""

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reputable.conftest import ShopAccess, checkout
from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation
from reputable.lib.text import is_line

pytestmark = pytest.mark.usefixtures("now")


def stored() -> tuple[int, int, int]:
    return Event.objects.count(), Transaction.objects.count(), Invitation.objects.count()


def dated(date: str, reference: str = "1") -> dict[str, Any]:
    return checkout(reference, transaction={"reference": reference, "date": date})


@pytest.mark.parametrize(
    "date",
    [
        "0001-01-01T00:00:00+14:00",  # year 1 east of UTC: before 1970, and not in UTC's range at all
        "0001-01-01T00:00:00",  # naive: year 1 in Berlin
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",  # west of UTC at the end of time
        "2027-01-01T00:00:00Z",
    ],
)
def test_a_transaction_date_out_of_its_sane_range_gets_422_and_stores_nothing(alice: ShopAccess, date: str) -> None:
    response = alice.post("/api/v1/events", dated(date))

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "transaction.date"
    assert stored() == (0, 0, 0)


def test_one_impossible_date_in_a_batch_rejects_that_item_only(alice: ShopAccess) -> None:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    events = [dated("2026-11-23T08:00:00Z", str(n)) for n in range(999)]
    events.insert(500, dated("0001-01-01T00:00:00+14:00", "bad"))

    body = alice.post("/api/v1/events/batch", {"events": events}).json()

    assert (body["created"], body["rejected"]) == (999, 1)
    assert body["results"][500]["status"] == 422
    assert body["results"][500]["error"]["fields"][0]["field"] == "transaction.date"
    assert stored() == (999, 999, 999)


@pytest.mark.parametrize("delivery", ["0001-01-01", "1969-12-31", "9999-12-31", "2029-01-01"])
def test_an_estimated_delivery_date_out_of_range_gets_422(alice: ShopAccess, delivery: str) -> None:
    response = alice.post("/api/v1/events", checkout(estimated_delivery_date=delivery))

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "estimated_delivery_date"


EVENT_TEXTS = [
    ("type", lambda v: {"type": v}),
    ("transaction.reference", lambda v: {"transaction": {"reference": v, "date": "2026-11-23T08:00:00Z"}}),
    ("customer.first_name", lambda v: {"customer": {"email": "jan@example.nl", "first_name": v}}),
    ("customer.last_name", lambda v: {"customer": {"email": "jan@example.nl", "last_name": v}}),
    ("customer.locale", lambda v: {"customer": {"email": "jan@example.nl", "locale": v}}),
    ("products.0.sku", lambda v: {"products": [{"name": "Tea", "sku": v}]}),
    ("products.0.name", lambda v: {"products": [{"name": v}]}),
    ("products.0.brand", lambda v: {"products": [{"name": "Tea", "brand": v}]}),
    ("products.0.mpn", lambda v: {"products": [{"name": "Tea", "mpn": v}]}),
]


@pytest.mark.parametrize(("field", "change"), EVENT_TEXTS, ids=[f for f, _ in EVENT_TEXTS])
@pytest.mark.parametrize("bad", ["a\x00b", "a\x01b", "a\x1bb", "a\x7fb", "a\nb", "a\rb", "a\u2028b", "a\ud800b"])
def test_control_characters_in_any_event_text_get_422_naming_the_field(
    alice: ShopAccess, field: str, change: Any, bad: str
) -> None:
    response = alice.post("/api/v1/events", checkout(**change(bad)))

    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["fields"]]
    assert stored() == (0, 0, 0)


def test_a_tab_is_text_like_any_other(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/events", checkout(customer={"email": "jan@example.nl", "first_name": "Jan\tPiet"}))

    assert response.status_code == 202
    assert Transaction.objects.get().first_name == "Jan\tPiet"


@pytest.mark.parametrize("address", ['"a\u000bb"@example.com', '"a\u0001b"@example.com', '"a\x00"@example.com'])
def test_an_address_no_message_can_carry_gets_422(alice: ShopAccess, address: str) -> None:
    response = alice.post("/api/v1/events", checkout(customer={"email": address}))

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "customer.email"


@pytest.mark.parametrize("reference", ["2026/1001", "a/b/c", "x?y=1#z", "100%", "Zoë & Co", "  spaced  inside "])
def test_every_reference_that_can_be_stored_can_be_fetched(alice: ShopAccess, reference: str) -> None:
    stored_as = alice.post(
        "/api/v1/events", checkout(transaction={"reference": reference, "date": "2026-11-23T08:00:00Z"})
    ).json()

    response = alice.api.get(f"/api/v1/transactions/{quote(stored_as['transaction_reference'], safe='')}")

    assert response.status_code == 200
    assert response.json()["reference"] == reference.strip()


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reference=st.text(min_size=1, max_size=100).filter(lambda r: r.strip() and is_line(r)))
def test_any_reference_the_api_takes_it_gives_back(alice: ShopAccess, reference: str) -> None:
    posted = alice.post(
        "/api/v1/events", checkout(transaction={"reference": reference, "date": "2026-11-23T08:00:00Z"})
    )
    assert posted.status_code in (200, 202), posted.json()

    fetched = alice.api.get(f"/api/v1/transactions/{quote(posted.json()['transaction_reference'], safe='')}")

    assert fetched.status_code == 200
    assert fetched.json()["reference"] == reference.strip()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"delay_amount": 100_000, "delay_unit": "business_days"}, "delay_amount"),
        ({"delay_amount": 261, "delay_unit": "business_days"}, "delay_amount"),
        ({"delay_amount": 366, "delay_unit": "days"}, "delay_amount"),
        ({"delay_amount": 8_761, "delay_unit": "hours"}, "delay_amount"),
        ({"delay_amount": 525_601, "delay_unit": "minutes"}, "delay_amount"),
        ({"reminder_interval_amount": 261, "reminder_interval_unit": "business_days"}, "reminder_interval_amount"),
        ({"send_time": "12:00:30"}, "send_time"),
    ],
)
def test_a_rule_is_checked_the_same_way_when_created_and_when_changed(
    alice: ShopAccess, change: dict[str, Any], field: str
) -> None:
    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})

    changed = alice.patch(f"/api/v1/rules/{rule['id']}", change)
    created = alice.post("/api/v1/event-types/delivery/rules", change)

    for response in (changed, created):
        assert response.status_code == 422
        assert [f["field"] for f in response.json()["fields"]] == [field]
    assert alice.api.get("/api/v1/event-types/checkout/rules").json()[0] == rule
    assert alice.api.get("/api/v1/event-types/delivery/rules").json() == []


def test_the_longest_business_day_delay_is_accepted_and_scheduled(alice: ShopAccess) -> None:
    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]
    assert (
        alice.patch(f"/api/v1/rules/{rule['id']}", {"delay_amount": 260, "delay_unit": "business_days"}).status_code
        == 200
    )

    answer = alice.post("/api/v1/events", checkout()).json()

    # 52 weeks of weekdays after Monday 23 November 2026 is Monday 22 November 2027; six German
    # holidays fall on weekdays between (Christmas Day, New Year, Good Friday, Easter Monday,
    # Ascension, Whit Monday), so the 260th business day is Tuesday 30 November.
    assert answer["invitation"]["send_at"] == "2027-11-30T08:00:00Z"
