"""Secrets: unguessable tokens and the hashes we store instead of API keys."""

import base64
import hashlib
import re
import secrets

# What new_tokens() gives: 32 characters of the URL-safe base64 alphabet.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def new_tokens(count: int) -> list[str]:
    """URL-safe tokens of 192 random bits each (review and unsubscribe links), in one draw."""
    raw = secrets.token_bytes(24 * count)
    return [base64.urlsafe_b64encode(raw[n : n + 24]).decode() for n in range(0, 24 * count, 24)]


def new_token() -> str:
    return new_tokens(1)[0]


def new_api_key() -> str:
    """An API key: a recognisable prefix and 256 random bits."""
    return "rpk_" + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
