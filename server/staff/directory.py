"""The directory's reads and writes over the accounts table; the caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from server.auth import accounts as acc
from server.auth.roles import Role
from server.auth.tables import accounts, staff_photos
from server.errors import Conflict, Forbidden, HallqError, NotFound


@dataclass(frozen=True)
class StaffChange:
    """The fields an admin may change on a staff member (None: unchanged)."""

    name: str | None = None
    department: str | None = None
    role: Role | None = None
    windows: Sequence[int] | None = None
    services: Sequence[str] | None = None
    active: bool | None = None


def photo_url(account: acc.Account, size: int | None = None) -> str | None:
    """The URL of the member's photo (the upload time busts caches), or None without one."""
    if account.photo_at is None:
        return None
    tail = f"&size={size}" if size else ""
    return f"/api/staff/{account.id}/photo?v={account.photo_at}{tail}"


def row(account: acc.Account) -> dict[str, Any]:
    """A staff member as admins and supervisors see them."""
    return {"id": account.id, "staff_no": account.username, "name": account.name, "department": account.department,
            "role": account.role.value, "window": account.window, "windows": allowed_windows(account),
            "services": list(account.serve_services), "active": account.active, "photo": photo_url(account),
            "must_change_password": account.must_change_password}


def allowed_windows(account: acc.Account) -> list[int]:
    """The windows a clerk may sign in at as the directory lists them ([]: any)."""
    if account.window is not None:  # an account bound to one window (server/auth/admin.py)
        return [account.window]
    return list(account.serve_windows)


def card(account: acc.Account) -> dict[str, Any]:
    """What public screens and the sign-in picker show: identity only (no roles, no windows)."""
    return {"id": account.id, "staff_no": account.username, "name": account.name, "department": account.department,
            "photo": photo_url(account)}


def list_staff(conn: Connection) -> list[acc.Account]:
    """Every account (staff members and administrators), by id."""
    return acc.list_accounts(conn)


def active_clerks(conn: Connection) -> list[acc.Account]:
    """Every active clerk, by 工号."""
    return sorted((a for a in acc.list_accounts(conn) if a.role is Role.CLERK and a.active), key=lambda a: a.username)


def allowed_at(conn: Connection, window: int) -> list[acc.Account]:
    """Active clerks who may sign in at ``window``, by 工号."""
    people = [a for a in acc.list_accounts(conn) if a.role is Role.CLERK and a.active and a.may_sign_in_at(window)]
    return sorted(people, key=lambda a: a.username)


def by_staff_no(conn: Connection, staff_no: str) -> acc.Account | None:
    """The member with this 工号, or None."""
    return acc.get_by_username(conn, staff_no)


def require(conn: Connection, account_id: int) -> acc.Account:
    """The member with this id; 404 ``unknown_staff`` otherwise."""
    account = acc.get_account(conn, account_id)
    if account is None:
        raise NotFound("工作人员名录中没有此人", f"Unknown staff member: {account_id}", code="unknown_staff")
    return account


def check_window(account: acc.Account, window: int) -> None:
    """403 ``window_not_allowed`` unless the active clerk may work at ``window``."""
    if account.role is not Role.CLERK or not account.active or not account.may_sign_in_at(window):
        raise Forbidden(f"{account.name}（{account.username}）不能在{window}号窗口上岗",
                        f"{account.username} may not work at window {window}", code="window_not_allowed",
                        window=window, staff_no=account.username)


def _lists(windows: Sequence[int] | None, services: Sequence[str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if windows is not None:
        values["serve_windows"] = json.dumps(sorted(set(windows)))
    if services is not None:
        values["serve_services"] = json.dumps(sorted(set(services)))
    return values


def create(conn: Connection, *, staff_no: str, name: str, role: Role, password: str, now_ms: int,
           department: str = "", windows: Sequence[int] = (), services: Sequence[str] = (),
           must_change_password: bool = True) -> acc.Account:
    """A new staff member (an account); 409 ``staff_exists`` when the 工号 is taken."""
    if acc.get_by_username(conn, staff_no) is not None:
        raise Conflict(f"工号已存在：{staff_no}", f"Staff number exists: {staff_no}", code="staff_exists")
    if role is not Role.CLERK and (windows or services):
        raise HallqError("只有窗口人员可以指定窗口和事项", "Only clerks serve windows and services",
                         code="invalid_request")
    account = acc.create_account(conn, username=staff_no, name=name, role=role, password=password,
                                 must_change_password=must_change_password, now_ms=now_ms)
    values = {"department": department or None, **_lists(windows, services)}
    conn.execute(update(accounts).where(accounts.c.id == account.id).values(**values))
    return require(conn, account.id)


def change(conn: Connection, account_id: int, patch: StaffChange, *, now_ms: int) -> acc.Account:
    """Apply an admin's change; changing windows, role or active ends the member's tokens and sessions."""
    current = require(conn, account_id)
    role = patch.role or current.role
    windows = current.serve_windows if patch.windows is None else patch.windows
    services = current.serve_services if patch.services is None else patch.services
    if role is not Role.CLERK and (windows or services):
        raise HallqError("只有窗口人员可以指定窗口和事项", "Only clerks serve windows and services",
                         code="invalid_request")
    values: dict[str, Any] = {"updated_at": now_ms, **_lists(patch.windows, patch.services)}
    if patch.name is not None:
        values["name"] = patch.name
    if patch.department is not None:
        values["department"] = patch.department or None
    if patch.role is not None and patch.role is not current.role:
        values["role"] = patch.role.value
        if patch.role is not Role.CLERK:
            values["window"] = None
    if patch.active is not None:
        values["active"] = int(patch.active)
    if patch.windows is not None:
        values["window"] = None  # the directory's list replaces a one-window binding
    revoke = ("role" in values or patch.active is False
              or (patch.windows is not None and sorted(set(patch.windows)) != allowed_windows(current)))
    if revoke:  # a token names the old role or window: it must die
        values["epoch"] = accounts.c.epoch + 1
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    return require(conn, account_id)


def set_photo(conn: Connection, account_id: int, data: bytes, width: int, height: int, now_ms: int) -> acc.Account:
    """Store the (already normalised) JPEG photo of a member."""
    require(conn, account_id)
    conn.execute(delete(staff_photos).where(staff_photos.c.account_id == account_id))
    conn.execute(staff_photos.insert(), {"account_id": account_id, "content_type": "image/jpeg", "data": data,
                                         "width": width, "height": height, "updated_at": now_ms})
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(photo_at=now_ms, updated_at=now_ms))
    return require(conn, account_id)


def photo_of(conn: Connection, account_id: int) -> tuple[bytes, int] | None:
    """The stored JPEG and its upload time, or None."""
    found = conn.execute(select(staff_photos.c.data, staff_photos.c.updated_at)
                         .where(staff_photos.c.account_id == account_id)).first()
    return (bytes(found.data), int(found.updated_at)) if found is not None else None
