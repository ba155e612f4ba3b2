"""Small dependencies for routers: who is acting (for transitions and audit), and the caller's kiosk."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.auth.roles import Forbidden, Principal, Role


def actor_of(request: Request) -> str:
    """The acting principal as written into ticket transitions (``clerk:A0101@3``, ``kiosk:k1`` …)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.actor if principal is not None else "anonymous"


def caller_of(request: Request) -> Principal | None:
    """The principal resolved by the route's ``allow(...)`` declaration (None on public routes)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def bound_kiosk(request: Request, requested: str | None) -> str | None:
    """The kiosk a ticket is taken at: a kiosk principal may only name itself."""
    principal = caller_of(request)
    if principal is None or principal.role is not Role.KIOSK:
        return requested
    if requested is not None and requested != principal.kiosk:
        raise Forbidden("只能操作本取号机", "Only this kiosk", code="wrong_kiosk")
    return principal.kiosk


Actor = Annotated[str, Depends(actor_of)]
Caller = Annotated[Principal | None, Depends(caller_of)]
