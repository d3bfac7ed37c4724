"""The demo shop: a newcomer's first look at the whole loop, with reviews to look at."""

import datetime as dt
import random

from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.dashboard.accounts import user_for_email
from reputable.dashboard.notifications import NEW_REVIEW
from reputable.dispatch.models import OutboxItem
from reputable.events.actions import Recorded, record_events
from reputable.events.schemas import EventIn
from reputable.invitations.models import Invitation, InvitationRule
from reputable.reviews.actions import ReviewInput, submit_review
from reputable.reviews.models import Product
from reputable.shops.actions import create_shop
from reputable.shops.models import ApiKey, Membership, Shop

DEMO_SLUG = "demo-tea-shop"
# The demo shop's owner, who logs in to the dashboard with this password: the demo runs on the
# newcomer's own machine, and a password they can read in the README beats a secure one.
DEMO_OWNER = "demo@example.com"
DEMO_PASSWORD = "demo"
PRODUCTS = [
    {"sku": "TEA-SENCHA", "name": "Sencha green tea", "brand": "Demo Tea Shop"},
    {"sku": "TEA-ASSAM", "name": "Assam breakfast tea", "brand": "Demo Tea Shop"},
    {"sku": "POT-GLASS", "name": "Glass teapot 1 l", "brand": "Demo Tea Shop"},
]
# Honest samples: the demo shows that low ratings are published like any other.
SAMPLES = [
    ("Anna", "Berger", "de", 5, "Wunderbar frisch", "Schnell geliefert, der Sencha ist hervorragend."),
    ("Jan", "Visser", "nl", 4, "Goede thee", "Lekkere thee, verpakking kon iets beter."),
    ("Kasia", "Nowak", "pl", 5, "Polecam", "Świetna herbata i szybka wysyłka."),
    ("Tom", "Baker", "en", 2, "Teapot arrived cracked", "The tea is fine but the glass teapot arrived cracked."),
    ("Lena", "Schmidt", "de", 5, "", "Immer wieder gerne."),
    ("Pieter", "de Vries", "nl", 3, "Redelijk", "Levering duurde langer dan verwacht."),
    ("Sam", "Jones", "en", 4, "Nice breakfast tea", "Strong and malty, just as described."),
    ("Ola", "Wiśniewska", "pl", 1, "Brak odpowiedzi", "Zamówienie przyszło niekompletne, obsługa nie odpowiadała."),
    ("Max", "Müller", "de", 4, "Gut", "Guter Tee zum fairen Preis."),
    ("Emma", "Smith", "en", 5, "Lovely shop", "Beautiful packaging and a handwritten note."),
]


def prepare_demo() -> tuple[Shop, str]:
    """The demo shop (created with sample reviews on first use, owned by DEMO_OWNER) and a fresh
    API key for it."""
    with db_transaction.atomic():
        shop = Shop.objects.filter(slug=DEMO_SLUG).first()
        if shop is None:
            shop, _first_key = create_shop(name="Demo Tea Shop", country="DE", timezone="Europe/Berlin", locale="en")
            shop.slug = DEMO_SLUG
            shop.frequency_cap_days = 0  # the newcomer may post several orders with one address
            shop.save()
            # Invite at once, remind a day later: the demo shows the loop in minutes, not weeks.
            InvitationRule.objects.filter(event_type__shop=shop, event_type__key="checkout").update(
                delay_amount=0, delay_unit="minutes", reminder_interval_amount=1, reminder_interval_unit="days"
            )
            _add_sample_reviews(shop)
            # The samples are history, not news: their owner gets no emails about them.
            OutboxItem.objects.filter(shop=shop, kind=NEW_REVIEW).delete()
        _add_owner(shop)
        _api_key, raw = ApiKey.issue(shop=shop, name=f"demo {timezone.now():%Y-%m-%d %H:%M}")
    return shop, raw


def _add_owner(shop: Shop) -> None:
    """DEMO_OWNER owns the shop and logs in with DEMO_PASSWORD, even if it was changed since."""
    owner, _created = user_for_email(DEMO_OWNER)
    if not owner.check_password(DEMO_PASSWORD):
        owner.set_password(DEMO_PASSWORD)
        owner.save(update_fields=["password"])
    Membership.objects.get_or_create(shop=shop, user=owner, defaults={"role": Membership.Role.OWNER})


def _add_sample_reviews(shop: Shop) -> None:
    rng = random.Random(7)
    now = timezone.now()
    for n, (first, last, locale, stars, title, body) in enumerate(SAMPLES):
        ordered = now - dt.timedelta(days=5 * (len(SAMPLES) - n) + 3, hours=rng.randint(0, 12))
        bought = rng.sample(PRODUCTS, k=rng.randint(1, 2))
        event = EventIn.model_validate(
            {
                "type": "checkout",
                "transaction": {"reference": f"SAMPLE-{1000 + n}", "date": ordered.isoformat()},
                "customer": {
                    "email": f"sample{n}@example.com",
                    "first_name": first,
                    "last_name": last,
                    "locale": locale,
                },
                "products": bought,
            }
        )
        [recorded] = record_events(shop=shop, events=[event])
        assert isinstance(recorded, Recorded), recorded
        invitation = Invitation.objects.get(transaction__shop=shop, transaction__reference=recorded.reference)
        products = Product.objects.filter(shop=shop, sku__in=[p["sku"] for p in bought])
        submit_review(
            invitation=invitation,
            data=ReviewInput(
                rating=stars,
                delivery_rating=min(5, stars + 1),
                title=title,
                body=body,
                products={p.pk: (max(1, min(5, stars + rng.choice([-1, 0, 0, 1]))), "") for p in products},
            ),
            now=ordered + dt.timedelta(days=2),
        )
