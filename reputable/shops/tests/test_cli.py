"""The `reputable` command."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from reputable.conftest import PASSWORD, person, subprocess_env
from reputable.events.models import EventType
from reputable.invitations.models import InvitationRule
from reputable.shops.access import grant_for_key
from reputable.shops.models import Membership, Shop


@pytest.mark.django_db(transaction=True)
def test_createshop_prints_the_slug_and_a_working_key_as_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reputable.cli", "createshop", "--name", "Bob's Bikes", "--country", "nl", "--json"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
    )

    printed = json.loads(result.stdout)
    assert printed["slug"] == "bobs-bikes"
    shop = Shop.objects.get(slug="bobs-bikes")
    assert shop.country == "NL"
    grant = grant_for_key(printed["api_key"])
    assert grant is not None
    assert (grant.shop, grant.scopes) == (shop, {"read", "write"})
    assert [t.key for t in EventType.objects.filter(shop=shop)] == ["checkout", "delivery", "return", "cancel"]
    rule = InvitationRule.objects.get(event_type__shop=shop)
    assert (rule.delay_amount, rule.delay_unit, rule.reminder_count, rule.reminder_interval_amount) == (7, "days", 1, 7)


def test_createshop_gives_each_shop_its_own_slug(db: None) -> None:
    out = StringIO()
    call_command("createshop", name="Alice Teas", stdout=out)
    call_command("createshop", name="Alice Teas", stdout=out)

    assert sorted(Shop.objects.values_list("slug", flat=True)) == ["alice-teas", "alice-teas-2"]
    assert "shown only this once" in out.getvalue()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"country": "ZZ"}, "--country"),
        ({"timezone": "Nowhere/Town"}, "--timezone"),
        ({"name": " "}, "--name"),
        ({"owner": "not an address"}, "--owner"),
        ({"owner": "new@example.com", "country": "ZZ"}, "--country"),  # no account for a shop that failed
    ],
)
def test_createshop_rejects_bad_options_and_stores_nothing(db: None, options: dict, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("createshop", **{"name": "X", **options})

    assert Shop.objects.count() == 0
    assert User.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_createshop_refuses_a_bad_owner_address_with_an_error_and_an_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reputable.cli", "createshop", "--name", "Bob's Bikes", "--owner", "bob@"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "--owner: 'bob@' is not a valid email address" in result.stderr
    assert result.stdout == ""
    assert not Shop.objects.exists() and not User.objects.exists()


def test_createshop_with_an_owner_prints_a_login_link_that_logs_them_in_once(db: None) -> None:
    out = StringIO()
    call_command("createshop", name="Bob's Bikes", owner=" Bob@Example.com ", json=True, stdout=out)

    printed = json.loads(out.getvalue())
    assert set(printed) == {"slug", "api_key", "login_url"}
    bob = User.objects.get(email="bob@example.com")
    assert not bob.has_usable_password()
    assert Membership.objects.get(user=bob).shop.slug == printed["slug"] == "bobs-bikes"
    assert Membership.objects.get(user=bob).role == "owner"
    assert printed["login_url"].startswith(f"{settings.BASE_URL}/accounts/link/")
    link = printed["login_url"].removeprefix(settings.BASE_URL)

    browser = Client()
    shown = browser.get(link)
    assert shown.status_code == 200
    assert "You are about to log in as bob@example.com." in shown.content.decode()
    assert browser.get("/dashboard/").status_code == 302  # opening the link logged nobody in
    assert browser.get(link).status_code == 200  # nor spent it

    logged_in = browser.post(link)
    assert logged_in["Location"] == "/accounts/password/set/"  # a new account chooses a password first
    assert "Choose a password now" in browser.get(logged_in["Location"]).content.decode()
    assert browser.get("/dashboard/", follow=True).redirect_chain[-1][0] == "/dashboard/bobs-bikes/"

    for method in (Client().get, Client().post):
        spent = method(link)
        assert spent.status_code == 404
        assert "This login link no longer works" in spent.content.decode()


def test_createshop_gives_an_existing_account_the_new_shop_too(db: None) -> None:
    bob = person("bob@example.com")
    call_command("createshop", name="First Bikes", owner="bob@example.com", stdout=StringIO())
    out = StringIO()
    call_command("createshop", name="Second Bikes", owner="bob@example.com", stdout=out)

    printed = out.getvalue()
    assert "owner:   bob@example.com" in printed
    link = printed.split("log in:  ")[1].split()[0].removeprefix(settings.BASE_URL)
    assert User.objects.count() == 1 and User.objects.get().check_password(PASSWORD)
    browser = Client()
    assert browser.post(link)["Location"] == "/dashboard/"
    shops = browser.get("/dashboard/").content.decode()
    assert "First Bikes" in shops and "Second Bikes" in shops
    assert set(Membership.objects.filter(user=bob).values_list("role", flat=True)) == {"owner"}
