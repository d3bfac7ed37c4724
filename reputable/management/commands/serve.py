import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from granian import Granian
from granian.constants import Interfaces

# How long the web workers and the dispatcher get to stop after SIGTERM, each.
STOP_SECONDS = 4


class Command(BaseCommand):
    help = "Serve the web app (granian, WSGI) with the dispatcher beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per CPU)")
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Python threads per worker (default 1: more only contend for the GIL)",
        )
        parser.add_argument("--no-dispatcher", action="store_true", help="run the web app only")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
            # The embedded database belongs to this process: keep it current. A shared
            # PostgreSQL is migrated deliberately (`reputable migrate`) before deploys.
            call_command("migrate", interactive=False, verbosity=0)
        dispatcher = None
        if not options["no_dispatcher"]:
            dispatcher = subprocess.Popen([sys.executable, "-m", "reputable.cli", "dispatch", "--loop"])
        self.stdout.write(f"Reputable on http://{options['host']}:{options['port']}/")
        try:
            Granian(
                "reputable.wsgi:application",
                address=options["host"],
                port=options["port"],
                interface=Interfaces.WSGI,
                workers=options["workers"],
                blocking_threads=options["threads"],
                # On SIGTERM a worker finishes its requests; one held up (by an idle
                # keep-alive connection, say) is killed after this many seconds.
                workers_kill_timeout=STOP_SECONDS,
            ).serve()
        finally:
            if dispatcher is not None:
                dispatcher.terminate()  # it stops after the current step and gives back its claims
                try:
                    dispatcher.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    dispatcher.kill()  # what it had claimed is taken again when the lease runs out
                    dispatcher.wait()
