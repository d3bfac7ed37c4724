"""The team page: members and roles, invitations by email, the last owner, deleting the shop;
and `/dashboard/`, the list of one's shops with the switcher between them."""

import re
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import PASSWORD, ShopAccess, SmtpSink, Team, join, person, run_dispatcher, write_review
from reputable.dispatch.models import OutboxItem
from reputable.events.models import Transaction
from reputable.lib.tokens import hash_secret
from reputable.reviews.models import Review
from reputable.shops.models import Membership, Shop, TeamInvitation

pytestmark = pytest.mark.usefixtures("now")

TEAM = "/dashboard/alice-teas/team"


def invite(client: Client, email: str, role: str) -> Any:
    return client.post(TEAM, {"email": email, "role": role})


def join_link(smtp: SmtpSink, to: str) -> str:
    """The path of the join link in the last invitation sent to `to`."""
    [message] = [m for m in smtp.messages if m["To"] == to][-1:]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"https?://[^/\s]+(/dashboard/join/[\w-]+)", text)
    assert link, text
    return link.group(1)


def role_of(shop: Shop, user: Any) -> str | None:
    return Membership.objects.filter(shop=shop, user=user).values_list("role", flat=True).first()


def test_every_member_sees_the_team_with_roles_and_open_invitations(alice: ShopAccess, team: Team) -> None:
    invite(team.client(team.alice), "new@example.com", "responder")

    page = team.client(team.bob["viewer"]).get(TEAM)

    text = page.content.decode()
    assert page.status_code == 200
    for role in ("owner", "manager", "responder", "viewer"):
        assert f"bob-{role}@alice-teas.example" in text
    assert "alice@alice-teas.example" in text and "charlie@" not in text
    assert re.search(r"new@example\.com</th>\s*<td>Responder</td>\s*<td>alice@alice-teas\.example</td>", text)
    assert "Invite someone" not in text and "Danger zone" not in text and "Change role" not in text
    owner_view = team.client(team.alice).get(TEAM).content.decode()
    assert "Invite someone" in owner_view and "Danger zone" in owner_view and "Change role" in owner_view


def test_an_invitee_with_an_account_joins_by_opening_the_emailed_link(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    answer = invite(team.client(team.alice), "Dana@Example.com", "manager")
    assert answer.status_code == 302 and answer["Location"] == TEAM
    assert smtp.messages == []  # sent by the dispatcher, not in the request

    run_dispatcher(dispatcher)
    [message] = smtp.messages
    assert message["Subject"] == "Join the team of Alice Teas on Reputable"
    assert message["Reply-To"] == "alice@alice-teas.example"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "alice@alice-teas.example invites you to the team of Alice Teas on Reputable, as Manager." in text
    link = join_link(smtp, "dana@example.com")
    token = link.rsplit("/", 1)[1]
    stored = TeamInvitation.objects.get(shop=alice.shop)
    assert stored.hashed_token == hash_secret(token) and token not in str(list(TeamInvitation.objects.values()))

    dana = person("dana@example.com")
    browser = team.client(dana)
    opened = browser.get(link)  # a mail scanner or prefetch would get as far as this
    assert opened.status_code == 200 and "Join the team" in opened.content.decode()
    assert role_of(alice.shop, dana) is None
    joined = browser.post(link)
    assert joined.status_code == 302 and joined["Location"] == "/dashboard/alice-teas/"
    assert "Welcome to the team of Alice Teas." in browser.get(joined["Location"]).content.decode()
    assert role_of(alice.shop, dana) == "manager"
    stored.refresh_from_db()
    assert stored.accepted_at is not None
    assert "dana@example.com" not in team.client(team.alice).get(TEAM).content.decode().split('id="invitations"')[1]

    again = browser.post(link)
    assert again.status_code == 404
    assert "This invitation no longer works" in again.content.decode()


def test_an_invitee_without_an_account_signs_up_through_the_link_even_where_sign_up_is_closed(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink, settings: Any
) -> None:
    settings.ALLOW_SIGNUP = False
    assert "Sign Up Closed" in Client().get("/accounts/signup/").content.decode()
    invite(team.client(team.alice), "erin@example.com", "responder")
    run_dispatcher(dispatcher)
    link = join_link(smtp, "erin@example.com")

    browser = Client()
    landing = browser.get(link)
    assert landing.status_code == 200
    text = landing.content.decode()
    assert "This invitation is for erin@example.com, as Responder." in text
    signup_url = f"/accounts/signup/?next={link}"
    assert signup_url in text
    signed_up = browser.post(
        signup_url, {"email": "erin@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": link}
    )
    assert signed_up.status_code == 302
    assert not Membership.objects.filter(user__email="erin@example.com").exists()  # not confirmed yet

    run_dispatcher(dispatcher)
    [confirmation] = [m for m in smtp.messages if "Confirm" in m["Subject"]]
    body = confirmation.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", body)
    assert confirm, body
    confirmed = browser.post(confirm.group(1), follow=True)

    assert confirmed.redirect_chain[-1][0] == link
    assert "Join the team" in confirmed.content.decode()
    assert browser.post(link)["Location"] == "/dashboard/alice-teas/"
    assert Membership.objects.get(shop=alice.shop, user__email="erin@example.com").role == "responder"


def test_someone_else_who_opens_the_link_does_not_join(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    invite(team.client(team.alice), "dana@example.com", "owner")
    run_dispatcher(dispatcher)
    link = join_link(smtp, "dana@example.com")

    refused = team.client(team.charlie).post(link)

    assert refused.status_code == 403
    assert "This invitation is for dana@example.com. Log in with that address to accept it." in refused.content.decode()
    assert role_of(alice.shop, team.charlie) is None
    assert TeamInvitation.objects.get(email="dana@example.com").is_open()


def test_an_unknown_cancelled_or_expired_link_is_not_found(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink, now: Any
) -> None:
    owner = team.client(team.alice)
    invite(owner, "dana@example.com", "viewer")
    invite(owner, "erin@example.com", "viewer")
    run_dispatcher(dispatcher)
    dana, erin = join_link(smtp, "dana@example.com"), join_link(smtp, "erin@example.com")
    cancelled = owner.post(
        f"{TEAM}/invitations/{TeamInvitation.objects.get(email='dana@example.com').pk}/cancel", follow=True
    )
    assert "The invitation to dana@example.com is cancelled." in cancelled.content.decode()
    now.shift(TeamInvitation.VALID_FOR.total_seconds() + 1)
    people = {"dana@example.com": person("dana@example.com"), "erin@example.com": person("erin@example.com")}

    for link, email in [(dana, "dana@example.com"), (erin, "erin@example.com"), ("/dashboard/join/" + "x" * 32, "")]:
        browser = team.client(people[email]) if email else Client()
        for answer in (browser.get(link), browser.post(link)):
            assert answer.status_code == 404, link
            assert "This invitation no longer works" in answer.content.decode()
    assert not Membership.objects.filter(user__in=people.values()).exists()


def test_inviting_again_sends_a_new_link_and_the_old_one_stops_working(
    alice: ShopAccess, team: Team, dispatcher: Any, smtp: SmtpSink
) -> None:
    owner = team.client(team.alice)
    invite(owner, "dana@example.com", "viewer")
    run_dispatcher(dispatcher)
    first = join_link(smtp, "dana@example.com")
    invite(owner, "dana@example.com", "manager")
    run_dispatcher(dispatcher)
    second = join_link(smtp, "dana@example.com")

    dana = team.client(person("dana@example.com"))
    assert dana.get(first).status_code == 404
    assert dana.post(second).status_code == 302
    assert role_of(alice.shop, Membership.objects.get(user__email="dana@example.com").user) == "manager"


@pytest.mark.parametrize(
    ("email", "role", "error"),
    [
        ("bob-viewer@alice-teas.example", "viewer", "bob-viewer@alice-teas.example is on the team already."),
        ("not an address", "viewer", "Enter a valid email address."),
        ("dana@example.com", "emperor", "Select a valid choice."),
    ],
)
def test_a_bad_invitation_is_refused_next_to_the_field_and_sends_nothing(
    alice: ShopAccess, team: Team, email: str, role: str, error: str
) -> None:
    answer = invite(team.client(team.alice), email, role)

    assert answer.status_code == 400
    assert error in answer.content.decode()
    assert not TeamInvitation.objects.exists() and not OutboxItem.objects.exists()


def test_an_owner_changes_a_role_and_removes_a_member_who_can_then_be_invited_again(
    alice: ShopAccess, team: Team
) -> None:
    owner = team.client(team.alice)
    viewer = Membership.objects.get(user=team.bob["viewer"])

    changed = owner.post(f"{TEAM}/members/{viewer.pk}/role", {"role": "responder"}, follow=True)
    assert "bob-viewer@alice-teas.example is now Responder." in changed.content.decode()
    assert role_of(alice.shop, team.bob["viewer"]) == "responder"

    removed = owner.post(f"{TEAM}/members/{viewer.pk}/remove", follow=True)
    assert "bob-viewer@alice-teas.example is off the team." in removed.content.decode()
    assert role_of(alice.shop, team.bob["viewer"]) is None
    assert team.client(team.bob["viewer"]).get(TEAM).status_code == 404

    assert invite(owner, "bob-viewer@alice-teas.example", "viewer").status_code == 302
    assert TeamInvitation.objects.get(email="bob-viewer@alice-teas.example").is_open()


def test_the_last_owner_can_be_neither_demoted_nor_removed(alice: ShopAccess, team: Team) -> None:
    owner = team.client(team.alice)
    other_owner = Membership.objects.get(user=team.bob["owner"])
    assert owner.post(f"{TEAM}/members/{other_owner.pk}/role", {"role": "manager"}).status_code == 302
    last = Membership.objects.get(user=team.alice)

    for action, data in [("role", {"role": "manager"}), ("remove", {})]:
        refused = owner.post(f"{TEAM}/members/{last.pk}/{action}", data)
        assert refused.status_code == 400
        assert "A shop needs an owner. Make someone else an owner first." in refused.content.decode()
        assert role_of(alice.shop, team.alice) == "owner"

    # With a second owner again, the first may step down.
    assert owner.post(f"{TEAM}/members/{other_owner.pk}/role", {"role": "owner"}).status_code == 302
    assert owner.post(f"{TEAM}/members/{last.pk}/role", {"role": "viewer"}).status_code == 302
    assert role_of(alice.shop, team.alice) == "viewer"


def test_an_owner_who_leaves_goes_to_their_shops(alice: ShopAccess, team: Team) -> None:
    owner = team.client(team.alice)
    left = owner.post(f"{TEAM}/members/{Membership.objects.get(user=team.alice).pk}/remove")

    assert left["Location"] == "/dashboard/"
    assert "You are not on the team of any shop yet." in owner.get("/dashboard/").content.decode()


def test_deleting_the_shop_asks_for_its_name_and_then_takes_all_its_data(alice: ShopAccess, team: Team) -> None:
    write_review(alice, "A-1", 2, title="Cold tea", body="It arrived cold.", products={"TEA-1": (2, "")})
    owner = team.client(team.alice)

    refused = owner.post("/dashboard/alice-teas/delete", {"name": "Alice"})
    assert refused.status_code == 400
    assert "That is not the shop&#x27;s name: nothing was deleted." in refused.content.decode()
    assert Shop.objects.filter(slug="alice-teas").exists()

    deleted = owner.post("/dashboard/alice-teas/delete", {"name": "Alice Teas"}, follow=True)
    assert deleted.redirect_chain[0][0] == "/dashboard/"
    assert "Alice Teas and all its data are deleted." in deleted.content.decode()
    assert not Shop.objects.filter(slug="alice-teas").exists()
    assert not Review.objects.exists() and not Transaction.objects.filter(reference="A-1").exists()
    assert Client().get("/s/alice-teas/").status_code == 404
    assert Shop.objects.filter(slug="charlie-gadgets").exists()


# --- /dashboard/: your shops ------------------------------------------------------------------


def test_the_dashboard_of_someone_in_one_shop_is_that_shop(alice: ShopAccess, team: Team) -> None:
    answer = team.client(team.bob["responder"]).get("/dashboard/")

    assert answer.status_code == 302 and answer["Location"] == "/dashboard/alice-teas/"


def test_an_agency_member_sees_their_shops_and_switches_between_them(
    alice: ShopAccess, charlie: ShopAccess, team: Team
) -> None:
    agency = person("agency@example.com")
    join(alice.shop, agency, "manager")
    join(charlie.shop, agency, "viewer")
    browser = team.client(agency)

    shops = browser.get("/dashboard/")
    text = shops.content.decode()
    assert shops.status_code == 200
    assert re.search(r'href="/dashboard/alice-teas/">Alice Teas</a>\s*<span[^>]*>Manager</span>', text)
    assert re.search(r'href="/dashboard/charlie-gadgets/">Charlie Gadgets</a>\s*<span[^>]*>Viewer</span>', text)

    overview = browser.get("/dashboard/alice-teas/").content.decode()
    switcher = overview.split('<details class="switcher">')[1].split("</details>")[0]
    assert 'href="/dashboard/alice-teas/" aria-current="page">Alice Teas' in switcher
    assert 'href="/dashboard/charlie-gadgets/">Charlie Gadgets' in switcher
    assert "Charlie Gadgets" in browser.get("/dashboard/charlie-gadgets/").content.decode()
    single = team.client(team.bob["viewer"]).get("/dashboard/alice-teas/").content.decode()
    assert 'class="switcher"' not in single
