"""AuthService: the database engine, the signing keys and short caches behind every auth check.

Lives at ``app.state.auth``; ``server.auth.bootstrap.install`` creates it when the app starts.
Database work is synchronous (SQLAlchemy Core) and runs in Starlette's thread pool.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
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
from server.auth.limits import IssuePolicy, LoginPolicy, SlidingWindow, client_ip
from server.auth.roles import DEVICE_ROLES, Principal, Role
from server.auth.sessions import SESSION_COOKIE, find_session
from server.auth.tables import audit_log
from server.auth.tokens import TokenSigner, is_device_token

T = TypeVar("T")
_in_loop: ContextVar[bool] = ContextVar("hallq_auth_in_loop", default=False)


class _Miss(Exception):
    """A lookup needs the database (raised only while resolving on the event loop)."""
CACHE_SECONDS = 3.0  # how long another process's revocation may take to bite


def _rate(value: str) -> tuple[int, float]:
    """``"60/60"`` → (60 requests, per 60 seconds)."""
    count, _, seconds = value.partition("/")
    return int(count), float(seconds or 60)


class AuthSettings(BaseSettings):
    """Lifetimes and limits of authentication; environment ``HALLQ_AUTH_*`` (e.g. ``HALLQ_AUTH_KIOSK_RATE=600/60``)."""

    model_config = SettingsConfigDict(env_prefix="HALLQ_AUTH_", extra="ignore", frozen=True)

    token_ttl_seconds: int = Field(default=8 * 3600, ge=60)  # one shift
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    trust_proxy: bool = False  # believe X-Forwarded-For / X-Forwarded-Proto from a reverse proxy
    max_body: int = Field(default=64 * 1024, ge=1024)
    # sign-in
    login_max_failures: int = Field(default=5, ge=1)
    login_account_max_failures: int = Field(default=20, ge=1)
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
                           self.login_lockout_minutes, self.login_delay_base, self.login_delay_max)

    @property
    def issue(self) -> IssuePolicy:
        """The ticket-issue policy."""
        return IssuePolicy(enabled=self.issue_limits, per_kiosk=_rate(self.kiosk_rate),
                           per_account=_rate(self.account_rate), per_ip=_rate(self.ip_rate),
                           per_person=_rate(self.person_rate))


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
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.sleep: Callable[[float], Any] | None = None  # tests replace the sign-in delay

    # -- plumbing --------------------------------------------------------------------
    def now_ms(self) -> int:
        """The service clock in milliseconds."""
        return now_ms(self.clock)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction."""
        with self.engine.begin() as conn:
            yield conn

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def _cached(self, key: str, load: Callable[[], T]) -> T:
        stamp = self.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and stamp - hit[0] < CACHE_SECONDS:
                return hit[1]
        if _in_loop.get():
            raise _Miss  # the caller retries in the thread pool, where waiting for the database is fine
        value = load()
        with self._lock:
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[key] = (stamp, value)
        return value

    def forget(self) -> None:
        """Drop cached lookups (after a revocation or password change in this process)."""
        with self._lock:
            self._cache.clear()

    # -- resolving callers -----------------------------------------------------------
    def _account(self, account_id: int) -> acc.Account | None:
        def load() -> acc.Account | None:
            with self.engine.connect() as conn:
                return acc.get_account(conn, account_id)

        return self._cached(f"a:{account_id}", load)

    def _device_live(self, subject: str) -> bool:
        def load() -> bool:
            with self.engine.connect() as conn:
                return acc.device_principal_live(conn, subject)

        return self._cached(f"p:{subject}", load)

    def _bearer(self, token: str) -> Principal | None:
        if is_device_token(token):
            def load() -> acc.DeviceToken | None:
                with self.engine.connect() as conn:
                    return acc.lookup_device_token(conn, token)

            device = self._cached(f"d:{token}", load)
            return device.as_principal() if device is not None else None
        payload = self.signer.verify(token, self.clock().timestamp())
        if payload is None:
            return None
        account = self._account(int(payload["aid"]))
        if account is None or not account.active or account.epoch != payload.get("ep"):
            return None
        windows = payload.get("w") or []
        return account.principal(windows[0] if windows else None, via="token")

    def _session(self, token: str) -> Principal | None:
        def load() -> Any:
            with self.engine.connect() as conn:
                return find_session(conn, token, self.now_ms())

        row = self._cached(f"s:{token}", load)
        if row is None or row.expires_at <= self.now_ms():
            return None
        principal: Principal = row.principal
        if row.account_id is not None:
            account = self._account(row.account_id)
            if account is None or not account.active or account.epoch != row.epoch:
                return None
            principal = replace(principal, must_change_password=account.must_change_password)
        elif principal.role in DEVICE_ROLES and not self._device_live(principal.subject):
            return None
        return replace(principal, extra={"csrf": row.csrf, "session": token})

    def resolve(self, authorization: str | None, session_cookie: str | None) -> Principal | None:
        """The caller of a request (blocking): bearer token first, then the session cookie."""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return self._bearer(value.strip())
            return None
        if session_cookie:
            return self._session(session_cookie)
        return None

    async def authenticate(self, request: HTTPConnection) -> Principal | None:
        """The caller of ``request``, or None (anonymous or invalid credentials)."""
        authorization = request.headers.get("authorization")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not authorization and not cookie:
            return None
        token = _in_loop.set(True)
        try:  # most requests are answered from the cache without leaving the event loop
            return self.resolve(authorization, cookie)
        except _Miss:
            pass
        finally:
            _in_loop.reset(token)
        return await self.run(self.resolve, authorization, cookie)

    async def citizen(self, request: Request, token: str) -> Principal | None:
        """A ticket holder, from the ticket's status-page token."""
        hall = getattr(request.app.state, "hall", None)
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
