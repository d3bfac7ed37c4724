"""The customer's objection: the link's page, its button, and the RFC 8058 one-click POST."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.models import Invitation, Suppression

pytestmark = pytest.mark.usefixtures("now")


def unsubscribe_path(message: Any) -> str:
    url = message["List-Unsubscribe"].strip().strip("<>")
    return url.removeprefix("http://localhost:8000")


@pytest.fixture
def invited(alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any) -> Any:
    """Jan got his invitation; a reminder is due a week later."""
    alice.post("/api/v1/events", checkout())
    now.move_to(MONDAY + dt.timedelta(days=7))
    run_dispatcher(dispatcher)
    return smtp.messages[-1]


def test_the_link_shows_a_button_and_a_get_changes_nothing(invited: Any) -> None:
    response = Client().get(unsubscribe_path(invited))

    assert response.status_code == 200
    assert b'<form method="post"' in response.content
    assert Suppression.objects.count() == 0
    assert Invitation.objects.get().status == "pending"


def test_the_page_speaks_the_invitations_language(invited: Any) -> None:
    response = Client().get(unsubscribe_path(invited))  # Jan's locale is nl

    assert b"Reviewverzoeken" in response.content
    assert b'lang="nl"' in response.content


def test_a_one_click_post_without_cookies_suppresses_the_address_at_once(
    invited: Any, dispatcher: Command, smtp: SmtpSink, now: Any, alice: ShopAccess
) -> None:
    client = Client(enforce_csrf_checks=True)  # as a mail provider posts: no cookie, no token

    response = client.post(
        unsubscribe_path(invited), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert Suppression.objects.get().email == "jan@example.nl"
    assert Invitation.objects.get().status == "suppressed"
    now.move_to(MONDAY + dt.timedelta(days=60))
    assert run_dispatcher(dispatcher) == 0  # no reminder
    answer = alice.post("/api/v1/events", checkout("2002")).json()
    assert answer["outcome"] == "suppressed"
    assert len(smtp.messages) == 1


def test_the_pages_button_suppresses_too(invited: Any) -> None:
    client = Client()
    page = client.get(unsubscribe_path(invited))

    response = client.post(unsubscribe_path(invited))

    assert page.status_code == response.status_code == 200
    assert "Sie erhalten" not in response.content.decode()
    assert "U ontvangt geen reviewverzoeken meer" in response.content.decode()
    assert Suppression.objects.filter(reason="unsubscribed").count() == 1


def test_an_objection_binds_only_the_shop_it_was_made_to(invited: Any, charlie: ShopAccess) -> None:
    Client().post(unsubscribe_path(invited))

    assert charlie.post("/api/v1/events", checkout("1")).json()["outcome"] == "scheduled"


def test_an_unknown_token_is_a_404(db: None) -> None:
    assert Client().get("/u/not-a-token").status_code == 404
    assert Client().post("/u/not-a-token").status_code == 404
    assert Suppression.objects.count() == 0


def test_the_shop_name_is_escaped_on_the_page(alice: ShopAccess, invited: Any) -> None:
    alice.patch("/api/v1/shop", {"name": "<script>alert(1)</script>"})

    content = Client().get(unsubscribe_path(invited)).content.decode()

    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)" in content
