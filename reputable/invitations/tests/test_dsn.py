"""Bounces for plain SMTP: invitations go out with a tagged VERP envelope sender, and
`reputable bounces` reads the DSNs sent there from a Maildir or an IMAP mailbox."""

import io
import mailbox
import re
import shlex
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from reputable.conftest import ShopAccess, SmtpSink, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command as Dispatcher
from reputable.invitations import verp
from reputable.invitations.models import Invitation, Suppression

pytestmark = pytest.mark.usefixtures("now")

CUSTOMER = "jan@example.nl"  # the address checkout() invites


@pytest.fixture
def bounce_address(settings: Any) -> None:
    settings.BOUNCE_ADDRESS = "bounces@reviews.example"


@pytest.fixture
def sent(alice: ShopAccess, dispatcher: Dispatcher, smtp: SmtpSink, now: Any, bounce_address: None) -> Invitation:
    """Jan's invitation, sent: its envelope sender is its VERP address."""
    alice.post("/api/v1/events", checkout())
    invitation = Invitation.objects.get(email=CUSTOMER)
    now.move_to(invitation.send_at)
    assert run_dispatcher(dispatcher) >= 1
    invitation.refresh_from_db()
    return invitation


def dsn(to: str, *, status: str = "5.1.1", action: str = "failed", diagnostic: str = "") -> bytes:
    """A DSN as Postfix writes it (RFC 3464): a multipart/report with a human part, the
    message/delivery-status and the returned message's headers."""
    diagnostic = diagnostic or f"smtp; 550 {status} <{CUSTOMER}>: Recipient address rejected: User unknown"
    return f"""Return-Path: <>
Delivered-To: {to}
Received: by mx.reviews.example (Postfix) id 3F2A1C0001; Mon, 23 Nov 2026 10:00:02 +0000 (UTC)
Date: Mon, 23 Nov 2026 10:00:02 +0000 (UTC)
From: MAILER-DAEMON@mx.example.nl (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"
Message-Id: <20261123100002.3F2A1C0001@mx.example.nl>

This is a MIME-encapsulated message.

--B0UND
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UND
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.nl
X-Postfix-Queue-ID: 3F2A1C0001
Arrival-Date: Mon, 23 Nov 2026 10:00:01 +0000 (UTC)

Final-Recipient: rfc822; {CUSTOMER}
Original-Recipient: rfc822;{CUSTOMER}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.nl
Diagnostic-Code: {diagnostic}

--B0UND
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Alice Teas <reviews@localhost>
To: {CUSTOMER}
Subject: How was your order at Alice Teas?

--B0UND--
""".replace("\n", "\r\n").encode()


def maildir_with(tmp_path: Path, *messages: bytes) -> Path:
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path, create=True)
    for message in messages:
        box.add(mailbox.MaildirMessage(message))  # delivered to new/, unseen
    return path


def bounces(*args: str) -> str:
    out = io.StringIO()
    call_command("bounces", *args, stdout=out)
    return out.getvalue()


def test_an_invitation_goes_out_with_its_tagged_bounce_address_as_envelope_sender(
    sent: Invitation, smtp: SmtpSink
) -> None:
    assert smtp.senders == [verp.return_path(sent.pk)]
    assert re.fullmatch(rf"bounces\+{sent.pk}-[0-9a-f]{{16}}@reviews\.example", smtp.senders[0])
    assert "reviews@localhost" in smtp.messages[0]["From"]  # the From header stays


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(
    alice: ShopAccess, dispatcher: Dispatcher, smtp: SmtpSink, now: Any
) -> None:
    alice.post("/api/v1/events", checkout())
    now.move_to(Invitation.objects.get().send_at)
    run_dispatcher(dispatcher)
    assert smtp.senders == ["reviews@localhost"]


def test_a_permanent_failure_in_the_maildir_suppresses_the_address_with_the_diagnostic(
    sent: Invitation, smtp: SmtpSink, tmp_path: Path
) -> None:
    path = maildir_with(tmp_path, dsn(smtp.senders[0]))
    assert "1 message(s) read, 1 address(es) suppressed" in bounces("--maildir", str(path))
    suppression = Suppression.objects.get(email=CUSTOMER)
    assert (suppression.shop, suppression.reason, suppression.source) == (None, "bounced", "dsn")
    assert "550 5.1.1 <jan@example.nl>: Recipient address rejected: User unknown" in suppression.detail
    # The message is kept, marked seen in cur/, and not read again.
    box = mailbox.Maildir(path, create=False)
    assert [(message.get_subdir(), message.get_flags()) for message in box] == [("cur", "S")]
    assert "0 message(s) read" in bounces("--maildir", str(path))


def test_a_temporary_failure_and_a_forged_tag_suppress_nothing(
    sent: Invitation, smtp: SmtpSink, tmp_path: Path
) -> None:
    tagged = smtp.senders[0]
    forged = re.sub(r"-[0-9a-f]{16}@", "-0123456789abcdef@", tagged)
    other_invitation = tagged.replace(f"+{sent.pk}-", f"+{sent.pk + 1}-")
    path = maildir_with(
        tmp_path,
        dsn(tagged, status="4.2.2", action="delayed", diagnostic="smtp; 452 4.2.2 Mailbox full"),
        dsn(forged),
        dsn(other_invitation),
        dsn("bounces@reviews.example"),
        b"From: someone@example.org\r\nTo: bounces@reviews.example\r\nSubject: hello\r\n\r\nNot a DSN.\r\n",
    )
    summary = bounces("--maildir", str(path))
    assert "5 message(s) read, 0 address(es) suppressed, 1 temporary failure(s) ignored, 4 not a bounce" in summary
    assert not Suppression.objects.exists()
    sent.refresh_from_db()
    assert sent.status == Invitation.Status.PENDING


def test_a_permanent_failure_stops_the_pending_reminders(sent: Invitation, smtp: SmtpSink, tmp_path: Path) -> None:
    assert sent.status == Invitation.Status.PENDING  # the reminder is still to come
    bounces("--maildir", str(maildir_with(tmp_path, dsn(smtp.senders[0]))))
    sent.refresh_from_db()
    assert sent.status == Invitation.Status.SUPPRESSED


def test_bad_arguments_exit_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="one of the arguments --maildir --imap is required"):
        bounces()
    with pytest.raises(CommandError, match="is not a Maildir"):
        bounces("--maildir", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="is not an imap:// or imaps:// URL"):
        bounces("--imap", "pop3://user:pw@127.0.0.1/INBOX")
    with pytest.raises(CommandError, match="needs a user, a password and a host"):
        bounces("--imap", "imap://127.0.0.1/INBOX")


# --- IMAP ----------------------------------------------------------------------------------------


@dataclass
class FakeImap:
    """A tiny IMAP4rev1 server on loopback: the commands imaplib sends for `reputable bounces`."""

    user: str
    password: str
    messages: dict[int, bytes]
    seen: set[int] = field(default_factory=set)
    port: int = 0


class _Handler(socketserver.StreamRequestHandler):
    server: Any

    def reply(self, text: str | bytes) -> None:
        self.wfile.write(text.encode() if isinstance(text, str) else text)

    def handle(self) -> None:
        box: FakeImap = self.server.box
        self.reply("* OK IMAP4rev1 fake ready\r\n")
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            tag, command, *args = line.split(" ")
            command = " ".join([command, args.pop(0)]).upper() if command.upper() == "UID" else command.upper()
            if command == "CAPABILITY":
                self.reply(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
            elif command == "LOGIN":
                ok = shlex.split(" ".join(args)) == [box.user, box.password]  # the password is quoted
                self.reply(f"{tag} OK logged in\r\n" if ok else f"{tag} NO [AUTHENTICATIONFAILED] no\r\n")
            elif command == "SELECT":
                self.reply(f"* {len(box.messages)} EXISTS\r\n{tag} OK [READ-WRITE] selected\r\n")
            elif command == "UID SEARCH":
                unseen = " ".join(str(uid) for uid in sorted(box.messages) if uid not in box.seen)
                self.reply(f"* SEARCH {unseen}\r\n{tag} OK searched\r\n")
            elif command == "UID FETCH":
                uid = int(args[0])
                body = box.messages[uid]
                self.reply(f"* {uid} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
                self.reply(f"{tag} OK fetched\r\n")
            elif command == "UID STORE":
                uid = int(args[0])
                if args[1:] == ["+FLAGS", "(\\Seen)"]:
                    box.seen.add(uid)
                self.reply(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))\r\n{tag} OK stored\r\n")
            elif command == "LOGOUT":
                self.reply(f"* BYE\r\n{tag} OK bye\r\n")
                return
            else:
                self.reply(f"{tag} BAD unknown command\r\n")


@pytest.fixture
def imap_server() -> Iterator[tuple[FakeImap, socketserver.ThreadingTCPServer]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    box = FakeImap(user="bounces", password="p@ss word", messages={})
    box.port = server.server_address[1]
    server.box = box  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box, server
    finally:
        server.shutdown()
        server.server_close()


def test_a_permanent_failure_in_the_imap_box_suppresses_and_is_marked_seen(
    sent: Invitation, smtp: SmtpSink, imap_server: tuple[FakeImap, Any]
) -> None:
    box, _server = imap_server
    box.messages = {7: dsn(smtp.senders[0]), 9: dsn(smtp.senders[0], status="4.4.1", action="delayed")}
    url = f"imap://bounces:p%40ss%20word@127.0.0.1:{box.port}/INBOX"
    summary = bounces("--imap", url)
    assert "2 message(s) read, 1 address(es) suppressed, 1 temporary failure(s) ignored" in summary
    assert Suppression.objects.get(email=CUSTOMER).reason == "bounced"
    assert box.seen == {7, 9}
    assert "0 message(s) read" in bounces("--imap", url)


def test_a_refused_imap_login_exits_with_a_clear_message(imap_server: tuple[FakeImap, Any], db: None) -> None:
    box, _server = imap_server
    with pytest.raises(CommandError, match="refused the login"):
        bounces("--imap", f"imap://bounces:wrong@127.0.0.1:{box.port}/INBOX")


def test_a_tag_names_one_invitation_and_only_with_the_key(settings: Any, bounce_address: None) -> None:
    address = verp.return_path(41)
    assert verp.invitation_id(address) == 41
    assert verp.invitation_id(address.upper()) == 41  # servers that fold the local part
    settings.SECRET_KEY = "another installation's key"
    assert verp.invitation_id(address) is None
