"""Bearer tokens: signed, expiring access tokens for accounts, and opaque device tokens.

Access tokens are ``itsdangerous`` signatures (HMAC-SHA256 with a key derived from the
per-installation secret) over ``{sub, aid, ep, w, exp}``; they die at ``exp`` or when the
account's ``epoch`` changes (password change, deactivation). Device tokens are random
(``hqd_…``) and only their SHA-256 is stored; they live until revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

TOKEN_PURPOSE = b"hallq auth tokens v1"
SESSION_PURPOSE = b"hallq auth sessions v1"
DEVICE_PREFIX = "hqd_"
ACCESS_PREFIX = "hqa."


def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """A key for one purpose, derived from the installation secret."""
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def digest(token: str) -> str:
    """SHA-256 hex of a high-entropy token (what the database keeps)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_token() -> str:
    """A fresh device token (shown once to the administrator)."""
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def is_device_token(token: str) -> bool:
    """True for the opaque device-token form."""
    return token.startswith(DEVICE_PREFIX)


class TokenSigner:
    """Issues and checks access tokens; ``now`` is seconds since the epoch (the caller's clock)."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeSerializer(derive_key(secret, TOKEN_PURPOSE).hex(), salt="access",
                                             signer_kwargs={"digest_method": hashlib.sha256})

    def issue(self, *, username: str, account_id: int, epoch: int, windows: list[int], now: float,
              ttl_seconds: int) -> str:
        """A signed token valid for ``ttl_seconds``."""
        payload = {"sub": username, "aid": account_id, "ep": epoch, "w": windows, "exp": int(now) + ttl_seconds}
        return ACCESS_PREFIX + str(self._serializer.dumps(payload))

    def verify(self, token: str, now: float) -> dict[str, Any] | None:
        """The payload of a valid, unexpired token, else None."""
        if not token.startswith(ACCESS_PREFIX) or len(token) > 2048:
            return None
        try:
            payload = self._serializer.loads(token[len(ACCESS_PREFIX):])
        except (BadSignature, ValueError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
            return None
        if payload["exp"] <= now:
            return None
        return payload
