"""Kiyoh / Klantenvertellen's API at /compat/kiyoh/, spoken to as its clients speak it.

Requests are built as Kiyoh's documentation ("Kiyoh API - invite", "Publication API") and the
shop plugins built on it write them: `POST v1/invite/external` with a JSON body and the token in
`X-Publication-Api-Token`; the older modules' `GET v1/invite/external?hash=..&location_id=..`
with the same fields in the query string (PHP's http_build_query writes `product_code[0]=`);
the statistics and reviews read with the same header and `locationId=`; the feed with `hash=`.
Answers are read as those clients read them: the invite's 200 means done, and so does the
400 whose `errorCode` is INVITATION_ALREADY_PLACED; any other error is logged from `message`
and `detailedError`; the badge reads `averageRating` (out of 10) and `numberReviews`.
"""

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, write_review
from reputable.events.models import Transaction
from reputable.integrations.tests.fbc_support import stored
from reputable.invitations.models import Invitation
from reputable.reviews.actions import remove_review
from reputable.reviews.models import RemovalOrigin
from reputable.shops.models import ApiKey

pytestmark = pytest.mark.usefixtures("now")

BASE = "/compat/kiyoh"
INVITE = f"{BASE}/v1/invite/external"


def invite(shop: ShopAccess, body: dict[str, Any], token: str | None = None) -> Any:
    return Client().post(INVITE, body, content_type="application/json", HTTP_X_PUBLICATION_API_TOKEN=token or shop.key)


def invitation(shop: ShopAccess, **fields: Any) -> dict[str, Any]:
    return {
        "location_id": shop.shop.slug,
        "invite_email": "jan@example.nl",
        "delay": 3,
        "first_name": "Jan",
        "last_name": "Visser",
        "language": "nl",
        "ref_code": "100042",
        **fields,
    }


def test_an_invitation_records_a_checkout_with_the_clients_delay_in_days(alice: ShopAccess) -> None:
    answer = invite(alice, invitation(alice, product_code=["TEA-1", "TEA-2"], city="Utrecht"))

    assert answer.status_code == 200, answer.content
    assert answer.json()["code"] == "OK"
    tx = Transaction.objects.get(shop=alice.shop)
    assert (tx.reference, tx.email, tx.first_name, tx.last_name, tx.locale) == (
        "100042",
        "jan@example.nl",
        "Jan",
        "Visser",
        "nl",
    )
    assert sorted(tx.products.values_list("sku", flat=True)) == ["TEA-1", "TEA-2"]
    sent = Invitation.objects.get(transaction=tx)
    assert (sent.send_at - tx.date).days == 3  # the client's delay, not the rule's


def test_reference_code_is_taken_as_ref_code_is(alice: ShopAccess) -> None:
    body = invitation(alice, reference_code="A-7")
    del body["ref_code"]
    assert invite(alice, body).status_code == 200
    assert Transaction.objects.get(shop=alice.shop).reference == "A-7"


def test_the_legacy_get_form_invites_with_the_token_as_hash(alice: ShopAccess) -> None:
    fields = invitation(alice, product_code=["TEA-9"])
    query = urlencode(
        {"hash": alice.key, **{k: v for k, v in fields.items() if k != "product_code"}, "product_code[0]": "TEA-9"}
    )
    answer = Client().get(f"{INVITE}?{query}")

    assert answer.status_code == 200, answer.content
    tx = Transaction.objects.get(shop=alice.shop)
    assert list(tx.products.values_list("sku", flat=True)) == ["TEA-9"]


def test_a_repeat_answers_invitation_already_placed_and_stores_nothing_new(alice: ShopAccess) -> None:
    assert invite(alice, invitation(alice)).status_code == 200
    before = stored(alice.shop)
    again = invite(alice, invitation(alice))

    assert again.status_code == 400
    assert again.json()["errorCode"] == "INVITATION_ALREADY_PLACED"
    assert stored(alice.shop) == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"invite_email": "not-an-address"}, "invite_email", "INVALID_FIELD"),
        ({"invite_email": None}, "invite_email", "INVALID_FIELD"),
        ({"delay": -1}, "delay", "INVALID_FIELD"),
        ({"location_id": ""}, "location_id", "MISSING_FIELD"),
    ],
)
def test_a_bad_field_is_named_as_the_client_named_it_and_nothing_is_stored(
    alice: ShopAccess, change: dict[str, Any], field: str, code: str
) -> None:
    answer = invite(alice, invitation(alice, **change))

    assert answer.status_code == 400
    body = answer.json()
    assert body["errorCode"] == "INVALID_REQUEST"
    assert [d["field"] for d in body["detailedError"]] == [field]
    assert body["detailedError"][0]["errorCode"] == code
    assert field in body["message"]
    assert stored(alice.shop) == (0, 0, 0)


def test_a_body_that_is_not_json_is_refused_in_kiyohs_shape(alice: ShopAccess) -> None:
    answer = Client().post(INVITE, b"{", content_type="application/json", HTTP_X_PUBLICATION_API_TOKEN=alice.key)
    assert answer.status_code == 400
    assert answer.json()["detailedError"][0]["errorCode"] == "INVALID_JSON"


def test_a_wrong_token_is_401_a_read_only_key_403_and_another_shops_location_403(
    alice: ShopAccess, charlie: ShopAccess
) -> None:
    wrong = invite(alice, invitation(alice), token="not-a-key")
    assert (wrong.status_code, wrong.json()["errorCode"]) == (401, "INVALID_TOKEN")
    _, read_only = ApiKey.issue(shop=alice.shop, scopes=["read"])
    refused = invite(alice, invitation(alice), token=read_only)
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "ACCESS_DENIED")
    foreign = invite(charlie, invitation(alice))  # charlie's key, alice's location
    assert (foreign.status_code, foreign.json()["errorCode"]) == (403, "LOCATION_ACCESS_DENIED")
    assert stored(alice.shop) == stored(charlie.shop) == (0, 0, 0)


def read(path: str, shop: ShopAccess, **params: Any) -> Any:
    query = urlencode({"locationId": shop.shop.slug, **params})
    return Client().get(f"{BASE}/{path}?{query}", HTTP_X_PUBLICATION_API_TOKEN=shop.key)


def test_the_statistics_are_on_kiyohs_scale_of_ten(alice: ShopAccess) -> None:
    write_review(alice, "R-1", 4, title="Good", body="Good tea.")
    write_review(alice, "R-2", 5, title="Great", body="Great tea.")

    answer = read("v1/publication/review/external/location/statistics", alice)
    assert answer.status_code == 200
    stats = answer.json()
    assert (stats["numberReviews"], stats["averageRating"]) == (2, 9.0)
    assert (stats["last12MonthNumberReviews"], stats["last12MonthAverageRating"]) == (2, 9.0)
    assert stats["locationId"] == alice.shop.slug
    assert stats["viewReviewUrl"].endswith(f"/s/{alice.shop.slug}/")


def test_the_reviews_list_pages_and_orders_as_asked(alice: ShopAccess, now: Any) -> None:
    write_review(alice, "R-1", 2, title="Cold", body="It arrived cold.")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "R-2", 5, title="Warm", body="It arrived warm.")

    newest = read("v1/publication/review/external", alice, limit=1).json()
    assert [r["rating"] for r in newest["reviews"]] == [10]
    by_rating = read("v1/publication/review/external", alice, orderBy="RATING", sortOrder="ASC").json()
    assert [r["rating"] for r in by_rating["reviews"]] == [4, 10]
    first = by_rating["reviews"][0]
    assert first["referenceCode"] == "R-1"
    texts = {c["questionGroup"]: c["rating"] for c in first["reviewContent"]}
    assert texts == {"DEFAULT_OVERALL": "4", "DEFAULT_ONELINER": "Cold", "DEFAULT_OPINION": "It arrived cold."}
    bad = read("v1/publication/review/external", alice, limit=0)
    assert bad.status_code == 400 and bad.json()["detailedError"][0]["field"] == "limit"


def test_the_feed_in_json_and_xml_pages_and_leaves_removed_reviews_out(alice: ShopAccess, now: Any) -> None:
    write_review(alice, "R-1", 4, title="Tea & <biscuits>", body="Fine.")
    now.shift(dt.timedelta(hours=1))
    gone = write_review(alice, "R-2", 1, title="Rude", body="Rude words.")
    remove_review(review=gone, origin=RemovalOrigin.REVIEWER, ground="withdrawn", now=timezone.now())

    feed = Client().get(f"{BASE}/v1/review/feed.json?hash={alice.key}&limit=10").json()
    assert feed["numberReviews"] == 1
    assert [r["referenceCode"] for r in feed["reviews"]] == ["R-1"]
    assert Client().get(f"{BASE}/v1/review/feed.json?hash={alice.key}&limit=1&pageNumber=1").json()["reviews"] == []

    xml = Client().get(f"{BASE}/v1/review/feed.xml?hash={alice.key}")
    assert xml["Content-Type"].startswith("application/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "ReviewFeedDto"
    assert root.findtext("averageRating") == "8.0"
    oneliner = [c for c in root.iter("reviewContent") if c.findtext("questionGroup") == "DEFAULT_ONELINER"]
    assert oneliner[0].findtext("rating") == "Tea & <biscuits>"  # escaped in the XML, intact when read
    assert b"&lt;biscuits&gt;" in xml.content

    refused = Client().get(f"{BASE}/v1/review/feed.xml?hash=wrong")
    assert refused.status_code == 401
    assert ET.fromstring(refused.content).findtext("errorCode") == "INVALID_HASH"
