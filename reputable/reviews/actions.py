"""Writing reviews: publication at once, edits within the window, summaries in step."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction as db_transaction

from reputable.invitations.models import Invitation
from reputable.lib import pagecache
from reputable.reviews.models import Product, ProductReview, Review, ReviewRevision
from reputable.reviews.summaries import count_rating


@dataclass(frozen=True)
class ReviewInput:
    rating: int
    delivery_rating: int | None = None
    service_rating: int | None = None
    title: str = ""
    body: str = ""
    name_display: str = Review.NameDisplay.FIRST_NAME_INITIAL
    # product id -> (stars, text), for products of the reviewed transaction only
    products: dict[int, tuple[int, str]] = field(default_factory=dict)


class EditWindowClosed(Exception):
    """The review exists and its edit window has passed: it stays as it is."""


def submit_review(*, invitation: Invitation, data: ReviewInput, now: dt.datetime) -> tuple[Review, bool]:
    """Publish the customer's review of the invitation's transaction, or edit it.

    Returns the review and whether it was created. The first submit creates it; later
    submits within the shop's edit window change it (the previous text is kept as a
    revision); a repeated identical submit changes nothing.
    """
    with db_transaction.atomic():
        # Two submits at once (a double click) queue here; the second finds the first's review.
        invitation = Invitation.objects.select_for_update().select_related("shop", "transaction").get(pk=invitation.pk)
        review = Review.objects.filter(invitation=invitation).select_related("shop").first()
        if review is None:
            return _publish(invitation, data, now), True
        if not review.is_editable(now):
            raise EditWindowClosed
        _edit(review, invitation, data, now)
        return review, False


def author_name(invitation: Invitation, name_display: str) -> str:
    if name_display == Review.NameDisplay.ANONYMOUS:
        return ""
    tx = invitation.transaction
    initial = f" {tx.last_name.strip()[:1].upper()}." if tx.last_name.strip() else ""
    return f"{tx.first_name.strip()}{initial}".strip()


def _publish(invitation: Invitation, data: ReviewInput, now: dt.datetime) -> Review:
    review = Review.objects.create(
        shop=invitation.shop,
        invitation=invitation,
        transaction=invitation.transaction,
        **{f: getattr(data, f) for f in Review.WRITTEN_FIELDS},
        author_name=author_name(invitation, data.name_display),
        locale=invitation.locale,
        created_at=now,
        updated_at=now,
    )
    _set_product_reviews(review, data.products)
    count_rating(shop=review.shop, product=None, day=now.date(), stars=data.rating, change=1)
    Invitation.objects.filter(pk=invitation.pk).mark_reviewed()
    pagecache.changed(review.shop.slug)
    return review


def _content(review: Review | ReviewInput, products: dict[int, tuple[int, str]]) -> dict[str, object]:
    """What a review says, as kept in its revisions."""
    written: dict[str, object] = {f: getattr(review, f) for f in Review.WRITTEN_FIELDS}
    return written | {"products": {str(pid): list(rating) for pid, rating in products.items()}}


def _edit(review: Review, invitation: Invitation, data: ReviewInput, now: dt.datetime) -> None:
    before = _content(review, {pr.product_id: (pr.rating, pr.body) for pr in review.product_reviews.all()})
    proposed = _content(data, data.products)
    if proposed == before:
        return  # the same form sent twice
    ReviewRevision.objects.create(review=review, content=before, created_at=now)
    day = review.created_at.date()
    if data.rating != review.rating:
        count_rating(shop=review.shop, product=None, day=day, stars=review.rating, change=-1)
        count_rating(shop=review.shop, product=None, day=day, stars=data.rating, change=1)
    for old in review.product_reviews.select_related("product"):
        count_rating(shop=review.shop, product=old.product, day=day, stars=old.rating, change=-1)
    review.product_reviews.all().delete()
    _set_product_reviews(review, data.products)
    for f in Review.WRITTEN_FIELDS:
        setattr(review, f, getattr(data, f))
    review.author_name = author_name(invitation, data.name_display)
    review.updated_at = now
    review.save()
    pagecache.changed(review.shop.slug)


def _set_product_reviews(review: Review, ratings: dict[int, tuple[int, str]]) -> None:
    products = Product.objects.in_bulk(list(ratings))
    ProductReview.objects.bulk_create(
        ProductReview(review=review, product=products[pid], rating=stars, body=text)
        for pid, (stars, text) in ratings.items()
    )
    day = review.created_at.date()
    for pid, (stars, _text) in ratings.items():
        count_rating(shop=review.shop, product=products[pid], day=day, stars=stars, change=1)
