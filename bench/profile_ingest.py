"""Where ingestion spends its time: the API through Django's test client, under cProfile.

    .venv/bin/python bench/profile_ingest.py single [--n 300] [--top 40] [--sort cumulative]
    .venv/bin/python bench/profile_ingest.py batch  [--n 3]   (batches of 1,000)
    .venv/bin/python bench/profile_ingest.py duplicates [--n 3]
    add --sql to print the SQL statements of one request first

In-process, against a fresh temporary SQLite database; one untimed warm-up request first.
Prints the wall time per request, the SQL queries per request and the cProfile top list.
Note: Django's test client runs the full middleware stack, which the API under
`reputable serve` does not (see reputable/wsgi.py).
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import BATCH, event, recent_date  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["single", "batch", "duplicates"])
    parser.add_argument("--n", type=int, default=None, help="requests to profile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--sql", action="store_true", help="first print the SQL statements of one request")
    args = parser.parse_args()
    n = args.n or (300 if args.mode == "single" else 3)

    data_dir = tempfile.mkdtemp(prefix="reputable-profile-")
    os.environ.update(REPUTABLE_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="reputable.settings", LOG_LEVEL="WARNING")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from reputable.shops.actions import create_shop

    call_command("migrate", interactive=False, verbosity=0)
    _shop, key = create_shop(name="Profile shop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", SERVER_NAME="localhost")
    date = recent_date()

    def post_single(ref: str) -> None:
        r = client.post("/api/v1/events", json.dumps(event(ref, date)), content_type="application/json")
        assert r.status_code == 202, r.content

    def batch_body(prefix: str) -> str:
        return json.dumps({"events": [event(f"{prefix}-{i}", date) for i in range(BATCH)]})

    def post_batch(body: str, key: str) -> None:
        r = client.post("/api/v1/events/batch", body, content_type="application/json")
        assert r.status_code == 200 and r.json()[key] == BATCH, r.content[:500]

    if args.mode == "single":
        post_single("warm")
        work = [lambda i=i: post_single(f"p{i}") for i in range(n)]
    else:
        post_batch(batch_body("warm"), "created")
        bodies = [batch_body(f"p{i}") for i in range(n)]
        if args.mode == "duplicates":
            for body in bodies:
                post_batch(body, "created")
        expect = "created" if args.mode == "batch" else "duplicates"
        work = [lambda body=body: post_batch(body, expect) for body in bodies]

    statements: list[str] = []

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202 - Django's execute_wrapper hook
        statements.append(sql)
        return execute(sql, params, many, context)

    if args.sql:
        with connection.execute_wrapper(count):
            work[0]()
        print(f"SQL of one {args.mode} request ({len(statements)} statements, BEGIN/COMMIT not shown):")
        for sql in statements:
            print("  ", sql[:200] + (" ..." if len(sql) > 200 else ""))
        statements.clear()
        work = work[1:] or work
        n = len(work)

    profile = cProfile.Profile()
    with connection.execute_wrapper(count):
        start = time.perf_counter()
        profile.enable()
        for one in work:
            one()
        profile.disable()
        elapsed = time.perf_counter() - start
    queries = len(statements)
    print(
        f"{args.mode}: {n} requests in {elapsed:.3f}s = {elapsed / n * 1000:.2f} ms/request (under cProfile),"
        f" {queries / n:.1f} SQL queries/request"
    )
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
