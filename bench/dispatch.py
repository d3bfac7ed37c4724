"""Dispatcher throughput against a bare smtplib loop measured in the same run.

    .venv/bin/python bench/dispatch.py [--messages 1000] [--subprocess [K]] [--profile TOP]

1. An aiosmtpd sink on 127.0.0.1 (background thread) accepts and counts messages, and keeps
   the envelope and bytes of each.
2. The app, in-process against a fresh temporary SQLite database: a shop whose checkout rule
   sends at once (delay 0 minutes, no reminders, frequency cap 0), N checkout events ingested
   through the batch API with Django's test client (not timed), then the dispatcher's
   `Command().handle_one()` called until it finds no work (timed). The sink must receive
   exactly N messages and every invitation must be completed. Run --repeat times (N new
   events each time); the fastest pass counts.
3. Baseline: one smtplib.SMTP connection sends the very messages the sink received from the
   app (same envelopes, same bytes, in the same order) into the same sink. For context only,
   a loop that builds messages of about the same size with the stdlib email package and
   sends them is timed too.
   With --subprocess [K], N more events are ingested and K concurrent `reputable dispatch`
   passes (default 1) run as subprocesses; their wall time (with interpreter and Django
   start-up) and the span between the first and the last message at the sink are reported,
   for information, with a check that each invitation was sent exactly once.

Target: the dispatcher sends at least 0.5x as many messages per second as the baseline.
Exits non-zero when the target or a check fails.
"""

import argparse
import asyncio
import cProfile
import datetime as dt
import os
import pstats
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5


class Sink:
    """An aiosmtpd handler that accepts every message and counts it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.count = 0
            self.bytes = 0
            self.first = 0.0  # perf_counter() of the first and the last message
            self.last = 0.0
            self.recipients: set[str] = set()
            self.kept: list[tuple[str, str, bytes]] = []  # (sender, recipient, bytes) of each

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        now = time.perf_counter()
        with self.lock:
            self.count += 1
            self.bytes += len(envelope.content)
            self.recipients.update(envelope.rcpt_tos)
            self.kept.append((envelope.mail_from, envelope.rcpt_tos[0], envelope.original_content))
            if self.count == 1:
                self.first = now
            self.last = now
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(sink: Sink):  # noqa: ANN201
    from aiosmtpd.controller import Controller

    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), loop=asyncio.new_event_loop())
    controller.start()  # its own thread and event loop
    return controller


# --- baseline -----------------------------------------------------------------------------------


def built_messages(n: int) -> list[tuple[str, str, bytes]]:
    """N multipart text + html messages of about 3 KB, shaped like an invitation (reference row)."""
    paragraph = (
        "thank you for your order {ref} at Bench shop. How was your experience with the shop and"
        " the products you bought? Your review helps other shoppers, whatever it says."
    )
    order = "Your order: Green tea (TEA-1), 2 x 100 g; Jasmine tea (TEA-7), 1 x 50 g."
    messages = []
    for i in range(n):
        ref = f"B{i:06d}"
        url = f"http://localhost:8000/r/{'x' * 32}{i:06d}"
        msg = EmailMessage()
        msg["Subject"] = "How was your order at Bench shop?"
        msg["From"] = "Bench shop <reviews@localhost>"
        msg["To"] = f"customer-{ref}@example.nl"
        msg["Message-ID"] = make_msgid(domain="localhost")
        msg["List-Unsubscribe"] = f"<http://localhost:8000/u/{'x' * 32}{i:06d}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Content-Language"] = "en"
        text = f"Hello Jan,\n\n{paragraph.format(ref=ref)}\n\n{order}\n\nWrite your review: {url}\n\n-- \n" + (
            "You receive this email because you ordered at Bench shop. You may object to further"
            f" review requests at any time, free of charge: {url}\n"
        )
        html = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>How was your order?</title></head>"
            "<body style='font-family: sans-serif; line-height: 1.5; color: #222; max-width: 36em'>"
            f"<p>Hello Jan,</p><p>{paragraph.format(ref=ref)}</p>"
            f"<p style='margin: 1.5em 0; color: #444'>{order}</p>"
            f"<p>Write your review: <a href='{url}'>{url}</a></p>"
            f"<p><a href='{url}' style='display: inline-block; padding: .6em 1.2em; background: #1a5fb4;"
            " color: #fff; text-decoration: none; border-radius: 4px'>Write your review</a></p>"
            "<hr><p style='font-size: small; color: #555'>You receive this email because you ordered at"
            " Bench shop, which invites its customers to review their orders. You may object to further"
            f" review requests at any time, free of charge: <a href='{url}'>{url}</a></p></body></html>"
        )
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        messages.append(("reviews@localhost", msg["To"], msg.as_bytes(policy=SMTP)))
    return messages


def baseline(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipient, data in messages:
            smtp.sendmail(sender, [recipient], data)
    return time.perf_counter() - start


# --- the app --------------------------------------------------------------------------------------


def setup_django(data_dir: Path, smtp_port: int) -> None:
    os.environ.update(
        REPUTABLE_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="reputable.settings",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("DATABASE_URL", None)  # SQLite in the fresh folder, whatever the shell says
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def prepare_shop():  # noqa: ANN201 - a django.test.Client
    """A shop that invites at once: checkout rule with no delay and no reminders, no frequency cap."""
    from django.test import Client

    from reputable.shops.actions import create_shop

    _shop, key = create_shop(name="Bench shop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", SERVER_NAME="localhost")
    [rule] = expect(client.get("/api/v1/event-types/checkout/rules"), 200)
    expect(
        client.patch(
            f"/api/v1/rules/{rule['id']}",
            {"delay_amount": 0, "delay_unit": "minutes", "reminder_count": 0},
            content_type="application/json",
        ),
        200,
    )
    expect(client.patch("/api/v1/shop", {"frequency_cap_days": 0}, content_type="application/json"), 200)
    return client


def expect(response, status: int):  # noqa: ANN001, ANN201
    if response.status_code != status:
        raise SystemExit(f"{response.request['PATH_INFO']}: {response.status_code} {response.content[:500]!r}")
    return response.json()


def ingest(client, n: int, prefix: str) -> None:  # noqa: ANN001
    date = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for start in range(0, n, 1000):
        events = [
            {
                "type": "checkout",
                "transaction": {"reference": f"{prefix}{i}", "date": date},
                "customer": {
                    "email": f"customer-{prefix}{i}@example.nl",
                    "first_name": "Jan",
                    "last_name": "Visser",
                    "locale": "nl",
                },
                "products": [{"sku": f"TEA-{i % 20}", "name": "Green tea"}],
            }
            for i in range(start, min(n, start + 1000))
        ]
        answer = expect(client.post("/api/v1/events/batch", {"events": events}, content_type="application/json"), 200)
        if answer["created"] != len(events):
            raise SystemExit(f"ingestion: {answer['created']} of {len(events)} created: {answer['results'][:2]}")


def pending_due() -> int:
    from django.utils import timezone

    from reputable.invitations.models import Invitation

    return Invitation.objects.due(timezone.now()).count()


def dispatch_in_process(profile: cProfile.Profile | None = None) -> tuple[float, int]:
    from reputable.dispatch.management.commands.dispatch import Command

    command = Command()
    steps = 0
    if profile is not None:
        profile.enable()
    start = time.perf_counter()
    while command.handle_one():
        steps += 1
    command.worker.idle()
    elapsed = time.perf_counter() - start
    if profile is not None:
        profile.disable()
    return elapsed, steps


def dispatch_subprocesses(data_dir: Path, smtp_port: int, count: int) -> tuple[float, list[str]]:
    """`count` concurrent `reputable dispatch` passes; their wall time, start-up included."""
    env = dict(os.environ, REPUTABLE_DATA_DIR=str(data_dir), EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}")
    command = [sys.executable, "-m", "reputable.cli", "dispatch"]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    outputs = [p.communicate() for p in processes]
    elapsed = time.perf_counter() - start
    for p, (_out, err) in zip(processes, outputs, strict=True):
        if p.returncode:
            raise SystemExit(f"reputable dispatch failed ({p.returncode}):\n{err}")
    return elapsed, [out.strip() for out, _err in outputs]


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    seconds: float
    messages: int
    size: float = 0.0
    target: float | None = None  # minimum ratio to the baseline, when this row is judged

    def passed(self, base_rate: float) -> bool:
        return self.target is None or self.messages / self.seconds / base_rate >= self.target

    def line(self, base_rate: float) -> str:
        rate = self.messages / self.seconds
        size = f"{self.size:.0f}B" if self.size else ""
        ratio = f"{rate / base_rate:.3f}x"
        verdict = ""
        if self.target is not None:
            verdict = f"{'>= ' + str(self.target):>7}  {'PASS' if self.passed(base_rate) else 'FAIL'}"
        return f"{self.label:<56} {self.seconds:>8.3f} {rate:>8.0f} {size:>9} {ratio:>7} {verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", "-n", type=int, default=1000, help="messages per measurement (default 1000)")
    parser.add_argument(
        "--subprocess",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="K",
        help="also run K concurrent `reputable dispatch` passes as subprocesses (default K=1), for information",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="baseline runs and app passes, the fastest of each counts (default 3)"
    )
    parser.add_argument(
        "--profile", type=int, metavar="TOP", default=0, help="run the in-process pass under cProfile, print TOP lines"
    )
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key for --profile (default cumulative)")
    args = parser.parse_args()
    n = args.messages
    checks: list[tuple[str, bool]] = []
    rows: list[Row] = []
    started = time.perf_counter()

    sink = Sink()
    controller = start_sink(sink)
    port = controller.port
    temp = tempfile.TemporaryDirectory(prefix="reputable-bench-dispatch-")
    data_dir = Path(temp.name)
    profile = cProfile.Profile() if args.profile else None
    try:
        step(f"app: shop, rule due at once; {args.repeat} x ({n} events ingested (not timed), dispatched)")
        setup_django(data_dir, port)
        client = prepare_shop()
        from reputable.invitations.models import Invitation

        app_runs: list[float] = []
        sent: list[tuple[str, str, bytes]] = []
        for r in range(args.repeat):  # the fastest pass counts, as for the baseline
            ingest(client, n, f"A{r}-")
            due = pending_due()
            checks.append((f"app pass {r + 1}: {due} invitations due before it (expected {n})", due == n))
            sink.reset()
            seconds, steps = dispatch_in_process(profile if r == 0 else None)
            app_runs.append(seconds)
            sent = sent or sink.kept
            checks.append((f"app pass {r + 1}: handle_one() found work {steps} times (expected {n})", steps == n))
            checks.append(
                (f"app pass {r + 1}: the sink received {sink.count} messages (expected {n})", sink.count == n)
            )
            checks.append(
                (
                    f"app pass {r + 1}: {len(sink.recipients)} distinct recipients (expected {n})",
                    len(sink.recipients) == n,
                )
            )
        app = Row(
            "app: Command().handle_one() loop, in-process",
            min(app_runs),
            n,
            len(b"".join(m[2] for m in sent)) / n,
            TARGET,
        )
        completed = Invitation.objects.filter(status=Invitation.Status.COMPLETED).count()
        total = n * args.repeat
        checks.append((f"app: {completed} invitations completed (expected {total})", completed == total))

        if not sent:
            raise SystemExit("the app sent nothing: no baseline to compare with")
        step(f"baseline: smtplib, the app's {len(sent)} messages again over one connection")
        runs, received = [], []
        for _ in range(args.repeat):  # the fastest run counts: the baseline errs on the fast side
            sink.reset()
            runs.append(baseline(port, sent))
            received.append(sink.kept == sent)
        checks.append((f"baseline: the sink received the app's messages, byte for byte: {received}", all(received)))
        rows.append(
            Row("baseline: smtplib.sendmail of the app's bytes, 1 connection", min(runs), len(sent), sink.bytes / n)
        )
        rows.append(app)

        step("reference: building each message with the email package, then sending it")
        sink.reset()
        start = time.perf_counter()
        baseline(port, built_messages(n))
        rows.append(Row("(reference: stdlib email build + send, not a target)", time.perf_counter() - start, n))

        if args.subprocess:
            k = args.subprocess
            step(f"app: {n} more events, then {k} concurrent `reputable dispatch` subprocess(es)")
            ingest(client, n, "S")
            from django.db import connections

            connections.close_all()  # the subprocesses write to the same SQLite file
            sink.reset()
            seconds, outputs = dispatch_subprocesses(data_dir, port, k)
            span = sink.last - sink.first
            rows.append(Row(f"app: {k} x `reputable dispatch`, wall time with start-up", seconds, n))
            rows.append(Row("app: same, first to last message at the sink", span, n - 1))
            fresh = len({r for r in sink.recipients if r.startswith("customer-S")})
            said = "; ".join(outputs)
            checks.append((f"subprocess: the sink received {sink.count} messages ({said})", sink.count == n))
            checks.append((f"subprocess: {fresh} distinct new recipients (expected {n})", fresh == n))
    finally:
        controller.stop()
        from django.db import connections

        connections.close_all()
        temp.cleanup()

    base_rate = rows[0].messages / rows[0].seconds
    print()
    print(f"Reputable dispatch benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {n} messages)")
    header = f"{'measurement':<56} {'seconds':>8} {'msgs/s':>8} {'avg size':>9} {'ratio':>7} {'target':>7}  result"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(row.line(base_rate))
    if profile is not None:
        print("\n(the in-process pass ran under cProfile: its time above is inflated)\n")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
    print()
    for label, ok in checks:
        print(f"check  {'PASS' if ok else 'FAIL'}  {label}")
    ok = all(r.passed(base_rate) for r in rows) and all(ok for _label, ok in checks)
    print(f"\ntotal run time {time.perf_counter() - started:.1f}s")
    print("\nRESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def step(title: str) -> None:
    print(f"... {title}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
