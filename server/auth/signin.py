"""Password sign-in shared by the token endpoint and the page form: lockout, slowdown, window choice."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from server.auth import accounts as acc
from server.auth.limits import (
    client_ip,
    failure_delay,
    lock_remaining,
    locked_error,
    prune_attempts,
    record_attempt,
)
from server.auth.passwords import needs_rehash, verify_password
from server.auth.roles import Principal, Role
from server.errors import Forbidden, invalid_credentials
from server.services import services_of


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
        if text and not (text.isascii() and text.isdigit()):
            return None  # other scopes: no window asked for
    if not (text.isascii() and text.isdigit()) or len(text) > 6:  # '³'.isdigit() is True, int('³') fails
        raise Forbidden("窗口号无效", f"Invalid window: {value}", code="unknown_window")
    return int(text)


def _window_for(account: acc.Account, requested: int | None, config: Any) -> int | None:
    if account.role is not Role.CLERK:
        return None
    window = requested if requested is not None else account.window
    if window is None and len(account.serve_windows) == 1:  # the directory lists one window only
        window = account.serve_windows[0]
    if account.window is not None and requested is not None and requested != account.window:
        raise Forbidden(f"此账号只能登录{account.window}号窗口",
                        f"This account signs into window {account.window} only",
                        code="window_not_allowed", window=account.window)
    if window is None:
        raise Forbidden("请填写窗口号", "Clerks sign into a window: give its number", code="window_required")
    if config is not None and window not in config.window_map:
        raise Forbidden(f"没有{window}号窗口", f"Unknown window: {window}", code="unknown_window")
    if not account.may_sign_in_at(window):  # the staff directory's windows (server/staff/)
        raise Forbidden(f"此工作人员不能登录{window}号窗口", f"This staff member may not sign in at window {window}",
                        code="window_not_allowed", window=window)
    return window


async def sign_in(request: Request, username: str, password: str, window: int | None) -> Principal:
    """Check a password sign-in; records the attempt, slows failures, refuses while locked."""
    services = services_of(request)
    auth, config = services.auth, services.config
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
            if ok and account is not None and account.one_time_expired(now, auth.settings.first_password_hours):
                ok = False  # an unused one-time password expires (the admin sets a new one)
            record_attempt(conn, username, ip, ok, now)
            if auth.note_attempt():  # keep login_attempts bounded
                prune_attempts(conn, now, policy)
            if not ok:
                return None, None, failure_delay(conn, username, ip, now, policy)
            assert account is not None
            if needs_rehash(account.password_hash):
                acc.rehash(conn, account.id, password, now)
            return account, None, 0.0

    async with auth.hashing():  # a flood of sign-ins queues here instead of hashing all at once
        account, locked, delay = await auth.run(check)
    if locked is not None:
        raise locked_error(locked)
    if account is None:
        if delay > 0:
            await (auth.sleep or asyncio.sleep)(delay)
        raise invalid_credentials()
    return account.principal(_window_for(account, window, config), via="token")
