"""Auth routes: API tokens, page sign-in/out, password change, who am I, accounts, device tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from server.api.problems import responses
from server.auth import accounts as acc
from server.auth.limits import client_ip
from server.auth.pages import device_page, login_page, password_page, safe_next
from server.auth.passwords import one_time_password, password_problem, verify_password
from server.auth.roles import SIGNED_IN, STAFF, AuthError, Forbidden, Principal, Role, allow, public
from server.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookies,
    create_session,
    revoke_session,
    set_session_cookies,
)
from server.auth.signin import parse_window, sign_in
from server.errors import HallqError, NotFound

router = APIRouter(tags=["auth"])
Admin = Annotated[Principal, Depends(allow(Role.ADMIN, window_param=None))]
Me = Annotated[Principal, Depends(allow(*SIGNED_IN, pending_ok=True, window_param=None))]
StaffMe = Annotated[Principal, Depends(allow(*STAFF, pending_ok=True, window_param=None))]
CSS = Path(__file__).parent / "static" / "auth.css"
AccountId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Account id")]
TokenId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Device token id")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenOut(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    must_change_password: bool = False


class PasswordChange(_In):
    """Change one's own password."""

    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


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


def _auth(request: Request) -> Any:
    return request.app.state.auth


def _weak(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise HallqError(f"密码不符合要求：{problem}", f"Password rejected: {problem}", code="weak_password")


@router.post("/api/auth/token", response_model=TokenOut, summary="Get a bearer token (OAuth2 password form)",
             responses=responses(400, 403, 422, 429), dependencies=[Depends(public("signing in"))])
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """Sign in with user name and password; clerks name their window in ``scope`` (``window:3``)."""
    principal = await sign_in(request, form.username, form.password, parse_window(" ".join(form.scopes) or None))
    auth = _auth(request)
    ttl = auth.settings.token_ttl_seconds
    value = auth.signer.issue(username=principal.subject, account_id=principal.account_id or 0, epoch=principal.epoch,
                              windows=sorted(principal.windows), now=auth.clock().timestamp(), ttl_seconds=ttl)
    return TokenOut(access_token=value, expires_in=ttl, must_change_password=principal.must_change_password)


@router.get("/api/auth/me", summary="Who am I")
async def me(principal: Me) -> dict[str, Any]:
    """The caller's role, name, window or kiosk, and whether the password must be changed."""
    return principal.public()


@router.post("/api/auth/password", response_model=TokenOut, summary="Change my password",
             responses=responses(400, 401, 403, 422))
async def change_password(request: Request, body: PasswordChange, principal: StaffMe) -> Any:
    """Change one's own password; every older token and session of the account stops working."""
    auth = _auth(request)
    assert principal.account_id is not None
    _weak(body.new_password, principal.subject)

    def work() -> acc.Account:
        with auth.tx() as conn:
            account = acc.require_account(conn, principal.account_id or 0)
            if not verify_password(account.password_hash, body.old_password):
                raise HallqError("当前密码错误", "Current password is wrong", code="invalid_credentials")
            if body.old_password == body.new_password:
                raise HallqError("新密码不能与旧密码相同", "The new password must differ", code="weak_password")
            updated = acc.set_password(conn, account.id, body.new_password, must_change=False, now_ms=auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "account.password_changed", f"account:{account.id}")
            return updated

    account = await auth.run(work)
    auth.forget()
    ttl = auth.settings.token_ttl_seconds
    value = auth.signer.issue(username=account.username, account_id=account.id, epoch=account.epoch,
                              windows=sorted(principal.windows), now=auth.clock().timestamp(), ttl_seconds=ttl)
    return TokenOut(access_token=value, expires_in=ttl)


# -- pages: sign in, change password, sign out, device sign-in ---------------------------------


@router.get("/auth/auth.css", include_in_schema=False, dependencies=[Depends(public("stylesheet"))])
async def auth_css() -> FileResponse:
    """The sign-in pages' stylesheet."""
    return FileResponse(CSS, media_type="text/css")


@router.get("/auth/login", include_in_schema=False, dependencies=[Depends(public("sign-in page"))])
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return login_page(request.app.state.config.hall.name, safe_next(next))


def _session_response(request: Request, principal: Principal, target: str) -> Response:
    auth = _auth(request)
    ttl = auth.settings.session_ttl_seconds

    def work() -> tuple[str, str]:
        with auth.tx() as conn:
            return create_session(conn, principal, ip=client_ip(request), now_ms=auth.now_ms(), ttl_seconds=ttl)

    session, csrf = work()
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, request, session, csrf, ttl)
    return response


def _same_origin(request: Request) -> bool:
    """Refuse sign-in forms posted from another site (login CSRF); browsers send Origin on POST."""
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


@router.post("/auth/login", include_in_schema=False, dependencies=[Depends(public("sign-in form"))])
async def login_submit(request: Request, username: Annotated[str, Form(max_length=64)],
                       password: Annotated[str, Form(max_length=256)],
                       window: Annotated[str, Form(max_length=8)] = "",
                       next: Annotated[str, Form(max_length=512)] = "/clerk") -> Response:
    """Check the form, set the session cookies and go on (to the password page first when it must change)."""
    hall, target = request.app.state.config.hall.name, safe_next(next)
    if not _same_origin(request):
        return login_page(hall, target, "请求来源无效 · Cross-site sign-in refused", 403)
    try:
        principal = await sign_in(request, username, password, parse_window(window))
    except AuthError as exc:
        return login_page(hall, target, exc.zh, exc.status, username=username, window=window)
    if principal.must_change_password:
        target = f"/auth/password?next={quote(target, safe='/')}"
    return await _auth(request).run(_session_response, request, principal.with_via("session"), target)


@router.get("/auth/password", include_in_schema=False, dependencies=[Depends(public("page; signs in first"))])
async def password_form(request: Request, next: str | None = None) -> Response:
    """The password change form (signed-in accounts)."""
    from server.auth.roles import get_principal

    principal = await get_principal(request)
    if principal is None or principal.via != "session" or principal.account_id is None:
        return RedirectResponse(f"/auth/login?next={quote(safe_next(next), safe='/')}", status_code=303)
    note = "首次登录请修改初始密码 · Change the one-time password" if principal.must_change_password else None
    return password_page(principal.extra.get("csrf", ""), safe_next(next), note=note)


@router.post("/auth/password", include_in_schema=False)
async def password_submit(request: Request, principal: StaffMe, old_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)],
                          next: Annotated[str, Form(max_length=512)] = "/clerk",
                          csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Change the password from the page, then continue with a fresh session."""
    csrf, target = principal.extra.get("csrf", ""), safe_next(next)
    try:
        await change_password(request, PasswordChange(old_password=old_password, new_password=new_password), principal)
    except HallqError as exc:
        return password_page(csrf, target, error=exc.zh, status=400)
    except ValueError:
        return password_page(csrf, target, error="新密码至少8位", status=400)
    auth = _auth(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await auth.run(_revoke, auth, old)

    def reload() -> acc.Account:
        with auth.engine.connect() as conn:
            return acc.require_account(conn, principal.account_id or 0)

    account = await auth.run(reload)  # the new epoch: sessions made under the old one are dead
    fresh = account.principal(principal.window, via="session")
    return await auth.run(_session_response, request, fresh, target)


def _revoke(auth: Any, token: str) -> None:
    with auth.tx() as conn:
        revoke_session(conn, token, auth.now_ms())
    auth.forget()


@router.post("/auth/logout", include_in_schema=False, dependencies=[Depends(public("signing out"))])
async def logout(request: Request) -> Response:
    """End the page session (CSRF-checked when there is one) and clear the cookies."""
    from server.auth.roles import get_principal

    principal = await get_principal(request)
    if principal is not None and principal.via == "session":
        from server.auth.roles import _check_csrf

        await _check_csrf(request, principal)
        auth = _auth(request)
        await auth.run(_revoke, auth, principal.extra["session"])
    response: Response = RedirectResponse("/auth/login", status_code=303)
    if "application/json" in request.headers.get("accept", ""):
        response = Response(status_code=204)
    clear_session_cookies(response, request)
    return response


@router.get("/auth/device", include_in_schema=False, dependencies=[Depends(public("device sign-in page"))])
async def device_form(request: Request, next: str | None = None, token: str | None = None) -> Response:
    """The device sign-in form; in demo mode ``?token=`` signs in directly (convenience links)."""
    if token and getattr(request.app.state.settings, "demo", False):
        return await _device_login(request, token, safe_next(next, "/display/hall"))
    return device_page(safe_next(next, "/display/hall"))


@router.post("/auth/device", include_in_schema=False, dependencies=[Depends(public("device sign-in form"))])
async def device_submit(request: Request, token: Annotated[str, Form(max_length=256)],
                        next: Annotated[str, Form(max_length=512)] = "/display/hall") -> Response:
    """Sign this browser in as the device the token belongs to."""
    return await _device_login(request, token, safe_next(next, "/display/hall"))


async def _device_login(request: Request, token: str, target: str) -> Response:
    auth = _auth(request)
    principal = await auth.run(auth.resolve, f"Bearer {token}", None)
    if principal is None or principal.via != "device":
        return device_page(target, "令牌无效 · Invalid device token", 400)
    return await auth.run(_session_response, request, principal.with_via("session"), target)


# -- administration ------------------------------------------------------------------------


@router.get("/api/accounts", summary="Accounts (admin)")
async def list_accounts(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """Every account (never password hashes)."""
    auth = _auth(request)

    def work() -> list[dict[str, Any]]:
        with auth.engine.connect() as conn:
            return [a.public() for a in acc.list_accounts(conn)]

    result: list[dict[str, Any]] = await auth.run(work)
    return result


def _check_window(request: Request, window: int | None) -> None:
    config = request.app.state.config
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
        with auth.engine.connect() as conn:
            return [d.public() for d in acc.list_device_tokens(conn)]

    result: list[dict[str, Any]] = await auth.run(work)
    return result


@router.post("/api/devices/tokens", status_code=201, summary="Create a device token (admin)",
             responses=responses(400, 404, 422))
async def create_device_token(request: Request, body: DeviceTokenIn, principal: Admin) -> dict[str, Any]:
    """A token for a kiosk (bound to its kiosk id), a display or a device host (bound to windows)."""
    config = request.app.state.config
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
