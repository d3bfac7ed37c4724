import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.mail import mailers
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reputable.invitations import dispatch
from reputable.invitations.messages import build_message

log = logging.getLogger("reputable.dispatch")


class Command(BaseCommand):
    help = "Send due invitations and reminders: one pass, or with --loop until SIGTERM."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        # One mail connection, kept open while there is work (SMTP sessions are costly).
        self.mail = mailers.default

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running until SIGTERM or Ctrl-C")

    def handle_one(self) -> bool:
        """Send the next message of one due invitation. Returns whether there was work."""
        now = timezone.now()
        invitation = dispatch.claim_next(now)
        if invitation is None:
            return False
        try:
            if dispatch.is_suppressed(invitation):
                dispatch.record_suppressed(invitation)
                return True
            message = build_message(invitation)
            self.mail.open()  # opened here, it stays open across messages
            self.mail.send_messages([message])
        except Exception as error:  # noqa: BLE001 - one bad row must never stop the dispatcher
            log.warning("invitation %s: sending failed: %r", invitation.pk, error)
            self.close_mail()  # the session may be broken; the next send opens a fresh one
            dispatch.record_failure(invitation, now, f"{type(error).__name__}: {error}")
            return True
        dispatch.record_sent(invitation, now)
        return True

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
        self.close_mail()
        log.info("dispatcher: stopped")
