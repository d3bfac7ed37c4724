"""The permission choke point: alice owns the shop, bob is on her team, charlie is an outsider."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.reviews.actions import ReviewInput, submit_review
from reputable.shops import access
from reputable.shops.models import ApiKey, Membership

Role = Membership.Role
ROLES = [Role.VIEWER, Role.RESPONDER, Role.MANAGER, Role.OWNER]

pytestmark = pytest.mark.usefixtures("now")


def member(shop: ShopAccess, username: str, role: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com")
    Membership.objects.create(shop=shop.shop, user=user, role=role)
    return user


@pytest.fixture
def team(alice: ShopAccess, charlie: ShopAccess) -> dict[str, User]:
    return {
        "alice": member(alice, "alice", Role.OWNER),
        **{f"bob-{role}": member(alice, f"bob-{role}", role) for role in (Role.VIEWER, Role.RESPONDER, Role.MANAGER)},
        "charlie": member(charlie, "charlie", Role.OWNER),
    }


def test_the_owner_reaches_her_shop_at_every_role(alice: ShopAccess, team: dict[str, User]) -> None:
    for role in ROLES:
        assert access.shop_for_user(team["alice"], "alice-teas", role=role) == alice.shop


@pytest.mark.parametrize("bobs_role", [Role.VIEWER, Role.RESPONDER, Role.MANAGER])
def test_a_team_member_reaches_the_shop_up_to_his_role_and_gets_403_beyond_it(
    alice: ShopAccess, team: dict[str, User], bobs_role: str
) -> None:
    bob = team[f"bob-{bobs_role}"]
    for role in ROLES:
        if ROLES.index(role) <= ROLES.index(Role(bobs_role)):
            assert access.shop_for_user(bob, "alice-teas", role=role) == alice.shop
        else:
            with pytest.raises(PermissionDenied):
                access.shop_for_user(bob, "alice-teas", role=role)


def test_an_outsider_an_anonymous_visitor_and_a_deactivated_member_get_404(team: dict[str, User]) -> None:
    team["bob-manager"].is_active = False
    team["bob-manager"].save()

    for user in (team["charlie"], AnonymousUser(), team["bob-manager"]):
        with pytest.raises(Http404):
            access.shop_for_user(user, "alice-teas", role=Role.VIEWER)
    with pytest.raises(Http404):
        access.shop_for_user(team["alice"], "no-such-shop", role=Role.VIEWER)


def test_each_user_lists_only_the_shops_they_belong_to(alice: ShopAccess, team: dict[str, User]) -> None:
    assert access.shops_for_user(team["alice"]) == [(alice.shop, "owner")]
    assert [shop.slug for shop, _role in access.shops_for_user(team["charlie"])] == ["charlie-gadgets"]
    assert access.shops_for_user(AnonymousUser()) == []


def alices_objects(alice: ShopAccess) -> dict[str, Any]:
    """One object of every type the dashboard touches, in alice's shop, and how to look it up."""
    alice.post("/api/v1/events", checkout("A-1"))
    alice.put("/api/v1/message-templates/invitation/de", {"subject": "Hallo", "body": "{review_url}"})
    invitation = Invitation.objects.get(shop=alice.shop)
    review, _created = submit_review(invitation=invitation, data=ReviewInput(rating=4), now=invitation.created_at)
    rule = invitation.rule
    assert rule is not None
    membership = Membership.objects.filter(shop=alice.shop).first()
    assert membership is not None
    return {
        "event_type_of": ("checkout",),
        "rule_of": (rule.pk,),
        "template_of": ("invitation", "de"),
        "api_key_of": (ApiKey.objects.get(shop=alice.shop).pk,),
        "member_of": (membership.pk,),
        "transaction_of": ("A-1",),
        "invitation_of": (invitation.pk,),
        "review_of": (review.pk,),
    }


def test_every_object_of_a_shop_is_found_within_it_and_never_from_another(
    alice: ShopAccess, charlie: ShopAccess, team: dict[str, User]
) -> None:
    lookups = alices_objects(alice)
    alices_shop = access.shop_for_user(team["alice"], "alice-teas", role=Role.VIEWER)
    charlies_shop = access.shop_for_user(team["charlie"], "charlie-gadgets", role=Role.VIEWER)

    for name, args in lookups.items():
        alices = getattr(access, name)(alices_shop, *args)
        try:
            found = getattr(access, name)(charlies_shop, *args)
        except Http404:
            continue
        # Only a name both shops use (the built-in event type "checkout") finds charlie's own.
        assert (name, found.pk != alices.pk) == ("event_type_of", True)


def test_a_read_key_reads_and_gets_403_on_every_write(alice: ShopAccess) -> None:
    read_key = alice.post("/api/v1/api-keys", {"name": "dashboard widget", "scopes": ["read"]}).json()
    reader = Client(headers={"Authorization": f"Bearer {read_key['key']}"})

    assert read_key["scopes"] == ["read"]
    assert reader.get("/api/v1/shop").status_code == 200
    assert reader.get("/api/v1/reviews").status_code == 200
    writes = [
        reader.post("/api/v1/events", checkout(), content_type="application/json"),
        reader.patch("/api/v1/shop", {"name": "Evil"}, content_type="application/json"),
        reader.post("/api/v1/api-keys", {"name": "escalate"}, content_type="application/json"),
        reader.delete(f"/api/v1/api-keys/{read_key['id']}"),
    ]
    for response in writes:
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert alice.api.get("/api/v1/shop").json()["name"] == "Alice Teas"
    assert [k["scopes"] for k in alice.api.get("/api/v1/api-keys").json()] == [["read", "write"], ["read"]]


def test_a_key_needs_at_least_one_known_scope(alice: ShopAccess) -> None:
    for scopes in ([], ["admin"]):
        response = alice.post("/api/v1/api-keys", {"name": "x", "scopes": scopes})
        assert response.status_code == 422
        assert response.json()["fields"][0]["field"].startswith("scopes")
