"""Sign-in sessions for pages: an HttpOnly session cookie plus a CSRF token.

The session cookie (``hallq_session``) is random, HttpOnly, SameSite=Lax, Secure when the
request came over https; only its SHA-256 is stored. The CSRF token is stored with the
session and also set as a readable cookie (``hallq_csrf``, SameSite=Strict) so page
scripts can echo it in the ``X-CSRF-Token`` header (forms: field ``csrf_token``) on every
unsafe request authenticated by the cookie. Bearer-token requests need no CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import Connection, insert, select, update

from server.auth.roles import Principal
from server.auth.tables import sessions
from server.auth.tokens import digest

SESSION_COOKIE = "hallq_session"
CSRF_COOKIE = "hallq_csrf"


@dataclass(frozen=True)
class SessionRow:
    """A live session: who, its CSRF token, and the account epoch it was made under."""

    principal: Principal
    csrf: str
    account_id: int | None
    epoch: int | None
    expires_at: int


def create_session(conn: Connection, principal: Principal, *, ip: str, now_ms: int,
                   ttl_seconds: int) -> tuple[str, str]:
    """Store a new session; returns (session token, csrf token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    conn.execute(insert(sessions), {
        "token_hash": digest(token), "csrf": csrf, "principal": principal.to_json(),
        "account_id": principal.account_id, "epoch": principal.epoch if principal.account_id else None,
        "ip": ip[:64], "created_at": now_ms, "expires_at": now_ms + ttl_seconds * 1000,
    })
    return token, csrf


def find_session(conn: Connection, token: str, now_ms: int) -> SessionRow | None:
    """The live (unexpired, unrevoked) session for this cookie value, or None."""
    if not token or len(token) > 256:
        return None
    row = conn.execute(select(sessions).where(sessions.c.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now_ms:
        return None
    principal = Principal.from_json(row.principal, via="session")
    return SessionRow(principal, row.csrf, row.account_id, row.epoch, int(row.expires_at))


def revoke_session(conn: Connection, token: str, now_ms: int) -> bool:
    """End a session (logout); True when one was live."""
    res = conn.execute(update(sessions).where(sessions.c.token_hash == digest(token), sessions.c.revoked_at.is_(None))
                       .values(revoked_at=now_ms))
    return bool(res.rowcount)


def is_https(request: Request) -> bool:
    """True when the client reached us over https (directly or per a trusted proxy's header)."""
    proto = request.headers.get("x-forwarded-proto", "") if _trust_proxy(request) else ""
    return request.url.scheme == "https" or proto.split(",")[0].strip() == "https"


def _trust_proxy(request: Request) -> bool:
    from server.auth.limits import from_trusted_proxy

    return from_trusted_proxy(request)


def set_session_cookies(response: Response, request: Request, token: str, csrf: str, ttl_seconds: int) -> None:
    """Set the HttpOnly session cookie and the script-readable CSRF cookie."""
    secure = is_https(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl_seconds, httponly=True, samesite="lax", secure=secure,
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=ttl_seconds, httponly=False, samesite="strict", secure=secure,
                        path="/")


def clear_session_cookies(response: Response, request: Request) -> None:
    """Remove both cookies."""
    secure = is_https(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="strict", secure=secure)
