"""The review providers on the connectors page: a manager or owner sets, replaces and removes
the shop's credentials with each provider, sees which are set and never their values; a
viewer or responder changes nothing, an outsider finds nothing."""

import pytest
from django.test import Client

from reputable.conftest import ShopAccess, Team
from reputable.integrations.models import ProviderAccount

pytestmark = pytest.mark.usefixtures("now", "english")

PAGE = "/dashboard/alice-teas/connectors"
KIYOH = f"{PAGE}/providers/kiyoh"
TOKEN = "3c8f6a51-kiyoh-publication-token"
LOCATION = "1053874"


@pytest.fixture
def english(alice: ShopAccess) -> None:
    alice.shop.default_locale = "en"
    alice.shop.save(update_fields=["default_locale"])


@pytest.fixture
def owner(team: Team) -> Client:
    return team.client(team.alice)


def forward_checkouts_to_kiyoh(alice: ShopAccess) -> None:
    [rule] = alice.api.get("/api/v1/event-types/checkout/rules").json()
    assert alice.patch(f"/api/v1/rules/{rule['id']}", {"channel": "kiyoh"}).status_code == 200


def test_the_page_lists_each_provider_with_a_form_of_secret_inputs_that_browsers_do_not_fill(owner: Client) -> None:
    page = owner.get(PAGE).content.decode()

    assert "Review providers" in page
    for provider in ("Kiyoh / Klantenvertellen", "The Feedback Company", "Trusted Shops eTrusted", "Trustpilot"):
        assert provider in page
    assert page.count("No account") == 4
    assert 'type="password" name="kiyoh-api_token" autocomplete="off"' in page
    assert 'type="text" name="kiyoh-location_id" autocomplete="off"' in page
    assert 'type="password" name="trustpilot-api_secret" autocomplete="off"' in page
    assert 'action="/dashboard/alice-teas/connectors/providers/kiyoh"' in page
    assert "csrfmiddlewaretoken" in page
    assert "style=" not in page and "<script>" not in page


def test_alice_sets_kiyoh_credentials_and_sees_them_set_but_never_their_values(
    alice: ShopAccess, owner: Client
) -> None:
    answer = owner.post(KIYOH, {"kiyoh-api_token": f" {TOKEN} ", "kiyoh-location_id": LOCATION}, follow=True)

    assert answer.redirect_chain == [(PAGE, 302)]
    account = ProviderAccount.objects.get(shop=alice.shop, provider="kiyoh")
    assert account.credentials == {"api_token": TOKEN, "location_id": LOCATION}
    page = answer.content.decode()
    assert "The Kiyoh / Klantenvertellen account is set" in page
    assert "Set: API token, Location ID." in page
    assert page.count("No account") == 3
    assert "Remove the account" in page
    assert TOKEN not in page and LOCATION not in page
    assert TOKEN not in owner.get(PAGE).content.decode()


def test_saving_the_form_again_replaces_the_credentials(alice: ShopAccess, owner: Client) -> None:
    owner.post(KIYOH, {"kiyoh-api_token": TOKEN, "kiyoh-location_id": LOCATION})

    owner.post(KIYOH, {"kiyoh-api_token": "a-new-token", "kiyoh-location_id": "2000"})

    account = ProviderAccount.objects.get(shop=alice.shop)
    assert account.credentials == {"api_token": "a-new-token", "location_id": "2000"}


def test_a_missing_credential_is_marked_by_its_field_and_nothing_is_stored(owner: Client) -> None:
    answer = owner.post(KIYOH, {"kiyoh-api_token": TOKEN, "kiyoh-location_id": " "})

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Nothing is stored yet" in page
    field = page[page.index('name="kiyoh-location_id"') :]
    assert field.index("is required") < field.index("</div>")
    assert TOKEN not in page  # a secret typed is not sent back either
    assert not ProviderAccount.objects.exists()


def test_a_manager_may_set_an_account_and_a_viewer_or_responder_may_not(alice: ShopAccess, team: Team) -> None:
    credentials = {"kiyoh-api_token": TOKEN, "kiyoh-location_id": LOCATION}
    for role in ("viewer", "responder"):
        bob = team.client(team.bob[role])
        assert "Review providers" not in bob.get(PAGE).content.decode()
        assert bob.post(KIYOH, credentials).status_code == 403
    assert not ProviderAccount.objects.exists()
    owner_account = alice.put(
        "/api/v1/provider-accounts/kiyoh", {"credentials": {"api_token": "x", "location_id": "1"}}
    )
    assert owner_account.status_code == 200
    for role in ("viewer", "responder"):
        assert team.client(team.bob[role]).post(f"{KIYOH}/remove").status_code == 403
    assert ProviderAccount.objects.exists()

    assert team.client(team.bob["manager"]).post(KIYOH, credentials).status_code == 302
    assert ProviderAccount.objects.get().credentials["api_token"] == TOKEN


def test_an_account_an_active_rule_forwards_to_is_not_removed_and_the_page_says_why(
    alice: ShopAccess, owner: Client
) -> None:
    owner.post(KIYOH, {"kiyoh-api_token": TOKEN, "kiyoh-location_id": LOCATION})
    forward_checkouts_to_kiyoh(alice)

    answer = owner.post(f"{KIYOH}/remove", follow=True)

    assert answer.redirect_chain == [(PAGE, 302)]
    page = answer.content.decode()
    assert "The Kiyoh / Klantenvertellen account is not removed" in page
    assert "the active rules of checkout forward to it" in page
    assert ProviderAccount.objects.filter(shop=alice.shop, provider="kiyoh").exists()


def test_alice_removes_an_account_no_rule_forwards_to(alice: ShopAccess, owner: Client) -> None:
    owner.post(KIYOH, {"kiyoh-api_token": TOKEN, "kiyoh-location_id": LOCATION})

    answer = owner.post(f"{KIYOH}/remove", follow=True)

    assert "The Kiyoh / Klantenvertellen account is removed." in answer.content.decode()
    assert not ProviderAccount.objects.exists()
    again = owner.post(f"{KIYOH}/remove", follow=True)
    assert "There is no Kiyoh / Klantenvertellen account to remove." in again.content.decode()


def test_an_unknown_provider_is_not_found(owner: Client) -> None:
    assert owner.post(f"{PAGE}/providers/carrier-pigeon", {}).status_code == 404
    assert owner.post(f"{PAGE}/providers/carrier-pigeon/remove").status_code == 404


def test_an_outsider_finds_neither_the_form_nor_alices_account(alice: ShopAccess, team: Team) -> None:
    alice.put("/api/v1/provider-accounts/kiyoh", {"credentials": {"api_token": TOKEN, "location_id": LOCATION}})
    charlie = team.client(team.charlie)

    assert charlie.post(KIYOH, {"kiyoh-api_token": "mine", "kiyoh-location_id": "1"}).status_code == 404
    assert charlie.post(f"{KIYOH}/remove").status_code == 404
    assert ProviderAccount.objects.get().credentials["api_token"] == TOKEN
