"""Every user-supplied text is escaped on every page: shop reports, customer writes, the shop's
team replies."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from reputable.conftest import MONDAY, ShopAccess, checkout, join, person
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product, Review

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<a href=javascript:alert(1)>click</a>",
    "</textarea><svg onload=alert(1)>",
]
LIVE = ["<script>", "<img src=x", "<a href=javascript", "<svg onload", "</textarea><svg"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_is_live_on_the_form_the_profile_or_the_closed_page(
    alice: ShopAccess, now: Any, payload: str
) -> None:
    alice.patch("/api/v1/shop", {"name": f"Tea {payload}"})
    alice.post(
        "/api/v1/events",
        checkout(
            customer={"email": "jan@example.nl", "first_name": payload, "last_name": payload, "locale": "en"},
            products=[{"sku": "P-1", "name": payload, "image_url": "https://img.example/p.png"}],
        ),
    )
    link = f"/r/{Invitation.objects.get().token}"
    product = Product.objects.get()
    client = Client()
    form_page = client.get(link).content.decode()
    client.post(
        link,
        {
            "rating": "3",
            "title": payload[:120],
            "body": payload,
            "name_display": "first_name_initial",
            f"product_{product.pk}_rating": "2",
            f"product_{product.pk}_body": payload,
        },
    )
    review = Review.objects.get()
    responder = Client()
    user = person("responder@alice-teas.example")
    join(alice.shop, user, "responder")
    responder.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    replied = responder.post(f"/dashboard/{alice.shop.slug}/reviews/{review.pk}", {"body": f"Reply {payload}"})
    assert replied.status_code == 302
    slug = alice.shop.slug
    pages = {
        "form": form_page,
        "edit form": client.get(link).content.decode(),
        "profile": profile_of(alice),
        "review page": client.get(f"/s/{slug}/reviews/{review.pk}").content.decode(),
        "product profile": client.get(f"/s/{slug}/", {"sku": "P-1"}).content.decode(),
        "unsubscribe": client.get(f"/u/{Invitation.objects.get().token}").content.decode(),
        "inbox": responder.get(f"/dashboard/{slug}/reviews").content.decode(),
        "dashboard review": responder.get(f"/dashboard/{slug}/reviews/{review.pk}").content.decode(),
    }
    now.move_to(MONDAY + dt.timedelta(days=30))
    pages["closed"] = client.get(link).content.decode()

    for name, html in pages.items():
        for fragment in LIVE:
            assert fragment not in html, f"{fragment!r} is live on the {name} page"
    assert "&lt;" in pages["profile"]
    for name in ("profile", "review page", "product profile", "inbox", "dashboard review"):
        assert "Reply " + escape(payload) in pages[name], f"the reply is not shown as text on the {name} page"


def profile_of(shop: ShopAccess) -> str:
    slug = shop.api.get("/api/v1/shop").json()["slug"]
    return Client().get(f"/s/{slug}/?lang=en").content.decode()
