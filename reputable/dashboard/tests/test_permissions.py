"""Every URL of a shop's dashboard, every method, every persona: the right status, no leaks.

The URLs come from the URLconf, so a new dashboard URL is tested as soon as it exists, and
fails here if it is not a `@shop_page` or takes an argument this file cannot fill.
For each URL and for GET and POST:
- anonymous: sent to the login page;
- charlie, an outsider (owner of his own shop): 404, with alice's slug; and 404 with his own
  slug and alice's objects;
- bob in each role: 403 where his role is too low for the method, otherwise neither 403 nor
  404 (nor a server error);
- nothing a refused request touched has changed.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.db import transaction as db_transaction
from django.test import Client
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, write_review
from reputable.dashboard import urls as dashboard_urls
from reputable.shops.models import Membership

pytestmark = pytest.mark.usefixtures("now")

ROLES = ["viewer", "responder", "manager", "owner"]


def shop_patterns() -> Iterator[tuple[str, Any]]:
    """(route under /dashboard/<slug>/, view) for every URL of a shop's dashboard."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback

    yield from walk(dashboard_urls.shop_urls, "")


ROUTES = sorted(shop_patterns())


def alices_objects(alice: ShopAccess, team: Team) -> dict[str, Any]:
    """A value for each URL argument the dashboard knows, naming one of alice's objects."""
    from reputable.events.models import EventType, Transaction
    from reputable.integrations.models import Connector, Import, ImportedSource
    from reputable.invitations.models import InvitationRule, Suppression
    from reputable.moderation.actions import open_dispute
    from reputable.reviews.models import ReplyTemplate, ReviewMessage
    from reputable.shops.models import ApiKey, TeamInvitation
    from reputable.webhooks.models import Delivery, Endpoint, Message

    review = write_review(alice, "A-1", 2, title="Cold tea", body="It arrived cold.")
    tx = Transaction.objects.get(shop=alice.shop, reference="A-1")
    message = ReviewMessage.objects.create(review=review, sender="shop", body="Sorry to hear that.")
    reply_template = ReplyTemplate.objects.create(shop=alice.shop, name="Thanks", body="Thank you!")
    suppression = Suppression.objects.create(shop=alice.shop, email="gone@example.nl", reason="manual")
    invite = TeamInvitation.objects.create(shop=alice.shop, email="new@example.nl", hashed_token="x" * 64)
    # An event type of alice's own: charlie has the built-in ones too.
    event_type = EventType.objects.create(shop=alice.shop, key="picked_up", name="Picked up in store")
    dispute = open_dispute(
        review=review,
        user=team.alice,
        reason="false_fact",
        passage="",
        explanation="The tea left our warehouse hot and sealed.",
        good_faith=True,
        now=timezone.now(),
    )
    values = {
        "review_id": review.pk,
        "invitation_id": tx.invitation.pk,
        "reference": tx.reference,
        "rule_id": InvitationRule.objects.filter(event_type__shop=alice.shop).first().pk,  # type: ignore[union-attr]
        "key": event_type.key,
        "kind": "invitation",
        "locale": "de",
        "api_key_id": ApiKey.objects.filter(shop=alice.shop).first().pk,  # type: ignore[union-attr]
        "membership_id": Membership.objects.get(shop=alice.shop, user=team.bob["viewer"]).pk,
        "template_id": reply_template.pk,
        "message_id": message.pk,
        "suppression_id": suppression.pk,
        "team_invitation_id": invite.pk,
        "dispute_id": dispute.pk,
        # Shopware's: the one platform with every connector URL (its manifest too).
        "connector_id": Connector.objects.create(shop=alice.shop, platform="shopware6").pk,
        "import_id": Import.objects.create(
            shop=alice.shop,
            filename="orders.csv",
            sha256="0" * 64,
            size=10,
            encoding="utf-8",
            delimiter=",",
            data_start=0,
            dry_run=True,
            status=Import.Status.DONE,
        ).pk,
        "source_id": ImportedSource.objects.create(shop=alice.shop, source="trustpilot", source_name="Trustpilot").pk,
        "provider": "kiyoh",
    }
    # A webhook endpoint with a failed delivery: one that may be redelivered.
    endpoint = Endpoint.objects.create(
        shop=alice.shop, url="https://crm.alice-teas.example/hooks", event_types=["review.created"], secret="whsec_x"
    )
    sent = Message.objects.create(shop=alice.shop, uid="msg_1", event_type="review.created", body="{}")
    delivery = Delivery.objects.create(endpoint=endpoint, message=sent, status=Delivery.Status.FAILED)
    values |= {"endpoint_id": endpoint.pk, "delivery_id": delivery.pk}
    return values


ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# Arguments that name no object of alice's: every shop has each kind of email in each language,
# and may have an account with each provider.
EVERY_SHOPS = {"kind", "locale", "provider"}


def url_of(route: str, slug: str, objects: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        assert name in objects, f"the permission tests know no value for <{name}> in {route!r}: add one"
        return str(objects[name])

    return f"/dashboard/{slug}/" + ARGUMENT.sub(fill, route)


def alices_data() -> list[str]:
    """Every row of every table, serialised: what a refused request must leave as it was."""
    rows: list[str] = []
    for model in apps.get_models():
        if model._meta.app_label in {"sessions", "dispatch"}:
            continue  # a refused request may well log, never change data
        rows.append(serializers.serialize("json", model._default_manager.order_by("pk")))
    return rows


def test_every_dashboard_url_is_a_shop_page() -> None:
    assert ROUTES, "the dashboard has no shop URLs"
    for route, view in ROUTES:
        assert hasattr(view, "dashboard_role"), f"{route!r} is not declared with @shop_page"


@pytest.mark.parametrize(("route", "view"), ROUTES, ids=[r for r, _v in ROUTES])
def test_each_dashboard_url_answers_each_persona_as_its_role_allows(
    alice: ShopAccess, team: Team, route: str, view: Any
) -> None:
    objects = alices_objects(alice, team)
    url = url_of(route, "alice-teas", objects)
    charlie = team.client(team.charlie)
    bob = {role: team.client(team.bob[role]) for role in ROLES}
    before = alices_data()

    for method in ("get", "post"):
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code in (302, 405), (method, url, anonymous.status_code)
        if anonymous.status_code == 302:
            assert anonymous["Location"].startswith("/accounts/login/")

        outsider = getattr(charlie, method)(url)
        assert outsider.status_code in (404, 405), (method, url, outsider.status_code)
        assert b"Alice" not in outsider.content
        if {m["name"] for m in ARGUMENT.finditer(route)} - EVERY_SHOPS:
            own_slug = getattr(charlie, method)(url_of(route, "charlie-gadgets", objects))
            assert own_slug.status_code in (404, 405), (method, route, own_slug.status_code)
            assert b"Alice" not in own_slug.content and b"arrived cold" not in own_slug.content

        for role in ROLES:
            if ROLES.index(role) < ROLES.index(needed_role(view, method)):
                refused = getattr(bob[role], method)(url)
                assert refused.status_code in (403, 405), (method, url, role, refused.status_code)
    assert alices_data() == before, f"a refused request changed data: {url}"

    for method in ("get", "post"):
        for role in ROLES:
            if ROLES.index(role) >= ROLES.index(needed_role(view, method)):
                with db_transaction.atomic():  # each from the same start: a POST may delete
                    allowed = getattr(bob[role], method)(url)
                    db_transaction.set_rollback(True)
                assert allowed.status_code not in (403, 404), (method, url, role, allowed.status_code)
                assert allowed.status_code < 500, (method, url, role, allowed.status_code)


def needed_role(view: Any, method: str) -> str:
    return view.dashboard_role if method == "get" else view.dashboard_write_role
