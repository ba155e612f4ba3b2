"""``Annotated`` dependencies of the routes: the parts of ``Services`` and the caller.

::

    @router.post("/api/windows/{number}/call-next")
    async def call_next(number: WindowNumber, hall: HallDep, actor: Actor) -> TicketOut: ...

Every dependency reads the one ``app.state.services`` (``server/services.py``). They are
``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a
thread hop per request for an attribute read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from server.auth.deps import Actor, Caller, actor_of, bound_kiosk, caller_of, principal_of
from server.services import Services, services_of

if TYPE_CHECKING:
    from server.auth.service import AuthService
    from server.cameras.service import CameraService
    from server.config import HallConfig
    from server.devices.host import DeviceHost
    from server.hall.hub import Hub
    from server.hall.service import HallService
    from server.kiosk.service import KioskService
    from server.metrics import Metrics
    from server.settings import Settings
    from server.store import QueueStore

MAX_ID = 2**31 - 1


async def get_services(conn: HTTPConnection) -> Services:
    """The running hall's services."""
    return services_of(conn)


async def get_settings(conn: HTTPConnection) -> Settings:
    """Process settings."""
    return services_of(conn).settings


async def get_config(conn: HTTPConnection) -> HallConfig:
    """The hall configuration."""
    return services_of(conn).config


async def get_metrics(conn: HTTPConnection) -> Metrics:
    """Request and queue metrics."""
    return services_of(conn).metrics


async def get_hub(conn: HTTPConnection) -> Hub:
    """The event hub."""
    return services_of(conn).hub


async def get_store(conn: HTTPConnection) -> QueueStore:
    """The synchronous queue store (prefer ``HallDep`` in routes)."""
    return services_of(conn).store


async def get_hall(conn: HTTPConnection) -> HallService:
    """The async queue facade."""
    return services_of(conn).hall


async def get_auth(conn: HTTPConnection) -> AuthService:
    """Accounts, tokens and sessions."""
    return services_of(conn).auth


async def get_kiosks(conn: HTTPConnection) -> KioskService:
    """The kiosk flow (card sessions, issuing at a kiosk)."""
    return services_of(conn).kiosks


async def get_devices(conn: HTTPConnection) -> DeviceHost | None:
    """The device host of this process (None when devices run elsewhere)."""
    return services_of(conn).devices


async def get_cameras(conn: HTTPConnection) -> CameraService | None:
    """The camera wiring (None when the hall has none)."""
    return services_of(conn).cameras


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated["Settings", Depends(get_settings)]
ConfigDep = Annotated["HallConfig", Depends(get_config)]
MetricsDep = Annotated["Metrics", Depends(get_metrics)]
HubDep = Annotated["Hub", Depends(get_hub)]
StoreDep = Annotated["QueueStore", Depends(get_store)]
HallDep = Annotated["HallService", Depends(get_hall)]
AuthDep = Annotated["AuthService", Depends(get_auth)]
KiosksDep = Annotated["KioskService", Depends(get_kiosks)]
DevicesDep = Annotated["DeviceHost | None", Depends(get_devices)]
CamerasDep = Annotated["CameraService | None", Depends(get_cameras)]

TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="Ticket id")]
WindowNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="Window number (窗口号)")]

__all__ = [
    "MAX_ID",
    "Actor",
    "AuthDep",
    "Caller",
    "CamerasDep",
    "ConfigDep",
    "DevicesDep",
    "HallDep",
    "HubDep",
    "KiosksDep",
    "MetricsDep",
    "ServicesDep",
    "SettingsDep",
    "StoreDep",
    "TicketId",
    "WindowNumber",
    "actor_of",
    "bound_kiosk",
    "caller_of",
    "get_services",
    "principal_of",
]
