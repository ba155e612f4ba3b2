"""Small dependencies for routers: who is acting (for transitions and audit), and the caller's kiosk.

The dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
thread pool, which would cost a thread hop per request for a mere attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.auth.roles import STAFF, Principal, Role
from server.errors import Forbidden
from server.services import services_of


def principal_of(request: Request) -> Principal | None:
    """The principal resolved by the route's ``allow(...)`` declaration (None on public routes)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


async def actor_of(request: Request) -> str:
    """The acting principal as written into ticket transitions (``clerk:A0101@3``, ``kiosk:k1`` …)."""
    principal = principal_of(request)
    return principal.actor if principal is not None else "anonymous"


async def caller_of(request: Request) -> Principal | None:
    """Dependency form of ``principal_of``."""
    return principal_of(request)


def bound_kiosk(request: Request, requested: str | None) -> str | None:
    """The kiosk a ticket is taken at: a kiosk principal may only name itself."""
    principal = principal_of(request)
    if principal is None or principal.role is not Role.KIOSK:
        return requested
    if requested is not None and requested != principal.kiosk:
        raise Forbidden("只能操作本取号机", "Only this kiosk", code="wrong_kiosk")
    return principal.kiosk


Actor = Annotated[str, Depends(actor_of)]
Caller = Annotated[Principal | None, Depends(caller_of)]


async def check_clerk_cancel(request: Request, ticket: object) -> None:
    """A clerk cancels only waiting tickets of their window's services, or tickets held at their own window.

    A ticket being called or served at another window, or waiting for a service this window
    does not serve, belongs to someone else: 403 ``wrong_window``.
    """
    principal = principal_of(request)
    if principal is None or principal.role is not Role.CLERK:
        return
    data = ticket if isinstance(ticket, dict) else getattr(ticket, "to_dict", lambda: {})()
    own = principal.window
    window, state, service = data.get("window"), data.get("state"), data.get("service")
    if window is not None:
        if window != own:
            raise Forbidden("只能处理本窗口的号票", "Only tickets of your own window", code="wrong_window",
                            window=window)
        return
    config = services_of(request).config
    served: set[str] = set()
    if config is not None and own is not None and own in getattr(config, "window_map", {}):
        served = {s.code for s in config.window(own).services}
    if state == "issued" and service not in served:
        raise Forbidden("本窗口不办理该业务", "Your window does not serve this ticket's service",
                        code="wrong_window")


def window_clerk(principal: Principal | None, asked: str | None) -> str | None:
    """Who is shown at (and credited with the ratings of) a window a principal opens.

    A clerk is always their own account (``name (username)``), never what the body says; a
    supervisor or a device host may name the clerk it opens the window for (the transition
    still records who acted).
    """
    if principal is not None and principal.role is Role.CLERK:
        return f"{principal.name} ({principal.subject})"[:64] if principal.name else principal.subject[:64]
    if asked is None and principal is not None and principal.role in STAFF:
        return f"{principal.name} ({principal.subject})"[:64] if principal.name else principal.subject[:64]
    return asked


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


async def sim_guard(request: Request) -> None:
    """Demo simulators: from this machine, or for a supervisor; a 404 outside demo mode is the route's.

    Simulator routes press keys, place cards and show what was printed: on a demo reachable from
    the network (``--host 0.0.0.0``) a stranger must not drive them.
    """
    from server.auth.limits import client_ip
    from server.auth.roles import MANAGERS, get_principal
    from server.errors import Unauthenticated

    if not services_of(request).settings.demo:
        return
    principal = await get_principal(request)
    if principal is not None and principal.role in MANAGERS and not principal.must_change_password:
        return
    if client_ip(request) in LOOPBACK:
        return
    raise Unauthenticated() if principal is None else Forbidden()
