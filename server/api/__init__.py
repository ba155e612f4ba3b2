"""HTTP and websocket API of the queue server: one router per audience, and ``ROUTERS``.

``ROUTERS`` is the one list of routers the app includes (``server/app.py``), in order; no
component mounts routes of its own. A new router is one more line here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from server.api import (
    alerts,
    announcements,
    audit,
    cases,
    devices,
    exports,
    hall,
    kiosks,
    ops,
    pages,
    reports,
    tickets,
    video,
    windows,
    ws,
)
from server.auth import admin, public
from server.auth import router as auth
from server.http import docs


def _public(router: APIRouter, reason: str) -> APIRouter:
    """``router`` with a public access rule (for routers of ``server.http``, which sits below auth)."""
    wrapper = APIRouter(dependencies=[Depends(public(reason))])
    wrapper.include_router(router)
    return wrapper


ROUTERS: list[APIRouter] = [
    tickets.router,
    windows.router,
    hall.router,
    ws.router,
    ops.router,
    auth.router,
    admin.router,
    audit.router,
    devices.router,
    kiosks.router,
    announcements.router,
    video.router,
    reports.router,
    exports.router,
    alerts.router,
    cases.router,
    _public(docs.router, "API documentation"),
    pages.router,
]

__all__ = ["ROUTERS"]
