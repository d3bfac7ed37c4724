"""Arbitrary text, all of Unicode with control characters and lone surrogates, into every text
field a shop, its systems or a customer can fill: the answer is 2xx or 4xx, never 5xx, on
SQLite and PostgreSQL alike; and every message the dispatcher then builds parses strictly and
carries no control character in any header."""

import email
import email.policy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reputable.conftest import ShopAccess, checkout
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.models import Invitation

# Everything, lone surrogates (a JSON escape can carry them) and control characters included.
anything = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
# What a browser can send in a form: no lone surrogates.
typed = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)


def as_url(value: str) -> str:
    """`value` percent-encoded as a client sends it: its UTF-8 bytes, a lone surrogate's too."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def event_field(make: Callable[[str], dict[str, Any]]) -> Callable[[ShopAccess, str], Any]:
    return lambda shop, value: shop.post("/api/v1/events", checkout("fuzz", **make(value)))


API_FIELDS: dict[str, Callable[[ShopAccess, str], Any]] = {
    "event type": event_field(lambda v: {"type": v}),
    "reference": event_field(lambda v: {"transaction": {"reference": v, "date": "2026-11-23T08:00:00Z"}}),
    "first name": event_field(lambda v: {"customer": {"email": "fuzz@example.com", "first_name": v}}),
    "last name": event_field(lambda v: {"customer": {"email": "fuzz@example.com", "last_name": v}}),
    "locale": event_field(lambda v: {"customer": {"email": "fuzz@example.com", "locale": v}}),
    "email": event_field(lambda v: {"customer": {"email": v}}),
    "product": event_field(lambda v: {"products": [{"sku": v, "name": v, "brand": v, "mpn": v, "gtin": v}]}),
    "product url": event_field(lambda v: {"products": [{"name": "Tea", "url": f"https://shop.example/{v}"}]}),
    "shop name": lambda shop, v: shop.patch("/api/v1/shop", {"name": v}),
    "sender name": lambda shop, v: shop.patch("/api/v1/shop", {"sender_name": v}),
    "shop region": lambda shop, v: shop.patch("/api/v1/shop", {"subdivision": v}),
    "shop time zone": lambda shop, v: shop.patch("/api/v1/shop", {"timezone": v}),
    "reply-to": lambda shop, v: shop.patch("/api/v1/shop", {"reply_to": v}),
    "template subject": lambda shop, v: shop.put(
        "/api/v1/message-templates/invitation/en", {"subject": v, "body": "{review_url}"}
    ),
    "template body": lambda shop, v: shop.put(
        "/api/v1/message-templates/invitation/en", {"subject": "{first_name}", "body": v + " {review_url}"}
    ),
    "template locale": lambda shop, v: shop.put(
        f"/api/v1/message-templates/invitation/{as_url(v)}", {"subject": "s", "body": "b"}
    ),
    "event type name": lambda shop, v: shop.post("/api/v1/event-types", {"key": "fuzzed", "name": v}),
    "api key name": lambda shop, v: shop.post("/api/v1/api-keys", {"name": v}),
    "suppression": lambda shop, v: shop.post("/api/v1/suppressions", {"email": v}),
    "transaction path": lambda shop, v: shop.api.get("/api/v1/transactions/" + as_url(v)),
    "review filter": lambda shop, v: shop.api.get(f"/api/v1/reviews?sku={as_url(v)}&cursor={as_url(v)}"),
    "summary filter": lambda shop, v: Client().get(f"/api/v1/public/shops/alice-teas/summary?sku={as_url(v)}"),
}
FORM_FIELDS = ["title", "body", "name_display", "rating"]


@pytest.fixture
def shop(alice: ShopAccess) -> ShopAccess:
    """Alice's shop invites at once, every address, so that each example's messages go out."""
    rule = alice.api.get("/api/v1/event-types/checkout/rules").json()[0]["id"]
    alice.patch(f"/api/v1/rules/{rule}", {"delay_amount": 0, "delay_unit": "minutes", "reminder_count": 0})
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0, "default_locale": "en"})
    return alice


def messages_are_clean() -> None:
    for message in mail.outbox:
        parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.strict)
        for name, value in parsed.items():
            assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in str(value)), (name, value)


@hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(API_FIELDS)), value=anything)
def test_any_text_in_any_api_field_is_answered_below_500_and_mails_stay_clean(
    shop: ShopAccess, now: Any, field: str, value: str
) -> None:
    savepoint = transaction.savepoint_create()
    mail.outbox.clear()
    try:
        response = API_FIELDS[field](shop, value)
        assert response.status_code < 500, (field, value, response.content[:300])
        if response.status_code >= 400:
            assert response.json()["code"]  # the API's error shape
        shop.post("/api/v1/events", checkout("named", customer={"email": "named@example.com", "first_name": value}))
        shop.post("/api/v1/events", checkout("plain", customer={"email": "plain@example.com", "first_name": "Ann"}))
        dispatcher = Command()
        while dispatcher.handle_one():
            pass
        assert mail.outbox  # at least the plain order's invitation, whatever the shop now says
        messages_are_clean()
    finally:
        transaction.savepoint_rollback(savepoint)


@hypothesis_settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FORM_FIELDS), value=typed)
def test_any_text_in_any_review_form_field_is_answered_below_500(
    shop: ShopAccess, now: Any, field: str, value: str
) -> None:
    savepoint = transaction.savepoint_create()
    try:
        shop.post("/api/v1/events", checkout("form", products=[{"sku": "TEA-1", "name": "Green tea"}]))
        invitation = Invitation.objects.get(transaction__reference="form")
        product = invitation.transaction.products.get()
        form = {"rating": "4", "name_display": "anonymous", f"product_{product.pk}_rating": "5"}
        form[f"product_{product.pk}_body"] = value
        form[field] = value

        response = Client().post(f"/r/{invitation.token}", form)

        assert response.status_code in (302, 422), (field, value, response.status_code)
    finally:
        transaction.savepoint_rollback(savepoint)
