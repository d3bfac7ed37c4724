"""Retention as the dispatcher's due work: each shop's run erases what has passed its retention
period (see `reputable.privacy.actions`), then waits until the next transaction passes it, a
day at least.

A run erases in batches, each in its own transaction with the place it got to; a step does a
few batches, so a shop with millions of rows to erase is done over many steps (due again at
once) and never holds a lease longer than it lasts, nor the other kinds of work.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F

from reputable.dispatch.work import MAX_BACKOFF, Check, LeasedKind, register
from reputable.privacy.actions import ClaimLost, erase_expired_batch, next_expiry
from reputable.privacy.models import RetentionRun
from reputable.shops.models import Shop


@dataclass(slots=True)
class Claimed:
    run: RetentionRun
    caught_up: bool = False

    # What the worker reads of a claimed row.
    @property
    def pk(self) -> int:
        return self.run.pk

    @property
    def claim_id(self) -> str:
        return self.run.claim_id

    @property
    def claimed_until(self) -> dt.datetime:
        assert self.run.claimed_until is not None
        return self.run.claimed_until

    @property
    def attempts(self) -> int:
        return self.run.attempts


@register
class Retention(LeasedKind):
    """Each shop's retention run, when the next of its transactions passes the period."""

    name = "retention"
    model = RetentionRun
    batch_size = 10  # shops claimed at once
    ROWS_PER_BATCH = 500  # transactions erased in one database transaction
    BATCHES_PER_STEP = 20
    EVERY = dt.timedelta(days=1)  # the most often a shop's run is due once it caught up
    PLAN_EVERY = dt.timedelta(minutes=1)  # how often a dispatcher looks for shops without a run

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planned_at: dt.datetime | None = None

    def plan(self, now: dt.datetime) -> None:
        """A run for each shop that has none, due when its first transaction passes the period."""
        for shop in Shop.objects.filter(retention_run__isnull=True).only("pk", "timezone", "retention_months"):
            run = RetentionRun(shop=shop)
            run.due_at = next_expiry(run, now)
            # Two dispatchers planning at once: the shop's run is one row (unique), the later one's goes.
            RetentionRun.objects.bulk_create([run], ignore_conflicts=True)

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[Claimed]:
        if self.planned_at is None or now >= self.planned_at + self.PLAN_EVERY:
            self.plan(now)
            self.planned_at = now
        claim = RetentionRun.objects.claim(now, size=self.batch_size, lease=lease)
        if not claim.pks:
            return []
        runs = RetentionRun.objects.filter(pk__in=claim.pks, claim_id=claim.id).select_related("shop")
        return [Claimed(run) for run in runs.order_by("due_at", "pk")]

    def recheck(self, item: Claimed) -> Check:
        current = RetentionRun.objects.filter(pk=item.pk).values_list("status", "claim_id").first()
        return Check.DO if current == (RetentionRun.Status.PENDING, item.claim_id) else Check.GONE

    def perform(self, item: Claimed, now: dt.datetime) -> None:
        for _batch in range(self.BATCHES_PER_STEP):
            try:
                erased = erase_expired_batch(run=item.run, now=now, size=self.ROWS_PER_BATCH)
            except ClaimLost:
                return  # another dispatcher goes on with it; record_done finds the claim gone
            if erased < self.ROWS_PER_BATCH:
                item.caught_up = True
                return

    def record_done(self, item: Claimed, now: dt.datetime) -> None:
        """Caught up: due when the next transaction passes the period, in a day at the soonest.
        Not yet: due again at once, after the other kinds had their turn."""
        due_at = max(next_expiry(item.run, now), now + self.EVERY) if item.caught_up else now
        RetentionRun.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
            due_at=due_at,
            last_run_at=now if item.caught_up else F("last_run_at"),
            attempts=0,
            last_error="",
            claimed_until=None,
            claim_id="",
        )

    def retry_delay(self, attempts: int) -> dt.timedelta | None:
        """Never given up on: a shop's retention must go on, so a failing run is retried (at most
        every six hours) until it succeeds; its `last_error` says why it failed."""
        return min(dt.timedelta(minutes=2 ** min(attempts - 1, 16)), MAX_BACKOFF)
