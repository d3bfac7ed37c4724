"""`reputable moderator add|remove EMAIL`, `reputable moderator list`: who may use the
moderators' console (/moderation/). A moderator is platform staff with the
`moderation.moderator` permission, not a role in a shop; superusers have it anyway."""

from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reputable.moderation.actions import is_moderator, moderators


def _permission() -> Permission:
    return Permission.objects.get(codename="moderator", content_type__app_label="moderation")


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email.strip()).order_by("pk").first()
    if user is None:
        raise CommandError(f"no account with the address {email!r}: the person signs up first, then run this again")
    return user


class Command(BaseCommand):
    help = "Grant or revoke the moderator permission, or list the moderators."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{add,remove,list}")
        actions.add_parser("add", help="make the account with this address a moderator").add_argument("email")
        actions.add_parser("remove", help="take the moderator permission away").add_argument("email")
        actions.add_parser("list", help="print the moderators' addresses")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for user in moderators().order_by("email"):
                self.stdout.write(user.email + (" (superuser)" if user.is_superuser else ""))
            return
        user = _user(options["email"])
        if action == "add":
            user.user_permissions.add(_permission())
            self.stdout.write(f"{user.email} is a moderator")
            return
        user.user_permissions.remove(_permission())
        if is_moderator(User.objects.get(pk=user.pk)):  # fresh: has_perm caches
            self.stdout.write(f"{user.email} is still a moderator: a superuser, or through a group")
        else:
            self.stdout.write(f"{user.email} is no longer a moderator")
