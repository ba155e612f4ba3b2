"""Password sign-in shared by the token endpoint and the page form: lockout, slowdown, window choice."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from server.auth import accounts as acc
from server.auth.limits import client_ip, failure_delay, lock_remaining, locked_error, record_attempt
from server.auth.passwords import needs_rehash, verify_password
from server.auth.roles import AuthError, Forbidden, Principal, Role
from server.auth.service import AuthService


class BadCredentials(AuthError):
    """Wrong user name or password (the same answer for both)."""

    status = 400
    default_code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误", "Incorrect username or password")
        self.headers = {}


def parse_window(value: str | int | None) -> int | None:
    """A window number from a form field or an OAuth2 scope ``window:3`` (None when absent)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    for part in text.split():
        if part.startswith("window:"):
            text = part.removeprefix("window:")
            break
    else:
        if text and not text.isdigit():
            return None  # other scopes: no window asked for
    if not text.isdigit() or len(text) > 6:
        raise Forbidden("窗口号无效", f"Invalid window: {value}", code="unknown_window")
    return int(text)


def _window_for(account: acc.Account, requested: int | None, config: Any) -> int | None:
    if account.role is not Role.CLERK:
        return None
    window = requested if requested is not None else account.window
    if account.window is not None and requested is not None and requested != account.window:
        raise Forbidden(f"此账号只能登录{account.window}号窗口",
                        f"This account signs into window {account.window} only",
                        code="window_not_allowed", window=account.window)
    if window is None:
        raise Forbidden("请填写窗口号", "Clerks sign into a window: give its number", code="window_required")
    if config is not None and window not in config.window_map:
        raise Forbidden(f"没有{window}号窗口", f"Unknown window: {window}", code="unknown_window")
    return window


async def sign_in(request: Request, username: str, password: str, window: int | None) -> Principal:
    """Check a password sign-in; records the attempt, slows failures, refuses while locked."""
    auth: AuthService = request.app.state.auth
    config = getattr(request.app.state, "config", None)
    ip = client_ip(request)
    username = username.strip()[:64]
    policy = auth.settings.login

    def check() -> tuple[acc.Account | None, int | None, float]:
        with auth.tx() as conn:
            now = auth.now_ms()
            locked = lock_remaining(conn, username, ip, now, policy)
            if locked is not None:
                return None, locked, 0.0
            account = acc.get_by_username(conn, username)
            ok = verify_password(account.password_hash if account else None, password)
            ok = ok and account is not None and account.active
            record_attempt(conn, username, ip, ok, now)
            if not ok:
                return None, None, failure_delay(conn, username, ip, now, policy)
            assert account is not None
            if needs_rehash(account.password_hash):
                acc.rehash(conn, account.id, password, now)
            return account, None, 0.0

    account, locked, delay = await auth.run(check)
    if locked is not None:
        raise locked_error(locked)
    if account is None:
        if delay > 0:
            await (auth.sleep or asyncio.sleep)(delay)
        raise BadCredentials()
    return account.principal(_window_for(account, window, config), via="token")
