"""The reviewer's side of a dispute: `/r/<token>/disputes/<dispute_id>`, reached from the
complaint's email: the complaint without the shop's contact details, the answer with evidence
for the moderators only, the change of the review, the withdrawal, the one extension, the
appeal, and the links that lead nowhere."""

import datetime as dt
import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, SmtpSink, Team, moderator, run_dispatcher, write_review
from reputable.dispatch.management.commands.dispatch import Command
from reputable.moderation import actions
from reputable.moderation.models import Deadline, Dispute, Entry, Evidence
from reputable.reviews.models import Review

pytestmark = pytest.mark.usefixtures("now")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CUSTOMER = "buyer-a-1@example.nl"  # as the shop reported it, lowercased
EXPLANATION = "We have no order from this person: the reference does not exist in our shop."


@pytest.fixture
def review(alice: ShopAccess, team: Team) -> Review:
    # An English-speaking customer of the German shop: the page is in the customer's language.
    alice.shop.reply_to = "service@alice-teas.example"
    alice.shop.save()
    return write_review(
        alice, "A-1", 2, title="Cold tea", body="It arrived cold and the parcel was open.", customer={"locale": "en"}
    )


@pytest.fixture
def mona(db: None) -> Any:
    return moderator("mona@reputable.example")


def dispute_of(review: Review, user: Any, mona: Any, *, admit: bool = True) -> Dispute:
    """A manager's dispute of the review, admitted by a moderator: the reviewer is heard."""
    dispute = actions.open_dispute(
        review=review,
        user=user,
        reason="not_a_customer",
        passage="the parcel was open",
        explanation=EXPLANATION,
        good_faith=True,
        now=timezone.now(),
    )
    if admit:
        return actions.triage(dispute=dispute, moderator=mona, admissible=True, note="", now=timezone.now())
    return dispute


@pytest.fixture
def dispute(review: Review, team: Team, mona: Any) -> Dispute:
    return dispute_of(review, team.bob["manager"], mona)


def page_of(dispute: Dispute) -> str:
    return f"/r/{dispute.review.invitation.token}/disputes/{dispute.pk}"  # type: ignore[union-attr]


def answer(
    dispute: Dispute, *files: SimpleUploadedFile, statement: str = "I did buy it: order A-1, invoice attached."
) -> Any:
    form: dict[str, Any] = {"step": "answer", "answer-statement": statement}
    if files:
        form["answer-evidence"] = list(files)
    return Client().post(page_of(dispute), form)


def pdf(name: str = "invoice.pdf", data: bytes = PDF, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def text_of(message: EmailMessage) -> str:
    text: str = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n")


def stage(dispute: Dispute) -> str:
    return Dispute.objects.get(pk=dispute.pk).stage


def test_the_reviewer_follows_the_complaint_email_and_reads_the_complaint_without_the_shops_contacts(
    dispute: Dispute, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    run_dispatcher(dispatcher)
    sent = [(m["To"], m["Subject"]) for m in smtp.messages]
    complaints = [m for m in smtp.messages if m["To"] == CUSTOMER and "disputes" in m["Subject"]]
    assert len(complaints) == 1, [s for s in sent if "alice-teas" not in s[0]]
    [complaint] = complaints
    link = re.search(r"http://localhost:8000(/r/\S+/disputes/\d+)", text_of(complaint))
    assert link and link.group(1) == page_of(dispute)

    page = Client().get(link.group(1))

    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "Alice Teas disputes your review" in html
    assert "The reviewer was not a customer" in html  # the reason's label
    assert "the parcel was open" in html
    assert EXPLANATION in html
    # 14 days from the Monday of the admission, in the shop's time zone.
    assert "Please answer by Dec. 7, 2026, 10 a.m." in html
    assert "Only the moderators see your evidence: never the shop." in html
    assert f'href="/r/{dispute.review.invitation.token}"' in html  # type: ignore[union-attr]
    for private in ("service@alice-teas.example", team.bob["manager"].email, team.alice.email, "mona@"):
        assert private not in html


def test_the_reviewer_answers_with_a_pdf_and_the_shop_may_rebut(
    dispute: Dispute, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    run_dispatcher(dispatcher)
    sent_before = len(smtp.messages)

    answered = answer(dispute, pdf())

    assert answered.status_code == 302
    assert answered["Location"] == f"{page_of(dispute)}?done=answer"
    assert stage(dispute) == Dispute.Stage.REBUTTAL
    [evidence] = Evidence.objects.filter(dispute=dispute)
    assert (evidence.name, evidence.content_type, bytes(evidence.data)) == ("invoice.pdf", "application/pdf", PDF)
    statement = Entry.objects.get(dispute=dispute, action="statement")
    assert statement.text == "I did buy it: order A-1, invoice attached."
    assert not Entry.objects.get(dispute=dispute, action="evidence").shown_to_shop
    html = Client().get(answered["Location"]).content.decode()
    assert "Thank you: your answer was received." in html
    assert "I did buy it: order A-1, invoice attached." in html
    assert "invoice.pdf" in html  # the file's name, never its content
    assert "%PDF" not in html
    assert "<textarea" not in html  # nothing more to answer

    run_dispatcher(dispatcher)
    told = {m["To"]: m for m in smtp.messages[sent_before:]}
    assert set(told) == {team.alice.email, team.bob["owner"].email, team.bob["manager"].email}
    for message in told.values():
        assert f"{settings.BASE_URL}/dashboard/alice-teas/disputes/{dispute.pk}" in text_of(message)
        assert message["Content-Language"] == "de"  # the shop's language
        assert "invoice.pdf" not in message.as_string()


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (pdf("invoice.pdf", b"just some text, not a PDF"), "“invoice.pdf” is not a PDF, PNG or JPEG file."),
        (pdf("invoice.txt", PDF, "text/plain"), "“invoice.txt” is not a PDF, PNG or JPEG file."),
        (pdf("scan.pdf", PDF + b"0" * actions.MAX_EVIDENCE_BYTES), "“scan.pdf” is larger than 5 MB."),
    ],
)
def test_evidence_of_a_wrong_type_or_too_large_is_refused_and_nothing_is_stored(
    dispute: Dispute, upload: SimpleUploadedFile, error: str
) -> None:
    entries = Entry.objects.filter(dispute=dispute).count()

    response = answer(dispute, pdf("fine.pdf"), upload)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_answer-evidence-error">{error}' in html
    assert "I did buy it: order A-1, invoice attached." in html  # the statement is kept for the next try
    assert stage(dispute) == Dispute.Stage.HEARING
    assert not Evidence.objects.exists()
    assert Entry.objects.filter(dispute=dispute).count() == entries


def test_an_answer_needs_a_statement_and_at_most_five_files(dispute: Dispute) -> None:
    without = answer(dispute, statement="   ")
    assert without.status_code == 400
    assert 'id="id_answer-statement-error">This field is required.' in without.content.decode()

    six = answer(dispute, *[pdf(f"page-{i}.pdf") for i in range(6)])
    assert six.status_code == 400
    assert "At most 5 files, please." in six.content.decode()
    assert stage(dispute) == Dispute.Stage.HEARING
    assert not Evidence.objects.exists()


def test_five_files_of_almost_5_mb_each_are_taken_in_one_answer(dispute: Dispute) -> None:
    big = PDF + b"0" * (actions.MAX_EVIDENCE_BYTES - len(PDF))

    response = answer(dispute, *[pdf(f"page-{i}.pdf", big) for i in range(5)])

    assert response.status_code == 302
    assert sorted(Evidence.objects.values_list("size", flat=True)) == [actions.MAX_EVIDENCE_BYTES] * 5


def test_a_body_larger_than_five_files_is_refused_before_it_is_read(dispute: Dispute) -> None:
    response = Client().post(
        page_of(dispute), {"step": "answer", "answer-statement": "Hello"}, CONTENT_LENGTH=str(27 * 1024 * 1024)
    )

    assert response.status_code == 413
    assert stage(dispute) == Dispute.Stage.HEARING


def test_every_step_needs_the_pages_csrf_token(dispute: Dispute) -> None:
    response = Client(enforce_csrf_checks=True).post(page_of(dispute), {"step": "extend"})

    assert response.status_code == 403
    assert not Dispute.objects.get(pk=dispute.pk).extended


def test_the_reviewer_withdraws_the_review_after_confirming_and_a_stub_takes_its_place(
    dispute: Dispute, review: Review, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    unconfirmed = Client().post(page_of(dispute), {"step": "withdraw"})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm that you withdraw your review." in unconfirmed.content.decode()
    assert Review.objects.get(pk=review.pk).status == Review.Status.PUBLISHED
    run_dispatcher(dispatcher)
    sent_before = len(smtp.messages)

    withdrawn = Client().post(page_of(dispute), {"step": "withdraw", "withdraw-confirm": "on"})

    assert withdrawn.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.removal_origin) == (Review.Status.REMOVED, "reviewer")
    dispute.refresh_from_db()
    assert (dispute.stage, dispute.outcome) == (Dispute.Stage.CLOSED, Dispute.Outcome.WITHDRAWN)
    html = Client().get(withdrawn["Location"]).content.decode()
    assert "Your review was withdrawn. A notice says so in its place." in html
    assert "You withdrew your review" in html
    assert "Withdraw my review" not in html and "Change my review" not in html
    run_dispatcher(dispatcher)
    assert {m["To"] for m in smtp.messages[sent_before:]} == {
        team.alice.email,
        team.bob["owner"].email,
        team.bob["manager"].email,
    }


def test_the_reviewer_gets_7_more_days_once_only(dispute: Dispute, dispatcher: Command, smtp: SmtpSink) -> None:
    due = Deadline.objects.get(dispute=dispute, name=Deadline.Name.REVIEWER).due_at
    run_dispatcher(dispatcher)
    sent_before = len(smtp.messages)

    extended = Client().post(page_of(dispute), {"step": "extend"})

    assert extended.status_code == 302
    assert Deadline.objects.get(dispute=dispute, name=Deadline.Name.REVIEWER).due_at == due + dt.timedelta(days=7)
    html = Client().get(extended["Location"]).content.decode()
    assert "You have 7 more days to answer." in html
    assert "Please answer by Dec. 14, 2026, 10 a.m." in html
    assert "I need more time" not in html
    run_dispatcher(dispatcher)
    assert CUSTOMER in {m["To"] for m in smtp.messages[sent_before:]}

    again = Client().post(page_of(dispute), {"step": "extend"})

    assert again.status_code == 409
    assert "The time to answer was extended once already." in again.content.decode()
    assert Deadline.objects.get(dispute=dispute, name=Deadline.Name.REVIEWER).due_at == due + dt.timedelta(days=7)
    assert Entry.objects.filter(dispute=dispute, action="extended").count() == 1


def test_a_change_of_the_review_during_the_hearing_shows_in_the_history(dispute: Dispute, review: Review) -> None:
    token = review.invitation.token  # type: ignore[union-attr]
    changed = Client().post(
        f"/r/{token}",
        {"rating": "3", "title": "Cold tea", "body": "It arrived cold.", "name_display": "first_name_initial"},
    )

    assert changed.status_code == 302
    assert Review.objects.get(pk=review.pk).body == "It arrived cold."
    [edited] = Entry.objects.filter(dispute=dispute, action="review_edited")
    assert edited.shown_to_shop and edited.shown_to_reviewer
    html = Client().get(page_of(dispute)).content.decode()
    assert "You changed your review" in html
    assert stage(dispute) == Dispute.Stage.HEARING  # the reviewer may still answer


def test_a_dispute_of_another_review_is_not_found(dispute: Dispute, charlie: ShopAccess, team: Team, mona: Any) -> None:
    other = dispute_of(write_review(charlie, "C-1", 1, body="Broken: the parcel was open."), team.charlie, mona)
    token = dispute.review.invitation.token  # type: ignore[union-attr]

    assert Client().get(f"/r/{token}/disputes/{other.pk}").status_code == 404
    assert Client().post(f"/r/{token}/disputes/{other.pk}", {"step": "extend"}).status_code == 404
    assert not Dispute.objects.get(pk=other.pk).extended


def test_a_dispute_still_in_triage_is_not_the_reviewers_to_see(review: Review, team: Team, mona: Any) -> None:
    waiting = dispute_of(review, team.bob["manager"], mona, admit=False)

    assert Client().get(page_of(waiting)).status_code == 404


def test_a_wrong_token_is_not_found(dispute: Dispute) -> None:
    response = Client().get(f"/r/{'x' * 32}/disputes/{dispute.pk}")

    assert response.status_code == 404
    assert Client().post(f"/r/{'x' * 32}/disputes/{dispute.pk}", {"step": "extend"}).status_code == 404
    assert not Dispute.objects.get(pk=dispute.pk).extended


def decided(dispute: Dispute, team: Team, mona: Any) -> None:
    """Answered, rebutted, kept: the decision that either party may appeal for 6 months."""
    assert answer(dispute).status_code == 302
    actions.rebut(
        dispute=dispute, user=team.bob["manager"], text="Still, we cannot find the order.", now=timezone.now()
    )
    actions.decide(
        dispute=dispute,
        moderator=mona,
        measure="kept",
        explanation="The reviewer named the order; the review stays.",
        now=timezone.now(),
    )


def test_the_reviewer_appeals_the_decision_within_the_window(dispute: Dispute, team: Team, mona: Any, now: Any) -> None:
    decided(dispute, team, mona)
    now.shift(dt.timedelta(days=150))
    page = Client().get(page_of(dispute)).content.decode()
    assert "The reviewer named the order; the review stays." in page  # the decision's reasons
    assert "Still, we cannot find the order." in page  # the shop's rebuttal

    short = Client().post(page_of(dispute), {"step": "appeal", "appeal-text": "Unfair."})
    assert short.status_code == 400
    assert "Please explain in at least 20 characters." in short.content.decode()
    appealed = Client().post(
        page_of(dispute), {"step": "appeal", "appeal-text": "The passage about the parcel should be corrected."}
    )

    assert appealed.status_code == 302
    assert stage(dispute) == Dispute.Stage.APPEAL
    entry = Entry.objects.get(dispute=dispute, action="appealed")
    assert (entry.actor, entry.text) == ("reviewer", "The passage about the parcel should be corrected.")
    assert "We received your appeal." in Client().get(appealed["Location"]).content.decode()


def test_an_appeal_after_6_months_is_refused(dispute: Dispute, team: Team, mona: Any, now: Any) -> None:
    decided(dispute, team, mona)
    now.shift(dt.timedelta(days=186))

    page = Client().get(page_of(dispute)).content.decode()
    assert "The time to appeal the decision ended on" in page
    assert "Send my appeal" not in page
    response = Client().post(
        page_of(dispute), {"step": "appeal", "appeal-text": "The passage about the parcel should be corrected."}
    )

    assert response.status_code == 409
    assert "The time to appeal this decision has passed." in response.content.decode()
    assert stage(dispute) == Dispute.Stage.DECIDED
    assert not Entry.objects.filter(dispute=dispute, action="appealed").exists()


def test_the_page_speaks_the_reviews_language(alice: ShopAccess, team: Team, mona: Any) -> None:
    german = write_review(alice, "A-2", 2, body="Kalt, the parcel was open.", customer={"locale": "de"})
    dispute = dispute_of(german, team.bob["manager"], mona)

    assert '<html lang="de">' in Client().get(page_of(dispute)).content.decode()
