"""远程取号 SMS verification: a six-digit code sent through the notices outbox before a remote ticket is taken.

The challenge is stateless and signed (installation key, the same keyed hash as phone numbers):
``<nonce>.<expires_ms>.<mac>`` binds the code to the phone number and the service, so any
worker can check it. The code is derived from the challenge by the same key, never stored.
Limits: ``verify_attempts`` wrong codes per challenge (then it is void), ``verify_daily`` codes
sent per phone number and day (counted from the outbox, so across workers), single use.
Wrong-attempt counts and used challenges live in this process (a challenge lives only
``verify_minutes``); with N workers a challenge gets at most N × ``verify_attempts`` guesses
of a million.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from server.appointments.errors import refused
from server.errors import RateLimited, text_of

Hasher = Callable[[str], str]
KEY_PREFIX = "verify:"  # notices outbox key of a verification SMS: verify:<nonce>


@dataclass(frozen=True, slots=True)
class Challenge:
    """A sent code's signed reference."""

    nonce: str
    expires_ms: int
    mac: str

    def text(self) -> str:
        """``nonce.expires.mac`` as the page keeps it."""
        return f"{self.nonce}.{self.expires_ms}.{self.mac}"

    @property
    def key(self) -> str:
        """The notices outbox key of its SMS."""
        return KEY_PREFIX + self.nonce


def _mac(hasher: Hasher, nonce: str, expires_ms: int, phone_hash: str, service: str) -> str:
    return hasher(f"remote-verify:{nonce}:{expires_ms}:{phone_hash}:{service}")[:32]


def code_of(hasher: Hasher, challenge: Challenge) -> str:
    """The six digits of ``challenge``."""
    digest = hasher(f"remote-verify-code:{challenge.text()}")
    return f"{int(digest[:12], 16) % 1_000_000:06d}"


def new_challenge(hasher: Hasher, phone_hash: str, service: str, now_ms: int, minutes: int) -> Challenge:
    """A fresh challenge for this phone and service, valid ``minutes``."""
    nonce = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y").replace(".", "z")
    expires = now_ms + minutes * 60_000
    return Challenge(nonce, expires, _mac(hasher, nonce, expires, phone_hash, service))


def parse(text: str) -> Challenge | None:
    """The challenge of ``text``, or None when it is not one."""
    parts = text.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[0] or not parts[2]:
        return None
    return Challenge(parts[0], int(parts[1]), parts[2])


class Attempts:
    """Wrong codes per challenge and used challenges (this process)."""

    def __init__(self) -> None:
        self._wrong: dict[str, tuple[int, int]] = {}  # nonce → (wrong count, expires_ms)
        self._used: dict[str, int] = {}  # nonce → expires_ms
        self._lock = threading.Lock()

    def _prune(self, now_ms: int) -> None:
        for table in (self._wrong, self._used):
            for nonce in [n for n, v in table.items() if (v[1] if isinstance(v, tuple) else v) < now_ms]:
                del table[nonce]

    def check(self, hasher: Hasher, text: str, code: str, phone_hash: str, service: str, now_ms: int,
              max_attempts: int) -> Challenge:
        """The challenge when ``code`` is right; 422 ``verify_wrong``/``verify_expired``, 429 ``verify_attempts``."""
        challenge = parse(text)
        if challenge is None or not hmac.compare_digest(
                challenge.mac, _mac(hasher, challenge.nonce, challenge.expires_ms, phone_hash, service)):
            raise refused("verify_expired")  # not ours, or for another phone or service: ask for a new code
        if challenge.expires_ms < now_ms:
            raise refused("verify_expired")
        with self._lock:
            self._prune(now_ms)
            if challenge.nonce in self._used:
                raise refused("verify_expired")
            wrong, _ = self._wrong.get(challenge.nonce, (0, challenge.expires_ms))
            if wrong >= max_attempts:
                zh, en = text_of("verify_attempts")
                raise RateLimited(zh, en, retry_after=max(1, (challenge.expires_ms - now_ms) // 1000),
                                  code="verify_attempts")
            if not hmac.compare_digest(code.strip(), code_of(hasher, challenge)):
                self._wrong[challenge.nonce] = (wrong + 1, challenge.expires_ms)
                raise refused("verify_wrong", attempts_left=max_attempts - wrong - 1)
            self._used[challenge.nonce] = challenge.expires_ms
        return challenge

    def release(self, challenge: Challenge) -> None:
        """The ticket was refused after a right code (hall closed, a limit): the code may be used again."""
        with self._lock:
            self._used.pop(challenge.nonce, None)


def sent_today(conn: Connection, phone_hash: str, since_ms: int) -> int:
    """Verification codes queued for this phone number (the notices' keyed hash) since ``since_ms``."""
    from sqlalchemy import func, select

    from server.store.tables import notice_contacts, notices

    q = (select(func.count()).select_from(notices.join(notice_contacts, notices.c.key == notice_contacts.c.key))
         .where(notices.c.kind == "verify", notice_contacts.c.phone_hash == phone_hash,
                notices.c.created_at >= since_ms))
    return int(conn.execute(q).scalar_one())
