"""Failed attempts per client address: wrong API keys, unknown link tokens, failed logins.

Counted in Django's cache (one count for all processes when the cache is shared: the default
file cache on one machine; a database, Redis or Memcached cache across machines), per kind of
attempt and address, in fixed windows of FAILED_ATTEMPTS_WINDOW seconds. Past
FAILED_ATTEMPTS_LIMIT failures the address gets 429 with Retry-After until its window ends.
Only a failure counts, and only a failure reads the count: a valid key or link never touches
the cache, so it is not slowed (the keys and tokens are too long to guess anyway; this keeps
scanners and scripts gone wrong from hammering the database).

`used()` counts every use instead, for a form anyone may send (the notice form): per kind,
per who, with its own limit and window.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: the last one a trusted proxy added to X-Forwarded-For, or the peer's."""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))


@dataclass(frozen=True)
class Window:
    key: str
    retry_after: int  # seconds until the window ends


def _window(kind: str, request: HttpRequest) -> Window:
    return _fixed_window(f"failures:{kind}:{client_address(request)}", settings.FAILED_ATTEMPTS_WINDOW)


def _fixed_window(name: str, length: int) -> Window:
    now = int(time.time())
    start = now - now % length
    return Window(f"{name}:{start}", start + length - now)


def _count(window: Window, length: int) -> int:
    cache.add(window.key, 0, timeout=length + 1)
    try:
        return cache.incr(window.key)
    except ValueError:  # expired between add() and incr()
        cache.set(window.key, 1, timeout=length + 1)
        return 1


def failed(kind: str, request: HttpRequest) -> int | None:
    """Count a failed attempt of `kind` from the request's address.

    Returns None while the address is within the limit, else the seconds until it may try again.
    """
    window = _window(kind, request)
    count = _count(window, settings.FAILED_ATTEMPTS_WINDOW)
    return window.retry_after if count > settings.FAILED_ATTEMPTS_LIMIT else None


def blocked(kind: str, request: HttpRequest) -> int | None:
    """Whether the address is past the limit for `kind`: the seconds until it may try again, or None."""
    window = _window(kind, request)
    count = cache.get(window.key, 0)
    return window.retry_after if count >= settings.FAILED_ATTEMPTS_LIMIT else None


def used(kind: str, who: str, *, limit: int, seconds: int) -> int | None:
    """Count one use of something every use of which counts (a notice sent), by `who` (an
    address, a hashed email): None while within `limit` uses per window of `seconds`, else the
    seconds until the window ends."""
    window = _fixed_window(f"uses:{kind}:{who}", seconds)
    return window.retry_after if _count(window, seconds) > limit else None
