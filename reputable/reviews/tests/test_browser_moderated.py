"""A disputed, then removed, review on the public profile and in the reviews widget, in a real
headless Chromium: the label, then the stub in its place, each passing axe."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from reputable.conftest import ShopAccess, write_review
from reputable.reviews.tests.test_moderated_display import DISPUTED, STUB, admitted, removed
from reputable.tests.browser import axe_violations, require_chromium

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("now")]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page that axe may measure (axe sets style attributes, which the CSP refuses)."""
    context = browser.new_context(locale="en-GB", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_the_profile_shows_in_dispute_and_after_removal_the_stub_and_passes_axe(
    alice: ShopAccess, live_server: Any, page: Page, now: Any, settings: Any
) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 100
    write_review(alice, "o1", 5, title="Lovely", body="Lovely tea")
    now.shift(dt.timedelta(hours=1))
    review = write_review(alice, "o2", 2, title="Opened parcel", body="The parcel was opened")
    profile = f"{live_server.url}/s/{alice.shop.slug}/?lang=en"
    widget = f"{live_server.url}/w/{alice.shop.slug}/frame/reviews?lang=en"

    admitted(review, now)
    page.goto(profile)
    disputed = page.locator(f"#review-{review.pk}")
    assert DISPUTED in disputed.inner_text() and "The parcel was opened" in disputed.inner_text()
    assert axe_violations(page.main_frame) == []

    removed(review, now)
    page.goto(profile)
    stub = page.locator(f"#review-{review.pk}")
    assert stub.inner_text().strip() == STUB
    assert page.get_by_text("The parcel was opened").count() == 0
    assert page.locator("article.review").nth(0).get_attribute("id") == f"review-{review.pk}"  # newest first
    assert axe_violations(page.main_frame) == []

    page.goto(widget)
    page.locator(".rp-stub").wait_for()
    assert page.locator(".rp-stub").inner_text().strip() == STUB
    # The frame is part of a shop's page, whose level-one heading is the shop's affair.
    assert axe_violations(page.main_frame, disabled=("page-has-heading-one",)) == []
