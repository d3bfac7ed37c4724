"""A local mailbox: the default mail backend keeps each message as an .eml file, and the
demo shows them at /demo/mailbox/ so a newcomer can open an invitation and click it.

The page exists only when MAILBOX_PAGE is on (`reputable demo` turns it on): it shows
every customer's email to whoever opens it.
"""

import email
import email.policy
import re
from collections.abc import Sequence
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import get_random_string

from reputable.lib.emails import as_html

NAME = re.compile(r"^[0-9]{8}T[0-9]{6}-[a-z0-9]{8}\.eml$")


class MailboxBackend(BaseEmailBackend):
    def __init__(self, *, path: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path or settings.DATA_DIR / "mailbox")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.path.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S}-{get_random_string(8, 'abcdefghijklmnopqrstuvwxyz0123456789')}.eml"
            (self.path / name).write_bytes(message.message().as_bytes())
        return len(email_messages)


def _folder() -> Path:
    if not settings.MAILBOX_PAGE:
        raise Http404
    return Path(settings.MAILERS["default"].get("OPTIONS", {}).get("path") or settings.DATA_DIR / "mailbox")


def _read(path: Path) -> ParsedMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def inbox(request: HttpRequest) -> HttpResponse:
    folder = _folder()
    files = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.exists() else []
    messages = [{"name": f.name, "message": _read(f)} for f in files]
    return render(request, "mailbox/inbox.html", {"messages": messages})


def message(request: HttpRequest, name: str) -> HttpResponse:
    path = _folder() / name
    if not NAME.match(name) or not path.exists():
        raise Http404
    parsed = _read(path)
    text_part = parsed.get_body(preferencelist=("plain",))
    text = text_part.get_content() if text_part else ""
    return render(request, "mailbox/message.html", {"name": name, "message": parsed, "body": as_html(text)})
