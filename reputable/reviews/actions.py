"""Writing reviews: publication at once, edits within the window, summaries in step."""

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

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
from reputable.reviews import counters, screening
from reputable.reviews.models import (
    Product,
    ProductReview,
    RemovalOrigin,
    Reply,
    Review,
    ReviewMessage,
    ReviewRevision,
)
from reputable.reviews.summaries import count_rating
from reputable.shops.access import members_at_least
from reputable.shops.models import Membership
from reputable.webhooks.events import emit, listens


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


def tell_webhooks(review: Review, event_type: str) -> None:
    """The shop's webhooks hear of the review as it now stands (in the caller's transaction): as
    published, or, taken down, only what its stub says."""
    if not listens(review.shop_id, event_type):
        return
    data: dict[str, Any] = {
        "id": review.pk,
        "status": review.status,
        "rating": review.rating,
        "verified": review.verified,
        "reference": review.transaction.reference if review.transaction is not None else None,
        "created_at": review.created_at,
        "updated_at": review.updated_at,
    }
    if review.is_published:
        products = review.product_reviews.select_related("product").order_by("pk")
        data |= {
            "delivery_rating": review.delivery_rating,
            "service_rating": review.service_rating,
            "title": review.title,
            "body": review.body,
            "author_name": review.author_name,
            "locale": review.locale,
            "products": [{"sku": p.product.sku, "rating": p.rating, "body": p.body} for p in products],
        }
    else:
        data |= {"removed_at": review.removed_at or review.restricted_at, "ground": review.removal_ground}
    emit(review.shop_id, [(event_type, data)])


def _tell_webhooks_of_reply(reply: Reply, event_type: str) -> None:
    data = {
        "review_id": reply.review_id,
        "body": reply.body,
        "created_at": reply.created_at,
        "updated_at": reply.updated_at,
    }
    emit(reply.review.shop_id, [(event_type, data)])


def author_name(invitation: Invitation, name_display: str) -> str:
    if name_display == Review.NameDisplay.ANONYMOUS:
        return ""
    tx = invitation.transaction
    initial = f" {tx.last_name.strip()[:1].upper()}." if tx.last_name.strip() else ""
    return f"{tx.first_name.strip()}{initial}".strip()


def _publish(invitation: Invitation, data: ReviewInput, now: dt.datetime) -> Review:
    # Published at once whatever the checks find: they mask or flag, never hold back.
    data, screened = _screen(data, language_for(invitation.locale, invitation.shop), now)
    review = Review.objects.create(
        shop=invitation.shop,
        invitation=invitation,
        transaction=invitation.transaction,
        **{f: getattr(data, f) for f in Review.WRITTEN_FIELDS},
        **screened,
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
    tell_webhooks(review, "review.created")
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
    # The revision keeps what the reviewer wrote where the published text masked it.
    kept = {"original": review.original} if review.original else {}
    ReviewRevision.objects.create(review=review, content=before | kept, created_at=now)
    data, screened = _screen(data, language_for(review.locale, review.shop), now, review)
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
    for f, value in screened.items():
        setattr(review, f, value)
    review.author_name = author_name(invitation, data.name_display)
    review.updated_at = now
    review.save()
    tell_webhooks(review, "review.updated")
    pagecache.changed(review.shop.slug)
    from reputable.moderation.actions import review_edited  # moderation builds on this module

    review_edited(review=review, now=now)  # a dispute's history shows the change


def _set_product_reviews(review: Review, ratings: dict[int, tuple[int, str]]) -> None:
    products = Product.objects.in_bulk(list(ratings))
    ProductReview.objects.bulk_create(
        ProductReview(review=review, product=products[pid], rating=stars, body=text)
        for pid, (stars, text) in ratings.items()
    )
    day = review.created_at.date()
    for pid, (stars, _text) in ratings.items():
        count_rating(shop=review.shop, product=products[pid], day=day, stars=stars, change=1)


# --- the checks at submission (reputable.reviews.screening) ----------------------------------


def _screen(
    data: ReviewInput, language: str, now: dt.datetime, review: Review | None = None
) -> tuple[ReviewInput, dict[str, Any]]:
    """`data` as it is published (contact and bank details masked, in the review's language) and
    the review's screening fields: `original`, `automated`, `flagged_at`, `flag_cleared_at`.

    On an edit, a text sent back as it is published stands for what the reviewer wrote before
    (the form shows the published text), so it keeps its original. The word list flags anew
    when the edit brings a listed word that was not there (even after a moderator looked), and
    the flag goes when no listed word is left.
    """
    written = _texts(data.title, data.body, {pid: body for pid, (_stars, body) in data.products.items()})
    flagged_before: set[str] = set()
    if review is not None:
        before = _written(review)
        published = _texts(review.title, review.body, {pr.product_id: pr.body for pr in review.product_reviews.all()})
        written = {key: before[key] if text == published.get(key) else text for key, text in written.items()}
        flagged_before = set(screening.screen(before, language).flagged_words)
    result = screening.screen(written, language)
    shown = result.published
    longest = Review._meta.get_field("title").max_length or 0
    if len(shown["title"]) > longest:  # a mark is longer than what it hides
        shown["title"] = shown["title"][: longest - 1] + "…"
    original = {key: text for key, text in written.items() if shown[key] != text}
    fields: dict[str, Any] = {
        "original": {key: original[key] for key in ("title", "body") if key in original}
        | ({"products": products} if (products := _products_of(original)) else {}),
        "automated": list(result.actions),
    }
    if not result.flagged:
        fields |= {"flagged_at": None, "flag_cleared_at": None}
    elif review is None or review.flagged_at is None or set(result.flagged_words) - flagged_before:
        fields |= {"flagged_at": now, "flag_cleared_at": None}
    published_products = {pid: (stars, shown[f"product:{pid}"]) for pid, (stars, _body) in data.products.items()}
    return replace(data, title=shown["title"], body=shown["body"], products=published_products), fields


def _texts(title: str, body: str, products: dict[int, str]) -> dict[str, str]:
    """A review's texts as the checks read them, one key each."""
    return {"title": title, "body": body} | {f"product:{pid}": text for pid, text in products.items()}


def _products_of(texts: dict[str, str]) -> dict[str, str]:
    return {key.removeprefix("product:"): text for key, text in texts.items() if key.startswith("product:")}


def _written(review: Review) -> dict[str, str]:
    """What the reviewer wrote: the published texts, and the original where one was masked."""
    original = review.original
    texts = _texts(review.title, review.body, {pr.product_id: pr.body for pr in review.product_reviews.all()})
    kept = {key: original[key] for key in ("title", "body") if key in original}
    kept |= {f"product:{pid}": text for pid, text in original.get("products", {}).items()}
    return texts | {key: text for key, text in kept.items() if key in texts}


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
        data = {"id": message.pk, "review_id": review.pk, "body": body, "created_at": now}
        emit(shop, [("message.received", data)])
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
        if not review.is_published:
            raise ValidationError(_("This review is taken down, so it takes no reply."), code="taken_down")
        reply = Reply.objects.filter(review=review).first()
        if reply is None:
            reply = Reply.objects.create(review=review, body=body, author=author, created_at=now, updated_at=now)
            Review.objects.filter(pk=review.pk).update(replied_at=now)  # nothing else of the review
            hours = (now - review.created_at).total_seconds() / 3600
            metrics = counters.reply_metrics(stars=review.rating, hours=hours)
            counters.add(shop=review.shop, day=now.astimezone(dt.UTC).date(), metrics=metrics)
            _tell_reviewer(review, reply)
            _tell_webhooks_of_reply(reply, "reply.created")
        elif reply.body != body:
            reply.body, reply.author, reply.updated_at = body, author, now
            reply.save(update_fields=["body", "author", "updated_at"])
            _tell_webhooks_of_reply(reply, "reply.updated")
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


# --- moderation: what a decision does to a review (reputable.moderation decides) -------------
#
# A review is never deleted and never edited by the shop. A moderator's decision, or the
# reviewer, may take it down: restricted (hidden until the decision) or removed, each leaving
# a public stub; or a passage redacted. Its ratings leave the summaries (the rating buckets)
# in the same transaction as it leaves the public, and come back if it is reinstated, so the
# averages always equal a count over the published reviews.

REDACTED = "[…]"


def _locked(review: Review) -> Review:
    return Review.objects.select_for_update(of=("self",)).select_related("shop").get(pk=review.pk)


def _count_ratings(review: Review, change: int) -> None:
    """Put the review's shop and product ratings into the summaries (1) or take them out (-1)."""
    day = review.created_at.date()
    count_rating(shop=review.shop, product=None, day=day, stars=review.rating, change=change)
    for rated in review.product_reviews.select_related("product"):
        count_rating(shop=review.shop, product=rated.product, day=day, stars=rated.rating, change=change)


def remove_review(*, review: Review, ground: str, origin: str, now: dt.datetime) -> Review:
    """Take the review down for good, leaving its public stub ("removed on <date> ... Reason:
    <ground>"): by a moderator's decision on a dispute or a notice, or at the reviewer's wish.
    Nothing is deleted; removing a removed review changes nothing."""
    if origin not in RemovalOrigin.values:
        raise ValueError(f"unknown removal origin {origin!r}")
    with db_transaction.atomic():
        review = _locked(review)
        if review.status == Review.Status.REMOVED:
            return review
        if review.status == Review.Status.PUBLISHED:
            _count_ratings(review, -1)
        review.status = Review.Status.REMOVED
        review.removed_at, review.removal_ground, review.removal_origin = now, ground, origin
        review.disputed_since = None
        review.save(update_fields=["status", "removed_at", "removal_ground", "removal_origin", "disputed_since"])
        tell_webhooks(review, "review.removed")
        counters.add(shop=review.shop, day=now.astimezone(dt.UTC).date(), metrics={f"reviews.removed.{ground}": 1})
        if origin != RemovalOrigin.DISPUTE:
            # An open dispute of the review has nothing left to decide. (Moderation builds on
            # reviews, so it is imported here.)
            from reputable.moderation.actions import close_disputes_of

            close_disputes_of(review=review, origin=origin, now=now)
        pagecache.changed(review.shop.slug)
    return review


def restrict_review(*, review: Review, now: dt.datetime) -> Review:
    """Hide a published review at once until its decision (manifestly illegal content): its
    stub says it is restricted pending a moderator's decision."""
    with db_transaction.atomic():
        review = _locked(review)
        if review.status != Review.Status.PUBLISHED:
            return review
        _count_ratings(review, -1)
        review.status, review.restricted_at = Review.Status.RESTRICTED, now
        review.save(update_fields=["status", "restricted_at"])
        tell_webhooks(review, "review.removed")
        pagecache.changed(review.shop.slug)
    return review


def reinstate_review(*, review: Review) -> Review:
    """Show a restricted or removed review again: the decision kept it or redacted a passage,
    or an appeal reversed its removal (the decisions keep the history)."""
    with db_transaction.atomic():
        review = _locked(review)
        if review.status == Review.Status.PUBLISHED:
            return review
        if review.removed_at is not None:  # the removal is undone: it no longer counts
            day = review.removed_at.astimezone(dt.UTC).date()
            counters.add(shop=review.shop, day=day, metrics={f"reviews.removed.{review.removal_ground}": -1})
        review.status = Review.Status.PUBLISHED
        review.removed_at, review.removal_ground, review.removal_origin = None, "", ""
        review.save(update_fields=["status", "removed_at", "removal_ground", "removal_origin"])
        _count_ratings(review, 1)
        tell_webhooks(review, "review.updated")
        pagecache.changed(review.shop.slug)
    return review


class PassageNotFound(ValueError):
    """The passage to redact is not in the review's title, text or product texts."""


def redact_review(*, review: Review, passage: str, ground: str, now: dt.datetime) -> Review:
    """Replace `passage` by a mark wherever it occurs in the review (title, text, product texts);
    the review stays (or becomes again) published, with a note that moderation redacted it.
    What it said before is kept as a revision, for the moderators."""
    passage = passage.strip()
    with db_transaction.atomic():
        review = _locked(review)
        products = list(review.product_reviews.all())
        texts = [review.title, review.body, *(rated.body for rated in products)]
        if not passage or not any(passage in text for text in texts):
            raise PassageNotFound(_("The passage is not in the review."))
        before = {pr.product_id: (pr.rating, pr.body) for pr in products}
        ReviewRevision.objects.create(review=review, content=_content(review, before), created_at=now)
        review.title = review.title.replace(passage, REDACTED)
        review.body = review.body.replace(passage, REDACTED)
        for rated in products:
            if passage in rated.body:
                rated.body = rated.body.replace(passage, REDACTED)
                rated.save(update_fields=["body"])
        review.redacted_at, review.redaction_ground = now, ground
        review.save(update_fields=["title", "body", "redacted_at", "redaction_ground"])
        if review.is_published:
            tell_webhooks(review, "review.updated")
        else:
            reinstate_review(review=review)  # which tells of it
        pagecache.changed(review.shop.slug)
    return review


def set_disputed(*, review: Review, since: dt.datetime | None) -> None:
    """Label the review "in dispute since <date>" (an admissible dispute is open), or not."""
    with db_transaction.atomic():
        Review.objects.filter(pk=review.pk).update(disputed_since=since)
        pagecache.changed(review.shop.slug)
