"""`reputable recount [--shop SLUG ...]`: rebuild the analytics' daily counters from the rows.

For an installation upgrading from a version without counters (they start at zero), or to
repair them; see `reputable.reviews.counters.recount` for what it can and cannot date.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reputable.reviews.counters import recount
from reputable.shops.models import Shop


class Command(BaseCommand):
    help = "Rebuild the daily counters that analytics read, from the stored orders, invitations and reviews."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", action="append", metavar="SLUG", help="only this shop (repeatable; default all)")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = options["shop"]
        shops = Shop.objects.order_by("slug")
        if slugs:
            shops = shops.filter(slug__in=slugs)
            if missing := sorted(set(slugs) - {shop.slug for shop in shops}):
                raise CommandError(f"no shop {', '.join(missing)}")
        for shop in shops:
            rows = recount(shop=shop)
            self.stdout.write(f"{shop.slug}: {rows} counter rows")
