"""Small dependencies for routers: who is acting (for transitions and audit), and the caller's kiosk.

The dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
thread pool, which would cost a thread hop per request for a mere attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.auth.roles import Forbidden, Principal, Role


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
