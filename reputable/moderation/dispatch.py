"""Dispute deadlines as the dispatcher's due work: each `Deadline` row, when it passes, does
what `reputable.moderation.actions.deadline_passed` says, exactly once."""

import datetime as dt

from django.db import transaction as db_transaction

from reputable.dispatch.work import LeasedKind, register
from reputable.moderation import actions
from reputable.moderation.models import Deadline


@register
class Deadlines(LeasedKind):
    name = "dispute-deadlines"
    model = Deadline

    def perform(self, item: Deadline, now: dt.datetime) -> None:
        # Done in the transaction of what it does: the row is marked only if it is still ours
        # and pending, so a deadline cancelled meanwhile, or taken over, does nothing.
        with db_transaction.atomic():
            marked = Deadline.objects.filter(pk=item.pk, claim_id=item.claim_id, status=Deadline.Status.PENDING).update(
                status=Deadline.Status.DONE, done_at=now, claimed_until=None, claim_id="", last_error=""
            )
            if marked:
                actions.deadline_passed(deadline=item, now=now)

    def record_done(self, item: Deadline, now: dt.datetime) -> None:
        """Recorded by `perform`, in its transaction."""
