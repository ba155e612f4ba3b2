"""Administration: accounts (admin, supervisor, clerk) and device tokens; every change is audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import Field

from server.auth import accounts as acc
from server.auth.limits import client_ip
from server.auth.passwords import one_time_password
from server.auth.roles import Principal, Role, allow
from server.auth.router import _auth, _In, _weak
from server.errors import Forbidden, HallqError, NotFound
from server.http.problems import responses
from server.services import services_of

router = APIRouter(tags=["auth"])
Admin = Annotated[Principal, Depends(allow(Role.ADMIN, window_param=None))]
AccountId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Account id")]
TokenId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Device token id")]


class AccountIn(_In):
    """A new account; without ``password`` a one-time password is made and returned once."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str = Field(min_length=1, max_length=64)
    role: Literal["admin", "supervisor", "clerk"]
    window: int | None = Field(default=None, ge=1, le=999)
    password: str | None = Field(default=None, min_length=8, max_length=256)


class AccountPatch(_In):
    """Change an account's name, window binding or active flag."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    window: int | None = Field(default=None, ge=1, le=999)
    clear_window: bool = False
    active: bool | None = None


class PasswordReset(_In):
    """Reset a password; without ``password`` a one-time password is made (must change on sign-in)."""

    password: str | None = Field(default=None, min_length=8, max_length=256)


class DeviceTokenIn(_In):
    """A token for a kiosk, a display or a device host."""

    role: Literal["kiosk", "display", "device"]
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kiosk: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    windows: list[int] = Field(default_factory=list, max_length=999)



@router.get("/api/accounts", summary="Accounts (admin)")
async def list_accounts(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """Every account (never password hashes)."""
    auth = _auth(request)

    def work() -> list[dict[str, Any]]:
        with auth.read() as conn:
            return [a.public() for a in acc.list_accounts(conn)]

    result: list[dict[str, Any]] = await auth.run(work)
    return result


def _check_window(request: Request, window: int | None) -> None:
    config = services_of(request).config
    if window is not None:
        config.window(window)  # unknown_window (404)


@router.post("/api/accounts", status_code=201, summary="Create an account (admin)",
             responses=responses(400, 404, 409, 422))
async def create_account(request: Request, body: AccountIn, principal: Admin) -> dict[str, Any]:
    """Create an account; answers with the one-time password when none was given (shown once)."""
    _check_window(request, body.window)
    password = body.password or one_time_password()
    if body.password:
        _weak(body.password, body.username)
    auth = _auth(request)

    def work() -> acc.Account:
        with auth.tx() as conn:
            account = acc.create_account(conn, username=body.username, name=body.name, role=Role(body.role),
                                         password=password, window=body.window, must_change_password=True,
                                         now_ms=auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "account.created", f"account:{account.id}",
                       {"username": account.username, "role": account.role.value, "window": account.window})
            return account

    account = await auth.run(work)
    return {**account.public(), "one_time_password": None if body.password else password}


@router.patch("/api/accounts/{account_id}", summary="Change an account (admin)",
              responses=responses(400, 404, 409, 422))
async def update_account(request: Request, account_id: AccountId,
                         body: AccountPatch, principal: Admin) -> dict[str, Any]:
    """Rename, rebind to a window, deactivate or reactivate an account (the last admin stays active)."""
    _check_window(request, body.window)
    auth = _auth(request)

    def work() -> acc.Account:
        with auth.tx() as conn:
            current = acc.require_account(conn, account_id)
            if body.active is False and current.role is Role.ADMIN and acc.count_admins(conn) <= 1:
                raise Forbidden("不能停用最后一个管理员", "Cannot deactivate the last admin", code="last_admin")
            account = acc.update_account(conn, account_id, now_ms=auth.now_ms(), name=body.name, window=body.window,
                                         clear_window=body.clear_window, active=body.active)
            auth.audit(conn, principal, client_ip(request), "account.updated", f"account:{account_id}",
                       body.model_dump(exclude_none=True))
            return account

    account = await auth.run(work)
    auth.forget()
    return account.public()


@router.post("/api/accounts/{account_id}/password", summary="Reset a password (admin)",
             responses=responses(400, 404, 422))
async def reset_password(request: Request, account_id: AccountId,
                         body: PasswordReset, principal: Admin) -> dict[str, Any]:
    """Set a new (one-time) password; the account must change it at the next sign-in."""
    password = body.password or one_time_password()
    auth = _auth(request)

    def work() -> acc.Account:
        with auth.tx() as conn:
            if body.password:
                _weak(body.password, acc.require_account(conn, account_id).username)
            account = acc.set_password(conn, account_id, password, must_change=True, now_ms=auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "account.password_reset", f"account:{account_id}")
            return account

    account = await auth.run(work)
    auth.forget()
    return {**account.public(), "one_time_password": None if body.password else password}


@router.get("/api/devices/tokens", summary="Device tokens (admin)")
async def list_device_tokens(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """Every device principal's token row (tokens themselves are never shown again)."""
    auth = _auth(request)

    def work() -> list[dict[str, Any]]:
        with auth.read() as conn:
            return [d.public() for d in acc.list_device_tokens(conn)]

    result: list[dict[str, Any]] = await auth.run(work)
    return result


@router.post("/api/devices/tokens", status_code=201, summary="Create a device token (admin)",
             responses=responses(400, 404, 422))
async def create_device_token(request: Request, body: DeviceTokenIn, principal: Admin) -> dict[str, Any]:
    """A token for a kiosk (bound to its kiosk id), a display or a device host (bound to windows)."""
    config = services_of(request).config
    kiosk = body.kiosk or (body.name if body.role == "kiosk" else None)
    if body.role == "kiosk" and config.kiosks and kiosk not in {k.id for k in config.kiosks}:
        raise NotFound(f"没有取号机：{kiosk}", f"Unknown kiosk: {kiosk}", code="unknown_kiosk", kiosk=kiosk)
    if body.role != "kiosk" and body.kiosk:
        raise HallqError("只有取号机绑定取号机编号", "Only kiosk tokens name a kiosk", code="invalid_request")
    for n in body.windows:
        _check_window(request, n)
    auth = _auth(request)

    def work() -> tuple[acc.DeviceToken, str]:
        with auth.tx() as conn:
            row, value = acc.create_device_token(conn, role=Role(body.role), name=body.name, kiosk=kiosk,
                                                 windows=body.windows, created_by=principal.actor,
                                                 now_ms=auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "device_token.created", row.principal, row.public())
            return row, value

    row, value = await auth.run(work)
    return {**row.public(), "token": value}


@router.post("/api/devices/tokens/{token_id}/revoke", summary="Revoke a device token (admin)",
             responses=responses(404, 422))
async def revoke_device_token(request: Request, token_id: TokenId,
                              principal: Admin) -> dict[str, Any]:
    """Revoke a device token; its device's page sessions end with its last token."""
    auth = _auth(request)

    def work() -> acc.DeviceToken:
        with auth.tx() as conn:
            row = acc.revoke_device_token(conn, token_id, auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "device_token.revoked", row.principal, {"id": token_id})
            return row

    row = await auth.run(work)
    auth.forget()
    return row.public()
