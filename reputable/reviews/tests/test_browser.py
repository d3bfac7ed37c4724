"""The review form in a real headless Chromium, used as a customer would, keyboard included."""

from collections.abc import Iterator
from typing import Any

import pytest

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.reviews.models import Review
from reputable.tests.browser import require_chromium

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def invite(shop: ShopAccess, **customer: Any) -> str:
    shop.post(
        "/api/v1/events",
        checkout(
            customer={"email": "jan@example.nl", "first_name": "Jan", "last_name": "Visser", **customer},
            products=[{"sku": "TEA-1", "name": "Green tea"}],
        ),
    )
    return Invitation.objects.get().token


def test_a_customer_fills_and_submits_the_form_with_the_keyboard(
    alice: ShopAccess, live_server: Any, page: Page
) -> None:
    token = invite(alice, locale="en")
    page.goto(f"{live_server.url}/r/{token}")

    # Into the shop rating with Tab, then the arrow keys move along the stars.
    page.locator("body").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "rating"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator("input[name=rating]:checked").get_attribute("value") == "4"
    page.get_by_label("Title").fill("Good tea, quick delivery")
    page.get_by_label("Your review").click()
    page.keyboard.type("Arrived in two days.\nWell packed.")
    page.locator("input[name^=product_][value='5']").check()
    page.get_by_label("Title").focus()
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**?saved=1")

    assert "Thank you! Your review is published." in page.content()
    review = Review.objects.get()
    assert (review.rating, review.title, review.body) == (
        4,
        "Good tea, quick delivery",
        "Arrived in two days.\nWell packed.",
    )
    assert [pr.rating for pr in review.product_reviews.all()] == [5]


def test_the_form_will_not_publish_without_stars_and_says_so(alice: ShopAccess, live_server: Any, page: Page) -> None:
    token = invite(alice, locale="de")
    page.goto(f"{live_server.url}/r/{token}")

    page.get_by_role("button", name="Bewertung veröffentlichen").click()

    assert page.locator(".stars.invalid").count() == 1
    assert Review.objects.count() == 0


def test_markup_in_a_review_does_not_run_in_the_browser(alice: ShopAccess, live_server: Any, page: Page) -> None:
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    token = invite(alice, locale="en", first_name=payload)
    page.goto(f"{live_server.url}/r/{token}")
    page.locator("label[for=id_rating_0]").click()
    page.get_by_label("Title").fill(payload[:120])
    page.get_by_label("Your review").fill(payload)
    page.get_by_role("button", name="Publish my review").click()
    page.wait_for_url("**?saved=1")

    page.goto(f"{live_server.url}/s/alice-teas/?lang=en")

    assert page.evaluate("window.__pwned") is None
    assert page.locator(".review-body").inner_text().startswith("<img src=x")


def test_every_page_loads_under_its_csp_from_this_host_only(alice: ShopAccess, live_server: Any, page: Page) -> None:
    token = invite(alice, locale="en")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))

    for path in (f"/r/{token}", f"/u/{token}", "/s/alice-teas/", "/api/v1/docs", "/admin/login/"):
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.goto(live_server.url + "/api/v1/docs")
    page.get_by_text("Reputable API").first.wait_for()  # the docs page's own script ran

    assert problems == []
    assert hosts == {live_server.url.split("/")[2]}
