"""Kiyoh's and Klantenvertellen's API at /compat/kiyoh/, spoken to as its clients do.

Invitations are posted as Kiyoh's own WooCommerce plugin posts them (Kiyoh-Klantenvertellen-
plugins/Kiyoh-Woocommerce-Plugin, Kiyoh_Api_Client::send_invitation: POST v1/invite/external,
JSON with `location_id` as a string, `invite_email`, `delay` in days as an int, `language`,
`first_name`, `last_name`, `reference_code`, `product_code` as a list of SKUs, `product_invite`,
headers `X-Publication-Api-Token` and `Content-Type: application/json`), as their Magento 2
plugin does (the same body, names null for a guest without them) and with `ref_code` as
Laravel shops do (dashed/ecommerce-kiyoh); a 2xx answer is success and an error is read from
`detailedError[0].errorCode` and `message` (WooCommerce), from the absence of `errorCode`
(Magento 2), and as `code == "OK"` or `detailedError[0].errorCode == INVITATION_ALREADY_PLACED`
(dashed, Interactivated's PrestaShop module), which all take as done. The legacy GET form is
built as their PrestaShop module and Interactivated's Magento modules build it (PHP's
http_build_query of hash, location_id, invite_email, delay, first_name, last_name, language).
Statistics are read as the Magento 2 plugin and Kiyoh's Magento 1 module read them
(`numberReviews`, `averageRating` out of ten, `viewReviewUrl`), the XML feed as JKetelaar's
PHP-Kiyoh-API ReviewFactory reads it with SimpleXML (`reviews/reviews`, `reviewContent/
reviewContent`, `questionGroup`, `rating`) and paged as a shop's widget pages it
(`pageNumber=&limit=`), the JSON feed as a Payload CMS sync script reads it (limit=10000,
`reviewContent` flattened and read by `questionGroup`).
"""

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reputable.conftest import ShopAccess, checkout, write_review
from reputable.events.models import Event, Transaction
from reputable.integrations.tests.fbc_support import stored
from reputable.invitations.models import Invitation
from reputable.reviews.actions import remove_review
from reputable.reviews.models import Product, RemovalOrigin
from reputable.shops.models import ApiKey

BASE = "/compat/kiyoh"
INVITE = f"{BASE}/v1/invite/external"
STATISTICS = f"{BASE}/v1/publication/review/external/location/statistics"


def woocommerce_invite(location: str, **changes: Any) -> dict[str, Any]:
    """The body of Kiyoh_Api_Client::send_invitation for an order with two products; a field
    changed to `...` is left out, as the plugin leaves out what the order lacks."""
    body = {
        "location_id": location,
        "invite_email": "sanne@example.nl",
        "delay": 3,
        "language": "nl",
        "first_name": "Sanne",
        "last_name": "de Vries",
        "city": "Utrecht",
        "reference_code": "1042",
        "product_code": ["TEA-1", "TEA-9"],
        "product_invite": False,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def post_invite(token: str, body: Any) -> Any:
    return Client().post(INVITE, body, content_type="application/json", HTTP_X_PUBLICATION_API_TOKEN=token)


def http_build_query(fields: dict[str, Any]) -> str:
    """As PHP's http_build_query writes a query: a list as name[0]=..&name[1]=.., spaces as "+"."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if isinstance(value, list):
            pairs += [(f"{name}[{i}]", str(item)) for i, item in enumerate(value)]
        else:
            pairs.append((name, str(value)))
    return urlencode(pairs)


def get(token: str, path: str) -> Any:
    return Client().get(path, HTTP_X_PUBLICATION_API_TOKEN=token)


def invitation_ok(response: Any) -> bool:
    """Success as the dashed module and Interactivated's PrestaShop module decide it."""
    answer = response.json()
    already = (answer.get("detailedError") or [{}])[0].get("errorCode") == "INVITATION_ALREADY_PLACED"
    return answer.get("code") == "OK" or already


# --- invitations --------------------------------------------------------------------------------


def test_the_woocommerce_plugins_invite_schedules_the_invitation_after_its_delay_in_days(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    assert alice.post("/api/v1/events", checkout("900")).status_code == 202  # TEA-1 is "Green tea"

    response = post_invite(alice.key, woocommerce_invite(alice.shop.slug))

    assert response.status_code == 200
    assert response.json()["code"] == "OK"
    assert "errorCode" not in response.json()  # success, as the Magento 2 plugin reads it
    invitation = Invitation.objects.get(shop=alice.shop, transaction__reference="1042")
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.send_at == timezone.now() + dt.timedelta(days=3)
    transaction = invitation.transaction
    assert transaction.email == "sanne@example.nl"
    assert (transaction.first_name, transaction.last_name, transaction.locale) == ("Sanne", "de Vries", "nl")
    assert transaction.date == timezone.now()
    # A product the shop already knows keeps its name; a new code is named by itself.
    assert sorted(transaction.products.values_list("sku", "name")) == [("TEA-1", "Green tea"), ("TEA-9", "TEA-9")]
    assert Product.objects.filter(shop=alice.shop).count() == 2
    assert Event.objects.get(transaction=transaction).outcome == Event.Outcome.SCHEDULED


def test_an_invite_without_a_delay_follows_the_rule_and_a_delay_of_zero_invites_at_once(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    post_invite(alice.key, woocommerce_invite(alice.shop.slug, delay=..., reference_code="1"))
    post_invite(
        alice.key, woocommerce_invite(alice.shop.slug, delay=0, reference_code="2", invite_email="b@example.nl")
    )

    assert Invitation.objects.get(transaction__reference="1").send_at == timezone.now() + dt.timedelta(days=7)
    assert Invitation.objects.get(transaction__reference="2").send_at == timezone.now()


def test_a_laravel_shops_ref_code_is_the_order_reference(alice: ShopAccess, now: time_machine.Traveller) -> None:
    body = {
        "location_id": alice.shop.slug,
        "first_name": "Jan",
        "last_name": "Visser",
        "invite_email": "jan@example.nl",
        "ref_code": "INV-2026-0042",
        "delay": "2",  # a setting, as the shop's settings store it: text
        "language": "nl",
    }

    response = Client().post(
        INVITE,
        body,
        content_type="application/json",
        HTTP_X_PUBLICATION_API_TOKEN=alice.key,
        HTTP_ACCEPT="application/json",
    )

    assert invitation_ok(response)
    invitation = Invitation.objects.get(shop=alice.shop)
    assert invitation.transaction.reference == "INV-2026-0042"
    assert invitation.send_at == timezone.now() + dt.timedelta(days=2)


@pytest.mark.parametrize(
    ("language", "locale"), [("nl", "nl"), ("nl_NL", "nl-NL"), ("gr", "el"), ("no", "no"), (..., "")]
)
def test_the_clients_language_is_the_customers_locale(alice: ShopAccess, language: Any, locale: str) -> None:
    # The plugins map the shop's locale to Kiyoh's codes, among them "gr" for Greek.
    assert post_invite(alice.key, woocommerce_invite(alice.shop.slug, language=language)).status_code == 200
    assert Transaction.objects.get(shop=alice.shop).locale == locale


def test_numbers_for_the_order_and_the_product_codes_are_taken_as_text(alice: ShopAccess) -> None:
    body = woocommerce_invite(alice.shop.slug, reference_code=100000042, product_code=4711)

    assert post_invite(alice.key, body).status_code == 200
    transaction = Transaction.objects.get(shop=alice.shop)
    assert transaction.reference == "100000042"
    assert list(transaction.products.values_list("sku", flat=True)) == ["4711"]


def test_a_magento_guest_order_without_names_is_invited(alice: ShopAccess) -> None:
    body = woocommerce_invite(alice.shop.slug, first_name=None, last_name=None, city=..., product_code=...)

    response = post_invite(alice.key, body)

    assert response.status_code == 200
    transaction = Transaction.objects.get(shop=alice.shop)
    assert (transaction.first_name, transaction.last_name) == ("", "")
    assert not transaction.products.exists()


def test_the_legacy_get_form_with_the_hash_invites_as_the_prestashop_module_asks(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    query = http_build_query(
        {
            "hash": alice.key,
            "location_id": alice.shop.slug,
            "invite_email": "pieter@example.nl",
            "delay": 5,
            "first_name": "Pieter Jan",
            "last_name": "van Dam",
            "language": "nl",
            "product_code": ["TEA-1", "TEA-2"],
        }
    )
    assert "product_code%5B0%5D=TEA-1" in query

    response = Client().get(f"{INVITE}?{query}")

    assert response.status_code == 200
    assert invitation_ok(response)
    invitation = Invitation.objects.get(shop=alice.shop)
    assert invitation.send_at == timezone.now() + dt.timedelta(days=5)
    transaction = invitation.transaction
    assert (transaction.email, transaction.first_name, transaction.last_name) == (
        "pieter@example.nl",
        "Pieter Jan",
        "van Dam",
    )
    assert sorted(transaction.products.values_list("sku", flat=True)) == ["TEA-1", "TEA-2"]
    # Without a reference the order is known by its address and day.
    assert transaction.reference.startswith("kiyoh-20261123-")


def test_an_address_written_unencoded_into_the_legacy_query_keeps_its_plus(alice: ShopAccess) -> None:
    # As Interactivated's Magento 2 module writes the URL: the values pasted in as they are.
    url = (
        f"{INVITE}?hash={alice.key}&location_id={alice.shop.slug}&invite_email=jan+tea@example.nl"
        "&delay=7&first_name=Jan&last_name=Visser&language=nl"
    )

    assert Client().get(url).status_code == 200
    assert Transaction.objects.get(shop=alice.shop).email == "jan+tea@example.nl"


def test_a_repeated_invite_is_already_placed_and_stores_nothing_new(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    first = post_invite(alice.key, woocommerce_invite(alice.shop.slug))

    again = post_invite(alice.key, woocommerce_invite(alice.shop.slug, delay=1))

    assert first.status_code == 200
    assert again.status_code == 400
    answer = again.json()
    assert answer["errorCode"] == "INVITATION_ALREADY_PLACED"
    assert answer["detailedError"][0]["errorCode"] == "INVITATION_ALREADY_PLACED"  # as WooCommerce reads it
    assert invitation_ok(again)  # ... and the others take it as done
    assert stored(alice.shop) == (1, 1, 1)
    assert Invitation.objects.get(shop=alice.shop).send_at == timezone.now() + dt.timedelta(days=3)


def test_a_legacy_retry_without_a_reference_is_already_placed(alice: ShopAccess, now: time_machine.Traveller) -> None:
    query = http_build_query(
        {"hash": alice.key, "location_id": alice.shop.slug, "invite_email": "Pieter@Example.nl", "delay": 5}
    )
    assert Client().get(f"{INVITE}?{query}").status_code == 200
    now.shift(dt.timedelta(hours=2))

    again = Client().get(f"{INVITE}?{query.replace('Pieter', 'pieter')}")

    assert again.json()["detailedError"][0]["errorCode"] == "INVITATION_ALREADY_PLACED"
    assert stored(alice.shop) == (1, 1, 1)


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"invite_email": ...}, "invite_email", "MISSING_FIELD"),
        ({"invite_email": "sanne@"}, "invite_email", "INVALID_FIELD"),
        ({"location_id": ...}, "location_id", "MISSING_FIELD"),
        ({"location_id": " "}, "location_id", "MISSING_FIELD"),
        ({"delay": -1}, "delay", "INVALID_FIELD"),
        ({"delay": "soon"}, "delay", "INVALID_FIELD"),
        ({"delay": 400}, "delay", "INVALID_FIELD"),
        ({"language": "nl-NL-x-kiyoh"}, "language", "INVALID_FIELD"),
        ({"product_code": ["TEA-1", {"sku": "TEA-2"}]}, "product_code.1", "INVALID_FIELD"),
        ({"first_name": "S" * 101}, "first_name", "INVALID_FIELD"),
        ({"reference_code": "9" * 101}, "reference_code", "INVALID_FIELD"),
        ({"reference_code": ..., "ref_code": "9" * 101}, "ref_code", "INVALID_FIELD"),
    ],
)
def test_bad_invite_fields_are_refused_naming_the_clients_field_and_nothing_is_stored(
    alice: ShopAccess, change: dict[str, Any], field: str, code: str
) -> None:
    response = post_invite(alice.key, woocommerce_invite(alice.shop.slug, **change))

    assert response.status_code == 400
    answer = response.json()
    assert answer["httpCode"] == 400 and answer["errorCode"] == "INVALID_REQUEST"
    [detail] = answer["detailedError"]
    assert (detail["field"], detail["errorCode"]) == (field, code)
    assert detail["message"].startswith(f"{field}: ")
    assert stored(alice.shop) == (0, 0, 0)


def test_a_body_that_is_not_json_is_refused(alice: ShopAccess) -> None:
    response = Client().post(
        INVITE, "location_id=x", content_type="application/json", HTTP_X_PUBLICATION_API_TOKEN=alice.key
    )

    assert response.status_code == 400
    assert response.json()["detailedError"][0]["errorCode"] == "INVALID_JSON"


@pytest.mark.parametrize("token", ["", "rpk_not-a-key"])
def test_a_wrong_token_is_refused_with_401_and_nothing_is_stored(alice: ShopAccess, token: str) -> None:
    response = post_invite(token, woocommerce_invite(alice.shop.slug))

    assert response.status_code == 401
    assert response.json()["errorCode"] == "INVALID_TOKEN"
    assert stored(alice.shop) == (0, 0, 0)


def test_a_wrong_hash_in_the_legacy_form_is_refused(alice: ShopAccess) -> None:
    query = http_build_query({"hash": alice.key[:-1], "location_id": alice.shop.slug, "invite_email": "a@example.nl"})

    response = Client().get(f"{INVITE}?{query}")

    assert response.status_code == 401
    assert response.json()["errorCode"] == "INVALID_HASH"
    assert stored(alice.shop) == (0, 0, 0)


def test_a_read_only_key_cannot_invite_but_reads_the_statistics_and_the_feed(alice: ShopAccess) -> None:
    _key, raw = ApiKey.issue(shop=alice.shop, scopes=["read"])

    response = post_invite(raw, woocommerce_invite(alice.shop.slug))

    assert response.status_code == 403
    assert response.json()["detailedError"][0]["errorCode"] == "ACCESS_DENIED"
    assert stored(alice.shop) == (0, 0, 0)
    assert get(raw, f"{STATISTICS}?locationId={alice.shop.slug}").status_code == 200
    assert Client().get(f"{BASE}/v1/review/feed.xml?hash={raw}").status_code == 200


def test_charlies_token_cannot_invite_to_alices_location(alice: ShopAccess, charlie: ShopAccess) -> None:
    response = post_invite(charlie.key, woocommerce_invite(alice.shop.slug))

    assert response.status_code == 403
    answer = response.json()
    assert answer["errorCode"] == "LOCATION_ACCESS_DENIED"
    assert answer["detailedError"][0]["field"] == "location_id"
    assert stored(alice.shop) == stored(charlie.shop) == (0, 0, 0)
    statistics = get(charlie.key, f"{STATISTICS}?locationId={alice.shop.slug}")
    assert statistics.status_code == 403
    assert "numberReviews" not in statistics.json()


# --- statistics and reviews ---------------------------------------------------------------------


def test_the_statistics_are_on_the_ten_point_scale_with_the_last_twelve_months(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    now.shift(-dt.timedelta(days=400))
    write_review(alice, "4000", 2)
    now.shift(dt.timedelta(days=400))
    write_review(alice, "4001", 4)
    write_review(alice, "4002", 5)
    write_review(charlie, "4003", 1)

    response = get(alice.key, f"{STATISTICS}?locationId={alice.shop.slug}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    rating = response.json()
    assert rating["numberReviews"] == 3
    assert rating["averageRating"] == round((2 + 4 + 5) / 3 * 2, 1) == 7.3
    assert rating["last12MonthNumberReviews"] == 2
    assert rating["last12MonthAverageRating"] == 9.0
    assert rating["viewReviewUrl"] == settings.BASE_URL + reverse("profile", args=[alice.shop.slug])
    assert rating["locationName"] == "Alice Teas"
    assert "recommendation" not in rating  # Reputable asks no such question


def test_a_shop_without_reviews_has_zero_statistics(alice: ShopAccess) -> None:
    rating = get(alice.key, f"{STATISTICS}/?locationId={alice.shop.slug}").json()  # with a slash, as some write it

    assert (rating["numberReviews"], rating["averageRating"], rating["last12MonthNumberReviews"]) == (0, 0, 0)


def test_statistics_without_a_location_id_name_the_parameter(alice: ShopAccess) -> None:
    response = get(alice.key, STATISTICS)

    assert response.status_code == 400
    assert response.json()["detailedError"][0]["field"] == "locationId"


def kiyoh_content(review: dict[str, Any]) -> dict[str, Any]:
    """A review's answers by question group, as the Payload sync script reads them."""
    return {item["questionGroup"]: item["rating"] for item in review["reviewContent"]}


def test_the_review_list_is_limited_and_ordered_as_asked(alice: ShopAccess, now: time_machine.Traveller) -> None:
    write_review(alice, "5001", 4, title="Good tea", body="Fresh and fast")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "5002", 2, body="Too bitter")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "5003", 5, title="Excellent")
    path = f"{BASE}/v1/publication/review/external?locationId={alice.shop.slug}"

    newest = get(alice.key, f"{path}&limit=2").json()
    lowest = get(alice.key, f"{path}&limit=1&orderBy=RATING&sortOrder=ASC").json()
    oldest = get(alice.key, f"{path}&orderBy=CREATE_DATE&sortOrder=ASC").json()

    assert newest["numberReviews"] == 3 and newest["averageRating"] == 7.3
    assert [r["referenceCode"] for r in newest["reviews"]] == ["5003", "5002"]
    first = newest["reviews"][0]
    assert first["rating"] == 10
    assert kiyoh_content(first) == {"DEFAULT_OVERALL": "10", "DEFAULT_ONELINER": "Excellent"}
    assert first["reviewAuthor"] == "Jan V."
    assert first["dateSince"] == "2026-11-23T11:00:00.000Z"
    assert len(first["reviewId"]) == 36  # a UUID, as Kiyoh's
    [low] = lowest["reviews"]
    assert (low["rating"], kiyoh_content(low)["DEFAULT_OPINION"]) == (4, "Too bitter")
    assert [r["referenceCode"] for r in oldest["reviews"]] == ["5001", "5002", "5003"]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "orderBy=NAME", "sortOrder=UP", "dateSince=yesterday"])
def test_bad_review_list_parameters_are_refused_by_name(alice: ShopAccess, query: str) -> None:
    response = get(alice.key, f"{BASE}/v1/publication/review/external?locationId={alice.shop.slug}&{query}")

    assert response.status_code == 400
    assert response.json()["detailedError"][0]["field"] == query.partition("=")[0]


def test_the_review_list_takes_reviews_since_a_date(alice: ShopAccess, now: time_machine.Traveller) -> None:
    write_review(alice, "5101", 4)
    now.shift(dt.timedelta(days=2))
    write_review(alice, "5102", 5)
    query = urlencode({"locationId": alice.shop.slug, "dateSince": "2026-11-24T00:00:00.000+00:00"})

    answer = get(alice.key, f"{BASE}/v1/publication/review/external?{query}").json()

    assert [r["referenceCode"] for r in answer["reviews"]] == ["5102"]


# --- the feed -----------------------------------------------------------------------------------


def feed_reviews(alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller) -> None:
    write_review(alice, "6001", 4, title="Good", body="Fresh tea, fast delivery")
    now.shift(dt.timedelta(hours=1))
    removed = write_review(alice, "6002", 1, body="Rude words")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "6003", 5, title="Excellent")
    write_review(charlie, "6004", 2, body="Charlie's customer")
    remove_review(review=removed, ground="withdrawn", origin=RemovalOrigin.REVIEWER, now=timezone.now())


def test_the_json_feed_gives_the_published_reviews_newest_first(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    feed_reviews(alice, charlie, now)

    # As the Payload sync script asks: more than one page holds, which is cut to the most.
    response = Client().get(f"{BASE}/v1/review/feed.json?hash={alice.key}&limit=10000")

    assert response.status_code == 200
    data = response.json()
    assert (data["numberReviews"], data["averageRating"]) == (2, 9.0)
    assert data["locationName"] == "Alice Teas"
    assert data["percentageRecommendation"] is None
    assert [r["referenceCode"] for r in data["reviews"]] == ["6003", "6001"]  # the removed one is absent
    older = data["reviews"][1]
    assert kiyoh_content(older) == {
        "DEFAULT_OVERALL": "8",
        "DEFAULT_ONELINER": "Good",
        "DEFAULT_OPINION": "Fresh tea, fast delivery",
    }
    assert older["reviewComments"] == ""


def test_the_json_feed_is_paged_by_limit_and_page_number(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    feed_reviews(alice, charlie, now)
    feed = f"{BASE}/v1/review/feed.json?hash={alice.key}"

    pages = [Client().get(f"{feed}&limit=1&pageNumber={n}").json()["reviews"] for n in range(3)]

    assert [[r["referenceCode"] for r in page] for page in pages] == [["6003"], ["6001"], []]
    assert Client().get(f"{feed}&pageNumber=-1").status_code == 400


def test_the_xml_feed_is_read_as_the_php_client_reads_it(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    feed_reviews(alice, charlie, now)

    response = Client().get(f"{BASE}/v1/review/feed.xml?hash={alice.key}&limit=10", HTTP_ACCEPT="application/xml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "ReviewFeedDto"
    assert float(root.findtext("averageRating", "")) == 9.0
    assert int(root.findtext("numberReviews", "")) == 2
    assert int(root.findtext("last12MonthNumberReviews", "")) == 2
    assert root.findtext("locationName") == "Alice Teas"
    assert root.find("percentageRecommendation") is not None  # read without checking it exists
    reviews = root.findall("reviews/reviews")
    assert [r.findtext("referenceCode") for r in reviews] == ["6003", "6001"]
    older = reviews[1]
    assert float(older.findtext("rating", "")) == 8
    content = {c.findtext("questionGroup"): c.findtext("rating") for c in older.findall("reviewContent/reviewContent")}
    assert content == {
        "DEFAULT_OVERALL": "8",
        "DEFAULT_ONELINER": "Good",
        "DEFAULT_OPINION": "Fresh tea, fast delivery",
    }
    assert [int(c.findtext("order", "")) for c in older.findall("reviewContent/reviewContent")] == [0, 1, 2]


def test_the_xml_feed_is_paged_as_the_widget_pages_it(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    feed_reviews(alice, charlie, now)

    root = ET.fromstring(Client().get(f"{BASE}/v1/review/feed.xml?hash={alice.key}&pageNumber=1&limit=1").content)

    assert [r.findtext("referenceCode") for r in root.findall("reviews/reviews")] == ["6001"]


def test_user_text_is_escaped_in_the_xml_feed(alice: ShopAccess, now: time_machine.Traveller) -> None:
    hostile = "<script>alert(\"x\")</script> & <![CDATA[ ]]> 'quoted'"
    write_review(alice, "6101", 3, title="</title><injected/>", body=hostile)

    content = Client().get(f"{BASE}/v1/review/feed.xml?hash={alice.key}").content

    assert b"<script>" not in content and b"<injected/>" not in content
    [review] = ET.fromstring(content).findall("reviews/reviews")
    texts = {c.findtext("questionGroup"): c.findtext("rating") for c in review.findall("reviewContent/reviewContent")}
    assert texts["DEFAULT_ONELINER"] == "</title><injected/>"
    assert texts["DEFAULT_OPINION"] == hostile


def test_a_wrong_hash_gets_the_feeds_error_in_its_format(alice: ShopAccess) -> None:
    as_json = Client().get(f"{BASE}/v1/review/feed.json?hash=wrong")
    as_xml = Client().get(f"{BASE}/v1/review/feed.xml?hash=wrong")

    assert as_json.status_code == as_xml.status_code == 401
    assert as_json.json()["errorCode"] == "INVALID_HASH"
    error = ET.fromstring(as_xml.content)
    assert error.tag == "error"
    assert error.findtext("errorCode") == "INVALID_HASH"
    assert error.findtext("detailedError/errorCode") == "INVALID_HASH"


def test_an_address_that_keeps_failing_is_told_to_wait_and_a_right_token_still_works(
    alice: ShopAccess, settings: Any
) -> None:
    settings.FAILED_ATTEMPTS_LIMIT = 2
    for _ in range(2):
        assert post_invite("rpk_guess", woocommerce_invite(alice.shop.slug)).status_code == 401

    response = post_invite("rpk_guess", woocommerce_invite(alice.shop.slug))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["errorCode"] == "TOO_MANY_REQUESTS"
    # As for the API's keys, only a wrong key reads the count.
    assert post_invite(alice.key, woocommerce_invite(alice.shop.slug)).status_code == 200
