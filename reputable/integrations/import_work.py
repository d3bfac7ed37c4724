"""CSV imports as the dispatcher's due work: each step reads a chunk of the file's rows.

An import is all or nothing: its first steps check the whole file, streamed, chunk by chunk,
and write nothing but the progress and the bad rows; only a file without a bad row is then
recorded, chunk by chunk, each chunk's events handed to `record_events` (which commits per
call). So "nothing is imported" holds because the check reads every row before the first
write, not because one database transaction spans the file (it would hold the write lock
for minutes). A dry run ends after the check.

Each step records where it got to (`position`, a byte offset) with its claim, so a dispatcher
that dies mid-file loses nothing: the next one goes on from the last recorded step, and a
chunk recorded but not yet noted is recorded again, which `record_events` makes harmless
(its events count as duplicates then).
"""

import datetime as dt
import logging
from typing import Any

from reputable.dispatch.work import Check, LeasedKind, Permanent, register
from reputable.events.actions import Recorded, active_event_types, record_events
from reputable.integrations.import_actions import file_of, remove_file
from reputable.integrations.imports import (
    AMBIGUOUS_SLASHES,
    MAX_ERRORS,
    Chunk,
    Layout,
    Problem,
    check_order,
    event_of,
    read_orders,
)
from reputable.integrations.models import Import, ImportQuerySet

log = logging.getLogger("reputable.integrations")

FIRST_ROW = 2  # the header is row 1


@register
class Imports(LeasedKind):
    """The imports waiting for their next step, oldest first."""

    name = "imports"
    model = Import
    batch_size = 5  # imports claimed at once
    related = ("shop",)
    # Rows read in one step (a step ends with an order, so a few more) and events per call of
    # record_events: together what a step holds in memory, about 1.5 MB whatever the file's size.
    ROWS_PER_STEP = 400
    EVENTS_PER_BATCH = 200
    # Dry runs' files are kept for a day, to be checked again or imported; then they go.
    KEEP_DRY_RUNS = dt.timedelta(days=1)
    SWEEP_EVERY = dt.timedelta(hours=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.swept_at: dt.datetime | None = None

    def sweep(self, now: dt.datetime) -> None:
        """Remove the files of dry runs finished more than a day ago."""
        old = Import.objects.filter(
            dry_run=True,
            finished_at__lt=now - self.KEEP_DRY_RUNS,
            status__in=[Import.Status.DONE, Import.Status.FAILED],
        ).exclude(path="")
        for imp in old:
            remove_file(imp)
            Import.objects.filter(pk=imp.pk, finished_at=imp.finished_at).update(path="")

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[Import]:
        if self.swept_at is None or now >= self.swept_at + self.SWEEP_EVERY:
            self.sweep(now)
            self.swept_at = now
        return super().claim(now, lease)

    def recheck(self, item: Import) -> Check:
        current = Import.objects.filter(pk=item.pk).values_list("status", "claim_id").first()
        waiting = current is not None and current[0] in ImportQuerySet.WAITING
        return Check.DO if waiting and current is not None and current[1] == item.claim_id else Check.GONE

    def perform(self, item: Import, now: dt.datetime) -> None:
        if not file_of(item).exists():
            raise Permanent("the uploaded file is gone from the data folder")
        if item.rows_total is None:
            self.check(item, now)
        else:
            self.record(item, now)

    def check(self, item: Import, now: dt.datetime) -> None:
        """The next chunk of the check: every order read as an event and put to the rules."""
        layout = Layout.of(item)
        chunk = self.read(item, layout, done=item.rows_checked)
        shop = item.shop
        types = active_event_types(shop)
        problems = list(chunk.problems)
        for order in chunk.orders:
            problems += check_order(order, layout, shop=shop, types=types, now=now)
        progress: dict[str, Any] = {
            "rows_checked": item.rows_checked + chunk.rows,
            "position": chunk.position,
            "date_format": layout.dates.format,
            **self.noted(item, problems),
        }
        if chunk.at_end:
            progress["rows_total"] = progress["rows_checked"]
            progress["date_format"] = layout.dates.format or AMBIGUOUS_SLASHES
            if progress["error_count"] or item.dry_run:
                progress |= self.finished(item, now, failed=bool(progress["error_count"]))
            else:
                progress["position"] = item.data_start  # checked: now the recording
        self.save(item, now, progress)

    def record(self, item: Import, now: dt.datetime) -> None:
        """The next chunk of the recording: its orders' events through `record_events`."""
        layout = Layout.of(item)
        chunk = self.read(item, layout, done=item.rows_done)
        problems = list(chunk.problems)
        created = duplicates = 0
        for start in range(0, len(chunk.orders), self.EVENTS_PER_BATCH):
            events = []
            for order in chunk.orders[start : start + self.EVENTS_PER_BATCH]:
                event = event_of(order, layout)
                if isinstance(event, list):  # checked before: only if the file changed on disk
                    problems += event
                else:
                    events.append((order, event))
            answers = record_events(shop=item.shop, events=[e for _order, e in events]) if events else []
            for (order, _event), answer in zip(events, answers, strict=True):
                if isinstance(answer, Recorded):
                    created += answer.created
                    duplicates += not answer.created
                else:  # an event type switched off since the check, say
                    problems.append(Problem(order.row, layout.column(answer.field.split(".")[-1]), answer.message))
        progress: dict[str, Any] = {
            "rows_done": item.rows_done + chunk.rows,
            "position": chunk.position,
            "created": item.created + created,
            "duplicates": item.duplicates + duplicates,
            **self.noted(item, problems),
        }
        if chunk.at_end:
            progress |= self.finished(item, now, failed=False)
        self.save(item, now, progress)

    def read(self, item: Import, layout: Layout, *, done: int) -> Chunk:
        return read_orders(
            file_of(item), layout, start=item.position, number=FIRST_ROW + done, limit=self.ROWS_PER_STEP
        )

    @staticmethod
    def noted(item: Import, problems: list[Problem]) -> dict[str, Any]:
        room = max(0, MAX_ERRORS - len(item.errors))
        return {
            "errors": item.errors + [p.as_json() for p in problems[:room]],
            "error_count": item.error_count + len(problems),
        }

    @staticmethod
    def finished(item: Import, now: dt.datetime, *, failed: bool) -> dict[str, Any]:
        status = Import.Status.FAILED if failed else Import.Status.DONE
        # A dry run's file stays, to be checked again or imported (see `sweep`).
        return {"status": status, "finished_at": now, "due_at": None, "path": item.path if item.dry_run else ""}

    @staticmethod
    def save(item: Import, now: dt.datetime, progress: dict[str, Any]) -> None:
        """Note the step, if the import is still this claim's (else another dispatcher took it
        over and goes on from its last noted step)."""
        progress.setdefault("status", Import.Status.RUNNING)
        progress.setdefault("due_at", now)
        if not Import.objects.filter(pk=item.pk, claim_id=item.claim_id).update(**progress):
            log.info("import %s: the claim was lost during a step", item.pk)
            return
        if progress.get("path") == "":
            remove_file(item)  # the import is over: its file holds customers' addresses
        for name, value in progress.items():
            setattr(item, name, value)

    def record_done(self, item: Import, now: dt.datetime) -> None:
        Import.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
            attempts=0, last_error="", claimed_until=None, claim_id=""
        )

    def record_failure(self, item: Any, error: str, retry_at: dt.datetime | None) -> None:
        super().record_failure(item, error, retry_at)
        if retry_at is None and not item.dry_run:
            remove_file(item)
