import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from reputable.dispatch.work import Worker

log = logging.getLogger("reputable.dispatch")


class Command(BaseCommand):
    help = "Do the due work (invitations, reminders, the outbox): one pass, or with --loop until SIGTERM."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        self.worker = Worker()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running until SIGTERM or Ctrl-C")

    def handle_one(self) -> bool:
        """Do one row of due work (see `Worker.handle_one`). Returns whether there was work."""
        return self.worker.handle_one()

    def stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("dispatcher: stopping after the current step")
        self.stopping.set()

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            done = 0
            while self.handle_one():
                done += 1
            self.worker.idle()
            self.stdout.write(f"dispatched {done} step(s)")
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
                self.worker.idle()
                self.stopping.wait(settings.DISPATCH_IDLE_SECONDS)
        try:
            self.worker.release_all()
        except Exception:  # the database went away: the leases run out by themselves
            log.exception("dispatcher: giving back the claimed rows failed")
        self.worker.idle()
        log.info("dispatcher: stopped")
