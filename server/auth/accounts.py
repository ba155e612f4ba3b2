"""Accounts (admin, supervisor, clerk) and device principals (kiosk, display, device host).

Plain functions over a SQLAlchemy ``Connection``; the caller owns the transaction.
Clerk accounts use the staff number (工号) as their user name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.auth.passwords import hash_password
from server.auth.roles import ACCOUNT_ROLES, DEVICE_ROLES, Principal, Role
from server.auth.tables import accounts, device_tokens
from server.auth.tokens import digest, new_device_token
from server.errors import Conflict, HallqError, NotFound


@dataclass(frozen=True)
class Account:
    """One person's account."""

    id: int
    username: str
    name: str
    role: Role
    window: int | None
    password_hash: str
    must_change_password: bool
    active: bool
    epoch: int
    updated_at: int = 0  # ms; for a one-time password: when it was set
    # the staff directory (server/staff/): an account is a staff member, its username the 工号
    department: str = ""  # 所属单位
    serve_windows: tuple[int, ...] = ()  # windows it may sign in at; empty: any (or its bound ``window``)
    serve_services: tuple[str, ...] = ()  # services it may serve; empty: whatever its window serves
    photo_at: int | None = None  # ms of the photo upload; None: no photo

    def may_sign_in_at(self, window: int) -> bool:
        """True when the directory lets this clerk work at ``window`` (its bound window, or its list)."""
        if self.window is not None:
            return window == self.window
        return not self.serve_windows or window in self.serve_windows

    def one_time_expired(self, now_ms: int, hours: float) -> bool:
        """True when the account still holds a one-time password set more than ``hours`` ago."""
        return self.must_change_password and now_ms - self.updated_at > hours * 3_600_000

    def principal(self, window: int | None = None, via: str = "token") -> Principal:
        """The Principal this account acts as (a clerk at ``window``)."""
        w = window if window is not None else self.window
        windows = frozenset({w}) if self.role is Role.CLERK and w is not None else frozenset()
        return Principal(role=self.role, subject=self.username, name=self.name, account_id=self.id,
                         windows=windows, must_change_password=self.must_change_password, epoch=self.epoch,
                         via=via)

    def public(self) -> dict[str, Any]:
        """The account as the API shows it (never the hash)."""
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role.value,
                "window": self.window, "must_change_password": self.must_change_password, "active": self.active}


@dataclass(frozen=True)
class DeviceToken:
    """A device principal's token row (the token itself is never stored)."""

    id: int
    principal: str
    role: Role
    kiosk: str | None
    windows: tuple[int, ...]
    revoked: bool

    def as_principal(self) -> Principal:
        """The Principal of a request carrying this token."""
        return Principal(role=self.role, subject=self.principal, name=self.principal, windows=frozenset(self.windows),
                         kiosk=self.kiosk, via="device", token_id=self.id)

    def public(self) -> dict[str, Any]:
        """The token row as the API shows it."""
        return {"id": self.id, "principal": self.principal, "role": self.role.value, "kiosk": self.kiosk,
                "windows": list(self.windows), "revoked": self.revoked}


def _account(row: Any) -> Account:
    return Account(id=int(row.id), username=row.username, name=row.name, role=Role(row.role), window=row.window,
                   password_hash=row.password_hash, must_change_password=bool(row.must_change_password),
                   active=bool(row.active), epoch=int(row.epoch), updated_at=int(row.updated_at or 0),
                   department=row.department or "", serve_windows=tuple(json.loads(row.serve_windows or "[]")),
                   serve_services=tuple(json.loads(row.serve_services or "[]")),
                   photo_at=int(row.photo_at) if row.photo_at is not None else None)


def _device(row: Any) -> DeviceToken:
    return DeviceToken(id=int(row.id), principal=row.principal, role=Role(row.role), kiosk=row.kiosk,
                       windows=tuple(json.loads(row.windows or "[]")), revoked=row.revoked_at is not None)


def create_account(conn: Connection, *, username: str, name: str, role: Role, password: str,
                   window: int | None = None, must_change_password: bool = True, now_ms: int) -> Account:
    """Insert an account; ``account_exists`` (409) when the user name is taken."""
    if role not in ACCOUNT_ROLES:
        raise HallqError(f"无效的角色：{role}", f"Invalid account role: {role}", code="invalid_request")
    if role is not Role.CLERK and window is not None:
        raise HallqError("只有窗口人员可以绑定窗口", "Only clerks are bound to a window", code="invalid_request")
    if get_by_username(conn, username) is not None:
        raise Conflict(f"账号已存在：{username}", f"Account exists: {username}", code="account_exists")
    new_id = conn.execute(insert(accounts).returning(accounts.c.id), {
        "username": username, "name": name, "role": role.value, "window": window,
        "password_hash": hash_password(password), "must_change_password": int(must_change_password),
        "active": 1, "epoch": 1, "created_at": now_ms, "updated_at": now_ms,
    }).scalar_one()
    account = get_account(conn, int(new_id))
    assert account is not None
    return account


def get_account(conn: Connection, account_id: int) -> Account | None:
    """The account with this id, or None."""
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row is not None else None


def require_account(conn: Connection, account_id: int) -> Account:
    """The account with this id; 404 ``unknown_account`` otherwise."""
    account = get_account(conn, account_id)
    if account is None:
        raise NotFound("没有此账号", f"Unknown account: {account_id}", code="unknown_account")
    return account


def get_by_username(conn: Connection, username: str) -> Account | None:
    """The account with this user name, or None."""
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
    return _account(row) if row is not None else None


def list_accounts(conn: Connection) -> list[Account]:
    """Every account, by id."""
    return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.id))]


def count_admins(conn: Connection) -> int:
    """How many active admin accounts exist."""
    rows = conn.execute(select(accounts.c.id).where(accounts.c.role == Role.ADMIN.value, accounts.c.active == 1))
    return len(rows.all())


def set_password(conn: Connection, account_id: int, password: str, *, must_change: bool, now_ms: int) -> Account:
    """Store a new password hash; bumps the epoch so older tokens and sessions stop working."""
    require_account(conn, account_id)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        password_hash=hash_password(password), must_change_password=int(must_change),
        epoch=accounts.c.epoch + 1, updated_at=now_ms))
    return require_account(conn, account_id)


def rehash(conn: Connection, account_id: int, password: str, now_ms: int) -> None:
    """Replace a hash made with old parameters (epoch unchanged: same password)."""
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        password_hash=hash_password(password), updated_at=now_ms))


def update_account(conn: Connection, account_id: int, *, now_ms: int, name: str | None = None,
                   window: int | None = None, clear_window: bool = False, active: bool | None = None) -> Account:
    """Change name, window binding or active flag; deactivation bumps the epoch."""
    account = require_account(conn, account_id)
    values: dict[str, Any] = {"updated_at": now_ms}
    if name is not None:
        values["name"] = name
    if window is not None or clear_window:
        if account.role is not Role.CLERK and window is not None:
            raise HallqError("只有窗口人员可以绑定窗口", "Only clerks are bound to a window", code="invalid_request")
        values["window"] = window
        if window != account.window:  # tokens and sessions name the old window: they must die
            values["epoch"] = accounts.c.epoch + 1
    if active is not None:
        values["active"] = int(active)
        if not active:
            values["epoch"] = accounts.c.epoch + 1
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    return require_account(conn, account_id)


def create_device_token(conn: Connection, *, role: Role, name: str, kiosk: str | None, windows: list[int],
                        created_by: str, now_ms: int, token: str | None = None) -> tuple[DeviceToken, str]:
    """A new device principal ``<role>:<name>`` and its token (returned once, stored hashed)."""
    if role not in DEVICE_ROLES:
        raise HallqError(f"无效的设备角色：{role}", f"Invalid device role: {role}", code="invalid_request")
    token = token or new_device_token()
    new_id = conn.execute(insert(device_tokens).returning(device_tokens.c.id), {
        "principal": f"{role.value}:{name}", "role": role.value, "kiosk": kiosk,
        "windows": json.dumps(sorted(set(windows))), "token_hash": digest(token), "created_at": now_ms,
        "created_by": created_by,
    }).scalar_one()
    row = conn.execute(select(device_tokens).where(device_tokens.c.id == new_id)).one()
    return _device(row), token


def lookup_device_token(conn: Connection, token: str) -> DeviceToken | None:
    """The live device token matching ``token``, or None (unknown or revoked)."""
    row = conn.execute(select(device_tokens).where(device_tokens.c.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return _device(row)


def list_device_tokens(conn: Connection) -> list[DeviceToken]:
    """Every device token row, by id."""
    return [_device(r) for r in conn.execute(select(device_tokens).order_by(device_tokens.c.id))]


def revoke_device_token(conn: Connection, token_id: int, now_ms: int) -> DeviceToken:
    """Revoke a device token; 404 ``unknown_device_token`` when there is none."""
    res = conn.execute(update(device_tokens).where(device_tokens.c.id == token_id, device_tokens.c.revoked_at.is_(None))
                       .values(revoked_at=now_ms))
    row = conn.execute(select(device_tokens).where(device_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound("没有此设备令牌", f"Unknown device token: {token_id}", code="unknown_device_token")
    _ = res
    return _device(row)


def live_device_token(conn: Connection, token_id: int) -> DeviceToken | None:
    """The device token row with this id while it is unrevoked (a device session lives only that long)."""
    row = conn.execute(select(device_tokens).where(device_tokens.c.id == token_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    return _device(row)


def device_principal_live(conn: Connection, principal: str) -> bool:
    """True while the device principal (``kiosk:k1`` …) still has an unrevoked token."""
    q = select(device_tokens.c.id).where(device_tokens.c.principal == principal, device_tokens.c.revoked_at.is_(None))
    return conn.execute(q.limit(1)).first() is not None
