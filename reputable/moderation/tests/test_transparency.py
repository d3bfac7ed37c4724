"""Transparency figures on a shop's "how reviews work" page and on /transparency: reviews
received and published, removed by reason, disputes opened and upheld, the median time to a
decision, the share of disputes aimed at 1-2 star reviews, and notices with their outcomes."""

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from reputable.conftest import ShopAccess, Team, moderator, write_review
from reputable.moderation import actions, notices
from reputable.moderation.grounds import Ground
from reputable.moderation.models import Dispute
from reputable.reviews.models import Review

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture(autouse=True)
def many_disputes(settings: Any) -> None:
    settings.DISPUTES_PER_100_REVIEWS = 100  # a handful of reviews, several open disputes


def dispute(review: Review, user: User) -> Dispute:
    return actions.open_dispute(
        review=review,
        user=user,
        reason=Ground.FALSE_FACT,
        passage="",
        explanation="We have the delivery records that show otherwise.",
        good_faith=True,
        now=timezone.now(),
    )


def decide_after_hearing(dispute: Dispute, user: User, mona: User, now: Any, *, days: int, measure: str) -> None:
    actions.triage(dispute=dispute, moderator=mona, admissible=True, note="", now=timezone.now())
    actions.answer(dispute=dispute, statement="It happened as I wrote.", now=timezone.now())
    actions.rebut(dispute=dispute, user=user, text="It did not, see the records.", now=timezone.now())
    now.shift(dt.timedelta(days=days) - (timezone.now() - dispute.created_at))
    actions.decide(dispute=dispute, moderator=mona, measure=measure, explanation="Weighed both.", now=timezone.now())


def figures(html: str) -> dict[str, list[str]]:
    """The transparency table as {row heading: [last 12 months, all time]}, in words."""
    table = re.search(r'<table class="figures">.*?</table>', html, re.S)
    assert table, html
    rows = {}
    for heading, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table.group(0), re.S):
        rows[heading] = [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", cells, re.S)
        ]
    return rows


def page(path: str) -> dict[str, list[str]]:
    response = Client().get(path)
    assert response.status_code == 200
    return figures(response.content.decode())


def test_a_shop_disputing_only_negative_reviews_shows_100_percent_another_less_and_the_platform_sums_them(
    alice: ShopAccess, charlie: ShopAccess, team: Team, now: Any
) -> None:
    mona = moderator("mona@reputable.example")
    one, two, _five = (write_review(alice, f"A-{n}", n, body="Plain words.") for n in (1, 2, 5))
    first = dispute(one, team.alice)
    dispute(two, team.alice)
    decide_after_hearing(first, team.alice, mona, now, days=4, measure="removed")
    low, high = (write_review(charlie, f"C-{n}", n, body="Plain words.") for n in (1, 5))
    dispute(low, team.charlie)
    kept = dispute(high, team.charlie)
    decide_after_hearing(kept, team.charlie, mona, now, days=2, measure="kept")
    notice = notices.submit_notice(
        review=high,
        reason=Ground.ADVERTISING,
        explanation="This reads like an advert for another shop.",
        name="Petra Paulsen",
        email="petra@example.org",
        good_faith=True,
        language="en",
        now=timezone.now(),
    )
    notices.confirm_notice(notice=notice, now=timezone.now())
    notices.decide_notice(notice=notice, moderator=mona, measure="kept", explanation="No advert.", now=timezone.now())

    shop_a = page(f"/s/{alice.shop.slug}/how-reviews-work?lang=en")
    assert shop_a["Disputes aimed at 1-2 star reviews"] == ["100 %", "100 %"]
    assert shop_a["Reviews received"] == ["3", "3"]
    assert shop_a["Reviews published now"] == ["2", "2"]
    assert shop_a["Removed, by reason"] == ["A false statement of fact: 1"] * 2
    assert shop_a["Disputes opened by shops"] == ["2", "2"]
    assert shop_a["Disputes upheld (review removed or redacted)"] == ["1", "1"]
    assert shop_a["Median time from dispute to decision"] == ["4.0 days", "4.0 days"]
    assert shop_a["Notices received from anyone"] == ["0", "0"]

    shop_c = page(f"/s/{charlie.shop.slug}/how-reviews-work?lang=en")
    assert shop_c["Disputes aimed at 1-2 star reviews"] == ["50 %", "50 %"]
    assert shop_c["Disputes upheld (review removed or redacted)"] == ["0", "0"]
    assert shop_c["Notices received from anyone"] == ["1", "1"]
    assert shop_c["Notices decided, by outcome"] == ["No measure: the review stays as it is: 1"] * 2

    platform = page("/transparency?lang=en")
    assert platform["Reviews received"] == ["5", "5"]
    assert platform["Reviews published now"] == ["4", "4"]
    assert platform["Disputes opened by shops"] == ["4", "4"]
    assert platform["Disputes aimed at 1-2 star reviews"] == ["75 %", "75 %"]  # 3 of 4
    assert platform["Median time from dispute to decision"] == ["3.0 days", "3.0 days"]  # of 2 and 4
    assert platform["Notices received from anyone"] == ["1", "1"]

    now.shift(dt.timedelta(days=400))  # the last 12 months are empty, all time keeps them
    later = page(f"/s/{alice.shop.slug}/how-reviews-work?lang=en")
    assert later["Disputes opened by shops"] == ["0", "2"]
    assert later["Disputes aimed at 1-2 star reviews"] == ["–", "100 %"]
    assert later["Reviews received"] == ["0", "3"]


def test_a_shop_without_disputes_shows_dashes_not_a_share(alice: ShopAccess) -> None:
    write_review(alice, "A-1", 4)
    shop = page(f"/s/{alice.shop.slug}/how-reviews-work?lang=en")
    assert shop["Disputes aimed at 1-2 star reviews"] == ["–", "–"]
    assert shop["Reviews received"] == ["1", "1"]
    assert shop["Removed, by reason"] == ["–", "–"]
