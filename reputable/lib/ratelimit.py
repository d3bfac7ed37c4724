"""Failed attempts per client address: wrong API keys, unknown link tokens, failed logins.

Counted in Django's cache (one count for all processes when the cache is shared: the default
file cache on one machine; a database, Redis or Memcached cache across machines), per kind of
attempt and address, in fixed windows of FAILED_ATTEMPTS_WINDOW seconds. Past
FAILED_ATTEMPTS_LIMIT failures the address gets 429 with Retry-After until its window ends.
Only a failure counts, and only a failure reads the count: a valid key or link never touches
the cache, so it is not slowed (the keys and tokens are too long to guess anyway; this keeps
scanners and scripts gone wrong from hammering the database).
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
    length = settings.FAILED_ATTEMPTS_WINDOW
    now = int(time.time())
    start = now - now % length
    return Window(f"failures:{kind}:{client_address(request)}:{start}", start + length - now)


def failed(kind: str, request: HttpRequest) -> int | None:
    """Count a failed attempt of `kind` from the request's address.

    Returns None while the address is within the limit, else the seconds until it may try again.
    """
    window = _window(kind, request)
    cache.add(window.key, 0, timeout=settings.FAILED_ATTEMPTS_WINDOW + 1)
    try:
        count = cache.incr(window.key)
    except ValueError:  # expired between add() and incr()
        cache.set(window.key, count := 1, timeout=settings.FAILED_ATTEMPTS_WINDOW + 1)
    return window.retry_after if count > settings.FAILED_ATTEMPTS_LIMIT else None


def blocked(kind: str, request: HttpRequest) -> int | None:
    """Whether the address is past the limit for `kind`: the seconds until it may try again, or None."""
    window = _window(kind, request)
    count = cache.get(window.key, 0)
    return window.retry_after if count >= settings.FAILED_ATTEMPTS_LIMIT else None
