"""Secrets: unguessable tokens and the hashes we store instead of API keys."""

import hashlib
import secrets


def new_token() -> str:
    """A URL-safe token of 192 random bits (for review and unsubscribe links)."""
    return secrets.token_urlsafe(24)


def new_api_key() -> str:
    """An API key: a recognisable prefix and 256 random bits."""
    return "rpk_" + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
