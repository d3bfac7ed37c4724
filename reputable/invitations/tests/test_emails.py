"""What the invitation and reminder emails say, in which language, with which headers."""

import datetime as dt
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, checkout, run_dispatcher
from reputable.dispatch.management.commands.dispatch import Command
from reputable.events.models import Transaction
from reputable.invitations.models import Invitation, MessageTemplate
from reputable.shops.models import Shop

WEEK = dt.timedelta(days=7)


@dataclass
class Mailer:
    """Alice's shop, the dispatcher and the SMTP server that receives what it sends."""

    alice: ShopAccess
    dispatcher: Command
    smtp: SmtpSink
    now: Any

    def invite(self, **event: Any) -> EmailMessage:
        """Post a checkout, let a week pass, dispatch; the message the customer received."""
        self.alice.post("/api/v1/events", checkout(**event))
        self.now.move_to(MONDAY + WEEK)
        return self.dispatch()

    def dispatch(self) -> EmailMessage:
        assert run_dispatcher(self.dispatcher) == 1
        return self.smtp.messages[-1]


@pytest.fixture
def mailer(alice: ShopAccess, dispatcher: Command, smtp: SmtpSink, now: Any) -> Mailer:
    return Mailer(alice, dispatcher, smtp, now)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def test_every_message_carries_the_one_click_unsubscribe_headers_and_reply_to(
    alice: ShopAccess, mailer: Mailer
) -> None:
    alice.patch("/api/v1/shop", {"reply_to": "service@alice-teas.example", "sender_name": "Alice from Alice Teas"})

    message = mailer.invite()

    invitation = Invitation.objects.get()
    assert message["List-Unsubscribe"].strip() == f"<http://localhost:8000/u/{invitation.token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == "service@alice-teas.example"
    assert message["From"].startswith("Alice from Alice Teas <")
    assert message["Message-ID"] == f"<invitation-{invitation.pk}-step-0@localhost>"


def test_list_unsubscribe_is_https_when_the_platform_is(alice: ShopAccess, mailer: Mailer, settings: Any) -> None:
    settings.BASE_URL = "https://reviews.example.org"

    message = mailer.invite()

    assert message["List-Unsubscribe"].strip().startswith("<https://reviews.example.org/u/")
    assert "https://reviews.example.org/r/" in text_of(message)


def test_the_invitation_names_the_shop_links_the_form_and_states_the_right_to_object(
    alice: ShopAccess, mailer: Mailer
) -> None:
    message = mailer.invite(customer={"email": "jan@example.nl", "first_name": "Jan", "locale": "en"})
    invitation = Invitation.objects.get()

    text = text_of(message)
    assert "Alice Teas" in message["Subject"]
    assert "Hello Jan," in text
    assert f"/r/{invitation.token}" in text
    assert f"/u/{invitation.token}" in text
    assert "object" in text
    html = html_of(message)
    assert f'href="http://localhost:8000/r/{invitation.token}"' in html
    assert f'href="http://localhost:8000/u/{invitation.token}"' in html


@pytest.mark.parametrize(
    ("locale", "greeting", "objection"),
    [
        ("en", "Hello Jan,", "object to further review requests"),
        ("de", "Hallo Jan,", "widersprechen"),
        ("nl", "Hallo Jan,", "bezwaar maken"),
        ("pl", "Dzień dobry Jan,", "sprzeciw"),
    ],
)
def test_the_message_is_in_the_customers_language(
    alice: ShopAccess, mailer: Mailer, locale: str, greeting: str, objection: str
) -> None:
    message = mailer.invite(customer={"email": "jan@example.nl", "first_name": "Jan", "locale": locale})

    assert message["Content-Language"] == locale
    assert greeting in text_of(message)
    assert objection in text_of(message)


def test_without_a_customer_language_the_shops_language_is_used(alice: ShopAccess, mailer: Mailer) -> None:
    message = mailer.invite(customer={"email": "jan@example.nl", "locale": "fr-FR"})

    assert message["Content-Language"] == "de"  # Alice's shop speaks German
    assert text_of(message).startswith("Hallo,")


def test_the_reminder_has_its_own_wording_and_message_id(alice: ShopAccess, mailer: Mailer) -> None:
    first = mailer.invite(customer={"email": "jan@example.nl", "locale": "en"})
    mailer.now.move_to(MONDAY + 2 * WEEK)
    reminder = mailer.dispatch()

    assert reminder["Subject"].startswith("Reminder")
    assert reminder["Message-ID"].endswith("-step-1@localhost>")
    assert first["Message-ID"] != reminder["Message-ID"]


def test_a_shops_own_wording_replaces_the_default_and_keeps_the_notice(alice: ShopAccess, mailer: Mailer) -> None:
    response = alice.put(
        "/api/v1/message-templates/invitation/nl",
        {
            "subject": "{first_name}, hoe was {order_reference}?",
            "body": "Beste {first_name},\n\nZeg het ons: {review_url}",
        },
    )
    assert response.status_code == 200

    message = mailer.invite()

    assert message["Subject"] == "Jan, hoe was 1001?"
    text = text_of(message)
    assert text.startswith("Beste Jan,")
    assert "bezwaar maken" in text  # the objection notice cannot be removed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", "Hi {customer_name}"),
        ("body", "{{ shop.api_keys.all }}"),
        ("body", "{% for k in shop.api_keys.all %}{{ k }}{% endfor %}"),
        ("subject", "{first_name.__class__}"),
        ("subject", "Hello {first_name!r}"),
        ("body", "open { brace"),
    ],
)
def test_unknown_placeholders_and_template_code_are_rejected(alice: ShopAccess, field: str, value: str) -> None:
    body = {"subject": "Hello", "body": "Review: {review_url}", field: value}

    response = alice.put("/api/v1/message-templates/invitation/en", body)

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == field
    assert alice.api.get("/api/v1/message-templates").json() == []


def test_customer_and_shop_text_is_escaped_in_the_html_part(alice: ShopAccess, mailer: Mailer) -> None:
    alice.patch("/api/v1/shop", {"name": "Tea & <b>Co</b>"})
    message = mailer.invite(
        customer={"email": "jan@example.nl", "first_name": "<script>alert(1)</script>", "locale": "en"}
    )

    html = html_of(message)
    assert "<script>" not in html
    assert "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;,</p>" in html
    assert "<b>Co</b>" not in html


def test_a_template_can_be_removed_to_return_to_the_default(alice: ShopAccess) -> None:
    alice.put("/api/v1/message-templates/reminder/de", {"subject": "Erinnerung", "body": "{review_url}"})

    assert alice.api.delete("/api/v1/message-templates/reminder/de").status_code == 204
    assert alice.api.delete("/api/v1/message-templates/reminder/de").status_code == 404
    assert alice.put("/api/v1/message-templates/reminder/fr", {"subject": "x", "body": "y"}).status_code == 422


def test_line_breaks_in_shop_names_are_rejected(alice: ShopAccess) -> None:
    for field in ("name", "sender_name"):
        response = alice.patch("/api/v1/shop", {field: "Tea\r\nBcc: victim@example.com"})

        assert response.status_code == 422
        assert response.json()["fields"][0]["field"] == field


def test_a_stored_name_with_line_breaks_cannot_inject_headers(alice: ShopAccess, mailer: Mailer) -> None:
    Shop.objects.filter(pk=alice.shop.pk).update(name="Tea\r\nBcc: victim@example.com", sender_name="A\nX-Evil: 1")

    message = mailer.invite(customer={"email": "jan@example.nl", "locale": "pl"})

    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert message["From"].addresses[0].display_name == "A X-Evil: 1"  # kept as text, on one line


# No NUL: PostgreSQL cannot store it, so no stored row holds it.
CONTROLS = "".join(chr(c) for c in [*range(1, 9), *range(0x0E, 0x1C), 0x7F, 0x85, 0x9B]) + "\u2028"


def test_control_characters_stored_anywhere_never_reach_a_header(alice: ShopAccess, mailer: Mailer) -> None:
    """Rows written before the input rule, or by hand: the builder cleans every header value."""
    alice.post("/api/v1/events", checkout())
    Transaction.objects.update(first_name=f"Jan{CONTROLS}", reference=f"10{CONTROLS}01")
    MessageTemplate.objects.create(
        shop=alice.shop,
        kind="invitation",
        locale="nl",
        subject=f"{{first_name}}: {{order_reference}}{CONTROLS}!",
        body="{review_url}",
    )
    Shop.objects.filter(pk=alice.shop.pk).update(sender_name=f"Alice{CONTROLS}Teas")
    mailer.now.move_to(MONDAY + WEEK)

    message = mailer.dispatch()

    raw = bytes(message)
    strict = email.message_from_bytes(raw, policy=email.policy.strict)
    for name, value in strict.items():
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\u2028" for c in str(value)), name
    assert strict["Subject"] == "Jan : 10 01 !"  # each run of them one space
    assert strict["From"].addresses[0].display_name == "Alice Teas"


def test_an_address_no_message_can_carry_fails_once_and_is_not_retried(alice: ShopAccess, mailer: Mailer) -> None:
    alice.post("/api/v1/events", checkout())
    Invitation.objects.update(email='"a\u000bb"@example.com')  # stored before the input rule
    mailer.now.move_to(MONDAY + WEEK)

    assert run_dispatcher(mailer.dispatcher) == 1
    mailer.now.shift(dt.timedelta(days=30))
    assert run_dispatcher(mailer.dispatcher) == 0

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.attempts) == ("failed", 1)
    assert "no message can carry the address" in invitation.last_error
    assert mailer.smtp.messages == []
