"""A signed-up user opens a shop of their own at /dashboard/new and owns it."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reputable.conftest import Team, person
from reputable.events.models import EventType
from reputable.lib.tokens import hash_secret
from reputable.shops.models import ApiKey, Membership, Shop

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def dora(db: None) -> Any:
    """Dora has signed up and verified her address; she is on no team yet."""
    return person("dora@example.org")


def test_a_new_user_opens_a_shop_owns_it_and_sees_its_key_once(dora: Any) -> None:
    client = Team.client(dora)
    assert b"Open a shop" in client.get("/dashboard/new").content

    answer = client.post(
        "/dashboard/new",
        {
            "name": "Dora's Books",
            "website": "https://books.example",
            "country": "NL",
            "timezone": "Europe/Amsterdam",
            "locale": "nl",
        },
    )

    assert answer.status_code == 200
    shop = Shop.objects.get(name="Dora's Books")
    assert (shop.slug, shop.country, shop.timezone, shop.default_locale) == (
        "doras-books",
        "NL",
        "Europe/Amsterdam",
        "nl",
    )
    assert Membership.objects.get(shop=shop).role == "owner"
    key = answer.context["key"]
    assert ApiKey.objects.get(shop=shop).hashed_key == hash_secret(key)
    assert key in answer.content.decode()
    assert set(EventType.objects.filter(shop=shop).values_list("key", flat=True)) == {
        "checkout",
        "delivery",
        "return",
        "cancel",
    }
    assert client.get("/dashboard/doras-books/").status_code == 200
    assert key not in client.get("/dashboard/doras-books/").content.decode()


def test_a_shop_without_a_name_or_with_an_unknown_country_is_not_opened(dora: Any) -> None:
    client = Team.client(dora)

    for bad in ({"name": ""}, {"country": "XX"}, {"timezone": "Mars/Olympus"}, {"name": "Shop\u0007"}):
        form = {"name": "Dora's Books", "country": "DE", "timezone": "Europe/Berlin", "locale": "en"} | bad
        answer = client.post("/dashboard/new", form)
        assert answer.status_code == 400, bad
        assert next(iter(bad)) in answer.context["form"].errors
    assert not Shop.objects.exists()


def test_a_shop_is_never_named_like_a_dashboard_page(dora: Any) -> None:
    client = Team.client(dora)
    client.post("/dashboard/new", {"name": "Join", "country": "DE", "timezone": "Europe/Berlin", "locale": "en"})

    assert Shop.objects.get().slug == "join-2"


def test_only_staff_open_shops_where_the_operator_turned_it_off(dora: Any, settings: Any) -> None:
    settings.ALLOW_SHOP_CREATION = False
    client = Team.client(dora)

    assert client.get("/dashboard/new").status_code == 403
    form = {"name": "Dora's Books", "country": "DE", "timezone": "Europe/Berlin", "locale": "en"}
    assert client.post("/dashboard/new", form).status_code == 403
    assert not Shop.objects.exists()


def test_signing_up_can_be_closed_by_the_operator(db: None, settings: Any) -> None:
    settings.ALLOW_SIGNUP = False
    answer = Client().post(
        "/accounts/signup/", {"email": "eve@example.org", "password1": "x" * 20, "password2": "x" * 20}
    )

    assert b"Sign Up Closed" in answer.content

    assert not User.objects.filter(email="eve@example.org").exists()
