"""Mobile numbers: validated, masked for display, hashed with a key for matching.

The full number is kept in one column only (``notice_contacts.phone``) and erased when the
notices no longer need it; everything else (outbox rows, views, logs, events) carries the
masked form ``138****8000`` or the keyed hash. The hash is the appointments' one
(server/appointments/people.py ``hash_phone``: the identity key over ``tel:<number>``), so a
booking's ``phone_hash`` and a contact's match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from server.errors import HallqError
from server.installation import identity_hasher, load_or_create_secret

SEAL_PURPOSE = b"hallq notices seal v1"

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
MOBILE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")  # a number inside an error text


class MobileInvalid(HallqError):
    """Not a mainland mobile number (422 ``invalid_mobile``)."""

    status = 422
    default_code = "invalid_mobile"


def normalise(raw: str) -> str:
    """``+86 138-0013-8000`` → ``13800138000``; MobileInvalid unless a mainland mobile number."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE.match(digits):
        raise MobileInvalid(code="invalid_mobile", field="mobile")
    return digits


def mask(number: str) -> str:
    """``13800138000`` → ``138****8000``."""
    return f"{number[:3]}****{number[-4:]}" if len(number) >= 8 else "****"


def phone_hasher(secret_path: str | Path) -> Callable[[str], str]:
    """The keyed hash of a number (normalised first), as the appointments compute it."""
    hasher = identity_hasher(secret_path)

    def hash_(number: str) -> str:
        return hasher("tel:" + normalise(number))

    return hash_


@dataclass(frozen=True)
class Sealer:
    """Authenticated encryption (AES-256-GCM, the ``cryptography`` package) of a number kept for notices.

    The number is on disk only sealed, so neither a database dump nor a stale page of the
    file or its WAL holds it in the clear; erasing the sealed value ends it. The key is
    derived from the installation secret, so another installation's rows do not open.
    """

    key: bytes  # 32 bytes

    def seal(self, number: str) -> str:
        """nonce ‖ ciphertext+tag, base64 (about 60 characters for a mobile number)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return base64.b64encode(nonce + AESGCM(self.key).encrypt(nonce, number.encode(), SEAL_PURPOSE)).decode()

    def open(self, sealed: str) -> str | None:
        """The number, or None for a value that does not verify (another installation's key, damage)."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = base64.b64decode(sealed, validate=True)
        except ValueError:
            return None
        if len(raw) < 12 + 16:
            return None
        try:
            return AESGCM(self.key).decrypt(raw[:12], raw[12:], SEAL_PURPOSE).decode()
        except (InvalidTag, UnicodeDecodeError):
            return None


def sealer(secret_path: str | Path) -> Sealer:
    """The sealer of this installation (the secret file is created on first use)."""
    return Sealer(hmac.new(load_or_create_secret(secret_path), SEAL_PURPOSE, hashlib.sha256).digest())
