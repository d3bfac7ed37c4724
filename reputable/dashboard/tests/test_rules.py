"""Event types and invitation rules in the dashboard: the list, the sentence, the preview, the
one-active-rule rule and the switch, stop types."""

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, Team, checkout
from reputable.events.models import EventType
from reputable.invitations.models import InvitationRule

pytestmark = pytest.mark.usefixtures("now")


RULE = {
    "delay_amount": "7",
    "delay_unit": "business_days",
    "send_time": "10:00",
    "reminder_count": "1",
    "reminder_interval_amount": "5",
    "reminder_interval_unit": "days",
    "max_transaction_age_days": "90",
    "is_active": "on",
}


def manager(team: Team) -> Client:
    return team.client(team.bob["manager"])


def text_of(response: Any) -> str:
    """The page's text, tags removed and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def delivery_rule(alice: ShopAccess, team: Team, **changes: str) -> InvitationRule:
    response = manager(team).post("/dashboard/alice-teas/rules/types/delivery/new", RULE | changes)
    assert response.status_code == 302, text_of(response)
    return InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="delivery")


def test_each_rule_reads_as_a_sentence_in_the_merchants_language(alice: ShopAccess, team: Team) -> None:
    delivery_rule(alice, team)
    viewer = team.client(team.bob["viewer"])

    english = text_of(viewer.get("/dashboard/alice-teas/rules", HTTP_ACCEPT_LANGUAGE="en"))
    german = text_of(viewer.get("/dashboard/alice-teas/rules", HTTP_ACCEPT_LANGUAGE="de"))

    assert "7 business days after delivery, at 10:00 Berlin time; 1 reminder 5 days later" in english
    assert "7 days after the order; 1 reminder 7 days later" in english  # the shop's first rule
    assert "7 Werktage" in german and "5 Tage" in german and "10:00" in german and "Berlin" in german
    assert "business days" not in german


def test_plural_reminders_and_none_and_an_immediate_rule_read_right(alice: ShopAccess, team: Team) -> None:
    rule = delivery_rule(alice, team, reminder_count="3", reminder_interval_amount="2", send_time="")
    page = text_of(manager(team).get("/dashboard/alice-teas/rules"))
    assert "7 business days after delivery; 3 reminders, 2 days apart" in page

    changed = manager(team).post(
        f"/dashboard/alice-teas/rules/{rule.pk}", RULE | {"delay_amount": "0", "reminder_count": "0"}
    )

    assert changed.status_code == 302
    assert "Right after delivery, at 10:00 Berlin time; no reminder" in text_of(
        manager(team).get("/dashboard/alice-teas/rules")
    )


def test_the_preview_gives_the_sentence_and_the_next_sends_skipping_a_holiday_and_the_weekend(
    alice: ShopAccess, team: Team, now: Any
) -> None:
    now.move_to(dt.datetime(2026, 12, 24, 9, 0, tzinfo=dt.UTC))  # Thursday; Friday is Christmas Day
    rule = RULE | {"delay_amount": "1", "reminder_interval_amount": "1", "reminder_interval_unit": "business_days"}

    preview = manager(team).post("/dashboard/alice-teas/rules/types/delivery/preview", rule, HTTP_HX_REQUEST="true")

    text = text_of(preview)
    assert "1 business day after delivery, at 10:00 Berlin time; 1 reminder 1 business day later" in text
    assert "The event, now Thu 24 Dec 10:00" in text
    assert "Invitation Mon 28 Dec 10:00" in text
    assert "Reminder 1 Tue 29 Dec 10:00" in text
    assert "<html" not in preview.content.decode()  # the preview alone, for htmx to swap in
    in_days = manager(team).post(
        "/dashboard/alice-teas/rules/types/delivery/preview", rule | {"delay_unit": "days"}, HTTP_HX_REQUEST="true"
    )
    assert "Invitation Fri 25 Dec 10:00" in text_of(in_days)
    assert not InvitationRule.objects.filter(event_type__key="delivery").exists()  # a preview stores nothing


def test_the_preview_says_what_is_wrong(alice: ShopAccess, team: Team) -> None:
    preview = manager(team).post(
        "/dashboard/alice-teas/rules/types/delivery/preview", RULE | {"delay_amount": "400", "delay_unit": "days"}
    )

    assert "Delay: at most 365 days" in text_of(preview)


def test_the_edit_form_posts_its_changes_to_the_preview(alice: ShopAccess, team: Team) -> None:
    rule = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout")

    page = manager(team).get(f"/dashboard/alice-teas/rules/{rule.pk}").content.decode()

    assert 'hx-post="/dashboard/alice-teas/rules/types/checkout/preview"' in page
    assert 'hx-trigger="change"' in page and 'hx-target="#rule-preview"' in page
    assert "Invitation Mon 30 Nov 10:00" in text_of(manager(team).get(f"/dashboard/alice-teas/rules/{rule.pk}"))


def test_a_second_active_rule_is_refused_naming_the_active_one_and_the_switch_replaces_it(
    alice: ShopAccess, team: Team
) -> None:
    old = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout", is_active=True)
    form = RULE | {"delay_amount": "2", "delay_unit": "days"}

    refused = manager(team).post("/dashboard/alice-teas/rules/types/checkout/new", form)

    assert refused.status_code == 409
    assert "Only one rule of an event type can be active, and this one is: 7 days after the order" in text_of(refused)
    assert 'aria-describedby="id_is_active_error"' in refused.content.decode()
    assert InvitationRule.objects.filter(event_type=old.event_type).count() == 1

    inactive = manager(team).post("/dashboard/alice-teas/rules/types/checkout/new", form | {"is_active": ""})
    assert inactive.status_code == 302
    new = InvitationRule.objects.get(event_type=old.event_type, is_active=False)

    again = manager(team).post(f"/dashboard/alice-teas/rules/{new.pk}/active", {"active": "1"})
    assert again.status_code == 409
    conflict = text_of(again)
    assert "this one is: 7 days after the order" in conflict
    assert "Switch: deactivate it and activate “2 days after the order, at 10:00 Berlin time" in conflict

    switched = manager(team).post(f"/dashboard/alice-teas/rules/{new.pk}/active", {"active": "1", "replace": "1"})

    assert switched.status_code == 302
    assert list(InvitationRule.objects.filter(event_type=old.event_type, is_active=True)) == [new]
    assert alice.post("/api/v1/events", checkout()).json()["invitation"]["send_at"] == "2026-11-25T09:00:00Z"


def test_the_form_replaces_the_active_rule_when_asked(alice: ShopAccess, team: Team) -> None:
    old = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout")

    response = manager(team).post(
        "/dashboard/alice-teas/rules/types/checkout/new", RULE | {"delay_amount": "3", "replace_active": "on"}
    )

    assert response.status_code == 302
    old.refresh_from_db()
    assert not old.is_active
    assert InvitationRule.objects.get(event_type=old.event_type, is_active=True).delay_amount == 3


def test_a_rule_outside_its_limits_is_refused_next_to_the_field_and_nothing_changes(
    alice: ShopAccess, team: Team
) -> None:
    rule = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout")

    response = manager(team).post(
        f"/dashboard/alice-teas/rules/{rule.pk}", RULE | {"delay_amount": "261", "reminder_count": "4"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_reminder_count_error"' in page
    assert "Select a valid choice" in text_of(response)
    assert InvitationRule.objects.get(pk=rule.pk).delay_amount == 7
    limits = manager(team).post(f"/dashboard/alice-teas/rules/{rule.pk}", RULE | {"delay_amount": "261"})
    assert limits.status_code == 400
    assert "at most 260 business days" in text_of(limits)
    assert InvitationRule.objects.get(pk=rule.pk).delay_unit == "days"


def test_stop_event_types_take_no_rule_and_say_why(alice: ShopAccess, team: Team) -> None:
    rules_page = text_of(manager(team).get("/dashboard/alice-teas/rules"))
    assert rules_page.count("So it takes no rule: it never starts an invitation.") == 2  # return, cancel

    page = manager(team).get("/dashboard/alice-teas/rules/types/return/new")
    refused = manager(team).post("/dashboard/alice-teas/rules/types/return/new", RULE | {"is_active": ""})

    assert "So it takes no rule: it never starts an invitation." in text_of(page)
    assert '<form method="post" novalidate' not in page.content.decode()
    assert refused.status_code == 400
    assert not InvitationRule.objects.filter(event_type__key="return").exists()


def test_event_types_added_through_the_api_are_listed_and_switched_off_the_api_refuses_them(
    alice: ShopAccess, team: Team
) -> None:
    alice.post("/api/v1/event-types", {"key": "picked_up", "name": "Picked up in store"})
    page = text_of(manager(team).get("/dashboard/alice-teas/rules"))
    assert "Picked up in store picked_up" in page and "added through the API" in page

    response = manager(team).post("/dashboard/alice-teas/rules/types/picked_up", {"active": "0"})

    assert response.status_code == 302
    assert not EventType.objects.get(shop=alice.shop, key="picked_up").is_active
    refused = alice.post("/api/v1/events", checkout(type="picked_up")).json()
    assert refused["fields"][0]["field"] == "type"
    manager(team).post("/dashboard/alice-teas/rules/types/picked_up", {"active": "1"})
    assert EventType.objects.get(shop=alice.shop, key="picked_up").is_active


def test_a_custom_type_rule_names_the_event(alice: ShopAccess, team: Team) -> None:
    alice.post("/api/v1/event-types", {"key": "picked_up", "name": "Picked up in store"})

    response = manager(team).post("/dashboard/alice-teas/rules/types/picked_up/new", RULE | {"delay_unit": "hours"})

    assert response.status_code == 302
    page = text_of(manager(team).get("/dashboard/alice-teas/rules"))
    assert "7 hours after “Picked up in store”, at 10:00 Berlin time; 1 reminder 5 days later" in page


def test_a_viewer_sees_the_rules_without_the_buttons(alice: ShopAccess, team: Team) -> None:
    rule = InvitationRule.objects.get(event_type__shop=alice.shop, event_type__key="checkout")
    viewer = team.client(team.bob["viewer"])

    listing = viewer.get("/dashboard/alice-teas/rules").content.decode()
    one = viewer.get(f"/dashboard/alice-teas/rules/{rule.pk}").content.decode()

    assert "7 days after the order" in listing
    assert "Add a rule" not in listing and "Switch off" not in listing and "Deactivate" not in listing
    assert "Save the rule" not in one and "hx-post" not in one and "disabled" in one
