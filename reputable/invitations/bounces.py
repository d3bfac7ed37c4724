"""Hard bounces and complaints reported by email providers: django-anymail's tracking webhooks.

Each provider posts its events to `/anymail/<provider>/tracking/` (see `urlpatterns`);
anymail's view verifies the post as it verifies it for that provider and turns it into
normalised events, and `on_tracking` suppresses the address for every shop on this
installation (`suppress_address`, the one write path) on

- a hard bounce (anymail's "bounced"; soft bounces, "deferred", suppress nothing: some
  providers report soft bounces as "bounced" too, and their own payload says which, see
  `_permanent`),
- a complaint ("complained"),
- a refusal by the provider because the address is invalid or bounced before ("rejected").

Verification, as anymail does it: Amazon SES, Postmark, Brevo and SendGrid by HTTP basic auth
(ANYMAIL WEBHOOK_SECRET "user:password" in the webhook URL; SendGrid alternatively by its
signed event webhook), Mailgun by the HMAC of its webhook signing key, Postal by the RSA
signature of its webhook key. A wrong or missing credential answers 400 and stores nothing.
Unlike anymail, which only warns, a webhook whose one protection is basic auth refuses every
post while WEBHOOK_SECRET is unset: anyone could otherwise stop the invitations of any address.

The receiver is the anymail integration's parser, as a view is for a form: it reads the event
and calls the one action.
"""

import logging
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailBaseWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postal import PostalTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.dispatch import receiver
from django.urls import URLPattern, path

from reputable.invitations.actions import suppress_address
from reputable.invitations.models import Suppression
from reputable.lib.emails import AddressError

logger = logging.getLogger(__name__)
Reason = Suppression.Reason


def _raw(event: AnymailTrackingEvent) -> dict[str, Any]:
    """The provider's own payload of the event (a dict for every provider mounted here)."""
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def _permanent(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Whether a "bounced" event is a hard bounce. Mailgun (its temporary failures are
    "deferred") and Postal (a bounce message received) need no second look."""
    raw = _raw(event)
    match esp_name:
        case "Amazon SES":  # bounceType Transient or Undetermined: soft
            return raw.get("bounce", {}).get("bounceType") == "Permanent"
        case "Postmark":  # SoftBounce, VirusNotification... say nothing of the address
            return raw.get("Type", raw.get("SuppressionReason")) == "HardBounce"
        case "Brevo":
            return raw.get("event") != "soft_bounce"
        case "SendGrid":  # a "blocked" bounce is the receiving server refusing the sender
            return raw.get("type") != "blocked"
    return True


def reason_for(event: AnymailTrackingEvent, esp_name: str) -> str | None:
    """The suppression an event calls for, or None."""
    if event.event_type == EventType.COMPLAINED:
        return Reason.COMPLAINED
    if event.event_type == EventType.BOUNCED:
        return Reason.BOUNCED if _permanent(event, esp_name) else None
    if event.event_type == EventType.REJECTED and event.reject_reason in (RejectReason.INVALID, RejectReason.BOUNCED):
        return Reason.BOUNCED
    # Postal reports a permanent refusal by the recipient's server at delivery as HardFail.
    hard_fail = _raw(event).get("payload", {}).get("status") == "HardFail"
    if esp_name == "Postal" and event.event_type == EventType.FAILED and hard_fail:
        return Reason.BOUNCED
    return None


def detail_of(event: AnymailTrackingEvent, esp_name: str) -> str:
    """What the provider said, for the merchant: "550 5.1.1 user unknown (Postmark: HardBounce)"."""
    said = [text for text in dict.fromkeys([event.mta_response, event.description]) if text]
    raw = _raw(event)
    kind = raw.get("Type") or raw.get("event") or event.event_type  # the provider's own word where it has one
    return f"{' — '.join(map(str, said))} ({esp_name}: {kind})".strip()


@receiver(tracking, dispatch_uid="reputable-bounces")
def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    reason = reason_for(event, esp_name)
    if reason is None or not event.recipient:
        return
    try:
        suppress_address(
            email=event.recipient,
            reason=reason,
            shop=None,  # a hard bounce or a complaint binds every shop (see Suppression.shop)
            detail=detail_of(event, esp_name),
            source=esp_name.lower().replace(" ", "_"),
        )
    except AddressError:
        # Nothing was ever sent there; answering an error would only make the provider retry.
        logger.warning("%s reported %s for an address no message can carry: %r", esp_name, reason, event.recipient)


# --- the webhooks -------------------------------------------------------------------------------


class _Verified:
    """Refuses what anymail takes with a warning: a post to a webhook whose one protection is
    basic auth, while WEBHOOK_SECRET is unset. (Anymail calls every validate_request of the
    class chain.)"""

    warn_if_no_basic_auth: bool
    basic_auth: list[str]

    def validate_request(self, request: Any) -> None:
        if self.warn_if_no_basic_auth and not self.basic_auth:
            raise AnymailWebhookValidationFailure("set ANYMAIL_WEBHOOK_SECRET to receive this provider's webhook")


class AmazonSESTracking(AmazonSESTrackingWebhookView):
    """Anymail's Amazon SES view without boto3, which it needs only to confirm the SNS
    subscription itself (an outbound call in a request): the operator confirms it with the
    URL logged here."""

    def __init__(self, **kwargs: Any) -> None:
        AnymailBaseWebhookView.__init__(self, **kwargs)  # skips the boto3 parameters
        self.auto_confirm_enabled = False

    def auto_confirm_sns_subscription(self, sns_message: dict[str, Any]) -> None:
        # Basic auth was verified by now: the request was meant for us.
        logger.warning(
            "Amazon SNS asks to confirm the subscription to topic %s: open %s",
            sns_message.get("TopicArn"),
            sns_message.get("SubscribeURL"),
        )


def _webhook(provider: str, view: type[AnymailBaseWebhookView]) -> URLPattern:
    verified: type[AnymailBaseWebhookView] = type(view.__name__, (_Verified, view), {})
    return path(f"{provider}/tracking/", verified.as_view(), name=f"{provider}_tracking_webhook")


# Mounted under /anymail/ (reputable/urls.py) with anymail's names. Other providers anymail
# supports can join once it is known how they report soft bounces (see _permanent).
urlpatterns = [
    _webhook("amazon_ses", AmazonSESTracking),
    _webhook("brevo", BrevoTrackingWebhookView),
    _webhook("mailgun", MailgunTrackingWebhookView),
    _webhook("postal", PostalTrackingWebhookView),
    _webhook("postmark", PostmarkTrackingWebhookView),
    _webhook("sendgrid", SendGridTrackingWebhookView),
]
