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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection, and_, delete, func, insert, or_, select
from starlette.requests import HTTPConnection

from server.auth.roles import Principal, Role
from server.auth.tables import login_attempts
from server.errors import HallqError, RateLimited
from server.services import services_of

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
    ip_max_failures: int = 50  # failures from one address across all user names (password spraying)
    known_days: int = 30  # an address that signed in to an account within this is not locked out by others


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


def _known_address(conn: Connection, username: str, ip: str, now_ms: int, policy: LoginPolicy) -> bool:
    """True when this address signed in to this account successfully not long ago."""
    c = login_attempts.c
    since = now_ms - policy.known_days * 24 * 60 * MINUTE_MS
    q = select(c.id).where(c.username == username, c.ip == ip, c.ok == 1, c.at > since).limit(1)
    return conn.execute(q).first() is not None


def _address_failures(conn: Connection, ip: str, since_ms: int) -> tuple[int, int | None]:
    c = login_attempts.c
    count, last = conn.execute(select(func.count(), func.max(c.at)).where(c.ip == ip, c.at > since_ms, c.ok == 0)).one()
    return int(count), (int(last) if last is not None else None)


def lock_remaining(conn: Connection, username: str, ip: str, now_ms: int, policy: LoginPolicy) -> int | None:
    """Seconds until this account may try again from this address, or None when not locked.

    Three locks: this account from this address; this address across all user names (spraying);
    this account from anywhere, which does not apply to an address that signed in to the account
    recently (so a stranger's 20 failures cannot lock a clerk out of their own counter).
    """
    since = now_ms - policy.window_minutes * MINUTE_MS
    checks: list[tuple[int, int | None, int]] = []
    checks.append((*_failures(conn, username, ip, since), policy.max_failures))
    checks.append((*_address_failures(conn, ip, since), policy.ip_max_failures))
    account_wide = _failures(conn, username, None, since)
    if account_wide[0] >= policy.account_max_failures and not _known_address(conn, username, ip, now_ms, policy):
        checks.append((*account_wide, policy.account_max_failures))
    for count, last, limit in checks:
        if count >= limit and last is not None:
            until = last + policy.lockout_minutes * MINUTE_MS
            if until > now_ms:
                return math.ceil((until - now_ms) / 1000)
    return None


def prune_attempts(conn: Connection, now_ms: int, policy: LoginPolicy) -> int:
    """Drop attempts no lock can need any more (failures past window + lockout, successes past ``known_days``)."""
    c = login_attempts.c
    failed = now_ms - (policy.window_minutes + policy.lockout_minutes) * MINUTE_MS
    known = now_ms - policy.known_days * 24 * 60 * MINUTE_MS
    res = conn.execute(delete(login_attempts).where(or_(and_(c.ok == 0, c.at < failed), c.at < known)))
    return int(res.rowcount or 0)


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

    def unhit(self, key: str) -> None:
        """Take back the newest event of ``key`` (a refused attempt)."""
        with self._lock:
            hits = self._hits.get(key)
            if hits:
                hits.pop()

    def _prune(self, now: float, period: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - period]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full: drop the oldest key
            del self._hits[next(iter(self._hits))]


async def _person_key(request: Request, kiosk: str | None) -> str | None:
    """The keyed hash of the card lying on ``kiosk``'s reader (None without a card session)."""
    kiosks = services_of(request).kiosks
    if kiosks is None or kiosk is None:
        return None
    session = await kiosks.sessions.session(kiosk)
    request.state.card_session = (kiosk, session)  # the route issues with this same read (card_session_read)
    return str(session.key_hash) if session is not None and session.key_hash else None


def card_session_read(request: Request, kiosk: str, unread: Any) -> Any:
    """The card session of ``kiosk`` that ``limit_issue`` read for this request, else ``unread``."""
    known = getattr(request.state, "card_session", None)
    return known[1] if known is not None and known[0] == kiosk else unread


def trusted_proxies(request: HTTPConnection) -> frozenset[str]:
    """The proxy addresses named by ``HALLQ_AUTH_TRUST_PROXY`` (empty: believe no forwarded header)."""
    auth = services_of(request).auth
    value = getattr(getattr(auth, "settings", None), "trust_proxy", "")
    if not isinstance(value, str):
        return frozenset()
    return frozenset(p.strip() for p in value.split(",") if p.strip())


def from_trusted_proxy(request: HTTPConnection) -> bool:
    """True when the peer of this connection is a configured reverse proxy."""
    proxies = trusted_proxies(request)
    peer = request.client.host if request.client else None
    return peer is not None and (peer in proxies or "*" in proxies)


def client_ip(request: HTTPConnection) -> str:
    """The client's address.

    Under ``hallq serve`` uvicorn has already replaced the peer by the forwarded client when (and
    only when) the peer is a trusted proxy. Run otherwise, the same rule is applied here: the
    last X-Forwarded-For entry that is not itself a trusted proxy.
    """
    peer = request.client.host if request.client else "unknown"
    if not from_trusted_proxy(request):
        return peer[:64]
    proxies = trusted_proxies(request)
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in proxies:
            return hop[:64]
    return peer[:64]


def rate_limited(seconds: int, limit: str) -> RateLimited:
    """The refusal of one issue too many: the wait in whole minutes (a person reads "7 分钟", not "434 秒")."""
    minutes = max(1, math.ceil(seconds / 60))
    if seconds < 60:
        return RateLimited("取号过于频繁，请1分钟后再试", "Too many tickets; retry in 1 min", seconds, limit=limit)
    return RateLimited(f"取号过于频繁，请{minutes}分钟后再试", f"Too many tickets; retry in {minutes} min",
                       seconds, limit=limit, minutes=minutes)


async def _replayed_tap(request: Request, kiosk: str | None) -> bool:
    """A kiosk retrying a tap that already got its ticket (Idempotency-Key, server/kiosk/requests.py)."""
    key = request.headers.get("idempotency-key")
    kiosks = services_of(request).kiosks
    if not key or kiosk is None or kiosks is None or not hasattr(kiosks, "requests"):
        return False
    return await services_of(request).hall.run(kiosks.requests.bound, kiosk, key) is not None


async def limit_issue(request: Request) -> AsyncIterator[None]:
    """Dependency for ticket-issue routes: per kiosk, per address and per person rate limits.

    Only tickets count: an attempt the limits refuse is not counted, an attempt the route
    refuses (any ``HallqError``: already holding a ticket, closed, invalid …) is taken back,
    and a kiosk's retried tap answered with its earlier ticket counts nothing.
    """
    auth = services_of(request).auth
    if auth is None or not hasattr(auth, "issue_window"):  # no auth service (or a test's stand-in)
        yield
        return
    policy: IssuePolicy = auth.settings.issue
    if not policy.enabled:
        yield
        return
    principal: Principal | None = getattr(request.state, "principal", None)
    kiosk = request.path_params.get("kiosk_id") or (principal.kiosk if principal else None)
    if await _replayed_tap(request, kiosk):
        yield
        return
    checks: list[tuple[str, tuple[int, float]]] = [(f"ip:{client_ip(request)}", policy.per_ip)]
    if principal is not None and principal.role is Role.KIOSK:
        checks.append((f"kiosk:{principal.kiosk}", policy.per_kiosk))
    elif principal is not None:
        checks.append((f"account:{principal.subject}", policy.per_account))
    person = await _person_key(request, kiosk)
    if person:
        checks.append((f"person:{person}", policy.per_person))
    # counted in the store, shared by every server process; on the writer, behind the queue's own writes
    hall = services_of(request).hall
    now_ms = int(auth.now_ms()) if hasattr(auth, "now_ms") else None
    over = await hall.write(auth.issue_counters.hit, auth, checks, now_ms)
    if over is not None:
        key, seconds = over
        raise rate_limited(seconds, key.split(":", 1)[0])
    try:
        yield
    except (HallqError, RequestValidationError):
        if now_ms is not None:
            await hall.write(auth.issue_counters.refund, auth, checks, now_ms)
        raise
    if getattr(request.state, "issue_refund", False) and now_ms is not None:
        await hall.write(auth.issue_counters.refund, auth, checks, now_ms)
