"""The dispatcher's kinds of due work, and the worker that runs them round-robin.

A kind of due work is one class: it claims due rows of its table in batches (with a lease,
see `reputable.dispatch.leases`), re-checks each just before doing it, does it, and records
the result and the next due time; a failure is retried with the kind's back-off and keeps
its `last_error`, and never stops the dispatcher. `register` adds a kind; each app registers
its kinds in its `dispatch` module (invitations), the outbox's are in `outbox.py`.

The worker hands out one row per `handle_one()` call and turns from kind to kind after each,
so that a busy kind never starves another.
"""

import abc
import datetime as dt
import enum
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar, cast

from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import models
from django.utils import timezone

from reputable.dispatch.leases import LeasedQuerySet

log = logging.getLogger("reputable.dispatch")

# Waits between failed attempts unless a kind has its own: 1, 2, 4, ... minutes, at most six hours.
MAX_BACKOFF = dt.timedelta(hours=6)


class Check(enum.Enum):
    DO = "do"  # still due and ours: do it now
    HANDLED = "handled"  # the recheck itself settled it (an address suppressed meanwhile, say)
    GONE = "gone"  # reviewed, cancelled, or no longer this dispatcher's: not to be touched


class Permanent(Exception):  # noqa: N818 - reads as `raise Permanent(...)`
    """A failure that no retry can mend (an address no message can carry): give up at once."""


class RetryAfter(Exception):  # noqa: N818 - reads as `raise RetryAfter(...)`
    """A failure whose other side said when to try again (an HTTP Retry-After): due again after
    `delay` instead of the kind's back-off, unless the kind gives up on the row."""

    def __init__(self, message: str, delay: dt.timedelta) -> None:
        super().__init__(message)
        self.delay = delay


class Mail:
    """One mail connection shared by the kinds that send email, kept open while there is work."""

    def __init__(self) -> None:
        self._connection: BaseEmailBackend | None = None

    def connection(self) -> BaseEmailBackend:
        if self._connection is None:
            self._connection = mailers.default
        self._connection.open()  # opened once, it stays open across messages
        return self._connection

    def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail too
            log.debug("closing the mail connection failed", exc_info=True)


class Kind(abc.ABC):
    """A kind of due work. Subclasses set `name` and implement the steps below.

    The rows a kind claims are handed back to it as they came: any object with `pk`,
    `claim_id`, `claimed_until` (the lease's end) and `attempts` (failures so far).
    """

    name: ClassVar[str]
    batch_size: ClassVar[int] = 50  # rows claimed at once

    def __init__(self, mail: Mail) -> None:
        self.mail = mail

    @abc.abstractmethod
    def claim(self, now: dt.datetime, lease: dt.timedelta) -> Sequence[Any]:
        """Claim up to `batch_size` due rows, oldest first; [] when none is due."""

    @abc.abstractmethod
    def recheck(self, item: Any) -> Check:
        """Just before doing it: is the row still due and this claim's?"""

    @abc.abstractmethod
    def perform(self, item: Any, now: dt.datetime) -> None:
        """Do the work; raise to fail (`Permanent` when a retry cannot help)."""

    @abc.abstractmethod
    def record_done(self, item: Any, now: dt.datetime) -> None:
        """The work is done: record it (and when the row is due next, if it is)."""

    @abc.abstractmethod
    def record_failure(self, item: Any, error: str, retry_at: dt.datetime | None) -> None:
        """Keep the error; due again at `retry_at`, or given up on when it is None."""

    @abc.abstractmethod
    def release(self, items: Sequence[Any]) -> None:
        """Give back claimed rows that this dispatcher will not do."""

    def settle(self) -> None:  # noqa: B027 - most kinds keep nothing between rows
        """Write what the kind keeps in memory between rows (counts), when the dispatcher idles
        or stops; a kind may also do it when it claims its next batch."""

    def retry_delay(self, attempts: int) -> dt.timedelta | None:
        """The wait after the `attempts`-th failure in a row, or None to give up."""
        if attempts >= settings.DISPATCH_MAX_ATTEMPTS:
            return None
        return min(dt.timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


class LeasedKind(Kind):
    """A kind over the rows of one model with `Leased` columns: claimed, rechecked, failed and
    released through its `LeasedQuerySet`."""

    model: ClassVar[type[models.Model]]
    # Loaded with each claimed row (select_related), for `perform`.
    related: ClassVar[tuple[str, ...]] = ()

    def rows(self) -> LeasedQuerySet[Any]:
        return cast(LeasedQuerySet[Any], self.model._default_manager.all())

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[Any]:
        """Due rows under a new claim, loaded in the order they came due."""
        claim = self.rows().claim(now, size=self.batch_size, lease=lease)
        if not claim.pks:
            return []
        claimed = self.rows().filter(pk__in=claim.pks, claim_id=claim.id)
        if self.related:
            claimed = claimed.select_related(*self.related)
        return list(claimed.order_by(self.rows().due_field, "pk"))

    def recheck(self, item: Any) -> Check:
        """Still pending and this claim's?"""
        rows = self.rows()
        current = rows.filter(pk=item.pk).values_list("status", "claim_id").first()
        return Check.DO if current == (rows.pending, item.claim_id) else Check.GONE

    def record_failure(self, item: Any, error: str, retry_at: dt.datetime | None) -> None:
        self.rows().filter(pk=item.pk).retry_later(item.claim_id, error=error, retry_at=retry_at)

    def release(self, items: Sequence[Any]) -> None:
        for claim_id in {item.claim_id for item in items}:
            self.rows().filter(pk__in=[i.pk for i in items if i.claim_id == claim_id]).release(claim_id)


KINDS: list[type[Kind]] = []


def register[K: type[Kind]](kind: K) -> K:
    """Add a kind of due work (a class decorator)."""
    if any(k.name == kind.name for k in KINDS):
        raise ValueError(f"a kind of due work named {kind.name!r} is registered already")
    KINDS.append(kind)
    return kind


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.DISPATCH_LEASE_SECONDS)


def lease_margin() -> dt.timedelta:
    """A claimed row is done only while more than this is left of its lease (a fifth of it)."""
    return lease() / 5


class Worker:
    """Runs the registered kinds round-robin, one row per `handle_one()`."""

    # A kind that found nothing is asked again only after this many steps of the others
    # (or when they are all idle), so that an idle kind costs no query per message.
    IDLE_SKIP = 50

    def __init__(self, kinds: Sequence[type[Kind]] | None = None) -> None:
        if kinds is None:
            kinds = KINDS
        self.mail = Mail()
        self.kinds = [kind(self.mail) for kind in kinds]
        # Per kind: claimed rows not done yet, in order, and steps to skip it while idle.
        self.batches: dict[str, deque[Any]] = {k.name: deque() for k in self.kinds}
        self.skip: dict[str, int] = {k.name: 0 for k in self.kinds}
        self.turn = 0

    def handle_one(self) -> bool:
        """Do one row of due work of the next kind that has some. Returns whether there was work."""
        now = timezone.now()
        count = len(self.kinds)
        order = [self.kinds[(self.turn + n) % count] for n in range(count)]
        # Kinds known to be idle come last: asked only when none of the others has work.
        order.sort(key=lambda kind: self.skip[kind.name] > 0)
        for kind in order:
            if self.step(kind, now):
                self.turn = (self.kinds.index(kind) + 1) % count
                for name in self.skip:
                    self.skip[name] = max(0, self.skip[name] - 1)
                self.skip[kind.name] = 0
                return True
            self.skip[kind.name] = self.IDLE_SKIP
        return False

    def step(self, kind: Kind, now: dt.datetime) -> bool:
        """One row of `kind`: recheck, do, record. Returns whether there was one."""
        while True:
            item = self.next_claimed(kind, now)
            if item is None:
                return False
            check = kind.recheck(item)
            if check is Check.HANDLED:
                return True
            if check is Check.DO:
                break
            kind.release([item])  # reviewed or cancelled meanwhile: the lease ends here (if still ours)
        try:
            kind.perform(item, now)
        except Exception as error:  # noqa: BLE001 - one bad row must never stop the dispatcher
            log.warning("%s %s: failed: %r", kind.name, item.pk, error)
            attempts = item.attempts + 1
            delay = None if isinstance(error, Permanent) else kind.retry_delay(attempts)
            if delay is not None and isinstance(error, RetryAfter):
                delay = error.delay
            kind.record_failure(item, f"{type(error).__name__}: {error}", None if delay is None else now + delay)
            return True
        kind.record_done(item, now)
        return True

    def next_claimed(self, kind: Kind, now: dt.datetime) -> Any:
        """The next claimed row whose lease still has time enough; claims a batch when none is left."""
        batch = self.batches[kind.name]
        if batch and now + lease_margin() >= batch[0].claimed_until:
            self.release(kind)  # the lease is nearly over: another dispatcher may take these soon
        if not batch:
            batch.extend(kind.claim(now, lease()))
        return batch.popleft() if batch else None

    def release(self, kind: Kind) -> None:
        batch = self.batches[kind.name]
        if batch:
            kind.release(list(batch))
            batch.clear()

    def release_all(self) -> None:
        """Give back every claimed row not done yet (when stopping)."""
        for kind in self.kinds:
            self.release(kind)
            kind.settle()

    def idle(self) -> None:
        """Nothing is due: write what the kinds keep, close what is kept open between rows."""
        for kind in self.kinds:
            kind.settle()
        self.mail.close()
