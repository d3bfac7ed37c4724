"""The eTrusted API at /compat/etrusted/, spoken to as its clients do.

The requests are built as Trusted Shops' own PHP client builds them (tsCarstenHellweg/
eTrustedClient_PHP, by their product integration team: TS_CurlWrapper logs in with a form of
client_id, client_secret, grant_type=client_credentials and audience=https://api.etrusted.com
and keeps 'Bearer ' . access_token; api_Events_create.php posts the event as JSON with
'Authorization' and 'Content-Type: application/json'), with the products of their API
reference's sample; answers are read as infrangible's Magento 2 module reads the token
(`access_token`, cached for `expires_in`) and as their reference documents the event's
(202, `EventRef`; errors `{"Message"}`).
"""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess
from reputable.events.models import Event, EventType
from reputable.integrations.tests.fbc_support import stored
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product
from reputable.shops.models import ApiKey

BASE = "/compat/etrusted"


def login(client_id: str, client_secret: str, grant_type: str = "client_credentials") -> Any:
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": grant_type,
        "audience": "https://api.etrusted.com",
    }
    return Client().post(f"{BASE}/oauth/token", form, HTTP_CACHE_CONTROL="no-cache")


def access_token(shop: ShopAccess) -> str:
    token: str = login(shop.shop.slug, shop.key).json()["access_token"]
    return token


def event(
    reference: str = "order-12345", *, type: str = "checkout", email: str = "john.doe@example.com"
) -> dict[str, Any]:
    return {
        "type": type,
        "customer": {
            "firstName": "John",
            "lastName": "Doe",
            "email": email,
            "mobile": "+49123456",
            "address": "Anystr. 17, 12345 Anycity",
        },
        "channel": {"id": "chl-3cd85eba-c280-441e-b90a-5760b8b80410", "type": "etrusted"},
        "transaction": {"reference": reference, "date": "2026-11-23T08:30:00.000Z"},
        "system": "carstenzAPI",
        "systemVersion": "0.1a",
        "defaultLocale": "de_DE",
        "estimatedDeliveryDate": "2026-11-26",
        "products": [
            {
                "gtin": "1234567890123",
                "imageUrl": "https://www.specialbrandshop.com/article123-TS-WH-M/image.jpg",
                "name": "Specialbrand T-Shirt White M",
                "mpn": "23687778",
                "sku": "1234-TS-WH-M",
                "brand": "specialbrand",
                "url": "https://www.specialbrandshop.com/article123-TS-WH-M/",
            }
        ],
        "metadata": {"metaKey1": "metaValue1"},
    }


def post_event(token: str, body: dict[str, Any]) -> Any:
    return Client().post(f"{BASE}/events", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_shop_slug_and_an_api_key_log_in_as_their_login_server_answers(alice: ShopAccess) -> None:
    response = login(alice.shop.slug, alice.key)

    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert answer["access_token"] and alice.key not in answer["access_token"]
    assert response["Cache-Control"] == "no-store"


def test_wrong_credentials_are_refused_as_an_invalid_client(alice: ShopAccess, charlie: ShopAccess) -> None:
    for secret in (alice.key[:-1], charlie.key):
        response = login(alice.shop.slug, secret)

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "access_token" not in response.json()


def test_another_grant_type_is_refused(alice: ShopAccess) -> None:
    response = login(alice.shop.slug, alice.key, grant_type="password")

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_checkout_event_schedules_an_invitation_by_the_rule(alice: ShopAccess, now: time_machine.Traveller) -> None:
    response = post_event(access_token(alice), event())

    assert response.status_code == 202
    answer = response.json()
    assert answer["EventRef"].startswith("evt-")
    assert f"`{answer['EventRef']}`" in answer["Message"]
    invitation = Invitation.objects.get(shop=alice.shop, transaction__reference="order-12345")
    assert invitation.send_at == dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)  # the rule: seven days
    transaction = invitation.transaction
    assert (transaction.first_name, transaction.last_name, transaction.locale) == ("John", "Doe", "de-DE")
    assert transaction.estimated_delivery_date == dt.date(2026, 11, 26)
    product = Product.objects.get(shop=alice.shop)
    assert (product.sku, product.gtin, product.mpn, product.image_url) == (
        "1234-TS-WH-M",
        "1234567890123",
        "23687778",
        "https://www.specialbrandshop.com/article123-TS-WH-M/image.jpg",
    )


def test_an_event_without_a_transaction_date_is_dated_now(alice: ShopAccess, now: time_machine.Traveller) -> None:
    body = event()
    del body["transaction"]["date"]

    assert post_event(access_token(alice), body).status_code == 202
    assert Invitation.objects.get(shop=alice.shop).send_at == timezone.now() + dt.timedelta(days=7)


def test_a_repeated_event_stores_nothing_and_gets_the_same_event_ref(alice: ShopAccess) -> None:
    token = access_token(alice)
    first = post_event(token, event())

    again = post_event(token, event())

    assert again.status_code == 202
    assert again.json() == first.json()
    assert stored(alice.shop) == (1, 1, 1)


def test_each_event_type_of_the_shop_is_taken_by_its_name(alice: ShopAccess) -> None:
    EventType.objects.filter(shop=alice.shop, key="delivery").update(is_active=True)
    token = access_token(alice)

    checkout, delivery = post_event(token, event()), post_event(token, event(type="delivery"))

    assert checkout.json()["EventRef"] != delivery.json()["EventRef"]
    kinds = Event.objects.filter(shop=alice.shop).values_list("event_type__key", flat=True)
    assert sorted(kinds) == ["checkout", "delivery"]


def test_a_return_event_cancels_the_pending_invitation(alice: ShopAccess) -> None:
    token = access_token(alice)
    post_event(token, event())

    assert post_event(token, event(type="return")).status_code == 202
    assert Invitation.objects.get(shop=alice.shop).status == Invitation.Status.CANCELLED


def test_an_event_type_the_shop_does_not_have_is_refused_in_their_shape(alice: ShopAccess) -> None:
    response = post_event(access_token(alice), event(type="shipment"))

    assert response.status_code == 400
    assert response.json() == {"Message": "Invalid request: type: 'shipment' is not an active event type of this shop"}
    assert stored(alice.shop) == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": {"email": "john.doe@"}}, "customer.email"),
        ({"customer": {"email": "john.doe@example.com", "firstName": "J" * 101}}, "customer.firstName"),
        ({"products": [{"name": "Shirt", "imageUrl": "not a url"}]}, "products.0.imageUrl"),
        ({"estimatedDeliveryDate": "soon"}, "estimatedDeliveryDate"),
        ({"transaction": {"date": "2026-11-23T08:30:00Z"}}, "transaction.reference"),
    ],
)
def test_bad_fields_are_refused_naming_their_field_and_nothing_is_stored(
    alice: ShopAccess, change: dict[str, Any], field: str
) -> None:
    response = post_event(access_token(alice), {**event(), **change})

    assert response.status_code == 400
    assert response.json()["Message"].startswith(f"Invalid request: {field}: ")
    assert stored(alice.shop) == (0, 0, 0)


def test_an_expired_token_is_refused(alice: ShopAccess, now: time_machine.Traveller) -> None:
    token = access_token(alice)
    now.shift(dt.timedelta(hours=1, seconds=1))

    response = post_event(token, event())

    assert response.status_code == 401
    assert response.json()["Message"].startswith("Access to this resource is forbidden")
    assert stored(alice.shop) == (0, 0, 0)


def test_revoking_the_key_revokes_its_tokens(alice: ShopAccess) -> None:
    token = access_token(alice)
    ApiKey.objects.get(shop=alice.shop).revoke()

    assert post_event(token, event()).status_code == 401
    assert stored(alice.shop) == (0, 0, 0)


def test_a_feedback_company_token_is_no_etrusted_token(alice: ShopAccess) -> None:
    url = f"/compat/feedbackcompany/api/v2/oauth2/token?client_id={alice.shop.slug}&client_secret={alice.key}"
    token = Client().get(url).json()["access_token"]

    assert post_event(token, event()).status_code == 401


def test_charlies_token_records_his_events_never_alices(alice: ShopAccess, charlie: ShopAccess) -> None:
    assert post_event(access_token(charlie), event()).status_code == 202

    assert stored(alice.shop) == (0, 0, 0)
    assert stored(charlie.shop) == (1, 1, 1)
    assert login(alice.shop.slug, charlie.key).status_code == 401
