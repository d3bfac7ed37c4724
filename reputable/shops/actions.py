"""Creating shops with everything a shop needs to receive its first event."""

from django.db import transaction as db_transaction
from django.utils.text import slugify

from reputable.events.models import BUILTIN_EVENT_TYPES, EventType
from reputable.invitations.models import InvitationRule
from reputable.shops.models import ApiKey, Shop


def unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "shop"
    slug, n = base, 1
    while Shop.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_shop(
    *, name: str, country: str = "DE", timezone: str = "Europe/Berlin", locale: str = "en"
) -> tuple[Shop, str]:
    """A shop with the built-in event types, the default checkout rule and a first API key.

    Returns the shop and the raw API key, which is shown this once and never stored.
    """
    with db_transaction.atomic():
        shop = Shop(name=name, slug=unique_slug(name), country=country, timezone=timezone, default_locale=locale)
        shop.full_clean()
        shop.save()
        for key, (type_name, is_stop, active) in BUILTIN_EVENT_TYPES.items():
            event_type = EventType.objects.create(
                shop=shop, key=key, name=type_name, is_stop=is_stop, is_active=active, is_builtin=True
            )
            if key == "checkout":
                # Seven days after the order, one reminder a week later.
                InvitationRule.objects.create(event_type=event_type)
        _key, raw = ApiKey.issue(shop=shop, name="first key")
    return shop, raw
