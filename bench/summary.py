"""Reading a rating summary costs the same for a shop with 1,000,000 reviews as for one with 100.

    .venv/bin/python bench/summary.py [--big 1000000] [--small 100] [--reads 2000]

In a fresh temporary SQLite database: a big shop whose reviews are spread over three years
and a small one with a few months of reviews, their rating buckets filled the way review
writes keep them, then `summarise()` (all time + last 12 months) and the public summary
endpoint read for each, alternating. Prints the time per read and the ratio big / small;
target: at most 2x. Exits non-zero when the target is missed.
"""

import argparse
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fill_reviews(database: str, shop_id: int, count: int, days: int, seed: int) -> None:
    """Reviews straight into the table, then their buckets as `count_rating` keeps them."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db = sqlite3.connect(database)
    rows = (
        (
            shop_id,
            "published",
            rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
            "A review",
            "Text",
            "anonymous",
            "",
            "en",
            str(created := now - dt.timedelta(seconds=rng.randrange(days * 86400))),
            str(created),
        )
        for _ in range(count)
    )
    db.executemany(
        "INSERT INTO reviews_review (shop_id, status, rating, title, body, name_display, author_name, locale,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    stars = ", ".join(f"SUM(rating = {n})" for n in range(1, 6))
    db.execute(
        "INSERT INTO reviews_ratingbucket (shop_id, product_id, day, stars_1, stars_2, stars_3, stars_4, stars_5)"
        f" SELECT shop_id, NULL, date(created_at), {stars} FROM reviews_review WHERE shop_id = ?"
        " GROUP BY date(created_at)",
        [shop_id],
    )
    db.execute(
        "INSERT INTO reviews_ratingbucket (shop_id, product_id, day, stars_1, stars_2, stars_3, stars_4, stars_5)"
        f" SELECT shop_id, NULL, NULL, {stars} FROM reviews_review WHERE shop_id = ? GROUP BY shop_id",
        [shop_id],
    )
    db.commit()
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=1_000_000, help="reviews of the big shop")
    parser.add_argument("--small", type=int, default=100, help="reviews of the small shop")
    parser.add_argument("--reads", type=int, default=2000, help="reads of each summary, alternating")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="reputable-summary-")
    os.environ["REPUTABLE_DATA_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "reputable.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from reputable.reviews.summaries import summarise
    from reputable.shops.actions import create_shop

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    big, _ = create_shop(name="Big shop")
    small, _ = create_shop(name="Small shop")
    database = str(settings.DATABASES["default"]["NAME"])
    started = time.perf_counter()
    fill_reviews(database, big.pk, args.big, days=3 * 365, seed=1)
    fill_reviews(database, small.pk, args.small, days=90, seed=2)
    print(f"filled {args.big:,} + {args.small:,} reviews in {time.perf_counter() - started:.1f}s")

    today = timezone.now().date()
    assert summarise(shop=big, today=today).all_time.count == args.big
    assert summarise(shop=small, today=today).all_time.count == args.small
    client = Client()
    readers = {
        "summarise()": lambda shop: summarise(shop=shop, today=today),
        "GET /api/v1/public/shops/<slug>/summary": lambda shop: client.get(f"/api/v1/public/shops/{shop.slug}/summary"),
    }
    failed = False
    print(f"\n{'read':42} {'small ms':>9} {'big ms':>9} {'big/small':>10}  target <= 2x")
    for name, read in readers.items():
        spent = {big.pk: 0.0, small.pk: 0.0}
        for shop in (big, small):
            read(shop)  # warm
        for _ in range(args.reads):
            for shop in (big, small):
                t = time.perf_counter()
                read(shop)
                spent[shop.pk] += time.perf_counter() - t
        per_big, per_small = (spent[s.pk] / args.reads * 1000 for s in (big, small))
        ratio = per_big / per_small
        failed |= ratio > 2
        print(f"{name:42} {per_small:9.3f} {per_big:9.3f} {ratio:9.2f}x  {'PASS' if ratio <= 2 else 'FAIL'}")
    print(f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    print("RESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
