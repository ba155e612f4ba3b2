"""The typed container of everything a running hall is made of: ``app.state.services``.

``server.app.lifespan`` builds one ``Services`` when the app starts and stores it as the only
attribute of ``app.state``; routes reach its parts through the ``Annotated`` dependencies of
``server/deps.py`` (``HallDep``, ``KiosksDep`` …), other code through ``services_of(conn)``.
This module imports nothing at run time, so every package may depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from server.alerts.inbox import AlertInbox
    from server.auth.service import AuthService
    from server.cameras.service import CameraService
    from server.config import HallConfig
    from server.config_live.holder import LiveConfig
    from server.devices.host import DeviceHost
    from server.hall.hub import Hub
    from server.hall.service import HallService
    from server.haochaping.sender import ExportService
    from server.kiosk.service import KioskService
    from server.metrics import Metrics
    from server.notices.service import NoticeService
    from server.settings import Settings
    from server.store import QueueStore


@dataclass
class Services:
    """The parts of one running hall, built once in the app's lifespan."""

    settings: Settings
    config: HallConfig
    metrics: Metrics
    hub: Hub
    store: QueueStore
    hall: HallService
    auth: AuthService
    kiosks: KioskService  # the kiosk flow (card sessions, issuing, print jobs); always present
    devices: DeviceHost | None = None  # the embedded device host; None when devices run in another process
    cameras: CameraService | None = None  # live video, snapshots and evidence; None without cameras
    exports: ExportService | None = None  # 办件 bindings and the 好差评 upload outbox (server/haochaping/)
    alerts: AlertInbox | None = None  # the supervisors' stored alert inbox (server/alerts/)
    live: LiveConfig | None = None  # the live hall configuration (server/config_live/); .config follows it
    notices: NoticeService | None = None  # SMS notices: contacts, outbox, sender (server/notices/)


class NotStarted(RuntimeError):
    """The app's lifespan has not built its services yet (or has torn them down)."""


def services_of(conn: HTTPConnection) -> Services:
    """The services of the app serving ``conn`` (a request or a websocket)."""
    services: Services | None = getattr(conn.app.state, "services", None)
    if services is None:
        raise NotStarted("the app has not started: app.state.services is missing")
    return services
