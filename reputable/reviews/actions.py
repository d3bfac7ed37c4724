"""Writing reviews: publication at once, edits within the window, summaries in step."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction as db_transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reputable.dispatch.outbox import enqueue, send_email
from reputable.invitations.messages import language_for
from reputable.invitations.models import Invitation, Suppression
from reputable.lib import pagecache
from reputable.lib.text import unix_line_ends, validate_paragraphs
from reputable.reviews import counters
from reputable.reviews.models import Product, ProductReview, Reply, Review, ReviewMessage, ReviewRevision
from reputable.reviews.summaries import count_rating
from reputable.shops.access import members_at_least
from reputable.shops.models import Membership


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
    counters.add(
        shop=review.shop,
        day=now.date(),
        metrics=counters.review_metrics(
            locale=review.locale,
            verified=review.verified,
            sent_count=invitation.sent_count,
            delivery=data.delivery_rating,
            service=data.service_rating,
        ),
    )
    Invitation.objects.filter(pk=invitation.pk).mark_reviewed()
    enqueue("new-review", {"review": review.pk}, shop=review.shop)  # the team's emails (dashboard.notifications)
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
    counters.add(
        shop=review.shop,
        day=day,
        metrics=counters.subrating_changes(
            before=(review.delivery_rating, review.service_rating), after=(data.delivery_rating, data.service_rating)
        ),
    )
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


# --- the private conversation between the shop and a reviewer --------------------------------

# Messages one side may write on one review within a day: plenty for a real conversation,
# few enough that neither a script nor a heated moment floods the other side.
MESSAGES_PER_DAY = 20


class MessageRefused(Exception):
    """A message that cannot be sent; the exception's text says why, for the writer."""

    status = 400


class TooManyMessages(MessageRefused):
    status = 429


def write_to_reviewer(*, review: Review, body: str, author: User, now: dt.datetime) -> ReviewMessage:
    """The shop's private message to the reviewer, relayed by email in the reviewer's language.

    The email names the shop only: no team member, no merchant address (not even as
    Reply-To); the reviewer answers through the link of their review. The first message
    dates the public "the shop contacted the reviewer" and lets the reviewer update the
    review after its edit window.
    """
    if review.invitation_id is None:
        raise MessageRefused(
            _(
                "This review was not written through one of your invitations (it was imported), so"
                " Reputable has no way to reach its author."
            )
        )
    with db_transaction.atomic():
        review, message = _add_message(review, ReviewMessage.Sender.SHOP, body, author, now)
        if review.contacted_at is None:
            review.contacted_at = now
            review.save(update_fields=["contacted_at"])
            pagecache.changed(review.shop.slug)
        invitation = review.invitation
        assert invitation is not None
        send_email(
            "review-message",
            to=invitation.email,
            context={
                "shop_name": review.shop.name,
                "rating": review.rating,
                "title": review.title,
                "body": body,
                "answer_url": settings.BASE_URL + reverse("review-messages", args=[invitation.token]),
            },
            language=language_for(review.locale, review.shop),
            shop=review.shop,
            sender_name=review.shop.display_sender,
        )
    return message


def write_to_shop(*, review: Review, body: str, now: dt.datetime) -> ReviewMessage:
    """The reviewer's answer to the shop's messages; the shop's team (responders and up) is
    told by email, without the reviewer's address."""
    if review.contacted_at is None:
        raise MessageRefused(_("The shop has not written to you about this review, so there is nothing to answer yet."))
    with db_transaction.atomic():
        review, message = _add_message(review, ReviewMessage.Sender.REVIEWER, body, None, now)
        shop = review.shop
        review_url = settings.BASE_URL + reverse("dashboard-review", args=[shop.slug, review.pk])
        for member in members_at_least(shop, Membership.Role.RESPONDER).select_related("user"):
            send_email(
                "review-message-answer",
                to=member.user.email,
                context={
                    "shop_name": shop.name,
                    "rating": review.rating,
                    "title": review.title,
                    "author_name": review.author_name,
                    "body": body,
                    "review_url": review_url,
                },
                language=language_for("", shop),
                shop=shop,
            )
    return message


def _add_message(
    review: Review, sender: str, body: str, author: User | None, now: dt.datetime
) -> tuple[Review, ReviewMessage]:
    """The review, locked (one side's messages are counted one at a time), and its new message."""
    review = Review.objects.select_for_update(of=("self",)).select_related("shop", "invitation").get(pk=review.pk)
    # Served by the index message_thread (review, created_at).
    today = review.messages.filter(sender=sender, created_at__gt=now - dt.timedelta(days=1)).count()
    if today >= MESSAGES_PER_DAY:
        limit = {"count": MESSAGES_PER_DAY}
        raise TooManyMessages(
            ngettext(
                "%(count)d message a day is the limit for one review. Please write again tomorrow.",
                "%(count)d messages a day is the limit for one review. Please write again tomorrow.",
                MESSAGES_PER_DAY,
            )
            % limit
        )
    return review, ReviewMessage.objects.create(review=review, sender=sender, author=author, body=body, created_at=now)


# --- the shop's public reply ------------------------------------------------------------------


def clean_reply(body: str) -> str:
    """A reply's text as it is stored (LF line ends, no surrounding space); ValidationError for
    an empty or too long text, or one with control characters (the rule of all text we take)."""
    body = unix_line_ends(body).strip()
    longest = Reply._meta.get_field("body").max_length or 0
    if not body:
        raise ValidationError(_("Write the reply first."), code="required")
    if len(body) > longest:
        raise ValidationError(
            _("A reply has at most %(max)d characters; this one has %(count)d.") % {"max": longest, "count": len(body)},
            code="max_length",
        )
    validate_paragraphs(body)
    return body


def reply_to_review(*, review: Review, body: str, author: User, now: dt.datetime) -> Reply:
    """The shop's one public reply under `review`: written the first time, changed after.

    The first reply dates Review.replied_at, is counted (replies and hours to the first reply,
    by star band) and tells the reviewer by email; an edit changes the text and its "edited"
    date only, and sends no second email. The review itself is never changed. Raises
    ValidationError for a text `clean_reply` refuses.
    """
    body = clean_reply(body)
    with db_transaction.atomic():
        # Two team members replying at once queue here; the second one edits the first's reply.
        review = Review.objects.select_for_update(of=("self",)).select_related("shop", "invitation").get(pk=review.pk)
        reply = Reply.objects.filter(review=review).first()
        if reply is None:
            reply = Reply.objects.create(review=review, body=body, author=author, created_at=now, updated_at=now)
            Review.objects.filter(pk=review.pk).update(replied_at=now)  # nothing else of the review
            hours = (now - review.created_at).total_seconds() / 3600
            metrics = counters.reply_metrics(stars=review.rating, hours=hours)
            counters.add(shop=review.shop, day=now.astimezone(dt.UTC).date(), metrics=metrics)
            _tell_reviewer(review, reply)
        elif reply.body != body:
            reply.body, reply.author, reply.updated_at = body, author, now
            reply.save(update_fields=["body", "author", "updated_at"])
        else:
            return reply  # the same text sent again
        pagecache.changed(review.shop.slug)
    return reply


def _tell_reviewer(review: Review, reply: Reply) -> None:
    """The email that the shop replied, in the review's language, naming the shop only (no
    merchant address, not even as Reply-To). None for an imported review (there is no address)
    or an address that objected, bounced or complained."""
    invitation = review.invitation
    if invitation is None or Suppression.objects.for_shop(review.shop).filter(email=invitation.email).exists():
        return
    language = language_for(review.locale, review.shop)
    review_url = settings.BASE_URL + reverse("review-page", args=[review.shop.slug, review.pk]) + f"?lang={language}"
    send_email(
        "review-replied",
        to=invitation.email,
        context={
            "shop_name": review.shop.name,
            "rating": review.rating,
            "title": review.title,
            "reply": reply.body,
            "review_url": review_url,
        },
        language=language,
        shop=review.shop,
        sender_name=review.shop.display_sender,
    )
