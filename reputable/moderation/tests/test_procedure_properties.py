"""The dispute procedure as a state machine: whatever the parties, the moderators and the
clock do, in any order, no review is hidden without a decision, every decision's statement
of reasons goes to both parties, each deadline does its work exactly once, and the averages
equal a count over the published reviews."""

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import transaction as db_transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from reputable.conftest import MONDAY, join, moderator, person, shop_access, write_review
from reputable.dispatch.models import OutboxItem
from reputable.dispatch.work import Worker
from reputable.moderation import actions
from reputable.moderation.dispatch import Deadlines
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Deadline, Decision, Dispute, Entry, Party
from reputable.reviews.models import ProductReview, RatingBucket, RemovalOrigin, Review
from reputable.reviews.summaries import STAR_FIELDS

pytestmark = pytest.mark.django_db

# What a deadline leaves in the history when it passes: at most one of each per dispute.
DEADLINE_ENTRIES = ("reminded", "hearing_ended", "rebuttal_time_ended", "triage_overdue", "decision_overdue")
REVIEWS = 3


class Procedure(RuleBasedStateMachine):
    """One shop with three reviews (one with a product rating), its owner, two moderators."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = time_machine.travel(MONDAY, tick=False)
        self.traveller = self.clock.start()
        # Each review may be in dispute at once (the limit of open disputes has its own test).
        self.limit = override_settings(DISPUTES_PER_100_REVIEWS=100)
        self.limit.enable()
        self.atomic = db_transaction.atomic()
        self.atomic.__enter__()  # everything of one run is rolled back at its end
        self.shop = shop_access("Property Teas", country="DE", timezone="Europe/Berlin", locale="de")
        self.owner = person("owner@property-teas.example")
        join(self.shop.shop, self.owner, "owner")
        self.moderators = [moderator("mona@reputable.example"), moderator("max@reputable.example")]
        self.reviews = [
            write_review(self.shop, "P1", 1, body="Never again.", products={"TEA-1": (2, "Stale tea.")}),
            write_review(self.shop, "P2", 2, body="Slow delivery and a rude answer."),
            write_review(self.shop, "P3", 5, body="Lovely."),
        ]
        self.worker = Worker(kinds=[Deadlines])

    def teardown(self) -> None:
        db_transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        self.clock.stop()
        self.limit.disable()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def dispute(self, index: int) -> Dispute | None:
        return Dispute.objects.filter(review=self.reviews[index]).order_by("-pk").first()

    def attempt(self, step: Any, **kwargs: Any) -> None:
        """A step that the procedure may refuse (wrong stage, wrong moderator): refused steps
        must change nothing, which the invariants check as well as anything else."""
        try:
            with db_transaction.atomic():
                step(now=self.now(), **kwargs)
        except actions.NotAllowed:
            pass

    # --- what the parties do ----------------------------------------------------------------

    @rule(index=st.integers(0, REVIEWS - 1), reason=st.sampled_from(Ground.values))
    def shop_opens(self, index: int, reason: str) -> None:
        review = Review.objects.get(pk=self.reviews[index].pk)
        self.attempt(
            actions.open_dispute,
            review=review,
            user=self.owner,
            reason=reason,
            passage="",
            explanation="This review does not describe an order of ours.",
            good_faith=True,
        )

    @rule(index=st.integers(0, REVIEWS - 1), admissible=st.booleans(), who=st.integers(0, 1))
    def moderator_triages(self, index: int, admissible: bool, who: int) -> None:
        if dispute := self.dispute(index):
            note = "" if admissible else "Not a ground of our guidelines."
            self.attempt(
                actions.triage, dispute=dispute, moderator=self.moderators[who], admissible=admissible, note=note
            )

    @rule(index=st.integers(0, REVIEWS - 1))
    def reviewer_answers(self, index: int) -> None:
        if dispute := self.dispute(index):
            pdf = actions.Upload(name="invoice.pdf", content_type="application/pdf", data=b"%PDF-1.4 invoice")
            self.attempt(actions.answer, dispute=dispute, statement="I bought it, here is the invoice.", evidence=[pdf])

    @rule(index=st.integers(0, REVIEWS - 1))
    def reviewer_asks_for_time(self, index: int) -> None:
        if dispute := self.dispute(index):
            self.attempt(actions.extend, dispute=dispute)

    @rule(index=st.integers(0, REVIEWS - 1))
    def reviewer_withdraws(self, index: int) -> None:
        if dispute := self.dispute(index):
            self.attempt(actions.withdraw, dispute=dispute)

    @rule(index=st.integers(0, REVIEWS - 1))
    def shop_rebuts(self, index: int) -> None:
        if dispute := self.dispute(index):
            self.attempt(actions.rebut, dispute=dispute, user=self.owner, text="Our records show no such order.")

    @rule(index=st.integers(0, REVIEWS - 1), who=st.integers(0, 1))
    def moderator_restricts(self, index: int, who: int) -> None:
        if dispute := self.dispute(index):
            self.attempt(actions.restrict, dispute=dispute, moderator=self.moderators[who], explanation="A threat.")

    @rule(
        index=st.integers(0, REVIEWS - 1),
        who=st.integers(0, 1),
        measure=st.sampled_from([Decision.Measure.KEPT, Decision.Measure.REDACTED, Decision.Measure.REMOVED]),
    )
    def moderator_decides(self, index: int, who: int, measure: str) -> None:
        if dispute := self.dispute(index):
            review = Review.objects.get(pk=dispute.review_id)
            passage = review.body.split()[0] if review.body.split() else "x"
            self.attempt(
                actions.decide,
                dispute=dispute,
                moderator=self.moderators[who],
                measure=measure,
                explanation="Both sides were heard.",
                passage=passage,
            )

    @rule(index=st.integers(0, REVIEWS - 1), party=st.sampled_from([Party.SHOP, Party.REVIEWER]))
    def a_party_appeals(self, index: int, party: str) -> None:
        if dispute := self.dispute(index):
            self.attempt(
                actions.appeal, dispute=dispute, party=party, text="The decision overlooks the invoice I sent."
            )

    # Steps of time around the procedure's deadlines (2 working days, 7 and 14 days).
    @rule(days=st.sampled_from([0, 1, 3, 7, 8, 15, 22]))
    def time_passes(self, days: int) -> None:
        event(f"{Dispute.objects.filter(stage=Dispute.Stage.DECIDED).count()} decided")
        self.traveller.shift(dt.timedelta(days=days, hours=1))
        while self.worker.handle_one():
            pass

    # --- what must always hold --------------------------------------------------------------

    @invariant()
    def no_review_is_hidden_without_a_decision(self) -> None:
        for review in Review.objects.all():
            final = Decision.objects.filter(review=review, interim=False).last()
            if review.status == Review.Status.REMOVED:
                by_dispute = review.removal_origin == RemovalOrigin.DISPUTE
                assert review.removal_origin == RemovalOrigin.REVIEWER or (
                    by_dispute and final is not None and final.measure == Decision.Measure.REMOVED
                )
            elif review.status == Review.Status.RESTRICTED:
                restriction = Decision.objects.filter(review=review, interim=True).last()
                assert restriction is not None
                assert final is None or final.created_at <= restriction.created_at

    @invariant()
    def every_decision_sends_its_statement_to_both_parties(self) -> None:
        for decision in Decision.objects.all():
            recipients = {
                item.payload["to"]
                for item in OutboxItem.objects.filter(kind="email", payload__template="moderation-statement")
                if item.payload["context"]["decision"] == decision.pk
            }
            invitation = decision.review.invitation
            assert invitation is not None
            assert recipients == {self.owner.email, invitation.email}

    @invariant()
    def each_deadline_does_its_work_exactly_once(self) -> None:
        now = self.now()
        assert not Deadline.objects.filter(
            status=Deadline.Status.PENDING, due_at__lte=now - dt.timedelta(minutes=1)
        ).exists()
        for dispute in Dispute.objects.all():
            done = Counter(
                Entry.objects.filter(dispute=dispute, action__in=DEADLINE_ENTRIES).values_list("action", flat=True)
            )
            assert all(n == 1 for n in done.values()), done

    @invariant()
    def the_label_says_whether_an_admitted_dispute_is_open(self) -> None:
        labelled_stages = (Dispute.Stage.HEARING, Dispute.Stage.REBUTTAL, Dispute.Stage.DECISION, Dispute.Stage.APPEAL)
        for review in Review.objects.all():
            open_admitted = Dispute.objects.filter(review=review, stage__in=labelled_stages).exists()
            if review.status == Review.Status.PUBLISHED:
                assert (review.disputed_since is not None) == open_admitted

    @invariant()
    def the_averages_equal_a_count_of_the_published_reviews(self) -> None:
        published = Review.objects.filter(status=Review.Status.PUBLISHED)
        expected = Counter(published.values_list("rating", flat=True))
        bucket = (
            RatingBucket.objects.filter(shop=self.shop.shop, product=None, day=None).values_list(*STAR_FIELDS).get()
        )
        assert list(bucket) == [expected[stars] for stars in range(1, 6)]
        product_expected = Counter(ProductReview.objects.filter(review__in=published).values_list("rating", flat=True))
        product_bucket = RatingBucket.objects.filter(shop=self.shop.shop, product__isnull=False, day=None)
        assert list(product_bucket.values_list(*STAR_FIELDS).get()) == [product_expected[s] for s in range(1, 6)]


def test_the_dispute_procedure_keeps_its_promises(db: None) -> None:
    run_state_machine_as_test(
        Procedure,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
