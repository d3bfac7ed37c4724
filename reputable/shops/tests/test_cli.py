"""The `reputable` command."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reputable.conftest import subprocess_env
from reputable.events.models import EventType
from reputable.invitations.models import InvitationRule
from reputable.shops.access import grant_for_key
from reputable.shops.models import Shop


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
    [({"country": "ZZ"}, "--country"), ({"timezone": "Nowhere/Town"}, "--timezone"), ({"name": " "}, "--name")],
)
def test_createshop_rejects_bad_options_and_stores_nothing(db: None, options: dict, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("createshop", **{"name": "X", **options})

    assert Shop.objects.count() == 0
