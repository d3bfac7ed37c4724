"""Widgets served by the app and by nginx's micro-cache, against nginx serving the same bytes from disk.

    .venv/bin/python bench/widgets.py [--duration 10] [--repeat 2] [--connections 32] [--quick] (--help)

One run, one load generator (wrk, keep-alive, 32 connections), for the `stars?sku=…` and
`badge` widgets:

  a   nginx serves the app's cached answers as static files: the same bytes, the same
      Content-Type and headers                                                    (baseline)
  b   `reputable serve --no-dispatcher` (its defaults: one worker per CPU) answers them from
      its page cache                                                      target >= 0.15 x a
  c   nginx with the micro-cache of deploy/nginx/reputable.conf (TLS off, its own ports and
      folders, every cache directive as shipped) in front of b            target >= 0.85 x a,
                                                                            p99 <= 10 ms
and, for information: a+ (a with open_file_cache) and c asked for gzip as browsers ask.
Each run also counts the CPU time per request of the server's processes and of wrk.

Before the clock runs, a shop with 200 reviews over the last year (product reviews for a
catalogue of 30 products, most of them for a few) is written in a fresh temporary
REPUTABLE_DATA_DIR (SQLite) through the app's own write paths: the events batch API, the
invitation rule API, `submit_review` (what the review form calls). Every answer is fetched
once to render and store it, and its bytes are checked to be the same through a, b and c.

Then the bytes a browser gets (gzip, through c) of the loader, the styles and each widget,
and of a product page with stars and the reviews widget (target < 15 KB). Checks: the
shipped nginx files pass `nginx -t` with TLS (a self-signed certificate made with openssl)
and serve a widget through a shop's first-party location, 304s for If-None-Match through b
and c, X-Cache-Status, no error answers under load. Exits non-zero when a target or a check
fails. Needs nginx, wrk and openssl (Debian's packages); all traffic stays on 127.0.0.1.
"""

import argparse
import datetime as dt
import grp
import gzip
import json
import os
import pwd
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import app_env, free_port  # the same app environment as the ingestion benchmark

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "deploy" / "nginx" / "reputable.conf"
FIRST_PARTY = ROOT / "deploy" / "nginx" / "shop-first-party.conf"
BASE_URL = "https://reviews.example"
SKUS = [f"TEA-{n:02d}" for n in range(1, 31)]
REVIEWS = 200
TARGET_APP = 0.15
TARGET_MICRO = 0.85
TARGET_PAGE_BYTES = 15 * 1024

# The shop's writing (run in a subprocess with the server's environment: --seed) -------------

FIRST_NAMES = ["Anna", "Jan", "Kasia", "Tom", "Lena", "Pieter", "Sam", "Ola", "Max", "Emma", "Noah", "Mia"]
LAST_NAMES = ["Berger", "Visser", "Nowak", "Baker", "Schmidt", "de Vries", "Jones", "Müller", "Smith", "Jansen"]
TEAS = ["Sencha", "Assam", "Darjeeling", "Earl Grey", "Rooibos", "Oolong", "Gyokuro", "Chai", "Jasmine", "Mint"]
TITLES = {
    5: ["Excellent", "Lovely shop", "Will order again", "Fast and friendly", ""],
    4: ["Good tea", "Nice, quick delivery", "Happy overall", ""],
    3: ["Okay", "Took a while", "Fine but pricey", ""],
    2: ["Disappointing", "Parcel was damaged", ""],
    1: ["No answer from support", "Never again", ""],
}
SENTENCES = {
    5: ["The tea is wonderfully fresh and the parcel came two days after ordering.", "Beautiful packaging."],
    4: ["Good quality, the box was a bit squashed.", "Delivery took three days, which is fine."],
    3: ["The tea is fine but the delivery took over a week.", "Nothing special, nothing wrong."],
    2: ["One tin was dented and the lid did not close.", "It took ten days and two emails."],
    1: ["Half the order was missing and nobody answered my emails.", "I got my money back after a month."],
}
STARS_WEIGHTS = {1: 6, 2: 4, 3: 8, 4: 22, 5: 60}


def seed() -> None:
    """The shop, its products and its reviews, through the app's write paths; prints the slug."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "reputable.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from reputable.invitations.models import Invitation
    from reputable.reviews.actions import ReviewInput, submit_review
    from reputable.reviews.models import Product
    from reputable.shops.actions import create_shop

    call_command("migrate", verbosity=0)
    shop, key = create_shop(name="Alice Teas", country="DE", timezone="Europe/Berlin", locale="en")
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")

    def call(method: str, path: str, body: object = None) -> Any:
        answer = getattr(api, method)(path, json.dumps(body), content_type="application/json")
        assert answer.status_code in (200, 202), (path, answer.status_code, answer.content[:500])
        return answer.json()

    # A year of orders: the rule invites orders up to 400 days old.
    [rule] = api.get("/api/v1/event-types/checkout/rules").json()
    call("patch", f"/api/v1/rules/{rule['id']}", {"max_transaction_age_days": 400})

    rng = random.Random(8)
    names = {sku: f"{TEAS[i % len(TEAS)]} tea, {50 * (1 + i % 4)} g" for i, sku in enumerate(SKUS)}
    popularity = [1 / (i + 1) for i in range(len(SKUS))]  # a few products sell most
    now = timezone.now()
    orders: list[tuple[str, dt.datetime, list[str]]] = []
    events = []
    for n in range(REVIEWS):
        reference = f"2025-{10000 + n}"
        ordered = now - dt.timedelta(days=rng.uniform(21, 365))
        bought = sorted(set(rng.choices(SKUS, weights=popularity, k=rng.choice((1, 1, 1, 2, 2, 3)))))
        orders.append((reference, ordered, bought))
        events.append(
            {
                "type": "checkout",
                "transaction": {"reference": reference, "date": ordered.isoformat()},
                "customer": {
                    "email": f"customer{n}@example.com",
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": rng.choice(LAST_NAMES),
                    "locale": rng.choice(("en", "en", "de", "nl", "pl")),
                },
                "products": [
                    {"sku": sku, "name": names[sku], "brand": "Alice Teas", "url": f"https://shop.example/{sku}"}
                    for sku in bought
                ],
            }
        )
    answer = call("post", "/api/v1/events/batch", {"events": events})
    assert answer["created"] == REVIEWS, answer

    products = {p.sku: p.pk for p in Product.objects.filter(shop=shop)}
    invitations = {
        i.transaction.reference: i for i in Invitation.objects.filter(shop=shop).select_related("transaction")
    }
    for reference, ordered, bought in orders:
        stars = rng.choices(list(STARS_WEIGHTS), weights=list(STARS_WEIGHTS.values()))[0]
        rated = {}
        for sku in bought:
            if rng.random() < 0.85:
                product_stars = max(1, min(5, stars + rng.choice((-1, 0, 0, 0, 1))))
                words = rng.choice(("", "", f"Lovely {names[sku].split()[0]}.", "Good value, strong taste."))
                rated[products[sku]] = (product_stars, words)
        submit_review(
            invitation=invitations[reference],
            data=ReviewInput(
                rating=stars,
                delivery_rating=max(1, min(5, stars + rng.choice((0, 0, 1)))) if rng.random() < 0.6 else None,
                title=rng.choice(TITLES[stars]),
                body=" ".join(rng.sample(SENTENCES[stars], k=rng.randint(0, 2))),
                products=rated,
            ),
            now=ordered + dt.timedelta(days=rng.uniform(5, 20), hours=rng.uniform(0, 10)),
        )
    connections.close_all()
    print(json.dumps({"slug": shop.slug}))


# --- processes ---------------------------------------------------------------------------------


def wait_for_port(port: int, process: subprocess.Popen | None, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{log.name}: the process exited ({process.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listened on port {port} within {timeout}s:\n{log.read_text()}")


@contextmanager
def started(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A process in a session (and process group) of its own, listening on `port`; on the way
    out SIGTERM to its whole group (the server and its workers), then SIGKILL to what is left."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        try:
            wait_for_port(port, process, log)
            yield process
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of process group `pgid`."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        if int(fields[2]) == pgid:  # field 5, pgrp
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15, utime and stime
    return ticks / os.sysconf("SC_CLK_TCK")


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # as sent: compressed when Content-Encoding says so
    wire: int = 0  # bytes on the wire: status line, headers, chunk framing, body

    def header(self, name: str) -> str:
        return next((v for n, v in self.headers if n.lower() == name.lower()), "")

    @property
    def content(self) -> bytes:
        return gzip.decompress(self.body) if self.header("Content-Encoding") == "gzip" else self.body


def get(port: int, path: str, **headers: str) -> Answer:
    """One GET over a fresh connection, counting every byte that comes back."""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall((head + "\r\n").encode())
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
    raw = b"".join(chunks)
    top, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    parsed = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
    answer = Answer(int(status_line.split()[1]), parsed, rest, wire=len(raw))
    if answer.header("Transfer-Encoding") == "chunked":
        body, rest_ = b"", rest
        while True:
            size_line, _, rest_ = rest_.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body, rest_ = body + rest_[:size], rest_[size + 2 :]
        answer.body = body
    return answer


# --- nginx ---------------------------------------------------------------------------------------

NGINX = "/usr/sbin/nginx"
# Headers that nginx writes itself for a static file; every other header of the app's answer
# is repeated for the baseline, so that both send the same bytes.
OWN_HEADERS = {"date", "server", "content-length", "content-type", "connection", "keep-alive"}


def nginx_main(folder: Path, sites: list[Path]) -> Path:
    """An nginx.conf around `sites` with everything it writes in `folder`."""
    user = ""
    if os.geteuid() == 0:  # the workers drop to nobody, who must read the files below
        nobody = pwd.getpwnam("nobody")
        user = f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};\n"
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    includes = "".join(f"    include {site};\n" for site in sites)
    path = folder / "nginx.conf"
    path.write_text(
        f"{user}worker_processes auto;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "daemon off;\nevents {\n    worker_connections 4096;\n}\nhttp {\n"
        "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        "    access_log off;\n    sendfile on;\n    tcp_nopush on;\n"
        f"{temp}{includes}}}\n"
    )
    return path


def static_site(folder: Path, port: int, answers: dict[str, Answer], *, open_files: bool = False) -> Path:
    """The baseline: each answer's body as a file under its path, with its headers; with
    `open_files`, nginx keeps the files open between requests (open_file_cache)."""
    root = folder / "static"
    locations = []
    for path, answer in answers.items():
        file = root / path.split("?")[0].lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(answer.content)
        added = []
        for name, value in answer.headers:
            if name.lower() not in OWN_HEADERS:
                assert "$" not in value, value  # nginx would read a variable
                quoted = value.replace("\\", "\\\\").replace('"', '\\"')
                added.append(f'        add_header {name} "{quoted}";\n')
        locations.append(
            f"    location = {path.split('?')[0]} {{\n"
            f'        default_type "{answer.header("Content-Type")}";\n{"".join(added)}    }}\n'
        )
    site = folder / ("static-open.conf" if open_files else "static.conf")
    site.write_text(
        f"server {{\n    listen 127.0.0.1:{port};\n    root {root};\n"
        + ("    open_file_cache max=256 inactive=20s;\n" if open_files else "")
        + "    etag off;  # the app's ETag is among the headers added\n"
        "    types {}\n"
        f"{''.join(locations)}}}\n"
    )
    return site


def replace(text: str, pattern: str, replacement: str, count: int | None = 1) -> str:
    """`pattern` (a regular expression, multi-line) replaced: `count` times exactly, or at least once."""
    new, made = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if made == 0 or (count is not None and made != count):
        raise SystemExit(f"{SHIPPED.relative_to(ROOT)}: expected {count or 'some'} of {pattern!r}, found {made}")
    return new


def shipped_variant(folder: Path, app_port: int, port: int, *, tls: Path | None) -> Path:
    """deploy/nginx/reputable.conf with this run's ports and folders; TLS off unless `tls` holds
    a certificate (cert.pem, key.pem) to use instead of the real one. The cache directives stay
    exactly as shipped (checked)."""
    shipped = SHIPPED.read_text()
    text = replace(shipped, r"/var/cache/nginx/reputable\b", str(folder / "cache"))
    text = replace(text, r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};")
    text = replace(text, r"listen 80;", f"listen 127.0.0.1:{free_port()};")
    text = replace(text, r"^\s*listen \[::\]:.*\n", "", count=2)
    if tls is None:
        text = replace(text, r"listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
        text = replace(text, r"^\s*ssl_.*\n", "", count=None)
    else:
        text = replace(text, r"listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
        text = replace(text, r"/etc/letsencrypt/live/reviews\.example/fullchain\.pem", str(tls / "cert.pem"))
        text = replace(text, r"/etc/letsencrypt/live/reviews\.example/privkey\.pem", str(tls / "key.pem"))
    directives = shipped.replace("/var/cache/nginx/reputable", str(folder / "cache")).splitlines()
    kept = [line for line in directives if re.search(r"proxy_cache|proxy_ignore|open_file|gzip|add_header", line)]
    assert all(line in text.splitlines() for line in kept), "a cache directive was changed"
    site = folder / "reputable.conf"
    site.write_text(text)
    return site


def first_party_variant(folder: Path, reviews_port: int, port: int, tls: Path) -> Path:
    """deploy/nginx/shop-first-party.conf as a shop's server on `port`, proxying to the TLS
    copy of the shipped site on `reviews_port` under the name reviews.example, verified
    against the test certificate. No name is resolved."""
    text = FIRST_PARTY.read_text()
    http_part, marker, location = text.partition("# --- inside the shop's server {}")
    assert marker, f"{FIRST_PARTY.relative_to(ROOT)}: the marker line is gone"
    location = location.split("\n", 1)[1]  # the rest of the marker line
    http_part = http_part.replace("/var/cache/nginx/reviews", str(folder / "shop-cache"))
    location = location.replace("https://reviews.example/", f"https://127.0.0.1:{reviews_port}/")
    location = location.replace("/etc/ssl/certs/ca-certificates.crt", str(tls / "cert.pem"))
    assert "reviews.example/" not in location, "a name nginx would resolve"
    site = folder / "shop.conf"
    site.write_text(
        f"{http_part}\nserver {{\n    listen 127.0.0.1:{port};  # the shop's TLS is not what is tested\n"
        f"    server_name shop.example;\n{location}}}\n"
    )
    return site


def test_certificate(folder: Path) -> Path:
    folder.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=reviews.example",
            "-addext",
            "subjectAltName=DNS:reviews.example",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    (folder / "key.pem").chmod(0o644)  # read by nginx's workers (nobody); a throw-away key
    return folder


def nginx_test(conf: Path) -> tuple[bool, str]:
    done = subprocess.run(
        [NGINX, "-t", "-q", "-c", str(conf), "-e", str(conf.parent / "test.log")], capture_output=True, text=True
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


# --- load ----------------------------------------------------------------------------------------

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %.6f, "bytes": %d, "p50_ms": %.3f, "p99_ms": %.3f,'
    .. ' "max_ms": %.3f, "non_2xx_3xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, summary.bytes, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    bytes: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int
    socket_errors: int
    server_cpu: float = 0.0  # CPU seconds of the server's processes during the run
    client_cpu: float = 0.0  # and of wrk

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def per_request_us(self, cpu: float) -> float:
        return cpu / self.requests * 1e6


def wrk(script: Path, url: str, args: argparse.Namespace, seconds: int) -> Load:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no report:\n{done.stdout}\n{done.stderr}")
    return Load(**json.loads(line[4:]))


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    groups: list[int]  # process groups whose CPU time counts for it
    goal: float | None = None  # the least ratio to a, when it is judged
    gzip: bool = False  # wrk asks for gzip, as browsers do


@dataclass
class Run:
    args: argparse.Namespace
    targets: dict[str, Target] = field(default_factory=dict)
    loads: dict[tuple[str, str], list[Load]] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, label: str, passed: bool) -> bool:
        self.checks.append((label, passed))
        if not passed:
            print(f"check FAIL: {label}", file=sys.stderr, flush=True)
        return passed

    def best(self, target: str, widget: str) -> Load:
        return max(self.loads[target, widget], key=lambda load: load.rate)

    def port(self, target: str) -> int:
        return self.targets[target].port


def step(title: str) -> None:
    print(f"... {title}", file=sys.stderr, flush=True)


def urls(slug: str) -> dict[str, str]:
    many = "&".join(f"sku={sku}" for sku in SKUS[:24])
    return {
        "embed.js": "/w/embed.js",
        "widgets.css": "/w/widgets.css",
        "brand.css": f"/w/{slug}/brand.css",
        "stars, 1 SKU": f"/w/{slug}/stars?sku={SKUS[0]}",
        "stars, 24 SKUs": f"/w/{slug}/stars?{many}",
        "badge": f"/w/{slug}/badge",
        "reviews, product": f"/w/{slug}/reviews?sku={SKUS[0]}",
        "reviews, shop": f"/w/{slug}/reviews",
        "carousel": f"/w/{slug}/carousel",
        "badge.svg": f"/w/{slug}/badge.svg",
    }


# What a browser asks for (nginx answers gzip of these).
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"
# The widgets measured under load, and what a product page with stars and reviews loads.
LOADED = ("stars, 1 SKU", "badge")
PRODUCT_PAGE = ("embed.js", "widgets.css", "brand.css", "stars, 1 SKU", "reviews, product")


def prepare(run: Run, stack: ExitStack, top: Path) -> tuple[dict[str, str], dict[str, Answer]]:
    """The shop, the server, and nginx with the baselines and the micro-cache: the paths and
    the app's cached answers; run.targets filled in."""
    args = run.args
    data, web = top / "data", top / "nginx"
    web.mkdir()
    env = app_env(data, BASE_URL=BASE_URL)
    step(f"writing a shop with {REVIEWS} reviews")
    seeded = subprocess.run([sys.executable, __file__, "--seed"], cwd=ROOT, env=env, capture_output=True, text=True)
    if seeded.returncode:
        raise SystemExit(f"writing the shop failed:\n{seeded.stdout}\n{seeded.stderr}")
    slug = json.loads(seeded.stdout.splitlines()[-1])["slug"]
    app_port = free_port()
    command = [sys.executable, "-m", "reputable.cli", "serve", "--host", "127.0.0.1", "--port", str(app_port)]
    command += ["--no-dispatcher"] + (["--workers", str(args.workers)] if args.workers else [])
    step("starting reputable serve")
    app = stack.enter_context(started(command, app_port, top / "serve.log", env))

    paths = urls(slug)
    cached = {}
    for label, path in paths.items():
        first = get(app_port, path)  # rendered and stored
        again = get(app_port, path)  # from the page cache
        run.check(
            f"{label}: 200, rendered once, then the same answer from the page cache",
            first.status == again.status == 200 and strip_date(first) == strip_date(again),
        )
        cached[label] = again

    ports = {name: free_port() for name in ("a", "a+", "c")}
    measured = {paths[label]: cached[label] for label in LOADED}
    sites = [
        static_site(web, ports["a"], measured),
        static_site(web, ports["a+"], measured, open_files=True),
        shipped_variant(web, app_port, ports["c"], tls=None),
    ]
    conf = nginx_main(web, sites)
    ok, output = nginx_test(conf)
    if not run.check("the benchmark's copy of deploy/nginx/reputable.conf passes nginx -t", ok):
        raise SystemExit(output)
    step("starting nginx (the static baselines and the micro-cache)")
    nginx = stack.enter_context(started([NGINX, "-c", str(conf)], ports["c"], web / "nginx.log"))
    for port in ports.values():
        wait_for_port(port, nginx, web / "error.log")
    run.targets = {
        "a": Target("a  nginx, the same bytes as static files", ports["a"], [nginx.pid]),
        "a+": Target("a+ the same with open_file_cache (info)", ports["a+"], [nginx.pid]),
        "b": Target("b  reputable serve (its page cache)", app_port, [app.pid], TARGET_APP),
        "c": Target("c  nginx micro-cache in front of b", ports["c"], [nginx.pid, app.pid], TARGET_MICRO),
        "c gz": Target("c, asking for gzip as browsers do (info)", ports["c"], [nginx.pid, app.pid], gzip=True),
    }
    return paths, cached


def strip_date(answer: Answer) -> tuple[int, bytes, list[tuple[str, str]]]:
    return answer.status, answer.body, [(n, v) for n, v in answer.headers if n.lower() != "date"]


def same_bytes(run: Run, paths: dict[str, str], cached: dict[str, Answer]) -> None:
    """The widgets measured under load: the same body, type and ETag from every target."""
    for label in LOADED:
        app = cached[label]
        for name, target in run.targets.items():
            if target.gzip:
                continue  # see transferred()
            answer = get(target.port, paths[label])
            run.check(
                f"{label}: {name} sends the app's {len(app.body):,} bytes ({app.header('Content-Type')}, its ETag)",
                answer.status == 200
                and answer.body == app.body
                and answer.header("Content-Type") == app.header("Content-Type")
                and answer.header("ETag") == app.header("ETag"),
            )
        status = get(run.port("c"), paths[label]).header("X-Cache-Status")
        run.check(f"{label}: c answers from nginx's cache (X-Cache-Status: {status})", status in ("HIT", "UPDATING"))


def measure(run: Run, paths: dict[str, str], folder: Path) -> None:
    """Rounds of every target in turn for each widget; a warm-up run before the first of each.
    The CPU time of the target's processes and of wrk is taken around each measured run."""
    args = run.args
    plain, compressed = folder / "report.lua", folder / "report-gzip.lua"
    plain.write_text(WRK_REPORT)
    compressed.write_text(f'wrk.headers["Accept-Encoding"] = "{BROWSER_ENCODINGS}"\n{WRK_REPORT}')
    for round_ in range(args.repeat):
        for label in LOADED:
            for name, target in run.targets.items():
                url = f"http://127.0.0.1:{target.port}{paths[label]}"
                script = compressed if target.gzip else plain
                step(f"round {round_ + 1}/{args.repeat}: {label}, {name}")
                if round_ == 0:
                    wrk(script, url, args, args.warmup)
                server = sum(group_cpu(group) for group in target.groups)
                client = resource.getrusage(resource.RUSAGE_CHILDREN)
                load = wrk(script, url, args, args.duration)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                load.server_cpu = sum(group_cpu(group) for group in target.groups) - server
                load.client_cpu = after.ru_utime + after.ru_stime - client.ru_utime - client.ru_stime
                run.loads.setdefault((name, label), []).append(load)
                run.check(
                    f"{label}, {name}, round {round_ + 1}: no error answers or socket errors under load",
                    load.non_2xx_3xx == 0 and load.socket_errors == 0,
                )


def transferred(run: Run, paths: dict[str, str], cached: dict[str, Answer]) -> dict[str, Answer]:
    """What a browser gets through c (gzip where nginx compresses); 304s for its ETags."""
    got = {}
    for label, path in paths.items():
        got[label] = answer = get(run.port("c"), path, Accept_Encoding=BROWSER_ENCODINGS)
        run.check(f"{label}: through c with gzip, the same content", answer.content == cached[label].body)
    for label in ("badge", "embed.js"):
        path, etag, weak = paths[label], cached[label].header("ETag"), got[label].header("ETag")
        status = get(run.port("b"), path, If_None_Match=etag).status
        run.check(f"{label}: b answers If-None-Match: {etag} with 304", status == 304)
        status = get(run.port("c"), path, If_None_Match=weak).status
        run.check(f"{label}: c answers If-None-Match: {weak} with 304", status == 304)
    return got


def deploy_files(run: Run, top: Path, paths: dict[str, str], cached: dict[str, Answer]) -> None:
    """The shipped files with TLS as they are (a self-signed certificate for reviews.example),
    and a shop's nginx with the first-party location in front of them: nginx -t, then a
    widget through both."""
    folder = top / "tls"
    folder.mkdir()
    cert = test_certificate(folder / "cert")
    reviews_port, shop_port = free_port(), free_port()
    sites = [
        shipped_variant(folder, run.port("b"), reviews_port, tls=cert),
        first_party_variant(folder, reviews_port, shop_port, cert),
    ]
    conf = nginx_main(folder, sites)
    ok, output = nginx_test(conf)
    if not run.check("deploy/nginx/reputable.conf with TLS and shop-first-party.conf pass nginx -t", ok):
        print(output, file=sys.stderr)
        return
    with started([NGINX, "-c", str(conf)], shop_port, folder / "nginx.log"):
        label = "stars, 1 SKU"
        path = paths[label].replace("/w/", "/reviews/", 1)
        answer = get(shop_port, path, Cookie="session=visitor")
        if answer.status != 200:
            print(answer.status, answer.body[:300], (folder / "error.log").read_text()[-2000:], file=sys.stderr)
        run.check(
            f"GET {path} on the shop's host: the app's answer, through TLS verified as reviews.example",
            answer.status == 200 and answer.body == cached[label].body and not answer.header("Set-Cookie"),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of the untimed run before each (default 2)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every target; the fastest counts (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: what serve picks)")
    parser.add_argument("--quick", action="store_true", help="one round of 3-second runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and print it)")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)  # the shop's writing, in a subprocess
    args = parser.parse_args()
    if args.seed:
        seed()
        return 0
    if args.quick:
        args.duration, args.warmup, args.repeat = 3, 1, 1
    missing = [tool for tool in (NGINX, "wrk", "openssl") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"needs {', '.join(missing)} (apt-get install nginx wrk openssl)")

    started_at = time.perf_counter()
    run = Run(args)
    with ExitStack() as stack:
        top = Path(tempfile.mkdtemp(prefix="reputable-bench-widgets-"))
        if args.keep:
            print(f"keeping {top}", file=sys.stderr)
        else:
            stack.callback(shutil.rmtree, top, ignore_errors=True)
        top.chmod(0o755)  # nginx's workers read their files below; the app's data folder stays private
        paths, cached = prepare(run, stack, top)
        same_bytes(run, paths, cached)
        measure(run, paths, top / "nginx")
        got = transferred(run, paths, cached)
        deploy_files(run, top, paths, cached)
    return report(run, got, time.perf_counter() - started_at)


ROW = "{:<14} {:<42} {:>8} {:>7} {:>7} {:>6} {:>8} {:>8} {:>7} {:>9}  {}"


def report(run: Run, got: dict[str, Answer], total: float) -> int:
    args = run.args
    verdicts: list[bool] = []

    def verdict(passed: bool) -> str:
        verdicts.append(passed)
        return "PASS" if passed else "FAIL"

    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip().removeprefix("nginx version: ")
    print(
        f"\nReputable widgets benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {nginx},"
        f" wrk -t{args.threads} -c{args.connections} -d{args.duration}s, best of {args.repeat},"
        f" server workers: {args.workers or 'serve default'})"
    )
    header = ROW.format(
        "widget", "server", "req/s", "p50 ms", "p99 ms", "B/req", "srv µs", "wrk µs", "ratio", "target", "result"
    )
    print(header)
    print("-" * len(header))
    for label in LOADED:
        base = run.best("a", label).rate
        for name, target in run.targets.items():
            load = run.best(name, label)
            ratio = f"{load.rate / base:.3f}x" if name != "a" else ""
            goal, result = "", ""
            if target.goal is not None:
                goal, result = f">= {target.goal:g}", verdict(load.rate / base >= target.goal)
            print(
                ROW.format(
                    label,
                    target.name,
                    f"{load.rate:,.0f}",
                    f"{load.p50_ms:.2f}",
                    f"{load.p99_ms:.2f}",
                    f"{load.bytes / load.requests:.0f}",
                    f"{load.per_request_us(load.server_cpu):.1f}",
                    f"{load.per_request_us(load.client_cpu):.1f}",
                    ratio,
                    goal,
                    result,
                )
            )
        p99 = run.best("c", label).p99_ms
        print(ROW.format(label, "   p99 of c", "", "", f"{p99:.2f}", "", "", "", "", "<= 10 ms", verdict(p99 <= 10)))
    print("  (srv µs, wrk µs: CPU time per request of the server's processes, of wrk; both share the CPUs)")
    print("\nreq/s (p99 ms) of every round:")
    for label in LOADED:
        for name in run.targets:
            rounds = ", ".join(f"{load.rate:,.0f} ({load.p99_ms:.1f})" for load in run.loads[name, label])
            print(f"  {label:<14} {name:<4} {rounds}")

    print(f"\n{'answer (through c, Accept-Encoding: gzip)':<44} {'bytes':>7} {'gzip':>7} {'on the wire':>12}")
    for label, answer in got.items():
        print(f"{label:<44} {len(answer.content):>7,} {len(answer.body):>7,} {answer.wire:>12,}")
    page = [got[label] for label in PRODUCT_PAGE]
    wire = sum(answer.wire for answer in page)
    print(
        f"{'a product page: ' + ', '.join(PRODUCT_PAGE):<44} {sum(len(a.content) for a in page):>7,}"
        f" {sum(len(a.body) for a in page):>7,} {wire:>12,}"
    )
    print(f"  target: the product page < {TARGET_PAGE_BYTES:,} bytes on the wire: {verdict(wire < TARGET_PAGE_BYTES)}")
    print("  (on the wire: status line, headers and body as HTTP/1.1 sends them; HTTP/2 compresses the headers)")

    print()
    for label, passed in run.checks:
        print(f"check  {'PASS' if passed else 'FAIL'}  {label}")
    print(f"\ntotal run time {total:.0f}s")
    ok = all(verdicts) and all(passed for _label, passed in run.checks)
    print("\nRESULT:", "PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
