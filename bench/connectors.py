"""Connectors take orders about as fast as the events API, measured in the same run.

    .venv/bin/python bench/connectors.py [--orders 1000] [--rounds 5] [--rows 20000] [--import-rounds 3]
    .venv/bin/python bench/connectors.py --steps s     # only the Shopify half (c: only the CSV half)

Against `reputable serve --no-dispatcher` (bench/ingest.py's server, a fresh temporary
SQLite), one keep-alive client. Two halves, each in rounds on the same server, the two sides
of a round run back to back (which one first alternates from round to round); each round
gives a ratio and the median of the rounds' ratios is judged.

Shopify (s), the same Shopify orders (the real payload of
reputable/integrations/tests/fixtures, one id each) both ways, one order per request:

  A  POST /api/v1/events, the order as an event of its own (references E-...)
  s  POST /connectors/<key>/ as Shopify sends `orders/create`: its raw JSON body, signed
     (X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body with the webhook secret), with a
     webhook id and topic (other order ids, so that both record)          target >= 0.5 x A

CSV import (c), the same rows (one order with one product per row; their own references and
addresses on each side and in each round, so that both record everything):

  B  POST /api/v1/events/batch, 1,000 rows as events per request (the API's limit)
  c  the rows as a CSV file: POST /api/v1/imports (multipart, with a mapping), then the
     dispatcher's steps (`Command().handle_one()` of `reputable dispatch`, in this process,
     on the server's database) until it finds no work: the whole file checked, then
     recorded                                                              target >= 0.5 x B

Before the rounds, untimed warm-up: 50 orders each way, one batch and one import of 1,000
rows. Prints every round and the medians; exits non-zero when a target or a check fails
(every request, batch and import recorded each of its orders once). The Shopify half uses the
standard library only; the CSV half runs the project's dispatcher in-process.
"""

import argparse
import base64
import copy
import datetime as dt
import functools
import hashlib
import hmac
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Server, app_env, running_server  # noqa: E402 - bench/ is not a package

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "reputable/integrations/tests/fixtures/shopify/shopify_python_api__order.json"
TARGET = 0.5
SECRET = "shpss_bench_webhook_secret"
BATCH = 1000  # the batch API's limit (reputable.events.api.MAX_BATCH)
WARMUP_ORDERS = 50
WARMUP_ROWS = 1000
CSV_HEADER = ["Order number", "Order date", "Email", "First name", "Last name", "SKU", "Product"]
CSV_MAPPING = {
    "reference": "Order number",
    "date": "Order date",
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "product_sku": "SKU",
    "product_name": "Product",
}


# --- requests -----------------------------------------------------------------------------------


def shopify_order(order_id: int, created_at: str) -> dict:
    """The fixture's order as another one: its own id, a recent date, its own customer."""
    order = copy.deepcopy(json.loads(FIXTURE.read_text())["order"])
    order.update(id=order_id, created_at=created_at, email=f"buyer-{order_id}@example.nl")
    return order


def shopify_signature(secret: str, body: bytes) -> str:
    # Shopify's side: base64 of the HMAC-SHA256 digest of the raw body, keyed with the secret.
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Client:
    """One keep-alive connection to the server."""

    def __init__(self, server: Server) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        self.auth = {"Authorization": f"Bearer {server.api_key}"}

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        self.conn.request(method, path, body, {**self.auth, "Content-Type": "application/json", **(headers or {})})
        response = self.conn.getresponse()
        answer = json.loads(response.read())
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {answer}")
        return answer

    def timed(self, requests: list[tuple[str, bytes, dict[str, str]]], check: Callable[[Any], bool]) -> float:
        """POST each (path, body, headers) in turn; the seconds it took. Every answer must pass `check`."""
        start = time.perf_counter()
        for path, body, headers in requests:
            answer = self.call("POST", path, body, headers)
            if not check(answer):
                raise SystemExit(f"{path}: {str(answer)[:500]}")
        return time.perf_counter() - start

    def close(self) -> None:
        self.conn.close()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` and one file; the body and its Content-Type."""
    boundary = "reputable-bench-" + hashlib.sha256(content).hexdigest()[:24]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --- rounds -----------------------------------------------------------------------------------


@dataclass
class Half:
    """Rounds of one comparison: the seconds of each side per round."""

    unit: str
    count: int  # orders or rows per side and round
    base: str
    side: str
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (base seconds, side seconds)

    def ratios(self) -> list[float]:
        return [base / side for base, side in self.rounds]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios())

    def rate(self, which: int) -> float:
        return statistics.median(self.count / r[which] for r in self.rounds)

    def report(self, labels: tuple[str, str]) -> bool:
        for i, (base, side) in enumerate(self.rounds, 1):
            print(
                f"   round {i}: {self.base} {self.count / base:7.0f} {self.unit}/s,"
                f"  {self.side} {self.count / side:7.0f} {self.unit}/s,  {base / side:.2f} x {self.base}"
            )
        ok = self.ratio >= TARGET
        print(f"{self.base}  {labels[0]:<58} {self.rate(0):8.0f} {self.unit}/s   (median)")
        print(
            f"{self.side}  {labels[1]:<58} {self.rate(1):8.0f} {self.unit}/s   median {self.ratio:.2f} x {self.base}"
            f" (rounds {min(self.ratios()):.2f}-{max(self.ratios()):.2f})   target >= {TARGET} x {self.base}:"
            f" {'PASS' if ok else 'FAIL'}"
        )
        return ok


def in_turn(round_no: int, first: Callable[[], float], second: Callable[[], float]) -> tuple[float, float]:
    """Both sides of a round, the first side first in even rounds and last in odd ones."""
    if round_no % 2 == 0:
        a = first()
        return a, second()
    b = second()
    return first(), b


def shopify_half(server: Server, args: argparse.Namespace, checks: list[tuple[str, bool]]) -> Half:
    client = Client(server)
    url = client.call("POST", "/api/v1/connectors", json.dumps({"platform": "shopify", "secret": SECRET}).encode())[
        "url"
    ]
    path = "/" + url.split("/", 3)[3]
    created_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = server.count("events_event")

    def event(n: int) -> tuple[str, bytes, dict[str, str]]:
        order = shopify_order(5_000_000_000_000 + n, created_at)
        body = {
            "type": "checkout",
            "transaction": {"reference": f"E-{n}", "date": created_at},
            "customer": {"email": order["email"], "first_name": "Bob", "last_name": "Norman"},
            "products": [{"sku": i["sku"] or "", "name": i["name"]} for i in order["line_items"]],
        }
        return "/api/v1/events", json.dumps(body).encode(), {}

    def webhook(n: int) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps(shopify_order(6_000_000_000_000 + n, created_at)).encode()
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body),
            "X-Shopify-Webhook-Id": f"bench-{n}",
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
        }
        return path, body, headers

    def created(answer: dict) -> bool:
        return answer.get("outcome") != "" and "event_id" in answer

    def recorded(answer: dict) -> bool:
        return answer == {"status": "recorded", "events": 1}

    # Untimed: the worker behind the connection loads and builds what both paths need.
    client.timed([event(-n - 1) for n in range(WARMUP_ORDERS)], created)
    client.timed([webhook(-n - 1) for n in range(WARMUP_ORDERS)], recorded)
    half = Half("orders", args.orders, "A", "s")
    for r in range(args.rounds):
        numbers = range(r * args.orders, (r + 1) * args.orders)
        events, hooks = [event(n) for n in numbers], [webhook(n) for n in numbers]  # built before the clock
        half.rounds.append(
            in_turn(
                r,
                functools.partial(client.timed, events, created),
                functools.partial(client.timed, hooks, recorded),
            )
        )
    client.close()
    stored = server.count("events_event") - before
    expected = 2 * (WARMUP_ORDERS + args.rounds * args.orders)
    checks.append((f"s: {stored} events recorded, {expected} expected (every request one)", stored == expected))
    return half


def csv_rows(prefix: str, n: int, date: str) -> list[list[str]]:
    """n orders of one product each, as the CSV's rows (and the batches' events) carry them."""
    return [
        [f"{prefix}-{i}", date, f"{prefix.lower()}-{i}@example.nl", "Jan", "Visser", f"TEA-{i % 20}", "Green tea"]
        for i in range(n)
    ]


def batch_bodies(rows: list[list[str]]) -> list[bytes]:
    bodies: list[bytes] = []
    for start in range(0, len(rows), BATCH):
        events = [
            {
                "type": "checkout",
                "transaction": {"reference": reference, "date": date},
                "customer": {"email": email, "first_name": first, "last_name": last},
                "products": [{"sku": sku, "name": name}],
            }
            for reference, date, email, first, last, sku, name in rows[start : start + BATCH]
        ]
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def csv_file(rows: list[list[str]]) -> bytes:
    lines = [",".join(CSV_HEADER), *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def csv_half(server: Server, args: argparse.Namespace, checks: list[tuple[str, bool]]) -> Half:
    # The dispatcher of this process works on the server's database (its data folder).
    env = app_env(server.data_dir)
    for name in set(os.environ) - set(env):  # DATABASE_URL and the like, which the server was not given
        del os.environ[name]
    os.environ.update(env)
    import django

    django.setup()
    from reputable.dispatch.management.commands.dispatch import Command

    command = Command()
    client = Client(server)
    # A date without offset is the shop's local time, in the CSV as in the API: an hour or
    # two ago wherever the shop is.
    date = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")
    imports: list[dict] = []

    def batches(rows: list[list[str]]) -> Callable[[], float]:
        no_headers: dict[str, str] = {}
        bodies = [("/api/v1/events/batch", body, no_headers) for body in batch_bodies(rows)]
        return lambda: client.timed(bodies, lambda a: a["created"] == len(a["results"]) and a["rejected"] == 0)

    def csv_import(rows: list[list[str]]) -> Callable[[], float]:
        body, content_type = multipart({"mapping": json.dumps(CSV_MAPPING)}, "orders.csv", csv_file(rows))

        def run() -> float:
            start = time.perf_counter()
            imp = client.call("POST", "/api/v1/imports", body, {"Content-Type": content_type})
            steps = 0
            while command.handle_one():
                steps += 1
            elapsed = time.perf_counter() - start
            imports.append({**client.call("GET", f"/api/v1/imports/{imp['id']}"), "steps": steps, "rows": len(rows)})
            return elapsed

        return run

    before = server.count("events_event")
    batches(csv_rows("WB", WARMUP_ROWS, date))()
    csv_import(csv_rows("WC", WARMUP_ROWS, date))()
    half = Half("rows", args.rows, "B", "c")
    for r in range(args.import_rounds):
        half.rounds.append(
            in_turn(r, batches(csv_rows(f"B{r}", args.rows, date)), csv_import(csv_rows(f"C{r}", args.rows, date)))
        )
    client.close()
    command.worker.idle()
    for imp in imports:
        ok = imp["status"] == "done" and imp["created"] == imp["rows"] == imp["rows_done"] and not imp["error_count"]
        checks.append(
            (
                f"c: import {imp['id']} {imp['status']}, {imp['created']} of {imp['rows']} rows created,"
                f" {imp['error_count']} bad, in {imp['steps']} dispatcher steps",
                ok,
            )
        )
    stored = server.count("events_event") - before
    expected = 2 * (WARMUP_ROWS + args.import_rounds * args.rows)
    checks.append((f"c: {stored} events recorded, {expected} expected (every row once each way)", stored == expected))
    return half


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="sc", help="halves to run: s (Shopify), c (CSV import); default both")
    parser.add_argument("--orders", type=int, default=1000, help="orders each way per Shopify round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="Shopify rounds (default 5)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows each way per import round (default 20000)")
    parser.add_argument("--import-rounds", type=int, default=3, help="CSV import rounds (default 3)")
    args = parser.parse_args()
    checks: list[tuple[str, bool]] = []
    verdicts = []
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="reputable-bench-connectors-") as tmp,
        running_server(Path(tmp), None) as server,
    ):
        if "s" in args.steps:
            print(f"Shopify: {args.rounds} rounds of {args.orders} orders each way, one per request", flush=True)
            half = shopify_half(server, args, checks)
            verdicts.append(
                half.report(("POST /api/v1/events, one order each", "Shopify orders/create webhooks, signed"))
            )
        if "c" in args.steps:
            print(f"CSV import: {args.import_rounds} rounds of {args.rows} rows each way", flush=True)
            half = csv_half(server, args, checks)
            verdicts.append(
                half.report(
                    (
                        f"POST /api/v1/events/batch, {BATCH} rows per request",
                        "CSV import: upload + dispatcher steps until done",
                    )
                )
            )
    for label, passed in checks:
        print(f"check  {'PASS' if passed else 'FAIL'}  {label}")
    ok = all(verdicts) and all(passed for _label, passed in checks)
    print(f"\ntotal run time {time.perf_counter() - started:.1f}s\nRESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
