"""HMAC-SHA256 request signatures: ``X-Hallq-Timestamp`` + ``X-Hallq-Signature`` over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Hallq-Timestamp"
SIGNATURE_HEADER = "X-Hallq-Signature"
KEY_HEADER = "Idempotency-Key"
MAX_SKEW_S = 300  # the receiver refuses older (replayed) or far-future requests


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float,
           max_skew: float = MAX_SKEW_S) -> bool:
    """Whether ``signature`` signs ``body`` at ``timestamp`` (Unix seconds) within ``max_skew`` of ``now``."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    skew = abs(now - int(timestamp))
    return skew <= max_skew and hmac.compare_digest(sign(secret, timestamp, body), signature)
