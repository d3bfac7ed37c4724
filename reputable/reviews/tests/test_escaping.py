"""Every user-supplied text is escaped on every page: shop reports, customer writes."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product

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
    pages = {
        "form": form_page,
        "edit form": client.get(link).content.decode(),
        "profile": profile_of(alice),
        "unsubscribe": client.get(f"/u/{Invitation.objects.get().token}").content.decode(),
    }
    now.move_to(MONDAY + dt.timedelta(days=30))
    pages["closed"] = client.get(link).content.decode()

    for name, html in pages.items():
        for fragment in LIVE:
            assert fragment not in html, f"{fragment!r} is live on the {name} page"
    assert "&lt;" in pages["profile"]


def profile_of(shop: ShopAccess) -> str:
    slug = shop.api.get("/api/v1/shop").json()["slug"]
    return Client().get(f"/s/{slug}/?lang=en").content.decode()
