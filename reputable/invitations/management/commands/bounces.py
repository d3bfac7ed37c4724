from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reputable.invitations import dsn


class Command(BaseCommand):
    help = (
        "Read the bounces (DSNs) sent to BOUNCE_ADDRESS from a Maildir or an IMAP mailbox: a permanent"
        " failure suppresses the invitation's address. Each message read is marked seen and kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--maildir", metavar="PATH", help="a Maildir (with cur/, new/ and tmp/)")
        where.add_argument(
            "--imap", metavar="URL", help="imaps://user:password@host:port/MAILBOX (imap:// without TLS)"
        )

    def handle(self, *args: Any, maildir: str | None = None, imap: str | None = None, **options: Any) -> None:
        try:
            outcomes = dsn.read_maildir(maildir) if maildir is not None else dsn.read_imap(imap or "")
        except dsn.MailboxError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"bounces: {outcomes.total()} message(s) read, {outcomes[dsn.Outcome.SUPPRESSED]} address(es)"
            f" suppressed, {outcomes[dsn.Outcome.TEMPORARY]} temporary failure(s) ignored,"
            f" {outcomes[dsn.Outcome.NOT_OURS]} not a bounce of an invitation"
        )
