"""Accounts (django-allauth) as a merchant meets them: signing up with a confirmed address,
logging in and out, resetting a password by email, failed logins throttled, TOTP."""

import re
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client

from reputable.conftest import PASSWORD, SmtpSink, person, run_dispatcher

pytestmark = [pytest.mark.usefixtures("now"), pytest.mark.django_db]


def log_in(client: Client, email: str, password: str) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": password})


def link_in(smtp: SmtpSink, to: str, path: str) -> str:
    """The path of the first link under `path` in the last message to `to`."""
    message = [m for m in smtp.messages if m["To"] == to][-1]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(rf"https?://[^/\s]+({re.escape(path)}\S*)", text)
    assert link, text
    return link.group(1)


def logged_in_as(client: Client) -> str | None:
    """The address the client's session is logged in with, as the dashboard shows it."""
    page = client.get("/dashboard/", follow=True)
    found = re.search(r'<a href="/accounts/email/">([^<]+)</a>', page.content.decode())
    return found.group(1) if found else None


def totp_code(secret: str) -> str:
    """The authenticator app's code for now (time is frozen by the `now` fixture)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_a_newcomer_signs_up_confirms_the_address_by_email_and_lands_on_the_dashboard(
    dispatcher: Any, smtp: SmtpSink
) -> None:
    browser = Client()
    signed_up = browser.post(
        "/accounts/signup/", {"email": "Nina@Example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert signed_up["Location"] == "/accounts/confirm-email/"
    assert smtp.messages == []  # the dispatcher sends it, not the request
    assert logged_in_as(browser) is None

    run_dispatcher(dispatcher)
    [message] = smtp.messages
    assert message["To"] == "nina@example.com" and message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == "Please Confirm Your Email Address"
    confirm = link_in(smtp, "nina@example.com", "/accounts/confirm-email/")
    assert "Confirm" in browser.get(confirm).content.decode()  # opening it shows a button

    confirmed = browser.post(confirm, follow=True)

    assert confirmed.redirect_chain[-1][0] == "/dashboard/"
    assert "Your shops" in confirmed.content.decode()
    assert logged_in_as(browser) == "nina@example.com"


def test_an_unconfirmed_address_cannot_log_in_yet() -> None:
    Client().post("/accounts/signup/", {"email": "nina@example.com", "password1": PASSWORD, "password2": PASSWORD})

    browser = Client()
    answer = log_in(browser, "nina@example.com", PASSWORD)

    assert answer["Location"] == "/accounts/confirm-email/"
    assert logged_in_as(browser) is None


def test_a_member_logs_in_and_out() -> None:
    person("mia@example.com")
    browser = Client()

    assert log_in(browser, "MIA@example.com", PASSWORD)["Location"] == "/dashboard/"
    assert logged_in_as(browser) == "mia@example.com"
    assert "Are you sure you want to sign out?" in browser.get("/accounts/logout/").content.decode()
    browser.post("/accounts/logout/")
    assert logged_in_as(browser) is None
    assert browser.get("/dashboard/")["Location"] == "/accounts/login/?next=/dashboard/"


def test_a_forgotten_password_is_reset_through_an_emailed_link(dispatcher: Any, smtp: SmtpSink) -> None:
    person("mia@example.com")
    browser = Client()
    asked = browser.post("/accounts/password/reset/", {"email": "mia@example.com"})
    assert asked["Location"] == "/accounts/password/reset/done/"
    assert smtp.messages == []

    run_dispatcher(dispatcher)
    [message] = smtp.messages
    assert message["Subject"] == "Password Reset Email"
    link = link_in(smtp, "mia@example.com", "/accounts/password/reset/key/")
    form_page = browser.get(link, follow=True)
    assert "Change Password" in form_page.content.decode()
    new_password = "a whole new password"
    changed = browser.post(form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    assert changed["Location"] == "/accounts/password/reset/key/done/"

    assert "are not correct" in log_in(Client(), "mia@example.com", PASSWORD).content.decode()
    assert log_in(Client(), "mia@example.com", new_password)["Location"] == "/dashboard/"
    assert browser.get(link, follow=True).content.decode().count("Bad Token") == 1  # used up


def test_the_sixth_failed_login_for_one_address_is_refused_even_with_the_right_password() -> None:
    person("mia@example.com")
    person("ola@example.com")
    browser = Client()
    for _attempt in range(5):
        wrong = log_in(browser, "mia@example.com", "not the password")
        assert "The email address and/or password you specified are not correct." in wrong.content.decode()

    refused = log_in(browser, "mia@example.com", PASSWORD)

    assert refused.status_code == 200
    assert "Too many failed login attempts. Try again later." in refused.content.decode()
    assert logged_in_as(browser) is None
    # The limit is the address's: another account logs in from the same place.
    assert log_in(browser, "ola@example.com", PASSWORD)["Location"] == "/dashboard/"


def test_two_factor_authentication_with_an_app_asks_for_its_code_at_each_login(now: Any) -> None:
    mia = person("mia@example.com")
    browser = Client()
    log_in(browser, "mia@example.com", PASSWORD)
    assert "An authenticator app is not active." in browser.get("/accounts/2fa/").content.decode()

    # Turning it on asks for the password again first.
    activate = "/accounts/2fa/totp/activate/"
    asked = browser.get(activate)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert browser.post(asked["Location"], {"password": PASSWORD})["Location"] == activate
    page = browser.get(activate).content.decode()
    assert "Activate Authenticator App" in page and 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'id="authenticator_secret" value="([A-Z2-7]+)"', page)
    assert secret, page
    code = totp_code(secret[1])
    assert "Incorrect code." in browser.post(activate, {"code": f"{(int(code) + 1) % 10**6:06d}"}).content.decode()
    activated = browser.post(activate, {"code": code})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=mia, type=Authenticator.Type.TOTP).exists()

    now.shift(30)  # the next code: each one works once
    again = Client()
    asked_for_code = log_in(again, "mia@example.com", PASSWORD)
    assert asked_for_code["Location"] == "/accounts/2fa/authenticate/"
    assert logged_in_as(again) is None
    wrong = again.post("/accounts/2fa/authenticate/", {"code": "12345"})
    assert "Incorrect code." in wrong.content.decode()
    assert again.post("/accounts/2fa/authenticate/", {"code": totp_code(secret[1])})["Location"] == "/dashboard/"
    assert logged_in_as(again) == "mia@example.com"
