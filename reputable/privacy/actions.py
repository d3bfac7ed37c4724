"""Privacy: what a shop holds about a customer, erased when its retention period is over or
when the customer asks, and exported when they ask to see it.

One function erases a customer's personal data, `erase_transactions`: the dispatcher's daily
retention run calls it for the transactions past the shop's period (`erase_expired_batch`),
a data subject's erasure request for the transactions of one address (`erase_address`). It
empties the address and the names of the transactions and their invitations, takes the
addresses out of the texts of their reviews (and replies, private messages, revisions), and
empties the outbox's copies of messages to an address the shop no longer holds. Erased rows
keep their place, with "" as address and names: that is their mark (an address is never empty
otherwise), the dashboard shows them as erased, and no run touches them again.

Reviews stay, pseudonymous: their text and stars, and the name they are shown under ("Jan V.",
the first name and an initial the customer chose to publish, or nothing). Without its
transaction's address and names that name leads to nobody, and removing it would change what
the public has read. An erasure request may go further, at the person's choice: the review
shown as anonymous, or removed with its public stub (reputable.reviews.actions.remove_review).

Suppressions stay as they are, in clear text: a suppression is the person's objection, and
keeping the address to honour it is allowed (GDPR Art. 17(3)(b) and 21(3)) and needed, since
invitations are checked against it by address. The retention run never erases one.

Other apps that hold data about a customer add it here: an exporter (a section of the export)
with `register_export`, an eraser with `register_eraser` (moderation's notices and evidence,
for one).
"""

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction as db_transaction
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from reputable.dispatch.models import OutboxItem
from reputable.events.models import Event, Transaction
from reputable.invitations.models import Invitation, Suppression
from reputable.lib import pagecache
from reputable.lib.dates import add_months, time_zone
from reputable.lib.emails import AddressError, normalise_address
from reputable.privacy.models import PrivacyRequest, RetentionRun
from reputable.reviews.actions import REDACTED, remove_review
from reputable.reviews.models import ProductReview, Reply, Review, ReviewMessage, ReviewRevision
from reputable.shops.models import ApiKey, Shop

# What an erased address or name becomes (EmailField and CharField take it; NOT NULL holds).
ERASED = ""
# The ground a review removed at its author's erasure request is removed on (its stub says so).
ERASURE_GROUND = "erasure_request"

# Exporters: a section name and a function (shop, address) -> JSON, for data other apps hold.
Exporter = Callable[[Shop, str], Any]
EXPORTERS: dict[str, Exporter] = {}
# Erasers: called by `erase_transactions` with the shop, the erased addresses and transaction ids.
Eraser = Callable[[Shop, set[str], list[int]], None]
ERASERS: list[Eraser] = []


def register_export(section: str, exporter: Exporter) -> None:
    """Add `section` to every export: what `exporter(shop, address)` returns (JSON)."""
    EXPORTERS[section] = exporter


def register_eraser(eraser: Eraser) -> None:
    """Have `eraser(shop, addresses, transaction_ids)` erase what its app holds about them, in
    the transaction of every erasure (retention and requests alike)."""
    ERASERS.append(eraser)


# --- addresses, deadlines ----------------------------------------------------------------------


def email_hash(email: str) -> str:
    """The address as a keyed hash: the same person is recognised, the address is not readable
    (nor guessable by hashing a list of addresses without the installation's secret)."""
    return salted_hmac("reputable.privacy.email", email, algorithm="sha256").hexdigest()


def email_hint(email: str) -> str:
    """The address masked for people: "j•••@example.com"."""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def one_month_after(moment: dt.datetime, shop: Shop) -> dt.datetime:
    """The deadline of a request received at `moment` (GDPR Art. 12(3): "within one month"):
    the same day of the next month in the shop's time zone, or that month's last day."""
    return add_months(moment.astimezone(time_zone(shop.timezone)), 1).astimezone(dt.UTC)


def retention_cutoff(shop: Shop, now: dt.datetime) -> dt.datetime:
    """Transactions recorded before this are past the shop's retention period."""
    return add_months(now.astimezone(time_zone(shop.timezone)), -shop.retention_months).astimezone(dt.UTC)


def _clean_address(email: object) -> str:
    try:
        return normalise_address(str(email))
    except AddressError:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from None


# --- the one erasure ---------------------------------------------------------------------------


def erase_transactions(*, shop: Shop, transaction_ids: list[int]) -> dict[str, int]:
    """Erase the customers' personal data of these transactions of `shop` and its copies.

    Call it inside a transaction. Idempotent: erased rows are left alone. Returns how many rows
    of each kind it changed.
    """
    transactions = Transaction.objects.filter(shop=shop, pk__in=transaction_ids)
    invitations = Invitation.objects.filter(shop=shop, transaction_id__in=transaction_ids)
    addresses = set(transactions.exclude(email=ERASED).values_list("email", flat=True))
    addresses |= set(invitations.exclude(email=ERASED).values_list("email", flat=True))
    counts = {
        # Nothing more goes to an erased address (a pending invitation of an erased order).
        "invitations_cancelled": invitations.cancel(),
        "transactions": transactions.exclude(email=ERASED, first_name=ERASED, last_name=ERASED).update(
            email=ERASED, first_name=ERASED, last_name=ERASED
        ),
        "invitations": invitations.exclude(email=ERASED).update(email=ERASED),
    }
    if not addresses:
        return counts
    counts["texts"] = _scrub_texts(
        shop, Review.objects.filter(shop=shop, transaction_id__in=transaction_ids), addresses
    )
    # Copies of messages to an address the shop still holds for a newer order may stay (it keeps
    # that order lawfully); once it holds the address no more, they go too.
    still_held = set(Transaction.objects.filter(shop=shop, email__in=addresses).values_list("email", flat=True))
    gone = addresses - still_held
    if gone:
        counts["messages"] = OutboxItem.objects.filter(shop=shop, payload__to__in=sorted(gone)).erase()
    for eraser in ERASERS:
        eraser(shop, addresses, transaction_ids)
    return counts


def _scrub_texts(shop: Shop, reviews: QuerySet[Review], addresses: set[str]) -> int:
    """Replace `addresses` wherever they were written into the reviews' texts (by the customer
    or in the shop's answers, the original of a masked text, earlier versions) with the mark of
    a redaction. Only texts with an "@" are read. Returns how many rows changed."""
    pattern = re.compile("|".join(re.escape(address) for address in sorted(addresses)), re.IGNORECASE)
    texts: list[tuple[QuerySet[Any], tuple[str, ...]]] = [
        (reviews, ("title", "body", "original")),
        (ProductReview.objects.filter(review__in=reviews), ("body",)),
        (Reply.objects.filter(review__in=reviews), ("body",)),
        (ReviewMessage.objects.filter(review__in=reviews), ("body",)),
        (ReviewRevision.objects.filter(review__in=reviews), ("content",)),
    ]
    changed = 0
    for rows, fields in texts:
        # JSON columns as their text, so that one condition finds an "@" in any of them.
        as_text = {f"{f}_text": Cast(f, TextField()) for f in fields}
        with_at = functools.reduce(operator.or_, (Q(**{f"{name}__contains": "@"}) for name in as_text))
        for row in rows.annotate(**as_text).filter(with_at):
            scrubbed = {f: _scrub_json(getattr(row, f), pattern) for f in fields}
            if any(scrubbed[f] != getattr(row, f) for f in fields):
                rows.model._default_manager.filter(pk=row.pk).update(**scrubbed)
                changed += 1
    if changed:
        pagecache.changed(shop.slug)
    return changed


def _scrub_json(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, list):
        return [_scrub_json(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, pattern) for k, v in value.items()}
    return value


# --- retention ---------------------------------------------------------------------------------


class ClaimLost(Exception):  # noqa: N818 - reads as `raise ClaimLost`
    """Another dispatcher took the run over (this one's lease ran out): its batch is undone."""


def erase_expired_batch(*, run: RetentionRun, now: dt.datetime, size: int) -> int:
    """Erase the next `size` transactions of the run's shop past its retention period, and
    record how far the run got, in one transaction: a run killed at any point loses nothing and
    repeats nothing but the batch it was in. Returns how many it erased (fewer than `size`: the
    run has caught up). Raises ClaimLost, its batch rolled back, if the run is no longer ours."""
    shop = run.shop
    # Served by the index transaction_by_time (shop, created_at, id), from where the run got to.
    expired = Transaction.objects.filter(shop=shop, created_at__lt=retention_cutoff(shop, now))
    if run.erased_to_created_at is not None:
        expired = expired.filter(
            Q(created_at__gt=run.erased_to_created_at) | Q(created_at=run.erased_to_created_at, pk__gt=run.erased_to_id)
        )
    with db_transaction.atomic():
        batch = list(expired.order_by("created_at", "pk").values_list("pk", "created_at")[:size])
        if not batch:
            return 0
        erase_transactions(shop=shop, transaction_ids=[pk for pk, _created in batch])
        last_id, last_created = batch[-1]
        if not RetentionRun.objects.filter(pk=run.pk, claim_id=run.claim_id).update(
            erased_to_created_at=last_created, erased_to_id=last_id, erased_count=F("erased_count") + len(batch)
        ):
            raise ClaimLost
    run.erased_to_created_at, run.erased_to_id = last_created, last_id
    return len(batch)


def next_expiry(run: RetentionRun, now: dt.datetime) -> dt.datetime:
    """When the next transaction of the run's shop passes its period: the first after where the
    run got to, recorded `retention_months` before. With none recorded yet, no transaction can
    pass it sooner than a period from now."""
    shop = run.shop
    after = Transaction.objects.filter(shop=shop)
    if run.erased_to_created_at is not None:
        after = after.filter(
            Q(created_at__gt=run.erased_to_created_at) | Q(created_at=run.erased_to_created_at, pk__gt=run.erased_to_id)
        )
    oldest = after.order_by("created_at", "pk").values_list("created_at", flat=True).first()
    zone = time_zone(shop.timezone)
    return add_months((oldest or now).astimezone(zone), shop.retention_months).astimezone(dt.UTC)


# --- data subject requests ----------------------------------------------------------------------


def _transactions_of(shop: Shop, email: str) -> list[int]:
    """The shop's transactions with `email`, and those whose invitation went to it.

    Served by the indexes transaction_by_address and invitation_by_address (shop, email, ...)."""
    ids = set(Transaction.objects.filter(shop=shop, email=email).values_list("pk", flat=True))
    ids |= set(Invitation.objects.filter(shop=shop, email=email).values_list("transaction_id", flat=True))
    return sorted(ids)


def _log(
    *,
    shop: Shop,
    kind: str,
    email: str,
    now: dt.datetime,
    requested_by: User | None,
    api_key: ApiKey | None,
    counts: Mapping[str, int],
    review_choice: str = "",
) -> PrivacyRequest:
    return PrivacyRequest.objects.create(
        shop=shop,
        kind=kind,
        email_hash=email_hash(email),
        email_hint=email_hint(email),
        review_choice=review_choice,
        requested_at=now,
        due_at=one_month_after(now, shop),
        completed_at=now,  # done at once: they are writes to the database
        requested_by=requested_by,
        api_key=api_key,
        counts=dict(counts),
    )


def erase_address(
    *,
    shop: Shop,
    email: str,
    review_choice: str,
    now: dt.datetime,
    requested_by: User | None = None,
    api_key: ApiKey | None = None,
) -> PrivacyRequest:
    """A data subject's erasure request, done at once: everything the retention run would erase
    of `email`'s transactions, and their reviews kept as anonymous or removed with a stub
    (`review_choice`). ValidationError naming the field for bad input; nothing is stored then."""
    address = _clean_address(email)
    if review_choice not in PrivacyRequest.ReviewChoice.values:
        raise ValidationError({"review": [_("Choose whether the reviews stay as anonymous or are removed.")]})
    with db_transaction.atomic():
        transaction_ids = _transactions_of(shop, address)
        reviews = list(Review.objects.filter(shop=shop, transaction_id__in=transaction_ids).select_related("shop"))
        for review in reviews:
            _forget_author(review, review_choice, now)
        counts = erase_transactions(shop=shop, transaction_ids=transaction_ids)
        counts["reviews"] = len(reviews)
        return _log(
            shop=shop,
            kind=PrivacyRequest.Kind.ERASURE,
            email=address,
            now=now,
            requested_by=requested_by,
            api_key=api_key,
            counts=counts,
            review_choice=review_choice,
        )


def _forget_author(review: Review, review_choice: str, now: dt.datetime) -> None:
    """The review no longer names its author, nor do the team's emails about it; removed with
    its stub if that is the author's choice."""
    Review.objects.filter(pk=review.pk).update(name_display=Review.NameDisplay.ANONYMOUS, author_name="")
    team_link = settings.BASE_URL + reverse("dashboard-review", args=[review.shop.slug, review.pk])
    OutboxItem.objects.filter(shop=review.shop, payload__context__review_url=team_link).erase()
    pagecache.changed(review.shop.slug)
    if review_choice == PrivacyRequest.ReviewChoice.REMOVE:
        remove_review(review=review, ground=ERASURE_GROUND, origin="data_subject", now=now)


def export_address(
    *, shop: Shop, email: str, now: dt.datetime, requested_by: User | None = None, api_key: ApiKey | None = None
) -> tuple[PrivacyRequest, dict[str, Any]]:
    """A data subject's access request (GDPR Art. 15): everything `shop` holds about `email`,
    as a JSON document, and the request logged. ValidationError for a bad address."""
    address = _clean_address(email)
    with db_transaction.atomic():
        document = holdings(shop, address)
        counts = {section: len(rows) for section, rows in document.items() if isinstance(rows, list)}
        request = _log(
            shop=shop,
            kind=PrivacyRequest.Kind.EXPORT,
            email=address,
            now=now,
            requested_by=requested_by,
            api_key=api_key,
            counts=counts,
        )
    earlier = PrivacyRequest.objects.filter(shop=shop, email_hash=request.email_hash).order_by("pk")
    document["requests"] = [
        {
            "kind": r.kind,
            "requested_at": r.requested_at.isoformat(),
            "due_at": r.due_at.isoformat(),
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            "review_choice": r.review_choice,
        }
        for r in earlier
    ]
    return request, {"shop": shop.name, "email": address, "generated_at": now.isoformat(), **document}


def _time(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def holdings(shop: Shop, email: str) -> dict[str, Any]:
    """What `shop` holds about `email`, by section: its transactions (with their products,
    events and invitation), reviews (with product reviews, the reply, the private messages and
    earlier versions), suppressions, and the sections other apps register."""
    transaction_ids = _transactions_of(shop, email)
    transactions = (
        Transaction.objects.filter(pk__in=transaction_ids)
        .select_related("invitation")
        .prefetch_related("products")
        .order_by("created_at", "pk")
    )
    events: dict[int, list[dict[str, Any]]] = {}
    for event in Event.objects.filter(transaction_id__in=transaction_ids).select_related("event_type"):
        events.setdefault(event.transaction_id, []).append(
            {"type": event.event_type.key, "outcome": event.outcome, "received_at": _time(event.received_at)}
        )
    reviews = (
        Review.objects.filter(shop=shop, transaction_id__in=transaction_ids)
        .select_related("reply")
        .prefetch_related("product_reviews__product", "messages", "revisions")
        .order_by("created_at", "pk")
    )
    return {
        "transactions": [_transaction(tx, events.get(tx.pk, [])) for tx in transactions],
        "reviews": [_review(review) for review in reviews],
        "suppressions": [
            {"scope": "shop" if s.shop_id else "installation", "reason": s.reason, "created_at": _time(s.created_at)}
            for s in Suppression.objects.for_shop(shop).filter(email=email).order_by("pk")
        ],
        **{section: exporter(shop, email) for section, exporter in EXPORTERS.items()},
    }


def _transaction(tx: Transaction, events: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        invitation: Invitation | None = tx.invitation
    except Invitation.DoesNotExist:
        invitation = None
    return {
        "reference": tx.reference,
        "date": _time(tx.date),
        "email": tx.email,
        "first_name": tx.first_name,
        "last_name": tx.last_name,
        "locale": tx.locale,
        "estimated_delivery_date": _time(tx.estimated_delivery_date),
        "recorded_at": _time(tx.created_at),
        "products": [{"sku": p.sku, "name": p.name} for p in tx.products.all()],
        "events": events,
        "invitation": None
        if invitation is None
        else {
            "email": invitation.email,
            "locale": invitation.locale,
            "status": invitation.status,
            "messages_sent": invitation.sent_count,
            "last_sent_at": _time(invitation.last_sent_at),
            "created_at": _time(invitation.created_at),
        },
    }


def _review(review: Review) -> dict[str, Any]:
    reply = review.reply_or_none()
    return {
        "id": review.pk,
        "status": review.status,
        "rating": review.rating,
        "delivery_rating": review.delivery_rating,
        "service_rating": review.service_rating,
        "title": review.title,
        "body": review.body,
        "shown_as": review.author_name,
        "locale": review.locale,
        "created_at": _time(review.created_at),
        "updated_at": _time(review.updated_at),
        "products": [
            {"product": pr.product.name, "rating": pr.rating, "body": pr.body} for pr in review.product_reviews.all()
        ],
        "reply": None if reply is None else {"body": reply.body, "created_at": _time(reply.created_at)},
        "messages": [
            {"sender": m.sender, "body": m.body, "created_at": _time(m.created_at)} for m in review.messages.all()
        ],
        "earlier_versions": [
            {"content": r.content, "created_at": _time(r.created_at)}
            for r in sorted(review.revisions.all(), key=lambda r: r.pk)
        ],
    }
