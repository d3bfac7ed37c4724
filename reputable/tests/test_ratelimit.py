"""Failed attempts are limited per client address: wrong API keys, unknown links, failed logins."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reputable.conftest import ShopAccess, checkout
from reputable.invitations.models import Invitation
from reputable.lib import ratelimit

pytestmark = pytest.mark.usefixtures("now")

LIMIT = 20  # FAILED_ATTEMPTS_LIMIT's default


def from_address(address: str, **headers: str) -> Client:
    return Client(REMOTE_ADDR=address, headers=headers)


def test_wrong_api_keys_get_429_past_the_limit_and_a_valid_key_still_works(alice: ShopAccess, now: Any) -> None:
    guesser = from_address("203.0.113.7", Authorization="Bearer rpk_guess")

    answers = [guesser.get("/api/v1/shop") for _ in range(LIMIT + 5)]

    assert [a.status_code for a in answers] == [401] * LIMIT + [429] * 5
    assert answers[-1].json()["code"] == "too_many_attempts"
    assert 0 < int(answers[-1]["Retry-After"]) <= 300
    assert from_address("203.0.113.7", Authorization=f"Bearer {alice.key}").get("/api/v1/shop").status_code == 200
    assert from_address("198.51.100.2", Authorization="Bearer rpk_guess").get("/api/v1/shop").status_code == 401
    now.shift(dt.timedelta(seconds=int(answers[-1]["Retry-After"])))
    assert guesser.get("/api/v1/shop").status_code == 401


def test_unknown_review_and_unsubscribe_links_get_429_past_the_limit(alice: ShopAccess) -> None:
    alice.post("/api/v1/events", checkout())
    scanner = from_address("203.0.113.8")
    paths = ["/r/" + "x" * 32, "/u/" + "y" * 32, "/r/short", "/u/a-b_c"]

    answers = [scanner.get(paths[n % len(paths)]) for n in range(LIMIT + 3)]

    assert [a.status_code for a in answers[:LIMIT]].count(404) == LIMIT
    assert [a.status_code for a in answers[LIMIT:]] == [429] * 3
    assert "Retry-After" in answers[-1]
    assert "Zu viele Versuche" in scanner.get(paths[0], headers={"Accept-Language": "de"}).content.decode()
    token = Invitation.objects.get().token
    assert scanner.get(f"/r/{token}").status_code == 200  # the customer's own link is not slowed


def test_failed_admin_logins_get_429_past_the_limit_even_with_the_right_password(
    db: None, now: Any, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for the test only
    User.objects.create_superuser("staff", "staff@example.com", "the right password")
    client = from_address("203.0.113.9")

    def log_in(password: str) -> Any:
        return client.post("/admin/login/", {"username": "staff", "password": password, "next": "/admin/"})

    wrong = [log_in("guess") for _ in range(LIMIT)]
    blocked = log_in("the right password")

    assert {a.status_code for a in wrong} == {200}  # the form again, with its error
    assert blocked.status_code == 429
    now.shift(dt.timedelta(seconds=int(blocked["Retry-After"])))
    assert log_in("the right password").status_code == 302


def test_a_valid_key_or_link_never_touches_the_cache(alice: ShopAccess, monkeypatch: pytest.MonkeyPatch) -> None:
    alice.post("/api/v1/events", checkout())
    token = Invitation.objects.get().token

    class NoCache:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the cache was asked ({name})")

    monkeypatch.setattr(ratelimit, "cache", NoCache())

    assert alice.api.get("/api/v1/shop").status_code == 200
    assert alice.post("/api/v1/events", checkout("1002")).status_code == 202
    assert Client().get(f"/r/{token}").status_code == 200


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(alice: ShopAccess, settings: Any) -> None:
    def spoofer(n: int) -> Client:
        return from_address("192.0.2.1", Authorization="Bearer rpk_guess", **{"X-Forwarded-For": f"10.0.0.{n}"})

    untrusted = [spoofer(n).get("/api/v1/shop").status_code for n in range(LIMIT + 1)]
    settings.TRUST_PROXY_HEADERS = True
    trusted = [spoofer(n).get("/api/v1/shop").status_code for n in range(LIMIT + 1)]

    assert untrusted[-1] == 429  # one address, whatever it claims
    assert set(trusted) == {401}  # behind the proxy: as many clients as it says
