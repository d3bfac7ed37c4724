"""The dashboard's inbox, pipeline and analytics cost the same for a shop with 1,000,000 reviews
and transactions as for one with 100.

    .venv/bin/python bench/dashboard.py [--big 1000000] [--small 100] [--reads 30] [--quick]

In a fresh temporary database (SQLite under a temporary REPUTABLE_DATA_DIR, or the
PostgreSQL of DATABASE_URL with --database-url): two shops whose rows are written straight
into the tables through `reputable.lib.sql.Insert` (every column of the models, defaults
included, as ingestion writes them), spread over three years:

  transactions, one checkout event each, one invitation each; most of them reviewed (one
  review with one product rating), the rest pending, cancelled or failed (one in fifty, and
  at least a page of them in the small shop, so that equal pages are compared);
  three reviews in ten with a public reply; rating buckets and daily counters as the write
  paths keep them.

Then the owner's pages are read through Django's test client (the whole middleware stack,
a logged-in session), alternating big and small shop, `--reads` times each: the inbox (first
page, 1-star reviews, unanswered ones, the second page by its "older" link), the pipeline
(first page, failed invitations, a search by email, the second page) and the analytics page
(the default range, and all time). Prints the time per read and the ratio big / small;
target: at most 2x each. Exits non-zero when a target is missed or a page answers other than
200. `--quick` uses 100,000 rows for the big shop.
"""

import argparse
import datetime as dt
import html
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 2.0
LOCALES = ["de", "de", "en", "nl", "pl"]
CHUNK = 20_000


def fill(shop_id: int, rule_id: int, event_type_id: int, count: int, seed: int) -> None:
    """`count` transactions with their event, invitation and (mostly) review, as the app writes them."""
    from django.db import connection, transaction

    from reputable.events.models import Event, Transaction, TransactionProduct
    from reputable.invitations.models import Invitation
    from reputable.lib import sql
    from reputable.lib.tokens import new_tokens
    from reputable.reviews.models import Product, ProductReview, Reply, Review

    rng = random.Random(seed)
    # One in fifty fails, but at least a page of failed invitations in the small shop too:
    # pages of equal length are compared.
    failed_share = min(0.5, max(0.02, 60 / count))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = 3 * 365 * 86400
    Product.objects.bulk_create(
        Product(shop_id=shop_id, key=f"SKU-{n}", sku=f"SKU-{n}", name=f"Product {n}") for n in range(50)
    )
    products = list(Product.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    inserts = {
        "tx": sql.Insert(
            Transaction, ["shop_id", "reference", "date", "email", "first_name", "last_name", "locale", "created_at"]
        ),
        "link": sql.Insert(TransactionProduct, ["transaction_id", "product_id"]),
        "inv": sql.Insert(
            Invitation,
            ["shop_id", "transaction_id", "rule_id", "email", "locale", "token", "status", "sent_count", "send_at"]
            + ["last_sent_at", "created_at", "attempts", "last_error"],
        ),
        "event": sql.Insert(
            Event, ["shop_id", "event_type_id", "transaction_id", "outcome", "invitation_id", "received_at"]
        ),
        "review": sql.Insert(
            Review,
            ["shop_id", "invitation_id", "transaction_id", "rating", "title", "body", "author_name", "locale"]
            + ["created_at", "updated_at", "replied_at"],
        ),
        "product_review": sql.Insert(ProductReview, ["review_id", "product_id", "rating", "body"]),
        "reply": sql.Insert(Reply, ["review_id", "body", "created_at", "updated_at"]),
    }
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        with transaction.atomic(), connection.cursor() as cursor:
            db = sql.Statements(cursor)
            v = db.value
            rows = []
            for i in range(done, done + size):
                date = now - dt.timedelta(seconds=span * (count - i) // count + rng.randrange(60))
                rows.append(
                    (
                        shop_id,
                        f"ORD-{i:08d}",
                        v(date),
                        f"buyer-{i}@example.com",
                        "Jan",
                        "Visser",
                        rng.choice(LOCALES),
                        v(date),
                    )
                )
            tx_ids = [pk for (pk,) in inserts["tx"].run(db, rows)]
            dates = [row[2] for row in rows]
            bought = [rng.choice(products) for _ in tx_ids]
            inserts["link"].run(db, list(zip(tx_ids, bought, strict=True)), returning="")
            statuses = []
            for _ in tx_ids:
                roll = rng.random()
                statuses.append(
                    "failed"
                    if roll < failed_share
                    else "cancelled"
                    if roll < failed_share + 0.01
                    else "pending"
                    if roll < failed_share + 0.03
                    else "reviewed"
                )
            tokens = new_tokens(size)
            inv_rows = [
                (
                    shop_id,
                    tx,
                    rule_id,
                    f"buyer-{done + k}@example.com",
                    rows[k][6],
                    tokens[k],
                    status,
                    0 if status == "pending" else 1,
                    dates[k],
                    None if status == "pending" else dates[k],
                    dates[k],
                    3 if status == "failed" else 0,
                    "550 mailbox unavailable" if status == "failed" else "",
                )
                for k, (tx, status) in enumerate(zip(tx_ids, statuses, strict=True))
            ]
            inv_ids = [pk for (pk,) in inserts["inv"].run(db, inv_rows)]
            inserts["event"].run(
                db,
                [
                    (shop_id, event_type_id, tx, "scheduled", inv, d)
                    for tx, inv, d in zip(tx_ids, inv_ids, dates, strict=True)
                ],
                returning="",
            )
            review_rows, replied = [], []
            for k, status in enumerate(statuses):
                if status != "reviewed":
                    continue
                stars = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
                answered = rng.random() < 0.3
                replied.append(answered)
                review_rows.append(
                    (
                        shop_id,
                        inv_ids[k],
                        tx_ids[k],
                        stars,
                        "A review",
                        "Text of the review.",
                        "Jan V.",
                        rows[k][6],
                        dates[k],
                        dates[k],
                        dates[k] if answered else None,
                    )
                )
            review_ids = [pk for (pk,) in inserts["review"].run(db, review_rows)]
            reviewed_products = [bought[k] for k, status in enumerate(statuses) if status == "reviewed"]
            inserts["product_review"].run(
                db,
                [(r, p, row[3], "") for r, p, row in zip(review_ids, reviewed_products, review_rows, strict=True)],
                returning="",
            )
            inserts["reply"].run(
                db,
                [
                    (r, "Thank you!", row[8], row[8])
                    for r, row, answered in zip(review_ids, review_rows, replied, strict=True)
                    if answered
                ],
                returning="",
            )
        done += size
    rebuild_summaries(shop_id)


def rebuild_summaries(shop_id: int) -> None:
    """Rating buckets and daily counters of the shop, as the write paths keep them."""
    from django.db import connection

    from reputable.events.models import Transaction
    from reputable.invitations.models import Invitation
    from reputable.lib import sql
    from reputable.reviews import counters
    from reputable.reviews.models import RatingBucket, Review

    stars = ", ".join(f"SUM(CASE WHEN rating = {n} THEN 1 ELSE 0 END)" for n in range(1, 6))
    buckets, reviews = sql.table(RatingBucket), sql.table(Review)
    day = "date(created_at)" if connection.vendor == "sqlite" else "CAST(created_at AS date)"
    columns = "shop_id, product_id, day, stars_1, stars_2, stars_3, stars_4, stars_5"
    per_day: dict[tuple[str, dt.date], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {buckets} ({columns}) SELECT shop_id, NULL, {day}, {stars} FROM {reviews}"
            f" WHERE shop_id = %s GROUP BY shop_id, {day}",
            [shop_id],
        )
        cursor.execute(
            f"INSERT INTO {buckets} ({columns}) SELECT shop_id, NULL, NULL, {stars} FROM {reviews}"
            " WHERE shop_id = %s GROUP BY shop_id",
            [shop_id],
        )
        for table, metric, key, condition in (
            (sql.table(Transaction), "orders", "''", ""),
            (sql.table(Invitation), "invitations.scheduled", "''", ""),
            (sql.table(Invitation), "messages.sent.invitation", "''", " AND sent_count > 0"),
            (reviews, "reviews.source.verified", "''", ""),
            (reviews, "reviews.", "locale", ""),
        ):
            cursor.execute(
                f"SELECT {day}, {key}, COUNT(*) FROM {table} WHERE shop_id = %s{condition} GROUP BY 1, 2",
                [shop_id],
            )
            for when, part, n in cursor.fetchall():
                when = when if isinstance(when, dt.date) else dt.date.fromisoformat(when)
                per_day[(metric + part, when)] = n
    for (metric, when), n in per_day.items():
        counters.add(shop=shop_id, day=when, metrics={metric: n})


def login_client(shop_slug: str) -> object:
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import User
    from django.test import Client

    from reputable.shops.models import Membership, Shop

    user = User.objects.create_user(username=f"owner@{shop_slug}.example", email=f"owner@{shop_slug}.example")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Membership.objects.create(shop=Shop.objects.get(slug=shop_slug), user=user, role="owner")
    client = Client()
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    return client


# What is read, for each shop: (label, path under /dashboard/<slug>/, follow the "older" link).
PAGES = [
    ("inbox", "reviews", False),
    ("inbox, 1 star", "reviews?stars=1", False),
    ("inbox, unanswered", "reviews?replied=no", False),
    ("inbox, page 2", "reviews", True),
    ("pipeline", "invitations", False),
    ("pipeline, failed", "invitations?status=failed", False),
    ("pipeline, search by email", "invitations?q=buyer-7%40example.com", False),
    ("pipeline, page 2", "invitations", True),
    ("analytics", "analytics", False),
    ("analytics, three years", "analytics?from={three_years_ago}&to={today}", False),
]
NEXT = re.compile(r'<a[^>]*rel="next"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*rel="next"')


def resolve(client: object, slug: str, path: str, follow: bool) -> str:
    today = dt.datetime.now(dt.UTC).date()
    days = {"today": today.isoformat(), "three_years_ago": (today - dt.timedelta(days=3 * 365)).isoformat()}
    url = f"/dashboard/{slug}/{path.format(**days)}"
    if not follow:
        return url
    page = client.get(url)  # type: ignore[attr-defined]
    found = NEXT.search(page.content.decode())
    assert found, f"no rel=next link on {url}"
    return urljoin(url, html.unescape(found[1] or found[2]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=1_000_000, help="transactions (and reviews) of the big shop")
    parser.add_argument("--small", type=int, default=100, help="transactions of the small shop")
    parser.add_argument("--reads", type=int, default=30, help="reads of each page, alternating")
    parser.add_argument("--quick", action="store_true", help="100,000 rows for the big shop, 10 reads")
    parser.add_argument("--database-url", default="", help="a PostgreSQL database to fill (it is emptied first)")
    args = parser.parse_args()
    if args.quick:
        args.big, args.reads = 100_000, 10

    folder = tempfile.mkdtemp(prefix="reputable-dashboard-")
    os.environ["REPUTABLE_DATA_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "reputable.settings"
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from reputable.events.models import EventType
    from reputable.invitations.models import InvitationRule
    from reputable.shops.actions import create_shop

    settings.ALLOWED_HOSTS = ["*"]
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    shops = {}
    started = time.perf_counter()
    for name, count, seed in (("Big shop", args.big, 1), ("Small shop", args.small, 2)):
        shop, _key = create_shop(name=name)
        checkout = EventType.objects.get(shop=shop, key="checkout")
        fill(shop.pk, InvitationRule.objects.get(event_type=checkout).pk, checkout.pk, count, seed)
        shops[name] = shop
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a live database's statistics would be
    print(f"filled {args.big:,} + {args.small:,} transactions and reviews in {time.perf_counter() - started:.1f}s")

    big, small = shops["Big shop"], shops["Small shop"]
    clients = {shop.pk: login_client(shop.slug) for shop in (big, small)}
    failed = False
    print(f"\n{'page':28} {'small ms':>9} {'big ms':>9} {'big/small':>10}  target <= {TARGET:g}x")
    for label, path, follow in PAGES:
        urls = {shop.pk: resolve(clients[shop.pk], shop.slug, path, follow) for shop in (big, small)}
        spent = {big.pk: 0.0, small.pk: 0.0}
        for shop in (big, small):
            answer = clients[shop.pk].get(urls[shop.pk])  # type: ignore[attr-defined]
            if answer.status_code != 200:
                print(f"{label}: {urls[shop.pk]} answered {answer.status_code}")
                failed = True
        for _ in range(args.reads):
            for shop in (big, small):
                t = time.perf_counter()
                clients[shop.pk].get(urls[shop.pk])  # type: ignore[attr-defined]
                spent[shop.pk] += time.perf_counter() - t
        per_big, per_small = (spent[s.pk] / args.reads * 1000 for s in (big, small))
        ratio = per_big / per_small
        failed |= ratio > TARGET
        print(f"{label:28} {per_small:9.2f} {per_big:9.2f} {ratio:9.2f}x  {'PASS' if ratio <= TARGET else 'FAIL'}")
    print(f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, database {connection.vendor}")
    print("RESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
