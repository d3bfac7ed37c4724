"""The dispatcher's steps: claim a due invitation, send its next message, record the result.

Only the dispatcher sends mail. A claim is a lease (`claimed_until`): a dispatcher that dies
mid-send loses nothing, the lease runs out and another pass takes the row again.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import F

from reputable.invitations.models import Invitation, Suppression

# Waits between failed attempts: 1, 2, 4, ... minutes, at most six hours.
MAX_BACKOFF = dt.timedelta(hours=6)


def claim_next(now: dt.datetime) -> Invitation | None:
    """Take the oldest due invitation for this dispatcher, or None when nothing is due."""
    claim_id = secrets.token_hex(8)
    with db_transaction.atomic():
        due = Invitation.objects.due(now).order_by("send_at")
        if connection.features.has_select_for_update_skip_locked:
            # Concurrent dispatchers on PostgreSQL each skip the rows the others are taking.
            due = due.select_for_update(skip_locked=True)
        pk = due.values_list("pk", flat=True).first()
        if pk is None:
            return None
        # The conditional UPDATE is the claim itself; it holds on any database.
        claimed = (
            Invitation.objects.due(now)
            .filter(pk=pk)
            .update(claimed_until=now + dt.timedelta(seconds=settings.DISPATCH_LEASE_SECONDS), claim_id=claim_id)
        )
    if not claimed:
        return None
    return Invitation.objects.select_related("shop", "transaction", "rule").get(pk=pk)


def is_suppressed(invitation: Invitation) -> bool:
    return Suppression.objects.for_shop(invitation.shop).filter(email=invitation.email).exists()


def record_sent(invitation: Invitation, now: dt.datetime) -> None:
    """The message went out: count it and schedule the next reminder, or finish."""
    sent_count = invitation.sent_count + 1
    rule = invitation.rule
    if rule is not None and sent_count <= rule.reminder_count:
        status, send_at = Invitation.Status.PENDING, rule.reminder_send_at(now, invitation.shop)
    else:
        status, send_at = Invitation.Status.COMPLETED, invitation.send_at
    mine = Invitation.objects.filter(pk=invitation.pk, claim_id=invitation.claim_id)
    done = {"sent_count": sent_count, "last_sent_at": now, "claimed_until": None, "claim_id": "", "attempts": 0}
    with db_transaction.atomic():
        # A review or objection that arrived during the send keeps its status.
        if not mine.filter(status=Invitation.Status.PENDING).update(
            **done, status=status, send_at=send_at, last_error=""
        ):
            mine.update(**done)


def record_failure(invitation: Invitation, now: dt.datetime, error: str) -> None:
    """The send failed: try again later with back-off, or give up after the last attempt."""
    attempts = invitation.attempts + 1
    retry: dict[str, object] = {"send_at": now + min(dt.timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)}
    if attempts >= settings.DISPATCH_MAX_ATTEMPTS:
        retry = {"status": Invitation.Status.FAILED}
    Invitation.objects.filter(pk=invitation.pk, claim_id=invitation.claim_id).update(
        attempts=F("attempts") + 1, last_error=error[:2000], claimed_until=None, claim_id="", **retry
    )


def record_suppressed(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, claim_id=invitation.claim_id).update(
        status=Invitation.Status.SUPPRESSED, claimed_until=None, claim_id=""
    )
