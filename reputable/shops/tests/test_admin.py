"""Django admin for staff: event types and rules can be managed there."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reputable.conftest import ShopAccess


@pytest.mark.parametrize(
    "page",
    [
        "/admin/events/eventtype/",
        "/admin/invitations/invitationrule/",
        "/admin/invitations/invitation/",
        "/admin/events/transaction/",
        "/admin/shops/shop/",
        "/admin/shops/apikey/",
        "/admin/reviews/review/",
    ],
)
def test_staff_see_the_admin_pages(alice: ShopAccess, page: str) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))

    assert client.get(page).status_code == 200


def test_staff_can_deactivate_a_rule_in_the_admin(alice: ShopAccess) -> None:
    from reputable.invitations.models import InvitationRule

    client = Client()
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))
    rule = InvitationRule.objects.get(event_type__shop=alice.shop)
    form = client.get(f"/admin/invitations/invitationrule/{rule.pk}/change/")

    response = client.post(
        f"/admin/invitations/invitationrule/{rule.pk}/change/",
        {
            "event_type": rule.event_type_id,
            "delay_amount": 3,
            "delay_unit": "business_days",
            "reminder_count": 0,
            "reminder_interval_amount": 7,
            "reminder_interval_unit": "days",
            "max_transaction_age_days": 90,
            "channel": "email",
            "created_at_0": "2026-11-23",
            "created_at_1": "09:00:00",
        },
    )

    assert form.status_code == 200
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.is_active, rule.delay_amount, rule.delay_unit) == (False, 3, "business_days")


def test_staff_see_a_transaction_with_its_products_and_events(alice: ShopAccess) -> None:
    from reputable.conftest import checkout
    from reputable.events.models import Transaction

    alice.post("/api/v1/events", checkout())
    client = Client()
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))

    page = client.get(f"/admin/events/transaction/{Transaction.objects.get().pk}/change/")

    assert page.status_code == 200
    assert "Green tea" in page.content.decode()  # the product, beside its raw id
    assert "scheduled" in page.content.decode()  # the event and its outcome


def test_outsiders_are_sent_to_the_login(db: None) -> None:
    assert Client().get("/admin/events/eventtype/").status_code == 302


def test_staff_see_an_invitations_lifecycle_but_cannot_edit_it(alice: ShopAccess) -> None:
    from reputable.conftest import checkout
    from reputable.invitations.models import Invitation

    alice.post("/api/v1/events", checkout())
    invitation = Invitation.objects.get()
    client = Client()
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))

    page = client.get(f"/admin/invitations/invitation/{invitation.pk}/change/").content.decode()

    assert 'name="status"' not in page
    assert 'name="send_at' not in page
    assert "pending" in page
