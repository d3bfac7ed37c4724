"""Accounts: django-allauth does sign-up, verification, passwords, throttling and TOTP; this
module sends its mail through the outbox and makes the one-time login links of the CLI.

A login link is a password-reset token of Django's (`default_token_generator`): it is signed
with the secret key and the user's password hash and last login, so it stops working at the
first login (or password change) and after PASSWORD_RESET_TIMEOUT seconds. Nothing is stored.
Opening it shows a button; only its POST logs in, so that a mail scanner that follows links
does not spend it.
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction as db_transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from reputable.dispatch.outbox import send_email
from reputable.lib import ratelimit
from reputable.lib.http import too_many_attempts_page
from reputable.shops.models import TeamInvitation

# The team invitation a visitor opened before logging in or signing up (see
# reputable.dashboard.views.team.join): sign-up stays open to them where it is closed to others.
INVITATION_SESSION_KEY = "team_invitation"


def invited_to_a_team(request: HttpRequest) -> bool:
    """Whether this visitor opened the link of a team invitation that is still open."""
    pk = request.session.get(INVITATION_SESSION_KEY)
    invitation = TeamInvitation.objects.filter(pk=pk).first() if pk else None
    return invitation is not None and invitation.is_open()


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ALLOW_SIGNUP) or invited_to_a_team(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Rendered now, in the visitor's language; sent by the dispatcher (never in a request)."""
        message = self.render_mail(template_prefix, email, context)
        with db_transaction.atomic():
            send_email(
                "account",
                to=email,
                context={"subject": message.subject, "body": message.body},
                language=get_language() or settings.LANGUAGE_CODE,
            )


def user_for_email(email: str) -> tuple[User, bool]:
    """The account of `email` (created, without a password, if there is none) and whether it is new.

    The address counts as verified: whoever runs the command vouches for it.
    """
    email = email.strip().lower()
    with db_transaction.atomic():
        address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
        if address is not None:
            user, created = address.user, False
        else:
            user = User.objects.filter(email__iexact=email).first() or User(username=email[:150], email=email)
            created = user.pk is None
            if created:
                user.set_unusable_password()
                user.save()
            address = EmailAddress(user=user, email=email)
        address.verified = True
        address.primary = not EmailAddress.objects.filter(user=user, primary=True).exclude(pk=address.pk).exists()
        address.save()
    return user, created


def login_url(user: User) -> str:
    """An absolute one-time login link for `user` (see the module's docstring)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.BASE_URL + reverse("login-link", args=[uid, token])


def _user_of_link(uid: str, token: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@require_http_methods(["GET", "POST"])
def login_link(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    user = _user_of_link(uid, token)
    if user is None:
        if retry_after := ratelimit.failed("link-token", request):
            return too_many_attempts_page(request, retry_after)
        return render(request, "dashboard/login_link.html", {"spent": True}, status=404)
    if request.method == "GET":
        return render(request, "dashboard/login_link.html", {"email": user.email})
    if user.has_usable_password():
        return perform_login(request, user, redirect_url=reverse("dashboard"))
    # An account that `createshop --owner` made has no password yet: the link leads to choosing one.
    response = perform_login(request, user, redirect_url=reverse("account_set_password"))
    messages.info(request, _("Welcome. Choose a password now, so that you can log in again later."))
    return response
