"""The wording of invitations and reminders in the dashboard: editing, the live preview, the
test send and the reset, as the dispatcher then sends them."""

import datetime as dt
import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, Team, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command
from reputable.invitations.describe import sample_message
from reputable.invitations.models import MessageTemplate

pytestmark = pytest.mark.usefixtures("now")

WORDING = "/dashboard/alice-teas/emails/invitation/nl"
OWN = {
    "subject": "{first_name}, hoe was {order_reference}?",
    "body": "Beste {first_name},\r\n\r\nZeg het ons: {review_url}",
}


def manager(team: Team) -> Client:
    return team.client(team.bob["manager"])


def text_of(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def part(message: EmailMessage, kind: str) -> str:
    body = message.get_body(preferencelist=(kind,))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def test_the_list_shows_each_message_in_each_language_with_its_wording(alice: ShopAccess, team: Team) -> None:
    manager(team).post(WORDING, OWN)

    page = text_of(team.client(team.bob["viewer"]).get("/dashboard/alice-teas/emails"))

    assert "Invitation (Nederlands) Nederlands {first_name}, hoe was {order_reference}? your own" in page
    assert "Reminder (Deutsch) Deutsch Erinnerung: Ihre Bewertung von {shop_name} default" in page


def test_a_managers_wording_is_used_by_the_next_invitation_the_dispatcher_sends(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    saved = manager(team).post(WORDING, OWN)
    assert saved.status_code == 302
    assert MessageTemplate.objects.get(shop=alice.shop, kind="invitation", locale="nl").body.startswith(
        "Beste {first_name},\n\nZeg"  # stored with LF line ends
    )

    alice.post("/api/v1/events", checkout())
    now.move_to(MONDAY + dt.timedelta(days=7))
    assert run_dispatcher(dispatcher) == 1

    [message] = smtp.messages
    assert message["Subject"] == "Jan, hoe was 1001?"
    assert part(message, "plain").startswith("Beste Jan,\n\nZeg het ons: http://")
    assert "bezwaar maken" in part(message, "plain")  # the objection notice stays


def test_the_live_preview_renders_the_edited_wording_with_sample_values(alice: ShopAccess, team: Team) -> None:
    preview = manager(team).post(f"{WORDING}/preview", OWN, HTTP_HX_REQUEST="true")

    text = text_of(preview)
    assert "Subject Jan, hoe was 1001?" in text
    assert "Beste Jan, Zeg het ons: http://localhost:8000/r/example" in text
    assert "<html" not in preview.content.decode()
    frame = re.search(r'<iframe class="email-frame" src="([^"]+)" sandbox', preview.content.decode())
    assert frame is not None
    html = manager(team).get(frame[1].replace("&amp;", "&"))
    assert "<p>Beste Jan,</p>" in html.content.decode()
    policy = html["Content-Security-Policy"]
    assert "'unsafe-hashes'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'self'" in policy
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    assert not MessageTemplate.objects.exists()  # a preview stores nothing


def test_the_page_previews_the_wording_in_use_and_its_form_posts_changes_to_the_preview(
    alice: ShopAccess, team: Team
) -> None:
    page = manager(team).get("/dashboard/alice-teas/emails/reminder/de")

    content = page.content.decode()
    assert 'hx-post="/dashboard/alice-teas/emails/reminder/de/preview"' in content
    assert 'hx-trigger="change"' in content and 'hx-target="#email-preview"' in content
    assert "Erinnerung: Ihre Bewertung von Alice Teas" in text_of(page)
    assert "{unsubscribe_url} the link to object to review requests" in text_of(page)


def test_a_test_send_arrives_with_the_preview_as_its_content(
    alice: ShopAccess, team: Team, dispatcher: Command, smtp: SmtpSink
) -> None:
    preview = text_of(manager(team).post(f"{WORDING}/preview", OWN, HTTP_HX_REQUEST="true"))

    sent = manager(team).post(f"{WORDING}/test", OWN)

    assert sent.status_code == 302
    assert not smtp.messages  # not sent in the request
    run_dispatcher(dispatcher)
    [message] = smtp.messages
    assert message["To"] == "bob-manager@alice-teas.example"
    assert message["Subject"] == "Jan, hoe was 1001?"
    assert f"Subject {message['Subject']}" in preview
    assert message["Content-Language"] == "nl"
    assert part(message, "plain").startswith("Beste Jan,\n\nZeg het ons: http://localhost:8000/r/example")
    html = part(message, "html")
    assert "<p>Beste Jan,</p>" in html and 'href="http://localhost:8000/r/example"' in html and "bezwaar" in html
    wording = {"subject": OWN["subject"], "body": OWN["body"].replace("\r\n", "\n")}
    invitation = sample_message(shop=alice.shop, kind="invitation", locale="nl", to=message["To"], **wording)
    assert (part(message, "plain"), html) == (invitation.text, invitation.html)  # as the dispatcher renders it
    assert not MessageTemplate.objects.exists()  # a test send stores no wording


def test_reset_goes_back_to_the_default_wording(alice: ShopAccess, team: Team) -> None:
    manager(team).post("/dashboard/alice-teas/emails/invitation/de", OWN)
    assert MessageTemplate.objects.filter(shop=alice.shop).count() == 1

    response = manager(team).post("/dashboard/alice-teas/emails/invitation/de/reset")

    assert response.status_code == 302
    assert not MessageTemplate.objects.filter(shop=alice.shop).exists()
    page = text_of(manager(team).get("/dashboard/alice-teas/emails/invitation/de"))
    assert "Reputable's default wording is in use" in page
    assert "Wie war Ihre Bestellung bei Alice Teas?" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", "Hi {evil}"), ("subject", "{{ shop.api_keys.all }}"), ("body", "{% if x %}y{% endif %}")],
)
def test_anything_but_the_placeholders_is_refused_next_to_its_field(
    alice: ShopAccess, team: Team, field: str, value: str
) -> None:
    response = manager(team).post(WORDING, OWN | {field: value})

    assert response.status_code == 400
    content = response.content.decode()
    assert re.search(rf'aria-describedby="[^"]*id_{field}_error"', content)
    error = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', content, re.S)
    assert error is not None
    assert "placeholder" in error[1]
    assert not MessageTemplate.objects.exists()
    refused = manager(team).post(f"{WORDING}/test", OWN | {field: value})
    assert refused.status_code == 400


def test_an_unknown_kind_or_language_is_not_found(alice: ShopAccess, team: Team) -> None:
    assert manager(team).get("/dashboard/alice-teas/emails/letter/nl").status_code == 404
    assert manager(team).get("/dashboard/alice-teas/emails/invitation/fr").status_code == 404
    assert manager(team).post("/dashboard/alice-teas/emails/invitation/fr", OWN).status_code == 404
