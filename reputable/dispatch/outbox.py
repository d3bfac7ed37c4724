"""The outbox: messages to send and calls to make, as rows the dispatcher delivers.

A change that someone must hear about writes an outbox row with `enqueue()` in the same
transaction as the change, so that both are stored or neither: no event is lost or invented.
The dispatcher delivers each row when it is due, through the kind named in its `kind`: a
subclass of `OutboxKind` with a `name` and a `deliver()`, registered with
`reputable.dispatch.work.register`. Each kind is its own kind of due work, so a flood of one
never holds up another.

`send_email()` is the outbox's email: rendered from `templates/emails/<name>-*` by
`reputable.lib.emails.send` when it is sent, in the recipient's language.
"""

import abc
import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from reputable.dispatch.models import OutboxItem, OutboxQuerySet
from reputable.dispatch.work import KINDS, LeasedKind, Permanent, register
from reputable.lib import emails
from reputable.shops.models import Shop


def enqueue(
    kind: str, payload: Mapping[str, Any], *, shop: Shop | None = None, due_at: dt.datetime | None = None
) -> OutboxItem:
    """Write a row for the dispatcher to deliver at `due_at` (default: at once).

    Call it inside the transaction of the change it tells about. `payload` must be JSON.
    """
    if not any(issubclass(k, OutboxKind) and k.name == kind for k in KINDS):
        raise ValueError(f"no outbox kind named {kind!r} is registered")
    if not db_transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue() belongs inside the transaction of the change it tells about")
    return OutboxItem.objects.create(kind=kind, payload=dict(payload), shop=shop, due_at=due_at or timezone.now())


class OutboxKind(LeasedKind):
    """Rows of the outbox whose `kind` is this class's `name`; subclasses write `deliver()`."""

    model = OutboxItem

    @abc.abstractmethod
    def deliver(self, item: OutboxItem) -> None:
        """Send the message or make the call; raise to fail."""

    def rows(self) -> OutboxQuerySet:
        return OutboxItem.objects.filter(kind=self.name)

    def perform(self, item: OutboxItem, now: dt.datetime) -> None:
        self.deliver(item)

    def record_done(self, item: OutboxItem, now: dt.datetime) -> None:
        OutboxItem.objects.filter(pk=item.pk).record_done(item.claim_id, now=now)


def send_email(
    template: str,
    *,
    to: str,
    context: Mapping[str, Any],
    language: str,
    shop: Shop | None = None,
    sender_name: str = "",
    reply_to: str = "",
    headers: Mapping[str, str] | None = None,
) -> OutboxItem:
    """An email for the dispatcher to send: `templates/emails/<template>-*` with `context` (JSON),
    and `headers` of its own (List-Unsubscribe, say)."""
    payload = {
        "template": template,
        "to": emails.normalise_address(to),
        "context": dict(context),
        "language": language,
        "sender_name": sender_name,
        "reply_to": reply_to,
        "headers": dict(headers or {}),
    }
    return enqueue(Emails.name, payload, shop=shop)


@register
class Emails(OutboxKind):
    """Emails of the outbox: notifications, replies, letters (see `send_email`)."""

    name = "email"

    def deliver(self, item: OutboxItem) -> None:
        p = item.payload
        try:
            emails.send(
                p["template"],
                to=p["to"],
                context=p["context"],
                language=p["language"],
                sender_name=p["sender_name"],
                reply_to=p["reply_to"],
                # Rows written before emails had headers of their own have none.
                headers={**p.get("headers", {}), "Message-ID": emails.message_id("outbox", item.pk)},
                connection=self.mail.connection(),
            )
        except emails.AddressError as error:
            raise Permanent(str(error)) from None
        except Exception:
            self.mail.close()  # the session may be broken; the next send opens a fresh one
            raise
