import json
import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from reputable.demo import DEMO_OWNER, DEMO_PASSWORD, prepare_demo


class Command(BaseCommand):
    help = "Run the platform with a demo shop, sample reviews, a fresh API key and a local mailbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://{options['host']}:{options['port']}"
        call_command("migrate", interactive=False, verbosity=0)
        shop, key = prepare_demo()
        event = {
            "type": "checkout",
            "transaction": {"reference": "DEMO-$(date +%s)", "date": "NOW"},
            "customer": {"email": "you@example.com", "first_name": "Sam", "last_name": "Newcomer", "locale": "en"},
            "products": [{"sku": "TEA-SENCHA", "name": "Sencha green tea"}],
        }
        body = json.dumps(event).replace('"NOW"', '"$(date -u +%Y-%m-%dT%H:%M:%SZ)"')
        self.stdout.write(
            f"""
Reputable demo
  Public profile:  {base}{reverse("profile", args=[shop.slug])}
  Dashboard:       {base}{reverse("account_login")}   (log in as {DEMO_OWNER}, password {DEMO_PASSWORD})
  Demo mailbox:    {base}{reverse("mailbox")}   (every email the demo sends lands here)
  Widgets:         {base}{reverse("demo-shop")}   (a shop page with every widget embedded)
  API docs:        {base}/api/v1/docs
  API key:         {key}

Post an order as a shop system would; its invitation is sent within seconds:

  curl -X POST {base}/api/v1/events \\
    -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\
    -d "{body.replace('"', '\\"')}"

Then open the mailbox, click the review link in the invitation and write your review.
It appears on the public profile at once; log in to the dashboard to answer it.
Stop with Ctrl-C.
"""
        )
        env = {
            **os.environ,
            "BASE_URL": os.environ.get("BASE_URL", base),
            "REPUTABLE_MAILBOX_PAGE": "1",
            "DISPATCH_IDLE_SECONDS": os.environ.get("DISPATCH_IDLE_SECONDS", "1"),
        }
        self.stdout.flush()
        command = [
            sys.executable,
            "-m",
            "reputable.cli",
            "serve",
            "--host",
            options["host"],
            "--port",
            str(options["port"]),
        ]
        os.execvpe(command[0], command, env)
