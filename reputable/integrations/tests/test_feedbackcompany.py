"""The Feedback Company's API v2 at /compat/feedbackcompany/, spoken to as its clients do.

The requests are built as The Feedback Company's own WordPress/WooCommerce plugin builds them
(feedbackcompany_api::oauth_refreshtoken: GET .../oauth2/token?client_id=..&client_secret=..
&grant_type=authorization_code; ::register_order: POST .../orders?platform=wordpress-<v>, JSON,
`Authorization: Bearer`, products from woocommerce.php with external_id = the WooCommerce
product id; ::get_product_reviews_aggregate: GET .../product-reviews/aggregate?
product_external_id=, halving average_score for five stars), and answers are read as it reads
them (`access_token` set; `success` true; `error` true or `success` false logged as a failure;
a 401 means: fetch a new token). The review list is paged as JustBetter's Statamic harvester
pages it (limit=, start=, `count.total`, `reviews[].total_score` out of five), and paths end in
".json" as the FeedbackCompanyAPI Python client writes them.
"""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, write_review
from reputable.integrations.tests.fbc_support import stored
from reputable.invitations.models import Invitation
from reputable.reviews.actions import remove_review
from reputable.reviews.models import Product, RemovalOrigin
from reputable.shops.models import ApiKey

BASE = "/compat/feedbackcompany/api/v2"
PLUGIN = "wordpress-3.2.0"


def token_url(client_id: str, client_secret: str) -> str:
    return f"{BASE}/oauth2/token?client_id={client_id}&client_secret={client_secret}&grant_type=authorization_code"


def access_token(shop: ShopAccess) -> str:
    answer = Client().get(token_url(shop.shop.slug, shop.key)).json()
    token: str = answer["access_token"]
    return token


def woocommerce_order(
    order_id: int = 1001,
    *,
    email: str = "jan@example.nl",
    delay: tuple[str, int] = ("days", 7),
    reminder: tuple[str, int] = ("days", 7),
) -> dict[str, Any]:
    return {
        "external_id": str(order_id),
        "customer": {"email": email, "fullname": "Jan Visser"},
        "products": [
            {
                "external_id": "42",
                "sku": "TEA-1",
                "name": "Green tea",
                "url": "https://shop.example/product/green-tea/",
                "image_url": "https://shop.example/wp-content/uploads/green-tea-300x300.jpg",
            }
        ],
        "invitation": {
            "delay": {"unit": delay[0], "amount": delay[1]},
            "reminder": {"unit": reminder[0], "amount": reminder[1]},
        },
    }


def post_order(token: str, order: dict[str, Any], path: str = f"{BASE}/orders?platform={PLUGIN}") -> Any:
    return Client().post(
        path, order, content_type="application/json; charset=utf-8", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def get(token: str, path: str) -> Any:
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_shop_slug_and_an_api_key_get_an_access_token_that_is_not_the_key(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    response = Client().get(token_url(alice.shop.slug, alice.key))

    assert response.status_code == 200
    answer = response.json()
    assert answer["error"] is False
    assert answer["token_type"] == "bearer"
    assert answer["access_token"] and alice.key not in answer["access_token"]
    assert answer["expires_in"] == 30 * 86400
    # The Zen Cart module reads the expiry with PHP's 'M, d Y H:i:s T'.
    expires = dt.datetime.strptime(answer["expires_on"], "%b, %d %Y %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    assert expires == timezone.now() + dt.timedelta(days=30)
    assert response["Cache-Control"] == "no-store"


def test_a_token_is_also_given_for_a_posted_form(alice: ShopAccess) -> None:
    response = Client().post(
        f"{BASE}/oauth2/token",
        {"client_id": alice.shop.slug, "client_secret": alice.key, "grant_type": "authorization_code"},
    )

    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.parametrize("which", ["wrong secret", "another shop's key", "no secret"])
def test_wrong_credentials_get_no_token_but_their_error(alice: ShopAccess, charlie: ShopAccess, which: str) -> None:
    secret = {"wrong secret": alice.key + "x", "another shop's key": charlie.key, "no secret": ""}[which]

    response = Client().get(token_url(alice.shop.slug, secret))

    assert response.status_code == 401
    answer = response.json()
    assert "access_token" not in answer
    assert answer["success"] is False and answer["error"] == "unknown client_id or client_secret"


def test_an_order_schedules_its_invitation_after_the_clients_delay_in_minutes(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    response = post_order(access_token(alice), woocommerce_order(delay=("minutes", 90)))

    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "order registered", "order": {"external_id": "1001"}}
    invitation = Invitation.objects.get(shop=alice.shop, transaction__reference="1001")
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.send_at == timezone.now() + dt.timedelta(minutes=90)
    assert invitation.transaction.email == "jan@example.nl"
    assert (invitation.transaction.first_name, invitation.transaction.last_name) == ("Jan", "Visser")
    # Known by the WooCommerce product id, which the plugin later asks the aggregate for.
    product = Product.objects.get(shop=alice.shop)
    assert (product.sku, product.name) == ("42", "Green tea")


def test_a_delay_in_weekdays_counts_business_days(alice: ShopAccess, now: time_machine.Traveller) -> None:
    post_order(access_token(alice), woocommerce_order(delay=("weekdays", 5)))

    # Monday 23 November 09:00 UTC plus five business days: Monday 30 November.
    invitation = Invitation.objects.get(shop=alice.shop)
    assert invitation.send_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def test_an_order_without_invitation_settings_follows_the_rule(alice: ShopAccess, now: time_machine.Traveller) -> None:
    order = woocommerce_order()
    del order["invitation"]

    post_order(access_token(alice), order)

    assert Invitation.objects.get(shop=alice.shop).send_at == timezone.now() + dt.timedelta(days=7)


def test_a_repeated_order_stores_nothing_and_gets_the_same_answer(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    token = access_token(alice)
    first = post_order(token, woocommerce_order(delay=("minutes", 90)))

    again = post_order(token, woocommerce_order(delay=("days", 1)))

    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert stored(alice.shop) == (1, 1, 1)
    assert Invitation.objects.get(shop=alice.shop).send_at == timezone.now() + dt.timedelta(minutes=90)


def test_an_invalid_address_is_refused_naming_their_field_and_nothing_is_stored(alice: ShopAccess) -> None:
    response = post_order(access_token(alice), woocommerce_order(email="jan@"))

    assert response.status_code == 422
    answer = response.json()
    assert answer["success"] is False
    assert list(answer["errors"]) == ["customer.email"]
    assert answer["error"].startswith("customer.email: ")
    assert stored(alice.shop) == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"invitation": {"delay": {"unit": "fortnights", "amount": 1}}}, "invitation.delay.unit"),
        ({"invitation": {"delay": {"unit": "days", "amount": 400}}}, "invitation.delay.amount"),
        ({"invitation": {"reminder": {"unit": "days", "amount": -1}}}, "invitation.reminder.amount"),
        ({"external_id": " "}, "external_id"),
        ({"products": [{"external_id": "42", "name": ""}]}, "products.0.name"),
    ],
)
def test_bad_order_fields_are_refused_by_their_names(alice: ShopAccess, change: dict[str, Any], field: str) -> None:
    response = post_order(access_token(alice), {**woocommerce_order(), **change})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert stored(alice.shop) == (0, 0, 0)


def test_the_python_clients_json_paths_are_understood(alice: ShopAccess) -> None:
    response = post_order(access_token(alice), woocommerce_order(), path=f"{BASE}/orders.json")

    assert response.json()["success"] is True


def test_an_expired_token_gets_their_401_and_a_new_token_works(alice: ShopAccess, now: time_machine.Traveller) -> None:
    token = access_token(alice)
    now.shift(dt.timedelta(days=30, seconds=1))

    response = post_order(token, woocommerce_order())

    assert response.status_code == 401
    # The Statamic harvester matches this text to fetch a new token.
    assert response.json()["error"] == "401 Unauthorized"
    assert stored(alice.shop) == (0, 0, 0)
    assert post_order(access_token(alice), woocommerce_order()).status_code == 200


def test_revoking_the_key_revokes_its_tokens(alice: ShopAccess) -> None:
    token = access_token(alice)
    ApiKey.objects.get(shop=alice.shop).revoke()

    response = post_order(token, woocommerce_order())

    assert response.status_code == 401
    assert response.json()["success"] is False
    assert stored(alice.shop) == (0, 0, 0)


@pytest.mark.parametrize("token", ["", "not-a-token", "1.abc:1tAbCd:forged"])
def test_a_missing_or_forged_token_is_refused(alice: ShopAccess, token: str) -> None:
    assert post_order(token, woocommerce_order()).status_code == 401
    assert stored(alice.shop) == (0, 0, 0)


def test_a_read_only_key_gets_a_token_that_cannot_post_orders(alice: ShopAccess) -> None:
    _key, raw = ApiKey.issue(shop=alice.shop, scopes=["read"])
    token = Client().get(token_url(alice.shop.slug, raw)).json()["access_token"]

    response = post_order(token, woocommerce_order())

    assert response.status_code == 403
    assert stored(alice.shop) == (0, 0, 0)
    assert get(token, f"{BASE}/review").status_code == 200


def test_charlies_token_records_his_orders_never_alices(alice: ShopAccess, charlie: ShopAccess) -> None:
    post_order(access_token(charlie), woocommerce_order())

    assert stored(alice.shop) == (0, 0, 0)
    assert stored(charlie.shop) == (1, 1, 1)
    assert Client().get(token_url(alice.shop.slug, charlie.key)).status_code == 401


def test_the_review_list_gives_the_published_reviews_newest_first_in_their_fields(
    alice: ShopAccess, charlie: ShopAccess, now: time_machine.Traveller
) -> None:
    write_review(alice, "2001", 4, title="Good", body="Fresh tea, fast delivery")
    now.shift(dt.timedelta(hours=1))
    removed = write_review(alice, "2002", 1, body="Rude words")
    now.shift(dt.timedelta(hours=1))
    write_review(alice, "2003", 5, title="Excellent")
    write_review(charlie, "2004", 2, body="Charlie's customer")
    remove_review(review=removed, ground="withdrawn", origin=RemovalOrigin.REVIEWER, now=timezone.now())

    answer = get(access_token(alice), f"{BASE}/review/?limit=1&start=0").json()

    assert answer["success"] is True
    assert answer["count"]["total"] == 2
    [newest] = answer["reviews"]
    assert newest["total_score"] == 5
    assert newest["client"]["name"] == "Jan V."
    assert newest["date_created"] == "2026-11-23T11:00:00Z"
    questions = {q["type"]: q["value"] for q in newest["questions"]}
    assert questions == {"final_score": 5, "main_open": "Excellent"}
    [older] = get(access_token(alice), f"{BASE}/review?limit=1&start=1").json()["reviews"]
    assert {q["type"]: q["value"] for q in older["questions"]}["main_open"] == "Fresh tea, fast delivery"
    assert get(access_token(alice), f"{BASE}/review?limit=1&start=2").json()["reviews"] == []


def test_bad_paging_is_refused(alice: ShopAccess) -> None:
    response = get(access_token(alice), f"{BASE}/review?limit=1000")

    assert response.status_code == 400
    assert response.json()["error"].startswith("limit")


def test_the_aggregate_gives_a_products_count_and_score_out_of_ten_by_its_external_id(
    alice: ShopAccess, now: time_machine.Traveller
) -> None:
    # Products keyed as the plugin's orders key them: by the WooCommerce product id.
    write_review(alice, "3001", 5, products={"42": (4, "Nice")})
    write_review(alice, "3002", 4, products={"42": (5, "Lovely"), "43": (2, "Bitter")})
    token = access_token(alice)

    answer = get(token, f"{BASE}/product-reviews/aggregate?product_external_id=42").json()

    assert answer["success"] is True
    aggregate = answer["product_review_aggregate"]
    assert aggregate["amount_of_reviews"] == 2
    assert aggregate["average_score"] / 2 == 4.5  # as the plugin reads it
    unknown = get(token, f"{BASE}/product-reviews/aggregate?product_external_id=999").json()
    assert unknown["product_review_aggregate"]["amount_of_reviews"] == 0
    assert get(token, f"{BASE}/product-reviews/aggregate").status_code == 400


def test_an_address_that_keeps_failing_is_told_to_wait(alice: ShopAccess, settings: Any) -> None:
    settings.FAILED_ATTEMPTS_LIMIT = 2
    for _ in range(2):
        assert Client().get(token_url(alice.shop.slug, "rpk_guess")).status_code == 401

    response = Client().get(token_url(alice.shop.slug, alice.key))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "access_token" not in response.json()
