"""AuthService: the database engine, the signing keys and short caches behind every auth check.

Lives in ``Services.auth`` (``server/services.py``); ``server.app.lifespan`` builds it when the app starts.
Database work is synchronous (SQLAlchemy Core) and runs in Starlette's thread pool.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, TypeVar

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, insert
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from server.auth import accounts as acc
from server.auth.cache import REFRESH_SECONDS, ShortCache, SingleFlight
from server.auth.limits import IssuePolicy, LoginPolicy, SlidingWindow, client_ip
from server.auth.rates import IssueCounters
from server.auth.roles import DEVICE_ROLES, Principal, Role
from server.auth.sessions import SESSION_COOKIE, find_session
from server.auth.tables import audit_log
from server.auth.tokens import ACCESS_PREFIX, TokenSigner, digest, is_device_token
from server.auth.wsguard import ConnectionSlots
from server.services import services_of
from server.store.engine import READ

T = TypeVar("T")


class _LoopRead:
    """Marks a resolution running on the event loop; notes whether it used entries due for a re-read."""

    aging = False


_on_loop: ContextVar[_LoopRead | None] = ContextVar("hallq_auth_on_loop", default=None)


class _Miss(Exception):
    """A lookup needs the database (raised only while resolving on the event loop)."""


def _rate(value: str) -> tuple[int, float]:
    """``"60/60"`` → (60 requests, per 60 seconds)."""
    count, _, seconds = value.partition("/")
    return int(count), float(seconds or 60)


class AuthSettings(BaseSettings):
    """Lifetimes and limits of authentication; environment ``HALLQ_AUTH_*`` (e.g. ``HALLQ_AUTH_KIOSK_RATE=600/60``)."""

    model_config = SettingsConfigDict(env_prefix="HALLQ_AUTH_", extra="ignore", frozen=True)

    token_ttl_seconds: int = Field(default=8 * 3600, ge=60)  # one shift
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # addresses of reverse proxies whose X-Forwarded-For / -Proto are believed (comma separated; "" = none).
    # hallq serve passes the same list to uvicorn (forwarded_allow_ips), so this one setting decides.
    trust_proxy: str = Field(default="", max_length=1024)
    allowed_origins: str = ""  # further origins (http://host:port, comma separated) for /ws and sign-in forms
    max_body: int = Field(default=64 * 1024, ge=1024)
    docs: bool = True  # /docs, /redoc and /openapi.json (HALLQ_AUTH_DOCS=0: 404 in production)
    # transport (hallq serve → uvicorn, see server/auth/serving.py)
    header_timeout_seconds: float = Field(default=10.0, gt=0)  # a request's headers must arrive within this
    keep_alive_seconds: int = Field(default=5, ge=1)  # idle keep-alive connections are closed after this
    max_connections: int = Field(default=1000, ge=1)  # open connections in all (uvicorn limit_concurrency)
    connections_per_address: int = Field(default=256, ge=1)  # open connections from one client address
    # websocket
    ws_per_address: int = Field(default=64, ge=1)
    ws_max_connections: int = Field(default=2000, ge=1)
    ws_message_rate: str = Field(default="60/10", pattern=r"^\d+/\d+(\.\d+)?$")  # inbound messages per connection
    # sign-in
    login_max_failures: int = Field(default=5, ge=1)
    login_account_max_failures: int = Field(default=20, ge=1)
    login_ip_max_failures: int = Field(default=50, ge=1)  # one address, any user names
    login_concurrency: int = Field(default=4, ge=1)  # password hashes checked at once (argon2: ~19 MiB each)
    first_password_hours: float = Field(default=72.0, gt=0)  # an unused one-time password expires
    login_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_delay_base: float = Field(default=0.25, ge=0)
    login_delay_max: float = Field(default=2.0, ge=0)
    # ticket issue ("count/seconds"); off only for load tests
    issue_limits: bool = True
    kiosk_rate: str = Field(default="60/60", pattern=r"^\d+/\d+(\.\d+)?$")  # one kiosk: a person per second at most
    account_rate: str = Field(default="120/60", pattern=r"^\d+/\d+(\.\d+)?$")  # staff and device hosts
    ip_rate: str = Field(default="300/60", pattern=r"^\d+/\d+(\.\d+)?$")  # backstop per client address
    person_rate: str = Field(default="3/600", pattern=r"^\d+/\d+(\.\d+)?$")  # per ID card

    @property
    def login(self) -> LoginPolicy:
        """The sign-in policy."""
        return LoginPolicy(self.login_max_failures, self.login_account_max_failures, self.login_window_minutes,
                           self.login_lockout_minutes, self.login_delay_base, self.login_delay_max,
                           ip_max_failures=self.login_ip_max_failures)

    @property
    def issue(self) -> IssuePolicy:
        """The ticket-issue policy."""
        return IssuePolicy(enabled=self.issue_limits, per_kiosk=_rate(self.kiosk_rate),
                           per_account=_rate(self.account_rate), per_ip=_rate(self.ip_rate),
                           per_person=_rate(self.person_rate))


MAX_DEVICE_TOKEN = 64  # hqd_ + 43 characters of token_urlsafe(32); demo tokens are shorter
MAX_ACCESS_TOKEN = 2048  # hqa. + a signed payload of a few window numbers
MAX_SESSION_TOKEN = 64  # token_urlsafe(32) is 43 characters


def credential_ok(value: str, *, session: bool) -> bool:
    """True when a credential has a length and shape this server could have issued."""
    if session:
        return 0 < len(value) <= MAX_SESSION_TOKEN
    if is_device_token(value):
        return len(value) <= MAX_DEVICE_TOKEN
    return value.startswith(ACCESS_PREFIX) and len(value) <= MAX_ACCESS_TOKEN


def now_ms(clock: Callable[[], dt.datetime]) -> int:
    """Milliseconds since the epoch of ``clock()``."""
    return int(clock().timestamp() * 1000)


class AuthService:
    """Authentication for one app: resolves callers, signs tokens, writes the audit log."""

    def __init__(self, engine: Engine, secret: bytes, settings: AuthSettings | None = None, *,
                 clock: Callable[[], dt.datetime] | None = None, tz: Any = None,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.engine = engine
        self.settings = settings or AuthSettings()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.monotonic = monotonic or time.monotonic
        self.tz = tz or dt.UTC
        self.signer = TokenSigner(secret)
        self.issue_window = SlidingWindow()
        self.issue_counters = IssueCounters(self.issue_window)
        self.ws_slots = ConnectionSlots(self.settings.ws_per_address, self.settings.ws_max_connections)
        self._hashing: asyncio.Semaphore | None = None
        self._hashing_loop: Any = None
        self._attempts = 0
        self._cache: ShortCache = ShortCache()
        self._misses: SingleFlight = SingleFlight()
        self.sleep: Callable[[float], Any] | None = None  # tests replace the sign-in delay

    def hashing(self) -> asyncio.Semaphore:
        """Bounds concurrent password checks (each argon2 verification takes ~19 MiB for a moment)."""
        loop = asyncio.get_running_loop()
        if self._hashing is None or self._hashing_loop is not loop:
            self._hashing, self._hashing_loop = asyncio.Semaphore(self.settings.login_concurrency), loop
        return self._hashing

    def note_attempt(self) -> bool:
        """Count a recorded sign-in attempt; True every 100th (time to prune old ones)."""
        self._attempts += 1
        return self._attempts % 100 == 1

    # -- plumbing --------------------------------------------------------------------
    def now_ms(self) -> int:
        """The service clock in milliseconds."""
        return now_ms(self.clock)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction.

        On SQLite the store's engine opens every other transaction with BEGIN IMMEDIATE: a
        lookup would take the write lock and stall the queue's writer in the busy handler.
        """
        with self.engine.connect().execution_options(**{READ: True}) as conn:
            yield conn

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def _remembered(self, key: str) -> tuple[float, Any] | None:
        """(stamp, value) of a usable cache entry: one due for a re-read serves only on the event loop."""
        now = self.monotonic()
        hit = self._cache.get(key, now)
        if hit is None or now - hit[0] < REFRESH_SECONDS:
            return hit
        loop_read = _on_loop.get()
        if loop_read is None:  # the (background) re-read in the thread pool
            return None
        loop_read.aging = True
        return hit

    def _cached(self, key: str, load: Callable[[], T], *, keep_misses: bool = True) -> tuple[float, T]:
        """(stamp, value): remembered, else loaded (only off the event loop).

        With ``keep_misses=False`` a None (unknown credential) is not remembered: anyone can
        make those up, so remembering them would let anyone fill the cache.
        """
        hit = self._remembered(key)
        if hit is not None:
            return hit
        if _on_loop.get() is not None:
            raise _Miss  # the caller retries in the thread pool, where waiting for the database is fine
        generation, stamp = self._cache.generation, self.monotonic()
        value = load()
        if value is not None or keep_misses:
            self._cache.put(key, stamp, value, generation)
        return stamp, value

    def forget(self) -> None:
        """Drop cached lookups (after a revocation or password change in this process)."""
        self._cache.clear()

    # -- resolving callers -----------------------------------------------------------
    def _account(self, account_id: int) -> tuple[float, acc.Account | None]:
        def load() -> acc.Account | None:
            with self.read() as conn:
                return acc.get_account(conn, account_id)

        return self._cached(f"a:{account_id}", load)

    def _device_row(self, token_id: int) -> acc.DeviceToken | None:
        def load() -> acc.DeviceToken | None:
            with self.read() as conn:
                return acc.live_device_token(conn, token_id)

        return self._cached(f"dt:{token_id}", load)[1]

    def _device(self, token: str) -> Principal | None:
        def load() -> Principal | None:
            with self.read() as conn:
                device = acc.lookup_device_token(conn, token)
            return device.as_principal() if device is not None else None

        return self._cached(f"d:{digest(token)}", load, keep_misses=False)[1]

    def _access(self, token: str) -> Principal | None:
        # The verified principal is remembered per token (no signature check or account
        # lookup per request) with its account's stamp: revocations bite as fast as before.
        now = self.clock().timestamp()
        key = f"t:{digest(token)}"
        hit = self._remembered(key)
        if hit is not None:
            known: Principal | None = hit[1][0]
            return known if hit[1][1] > now else None
        payload = self.signer.verify(token, now)
        if payload is None:  # forged or expired: nothing is remembered for tokens anyone can make up
            return None
        generation = self._cache.generation
        stamp, account = self._account(int(payload["aid"]))
        principal: Principal | None = None
        if account is not None and account.active and account.epoch == payload.get("ep"):
            windows = payload.get("w") or []
            principal = account.principal(windows[0] if windows else None, via="token")
        self._cache.put(key, stamp, (principal, payload["exp"]), generation)
        return principal

    def _bearer(self, token: str) -> Principal | None:
        return self._device(token) if is_device_token(token) else self._access(token)

    def _session(self, token: str) -> Principal | None:
        def load() -> Any:
            with self.read() as conn:
                return find_session(conn, token, self.now_ms())

        row = self._cached(f"s:{digest(token)}", load, keep_misses=False)[1]
        if row is None or row.expires_at <= self.now_ms():
            return None
        principal: Principal = row.principal
        if row.account_id is not None:
            account = self._account(row.account_id)[1]
            if account is None or not account.active or account.epoch != row.epoch:
                return None
            principal = replace(principal, must_change_password=account.must_change_password)
        elif principal.role in DEVICE_ROLES:
            # live while the very token it was opened with is: a replacement token with the same
            # name does not revive it, and the binding comes from the token row, not the session
            device = self._device_row(principal.token_id) if principal.token_id is not None else None
            if device is None:
                return None
            principal = replace(device.as_principal(), via="session")
        return replace(principal, extra={"csrf": row.csrf, "session": token})

    def resolve(self, authorization: str | None, session_cookie: str | None) -> Principal | None:
        """The caller of a request (blocking): bearer token first, then the session cookie.

        Credentials longer than any this server issues are refused before any cache or
        database access (see ``credential_ok``).
        """
        if authorization:
            scheme, _, value = authorization.partition(" ")
            value = value.strip()
            if scheme.lower() == "bearer" and value and credential_ok(value, session=False):
                return self._bearer(value)
            return None
        if session_cookie and credential_ok(session_cookie, session=True):
            return self._session(session_cookie)
        return None

    async def authenticate(self, request: HTTPConnection) -> Principal | None:
        """The caller of ``request``, or None (anonymous or invalid credentials)."""
        authorization = request.headers.get("authorization")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not authorization and not cookie:
            return None
        if len(authorization or "") > MAX_ACCESS_TOKEN + 16 or len(cookie or "") > MAX_SESSION_TOKEN:
            return None  # nothing this server issued: refused before any lookup (and never remembered)
        key = (authorization, cookie)

        def reread() -> Awaitable[Principal | None]:
            return self.run(self.resolve, authorization, cookie)

        loop_read = _LoopRead()
        token = _on_loop.set(loop_read)
        try:  # most requests are answered from the cache without leaving the event loop
            principal, missed = self.resolve(authorization, cookie), False
        except _Miss:
            principal, missed = None, True
        finally:
            _on_loop.reset(token)  # before any task starts: the thread-pool re-read copies this context
        if missed:  # when an entry expires, every concurrent request with these credentials misses at once
            return await self._misses.run(key, reread)
        if loop_read.aging:  # busy credentials never wait for the database: re-read before expiry
            self._misses.start(key, reread)
        return principal

    async def citizen(self, request: HTTPConnection, token: str) -> Principal | None:
        """A ticket holder, from the ticket's status-page token."""
        hall = services_of(request).hall
        if hall is None or not token or len(token) > 128:
            return None
        from server.errors import HallqError

        try:
            ticket = await hall.get_ticket_by_token(token)
        except HallqError:
            return None
        data = ticket if isinstance(ticket, dict) else ticket.to_dict()
        return Principal(role=Role.CITIZEN, subject=f"ticket:{data['id']}", ticket_id=int(data["id"]), via="ticket",
                         extra={"parent": data.get("parent_id")})

    # -- audit -----------------------------------------------------------------------
    def audit(self, conn: Connection, principal: Principal | None, ip: str, action: str, target: str | None,
              detail: dict[str, Any] | None = None) -> None:
        """Append one audit record (in the caller's transaction)."""
        conn.execute(insert(audit_log), {
            "at": self.now_ms(), "actor": principal.actor if principal else "anonymous",
            "role": principal.role.value if principal else "anonymous", "ip": ip[:64], "action": action[:64],
            "target": (target or "")[:128], "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
        })

    def audit_request(self, request: Request, principal: Principal | None, action: str, target: str | None,
                      detail: dict[str, Any] | None = None) -> None:
        """Append one audit record in its own transaction (blocking)."""
        with self.tx() as conn:
            self.audit(conn, principal, client_ip(request), action, target, detail)
