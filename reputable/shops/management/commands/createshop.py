import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reputable.shops.actions import create_shop


class Command(BaseCommand):
    help = "Create a shop with its event types, default rule and a first API key (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", default="DE", help="ISO 3166 code for public holidays (default DE)")
        parser.add_argument("--timezone", default="Europe/Berlin")
        parser.add_argument("--locale", default="en", choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument("--json", action="store_true", help='print {"slug": ..., "api_key": ...}')

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty")
        try:
            shop, key = create_shop(
                name=name, country=options["country"].upper(), timezone=options["timezone"], locale=options["locale"]
            )
        except ValidationError as error:
            details = "; ".join(f"--{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            raise CommandError(details) from None
        if options["json"]:
            self.stdout.write(json.dumps({"slug": shop.slug, "api_key": key}))
        else:
            self.stdout.write(f"shop:    {shop.slug}\napi key: {key}\n(the key is shown only this once)")
