"""The dispatcher's steps: claim due invitations, re-check one, send its next message, record.

Only the dispatcher sends mail. A claim is a lease (`claimed_until`, `claim_id`): a dispatcher
that dies mid-send loses nothing, the lease runs out and another pass takes the row again.

Rows are claimed in batches (one conditional UPDATE, with `select_for_update(skip_locked=True)`
where the database has it, so that dispatchers side by side take different rows) and sent one
by one. Just before its send each row is read again (`recheck`): a review, a cancellation or
an objection that came after the claim stops it, and so does the loss of the claim. A row is
sent only while more than `lease_margin()` is left of its lease, so that no other dispatcher
can take it meanwhile; rows left when the lease runs low are given back (`release`).
The statements that run once per message (`recheck`, `record_sent`) are written out in SQL:
through the ORM each would cost about 0.4 ms of CPU on a small machine, as much as the send.
"""

import datetime as dt
import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import F, Model

from reputable.events.models import Transaction
from reputable.invitations.messages import Letter, Templates
from reputable.invitations.models import Invitation, InvitationRule, MessageTemplate, Suppression
from reputable.lib import sql
from reputable.shops.models import Shop

# Waits between failed attempts: 1, 2, 4, ... minutes, at most six hours.
MAX_BACKOFF = dt.timedelta(hours=6)
# Rows claimed at once. The lease covers the whole batch; at a few ms per message a batch takes
# well under a second, and rows still unsent when the lease nears its end are given back.
BATCH_SIZE = 50

PENDING = Invitation.Status.PENDING


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.DISPATCH_LEASE_SECONDS)


def lease_margin() -> dt.timedelta:
    """A claimed row is sent only while more than this is left of its lease (a fifth of it)."""
    return lease() / 5


@dataclass(slots=True)
class Claimed:
    """A claimed invitation: what the send and its record need."""

    pk: int
    claim_id: str
    claimed_until: dt.datetime
    sent_count: int
    attempts: int
    rule: InvitationRule | None
    letter: Letter
    templates: Templates  # the shop's own wording

    @property
    def shop(self) -> Shop:
        return self.letter.shop


class Check(enum.Enum):
    SEND = "send"
    SUPPRESSED = "suppressed"  # the address objected, bounced or complained since it was due
    GONE = "gone"  # reviewed, cancelled, or no longer this dispatcher's: not to be touched


# Whether the address of invitation `i` is suppressed for its shop (or everywhere).
_SUPPRESSED = (
    f"EXISTS (SELECT 1 FROM {Suppression._meta.db_table} s"
    " WHERE s.email = i.email AND (s.shop_id = i.shop_id OR s.shop_id IS NULL))"
)


def _fetch(query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        return sql.Statements(cursor).fetch(query, params)


def _execute(query: str, params: Sequence[Any]) -> None:
    with connection.cursor() as cursor:
        sql.Statements(cursor).execute(query, params)


def claim_batch(now: dt.datetime, size: int = BATCH_SIZE) -> list[Claimed]:
    """Take up to `size` due invitations, oldest first, for this dispatcher; [] when none is due."""
    claim_id = secrets.token_hex(8)
    until = now + lease()
    with db_transaction.atomic():
        choose, params = _choose_due(now, size)
        # The conditional UPDATE is the claim itself, one statement: on SQLite nothing comes
        # between the choice of the rows and their claim, on PostgreSQL the subquery locks
        # the rows it picks (and another dispatcher's claim, committed meanwhile, is seen).
        pks = _fetch(
            f"UPDATE {sql.table(Invitation)} SET claimed_until = %s, claim_id = %s WHERE id IN ({choose}) RETURNING id",
            [connection.ops.adapt_datetimefield_value(until), claim_id, *params],
        )
    if not pks:
        return []
    rows = _fetch(
        "SELECT i.id, i.shop_id, i.rule_id, i.email, i.locale, i.token, i.sent_count, i.attempts,"
        f" t.first_name, t.reference FROM {sql.table(Invitation)} i JOIN {sql.table(Transaction)} t"
        f" ON t.id = i.transaction_id WHERE i.id IN ({sql.marks(len(pks))}) AND i.claim_id = %s"
        " ORDER BY i.send_at, i.id",
        [*(pk for (pk,) in pks), claim_id],
    )
    shop_ids = list({row[1] for row in rows})
    shops = _load(Shop, shop_ids)
    rules = _load(InvitationRule, list({row[2] for row in rows if row[2] is not None}))
    templates: dict[int, dict[tuple[str, str], tuple[str, str]]] = {shop_id: {} for shop_id in shop_ids}
    if shop_ids:
        for shop_id, kind, locale, subject, body in _fetch(
            f"SELECT shop_id, kind, locale, subject, body FROM {sql.table(MessageTemplate)}"
            f" WHERE shop_id IN ({sql.marks(len(shop_ids))})",
            shop_ids,
        ):
            templates[shop_id][(kind, locale)] = (subject, body)
    batch = []
    for pk, shop_id, rule_id, email, locale, token, sent_count, attempts, first_name, reference in rows:
        letter = Letter(pk, sent_count, email, locale, token, first_name, reference, shops[shop_id])
        rule = rules.get(rule_id) if rule_id is not None else None
        batch.append(Claimed(pk, claim_id, until, sent_count, attempts, rule, letter, templates[shop_id]))
    return batch


# The SQL that chooses due rows, as the ORM writes it for InvitationQuerySet.due(), kept per
# database and batch size: building it costs about 0.4 ms, as much as running it. In its
# parameters, the time of the query stands where _PLACEHOLDER_TIME is.
_PLACEHOLDER_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_due_sql: dict[tuple[str, int], tuple[str, tuple[Any, ...]]] = {}


def _choose_due(now: dt.datetime, size: int) -> tuple[str, list[Any]]:
    """SELECT the pks of the `size` oldest due rows (locking them, skipping locked ones, on PostgreSQL)."""
    key = (connection.alias, size)
    if key not in _due_sql:
        due = Invitation.objects.due(_PLACEHOLDER_TIME).order_by("send_at")
        if connection.features.has_select_for_update_skip_locked:
            # Concurrent dispatchers on PostgreSQL each skip the rows the others are taking.
            due = due.select_for_update(skip_locked=True)
        _due_sql[key] = due.values("pk")[:size].query.sql_with_params()
    sql, params = _due_sql[key]
    placeholder = connection.ops.adapt_datetimefield_value(_PLACEHOLDER_TIME)
    time = connection.ops.adapt_datetimefield_value(now)
    return sql, [time if param == placeholder else param for param in params]


def _load[M: Model](model: type[M], pks: list[int]) -> dict[int, M]:
    """Model instances by pk: the ORM's in_bulk() without its query building (0.3 ms a query)."""
    if not pks:
        return {}
    pk = connection.ops.quote_name(model._meta.pk.column or "id")  # type: ignore[union-attr]
    found = model._default_manager.raw(f"SELECT * FROM {sql.table(model)} WHERE {pk} IN ({sql.marks(len(pks))})", pks)
    return {obj.pk: obj for obj in found}


def recheck(item: Claimed) -> Check:
    """Just before the send: is the row still pending and ours, its address not suppressed?"""
    row = _fetch(_RECHECK, [item.pk])
    if not row or row[0][0] != PENDING or row[0][1] != item.claim_id:
        return Check.GONE
    return Check.SUPPRESSED if row[0][2] else Check.SEND


_RECHECK = f"SELECT i.status, i.claim_id, {_SUPPRESSED} FROM {Invitation._meta.db_table} i WHERE i.id = %s"


def release(items: Sequence[Claimed]) -> None:
    """Give back claimed rows that will not be sent by this dispatcher."""
    for claim_id in {item.claim_id for item in items}:
        Invitation.objects.filter(pk__in=[i.pk for i in items if i.claim_id == claim_id], claim_id=claim_id).update(
            claimed_until=None, claim_id=""
        )


def record_sent(item: Claimed, now: dt.datetime) -> None:
    """The message went out: count it and schedule the next reminder, or finish. One statement.

    A review or objection that arrived during the send keeps its status (the CASEs read the
    row as it was before the UPDATE).
    """
    sent_count = item.sent_count + 1
    rule = item.rule
    adapt = connection.ops.adapt_datetimefield_value
    if rule is not None and sent_count <= rule.reminder_count:
        next_send = adapt(rule.reminder_send_at(now, item.shop))
        params = [sent_count, adapt(now), PENDING, next_send, PENDING, PENDING, PENDING]
        query = _RECORD_SENT_AND_NEXT
    else:
        params = [sent_count, adapt(now), PENDING, PENDING, Invitation.Status.COMPLETED]
        query = _RECORD_SENT_AND_DONE
    _execute(query, [*params, item.pk, item.claim_id])


_RECORD_SENT = (
    f"UPDATE {Invitation._meta.db_table} SET sent_count = %s, last_sent_at = %s, claimed_until = NULL,"
    " claim_id = '', attempts = 0, {schedule}"
    " last_error = CASE WHEN status = %s THEN '' ELSE last_error END,"
    " status = CASE WHEN status = %s THEN %s ELSE status END"
    " WHERE id = %s AND claim_id = %s"
)
_RECORD_SENT_AND_NEXT = _RECORD_SENT.format(schedule="send_at = CASE WHEN status = %s THEN %s ELSE send_at END,")
_RECORD_SENT_AND_DONE = _RECORD_SENT.format(schedule="")


def record_failure(item: Claimed, now: dt.datetime, error: str) -> None:
    """The send failed: try again later with back-off, or give up after the last attempt."""
    attempts = item.attempts + 1
    retry: dict[str, object] = {"send_at": now + min(dt.timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)}
    if attempts >= settings.DISPATCH_MAX_ATTEMPTS:
        retry = {"status": Invitation.Status.FAILED}
    Invitation.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
        attempts=F("attempts") + 1, last_error=error[:2000], claimed_until=None, claim_id="", **retry
    )


def record_suppressed(item: Claimed) -> None:
    Invitation.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
        status=Invitation.Status.SUPPRESSED, claimed_until=None, claim_id=""
    )
