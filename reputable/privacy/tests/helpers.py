"""What the privacy tests share: a customer's whole history with a shop, and the search of
every text column of the database."""

from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.functions import Cast
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, checkout, write_review
from reputable.invitations.models import Invitation


def search_every_text_column(text: str) -> list[str]:
    """Every column of every table of every installed app that holds `text` (case-insensitive):
    "app.Model.field" for each. Char, text, email, slug and JSON columns (JSON cast to text)."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        rows = model._base_manager.all()
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                hit = rows.annotate(as_text=Cast(field.name, models.TextField())).filter(as_text__icontains=text)
            elif isinstance(field, (models.CharField, models.TextField)):
                hit = rows.filter(**{f"{field.name}__icontains": text})
            else:
                continue
            if hit.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return sorted(found)


def customer_history(alice: ShopAccess, team: Team, reference: str, email: str) -> Any:
    """A customer of alice's who ordered, reviewed (with a product), got the shop's public reply
    and a private message naming their address, and answered it. Returns the review."""
    review = write_review(
        alice,
        reference,
        2,
        title="Cold tea",
        body="It arrived cold.",
        products={"TEA-1": (3, "Fine leaves")},
        customer={"email": email, "first_name": "Jan", "last_name": "Visser"},
    )
    manager = team.client(team.bob["manager"])
    page = f"/dashboard/{alice.shop.slug}/reviews/{review.pk}"
    assert manager.post(page, {"body": "We are sorry, Jan."}).status_code == 302
    message = f"We wrote to {email} about a refund."
    assert manager.post(f"{page}/messages", {"body": message}).status_code == 302
    token = Invitation.objects.get(pk=review.invitation_id).token
    assert Client().post(f"/r/{token}/messages", {"body": "Thank you, that is fine."}).status_code in (200, 302)
    return review


def order(alice: ShopAccess, reference: str, email: str) -> None:
    """An order of alice's by `email`, reported by her shop system (invited by the default rule)."""
    event = checkout(
        reference,
        transaction={"reference": reference, "date": timezone.now().isoformat()},
        customer={"email": email, "first_name": "Piet", "last_name": "Jansen", "locale": "nl"},
    )
    assert alice.post("/api/v1/events", event).status_code == 202
