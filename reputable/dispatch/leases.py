"""Leases: how a dispatcher takes due rows for itself, gives them back, and retries them.

A row of due work waits in its pending status until its due time. A dispatcher claims it with
a lease (`claimed_until`, `claim_id`): while the lease runs, that dispatcher alone owns the row.
The lease columns belong to the dispatcher: only it writes them, and every write that records
a result names the `claim_id`, so a dispatcher whose lease was taken over changes nothing.
Other changes (a review, a cancellation) only change the status, and the dispatcher that holds
the row records its result without undoing them. A dispatcher that dies loses nothing: the
lease expires and the row is due again.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from django.db import connection, models
from django.db import transaction as db_transaction
from django.db.models import Case, F, Q, Value, When

from reputable.lib import sql

# How much of a failure's text is kept.
MAX_ERROR = 2000
# See LeasedQuerySet._choose_due.
_PLACEHOLDER_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_DUE_SQL: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def storable(text: str) -> str:
    """Text from the other side (an error, an answer's body) as any database keeps it: PostgreSQL
    refuses the NUL character in text."""
    return text.replace("\x00", "\ufffd")


class Leased(models.Model):
    """The columns of a row that dispatchers claim; see `LeasedQuerySet`."""

    # The dispatcher's lease: while in the future, one dispatcher owns the row.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_id = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # failed attempts since the last success
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


@dataclass(frozen=True)
class Claim:
    id: str
    until: dt.datetime
    pks: list[int]


class LeasedQuerySet[M: models.Model](models.QuerySet[M]):
    """Claim, release and retry for a model with `Leased` columns, a status and a due time."""

    due_field: ClassVar[str]  # the column that says when the row is due
    pending: ClassVar[str]  # the status of rows that wait for their due time
    failed: ClassVar[str]  # the status of rows given up on

    def due(self, now: dt.datetime) -> Self:
        """Pending rows whose time has come and which no live claim holds."""
        return self.filter(status=self.pending, **{f"{self.due_field}__lte": now}).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )

    def claim(self, now: dt.datetime, *, size: int, lease: dt.timedelta) -> Claim:
        """Take up to `size` due rows of this queryset, oldest first, under a new claim."""
        claim = Claim(secrets.token_hex(8), now + lease, [])
        with db_transaction.atomic(), connection.cursor() as cursor:
            db = sql.Statements(cursor)
            choose, params = self._choose_due(db, now, size)
            # The conditional UPDATE is the claim itself, one statement: on SQLite nothing comes
            # between the choice of the rows and their claim, on PostgreSQL the subquery locks
            # the rows it picks (and another dispatcher's claim, committed meanwhile, is seen).
            rows = db.fetch(
                f"UPDATE {sql.table(self.model)} SET claimed_until = %s, claim_id = %s"
                f" WHERE id IN ({choose}) RETURNING id",
                [db.value(claim.until), claim.id, *params],
            )
        claim.pks.extend(pk for (pk,) in rows)
        return claim

    def _choose_due(self, db: sql.Statements, now: dt.datetime, size: int) -> tuple[str, list[Any]]:
        """The SELECT of the pks of the `size` oldest due rows (locking them, skipping locked
        ones, on PostgreSQL), as the ORM writes it for `due()`.

        Kept per model, filter, database and size, with `_PLACEHOLDER_TIME` where the time of the
        query goes: building it costs about 0.5 ms, as much as running it.
        """
        key = (self.model, self.query.where, connection.alias, size)
        if key not in _DUE_SQL:
            due = self.due(_PLACEHOLDER_TIME).order_by(self.due_field, "pk")
            if connection.features.has_select_for_update_skip_locked:
                # Concurrent dispatchers on PostgreSQL each skip the rows the others are taking.
                due = due.select_for_update(skip_locked=True)
            _DUE_SQL[key] = due.values("pk")[:size].query.sql_with_params()  # FOR UPDATE: in a transaction
        query, params = _DUE_SQL[key]
        adapt = connection.ops.adapt_datetimefield_value
        placeholder, time = adapt(_PLACEHOLDER_TIME), adapt(now)
        return query, [time if param == placeholder else param for param in params]

    def release(self, claim_id: str) -> int:
        """Give back this queryset's rows still held by `claim_id`, due as before."""
        return self.filter(claim_id=claim_id).update(claimed_until=None, claim_id="")

    def retry_later(self, claim_id: str, *, error: str, retry_at: dt.datetime | None) -> int:
        """A failed attempt: due again at `retry_at`, or given up on (`failed`) when None.

        A status that changed meanwhile (reviewed during the attempt, say) stays as it is.
        """
        moved: dict[str, object] = {self.due_field: retry_at}
        if retry_at is None:
            moved = {"status": Case(When(status=self.pending, then=Value(self.failed)), default=F("status"))}
        return self.filter(claim_id=claim_id).update(
            attempts=F("attempts") + 1, last_error=storable(error)[:MAX_ERROR], claimed_until=None, claim_id="", **moved
        )
