"""What the tests of the compatible endpoints (The Feedback Company, eTrusted) share."""

from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation
from reputable.shops.models import Shop


def stored(shop: Shop) -> tuple[int, int, int]:
    """How many transactions, events and invitations `shop` has."""
    return (
        Transaction.objects.filter(shop=shop).count(),
        Event.objects.filter(shop=shop).count(),
        Invitation.objects.filter(shop=shop).count(),
    )
