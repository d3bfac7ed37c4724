"""The invitation and reminder emails: wording, languages, headers."""

from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from reputable.invitations.models import Invitation, MessageKind, MessageTemplate
from reputable.lib.emails import as_html, fill_placeholders


def default_wording(kind: str, *, has_first_name: bool) -> tuple[str, str]:
    """The neutral default subject and body, in the active language, with placeholders."""
    greeting = _("Hello {first_name},") if has_first_name else _("Hello,")
    if kind == MessageKind.INVITATION:
        subject = _("How was your order at {shop_name}?")
        body = _(
            "thank you for your order {order_reference} at {shop_name}. How was your experience"
            " with the shop and the products you bought? Your review helps other shoppers,"
            " whatever it says.\n\nWrite your review: {review_url}"
        )
    else:
        subject = _("Reminder: your review of {shop_name}")
        body = _(
            "a little while ago we asked about your order {order_reference} at {shop_name}."
            " If you have a moment, your review helps other shoppers, whatever it says.\n\n"
            "Write your review: {review_url}"
        )
    return subject, f"{greeting}\n\n{body}"


def objection_notice() -> str:
    """The notice every message carries, whatever the merchant wrote (placeholders inside)."""
    return _(
        "You receive this email because you ordered at {shop_name}, which invites its customers"
        " to review their orders. You may object to further review requests at any time, free of"
        " charge: {unsubscribe_url}"
    )


def invitation_language(invitation: Invitation) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (invitation.locale, invitation.shop.default_locale):
        code = (candidate or "").split("-")[0].split("_")[0].lower()
        if code in supported:
            return code
    return settings.LANGUAGE_CODE


def message_id(invitation: Invitation) -> str:
    """Stable per invitation and step, so that a re-send after a crash is recognisable."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "reputable.invalid"
    return f"<invitation-{invitation.pk}-step-{invitation.sent_count}@{domain}>"


def build_message(invitation: Invitation) -> EmailMultiAlternatives:
    """The email for the invitation's next step (`sent_count`): invitation or reminder."""
    shop = invitation.shop
    transaction = invitation.transaction
    kind = invitation.step_kind
    language = invitation_language(invitation)
    review_url = settings.BASE_URL + reverse("review-form", args=[invitation.token])
    unsubscribe_url = settings.BASE_URL + reverse("unsubscribe", args=[invitation.token])
    values = {
        "first_name": transaction.first_name,
        "shop_name": shop.name,
        "order_reference": transaction.reference,
        "review_url": review_url,
        "unsubscribe_url": unsubscribe_url,
    }
    with translation.override(language):
        override = MessageTemplate.objects.filter(shop=shop, kind=kind, locale=language).first()
        if override is not None:
            subject, body = override.subject, override.body
        else:
            subject, body = default_wording(kind, has_first_name=bool(transaction.first_name))
        subject = " ".join(fill_placeholders(subject, values).split())
        body = fill_placeholders(body, values).strip()
        notice = fill_placeholders(objection_notice(), values)
        text = f"{body}\n\n-- \n{notice}\n"
        html = render_to_string(
            "invitations/email.html",
            {
                "language": language,
                "subject": subject,
                "body_html": as_html(body),
                "review_url": review_url,
                "notice_html": as_html(notice),
                "review_label": _("Write your review"),
            },
        )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=formataddr((shop.display_sender, settings.DEFAULT_FROM_EMAIL)),
        to=[invitation.email],
        reply_to=[shop.reply_to] if shop.reply_to else [],
        headers={
            "Message-ID": message_id(invitation),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    return message
