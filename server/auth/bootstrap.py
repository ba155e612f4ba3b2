"""Wiring of authentication into the app, the first administrator, and the demo accounts.

The lead calls ``install(app)`` in ``create_app`` (after the routers); it adds the auth and
audit routes, the body-limit and security-header middleware, the 401/403 problem handler,
OAuth2 in the OpenAPI document, and a startup hook that creates ``app.state.auth`` and runs
``seed_demo_accounts`` (demo mode) and ``ensure_first_admin``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from server.auth import accounts as acc
from server.auth.admin import router as admin_router
from server.auth.audit import router as audit_router
from server.auth.links import DeviceLinkMiddleware
from server.auth.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from server.auth.passwords import one_time_password
from server.auth.privacy import TokenRedactionMiddleware
from server.auth.roles import AuthError, Role, walk_routes
from server.auth.router import router as auth_router
from server.auth.service import AuthService, AuthSettings, now_ms
from server.auth.tables import metadata as auth_metadata
from server.auth.tokens import digest

log = logging.getLogger("hallq.auth")
FIRST_ADMIN = "admin"
DEMO_NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周杰", "吴倩", "徐明", "孙丽",
              "马超", "朱红", "胡军", "郭燕")


def _engine(engine_or_store: Any) -> Engine:
    engine = engine_or_store if isinstance(engine_or_store, Engine) else getattr(engine_or_store, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("expected a SQLAlchemy Engine or a store with .engine")
    return engine


def _now() -> int:
    import datetime as dt

    return now_ms(lambda: dt.datetime.now(dt.UTC))


def ensure_first_admin(engine_or_store: Any, config: Any = None, *,
                       announce: Callable[[str], None] | None = None) -> str | None:
    """Create the admin with a one-time password when no admin exists; returns that password (else None).

    The password is printed once (stdout) and must be changed at the first sign-in.
    """
    engine = _engine(engine_or_store)
    password = one_time_password()
    try:
        with engine.begin() as conn:
            if acc.count_admins(conn) or acc.get_by_username(conn, FIRST_ADMIN) is not None:
                return None
            account = acc.create_account(conn, username=FIRST_ADMIN, name="系统管理员", role=Role.ADMIN,
                                         password=password, must_change_password=True, now_ms=_now())
            from server.auth.tables import audit_log

            conn.execute(audit_log.insert(), {"at": _now(), "actor": "system", "role": "system", "ip": None,
                                              "action": "account.created", "target": f"account:{account.id}",
                                              "detail": '{"username": "admin", "first_start": true}'})
    except IntegrityError:  # another server process created it at the same moment
        return None
    message = (f"hallq 首次启动：已创建管理员账号 admin，一次性密码 {password} （首次登录后必须修改）\n"
               f"hallq first start: created account 'admin' with one-time password {password} "
               "(it must be changed at the first sign-in)")
    (announce or (lambda m: print(m, flush=True)))(message)
    log.warning("first start: administrator 'admin' created; its one-time password was printed on stdout")
    return password


def demo_plan(config: Any) -> dict[str, Any]:
    """The demo accounts and device tokens with their known passwords (README lists them)."""
    windows = [w.number for w in getattr(config, "windows", [])]
    kiosks = [k.id for k in getattr(config, "kiosks", [])] or ["k1", "k2"]
    people = [
        {"username": "admin", "name": "系统管理员", "role": "admin", "window": None, "password": "admin-demo"},
        {"username": "supervisor", "name": "值班主任", "role": "supervisor", "window": None,
         "password": "supervisor-demo"},
    ]
    for i, n in enumerate(windows):
        people.append({"username": f"clerk{n}", "name": DEMO_NAMES[i % len(DEMO_NAMES)], "role": "clerk",
                       "window": n, "password": f"clerk{n}-demo"})
    devices = [{"role": "kiosk", "name": k, "kiosk": k, "windows": [], "token": f"hqd_demo-kiosk-{k}"} for k in kiosks]
    devices.append({"role": "display", "name": "hall", "kiosk": None, "windows": [], "token": "hqd_demo-display-hall"})
    devices += [{"role": "display", "name": f"w{n}", "kiosk": None, "windows": [n], "token": f"hqd_demo-display-w{n}"}
                for n in windows]
    devices.append({"role": "device", "name": "host", "kiosk": None, "windows": windows,
                    "token": "hqd_demo-device-host"})
    return {"accounts": people, "tokens": devices}


def seed_demo_accounts(engine_or_store: Any, config: Any) -> dict[str, Any]:
    """Create the demo accounts and device tokens when missing (idempotent); returns ``demo_plan(config)``."""
    engine = _engine(engine_or_store)
    plan = demo_plan(config)
    from server.auth.tables import device_tokens

    for p in plan["accounts"]:
        with contextlib.suppress(IntegrityError), engine.begin() as conn:  # another worker may seed at once
            if acc.get_by_username(conn, p["username"]) is None:
                acc.create_account(conn, username=p["username"], name=p["name"], role=Role(p["role"]),
                                   password=p["password"], window=p["window"], must_change_password=False,
                                   now_ms=_now())
    for d in plan["tokens"]:
        with contextlib.suppress(IntegrityError), engine.begin() as conn:
            taken = conn.execute(device_tokens.select().where(device_tokens.c.token_hash == digest(d["token"])))
            if taken.first() is None:
                acc.create_device_token(conn, role=Role(d["role"]), name=d["name"], kiosk=d["kiosk"],
                                        windows=d["windows"], created_by="demo", now_ms=_now(), token=d["token"])
    return plan


def memory_engine() -> Engine:
    """An in-memory database with the auth tables (for apps whose store has no engine, e.g. test fakes)."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    from server.store.tables import metadata as store_metadata

    store_metadata.create_all(engine)  # the audit query joins the transitions table
    auth_metadata.create_all(engine)
    return engine


def build_service(app: FastAPI, settings: AuthSettings | None = None) -> AuthService:
    """The AuthService over the app's store engine and the installation secret."""
    from server.devices.secrets import load_or_create_secret

    config = app.state.config
    store = getattr(app.state, "store", None)
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):  # a test's in-memory store: an in-memory auth database with the demo accounts
        engine = memory_engine()
        seed_demo_accounts(engine, config)
    secret = load_or_create_secret(config.server.secret_path)
    return AuthService(engine, secret, settings, tz=config.hall.tz)


async def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    from server.api.problems import problem_response

    assert isinstance(exc, AuthError)
    response = problem_response(exc.status, exc.code, exc.zh, exc.en, instance=request.url.path, **exc.extra)
    response.headers.update(exc.headers)
    return response


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


AUTH_RESPONSES = {
    "401": _problem_response("Sign-in required (bearer token, device token or session cookie)"),
    "403": _problem_response("Not allowed for this role, window, kiosk or ticket; or CSRF token missing"),
}
BAD_BODY_RESPONSE = _problem_response("The body cannot be parsed (malformed JSON or form)")
TOO_LARGE_RESPONSE = _problem_response("The body is larger than the server accepts (64 KiB by default)")
NOT_FOUND_RESPONSE = _problem_response("No such resource (unknown id, number, token or file)")
LIMIT_RESPONSE = _problem_response("Too many requests; `retry_after` seconds (also the Retry-After header)")


def document_auth(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Add OAuth2 and the 401/403/404/429 answers (protected, parameterised, rate-limited routes) to a document."""
    from server.api.models import Problem

    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "Problem" not in schemas:
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.setdefault("securitySchemes", {})["OAuth2"] = {
        "type": "oauth2", "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}}}
    paths = schema.get("paths", {})
    for info in walk_routes(app):
        item = paths.get(info.path)
        if item is None:
            continue
        for method in info.methods:
            op = item.get(method.lower())
            if op is None:
                continue
            if info.protected:
                for status, spec in AUTH_RESPONSES.items():
                    op.setdefault("responses", {}).setdefault(status, spec)
                op["security"] = [{"OAuth2": []}]
            if "{" in info.path:  # every path parameter names something that may not exist
                ok = op.get("responses", {}).get("200", {}).get("content", {})
                spec = NOT_FOUND_RESPONSE
                if "text/html" in ok:  # a page: its 404 is a page too
                    spec = {**spec, "content": {**spec["content"], "text/html": {"schema": {"type": "string"}}}}
                op.setdefault("responses", {}).setdefault("404", spec)
            invalid = op.get("responses", {}).get("422")
            if invalid is not None:  # FastAPI's default 422 says JSON; the problem handler answers problem+json
                invalid.setdefault("content", {}).setdefault("application/problem+json",
                                                             NOT_FOUND_RESPONSE["content"]["application/problem+json"])
            if "requestBody" in op:  # any body can be unparseable or too large (BodyLimitMiddleware)
                op.setdefault("responses", {}).setdefault("400", BAD_BODY_RESPONSE)
                op["responses"].setdefault("413", TOO_LARGE_RESPONSE)
            if "limit_issue" in info.calls:
                op.setdefault("responses", {}).setdefault("429", LIMIT_RESPONSE)
    return schema


def _document(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        return document_auth(original(), app)

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: AuthSettings | None = None) -> None:
    """Add routes, middleware, error handling and the startup hook of authentication (idempotent)."""
    if getattr(app.state, "auth_installed", False):
        return
    app.state.auth_installed = True
    settings = settings or AuthSettings()
    app.add_exception_handler(AuthError, _auth_error)
    app.include_router(auth_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    app.add_middleware(TokenRedactionMiddleware)
    app.add_middleware(DeviceLinkMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost of the two: the 413 answer gets the headers too
    _document(app)

    async def start_auth(app: FastAPI) -> None:
        if getattr(app.state, "auth", None) is not None:  # a test put its own in place
            return
        auth = build_service(app, settings)
        app.state.auth = auth
        if getattr(app.state.settings, "demo", False):
            await auth.run(seed_demo_accounts, auth.engine, app.state.config)
        await auth.run(ensure_first_admin, auth.engine, app.state.config)

    hooks: list[Any] = app.state.startup_hooks
    hooks.insert(0, start_auth)  # before device wiring, which may look up tokens
