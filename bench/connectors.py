"""A Shopify connector takes orders about as fast as the events API, measured in the same run.

    .venv/bin/python bench/connectors.py [--orders 1000]

Against `reputable serve --no-dispatcher` (bench/ingest.py's server, a fresh temporary
SQLite), one keep-alive client, one order per request, the same Shopify orders (the real
payload of reputable/integrations/tests/fixtures, one id each) both ways:

  A  POST /api/v1/events, the order as an event of its own (references E-...)
  s  POST /connectors/<key>/ as Shopify sends `orders/create`: its raw JSON body, signed
     (X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body with the webhook secret), with a
     webhook id and topic (other order ids, so that both record)          target >= 0.5 x A

Prints the rates and the ratio; exits non-zero when the target or a check (every request
recorded one event) fails. Standard library only.
"""

import argparse
import base64
import copy
import datetime as dt
import hashlib
import hmac
import http.client
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Server, running_server  # noqa: E402 - bench/ is not a package

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "reputable/integrations/tests/fixtures/shopify/shopify_python_api__order.json"
TARGET = 0.5
SECRET = "shpss_bench_webhook_secret"


def shopify_order(order_id: int, created_at: str) -> dict:
    """The fixture's order as another one: its own id, a recent date, its own customer."""
    order = copy.deepcopy(json.loads(FIXTURE.read_text())["order"])
    order.update(id=order_id, created_at=created_at, email=f"buyer-{order_id}@example.nl")
    return order


def shopify_signature(secret: str, body: bytes) -> str:
    # Shopify's side: base64 of the HMAC-SHA256 digest of the raw body, keyed with the secret.
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def timed(server: Server, requests: list[tuple[str, bytes, dict[str, str]]], check: Callable[[dict], bool]) -> float:
    """Post each (path, body, headers) on one keep-alive connection; the seconds it took."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    start = time.perf_counter()
    for path, body, headers in requests:
        conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        answer = json.loads(response.read())
        if not check(answer):
            raise SystemExit(f"{path}: {response.status} {answer}")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    args = parser.parse_args()
    created_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), None) as server:
        auth = {"Authorization": f"Bearer {server.api_key}"}
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/api/v1/connectors", json.dumps({"platform": "shopify", "secret": SECRET}), auth)
        url = json.loads(conn.getresponse().read())["url"]
        conn.close()
        path = "/" + url.split("/", 3)[3]

        def event(n: int) -> bytes:
            order = shopify_order(5_000_000_000_000 + n, created_at)
            reference = f"E-{n}"
            return json.dumps(
                {
                    "type": "checkout",
                    "transaction": {"reference": reference, "date": created_at},
                    "customer": {"email": order["email"], "first_name": "Bob", "last_name": "Norman"},
                    "products": [{"sku": i["sku"] or "", "name": i["name"]} for i in order["line_items"]],
                }
            ).encode()

        def webhook(n: int) -> tuple[str, bytes, dict[str, str]]:
            body = json.dumps(shopify_order(6_000_000_000_000 + n, created_at)).encode()
            headers = {
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body),
                "X-Shopify-Webhook-Id": f"bench-{n}",
                "X-Shopify-Shop-Domain": "bench.myshopify.com",
            }
            return path, body, headers

        warmup = 50
        timed(server, [("/api/v1/events", event(-n - 1), auth) for n in range(warmup)], lambda a: "event_id" in a)
        timed(server, [webhook(-n - 1) for n in range(warmup)], lambda a: a.get("events") == 1)
        api = timed(
            server, [("/api/v1/events", event(n), auth) for n in range(args.orders)], lambda a: a["outcome"] != ""
        )
        hooks = timed(
            server, [webhook(n) for n in range(args.orders)], lambda a: a == {"status": "recorded", "events": 1}
        )
        recorded = server.count("events_event")
    ratio = api / hooks
    print(f"A  POST /api/v1/events, one order each      {args.orders / api:8.0f} orders/s")
    print(f"s  Shopify orders/create webhooks, signed   {args.orders / hooks:8.0f} orders/s   {ratio:.2f} x A", end="")
    print(f"   target >= {TARGET} x A: {'PASS' if ratio >= TARGET else 'FAIL'}")
    expected = 2 * (args.orders + warmup)
    print(f"check: {recorded} events recorded, {expected} expected: {'PASS' if recorded == expected else 'FAIL'}")
    return 0 if ratio >= TARGET and recorded == expected else 1


if __name__ == "__main__":
    sys.exit(main())
