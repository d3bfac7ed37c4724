"""Whole public answers (widgets, the loader) kept in Django's cache and served before Django
runs: a cached widget costs one cache read (its shop's generation) and no SQL query.

An answer is stored under its path and query, the code's version and its shop's generation.
Any write that changes what a shop shows calls `changed(slug)` inside its transaction; once
that commits, the shop gets a new generation, so every answer cached before it is passed by
(and ages out of the cache). The generation is read before the answer is rendered, so an
answer rendered from data older than a write is never stored under the newer generation.

Each process also keeps the answers it has stored or read, under the same keys and until the
same expiry: an answer under a key is rendered from the data of that key's generation (a
write changes the key), so that copy is as current as the shared one. The generation itself
is read from the shared cache on every request: a write in any process is seen by all at once.
"""

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponseBase

PREFIX = "/w/"
# An answer is kept at most this long unless its shop changes first.
TIMEOUT = 24 * 3600
# Answers kept in each process's memory, the oldest dropped first: with widgets of up to
# 25 KB, at most about 25 MB a process.
MEMORY_ENTRIES = 1000
# What a 304 repeats of the full answer's headers (RFC 9110 15.4.5).
NOT_MODIFIED_HEADERS = {"etag", "cache-control", "vary", "access-control-allow-origin", "access-control-expose-headers"}


def _code_version() -> str:
    """A digest of the templates, styles, scripts and translations that answers are made of:
    a new release never serves answers rendered by the old one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    # reviews/moderated.py writes the stubs' and labels' sentences.
    for pattern in ("widgets/**/*", "reviews/templates/**/*", "reviews/moderated.py", "locale/**/*.mo"):
        for path in sorted(root.glob(pattern)):
            if path.is_file() and "tests" not in path.parts:
                digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = _code_version()


def _generation_key(slug: str) -> str:
    return f"pagecache:generation:{slug}"


def generation(slug: str) -> str:
    key = _generation_key(slug)
    current = cache.get(key)
    if current is None:
        cache.add(key, secrets.token_hex(8), timeout=None)
        current = cache.get(key)
    return str(current)


def changed(slug: str) -> None:
    """What `slug` shows has changed: its cached answers go once the transaction commits."""
    transaction.on_commit(lambda: cache.set(_generation_key(slug), secrets.token_hex(8), timeout=None))


def cacheable[R: HttpResponseBase](response: R) -> R:
    """Mark a public answer (the same for every visitor) for the cache."""
    response.pagecache = True  # type: ignore[attr-defined]
    return response


def _key(environ: dict[str, Any]) -> str | None:
    path = environ.get("PATH_INFO", "")
    if not path.startswith(PREFIX) or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    parts = path.split("/")
    slug = parts[2] if len(parts) > 3 else ""  # /w/<slug>/...; the loader and styles have none
    where = hashlib.sha256(f"{path}?{environ.get('QUERY_STRING', '')}".encode("utf-8", "surrogateescape"))
    # "2": entries carry their expiry (see _entry).
    return f"pagecache:2:{CODE_VERSION}:{generation(slug)}:{where.hexdigest()[:40]}"


type Entry = tuple[list[tuple[str, str]], bytes, float]  # headers, body, expiry (time.time())
_memory: dict[str, Entry] = {}
_memory_lock = threading.Lock()


def _remember(key: str, entry: Entry) -> None:
    with _memory_lock:
        _memory[key] = entry
        while len(_memory) > MEMORY_ENTRIES:
            del _memory[next(iter(_memory))]


def _entry(key: str) -> Entry | None:
    """The answer stored under `key`: this process's copy, else the shared one (then kept)."""
    entry = _memory.get(key)
    if entry is None:
        entry = cache.get(key)
        if entry is None:
            return None
        _remember(key, entry)
    if entry[2] <= time.time():
        with _memory_lock:
            _memory.pop(key, None)  # the shared one has expired too
        return None
    return entry


def _matches(environ: dict[str, Any], etag: str) -> bool:
    asked = environ.get("HTTP_IF_NONE_MATCH", "")
    return asked.strip() == "*" or etag in {tag.strip().removeprefix("W/") for tag in asked.split(",")}


type App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serve(environ: dict[str, Any], start_response: Callable[..., Any], app: App) -> Iterable[bytes]:
    """The cached answer if there is one (a 304 if the client has it); otherwise `app`'s
    answer, kept when it was marked cacheable."""
    key = _key(environ)
    entry = _entry(key) if key else None
    if entry is not None:
        headers, body, _expiry = entry
        etag = next((value for name, value in headers if name.lower() == "etag"), "")
        if etag and _matches(environ, etag):
            start_response("304 Not Modified", [(n, v) for n, v in headers if n.lower() in NOT_MODIFIED_HEADERS])
            return [b""]
        start_response("200 OK", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
    response: Any = app(environ, start_response)
    if (
        key
        and environ["REQUEST_METHOD"] == "GET"
        and getattr(response, "pagecache", False)
        and response.status_code == 200
        and not response.streaming
    ):
        entry = (list(response.items()), response.content, time.time() + TIMEOUT)
        cache.set(key, entry, timeout=TIMEOUT)
        _remember(key, entry)
    return response
