"""Property: after any sequence of review creates and edits, every summary bucket equals a
full recomputation from the reviews themselves."""

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.reviews.models import Product, ProductReview, RatingBucket, Review
from reputable.reviews.summaries import STAR_FIELDS

START = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
stars = st.integers(min_value=1, max_value=5)
submit = st.tuples(
    st.just("submit"),
    st.integers(min_value=0, max_value=3),  # which order
    stars,
    st.lists(st.one_of(st.none(), stars), min_size=2, max_size=2),  # the two products' ratings
)
wait = st.tuples(st.just("wait"), st.integers(min_value=1, max_value=20 * 24))  # hours


@pytest.fixture
def orders(alice: ShopAccess) -> list[str]:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    products = [{"sku": "A", "name": "Alpha"}, {"sku": "B", "name": "Beta"}]
    with time_machine.travel(START, tick=False):
        events = [
            checkout(str(n), transaction={"reference": str(n), "date": START.isoformat()}, products=products)
            for n in range(4)
        ]
        alice.post("/api/v1/events/batch", {"events": events})
    return [Invitation.objects.get(transaction__reference=str(n)).token for n in range(4)]


def recomputed(shop_id: int) -> Counter[tuple[int | None, dt.date | None, int]]:
    """(product id or None, day or None, stars) -> count, straight from the reviews."""
    counts: Counter[tuple[int | None, dt.date | None, int]] = Counter()
    for review in Review.objects.published().filter(shop_id=shop_id):
        for day in (review.created_at.date(), None):
            counts[(None, day, review.rating)] += 1
    for pr in ProductReview.objects.filter(review__shop_id=shop_id).select_related("review"):
        for day in (pr.review.created_at.date(), None):
            counts[(pr.product_id, day, pr.rating)] += 1
    return counts


def bucketed(shop_id: int) -> Counter[tuple[int | None, dt.date | None, int]]:
    counts: Counter[tuple[int | None, dt.date | None, int]] = Counter()
    for bucket in RatingBucket.objects.filter(shop_id=shop_id):
        for n, field in enumerate(STAR_FIELDS, start=1):
            if getattr(bucket, field):
                counts[(bucket.product_id, bucket.day, n)] += getattr(bucket, field)
    return counts


# Each example runs in a savepoint that is rolled back, so the shared orders stay as set up.
@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(submit, wait), min_size=1, max_size=12))
def test_every_summary_equals_a_full_recomputation(alice: ShopAccess, orders: list[str], steps: list[Any]) -> None:
    savepoint = transaction.savepoint_create()
    try:
        products = list(Product.objects.filter(shop=alice.shop).order_by("sku"))
        with time_machine.travel(START + dt.timedelta(hours=1), tick=False) as clock:
            for step in steps:
                if step[0] == "wait":
                    clock.shift(dt.timedelta(hours=step[1]))
                    continue
                _, order, rating, product_ratings = step
                form = {"rating": str(rating), "name_display": "anonymous"}
                for product, product_rating in zip(products, product_ratings, strict=True):
                    form[f"product_{product.pk}_rating"] = str(product_rating or "")
                Client().post(f"/r/{orders[order]}", form)
        assert bucketed(alice.shop.pk) == recomputed(alice.shop.pk)
    finally:
        transaction.savepoint_rollback(savepoint)
