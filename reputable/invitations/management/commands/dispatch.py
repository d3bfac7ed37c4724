import datetime as dt
import logging
import signal
import threading
from collections import deque
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.mail import mailers
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reputable.invitations import dispatch
from reputable.invitations.messages import Composer

log = logging.getLogger("reputable.dispatch")


class Command(BaseCommand):
    help = "Send due invitations and reminders: one pass, or with --loop until SIGTERM."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        # One mail connection, kept open while there is work (SMTP sessions are costly).
        self.mail = mailers.default
        # Claimed rows not yet sent, in order, and the messages' skeletons (see messages.py).
        self.batch: deque[dispatch.Claimed] = deque()
        self.composer = Composer()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running until SIGTERM or Ctrl-C")

    def handle_one(self) -> bool:
        """Send the next message of one due invitation. Returns whether there was work.

        Due rows are claimed in batches and handed out one per call; each is re-checked just
        before its send, and skipped if it was reviewed, cancelled or taken over meanwhile.
        """
        now = timezone.now()
        while True:
            item = self.next_claimed(now)
            if item is None:
                return False
            check = dispatch.recheck(item)
            if check is not dispatch.Check.GONE:
                break
        try:
            if check is dispatch.Check.SUPPRESSED:
                dispatch.record_suppressed(item)
                return True
            message = self.composer.compose(item.letter, item.templates, now)
            self.mail.open()  # opened here, it stays open across messages
            self.mail.send_messages([message])
        except Exception as error:  # noqa: BLE001 - one bad row must never stop the dispatcher
            log.warning("invitation %s: sending failed: %r", item.pk, error)
            self.close_mail()  # the session may be broken; the next send opens a fresh one
            dispatch.record_failure(item, now, f"{type(error).__name__}: {error}")
            return True
        dispatch.record_sent(item, now)
        return True

    def next_claimed(self, now: dt.datetime) -> dispatch.Claimed | None:
        """The next claimed row whose lease still has time enough; claims a batch when none is left."""
        if self.batch and now + dispatch.lease_margin() >= self.batch[0].claimed_until:
            self.release()  # the lease is nearly over: another dispatcher may take these soon
        if not self.batch:
            self.batch.extend(dispatch.claim_batch(now))
        return self.batch.popleft() if self.batch else None

    def release(self) -> None:
        """Give back the claimed rows not sent yet (when stopping, or when their lease runs low)."""
        if self.batch:
            dispatch.release(list(self.batch))
            self.batch.clear()

    def close_mail(self) -> None:
        try:
            self.mail.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail too
            log.debug("closing the mail connection failed", exc_info=True)

    def stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("dispatcher: stopping after the current message")
        self.stopping.set()

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            sent = 0
            while self.handle_one():
                sent += 1
            self.close_mail()
            self.stdout.write(f"dispatched {sent} invitation step(s)")
            return
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("dispatcher: running")
        while not self.stopping.is_set():
            try:
                busy = self.handle_one()
            except Exception:  # the database went away, say; wait and try again
                log.exception("dispatcher: pass failed")
                busy = False
            if not busy:
                self.close_mail()
                self.stopping.wait(settings.DISPATCH_IDLE_SECONDS)
        try:
            self.release()
        except Exception:  # the database went away: the leases run out by themselves
            log.exception("dispatcher: giving back the claimed rows failed")
        self.close_mail()
        log.info("dispatcher: stopped")
