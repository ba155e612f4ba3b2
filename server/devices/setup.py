"""Plugging the device manager into the app: one call in ``create_app``.

::

    from server.devices.setup import install as install_devices
    install_devices(app)   # after app.state.* are set, before returning the app

It mounts ``server.api.devices.router``, validates the ``devices:`` config at once
(a bad entry raises ConfigurationError naming the device, before serving), and on
startup builds ``app.state.devices`` (a DeviceManager), follows queue events through
``hub.add_handler`` and serves the websocket topic ``devices``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from server.api import announcements, identity, video
from server.api.devices import router
from server.devices.cameras import CameraWiring, CameraWiringOptions
from server.devices.identity import IdentityWiring
from server.devices.manager import DeviceManager
from server.devices.validation import validate_devices
from server.devices.window_wiring import WindowWiring


def public_base_url(app: FastAPI) -> str:
    """Base of the /t/<token> links printed on tickets."""
    config = app.state.config
    if config.server.public_url:
        return str(config.server.public_url).rstrip("/")
    settings = app.state.settings
    return f"http://{settings.host}:{settings.port}"


def install(app: FastAPI) -> None:
    """Mount the devices router and start/stop the manager with the app."""
    if getattr(app.state, "devices_installed", False):
        return  # idempotent: create_app and a test may both call it
    app.state.devices_installed = True
    settings, config = app.state.settings, app.state.config
    validate_devices(config, overrides=settings.devices, allow_sim=settings.demo)
    for extra in (router, identity.router, announcements.router, video.router):
        app.include_router(extra)
    app.state.identity = IdentityWiring.from_config(config)
    monitoring = config.monitoring
    app.state.cameras = CameraWiring(
        CameraWiringOptions(
            snapshot_root=Path(monitoring.snapshot_dir), retention_days=monitoring.snapshot_retention_days
        )
    )

    async def start(app: FastAPI) -> None:
        hub = app.state.hub
        manager = DeviceManager(
            config, app.state.hall, hub.publish_ephemeral, demo=settings.demo,
            overrides=settings.devices, public_base_url=public_base_url(app),
        )
        app.state.devices = manager
        # wirings turn queue events into device actions and device events into queue operations
        manager.add_wiring(WindowWiring())
        manager.add_wiring(app.state.identity)
        manager.add_wiring(app.state.cameras)
        await manager.start()
        hub.add_handler(manager.on_queue_event)
        hub.register_snapshot("kiosk", app.state.identity.kiosk_snapshot)

        async def devices_topic(_: str) -> Any:
            return manager.snapshot()

        hub.register_snapshot("devices", devices_topic)

    async def stop(app: FastAPI) -> None:
        await video.close_streams(app)
        manager = getattr(app.state, "devices", None)
        if manager is not None:
            await manager.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
