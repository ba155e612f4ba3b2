"""Auth routes: API tokens, page sign-in/out, password change, who am I (administration: admin.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from server.auth import accounts as acc
from server.auth.limits import client_ip, failure_delay, lock_remaining, locked_error, record_attempt
from server.auth.origin import same_origin
from server.auth.pages import device_page, login_page, password_page, safe_next
from server.auth.passwords import password_problem, verify_password
from server.auth.roles import SIGNED_IN, STAFF, Principal, allow, public
from server.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookies,
    create_session,
    revoke_session,
    set_session_cookies,
)
from server.auth.signin import parse_window, sign_in
from server.errors import HallqError
from server.http.problems import responses
from server.services import services_of

router = APIRouter(tags=["auth"])
Me = Annotated[Principal, Depends(allow(*SIGNED_IN, pending_ok=True, window_param=None))]
StaffMe = Annotated[Principal, Depends(allow(*STAFF, pending_ok=True, window_param=None))]


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


def _auth(request: Request) -> Any:
    return services_of(request).auth


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

    ip, policy = client_ip(request), auth.settings.login

    def check_old() -> tuple[int | None, bool, float]:
        # the old password is guessed like a sign-in: same lockout, slowdown and record (issue 12, §13)
        with auth.tx() as conn:
            now = auth.now_ms()
            account = acc.require_account(conn, principal.account_id or 0)
            locked = lock_remaining(conn, account.username, ip, now, policy)
            if locked is not None:
                return locked, False, 0.0
            if verify_password(account.password_hash, body.old_password):
                return None, True, 0.0
            record_attempt(conn, account.username, ip, False, now)
            auth.audit(conn, principal, ip, "account.password_change_failed", f"account:{account.id}")
            return None, False, failure_delay(conn, account.username, ip, now, policy)

    async with auth.hashing():
        locked, ok, delay = await auth.run(check_old)
    if locked is not None:
        raise locked_error(locked)
    if not ok:
        if delay > 0:
            await (auth.sleep or asyncio.sleep)(delay)
        raise HallqError("当前密码错误", "Current password is wrong", code="invalid_credentials")

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


@router.get("/auth/login", include_in_schema=False, dependencies=[Depends(public("sign-in page"))])
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return login_page(services_of(request).config.hall.name, safe_next(next))


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
    return same_origin(request)


@router.post("/auth/login", include_in_schema=False, dependencies=[Depends(public("sign-in form"))])
async def login_submit(request: Request, username: Annotated[str, Form(max_length=64)],
                       password: Annotated[str, Form(max_length=256)],
                       window: Annotated[str, Form(max_length=8)] = "",
                       next: Annotated[str, Form(max_length=512)] = "/clerk") -> Response:
    """Check the form, set the session cookies and go on (to the password page first when it must change)."""
    hall, target = services_of(request).config.hall.name, safe_next(next)
    if not _same_origin(request):
        return login_page(hall, target, "请求来源无效 · Cross-site sign-in refused", 403)
    try:
        principal = await sign_in(request, username, password, parse_window(window))
    except HallqError as exc:
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
        with auth.read() as conn:
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
    if token and services_of(request).settings.demo:
        return await _device_login(request, token, safe_next(next, "/display/hall"))
    return device_page(safe_next(next, "/display/hall"))


@router.post("/auth/device", include_in_schema=False, dependencies=[Depends(public("device sign-in form"))])
async def device_submit(request: Request, token: Annotated[str, Form(max_length=256)],
                        next: Annotated[str, Form(max_length=512)] = "/display/hall") -> Response:
    """Sign this browser in as the device the token belongs to."""
    if not _same_origin(request):
        return device_page(safe_next(next, "/display/hall"), "请求来源无效 · Cross-site sign-in refused", 403)
    return await _device_login(request, token, safe_next(next, "/display/hall"))


async def holds_account_session(request: Request) -> bool:
    """True when this browser is signed in to a person's account (a device link must not replace that)."""
    auth = _auth(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return False
    current = await auth.authenticate(_CookieOnly(request))
    return current is not None and current.account_id is not None


class _CookieOnly:
    """A request seen through its session cookie only (ignores an Authorization header)."""

    def __init__(self, request: Request) -> None:
        self.headers: dict[str, str] = {}
        self.cookies = request.cookies


async def _device_login(request: Request, token: str, target: str) -> Response:
    auth = _auth(request)
    if await holds_account_session(request):  # login CSRF: a link must not sign a supervisor out into a kiosk
        return device_page(target, "此浏览器已登录账号，请先退出 · Sign out of the account first", 409)
    principal = await auth.run(auth.resolve, f"Bearer {token}", None)
    if principal is None or principal.via != "device":
        return device_page(target, "令牌无效 · Invalid device token", 400)
    return await auth.run(_session_response, request, principal.with_via("session"), target)
