"""Roles, the authenticated Principal, and the route declarations ``allow(...)`` and ``public(...)``.

Every route declares who may call it with a dependency made by ``allow`` or ``public``
(on the APIRouter's ``dependencies=[…]`` or per route); the route × role test walks the
app's route table and fails on any route without one.

Rules:

* admin — everything a supervisor may do, plus accounts and device tokens;
* supervisor — every window, the audit trail, devices, video;
* clerk — only the window they signed into (path parameter ``number``);
* kiosk:<id> — take tickets at its own kiosk (path ``kiosk_id`` must be its id);
* display:<id> — read; a window display (bound to windows) also records ratings of
  tickets served at its window;
* device:<id> — a device host (keypad bus bridge …) acting on the windows it is bound to;
* citizen — the holder of a ticket's token (header ``X-Ticket-Token``) acting on that ticket.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from fastapi import Request
from starlette.requests import HTTPConnection

from server.errors import Forbidden, Unauthenticated
from server.services import services_of

AUTH_MARK = "hallq_auth"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TICKET_HEADER = "X-Ticket-Token"


class Role(StrEnum):
    """Who is calling."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    KIOSK = "kiosk"
    DISPLAY = "display"
    DEVICE = "device"
    CITIZEN = "citizen"


STAFF = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK)
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
ACCOUNT_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK)
DEVICE_ROLES = (Role.KIOSK, Role.DISPLAY, Role.DEVICE)
SIGNED_IN = (*STAFF, *DEVICE_ROLES)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person's account, a device, or a ticket holder."""

    role: Role
    subject: str  # username, "kiosk:k1", "display:hall", "device:bus1", "ticket:17"
    name: str = ""
    account_id: int | None = None
    windows: frozenset[int] = frozenset()
    kiosk: str | None = None
    must_change_password: bool = False
    epoch: int = 0
    via: str = "token"  # token | session | device | ticket
    ticket_id: int | None = None
    token_id: int | None = None  # a device principal: the id of the token row it signed in with
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def window(self) -> int | None:
        """The one window a clerk signed into (None for others)."""
        return next(iter(self.windows)) if self.role is Role.CLERK and self.windows else None

    @property
    def actor(self) -> str:
        """Who, as written into ticket transitions and audit rows (≤ 64 characters)."""
        if self.role is Role.CLERK:
            return f"clerk:{self.subject}@{self.window}"[:64]
        if self.role in (Role.ADMIN, Role.SUPERVISOR):
            return f"{self.role.value}:{self.subject}"[:64]
        if self.role is Role.CITIZEN:
            return "citizen"
        return self.subject[:64]

    def to_json(self) -> str:
        """Serialised form kept in a sign-in session row."""
        return json.dumps({"role": self.role.value, "subject": self.subject, "name": self.name,
                           "account_id": self.account_id, "windows": sorted(self.windows), "kiosk": self.kiosk,
                           "must_change_password": self.must_change_password, "epoch": self.epoch,
                           "token_id": self.token_id})

    @classmethod
    def from_json(cls, text: str, via: str = "session") -> Principal:
        """Inverse of ``to_json``."""
        d = json.loads(text)
        return cls(role=Role(d["role"]), subject=d["subject"], name=d.get("name", ""),
                   account_id=d.get("account_id"), windows=frozenset(d.get("windows") or ()),
                   kiosk=d.get("kiosk"), must_change_password=bool(d.get("must_change_password")),
                   epoch=int(d.get("epoch") or 0), via=via,
                   token_id=int(d["token_id"]) if isinstance(d.get("token_id"), int) else None)

    def public(self) -> dict[str, Any]:
        """What ``/api/auth/me`` tells the caller about itself."""
        return {"role": self.role.value, "subject": self.subject, "name": self.name, "window": self.window,
                "windows": sorted(self.windows), "kiosk": self.kiosk, "actor": self.actor,
                "must_change_password": self.must_change_password, "via": self.via,
                "staff_no": self.subject if self.role is Role.CLERK else None}

    def with_via(self, via: str) -> Principal:
        """A copy that records how the caller authenticated."""
        return replace(self, via=via)


@dataclass(frozen=True)
class Rule:
    """What a route declared: public, or the roles it allows and the binding checks."""

    public: bool
    roles: frozenset[Role] = frozenset()
    window_param: str | None = None
    kiosk_param: str | None = None
    ticket_param: str | None = None
    ticket_window: bool = False
    pending_ok: bool = False
    reason: str = ""


async def get_principal(request: HTTPConnection) -> Principal | None:
    """The caller (from bearer token, device token or session cookie), cached per request or websocket."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    auth = services_of(request).auth
    principal = await auth.authenticate(request) if auth is not None else None
    request.state.principal = principal
    return principal


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _known_window(request: Request, number: int | None) -> bool:
    """False for malformed or unconfigured windows: the route answers those with 422/404 itself."""
    config = services_of(request).config
    if number is None:
        return False
    return config is None or number in getattr(config, "window_map", {number: None})


def _known_kiosk(request: Request, kiosk: str | None) -> bool:
    """False for kiosks the hall does not have: the route answers those with 404 itself."""
    config = services_of(request).config
    kiosks = {k.id for k in getattr(config, "kiosks", ())}
    return not kiosks or kiosk in kiosks


async def _citizen(request: Request, rule: Rule) -> Principal | None:
    token = request.headers.get(TICKET_HEADER)
    auth = services_of(request).auth
    if not token or auth is None or rule.ticket_param is None:
        return None
    return await auth.citizen(request, token)


async def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "session" or request.method not in UNSAFE:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = principal.extra.get("csrf")
    import hmac

    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("页面已过期，请刷新后重试", "CSRF token missing or wrong", code="csrf_failed")


async def _check_ticket_window(request: Request, principal: Principal, ticket_id: int | None) -> None:
    hall = services_of(request).hall
    if ticket_id is None or hall is None:
        raise Forbidden()
    ticket = await hall.get_ticket(ticket_id)  # unknown_ticket → 404
    window = ticket.get("window") if isinstance(ticket, dict) else getattr(ticket, "window", None)
    if window not in principal.windows:
        raise Forbidden("只能评价本窗口办理的业务", "Only tickets served at this device's window",
                        code="wrong_window")


async def enforce(request: Request, rule: Rule) -> Principal:
    """Apply ``rule`` to the request's caller; raises 401/403 problems."""
    principal = await get_principal(request)
    if principal is None and Role.CITIZEN in rule.roles:
        principal = await _citizen(request, rule)
    if principal is None:
        raise Unauthenticated()
    if principal.role not in rule.roles:
        raise Forbidden(role=principal.role.value)
    if principal.must_change_password and not rule.pending_ok:
        raise Forbidden("请先修改初始密码", "Change your one-time password first", code="password_change_required")
    await _check_csrf(request, principal)
    params = request.path_params
    if rule.window_param and rule.window_param in params:
        number = _int(params[rule.window_param])
        bound = principal.role in (Role.CLERK, Role.DEVICE) or (principal.role is Role.DISPLAY and principal.windows)
        if bound and _known_window(request, number) and number not in principal.windows:
            raise Forbidden(f"只能操作已登录的窗口（{sorted(principal.windows)}）",
                            "Only the window this account signed into", code="wrong_window")
    kiosk_bound = rule.kiosk_param and rule.kiosk_param in params and principal.role is Role.KIOSK
    asked = params.get(rule.kiosk_param or "")
    if kiosk_bound and _known_kiosk(request, asked) and asked != principal.kiosk:
        raise Forbidden("只能操作本取号机", "Only this kiosk", code="wrong_kiosk")
    if rule.ticket_param and rule.ticket_param in params:
        ticket_id = _int(params[rule.ticket_param])
        if principal.role is Role.CITIZEN and ticket_id not in (principal.ticket_id, principal.extra.get("parent")):
            raise Forbidden("只能操作自己的号票", "Only your own ticket", code="wrong_ticket")
        if rule.ticket_window and principal.role in (Role.DISPLAY, Role.DEVICE):
            await _check_ticket_window(request, principal, ticket_id)
    request.state.principal = principal
    return principal


def _mark(fn: Callable[..., Awaitable[Any]], rule: Rule) -> Callable[..., Awaitable[Any]]:
    setattr(fn, AUTH_MARK, rule)
    return fn


def allow(
    *roles: Role,
    window_param: str | None = "number",
    kiosk_param: str | None = "kiosk_id",
    ticket_param: str | None = "ticket_id",
    ticket_window: bool = False,
    pending_ok: bool = False,
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency allowing only ``roles``; binds clerks, devices, kiosks and ticket holders to their objects.

    ``window_param``/``kiosk_param``/``ticket_param`` name path parameters checked when present;
    ``ticket_window`` makes displays and device hosts act only on tickets of their windows;
    ``pending_ok`` admits accounts that still must change their one-time password.
    """
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open routes")
    rule = Rule(public=False, roles=frozenset(roles), window_param=window_param, kiosk_param=kiosk_param,
                ticket_param=ticket_param, ticket_window=ticket_window, pending_ok=pending_ok)

    async def dependency(request: Request) -> Principal:
        return await enforce(request, rule)

    dependency.__name__ = "allow_" + "_".join(r.value for r in roles)
    return _mark(dependency, rule)


def public(reason: str) -> Callable[[Request], Awaitable[Principal | None]]:
    """A dependency declaring a route open to anyone (``reason`` says why); yields the caller if known."""
    rule = Rule(public=True, reason=reason)

    async def dependency(conn: HTTPConnection) -> Principal | None:
        return await get_principal(conn)

    dependency.__name__ = "public"
    return _mark(dependency, rule)


def rule_of(call: Any) -> Rule | None:
    """The declaration carried by a dependency callable, if it is one."""
    rule = getattr(call, AUTH_MARK, None)
    return rule if isinstance(rule, Rule) else None


def route_rules(dependant: Any) -> list[Rule]:
    """Every declaration in a route's dependency graph (``route.dependant``)."""
    found: list[Rule] = []
    stack = [dependant]
    while stack:
        node = stack.pop()
        rule = rule_of(getattr(node, "call", None))
        if rule is not None:
            found.append(rule)
        stack.extend(getattr(node, "dependencies", ()))
    return found


def _call_names(dependant: Any) -> list[str]:
    names: list[str] = []
    stack = [dependant]
    while stack:
        node = stack.pop()
        names.append(getattr(getattr(node, "call", None), "__name__", ""))
        stack.extend(getattr(node, "dependencies", ()))
    return names


@dataclass(frozen=True)
class RouteInfo:
    """One effective route of an app: its path, methods and auth declarations."""

    path: str
    methods: frozenset[str]
    kind: str  # "http" | "websocket" | "mount" | "starlette"
    rules: tuple[Rule, ...]
    route: Any
    calls: frozenset[str] = frozenset()  # names of every dependency callable (e.g. "limit_issue")

    @property
    def protected(self) -> bool:
        """True when some declaration restricts the route to roles."""
        return any(not r.public for r in self.rules)


def walk_routes(app: Any) -> list[RouteInfo]:
    """Every effective route of ``app`` (included routers flattened, their dependencies applied)."""
    from fastapi.routing import APIRoute, APIWebSocketRoute
    from starlette.routing import Mount

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are already flat
        contexts: list[tuple[Any, Any]] = [(r, r) for r in app.routes]
    else:
        contexts = [(rc.original_route, rc) for rc in iter_route_contexts(app.routes)]
    out: list[RouteInfo] = []
    for original, effective in contexts:
        path = str(getattr(effective, "path", None) or getattr(original, "path", ""))
        dependant = getattr(effective, "dependant", None) or getattr(original, "dependant", None)
        rules = tuple(route_rules(dependant)) if dependant is not None else ()
        calls = frozenset(_call_names(dependant)) if dependant is not None else frozenset()
        if isinstance(original, APIRoute):
            kind = "http"
        elif isinstance(original, APIWebSocketRoute):
            kind = "websocket"
        elif isinstance(original, Mount):
            kind = "mount"
        else:
            kind = "starlette"
        methods = frozenset(getattr(effective, "methods", None) or getattr(original, "methods", None) or ())
        out.append(RouteInfo(path, methods, kind, rules, original, calls))
    return out
