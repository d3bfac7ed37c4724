"""The moderators' console (/moderation/): queues by deadline, one dispute with its history and
evidence, triage, restriction, decision and appeal, and who may do what."""

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, join, moderator, person, write_review
from reputable.moderation import actions, notices
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Decision, Dispute, Evidence, Notice, Party
from reputable.reviews.models import Review

pytestmark = pytest.mark.usefixtures("now")

PDF = b"%PDF-1.4 an invoice"


@pytest.fixture
def mona(db: None) -> Client:
    return Team.client(moderator("mona@reputable.example"))


@pytest.fixture
def max_(db: None) -> Client:
    return Team.client(moderator("max@reputable.example"))


def open_one(
    alice: ShopAccess, team: Team, reference: str = "A-1", reason: str = Ground.FALSE_FACT, body: str = ""
) -> Dispute:
    review = write_review(alice, reference, 1, title="Stale tea", body=body or "The tea was stale and old.")
    return actions.open_dispute(
        review=review,
        user=team.alice,
        reason=reason,
        passage="",
        explanation="Our tea is packed the day it ships; we have the records.",
        good_faith=True,
        now=timezone.now(),
    )


def heard(dispute: Dispute, team: Team, *, evidence: bool = False) -> Dispute:
    """The reviewer answers (with an invoice) and the shop rebuts: the dispute waits for the decision."""
    files = [actions.Upload(name="invoice.pdf", content_type="application/pdf", data=PDF)] if evidence else []
    actions.answer(dispute=dispute, statement="I bought it and it was stale.", evidence=files, now=timezone.now())
    return actions.rebut(
        dispute=dispute, user=team.alice, text="We checked the batch: it was fresh.", now=timezone.now()
    )


def page(client: Client, dispute: Dispute) -> str:
    response = client.get(f"/moderation/disputes/{dispute.pk}")
    assert response.status_code == 200
    return response.content.decode()


def triage(client: Client, dispute: Dispute, admissible: str = "yes", note: str = "") -> Any:
    data = {"triage-admissible": admissible, "triage-note": note}
    return client.post(f"/moderation/disputes/{dispute.pk}/triage", data)


def decide(client: Client, dispute: Dispute, measure: str, explanation: str, passage: str = "") -> Any:
    data = {"decide-measure": measure, "decide-explanation": explanation, "decide-passage": passage}
    return client.post(f"/moderation/disputes/{dispute.pk}/decide", data)


def test_a_moderator_triages_and_decides_and_another_decides_the_appeal(
    alice: ShopAccess, team: Team, mona: Client, max_: Client
) -> None:
    dispute = open_one(alice, team)
    assert f'href="/moderation/disputes/{dispute.pk}"' in mona.get("/moderation/").content.decode()

    assert triage(mona, dispute).status_code == 302
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.HEARING
    assert Review.objects.get(pk=dispute.review_id).disputed_since == timezone.now()

    heard(dispute, team, evidence=True)
    shown = page(mona, dispute)
    for said in ("Our tea is packed the day it ships", "I bought it and it was stale.", "it was fresh", "invoice.pdf"):
        assert said in shown
    assert "mona@reputable.example" in shown  # who admitted it

    with_template = mona.get(f"/moderation/disputes/{dispute.pk}?template=removed").content.decode()
    assert 'value="removed" required id="id_decide-measure_2" checked' in with_template
    assert "The complaint is shown" in with_template

    response = decide(mona, dispute, "removed", "The stale tea claim is not supported by the invoice.")
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.stage, dispute.outcome) == (Dispute.Stage.DECIDED, Dispute.Outcome.REMOVED)
    assert Review.objects.get(pk=dispute.review_id).status == Review.Status.REMOVED
    assert "The stale tea claim is not supported by the invoice." in page(mona, dispute)

    actions.appeal(dispute=dispute, party=Party.REVIEWER, text="I really did buy it, here is why.", now=timezone.now())
    assert f'href="/moderation/disputes/{dispute.pk}"' in max_.get("/moderation/").content.decode()
    assert decide(max_, dispute, "kept", "On appeal: the invoice does show the purchase.").status_code == 302
    dispute.refresh_from_db()
    assert (dispute.stage, dispute.outcome) == (Dispute.Stage.CLOSED, Dispute.Outcome.KEPT)
    assert Review.objects.get(pk=dispute.review_id).status == Review.Status.PUBLISHED
    last = Decision.objects.filter(dispute=dispute).last()
    assert last is not None and last.appeal and last.moderator is not None
    assert last.moderator.email == "max@reputable.example"


def test_the_moderator_who_decided_cannot_decide_the_appeal(alice: ShopAccess, team: Team, mona: Client) -> None:
    dispute = open_one(alice, team)
    triage(mona, dispute)
    heard(dispute, team)
    decide(mona, dispute, "kept", "An opinion of the reviewer's experience, not a false fact.")
    actions.appeal(
        dispute=dispute, party=Party.SHOP, text="The review states a false fact about us.", now=timezone.now()
    )

    assert "another moderator must decide the appeal" in page(mona, dispute)
    response = decide(mona, dispute, "removed", "Changed my mind.")
    assert response.status_code == 409
    assert "another moderator must decide the appeal" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.APPEAL
    assert Decision.objects.filter(dispute=dispute).count() == 1


def test_a_moderator_hides_threats_at_once_and_only_threats(alice: ShopAccess, team: Team, mona: Client) -> None:
    threat = open_one(alice, team, "A-1", Ground.ILLEGAL_CONTENT, body="I know where you live.")
    assert "Hide the review now" in page(mona, threat)
    response = mona.post(f"/moderation/disputes/{threat.pk}/restrict", {"restrict-explanation": "A plain threat."})
    assert response.status_code == 302
    assert Review.objects.get(pk=threat.review_id).status == Review.Status.RESTRICTED
    decision = Decision.objects.get(dispute=threat)
    assert decision.interim and decision.explanation == "A plain threat."
    assert "Hidden until the decision" in page(mona, threat)

    Dispute.objects.filter(pk=threat.pk).update(stage=Dispute.Stage.CLOSED)  # room for one more
    opinion = open_one(alice, team, "A-2", Ground.FALSE_FACT)
    assert "Hide the review now" not in page(mona, opinion)
    refused = mona.post(f"/moderation/disputes/{opinion.pk}/restrict", {"restrict-explanation": "Not a threat."})
    assert refused.status_code == 409
    assert Review.objects.get(pk=opinion.review_id).status == Review.Status.PUBLISHED


def test_bad_input_is_shown_next_to_its_field_and_stores_nothing(alice: ShopAccess, team: Team, mona: Client) -> None:
    dispute = open_one(alice, team)
    response = triage(mona, dispute, admissible="no", note="")
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.TRIAGE

    triage(mona, dispute)
    heard(dispute, team)
    response = decide(mona, dispute, "redacted", "The passage breaks the rules.", passage="not in the review")
    assert response.status_code == 400
    shown = response.content.decode()
    assert "The passage is not in the review." in shown
    assert "not in the review</textarea>" in shown  # the input is kept
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.DECISION and not Decision.objects.filter(dispute=dispute).exists()


def test_a_moderator_on_the_shops_team_neither_sees_nor_acts_on_its_disputes(
    alice: ShopAccess, team: Team, mona: Client
) -> None:
    dispute = open_one(alice, team)
    insider = moderator("mia@reputable.example")
    join(alice.shop, insider, "viewer")
    client = Team.client(insider)

    queues = client.get("/moderation/").content.decode()
    assert "handled by another moderator" in queues
    assert f'href="/moderation/disputes/{dispute.pk}"' not in queues
    for response in (client.get(f"/moderation/disputes/{dispute.pk}"), triage(client, dispute)):
        assert response.status_code == 403
        assert "another moderator must handle its cases" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.TRIAGE

    triage(mona, dispute)
    heard(dispute, team, evidence=True)
    item = Evidence.objects.get(dispute=dispute)
    refused = client.get(f"/moderation/disputes/{dispute.pk}/evidence/{item.pk}")
    assert refused.status_code == 403 and PDF not in refused.content


def test_only_moderators_reach_the_console(alice: ShopAccess, team: Team) -> None:
    dispute = open_one(alice, team)
    staff = person("staff@reputable.example")  # of no shop, without the permission
    for url in ("/moderation/", f"/moderation/disputes/{dispute.pk}"):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
        for user in (team.alice, team.charlie, staff):
            refused = Team.client(user).get(url)
            assert refused.status_code == 403
            assert "Only moderators may do this." in refused.content.decode()
    assert triage(Team.client(team.alice), dispute).status_code == 403
    dispute.refresh_from_db()
    assert dispute.stage == Dispute.Stage.TRIAGE


def test_evidence_downloads_as_an_attachment_that_never_renders(alice: ShopAccess, team: Team, mona: Client) -> None:
    dispute = open_one(alice, team)
    triage(mona, dispute)
    heard(dispute, team, evidence=True)
    item = Evidence.objects.get(dispute=dispute)
    assert f'href="/moderation/disputes/{dispute.pk}/evidence/{item.pk}"' in page(mona, dispute)

    response = mona.get(f"/moderation/disputes/{dispute.pk}/evidence/{item.pk}")
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp

    assert mona.get(f"/moderation/disputes/{dispute.pk}/evidence/{item.pk + 1}").status_code == 404


def test_the_queues_are_ordered_by_deadline_and_mark_the_overdue(
    alice: ShopAccess, team: Team, mona: Client, now: Any, settings: Any
) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 100
    first = open_one(alice, team, "A-1")
    second = open_one(alice, team, "A-2")
    for dispute in (first, second):
        triage(mona, dispute)
    heard(second, team)  # the second reaches the decision first: its deadline is sooner
    now.shift(dt.timedelta(days=1))
    heard(first, team)
    now.shift(dt.timedelta(days=6, hours=12))  # past the second's decision deadline only

    shown = mona.get("/moderation/").content.decode()
    decisions = shown[shown.index('id="queue-decision"') : shown.index('id="queue-appeal"')]
    assert decisions.index(f"/moderation/disputes/{second.pk}") < decisions.index(f"/moderation/disputes/{first.pk}")
    assert decisions.count("Overdue") == 1
    assert decisions.index("Overdue") < decisions.index(f"/moderation/disputes/{first.pk}")


def test_a_moderator_decides_a_notice_from_its_queue(alice: ShopAccess, mona: Client) -> None:
    review = write_review(alice, "A-1", 1, body="The owner lives at Hauptstr. 5 and drinks.")
    sent = notices.submit_notice(
        review=review,
        reason=Ground.PERSONAL_DATA,
        explanation="It gives the owner's home address.",
        name="Nina Notifier",
        email="nina@example.org",
        good_faith=True,
        language="en",
        now=timezone.now(),
    )
    notices.confirm_notice(notice=sent, now=timezone.now())
    assert f'href="/moderation/notices/{sent.pk}"' in mona.get("/moderation/").content.decode()
    shown = mona.get(f"/moderation/notices/{sent.pk}?template=redacted-personal-data").content.decode()
    assert "It gives the owner&#x27;s home address." in shown and "nina@example.org" in shown
    assert "The review names a person or gives their contact details" in shown

    data = {
        "decide-measure": "redacted",
        "decide-passage": "lives at Hauptstr. 5",
        "decide-explanation": "The home address may not be published.",
    }
    assert mona.post(f"/moderation/notices/{sent.pk}/decide", data).status_code == 302
    sent.refresh_from_db()
    review.refresh_from_db()
    assert sent.status == Notice.Status.DECIDED
    assert "Hauptstr" not in review.body and review.is_published
    assert f'href="/moderation/notices/{sent.pk}"' not in mona.get("/moderation/").content.decode()


def test_a_moderator_clears_a_flagged_review_from_the_queue(alice: ShopAccess, team: Team, mona: Client) -> None:
    review = write_review(alice, "A-1", 1, body="The owner is a dickhead.")
    assert review.flagged_at is not None
    assert "The owner is a dickhead." in mona.get("/moderation/").content.decode()

    assert mona.post(f"/moderation/reviews/{review.pk}/clear-flag").status_code == 302
    review.refresh_from_db()
    assert review.flag_cleared_at == timezone.now() and review.is_published
    assert "The owner is a dickhead." not in mona.get("/moderation/").content.decode()
    assert mona.post(f"/moderation/reviews/{review.pk}/clear-flag").status_code == 409


def test_the_moderator_command_grants_lists_and_revokes(db: None) -> None:
    person("mona@reputable.example")
    out = io.StringIO()
    call_command("moderator", "add", "Mona@Reputable.example", stdout=out)
    call_command("moderator", "list", stdout=out)
    call_command("moderator", "remove", "mona@reputable.example", stdout=out)
    assert out.getvalue().splitlines() == [
        "mona@reputable.example is a moderator",
        "mona@reputable.example",
        "mona@reputable.example is no longer a moderator",
    ]
    assert not actions.moderators().exists()
    with pytest.raises(CommandError, match="no account with the address 'nobody@example.org'"):
        call_command("moderator", "add", "nobody@example.org")
