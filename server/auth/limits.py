"""Abuse limits: sign-in attempts with lockout (stored in the database), ticket-issue rate limits.

Sign-in: after ``max_failures`` failed attempts for one account from one address within
``window_minutes`` (or ``account_max_failures`` from anywhere), further attempts are refused
for ``lockout_minutes`` after the last failure, without even checking the password. Each
failure also slows the next answer (``delay_base`` doubling up to ``delay_max`` seconds).
The attempts live in the ``login_attempts`` table, so a restart does not reset a lockout.

Ticket issue: sliding-window counters in memory (per server process) per kiosk, per
client address, per staff or device account and per person (the keyed hash of the ID card on
the kiosk's reader). ``HALLQ_AUTH_*`` settings tune them (see ``service.AuthSettings``).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Connection, func, insert, select

from server.auth.roles import Principal, RateLimited, Role
from server.auth.tables import login_attempts

MINUTE_MS = 60_000


@dataclass(frozen=True)
class LoginPolicy:
    """Sign-in limits."""

    max_failures: int = 5
    account_max_failures: int = 20
    window_minutes: int = 15
    lockout_minutes: int = 15
    delay_base: float = 0.25
    delay_max: float = 2.0


def _failures(conn: Connection, username: str, ip: str | None, since_ms: int) -> tuple[int, int | None]:
    """Failures after the last success (for this ip, when given) since ``since_ms``: (count, last failure ms)."""
    c = login_attempts.c
    where = [c.username == username, c.at > since_ms]
    if ip is not None:
        where.append(c.ip == ip)
    last_ok = conn.execute(select(func.max(c.at)).where(*where, c.ok == 1)).scalar()
    if last_ok is not None:
        where.append(c.at > last_ok)
    count, last = conn.execute(select(func.count(), func.max(c.at)).where(*where, c.ok == 0)).one()
    return int(count), (int(last) if last is not None else None)


def lock_remaining(conn: Connection, username: str, ip: str, now_ms: int, policy: LoginPolicy) -> int | None:
    """Seconds until this account may try again from this address, or None when not locked."""
    since = now_ms - policy.window_minutes * MINUTE_MS
    for who, limit in ((ip, policy.max_failures), (None, policy.account_max_failures)):
        count, last = _failures(conn, username, who, since)
        if count >= limit and last is not None:
            until = last + policy.lockout_minutes * MINUTE_MS
            if until > now_ms:
                return math.ceil((until - now_ms) / 1000)
    return None


def record_attempt(conn: Connection, username: str, ip: str, ok: bool, now_ms: int) -> None:
    """Keep one sign-in attempt."""
    conn.execute(insert(login_attempts), {"username": username[:64], "ip": ip[:64], "at": now_ms, "ok": int(ok)})


def failure_delay(conn: Connection, username: str, ip: str, now_ms: int, policy: LoginPolicy) -> float:
    """How long to hold the answer to a failed attempt (grows with recent failures)."""
    count, _ = _failures(conn, username, ip, now_ms - policy.window_minutes * MINUTE_MS)
    if count <= 0 or policy.delay_base <= 0:
        return 0.0
    return float(min(policy.delay_max, policy.delay_base * 2 ** (count - 1)))


def locked_error(retry_after: int) -> RateLimited:
    """The refusal of a locked sign-in."""
    minutes = max(1, math.ceil(retry_after / 60))
    return RateLimited(f"登录失败次数过多，请{minutes}分钟后再试", f"Too many failed sign-ins; retry in {minutes} min",
                       retry_after, code="login_locked")


# -- ticket issue ---------------------------------------------------------------------


@dataclass(frozen=True)
class IssuePolicy:
    """Ticket-issue limits: (count, seconds) per kiosk, per staff/device account, per client address, per person."""

    enabled: bool = True
    per_kiosk: tuple[int, float] = (60, 60.0)
    per_account: tuple[int, float] = (120, 60.0)
    per_ip: tuple[int, float] = (300, 60.0)
    per_person: tuple[int, float] = (3, 600.0)


class SlidingWindow:
    """Counts events per key over a sliding period (thread-safe, bounded memory)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def hit(self, key: str, limit: int, period: float, now: float) -> float | None:
        """Count one event; None when allowed, else seconds until the next one would be."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now, period)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - period:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + period - now
            hits.append(now)
            return None

    def _prune(self, now: float, period: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - period]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full: drop the oldest key
            del self._hits[next(iter(self._hits))]


def _person_key(request: Request, kiosk: str | None) -> str | None:
    identity = getattr(request.app.state, "identity", None)
    if identity is None or kiosk is None:
        return None
    session: Any = identity.session(kiosk)
    key = getattr(getattr(session, "identity", None), "key_hash", None)
    return str(key) if key else None


def client_ip(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For when configured)."""
    auth = getattr(request.app.state, "auth", None)
    if getattr(getattr(auth, "settings", None), "trust_proxy", False):
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


async def limit_issue(request: Request) -> None:
    """Dependency for ticket-issue routes: per kiosk, per address and per person rate limits."""
    auth = getattr(request.app.state, "auth", None)
    if auth is None or not hasattr(auth, "issue_window"):  # no auth service (or a test's stand-in)
        return
    policy: IssuePolicy = auth.settings.issue
    if not policy.enabled:
        return
    window: SlidingWindow = auth.issue_window
    now = auth.monotonic()
    principal: Principal | None = getattr(request.state, "principal", None)
    kiosk = request.path_params.get("kiosk_id") or (principal.kiosk if principal else None)
    checks: list[tuple[str, tuple[int, float]]] = [(f"ip:{client_ip(request)}", policy.per_ip)]
    if principal is not None and principal.role is Role.KIOSK:
        checks.append((f"kiosk:{principal.kiosk}", policy.per_kiosk))
    elif principal is not None:
        checks.append((f"account:{principal.subject}", policy.per_account))
    person = _person_key(request, kiosk)
    if person:
        checks.append((f"person:{person}", policy.per_person))
    for key, (limit, period) in checks:
        wait = window.hit(key, limit, period, now)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(f"取号过于频繁，请{seconds}秒后再试", f"Too many tickets; retry in {seconds} s",
                              seconds, limit=key.split(":", 1)[0])
