"""Credentials for tests: the demo accounts and device tokens, and tokens/sessions made on the spot."""

from __future__ import annotations

import secrets
from typing import Any

from server.auth import accounts as acc
from server.auth.bootstrap import memory_engine
from server.auth.roles import Role
from server.auth.service import AuthService
from server.auth.sessions import create_session


def memory_auth() -> AuthService:
    """An AuthService on an in-memory database (for tests of auth itself, without an app)."""
    return AuthService(memory_engine(), secrets.token_bytes(32))


def _account(auth: AuthService, username: str, role: Role, window: int | None) -> acc.Account:
    with auth.tx() as conn:
        account = acc.get_by_username(conn, username)
        if account is None:
            account = acc.create_account(conn, username=username, name=username, role=role,
                                         password=secrets.token_urlsafe(12), window=window,
                                         must_change_password=False, now_ms=auth.now_ms())
        return account


def account_token(auth: AuthService, username: str, role: Role = Role.SUPERVISOR, window: int | None = None) -> str:
    """A bearer token for an account (created when missing)."""
    account = _account(auth, username, role, window)
    return auth.signer.issue(username=account.username, account_id=account.id, epoch=account.epoch,
                             windows=[window] if window is not None else [], now=auth.clock().timestamp(),
                             ttl_seconds=auth.settings.token_ttl_seconds)


def account_session(auth: AuthService, username: str, role: Role = Role.SUPERVISOR,
                    window: int | None = None) -> dict[str, Any]:
    """Session cookies ``{"hallq_session": …, "hallq_csrf": …}`` for an account (created when missing)."""
    account = _account(auth, username, role, window)
    with auth.tx() as conn:
        token, csrf = create_session(conn, account.principal(window, via="session"), ip="127.0.0.1",
                                     now_ms=auth.now_ms(), ttl_seconds=auth.settings.session_ttl_seconds)
    return {"hallq_session": token, "hallq_csrf": csrf}


DEMO_DEVICE_HOST = {"Authorization": "Bearer hqd_demo-device-host"}
DEMO_KIOSK_K1 = {"Authorization": "Bearer hqd_demo-kiosk-k1"}
DEMO_DISPLAY_HALL = {"Authorization": "Bearer hqd_demo-display-hall"}


def demo_bearer(client: Any, username: str = "admin", password: str | None = None,
                window: int | None = None) -> dict[str, str]:
    """An Authorization header for a demo account (``password`` defaults to ``<username>-demo``)."""
    data = {"username": username, "password": password or f"{username}-demo"}
    if window is not None:
        data["scope"] = f"window:{window}"
    r = client.post("/api/auth/token", data=data)
    if r.status_code != 200:
        raise AssertionError(f"sign-in as {username} failed: {r.text}")
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
