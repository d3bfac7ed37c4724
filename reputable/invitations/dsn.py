"""Bounces for plain SMTP: delivery status notifications (RFC 3464) sent to the invitations'
VERP addresses (see reputable.invitations.verp), read from a Maildir or an IMAP mailbox by
`reputable bounces`.

A DSN is a multipart/report; its message/delivery-status part has one block per recipient
with Action, Status and Diagnostic-Code. A permanent failure (Status 5.x.x) suppresses the
invitation's address for every shop, the diagnostic kept as the suppression's detail; a
temporary one (4.x.x, a delay) is ignored: the server still tries. The invitation is found
by the tag of the address the DSN was delivered to (Delivered-To, X-Original-To,
Envelope-To, To), never by anything else the message says: only a tag made with SECRET_KEY
names an invitation, so a forged DSN suppresses nothing.

Every message read is marked seen (Maildir: moved to cur/ with the S flag; IMAP: \\Seen)
and stays where it is for a person to look at; messages already seen are not read again.
"""

import email
import email.policy
import imaplib
import mailbox
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reputable.invitations import verp
from reputable.invitations.actions import suppress_address
from reputable.invitations.models import Invitation, Suppression
from reputable.lib.emails import AddressError

# The headers that say where the message was delivered, the envelope recipient first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")


class Outcome(StrEnum):
    SUPPRESSED = "suppressed"  # a permanent failure: the address no longer receives invitations
    TEMPORARY = "temporary"  # a delay or a temporary failure: ignored
    NOT_OURS = "not ours"  # not a DSN, or not to a valid tag of an existing invitation


@dataclass(frozen=True)
class Failure:
    """One recipient block of a DSN."""

    recipient: str  # Final-Recipient, without its address type
    status: str  # "5.1.1"
    diagnostic: str  # Diagnostic-Code, without its type: "550 5.1.1 user unknown"

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5.")

    @property
    def detail(self) -> str:
        return f"{self.diagnostic or self.status} (DSN for {self.recipient}, status {self.status})"


def _typed(value: str) -> str:
    """A DSN field's value without its type: "rfc822; a@b" is "a@b"."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def failures(message: Message) -> list[Failure]:
    """The failed recipients a DSN reports (none for any other message)."""
    if message.get_content_type() != "multipart/report":
        return []
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The email package gives the per-message block first, then one per recipient.
        payload = part.get_payload()
        blocks = [block for block in payload[1:] if isinstance(block, Message)] if isinstance(payload, list) else []
        for block in blocks:
            action, status = str(block.get("Action", "")).strip().lower(), str(block.get("Status", "")).strip()
            if action == "failed" or status.startswith(("4.", "5.")):
                found.append(
                    Failure(
                        recipient=_typed(str(block.get("Final-Recipient", ""))),
                        status=status,
                        diagnostic=_typed(str(block.get("Diagnostic-Code", ""))),
                    )
                )
    return found


def invitation_of(message: Message) -> Invitation | None:
    """The invitation whose VERP address the message was delivered to."""
    for header in RECIPIENT_HEADERS:
        for _name, address in getaddresses([str(value) for value in message.get_all(header, [])]):
            pk = verp.invitation_id(address)
            if pk is not None:
                return Invitation.objects.filter(pk=pk).first()
    return None


def handle(raw: bytes) -> Outcome:
    """Read one message and suppress what it calls for."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    failed = failures(message)
    permanent = [failure for failure in failed if failure.permanent]
    invitation = invitation_of(message) if failed else None
    if invitation is None:
        return Outcome.NOT_OURS
    if not permanent:
        return Outcome.TEMPORARY
    try:
        suppress_address(
            email=invitation.email,  # where the message went; a forwarded Final-Recipient is in the detail
            reason=Suppression.Reason.BOUNCED,
            shop=None,  # a hard bounce binds every shop (see Suppression.shop)
            detail=permanent[0].detail,
            source="dsn",
        )
    except AddressError:
        return Outcome.NOT_OURS
    return Outcome.SUPPRESSED


# --- mailboxes ----------------------------------------------------------------------------------


class MailboxError(ValueError):
    """A mailbox that cannot be read: the command's argument is wrong."""


def read_maildir(path: str) -> Counter[Outcome]:
    """Handle every message of the Maildir at `path` not seen yet; mark each seen (cur/, S)."""
    if not all((Path(path) / sub).is_dir() for sub in ("cur", "new", "tmp")):
        raise MailboxError(f"{path} is not a Maildir (it needs cur/, new/ and tmp/)")
    box = mailbox.Maildir(path, create=False)
    outcomes: Counter[Outcome] = Counter()
    for key in sorted(box.keys()):  # a list taken before the loop moves messages
        message = box[key]
        if "S" in message.get_flags():
            continue
        outcomes[handle(box.get_bytes(key))] += 1
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    return outcomes


@dataclass(frozen=True)
class ImapBox:
    """imap://user:password@host:port/MAILBOX (imaps:// over TLS); the user and password
    percent-encoded, the mailbox INBOX when none is given."""

    tls: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    @classmethod
    def parse(cls, url: str) -> "ImapBox":
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps"):
            raise MailboxError(f"{url!r} is not an imap:// or imaps:// URL")
        if not parts.hostname or parts.username is None or parts.password is None:
            raise MailboxError("the IMAP URL needs a user, a password and a host: imaps://user:password@host/INBOX")
        try:
            port = parts.port or (993 if parts.scheme == "imaps" else 143)
        except ValueError as error:
            raise MailboxError(f"bad port in the IMAP URL: {error}") from None
        return cls(
            tls=parts.scheme == "imaps",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
        )

    def messages(self, imap: imaplib.IMAP4) -> Iterator[tuple[str, bytes]]:
        """(uid, message) of each unseen message; BODY.PEEK leaves it unseen until handled."""
        _typ, found = imap.uid("SEARCH", "UNSEEN")
        for uid in found[0].decode().split():
            _typ, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            literal = next((item[1] for item in data if isinstance(item, tuple)), None)
            if literal is not None:
                yield uid, literal


def read_imap(url: str, *, timeout: float = 30) -> Counter[Outcome]:
    """Handle every unseen message of the IMAP mailbox at `url`; mark each \\Seen."""
    box = ImapBox.parse(url)
    connect = imaplib.IMAP4_SSL if box.tls else imaplib.IMAP4
    outcomes: Counter[Outcome] = Counter()
    try:
        imap = connect(box.host, box.port, timeout=timeout)
    except OSError as error:
        raise MailboxError(f"cannot connect to {box.host}:{box.port}: {error}") from None
    try:
        try:
            imap.login(box.user, box.password)
        except imaplib.IMAP4.error as error:
            raise MailboxError(f"the IMAP server refused the login: {error}") from None
        typ, _data = imap.select(box.mailbox)
        if typ != "OK":
            raise MailboxError(f"no mailbox {box.mailbox!r} on the IMAP server")
        for uid, raw in box.messages(imap):
            outcomes[handle(raw)] += 1
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        imap.logout()
    return outcomes
