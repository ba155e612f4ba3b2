"""HTTP and websocket API of the queue server: one router per audience, and ``ROUTERS``.

``ROUTERS`` is the one list of routers the app includes (``server/app.py``), in order; no
component mounts routes of its own. A new router is one more line here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from server.api import (
    alerts,
    announcements,
    appointments,
    audit,
    cases,
    config,
    console,
    devices,
    exports,
    hall,
    kiosks,
    notices,
    ops,
    pages,
    reports,
    staff,
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
    staff.router,  # staff directory (server/staff/)
    config.router,  # live hall configuration (server/config_live/)
    console.router,  # clerk console: 代取号, 绿色通道, call-backs, transfer targets
    appointments.router,  # 预约, 远程取号, kiosk check-in (server/appointments/)
    notices.router,  # SMS notices: a ticket's number, the outbox, the modem host (server/notices/)
    _public(docs.router, "API documentation"),
    pages.router,
]

__all__ = ["ROUTERS"]
