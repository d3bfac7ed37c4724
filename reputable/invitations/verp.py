"""VERP: each invitation's messages carry their own bounce address as the envelope sender.

With `BOUNCE_ADDRESS = bounces@example.com`, invitation 123 is sent with the envelope sender
(the Return-Path the recipient's server puts on the message and sends a DSN to)
`bounces+123-<mac>@example.com`, where <mac> is 16 hex digits of an HMAC of the invitation's
id under SECRET_KEY. `reputable bounces` reads the DSNs that arrive there and takes the
invitation from the address: without the key nobody can make a tag for another invitation,
so nobody can make Reputable suppress an address it did not send to. Hex, not base64: some
mail servers fold the local part to lower case.
"""

import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "reputable.invitations.verp"
_MAC_LENGTH = 16  # 64 bits: a forger has to guess them, one DSN at a time


def _mac(invitation_id: int) -> str:
    return salted_hmac(_SALT, str(invitation_id), algorithm="sha256").hexdigest()[:_MAC_LENGTH]


def _parts() -> tuple[str, str] | None:
    local, at, domain = settings.BOUNCE_ADDRESS.rpartition("@")
    return (local, domain.lower()) if at and local else None


def return_path(invitation_id: int) -> str:
    """The envelope sender of the invitation's messages; "" when BOUNCE_ADDRESS is not set
    (then it is DEFAULT_FROM_EMAIL, as for every other message)."""
    parts = _parts()
    if parts is None:
        return ""
    local, domain = parts
    return f"{local}+{invitation_id}-{_mac(invitation_id)}@{domain}"


def invitation_id(address: str) -> int | None:
    """The invitation whose tagged bounce address `address` is, or None: not one of ours, or
    its tag is forged."""
    parts = _parts()
    if parts is None:
        return None
    local, domain = parts
    tagged = re.fullmatch(
        rf"{re.escape(local)}\+([0-9]{{1,19}})-([0-9a-f]{{{_MAC_LENGTH}}})@{re.escape(domain)}",
        address.strip().strip("<>").lower(),
        flags=re.IGNORECASE,
    )
    if tagged is None:
        return None
    pk = int(tagged[1])
    return pk if constant_time_compare(tagged[2], _mac(pk)) else None
