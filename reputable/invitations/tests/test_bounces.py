"""The email providers' tracking webhooks: each provider's documented sample payload, verified
as django-anymail verifies it, suppresses the address for every shop; a wrong or missing
credential stores nothing."""

import base64
import hashlib
import hmac
import json
import socket
from typing import Any

import pytest
from anymail.exceptions import AnymailInsecureWebhookWarning, AnymailNotSupportedWarning
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from reputable.conftest import MONDAY, ShopAccess, Team, checkout
from reputable.invitations.models import Invitation, Suppression
from reputable.reviews import counters

pytestmark = pytest.mark.usefixtures("now")

SECRET = "anymail:s3cret-webhook"
MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"
CUSTOMER = "jan@example.nl"  # the address checkout() invites


def basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


@pytest.fixture
def webhooks(settings: Any) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


@pytest.fixture
def mailgun(settings: Any) -> None:
    # Only the signing key: with WEBHOOK_SECRET set, anymail asks every provider for basic auth too.
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def invited(alice: ShopAccess) -> Invitation:
    """Jan's pending invitation from Alice's shop."""
    assert alice.post("/api/v1/events", checkout()).status_code == 202
    return Invitation.objects.get(email=CUSTOMER)


def post_json(path: str, payload: Any, **extra: Any) -> Any:
    return Client().post(path, json.dumps(payload), content_type="application/json", **extra)


def assert_suppressed(invitation: Invitation, reason: str, *, detail: str, source: str) -> None:
    suppression = Suppression.objects.get(email=invitation.email)
    assert (suppression.shop, suppression.reason, suppression.source) == (None, reason, source)
    assert detail in suppression.detail
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SUPPRESSED
    day = MONDAY.date()
    assert counters.totals(shop=invitation.shop, prefixes=[reason], start=day, end=day) == {reason: 1}


def assert_nothing_stored(invitation: Invitation) -> None:
    assert not Suppression.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


# --- Postmark: basic auth -----------------------------------------------------------------------

# Postmark's bounce webhook sample (its documentation; as in anymail's tests).
POSTMARK_HARD_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 901542550,
    "Type": "HardBounce",
    "TypeCode": 1,
    "ServerID": 23,
    "Name": "Hard bounce",
    "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": CUSTOMER,
    "From": "sender@example.com",
    "BouncedAt": "2026-11-23T08:28:50.3963933-04:00",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "How was your order?",
}


@pytest.mark.usefixtures("webhooks")
def test_a_postmark_hard_bounce_with_the_secret_suppresses_the_address_for_every_shop(invited: Invitation) -> None:
    response = post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE, **basic(SECRET))
    assert response.status_code == 200
    assert_suppressed(
        invited, "bounced", detail="550 5.1.1 The email account that you tried to reach", source="postmark"
    )
    assert "(Postmark: HardBounce)" in Suppression.objects.get().detail


@pytest.mark.usefixtures("webhooks")
def test_a_postmark_post_with_a_wrong_or_no_secret_stores_nothing(invited: Invitation) -> None:
    assert post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE, **basic("anymail:wrong")).status_code == 400
    assert post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE).status_code == 400
    assert_nothing_stored(invited)


def test_a_basic_auth_webhook_refuses_every_post_while_no_secret_is_set(settings: Any, invited: Invitation) -> None:
    settings.ANYMAIL = {}  # anymail alone would take the post and only warn
    with pytest.warns(AnymailInsecureWebhookWarning):
        assert post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE).status_code == 400
    assert_nothing_stored(invited)


@pytest.mark.usefixtures("webhooks")
def test_a_postmark_soft_bounce_suppresses_nothing(invited: Invitation) -> None:
    soft = POSTMARK_HARD_BOUNCE | {"Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce"}
    assert post_json("/anymail/postmark/tracking/", soft, **basic(SECRET)).status_code == 200
    assert_nothing_stored(invited)


@pytest.mark.usefixtures("webhooks")
def test_a_postmark_spam_complaint_suppresses_as_a_complaint(invited: Invitation) -> None:
    complaint = POSTMARK_HARD_BOUNCE | {"Type": "SpamComplaint", "TypeCode": 512, "Details": "", "Description": ""}
    complaint |= {"RecordType": "SpamComplaint"}
    assert post_json("/anymail/postmark/tracking/", complaint, **basic(SECRET)).status_code == 200
    assert_suppressed(invited, "complained", detail="Postmark: SpamComplaint", source="postmark")


@pytest.mark.usefixtures("webhooks")
def test_a_repeated_bounce_is_stored_and_counted_once(invited: Invitation) -> None:
    for _ in range(2):
        assert post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE, **basic(SECRET)).status_code == 200
    assert Suppression.objects.count() == 1
    assert_suppressed(invited, "bounced", detail="550 5.1.1", source="postmark")


# --- Amazon SES (SNS): basic auth ---------------------------------------------------------------

# Amazon SES's bounce notification example (its documentation), inside an SNS Notification.
SES_BOUNCE: dict[str, Any] = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "reportingMTA": "dns; email.example.com",
        "bouncedRecipients": [
            {
                "emailAddress": CUSTOMER,
                "status": "5.1.1",
                "action": "failed",
                "diagnosticCode": "smtp; 550 5.1.1 <jan@example.nl>... User unknown",
            }
        ],
        "bounceSubType": "General",
        "timestamp": "2026-11-23T08:59:44.101Z",
        "feedbackId": "00000138111222aa-44455566-cccc-cccc-cccc-ddddaaaa068a-000000",
        "remoteMtaIp": "127.0.2.0",
    },
    "mail": {
        "timestamp": "2026-11-23T08:59:38.237Z",
        "source": "reviews@localhost",
        "sourceArn": "arn:aws:ses:us-west-2:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId": "123456789012",
        "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination": [CUSTOMER],
    },
}


def sns(message_type: str, body: dict[str, Any], **extra: Any) -> Any:
    """A post as Amazon SNS makes it: JSON as text/plain, the type and id also in headers."""
    return Client().post(
        "/anymail/amazon_ses/tracking/",
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=message_type,
        HTTP_X_AMZ_SNS_MESSAGE_ID=body["MessageId"],
        **extra,
    )


def sns_notification(ses_event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "19ba9823-d7f2-53c1-860e-cb10e0d13dfc",
        "TopicArn": "arn:aws:sns:us-east-1:111111111111:SES_Bounces",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-11-23T08:59:59.675Z",
        "SignatureVersion": "1",
    }


@pytest.mark.usefixtures("webhooks")
def test_an_amazon_ses_permanent_bounce_suppresses_the_address(invited: Invitation) -> None:
    assert sns("Notification", sns_notification(SES_BOUNCE), **basic(SECRET)).status_code == 200
    assert_suppressed(invited, "bounced", detail="550 5.1.1 <jan@example.nl>... User unknown", source="amazon_ses")


@pytest.mark.usefixtures("webhooks")
def test_an_amazon_ses_post_without_the_secret_is_asked_for_it_and_stores_nothing(invited: Invitation) -> None:
    unauthenticated = sns("Notification", sns_notification(SES_BOUNCE))
    assert unauthenticated.status_code == 401  # SNS sends its credentials only after a 401
    assert sns("Notification", sns_notification(SES_BOUNCE), **basic("anymail:wrong")).status_code == 400
    assert_nothing_stored(invited)


@pytest.mark.usefixtures("webhooks")
def test_an_amazon_ses_transient_bounce_suppresses_nothing(invited: Invitation) -> None:
    transient = SES_BOUNCE | {"bounce": SES_BOUNCE["bounce"] | {"bounceType": "Transient"}}
    assert sns("Notification", sns_notification(transient), **basic(SECRET)).status_code == 200
    assert_nothing_stored(invited)


@pytest.mark.usefixtures("webhooks")
def test_an_sns_subscription_confirmation_calls_nowhere(invited: Invitation, monkeypatch: Any) -> None:
    def no_network(*args: Any) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:SES_Bounces",
        "SubscribeURL": "http://127.0.0.1:9/?Action=ConfirmSubscription",
        "Timestamp": "2026-11-23T08:59:59.675Z",
    }
    assert sns("SubscriptionConfirmation", confirmation, **basic(SECRET)).status_code == 200
    assert_nothing_stored(invited)


# --- Mailgun: HMAC of the webhook signing key -----------------------------------------------------


def mailgun_event(signing_key: str) -> dict[str, Any]:
    """Mailgun's "failed" (permanent) event sample, signed as Mailgun signs: HMAC-SHA256 of
    timestamp + token under the webhook signing key."""
    timestamp, token = "1795422000", "651869375b9df3c98fc15c4889b102119add1235c38fc92824"
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "recipient": CUSTOMER,
            "timestamp": 1795422000.389832,
            "log-level": "error",
            "message": {"headers": {"to": CUSTOMER, "message-id": "20261123084658.1.0DF563D0B3597700@example.org"}},
            "delivery-status": {
                "tls": True,
                "mx-host": "aspmx.l.example.org",
                "attempt-no": 1,
                "description": "",
                "code": 550,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
            },
        },
    }


@pytest.mark.usefixtures("mailgun")
def test_a_signed_mailgun_permanent_failure_suppresses_the_address(invited: Invitation) -> None:
    assert post_json("/anymail/mailgun/tracking/", mailgun_event(MAILGUN_KEY)).status_code == 200
    assert_suppressed(invited, "bounced", detail="5.1.1 The email account", source="mailgun")


@pytest.mark.usefixtures("mailgun")
def test_a_mailgun_event_signed_with_another_key_stores_nothing(invited: Invitation) -> None:
    assert post_json("/anymail/mailgun/tracking/", mailgun_event("key-someone-else")).status_code == 400
    unsigned = mailgun_event(MAILGUN_KEY)
    del unsigned["signature"]
    assert post_json("/anymail/mailgun/tracking/", unsigned).status_code == 400
    assert_nothing_stored(invited)


@pytest.mark.usefixtures("mailgun")
def test_a_mailgun_temporary_failure_suppresses_nothing(invited: Invitation) -> None:
    temporary = mailgun_event(MAILGUN_KEY)
    temporary["event-data"]["severity"] = "temporary"
    assert post_json("/anymail/mailgun/tracking/", temporary).status_code == 200
    assert_nothing_stored(invited)


# --- SendGrid and Brevo: basic auth -----------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_a_sendgrid_bounce_suppresses_and_a_blocked_one_does_not(invited: Invitation) -> None:
    # SendGrid's event webhook sample: a JSON array of events.
    bounce = {
        "email": CUSTOMER,
        "timestamp": 1795422000,
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "event": "bounce",
        "sg_event_id": "lC0Rc-FuQmKbnxCWxX1jRQ",
        "sg_message_id": "Lli-03HcQ5-JLybO9fXsJg.filter0077p1las1.21536.5717FC482.0",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "status": "5.1.1",
        "tls": 1,
        "type": "bounce",
    }
    with pytest.warns(AnymailNotSupportedWarning):  # anymail no longer supports SendGrid officially
        blocked = post_json("/anymail/sendgrid/tracking/", [bounce | {"type": "blocked"}], **basic(SECRET))
        assert blocked.status_code == 200
        assert not Suppression.objects.exists()
        assert post_json("/anymail/sendgrid/tracking/", [bounce], **basic("anymail:wrong")).status_code == 400
        assert not Suppression.objects.exists()
        assert post_json("/anymail/sendgrid/tracking/", [bounce], **basic(SECRET)).status_code == 200
    assert_suppressed(invited, "bounced", detail="550 5.1.1 The email account", source="sendgrid")


@pytest.mark.usefixtures("webhooks")
def test_a_brevo_hard_bounce_suppresses_and_a_soft_one_does_not(invited: Invitation) -> None:
    # Brevo's transactional webhook sample for a hard bounce.
    hard = {
        "event": "hard_bounce",
        "email": CUSTOMER,
        "id": 26224,
        "date": "2026-11-23 09:00:00",
        "ts": 1795422000,
        "ts_epoch": 1795422000000,
        "message-id": "<201803011158.9876543210@smtp-relay.mailin.fr>",
        "reason": "RecipientError: 550 5.5.0 Requested action not taken: mailbox unavailable.",
        "tag": "invitation",
    }
    assert post_json("/anymail/brevo/tracking/", hard | {"event": "soft_bounce"}, **basic(SECRET)).status_code == 200
    assert post_json("/anymail/brevo/tracking/", hard).status_code == 400
    assert not Suppression.objects.exists()
    assert post_json("/anymail/brevo/tracking/", hard, **basic(SECRET)).status_code == 200
    assert_suppressed(invited, "bounced", detail="550 5.5.0 Requested action not taken", source="brevo")


# --- Postal: RSA signature --------------------------------------------------------------------


@pytest.fixture
def postal_key(settings: Any) -> rsa.RSAPrivateKey:
    """A key pair made for the test; Postal's webhook key setting is the public key's base64."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.ANYMAIL = {"POSTAL_WEBHOOK_KEY": "".join(pem.decode().splitlines()[1:-1])}
    return private


def postal_post(body: dict[str, Any], key: rsa.RSAPrivateKey | None) -> Any:
    """A post as Postal makes it: X-Postal-Signature, the body's RSA-SHA1 signature in base64."""
    raw = json.dumps(body).encode()
    headers: dict[str, Any] = {}
    if key is not None:
        headers["HTTP_X_POSTAL_SIGNATURE"] = base64.b64encode(key.sign(raw, padding.PKCS1v15(), hashes.SHA1())).decode()
    return Client().post("/anymail/postal/tracking/", raw, content_type="application/json", **headers)


POSTAL_BOUNCE: dict[str, Any] = {
    "event": "MessageBounced",
    "timestamp": 1795422000.961181,
    "payload": {
        "original_message": {
            "id": 233843,
            "token": "McC2tuqg7mhx",
            "direction": "outgoing",
            "message_id": "7b82aac4-5d63-41b8-8e35-9faa31a892dc@rp.postal.example.com",
            "to": CUSTOMER,
            "from": "reviews@localhost",
            "subject": "How was your order?",
            "timestamp": 1795421000.8883688,
            "spam_status": "NotChecked",
            "tag": None,
        },
        "bounce": {
            "id": 233864,
            "token": "nII5p0Cp8onV",
            "direction": "incoming",
            "message_id": "E1kiRR8-0001ay-Iq@example.com",
            "to": "bk87jw@psrp.postal.example.com",
            "from": None,
            "subject": "Mail delivery failed: returning message to sender",
            "timestamp": 1795421900.6060522,
            "spam_status": "NotChecked",
            "tag": None,
        },
        "details": "550 5.1.1 mailbox unavailable",
    },
    "uuid": "0fcc831f-92b9-4e2b-97f2-d873abc77fab",
}


def test_a_postal_bounce_signed_with_the_key_suppresses_the_address(
    invited: Invitation, postal_key: rsa.RSAPrivateKey
) -> None:
    assert postal_post(POSTAL_BOUNCE, postal_key).status_code == 200
    assert_suppressed(
        invited, "bounced", detail="550 5.1.1 mailbox unavailable (Postal: MessageBounced)", source="postal"
    )


def test_a_postal_post_signed_with_another_key_or_unsigned_stores_nothing(
    invited: Invitation, postal_key: rsa.RSAPrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert postal_post(POSTAL_BOUNCE, other).status_code == 400
    assert postal_post(POSTAL_BOUNCE, None).status_code == 400
    assert_nothing_stored(invited)


def test_a_postal_hard_fail_suppresses_and_a_soft_fail_does_not(
    invited: Invitation, postal_key: rsa.RSAPrivateKey
) -> None:
    failed: dict[str, Any] = {
        "event": "MessageDeliveryFailed",
        "timestamp": 1795422000.961181,
        "payload": {
            "message": POSTAL_BOUNCE["payload"]["original_message"],
            "status": "SoftFail",
            "details": "Temporary failure",
            "output": "451 4.2.0 try again later",
            "sent_with_ssl": None,
            "timestamp": 1795422000.7010343,
            "time": None,
        },
        "uuid": "5fec5077-dae7-4989-94d5-e1963f3e9181",
    }
    assert postal_post(failed, postal_key).status_code == 200
    assert not Suppression.objects.exists()
    failed["payload"] |= {"status": "HardFail", "details": "Permanent failure", "output": "550 5.1.1 no such user"}
    assert postal_post(failed, postal_key).status_code == 200
    assert_suppressed(invited, "bounced", detail="550 5.1.1 no such user", source="postal")


# --- what the merchant sees ---------------------------------------------------------------------


@pytest.mark.usefixtures("webhooks")
def test_the_merchant_finds_the_bounce_with_its_reason_and_detail(team: Team, alice: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout())
    post_json("/anymail/postmark/tracking/", POSTMARK_HARD_BOUNCE, **basic(SECRET))
    page = team.client(team.bob["viewer"]).get(
        f"/dashboard/{alice.shop.slug}/invitations/suppressions", {"q": CUSTOMER}
    )
    text = page.content.decode()
    assert "is suppressed for every shop on this installation" in text
    assert "Bounced" in text
    assert "550 5.1.1 The email account that you tried to reach does not exist." in text
