"""The privacy page of the dashboard: managers and owners export and erase by address and read
the log of requests; the retention period is a setting of the shop."""

import json

import pytest

from reputable.conftest import ShopAccess, Team
from reputable.events.models import Transaction
from reputable.privacy.models import PrivacyRequest
from reputable.privacy.tests.helpers import customer_history, order, search_every_text_column
from reputable.reviews.models import Review
from reputable.shops.models import Shop

pytestmark = pytest.mark.usefixtures("now")

PAGE = "/dashboard/alice-teas/privacy"
JAN = "jan.visser@example.nl"


def test_a_manager_downloads_an_export_and_the_log_shows_it_with_its_deadline(alice: ShopAccess, team: Team) -> None:
    customer_history(alice, team, "A-1", JAN)
    manager = team.client(team.bob["manager"])

    answer = manager.post(f"{PAGE}/export", {"email": JAN})

    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith('attachment; filename="alice-teas-privacy-export-')
    document = json.loads(answer.content)
    assert document["transactions"][0]["email"] == JAN
    assert document["reviews"][0]["title"] == "Cold tea"
    logged = PrivacyRequest.objects.get()
    assert logged.requested_by == team.bob["manager"]
    page = manager.get(PAGE).content.decode()
    assert "j•••@example.nl" in page
    assert "bob-manager@alice-teas.example" in page
    assert "<td>Dec. 23, 2026</td>" in page  # the deadline: one month after 23 November 2026
    assert JAN not in page


def test_a_manager_erases_an_address_and_its_review_is_removed_with_a_stub(alice: ShopAccess, team: Team) -> None:
    review = customer_history(alice, team, "A-1", JAN)
    manager = team.client(team.bob["manager"])

    answer = manager.post(f"{PAGE}/erasure", {"email": JAN, "review": "remove"}, follow=True)

    assert answer.redirect_chain == [(PAGE, 302)]
    page = answer.content.decode()
    assert "The personal data of j•••@example.nl is erased." in page
    assert "Remove the reviews, leaving a stub" in page  # the choice, in the log
    assert Review.objects.get(pk=review.pk).status == Review.Status.REMOVED
    assert search_every_text_column(JAN) == []
    # The order is still there, shown as erased.
    pipeline = manager.get("/dashboard/alice-teas/invitations/orders/A-1")
    assert pipeline.status_code == 200 and "erased" in pipeline.content.decode()


@pytest.mark.parametrize(
    ("form", "data", "error_field"),
    [
        ("erasure", {"email": "jan@", "review": "anonymise"}, "erasure_email"),
        ("erasure", {"email": JAN}, "erasure_review"),
        ("export", {"email": "not an address"}, "export_email"),
    ],
)
def test_a_bad_request_shows_the_error_by_its_field_and_stores_nothing(
    alice: ShopAccess, team: Team, form: str, data: dict[str, str], error_field: str
) -> None:
    order(alice, "A-1", JAN)

    answer = team.client(team.bob["owner"]).post(f"{PAGE}/{form}", data)

    assert answer.status_code == 400
    assert f'<ul class="errorlist" id="{error_field}_error">' in answer.content.decode()
    assert not PrivacyRequest.objects.exists()
    assert Transaction.objects.get(reference="A-1").email == JAN


def test_the_privacy_page_is_for_managers_and_owners(alice: ShopAccess, team: Team) -> None:
    assert team.client(team.bob["responder"]).get(PAGE).status_code == 403
    assert team.client(team.bob["responder"]).post(f"{PAGE}/erasure", {"email": JAN}).status_code == 403
    owner = team.client(team.alice).get(PAGE)
    assert owner.status_code == 200 and "Erase" in owner.content.decode()
    assert "Privacy" in team.client(team.bob["manager"]).get("/dashboard/alice-teas/").content.decode()
    assert f'href="{PAGE}"' not in team.client(team.bob["viewer"]).get("/dashboard/alice-teas/").content.decode()


def test_a_manager_sets_the_retention_period_in_the_settings(alice: ShopAccess, team: Team) -> None:
    from reputable.dashboard.tests.test_settings import SETTINGS, form

    manager = team.client(team.bob["manager"])
    assert "Retention (months)" in manager.get(SETTINGS).content.decode()

    assert manager.post(SETTINGS, form(alice.shop, retention_months=12)).status_code == 302
    assert Shop.objects.get(pk=alice.shop.pk).retention_months == 12

    refused = manager.post(SETTINGS, form(alice.shop, retention_months=0))
    assert refused.status_code == 400
    assert Shop.objects.get(pk=alice.shop.pk).retention_months == 12
