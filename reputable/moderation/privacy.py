"""What moderation holds about a person, for the privacy requests and the retention runs of
`reputable.privacy`: notices they sent (name, address), and the disputes of their reviews
(their statements in the history, their evidence)."""

import re
from typing import Any

from reputable.moderation.models import Dispute, Entry, Evidence, Notice
from reputable.privacy.actions import register_eraser, register_export
from reputable.reviews.actions import REDACTED
from reputable.shops.models import Shop


def _disputes_of(shop: Shop, email: str) -> Any:
    return Dispute.objects.filter(shop=shop, review__transaction__email__iexact=email)


def export(shop: Shop, email: str) -> dict[str, Any]:
    """The person's side of the moderation of the shop's reviews: the notices they sent, and
    the disputes of their reviews as they were shown them (the shop's private notes to the
    moderators are not theirs, the evidence they sent is listed by name)."""
    notices = Notice.objects.filter(review__shop=shop, email__iexact=email)
    return {
        "notices": [
            {
                "review": notice.review_id,
                "reason": notice.reason,
                "explanation": notice.explanation,
                "name": notice.name,
                "status": notice.status,
                "created_at": notice.created_at.isoformat(),
            }
            for notice in notices
        ],
        "disputes": [
            {
                "review": dispute.review_id,
                "reason": dispute.reason,
                "stage": dispute.stage,
                "outcome": dispute.outcome,
                "history": [
                    {
                        "actor": entry.actor,
                        "action": entry.action,
                        "text": entry.text,
                        "at": entry.created_at.isoformat(),
                    }
                    for entry in dispute.entries.filter(shown_to_reviewer=True)
                ],
                "evidence": [{"name": e.name, "size": e.size} for e in dispute.evidence.all()],
            }
            for dispute in _disputes_of(shop, email).prefetch_related("evidence")
        ],
    }


def erase(shop: Shop, addresses: set[str], transaction_ids: list[int]) -> None:
    """Erase the notices' senders, the addresses written into the histories, and the evidence
    files of the erased orders' reviews (their names stay, as "erased", in the history)."""
    if not addresses and not transaction_ids:
        return
    reviews = {"review__shop": shop}
    if addresses:
        emails = {address.lower() for address in addresses}
        Notice.objects.filter(**reviews, email__in=emails).update(email="", name="")
        pattern = re.compile("|".join(re.escape(a) for a in sorted(addresses)), re.IGNORECASE)
        for entry in Entry.objects.filter(dispute__shop=shop, text__contains="@"):
            scrubbed = pattern.sub(REDACTED, entry.text)
            if scrubbed != entry.text:
                Entry.objects.filter(pk=entry.pk).update(text=scrubbed)
    if transaction_ids:
        Evidence.objects.filter(dispute__shop=shop, dispute__review__transaction_id__in=transaction_ids).update(
            data=b"", size=0
        )


register_export("moderation", export)
register_eraser(erase)
