"""Starting authentication: the AuthService, the first administrator, the demo accounts, OAuth2 docs.

``server.app`` calls ``start_auth`` in its lifespan (it builds ``Services.auth`` and runs
``seed_demo_accounts`` in demo mode and ``ensure_first_admin``) and ``document(app)`` once,
which adds OAuth2 and the 401/403/404/429 answers to the OpenAPI document. The routes are
in ``server/api/__init__.py``'s ``ROUTERS``; 401/403 problems come from the one problem
handler (``server/http/problems.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from server.auth import accounts as acc
from server.auth.passwords import one_time_password
from server.auth.roles import Role, walk_routes
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
                       announce: Callable[[str], None] | None = None, expire_hours: float | None = None) -> str | None:
    """Create the admin with a one-time password when no admin exists; returns that password (else None).

    The password is printed once (stdout) and must be changed at the first sign-in. When the
    first admin's one-time password was never used and is older than ``expire_hours`` (it no
    longer signs in), a new one is set and printed.
    """
    engine = _engine(engine_or_store)
    password = one_time_password()
    if expire_hours is not None:
        renewed = _renew_first_password(engine, password, expire_hours, announce)
        if renewed is not None:
            return renewed
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


def _renew_first_password(engine: Engine, password: str, hours: float,
                          announce: Callable[[str], None] | None) -> str | None:
    with engine.begin() as conn:
        admin = acc.get_by_username(conn, FIRST_ADMIN)
        if admin is None or not admin.active or not admin.one_time_expired(_now(), hours):
            return None
        acc.set_password(conn, admin.id, password, must_change=True, now_ms=_now())
    message = (f"hallq：管理员 admin 的一次性密码已过期，新的一次性密码 {password}\n"
               f"hallq: the one-time password of 'admin' expired unused; new one-time password {password}")
    (announce or (lambda m: print(m, flush=True)))(message)
    log.warning("the first administrator's one-time password expired unused; a new one was printed on stdout")
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


def build_service(config: Any, store: Any, settings: AuthSettings | None = None) -> AuthService:
    """The AuthService over the store's engine and the installation secret."""
    from server.installation import load_or_create_secret

    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):  # a test's in-memory store: an in-memory auth database with the demo accounts
        engine = memory_engine()
        seed_demo_accounts(engine, config)
    secret = load_or_create_secret(config.server.secret_path)
    return AuthService(engine, secret, settings, tz=config.hall.tz)


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
    from server.http.problems import Problem

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


def document(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe OAuth2 and the auth, 404, 400/413 and 429 answers."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        return document_auth(original(), app)

    app.openapi = openapi  # type: ignore[method-assign]


async def start_auth(config: Any, store: Any, *, demo: bool, settings: AuthSettings | None = None) -> AuthService:
    """The AuthService of a starting app, with the demo accounts (demo mode) and the first admin."""
    auth = build_service(config, store, settings)
    if demo:
        await auth.run(mark_demo, auth.engine)
        await auth.run(seed_demo_accounts, auth.engine, config)
    elif await auth.run(was_demo, auth.engine):  # published demo credentials must not open a real hall
        await auth.run(disable_demo_principals, auth.engine, config)
    await auth.run(ensure_first_admin, auth.engine, config, expire_hours=auth.settings.first_password_hours)
    return auth


DEMO_MARK = "system.demo_mode"


def mark_demo(engine_or_store: Any) -> None:
    """Record (once, in the audit trail) that this database is served in demo mode."""
    from sqlalchemy import insert, select

    from server.auth.tables import audit_log

    with _engine(engine_or_store).begin() as conn:
        if conn.execute(select(audit_log.c.id).where(audit_log.c.action == DEMO_MARK).limit(1)).first() is None:
            conn.execute(insert(audit_log), {"at": _now(), "actor": "system", "role": "system", "ip": None,
                                             "action": DEMO_MARK, "target": "", "detail": "{}"})


def was_demo(engine_or_store: Any) -> bool:
    """True when this database was ever served in demo mode (``mark_demo``)."""
    from sqlalchemy import select

    from server.auth.tables import audit_log

    with _engine(engine_or_store).connect() as conn:
        return conn.execute(select(audit_log.c.id).where(audit_log.c.action == DEMO_MARK).limit(1)).first() is not None


def disable_demo_principals(engine_or_store: Any, config: Any) -> list[str]:
    """Revoke demo device tokens and deactivate accounts still holding a published demo password.

    Run at every start outside demo mode; logs each one loudly. Returns what was disabled.
    """
    from sqlalchemy import select, update

    from server.auth.passwords import verify_password
    from server.auth.tables import accounts, device_tokens

    engine = _engine(engine_or_store)
    plan = demo_plan(config)
    disabled: list[str] = []
    now = _now()
    with engine.begin() as conn:
        known = {digest(d["token"]) for d in plan["tokens"]}
        rows = conn.execute(select(device_tokens.c.id, device_tokens.c.principal, device_tokens.c.token_hash,
                                   device_tokens.c.created_by).where(device_tokens.c.revoked_at.is_(None))).all()
        for row in rows:
            if row.created_by == "demo" or row.token_hash in known:
                conn.execute(update(device_tokens).where(device_tokens.c.id == row.id).values(revoked_at=now))
                disabled.append(f"token:{row.principal}")
        for p in plan["accounts"]:
            account = acc.get_by_username(conn, p["username"])
            if account is None or not account.active or not verify_password(account.password_hash, p["password"]):
                continue
            conn.execute(update(accounts).where(accounts.c.id == account.id).values(
                active=0, epoch=accounts.c.epoch + 1, updated_at=now))
            disabled.append(f"account:{account.username}")
    if disabled:
        log.error("this database was used in demo mode: disabled %d demo principals with published credentials "
                  "(%s); set new passwords and issue new device tokens", len(disabled), ", ".join(disabled))
    return disabled
