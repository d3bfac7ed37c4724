"""Webhook deliveries by the dispatcher against a bare httpx loop, measured in the same run.

    .venv/bin/python bench/webhooks.py [--messages 2000] [--rounds 5] [--profile TOP [--sort tottime]]

1. A receiver on 127.0.0.1, in a subprocess of its own (so that it takes no time from the
   timed side's interpreter): a threaded http.server, HTTP/1.1 keep-alive, answering every POST
   204 and counting the requests and their distinct `webhook-id`s (`GET /stats`, `POST /reset`).
2. The app, in-process against a fresh temporary SQLite database: a shop and one endpoint
   (made by reputable.webhooks.actions.create_endpoint, listening to `review.created`, at the
   receiver's URL; OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8). Each round, N messages of about
   the size of a real `review.created` are made by `reputable.webhooks.events.emit` in one
   transaction (not timed), then `Worker([Deliveries]).handle_one()` is called until it finds
   no work (timed): claim, recheck, sign, POST through the SSRF-safe outbound client on one
   kept-open connection, record the delivery and its attempt.
3. Baseline: one `httpx.Client` posts the same round's bodies with the same headers
   (`webhook-id`, `webhook-timestamp`, `webhook-signature`, signed before the loop, not timed)
   to the same receiver, one after another, on one connection.

The two sides of a round run back to back, which one first alternating from round to round;
each round gives a ratio (app deliveries/s over baseline posts/s) and the median of the
rounds' ratios is judged. Untimed warm-up first: 100 messages each way.
Target: at least 0.5x. Checks: the receiver got N requests with N distinct webhook-ids from
each side in each round; every delivery succeeded, with one attempt each.
Exits non-zero when the target or a check fails.
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5
WARMUP = 100
EVENT_TYPE = "review.created"


# --- the receiver (its own process) -----------------------------------------------------------


def serve(port: int) -> None:
    """Answer every POST 204 on one keep-alive connection per client; count what came."""
    ids: set[str] = set()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/reset":
                ids.clear()
                count[0] = 0
            else:
                count[0] += 1
                ids.add(self.headers.get("webhook-id", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"count": count[0], "ids": len(ids)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


class Receiver:
    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the receiver did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.port}/reset", b"", method="POST"))

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats") as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- the app ----------------------------------------------------------------------------------


def setup_django(data_dir: Path) -> None:
    os.environ.update(
        REPUTABLE_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="reputable.settings",
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("DATABASE_URL", None)  # SQLite in the fresh folder, whatever the shell says
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def prepare(url: str) -> Any:
    """A shop with one endpoint at `url`, listening to EVENT_TYPE; the endpoint."""
    from django.utils import timezone

    from reputable.shops.actions import create_shop
    from reputable.webhooks.actions import create_endpoint

    shop, _key = create_shop(name="Bench shop")
    return create_endpoint(shop=shop, url=url, event_types=[EVENT_TYPE], description="bench", now=timezone.now())


def review_data(i: int) -> dict[str, Any]:
    """About the data of a real `review.created`."""
    return {
        "id": 100000 + i,
        "reference": f"B-{i:06d}",
        "rating": 1 + i % 5,
        "title": "Lovely tea, quickly delivered",
        "body": "The green tea arrived within two days, well packed and fresh. " * 3,
        "language": "de",
        "verified": True,
        "reviewer": {"name": "Jan V.", "country": "DE"},
        "products": [{"sku": "TEA-1", "name": "Green tea", "rating": 5, "body": "Mild and fresh."}],
        "created_at": "2026-12-03T09:00:00Z",
        "url": f"https://reputable.example/p/bench-shop#review-{100000 + i}",
    }


def make_messages(endpoint: Any, n: int, start: int) -> list[Any]:
    from django.db import transaction

    from reputable.webhooks.events import emit

    with transaction.atomic():
        return emit(endpoint.shop_id, [(EVENT_TYPE, review_data(start + i)) for i in range(n)])


def deliver(profile: cProfile.Profile | None = None) -> tuple[float, int]:
    """Worker([Deliveries]).handle_one() until no work; seconds and steps."""
    from reputable.dispatch.work import Worker
    from reputable.webhooks.dispatch import Deliveries

    worker = Worker([Deliveries])
    steps = 0
    if profile is not None:
        profile.enable()
    start = time.perf_counter()
    while worker.handle_one():
        steps += 1
    elapsed = time.perf_counter() - start
    if profile is not None:
        profile.disable()
    for kind in worker.kinds:
        kind.settle()
    return elapsed, steps


def signed(endpoint: Any, messages: list[Any]) -> list[tuple[bytes, dict[str, str]]]:
    """Each message's body and the headers the dispatcher sends with it, signed now."""
    from django.utils import timezone

    from reputable.webhooks.dispatch import signatures

    at = timezone.now()
    return [
        (
            m.body.encode(),
            {
                "content-type": "application/json",
                "user-agent": "Reputable-Webhooks",
                "webhook-id": m.uid,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signatures(endpoint, m.uid, at, m.body),
            },
        )
        for m in messages
    ]


def baseline(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> float:
    import httpx

    with httpx.Client(timeout=15) as client:
        start = time.perf_counter()
        for body, headers in requests:
            answer = client.post(url, content=body, headers=headers)
            if answer.status_code != 204:
                raise SystemExit(f"baseline: HTTP {answer.status_code}")
        return time.perf_counter() - start


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Rounds:
    n: int
    seconds: list[tuple[float, float]] = field(default_factory=list)  # (baseline, app)

    def ratios(self) -> list[float]:
        return [base / app for base, app in self.seconds]

    def rate(self, which: int) -> float:
        return statistics.median(self.n / s[which] for s in self.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", "-n", type=int, default=2000, help="messages per side and round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each side once per round (default 5)")
    parser.add_argument("--profile", type=int, metavar="TOP", default=0, help="profile the app side, print TOP lines")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key for --profile (default cumulative)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the receiver's process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    n = args.messages
    checks: list[tuple[str, bool]] = []
    rounds = Rounds(n)
    profile = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    receiver = Receiver()
    temp = tempfile.TemporaryDirectory(prefix="reputable-bench-webhooks-")
    try:
        setup_django(Path(temp.name))
        from reputable.webhooks.models import Attempt, Delivery

        endpoint = prepare(receiver.url)
        step(f"warm-up: {WARMUP} messages each way")
        baseline(receiver.url, signed(endpoint, make_messages(endpoint, WARMUP, 0)))
        deliver()
        made = WARMUP
        for r in range(args.rounds):
            messages = make_messages(endpoint, n, made)
            made += n
            requests = signed(endpoint, messages)
            side: dict[str, float] = {}
            for name in ("app", "baseline") if r % 2 == 0 else ("baseline", "app"):
                receiver.reset()
                if name == "app":
                    side[name], steps = deliver(profile if r == 0 else None)
                    checks.append((f"round {r + 1}: handle_one() found work {steps} times (expected {n})", steps == n))
                else:
                    side[name] = baseline(receiver.url, requests)
                got = receiver.stats()
                checks.append(
                    (
                        f"round {r + 1} {name}: the receiver got {got['count']} requests, {got['ids']} webhook-ids"
                        f" (expected {n})",
                        got["count"] == got["ids"] == n,
                    )
                )
            rounds.seconds.append((side["baseline"], side["app"]))
            print(
                f"round {r + 1}: baseline {side['baseline']:.3f}s, app {side['app']:.3f}s,"
                f" ratio {side['baseline'] / side['app']:.3f}x",
                file=sys.stderr,
                flush=True,
            )
        total = made
        succeeded = Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count()
        checks.append((f"{succeeded} deliveries succeeded (expected {total})", succeeded == total))
        attempts = Attempt.objects.count()
        checks.append((f"{attempts} attempts kept (expected {total}: one each)", attempts == total))
    finally:
        receiver.stop()
        from django.db import connections

        connections.close_all()
        temp.cleanup()

    ratio = statistics.median(rounds.ratios())
    print()
    print(
        f"Reputable webhooks benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
        f" {n} messages x {args.rounds} rounds)"
    )
    header = f"{'measurement (median of rounds)':<58} {'msgs/s':>8} {'ratio':>7} {'target':>7}  result"
    print(header)
    print("-" * len(header))
    print(f"{'baseline: httpx.Client loop, same signed bodies, 1 connection':<58} {rounds.rate(0):>8.0f} {1:>6.3f}x")
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    app_label = "app: Worker([Deliveries]).handle_one() loop, in-process"
    print(f"{app_label:<58} {rounds.rate(1):>8.0f} {ratio:>6.3f}x {'>= ' + str(TARGET):>7}  {verdict}")
    print("rounds' ratios: " + ", ".join(f"{x:.3f}x" for x in rounds.ratios()))
    if profile is not None:
        print("\n(the app side of round 1 ran under cProfile: its time above is inflated)\n")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
    print()
    for label, ok in checks:
        print(f"check  {'PASS' if ok else 'FAIL'}  {label}")
    ok = ratio >= TARGET and all(ok for _label, ok in checks)
    print(f"\ntotal run time {time.perf_counter() - started:.1f}s")
    print("\nRESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def step(title: str) -> None:
    print(f"... {title}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
