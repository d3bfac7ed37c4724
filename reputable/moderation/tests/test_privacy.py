"""Moderation under the privacy rules: retention and erasure reach the disputes of a person's
reviews and the notices they sent; an export contains them."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, Team, moderator, run_dispatcher
from reputable.lib.dates import add_months
from reputable.moderation import actions
from reputable.moderation.models import Evidence, Notice
from reputable.privacy.tests.helpers import customer_history, search_every_text_column

pytestmark = pytest.mark.usefixtures("now")

JAN = "jan.visser@example.nl"


@pytest.fixture
def disputed(alice: ShopAccess, team: Team, dispatcher: Any) -> Any:
    """Jan's review, disputed; Jan answered with his address in the statement and an invoice."""
    review = customer_history(alice, team, "A-1", JAN)
    dispute = actions.open_dispute(
        review=review,
        user=team.alice,
        reason="not_a_customer",
        passage="",
        explanation="We cannot find this order in our books.",
        good_faith=True,
        now=MONDAY,
    )
    actions.triage(dispute=dispute, moderator=moderator("mona@reputable.example"), admissible=True, note="", now=MONDAY)
    invoice = actions.Upload(name="invoice.pdf", content_type="application/pdf", data=b"%PDF-1.4 Jan Visser")
    actions.answer(
        dispute=dispute, statement=f"I ordered as {JAN}, here is the invoice.", evidence=[invoice], now=MONDAY
    )
    run_dispatcher(dispatcher)
    return dispute


def test_retention_erases_the_address_from_the_dispute_history_and_empties_the_evidence(
    disputed: Any, dispatcher: Any, now: time_machine.Traveller
) -> None:
    assert "moderation.Entry.text" in search_every_text_column(JAN)

    now.move_to(add_months(MONDAY, 24) + dt.timedelta(days=1))
    run_dispatcher(dispatcher)

    assert search_every_text_column(JAN) == []
    evidence = Evidence.objects.get(dispute=disputed)
    assert (bytes(evidence.data), evidence.size) == (b"", 0)
    assert "[…]" in disputed.entries.get(action="statement").text


def test_an_erasure_request_erases_the_notices_the_person_sent(alice: ShopAccess, disputed: Any) -> None:
    Notice.objects.create(
        review=disputed.review,
        reason="false_fact",
        explanation="Someone else's words.",
        name="Jan Visser",
        email=JAN,
        good_faith=True,
        token_hash="0" * 64,
    )
    export = alice.post("/api/v1/privacy/export", {"email": JAN}).json()
    section = export["moderation"]
    assert section["notices"][0]["name"] == "Jan Visser"
    assert section["disputes"][0]["history"][0]["action"] == "opened"
    assert section["disputes"][0]["evidence"] == [{"name": "invoice.pdf", "size": 19}]

    assert alice.post("/api/v1/privacy/erasure", {"email": JAN, "review": "anonymise"}).status_code in (200, 201)

    assert search_every_text_column(JAN) == []
    assert Notice.objects.get().name == ""
    assert Client().get(f"/s/{alice.shop.slug}/").status_code == 200
