"""The shop's side of a dispute, through the API and the dashboard: open one on a review, read
what the shop may see of it, rebut the reviewer's statement once, appeal the decision.

Alice owns the shop, bob is on her team in each role, charlie is an outsider. The other
parties (the moderator, the reviewer) act through `reputable.moderation.actions` directly.
"""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, moderator, write_review
from reputable.moderation import actions
from reputable.moderation.models import Dispute, Entry
from reputable.shops.models import ApiKey

pytestmark = pytest.mark.usefixtures("now")

EXPLANATION = "Order 1001 left our warehouse hot, sealed and on time."
STATEMENT = "I did buy it: order 1001, and the tea was cold when it came."
EVIDENCE = b"%PDF-1.4 invoice of order 1001, secret contents"


def dispute_body(**changes: Any) -> dict[str, Any]:
    return {"reason": "false_fact", "passage": "arrived cold", "explanation": EXPLANATION, "good_faith": True} | changes


def cold_tea(alice: ShopAccess, reference: str = "1001") -> Any:
    return write_review(alice, reference, 2, title="Cold tea", body="The tea arrived cold.")


def dispute_url(review: Any) -> str:
    return f"/api/v1/reviews/{review.pk}/disputes"


def mona() -> User:
    """The platform's moderator."""
    return User.objects.filter(username="mona@reputable.example").first() or moderator("mona@reputable.example")


def heard(dispute: Dispute) -> Dispute:
    """The moderator admits the dispute and the reviewer answers, with evidence: the shop may rebut."""
    actions.triage(dispute=dispute, moderator=mona(), admissible=True, note="", now=timezone.now())
    invoice = actions.Upload(name="invoice-1001.pdf", content_type="application/pdf", data=EVIDENCE)
    return actions.answer(dispute=dispute, statement=STATEMENT, evidence=[invoice], now=timezone.now())


def decided(dispute: Dispute) -> Dispute:
    """Heard, rebutted and decided: the review is kept; the shop may appeal."""
    dispute.refresh_from_db()
    if dispute.stage == Dispute.Stage.REBUTTAL:
        actions.rebut(dispute=dispute, user=None, text="Order 1001 was never opened.", now=timezone.now())
    actions.decide(
        dispute=dispute,
        moderator=mona(),
        measure="kept",
        explanation="A fair account of a delivery.",
        now=timezone.now(),
    )
    dispute.refresh_from_db()
    return dispute


def opened(alice: ShopAccess, review: Any) -> Dispute:
    response = alice.post(dispute_url(review), dispute_body())
    assert response.status_code == 201, response.content
    return Dispute.objects.get(pk=response.json()["id"])


# --- the API ----------------------------------------------------------------------------------


def test_a_key_disputes_a_review_and_reads_it_back(alice: ShopAccess) -> None:
    review = cold_tea(alice)

    response = alice.post(dispute_url(review), dispute_body())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["review_id"] == review.pk
    assert (body["reason"], body["stage"], body["passage"]) == ("false_fact", "triage", "arrived cold")
    assert [(e["actor"], e["action"], e["text"]) for e in body["history"]] == [("shop", "opened", EXPLANATION)]
    assert [d["name"] for d in body["deadlines"]] == ["triage"]
    dispute = Dispute.objects.get(pk=body["id"])
    assert dispute.opened_by is None and dispute.shop == alice.shop
    listed = alice.api.get("/api/v1/disputes").json()
    assert [d["id"] for d in listed["items"]] == [dispute.pk] and listed["next_cursor"] is None
    assert alice.api.get(f"/api/v1/disputes/{dispute.pk}").json()["history"] == body["history"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "too_negative"}, "reason"),
        ({"explanation": "Untrue."}, "explanation"),
        ({"explanation": ""}, "explanation"),
        ({"good_faith": False}, "good_faith"),
        ({"passage": "arrived lukewarm"}, "passage"),
    ],
)
def test_bad_input_answers_422_naming_the_field_and_stores_nothing(
    alice: ShopAccess, changes: dict[str, Any], field: str
) -> None:
    review = cold_tea(alice)

    response = alice.post(dispute_url(review), dispute_body(**changes))

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    assert [f["field"] for f in response.json()["fields"]] == [field]
    assert not Dispute.objects.exists() and not Entry.objects.exists()


def test_an_outsider_finds_neither_the_review_nor_the_dispute(alice: ShopAccess, charlie: ShopAccess) -> None:
    review = cold_tea(alice)
    dispute = opened(alice, review)

    assert charlie.post(dispute_url(review), dispute_body()).status_code == 404
    assert charlie.api.get(f"/api/v1/disputes/{dispute.pk}").status_code == 404
    assert charlie.post(f"/api/v1/disputes/{dispute.pk}/appeal", {"text": EXPLANATION}).status_code == 404
    assert charlie.api.get("/api/v1/disputes").json()["items"] == []
    assert Dispute.objects.count() == 1


def test_a_read_key_reads_disputes_but_cannot_open_one(alice: ShopAccess) -> None:
    review = cold_tea(alice)
    _key, raw = ApiKey.issue(shop=alice.shop, name="reporting", scopes=["read"])
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = reader.post(dispute_url(review), dispute_body(), content_type="application/json")

    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert not Dispute.objects.exists()
    assert reader.get("/api/v1/disputes").status_code == 200


def test_a_review_in_dispute_is_not_disputed_twice(alice: ShopAccess) -> None:
    review = cold_tea(alice)
    opened(alice, review)

    response = alice.post(dispute_url(review), dispute_body())

    assert response.status_code == 409
    assert response.json() == {"code": "not_allowed", "message": "This review is in dispute already.", "fields": []}
    assert Dispute.objects.count() == 1


def test_a_shop_may_have_only_so_many_open_disputes(alice: ShopAccess, settings: Any) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 50  # 2 published reviews: 1 open dispute at a time
    first, second = cold_tea(alice, "1001"), cold_tea(alice, "1002")
    opened(alice, first)

    response = alice.post(dispute_url(second), dispute_body())

    assert response.status_code == 409
    assert "1 open disputes" in response.json()["message"]
    assert list(Dispute.objects.values_list("review", flat=True)) == [first.pk]


def test_the_shop_rebuts_and_appeals_and_never_sees_the_evidence_or_the_address(alice: ShopAccess) -> None:
    review = cold_tea(alice)
    dispute = heard(opened(alice, review))

    detail = alice.api.get(f"/api/v1/disputes/{dispute.pk}")
    assert detail.json()["stage"] == "rebuttal"
    assert [e["action"] for e in detail.json()["history"]] == ["opened", "admitted", "statement"]
    assert detail.json()["history"][-1]["text"] == STATEMENT
    assert [d["name"] for d in detail.json()["deadlines"]] == ["rebuttal"]
    for secret in (b"invoice-1001", b"secret contents", b"buyer-1001@example.nl"):
        assert secret not in detail.content

    short = alice.post(f"/api/v1/disputes/{dispute.pk}/rebuttal", {"text": ""})
    assert short.status_code == 422 and short.json()["fields"][0]["field"] == "text"
    rebutted = alice.post(f"/api/v1/disputes/{dispute.pk}/rebuttal", {"text": "Order 1001 was never opened."})
    assert rebutted.status_code == 200, rebutted.content
    assert rebutted.json()["stage"] == "decision"
    assert rebutted.json()["history"][-1] == {
        "actor": "shop",
        "action": "rebuttal",
        "text": "Order 1001 was never opened.",
        "created_at": rebutted.json()["history"][-1]["created_at"],
    }
    assert alice.post(f"/api/v1/disputes/{dispute.pk}/rebuttal", {"text": "Once more."}).status_code == 409

    decided(dispute)
    statement = alice.api.get(f"/api/v1/disputes/{dispute.pk}").json()
    assert statement["stage"] == "decided" and statement["outcome"] == "kept"
    [decision] = statement["decisions"]
    assert decision["measure"] == "kept" and decision["explanation"] == "A fair account of a delivery."
    assert decision["automated"] is False and "The reviewer answered the complaint." in decision["facts"]
    assert statement["appeal_until"] == decision["appeal_until"] is not None

    too_short = alice.post(f"/api/v1/disputes/{dispute.pk}/appeal", {"text": "Wrong."})
    assert too_short.status_code == 422 and too_short.json()["fields"][0]["field"] == "text"
    appealed = alice.post(f"/api/v1/disputes/{dispute.pk}/appeal", {"text": "The moderator ignored our records."})
    assert appealed.status_code == 200, appealed.content
    assert appealed.json()["stage"] == "appeal" and appealed.json()["appeal_until"] is None
    assert [d["name"] for d in appealed.json()["deadlines"]] == ["appeal_decision"]


def test_the_appeal_closes_six_months_after_the_decision(alice: ShopAccess, now: Any) -> None:
    dispute = decided(heard(opened(alice, cold_tea(alice))))
    now.shift(dt.timedelta(days=190))

    response = alice.post(f"/api/v1/disputes/{dispute.pk}/appeal", {"text": "The moderator ignored our records."})

    assert response.status_code == 409
    assert response.json()["message"] == "The time to appeal this decision has passed."
    assert alice.api.get(f"/api/v1/disputes/{dispute.pk}").json()["appeal_until"] is None


def test_the_list_is_newest_first_in_keyset_pages(alice: ShopAccess, settings: Any, now: Any) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 100
    reviews = [cold_tea(alice, f"10{n}") for n in range(3)]
    ids = []
    for review in reviews:
        ids.append(opened(alice, review).pk)
        now.shift(dt.timedelta(minutes=1))

    first = alice.api.get("/api/v1/disputes?limit=2").json()
    second = alice.api.get(f"/api/v1/disputes?limit=2&cursor={first['next_cursor']}").json()

    assert [d["id"] for d in first["items"]] == ids[::-1][:2]
    assert [d["id"] for d in second["items"]] == ids[:1] and second["next_cursor"] is None
    bad = alice.api.get("/api/v1/disputes?cursor=made-up")
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "cursor"


def test_the_openapi_document_describes_the_dispute_endpoints(alice: ShopAccess) -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    for path in (
        "/api/v1/reviews/{review_id}/disputes",
        "/api/v1/disputes",
        "/api/v1/disputes/{dispute_id}",
        "/api/v1/disputes/{dispute_id}/rebuttal",
        "/api/v1/disputes/{dispute_id}/appeal",
    ):
        assert path in schema["paths"], path
    opening = schema["paths"]["/api/v1/reviews/{review_id}/disputes"]["post"]
    assert {"201", "404", "409", "422"} <= set(opening["responses"])
    assert "not_a_customer" in str(schema["components"]["schemas"]["Ground"])


# --- the dashboard ----------------------------------------------------------------------------


def form(**changes: Any) -> dict[str, Any]:
    return {"reason": "false_fact", "passage": "arrived cold", "explanation": EXPLANATION, "good_faith": "on"} | changes


def test_a_manager_disputes_a_review_from_its_page_in_the_inbox(alice: ShopAccess, team: Team) -> None:
    review = cold_tea(alice)
    bob = team.client(team.bob["manager"])
    page = bob.get(f"/dashboard/alice-teas/reviews/{review.pk}")
    assert f'href="/dashboard/alice-teas/reviews/{review.pk}/dispute"' in page.content.decode()
    assert bob.get(f"/dashboard/alice-teas/reviews/{review.pk}/dispute").status_code == 200

    response = bob.post(f"/dashboard/alice-teas/reviews/{review.pk}/dispute", form())

    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dashboard/alice-teas/disputes/{dispute.pk}"
    assert dispute.opened_by == team.bob["manager"] and dispute.passage == "arrived cold"
    shown = bob.get(response["Location"]).content.decode()
    assert "Your dispute is received." in shown and "Waiting for triage" in shown and EXPLANATION in shown
    assert "bob-manager@alice-teas.example" in shown  # who opened it, on the team's own page
    again = bob.get(f"/dashboard/alice-teas/reviews/{review.pk}").content.decode()
    assert "In dispute: follow the dispute" in again and "Dispute this review" not in again


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_viewers_and_responders_may_not_dispute(alice: ShopAccess, team: Team, role: str) -> None:
    review = cold_tea(alice)
    bob = team.client(team.bob[role])

    assert "Dispute this review" not in bob.get(f"/dashboard/alice-teas/reviews/{review.pk}").content.decode()
    assert bob.get(f"/dashboard/alice-teas/reviews/{review.pk}/dispute").status_code == 403
    assert bob.post(f"/dashboard/alice-teas/reviews/{review.pk}/dispute", form()).status_code == 403
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reason": ""}, "Choose one of the listed reasons."),
        ({"explanation": "Untrue."}, "Please explain in at least 20 characters."),
        ({"good_faith": ""}, "Please confirm that you raise this dispute in good faith."),
        ({"passage": "arrived lukewarm"}, "Quote the passage exactly as the review says it."),
    ],
)
def test_a_bad_dispute_form_answers_400_with_the_error_at_its_field(
    alice: ShopAccess, team: Team, changes: dict[str, Any], message: str
) -> None:
    review = cold_tea(alice)

    response = team.client(team.alice).post(f"/dashboard/alice-teas/reviews/{review.pk}/dispute", form(**changes))

    assert response.status_code == 400
    field = next(iter(changes))
    assert response.context["form"].errors == {field: [message]}
    assert message in response.content.decode()
    assert not Dispute.objects.exists() and not Entry.objects.exists()


def test_the_dashboard_refuses_a_dispute_beyond_the_shops_limit(alice: ShopAccess, team: Team, settings: Any) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 50
    first, second = cold_tea(alice, "1001"), cold_tea(alice, "1002")
    owner = team.client(team.alice)
    assert owner.post(f"/dashboard/alice-teas/reviews/{first.pk}/dispute", form()).status_code == 302

    response = owner.post(f"/dashboard/alice-teas/reviews/{second.pk}/dispute", form())

    assert response.status_code == 409
    assert "as many as it may have at once" in response.content.decode()
    assert Dispute.objects.count() == 1
    listing = owner.get("/dashboard/alice-teas/disputes").content.decode()
    assert "Open disputes: 1 of the 1 your shop may have" in listing


def test_the_shop_reads_the_statement_but_not_the_evidence_and_rebuts_once(alice: ShopAccess, team: Team) -> None:
    dispute = heard(opened(alice, cold_tea(alice)))
    url = f"/dashboard/alice-teas/disputes/{dispute.pk}"
    viewer = team.client(team.bob["viewer"])

    shown = viewer.get(url).content.decode()
    assert STATEMENT in shown and "The shop may answer the reviewer" in shown
    for secret in ("invoice-1001", "secret contents", "buyer-1001@example.nl"):
        assert secret not in shown
    assert 'name="step" value="rebuttal"' not in shown  # a viewer reads only
    assert viewer.post(url, {"step": "rebuttal", "text": "Never opened."}).status_code == 403

    manager = team.client(team.bob["manager"])
    assert 'name="step" value="rebuttal"' in manager.get(url).content.decode()
    empty = manager.post(url, {"step": "rebuttal", "text": ""})
    assert empty.status_code == 400 and empty.context["rebuttal"].errors == {"text": ["This field is required."]}
    response = manager.post(url, {"step": "rebuttal", "text": "Order 1001 was never opened."})

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.stage == "decision" and dispute.rebutted_at is not None
    after = manager.get(url).content.decode()
    assert "Order 1001 was never opened." in after and 'name="step" value="rebuttal"' not in after
    again = manager.post(url, {"step": "rebuttal", "text": "Once more, please."})
    assert again.status_code == 409 and "This step is not possible now" in again.content.decode()


def test_the_shop_reads_the_statement_of_reasons_and_appeals_in_time(alice: ShopAccess, team: Team, now: Any) -> None:
    dispute = decided(heard(opened(alice, cold_tea(alice))))
    url = f"/dashboard/alice-teas/disputes/{dispute.pk}"
    owner = team.client(team.alice)

    shown = owner.get(url).content.decode()
    assert "A fair account of a delivery." in shown and "The reviewer answered the complaint." in shown
    assert "No: decided by a moderator." in shown and 'name="step" value="appeal"' in shown
    short = owner.post(url, {"step": "appeal", "text": "Wrong."})
    assert short.status_code == 400 and "at least 20 characters" in short.content.decode()

    response = owner.post(url, {"step": "appeal", "text": "The moderator ignored our delivery records."})

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.stage == "appeal"
    assert Entry.objects.filter(dispute=dispute, action="appealed", actor="shop", user=team.alice).exists()


def test_the_appeal_form_is_gone_after_six_months(alice: ShopAccess, team: Team, now: Any) -> None:
    dispute = decided(heard(opened(alice, cold_tea(alice))))
    now.shift(dt.timedelta(days=190))
    url = f"/dashboard/alice-teas/disputes/{dispute.pk}"
    owner = team.client(team.alice)

    assert 'name="step" value="appeal"' not in owner.get(url).content.decode()
    response = owner.post(url, {"step": "appeal", "text": "The moderator ignored our delivery records."})
    assert response.status_code == 409 and "The time to appeal this decision has passed." in response.content.decode()


def test_the_disputes_section_lists_the_shops_disputes_only(alice: ShopAccess, team: Team) -> None:
    dispute = opened(alice, cold_tea(alice))
    viewer = team.client(team.bob["viewer"])

    listing = viewer.get("/dashboard/alice-teas/disputes")

    assert listing.status_code == 200
    text = listing.content.decode()
    assert 'href="/dashboard/alice-teas/disputes" aria-current="page">Disputes<' in text
    assert f'href="/dashboard/alice-teas/disputes/{dispute.pk}"' in text and "A false statement of fact" in text
    charlie = team.client(team.charlie)
    assert charlie.get(f"/dashboard/alice-teas/disputes/{dispute.pk}").status_code == 404
    assert charlie.get(f"/dashboard/charlie-gadgets/disputes/{dispute.pk}").status_code == 404
    assert f"/disputes/{dispute.pk}" not in charlie.get("/dashboard/charlie-gadgets/disputes").content.decode()
    assert viewer.get("/dashboard/alice-teas/disputes?cursor=made-up").status_code == 400
