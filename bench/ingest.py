"""Ingestion throughput against raw sqlite3 baselines measured in the same run.

    .venv/bin/python bench/ingest.py [--single 2000] [--clients 4] [--batches 20] ...  (--help)

Steps, each against a fresh temporary REPUTABLE_DATA_DIR (SQLite):

  A  raw sqlite3: one INSERT and one COMMIT per event (WAL, synchronous=NORMAL)
  b  POST /api/v1/events, one event per request, several keep-alive client processes,
     against `reputable serve --no-dispatcher`                              target >= 0.03 x A
  B  raw sqlite3: executemany of all events in one transaction
  d  POST /api/v1/events/batch, 1,000 events per request                      target >= 0.05 x B
  e  the same batches posted again (all duplicates; nothing may be stored)    target >= 1.0 x d
  f  as d, the shop's rule set to the longest delay (260 business days)       target >= 0.5 x d

Prints a table and exits non-zero when a target or a check fails. Standard library only
(plus the project itself, started as a subprocess).
"""

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000

# --- raw sqlite3 baselines ------------------------------------------------------------------

BASELINE_SCHEMA = """
CREATE TABLE event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id INTEGER NOT NULL,
    event_type_id INTEGER NOT NULL,
    transaction_reference TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (event_type_id, transaction_reference)
)
"""
BASELINE_INSERT = (
    "INSERT INTO event (shop_id, event_type_id, transaction_reference, outcome, received_at) VALUES (?, ?, ?, ?, ?)"
)


def baseline_connection(data_dir: Path) -> sqlite3.Connection:
    # The app's pragmas (reputable/settings.py); autocommit off by hand with BEGIN/COMMIT.
    conn = sqlite3.connect(data_dir / "baseline.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-20000")
    conn.execute(BASELINE_SCHEMA)
    return conn


def baseline_rows(n: int) -> list[tuple]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return [(1, 1, f"{i}", "scheduled", now) for i in range(n)]


def baseline_one_commit_each(data_dir: Path, n: int) -> float:
    conn = baseline_connection(data_dir)
    rows = baseline_rows(n)
    start = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")  # as the app: transaction_mode IMMEDIATE
        conn.execute(BASELINE_INSERT, row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == n
    conn.close()
    return elapsed


def baseline_executemany(data_dir: Path, n: int) -> float:
    conn = baseline_connection(data_dir)
    rows = baseline_rows(n)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(BASELINE_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == n
    conn.close()
    return elapsed


# --- the app as a server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of the app under test: SQLite and the file cache under `data_dir`,
    whatever the shell says, and `settings` on top."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "CACHE_URL", "ALLOWED_HOSTS", "TRUST_PROXY_HEADERS"):
        env.pop(name, None)
    env.update(
        REPUTABLE_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="reputable.settings",
        EMAIL_URL=f"filemail://{data_dir / 'mail'}",
        LOG_LEVEL="WARNING",
        **settings,
    )
    return env


def reputable(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reputable.cli", *args],
        cwd=ROOT,
        env=app_env(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@dataclass
class Server:
    port: int
    api_key: str
    data_dir: Path

    def count(self, table: str) -> int:
        with sqlite3.connect(self.data_dir / "reputable.sqlite3") as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@contextmanager
def running_server(data_dir: Path, workers: int | None) -> Iterator[Server]:
    """`reputable serve --no-dispatcher` on a free port, with a new shop and its API key."""
    port = free_port()
    command = [sys.executable, "-m", "reputable.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-dispatcher"] + (["--workers", str(workers)] if workers else [])
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=ROOT, env=app_env(data_dir), stdout=log, stderr=log, start_new_session=True)
    try:
        wait_for_port(port, process, data_dir / "serve.log")
        # serve has migrated the database before it listens
        shop = json.loads(reputable(data_dir, "createshop", "--name", "Bench shop", "--json"))
        yield Server(port=port, api_key=shop["api_key"], data_dir=data_dir)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own session: the server and its workers
            process.wait()
        log.close()


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not listen on port {port} within {timeout}s:\n{log.read_text()}")


# --- load generation ----------------------------------------------------------------------------


def event(reference: str, date: str) -> dict:
    return {
        "type": "checkout",
        "transaction": {"reference": reference, "date": date},
        "customer": {
            "email": f"customer-{reference}@example.nl",
            "first_name": "Jan",
            "last_name": "Visser",
            "locale": "nl",
        },
        "products": [{"sku": f"TEA-{zlib.crc32(reference.encode()) % 20}", "name": "Green tea"}],
    }


def recent_date() -> str:
    # Near now, as the API wants: not in the future, not older than the rule's 90 days.
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ClientResult:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def client(
    port: int,
    api_key: str,
    path: str,
    warmup: list[bytes],
    bodies: list[bytes],
    barrier,  # noqa: ANN001 - a multiprocessing Barrier
    results,  # noqa: ANN001 - a multiprocessing Queue
) -> None:
    """One keep-alive connection: post `warmup` untimed, wait for the others, post `bodies`.

    Requests are prebuilt bytes over a plain socket, so that the load generator, which
    shares the two cores with the server, spends as little CPU as it can.
    """
    conn = socket.create_connection(("127.0.0.1", port), timeout=120)
    reader = conn.makefile("rb")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    result = ClientResult()

    def post(body: bytes, record: bool) -> None:
        conn.sendall(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = reader.read(length)
        if not record:
            return
        result.requests += 1
        result.statuses[status] += 1
        if path.endswith("/batch") and status == 200:
            answer = json.loads(data)
            result.created += answer["created"]
            result.duplicates += answer["duplicates"]
            result.rejected += answer["rejected"]
        elif status >= 400 and len(result.errors) < 3:
            result.errors.append(f"{status} {data[:300]!r}")

    try:
        for body in warmup:
            post(body, record=False)
        barrier.wait()
        for body in bodies:
            post(body, record=True)
    except Exception as error:  # noqa: BLE001 - reported by the parent
        result.errors.append(repr(error))
    finally:
        reader.close()
        conn.close()
        results.put(result)


def load(server: Server, path: str, per_client: list[tuple[list[bytes], list[bytes]]]) -> tuple[float, ClientResult]:
    """Run one client process per (warmup, bodies); the time from all-ready to all-done."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(per_client) + 1)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=client, args=(server.port, server.api_key, path, warmup, bodies, barrier, results))
        for warmup, bodies in per_client
    ]
    for p in processes:
        p.start()
    barrier.wait(timeout=300)
    start = time.perf_counter()
    collected = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - start
    for p in processes:
        p.join()
    total = ClientResult()
    for r in collected:
        total.requests += r.requests
        total.statuses.update(r.statuses)
        total.created += r.created
        total.duplicates += r.duplicates
        total.rejected += r.rejected
        total.errors += r.errors
    return elapsed, total


def encode(obj: object) -> bytes:
    return json.dumps(obj).encode()


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    events: int
    seconds: float
    ratio_to: str = ""  # the key of the row this one is compared with
    target: float | None = None  # minimum ratio, when this row is judged
    ratio: float | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        if self.ratio is None:
            return "n/a"  # its reference step was not run
        return "PASS" if self.ratio >= self.target else "FAIL"


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: dict[str, Row] = {}
        self.checks: list[tuple[str, bool]] = []
        self.date = recent_date()
        self.temp_dirs: list[tempfile.TemporaryDirectory] = []

    def fresh_dir(self, name: str) -> Path:
        d = tempfile.TemporaryDirectory(prefix=f"reputable-bench-{name}-", delete=not self.args.keep)
        self.temp_dirs.append(d)
        return Path(d.name)

    def check(self, label: str, passed: bool) -> None:
        self.checks.append((label, passed))

    def baseline(self, key: str, label: str, measure: Callable[[Path, int], float], n: int) -> None:
        # Best of a few runs, each in a fresh folder: the baseline errs on the fast side.
        seconds = min(measure(self.fresh_dir(key), n) for _ in range(self.args.repeat))
        self.rows[key] = Row(label, n, seconds)

    def single_events(self) -> None:
        # Best of --repeat rounds, each on a fresh server and folder, as for the baselines.
        for _round in range(self.args.repeat):
            self.single_events_round()

    def single_events_round(self) -> None:
        args = self.args
        with running_server(self.fresh_dir("b"), args.workers) as server:
            per_client = []
            for c, n in enumerate(split(args.single, args.clients)):
                # Untimed first requests: the worker behind the connection loads Django, ninja...
                warm = [encode(event(f"w{c}-{i}", self.date)) for i in range(args.warmup)]
                per_client.append((warm, [encode(event(f"s{c}-{i}", self.date)) for i in range(n)]))
            seconds, result = load(server, "/api/v1/events", per_client)
            stored = server.count("events_event")
        self.keep_fastest(Row(f"b  HTTP POST /events, {args.clients} clients", args.single, seconds, "A", 0.03), "b")
        self.check(f"b: every event answered 202 ({dict(result.statuses)})", result.statuses[202] == args.single)
        expected = args.single + args.warmup * args.clients
        self.check(f"b: events table holds {stored} rows (expected {expected})", stored == expected)
        report_errors("b", result)

    def keep_fastest(self, row: Row, key: str) -> bool:
        if key in self.rows and self.rows[key].seconds <= row.seconds:
            return False
        self.rows[key] = row
        return True

    def batches(self) -> None:
        for _round in range(self.args.repeat):
            self.batches_round()

    def batch_bodies(self, prefix: str) -> list[tuple[list[bytes], list[bytes]]]:
        """Per client connection: an untimed warm-up batch, then its share of the batches."""
        per_client, k = [], 0
        for c, n in enumerate(split(self.args.batches, self.args.batch_clients)):
            # One untimed batch per connection first, to warm up the worker behind it.
            warm = [encode({"events": [event(f"w{c}-{i}", self.date) for i in range(BATCH)]})]
            bodies = []
            for _ in range(n):
                bodies.append(encode({"events": [event(f"{prefix}{k}-{i}", self.date) for i in range(BATCH)]}))
                k += 1
            per_client.append((warm, bodies))
        return per_client

    def batches_round(self) -> None:
        args = self.args
        events = args.batches * BATCH
        with running_server(self.fresh_dir("d"), args.workers) as server:
            per_client = self.batch_bodies("d")
            seconds, first = load(server, "/api/v1/events/batch", per_client)
            fastest = self.keep_fastest(
                Row(f"d  HTTP POST /events/batch, {BATCH}/request", events, seconds, "B", 0.05), "d"
            )
            self.check(
                f"d: {first.statuses[200]} of {args.batches} batches answered 200, created {first.created} of {events}",
                first.statuses[200] == args.batches and first.created == events,
            )
            report_errors("d", first)

            before = server.count("events_event")
            # The very same bodies again, without warm-up: the connections' workers are warm.
            seconds, again = load(server, "/api/v1/events/batch", [([], bodies) for _warm, bodies in per_client])
            after = server.count("events_event")
            if fastest:  # e is compared with the d of its own round
                self.rows["e"] = Row("e  the same batches again (duplicates)", events, seconds, "d", 1.0)
            self.check(
                f"e: duplicates {again.duplicates} of {events}, created {again.created}, rejected {again.rejected}",
                again.statuses[200] == args.batches and again.duplicates == events and again.created == 0,
            )
            self.check(f"e: events table unchanged ({before} -> {after} rows)", before == after)
            report_errors("e", again)

    def longest_delay(self) -> None:
        for _round in range(self.args.repeat):
            self.longest_delay_round()

    def longest_delay_round(self) -> None:
        """As d, after the shop's checkout rule was set to the longest delay there is."""
        args = self.args
        events = args.batches * BATCH
        with running_server(self.fresh_dir("f"), args.workers) as server:
            rules = api_call(server, "GET", "/api/v1/event-types/checkout/rules")
            api_call(
                server, "PATCH", f"/api/v1/rules/{rules[0]['id']}", {"delay_amount": 260, "delay_unit": "business_days"}
            )
            seconds, result = load(server, "/api/v1/events/batch", self.batch_bodies("f"))
            with sqlite3.connect(server.data_dir / "reputable.sqlite3") as conn:
                [(earliest,)] = conn.execute("SELECT min(send_at) FROM invitations_invitation").fetchall()
        label = "f  as d, rule of 260 business days"
        self.keep_fastest(Row(label, events, seconds, "d", 0.5), "f")
        self.check(
            f"f: {result.statuses[200]} of {args.batches} batches answered 200, created {result.created} of {events}",
            result.statuses[200] == args.batches and result.created == events,
        )
        year_on = (dt.datetime.now(dt.UTC) + dt.timedelta(days=360)).strftime("%Y-%m-%d")
        self.check(f"f: invitations due a year on (earliest {earliest})", str(earliest) > year_on)
        report_errors("f", result)


def api_call(server: Server, method: str, path: str, body: object = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        method=method,
        data=None if body is None else encode(body),
        headers={"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # loopback only
        return json.loads(answer.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--steps", default="AbBdef", help="steps to run, a subset of AbBdef (default all; e runs with d)"
    )
    parser.add_argument("--baseline-a", type=int, default=50_000, help="rows for baseline A (default 50000)")
    parser.add_argument("--baseline-b", type=int, default=200_000, help="rows for baseline B (default 200000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every step, the fastest counts (default 3)")
    parser.add_argument("--single", type=int, default=2000, help="events posted one per request in b (default 2000)")
    parser.add_argument("--clients", type=int, default=4, help="client processes in b (default 4)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed events per client before b (default 20)")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 events in d and e (default 20)")
    parser.add_argument("--batch-clients", type=int, default=2, help="client processes in d and e (default 2)")
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: what serve picks)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folders")
    args = parser.parse_args()

    started = time.perf_counter()
    run = Run(args)
    if "A" in args.steps:
        step("A: sqlite3, one INSERT + COMMIT per row")
        run.baseline("A", "A  sqlite3 INSERT, 1 commit per row", baseline_one_commit_each, args.baseline_a)
    if "b" in args.steps:
        step(f"b: HTTP, one event per request, {args.clients} client processes")
        run.single_events()
    if "B" in args.steps:
        step("B: sqlite3, executemany in one transaction")
        run.baseline("B", "B  sqlite3 executemany, 1 transaction", baseline_executemany, args.baseline_b)
    if "d" in args.steps:
        step(f"d, e: HTTP batches of {BATCH}, {args.batch_clients} client process(es)")
        run.batches()
    if "f" in args.steps:
        step(f"f: HTTP batches of {BATCH}, the rule at 260 business days")
        run.longest_delay()

    for row in run.rows.values():
        if row.ratio_to in run.rows:
            row.ratio = row.rate / run.rows[row.ratio_to].rate

    print_table(run, time.perf_counter() - started)
    ok = all(r.verdict != "FAIL" for r in run.rows.values()) and all(passed for _label, passed in run.checks)
    print("\nRESULT:", "PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


def step(title: str) -> None:
    print(f"... {title}", file=sys.stderr, flush=True)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def report_errors(label: str, result: ClientResult) -> None:
    for error in result.errors:
        print(f"{label}: {error}", file=sys.stderr)


def print_table(run: Run, total: float) -> None:
    args = run.args
    print()
    print(
        f"Reputable ingestion benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
        f" server workers: {args.workers or 'serve default'})"
    )
    header = f"{'step':<42} {'events':>7} {'seconds':>8} {'events/s':>10} {'ratio':>12} {'target':>8}  result"
    print(header)
    print("-" * len(header))
    for r in run.rows.values():
        ratio = f"{r.ratio:.4f}x {r.ratio_to}" if r.ratio is not None else ""
        target = f">= {r.target:g}" if r.target is not None else ""
        print(f"{r.label:<42} {r.events:>7} {r.seconds:>8.3f} {r.rate:>10.0f} {ratio:>12} {target:>8}  {r.verdict}")
    print()
    for label, passed in run.checks:
        print(f"check  {'PASS' if passed else 'FAIL'}  {label}")
    print(f"\ntotal run time {total:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
