"""When an invitation is scheduled, and why a transaction is not invited."""

import datetime as dt
from typing import Any

import pytest
import time_machine

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import InvitationRule

pytestmark = pytest.mark.usefixtures("now")


def use_rule(shop: ShopAccess, **changes: Any) -> None:
    rule_id = shop.api.get("/api/v1/event-types/checkout/rules").json()[0]["id"]
    response = shop.patch(f"/api/v1/rules/{rule_id}", changes)
    assert response.status_code == 200, response.json()


def scheduled(shop: ShopAccess, date: str, reference: str = "1001", **event: Any) -> Any:
    """Post an event as a shop system does: a minute after the transaction."""
    with time_machine.travel(dt.datetime.fromisoformat(date) + dt.timedelta(minutes=1), tick=False):
        body = shop.post(
            "/api/v1/events", checkout(reference, transaction={"reference": reference, "date": date}, **event)
        )
    return body.json()


def test_business_days_skip_the_weekend_and_german_holidays(alice: ShopAccess) -> None:
    use_rule(alice, delay_amount=3, delay_unit="business_days")

    # Tuesday 22 December 2026, 15:00 in Berlin: 23rd, (24th is a weekday,) 25/26 Christmas,
    # 27 Sunday; three business days are the 23rd, 24th and 28th.
    answer = scheduled(alice, "2026-12-22T15:00:00+01:00")

    assert answer["invitation"]["send_at"] == "2026-12-28T14:00:00Z"


def test_business_days_follow_the_shops_country(charlie: ShopAccess, alice: ShopAccess) -> None:
    # 27 April is King's Day in the Netherlands, a working day in Germany.
    for shop in (alice, charlie):
        use_rule(shop, delay_amount=1, delay_unit="business_days")

    assert scheduled(alice, "2026-04-24T10:00:00Z", "a")["invitation"]["send_at"] == "2026-04-27T10:00:00Z"
    assert scheduled(charlie, "2026-04-24T10:00:00Z", "c")["invitation"]["send_at"] == "2026-04-28T10:00:00Z"


def test_regional_holidays_count_where_the_shop_names_its_region(alice: ShopAccess) -> None:
    alice.patch("/api/v1/shop", {"subdivision": "BY"})  # Bavaria: Epiphany, 6 January
    use_rule(alice, delay_amount=1, delay_unit="business_days", max_transaction_age_days=None)

    assert scheduled(alice, "2026-01-05T10:00:00Z")["invitation"]["send_at"] == "2026-01-07T10:00:00Z"


def test_the_time_of_day_is_honoured_in_the_shops_time_zone(alice: ShopAccess) -> None:
    use_rule(alice, delay_amount=2, delay_unit="days", send_time="10:30")

    # Late on Friday 20 November in Berlin; two days later is Sunday the 22nd, at 10:30 CET.
    answer = scheduled(alice, "2026-11-20T22:00:00Z")

    assert answer["invitation"]["send_at"] == "2026-11-22T09:30:00Z"


def test_days_keep_the_wall_clock_across_a_dst_change(alice: ShopAccess) -> None:
    use_rule(alice, delay_amount=1, delay_unit="days", max_transaction_age_days=None)

    # Saturday 24 October 2026 12:00 CEST (UTC+2); Sunday the 25th 12:00 is CET (UTC+1).
    assert scheduled(alice, "2026-10-24T10:00:00Z")["invitation"]["send_at"] == "2026-10-25T11:00:00Z"


def test_a_delay_in_hours_is_elapsed_time(alice: ShopAccess) -> None:
    use_rule(alice, delay_amount=36, delay_unit="hours")

    assert scheduled(alice, "2026-11-22T06:00:00Z")["invitation"]["send_at"] == "2026-11-23T18:00:00Z"


def test_an_invitation_whose_moment_has_passed_is_due_at_once(alice: ShopAccess) -> None:
    # An ERP reports a transaction of three weeks ago: seven days after it is long gone.
    answer = alice.post(
        "/api/v1/events", checkout(transaction={"reference": "1", "date": "2026-11-01T08:00:00Z"})
    ).json()

    assert answer["invitation"]["send_at"] == "2026-11-23T09:00:00Z"  # now


def test_a_transaction_older_than_the_rule_allows_is_not_invited_and_says_why(alice: ShopAccess) -> None:
    use_rule(alice, max_transaction_age_days=30)

    answer = alice.post(
        "/api/v1/events", checkout(transaction={"reference": "1001", "date": "2026-10-20T08:00:00Z"})
    ).json()

    assert (answer["outcome"], answer["invitation"]) == ("too_old", None)
    events = alice.api.get("/api/v1/transactions/1001").json()["events"]
    assert [e["outcome"] for e in events] == ["too_old"]


def test_an_address_invited_within_the_frequency_cap_is_not_invited_again(alice: ShopAccess) -> None:
    assert scheduled(alice, "2026-11-23T08:00:00Z", "1")["outcome"] == "scheduled"
    assert scheduled(alice, "2026-12-22T08:00:00Z", "2")["outcome"] == "frequency_cap"  # 29 days on
    assert scheduled(alice, "2026-12-24T08:00:00Z", "3")["outcome"] == "scheduled"  # 31 days on


def test_the_frequency_cap_is_per_shop(alice: ShopAccess, charlie: ShopAccess) -> None:
    assert scheduled(alice, "2026-11-23T08:00:00Z")["outcome"] == "scheduled"
    assert scheduled(charlie, "2026-11-23T08:00:00Z")["outcome"] == "scheduled"


def test_a_suppressed_address_is_not_invited(alice: ShopAccess) -> None:
    assert alice.post("/api/v1/suppressions", {"email": "JAN@example.nl"}).status_code == 201

    assert scheduled(alice, "2026-11-23T08:00:00Z")["outcome"] == "suppressed"


def test_a_second_event_of_the_same_transaction_does_not_invite_again(alice: ShopAccess) -> None:
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})
    alice.post("/api/v1/event-types/delivery/rules", {"delay_amount": 2, "delay_unit": "days"})
    first = scheduled(alice, "2026-11-23T08:00:00Z")

    second = scheduled(alice, "2026-11-23T08:00:00Z", type="delivery")

    assert second["outcome"] == "already_invited"
    assert second["invitation"] == first["invitation"]


def test_an_event_type_without_an_active_rule_records_the_event_only(alice: ShopAccess) -> None:
    alice.patch("/api/v1/event-types/delivery", {"is_active": True})

    answer = scheduled(alice, "2026-11-23T08:00:00Z", type="delivery")

    assert (answer["outcome"], answer["invitation"]) == ("no_active_rule", None)


def test_only_one_rule_per_event_type_can_be_active(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/event-types/checkout/rules", {"delay_amount": 1, "delay_unit": "days"})

    assert response.status_code == 409
    assert response.json()["code"] == "active_rule_exists"
    inactive = alice.post("/api/v1/event-types/checkout/rules", {"delay_amount": 1, "is_active": False})
    assert inactive.status_code == 201
    assert alice.patch(f"/api/v1/rules/{inactive.json()['id']}", {"is_active": True}).status_code == 409
    assert InvitationRule.objects.filter(is_active=True).count() == 1


def test_switching_the_active_rule_takes_effect_for_the_next_event(alice: ShopAccess) -> None:
    [old] = alice.api.get("/api/v1/event-types/checkout/rules").json()
    new = alice.post(
        "/api/v1/event-types/checkout/rules", {"delay_amount": 1, "delay_unit": "hours", "is_active": False}
    )
    alice.patch(f"/api/v1/rules/{old['id']}", {"is_active": False})
    alice.patch(f"/api/v1/rules/{new.json()['id']}", {"is_active": True})

    assert scheduled(alice, "2026-11-23T08:00:00Z")["invitation"]["send_at"] == "2026-11-23T09:00:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delay_unit": "weeks"}, "delay_unit"),
        ({"reminder_count": 4}, "reminder_count"),
        ({"reminder_interval_amount": 0}, "reminder_interval_amount"),
        ({"delay_amount": -1}, "delay_amount"),
        ({"send_time": "25:00"}, "send_time"),
        ({"max_transaction_age_days": 0}, "max_transaction_age_days"),
    ],
)
def test_an_invalid_rule_is_rejected_naming_the_field(alice: ShopAccess, body: dict[str, Any], field: str) -> None:
    response = alice.post("/api/v1/event-types/checkout/rules", {"is_active": False, **body})

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == field


def test_stop_event_types_take_no_rule(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/event-types/return/rules", {"is_active": False})

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "key"


def test_a_shop_can_add_its_own_event_type_and_invite_on_it(alice: ShopAccess) -> None:
    created = alice.post("/api/v1/event-types", {"key": "picked_up", "name": "Picked up in store"})
    assert created.status_code == 201
    alice.patch("/api/v1/event-types/checkout", {"is_active": False})
    alice.post("/api/v1/event-types/picked_up/rules", {"delay_amount": 2, "delay_unit": "hours"})

    answer = scheduled(alice, "2026-11-23T08:00:00Z", type="picked_up")

    assert answer["invitation"]["send_at"] == "2026-11-23T10:00:00Z"
    assert alice.post("/api/v1/events", checkout("2")).json()["fields"][0]["field"] == "type"
    keys = [t["key"] for t in alice.api.get("/api/v1/event-types").json()]
    assert keys == ["checkout", "delivery", "return", "cancel", "picked_up"]


def test_an_event_type_key_is_unique_per_shop(alice: ShopAccess) -> None:
    response = alice.post("/api/v1/event-types", {"key": "checkout", "name": "Again"})

    assert response.status_code == 409
    assert alice.post("/api/v1/event-types", {"key": "Bad Key", "name": "x"}).status_code == 422
