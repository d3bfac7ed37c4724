"""The dispute procedure end to end, through the pages each party uses, with every email
received on the SMTP sink: the shop opens and rebuts on its dashboard, a moderator triages and
decides in the console, the reviewer answers and appeals on the page of the email's link."""

import datetime as dt
import re
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reputable.conftest import ShopAccess, SmtpSink, Team, moderator, run_dispatcher, write_review
from reputable.moderation.models import Decision, Dispute
from reputable.reviews.models import Review
from reputable.shops.models import Membership, Shop

pytestmark = pytest.mark.usefixtures("now")

REVIEWER = "buyer-1001@example.nl"


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(message["Subject"]) + "\n" + body.get_content()


def received(smtp: SmtpSink, dispatcher: Any) -> dict[str, list[str]]:
    """The emails the dispatcher sends now, by recipient (and the sink emptied)."""
    run_dispatcher(dispatcher)
    mail: dict[str, list[str]] = {}
    for message in smtp.messages:
        mail.setdefault(str(message["To"]), []).append(text_of(message))
    smtp.messages.clear()
    return mail


def shop_mail(team: Team) -> set[str]:
    """Who hears of the shop's disputes: its owners and managers."""
    return {team.alice.email, team.bob["owner"].email, team.bob["manager"].email}


def link(text: str, path: str) -> str:
    found = re.search(rf"https?://\S+({path}\S*)", text)
    assert found, text
    return found.group(1)


@pytest.fixture
def review(alice: ShopAccess, team: Team) -> Review:
    Membership.objects.update(weekly_digest=False)  # Monday's digest is not part of the procedure
    Shop.objects.filter(pk=alice.shop.pk).update(default_locale="en")  # the emails' words, as asserted
    body = "The parcel never arrived and nobody answered."
    return write_review(alice, "1001", 1, title="Never arrived", body=body, customer={"locale": "en"})


def open_dispute(team: Team, review: Review, reason: str) -> Dispute:
    owner = team.client(team.alice)
    form = {
        "reason": reason,
        "passage": "nobody answered",
        "explanation": "We answered both of this customer's emails within a day.",
        "good_faith": "on",
    }
    response = owner.post(f"/dashboard/{review.shop.slug}/reviews/{review.pk}/dispute", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Dispute.objects.get(review=review)


def test_open_hear_rebut_decide_and_appeal_with_every_party_emailed(
    alice: ShopAccess, team: Team, review: Review, smtp: SmtpSink, dispatcher: Any, now: time_machine.Traveller
) -> None:
    mona = team.client(moderator("mona@reputable.example"))
    max_ = team.client(moderator("max@reputable.example"))
    received(smtp, dispatcher)  # the new review's notifications

    # The shop opens a dispute: acknowledged to its managers at once, nothing to the reviewer.
    dispute = open_dispute(team, review, "false_fact")
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team)
    assert "A moderator checks by" in mail[team.alice.email][0]
    assert Client().get(f"/s/{alice.shop.slug}/").content.decode().count("in dispute") == 0

    # The moderator admits it: the reviewer gets the complaint, without the shop's addresses.
    triage = {"triage-admissible": "yes", "triage-note": ""}
    assert mona.post(f"/moderation/disputes/{dispute.pk}/triage", triage).status_code == 302
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team) | {REVIEWER}
    complaint = mail[REVIEWER][0]
    assert "Alice Teas disputes your review" in complaint
    assert "We answered both of this customer's emails within a day." in complaint
    assert "alice-teas.example" not in complaint
    assert "asked for an answer by" in mail[team.alice.email][0]

    # The reviewer answers through the link, with an invoice only the moderators see.
    page = link(complaint, "/r/")
    invoice = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 order 1001", content_type="application/pdf")
    form = {"step": "answer", "answer-statement": "I wrote twice; no answer came.", "answer-evidence": [invoice]}
    assert Client().post(page, form).status_code == 302
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team)
    assert "The reviewer has answered your dispute" in mail[team.alice.email][0]

    # The shop reads the statement, not the evidence, and rebuts once.
    owner = team.client(team.alice)
    shop_page = owner.get(f"/dashboard/{alice.shop.slug}/disputes/{dispute.pk}").content.decode()
    assert "I wrote twice; no answer came." in shop_page and "invoice.pdf" not in shop_page
    rebuttal = {"step": "rebuttal", "text": "Both emails were answered; our log shows it."}
    assert owner.post(f"/dashboard/{alice.shop.slug}/disputes/{dispute.pk}", rebuttal).status_code == 302
    assert received(smtp, dispatcher) == {}

    # The moderator removes the review: both parties get the statement of reasons.
    now.shift(dt.timedelta(days=2))
    decide = {"decide-measure": "removed", "decide-explanation": "The log shows both answers.", "decide-passage": ""}
    assert mona.post(f"/moderation/disputes/{dispute.pk}/decide", decide).status_code == 302
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team) | {REVIEWER}
    for statement in (mail[REVIEWER][0], mail[team.alice.email][0]):
        assert "Statement of reasons" in statement
        assert "The review is removed" in statement
        assert "A moderator took this decision; no automated means were used" in statement
        assert "You may appeal this decision until" in statement
        assert "out-of-court dispute settlement" in statement
    assert Review.objects.get(pk=review.pk).status == Review.Status.REMOVED
    assert alice.api.get("/api/v1/public/shops/alice-teas/summary").json()["all_time"]["count"] == 0

    # The reviewer appeals; the moderator who decided cannot decide the appeal; another keeps it.
    appeal = {"step": "appeal", "appeal-text": "The shop's log is not what I received; see my invoice."}
    assert Client().post(link(mail[REVIEWER][0], "/r/"), appeal).status_code == 302
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team) | {REVIEWER}
    assert "We received your appeal" in mail[REVIEWER][0]
    assert "The reviewer has appealed the decision" in mail[team.alice.email][0]
    keep = {
        "decide-measure": "kept",
        "decide-explanation": "Both accounts stand; opinions differ.",
        "decide-passage": "",
    }
    assert mona.post(f"/moderation/disputes/{dispute.pk}/decide", keep).status_code == 409
    assert max_.post(f"/moderation/disputes/{dispute.pk}/decide", keep).status_code == 302
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team) | {REVIEWER}
    assert "This is the decision on the appeal." in mail[REVIEWER][0]
    assert "Reputable's last word" in mail[team.alice.email][0]

    review.refresh_from_db()
    assert review.status == Review.Status.PUBLISHED and review.disputed_since is None
    assert alice.api.get("/api/v1/public/shops/alice-teas/summary").json()["all_time"]["count"] == 1
    dispute.refresh_from_db()
    assert (dispute.stage, dispute.outcome) == (Dispute.Stage.CLOSED, Dispute.Outcome.KEPT)
    assert [d.measure for d in Decision.objects.filter(dispute=dispute)] == ["removed", "kept"]


def test_a_not_a_customer_dispute_without_an_answer_removes_the_review_automatically(
    alice: ShopAccess, team: Team, review: Review, smtp: SmtpSink, dispatcher: Any, now: time_machine.Traveller
) -> None:
    mona = team.client(moderator("mona@reputable.example"))
    dispute = open_dispute(team, review, "not_a_customer")
    assert mona.post(f"/moderation/disputes/{dispute.pk}/triage", {"triage-admissible": "yes"}).status_code == 302
    mail = received(smtp, dispatcher)
    assert "If you do not answer by then, the review will be removed" in mail[REVIEWER][0]
    assert "in dispute since" in Client().get(f"/s/{alice.shop.slug}/").content.decode().lower()

    now.shift(dt.timedelta(days=7, minutes=1))
    mail = received(smtp, dispatcher)
    assert set(mail) == {REVIEWER}
    assert "A reminder: you have not answered yet." in mail[REVIEWER][0]
    assert received(smtp, dispatcher) == {}  # the reminder goes once

    now.shift(dt.timedelta(days=7))
    mail = received(smtp, dispatcher)
    assert set(mail) == shop_mail(team) | {REVIEWER}
    for statement in (mail[REVIEWER][0], mail[team.alice.email][0]):
        assert "This decision was taken automatically" in statement
        assert "The reviewer was not a customer" in statement
        assert "You may appeal this decision until" in statement
    review.refresh_from_db()
    assert (review.status, review.removal_ground) == (Review.Status.REMOVED, "not_a_customer")
    decision = Decision.objects.get(dispute=dispute)
    assert decision.automated and decision.moderator is None
    profile = Client().get(f"/s/{alice.shop.slug}/").content.decode()
    assert "The parcel never arrived" not in profile
    assert "removed on" in profile

    now.shift(dt.timedelta(days=30))
    assert received(smtp, dispatcher) == {}  # every deadline did its work once
