import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction as db_transaction
from django.urls import reverse

from reputable.dashboard.accounts import login_url, user_for_email
from reputable.lib.emails import valid_address
from reputable.shops.actions import create_shop


class Command(BaseCommand):
    help = "Create a shop with its event types, default rule and a first API key (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", default="DE", help="ISO 3166 code for public holidays (default DE)")
        parser.add_argument("--timezone", default="Europe/Berlin")
        parser.add_argument("--locale", default="en", choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument(
            "--owner",
            metavar="EMAIL",
            help="make this address the shop's owner (creating the account if needed) and print a one-time login link",
        )
        parser.add_argument(
            "--json", action="store_true", help='print {"slug": ..., "api_key": ...} (and "login_url" with --owner)'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty")
        owner_email = (options["owner"] or "").strip().lower()
        if options["owner"] is not None and not valid_address(owner_email):
            raise CommandError(f"--owner: {options['owner']!r} is not a valid email address")
        try:
            with db_transaction.atomic():  # a shop that fails stores no account either
                owner = user_for_email(owner_email)[0] if owner_email else None
                shop, key = create_shop(
                    name=name,
                    country=options["country"].upper(),
                    timezone=options["timezone"],
                    locale=options["locale"],
                    owner=owner,
                )
        except ValidationError as error:
            details = "; ".join(f"--{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            raise CommandError(details) from None
        printed: dict[str, str] = {"slug": shop.slug, "api_key": key}
        if owner is not None:
            printed["login_url"] = login_url(owner)
        if options["json"]:
            self.stdout.write(json.dumps(printed))
            return
        self.stdout.write(f"shop:    {shop.slug}\napi key: {key}\n(the key is shown only this once)")
        if owner is not None:
            hours = settings.PASSWORD_RESET_TIMEOUT // 3600
            login_page = settings.BASE_URL + reverse("account_login")
            self.stdout.write(
                f"owner:   {owner.email}\nlog in:  {printed['login_url']}\n"
                f"(the link works once, within {hours} hours; after that, log in at {login_page})"
            )
