"""Plugging the device manager into the app's lifespan (``server/app.py``).

``validate(settings, config)`` checks the ``devices:`` config when the app is built (a bad
entry raises DeviceConfigError naming the device, before serving); ``build_kiosks`` and
``build_cameras`` make the wirings the web side reads (``Services.kiosks`` /
``Services.cameras``); ``start(services)`` serves the websocket topics ``devices`` (from the
store) and ``host``, watches device hosts' heartbeats, and — unless ``settings.device_host``
is ``external`` — starts the embedded DeviceHost (``server/devices/host.py``) with an
InProcessQueue; ``stop(services)`` closes the live streams and the devices. The routes are
in ``server/api/__init__.py``'s ``ROUTERS``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.cameras.service import CameraService
from server.cameras.wiring import CameraWiring, CameraWiringOptions
from server.config import HallConfig
from server.config_live.follow import ConfigWiring
from server.devices.host import DeviceHost
from server.devices.manager import Wiring
from server.devices.port import InProcessQueue
from server.devices.status import HostWatch, device_list
from server.devices.validation import validate_devices
from server.installation import identity_hasher
from server.kiosk.printing import PrinterWiring
from server.kiosk.reader import ReaderWiring
from server.kiosk.service import KioskService, KioskSettings
from server.notices.modem import ModemWiring
from server.scanning.wiring import ScannerWiring
from server.settings import Settings
from server.windows import window_wirings

if TYPE_CHECKING:
    from server.services import Services


def public_base_url(settings: Settings, config: HallConfig) -> str:
    """Base of the /t/<token> links printed on tickets."""
    if config.server.public_url:
        return str(config.server.public_url).rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def validate(settings: Settings, config: HallConfig) -> None:
    """Check every device entry now; raises DeviceConfigError listing the bad ones."""
    validate_devices(config, overrides=settings.devices, allow_sim=settings.demo)


def build_kiosks(settings: Settings, config: HallConfig, store: Any, hall: Any) -> KioskService:
    """The kiosk feature's server side (``Services.kiosks``): card sessions, issuing, print jobs."""
    return KioskService(config, store, hall, identity_hasher(config.server.secret_path),
                        KioskSettings(print_wait_s=settings.kiosk_print_wait_seconds,
                                      host_stale_s=settings.device_stale_seconds))


def build_cameras(config: HallConfig) -> CameraService:
    """The camera service over a fresh camera wiring (``Services.cameras``)."""
    monitoring = config.monitoring
    return CameraService(CameraWiring(CameraWiringOptions(
        snapshot_root=Path(monitoring.snapshot_dir), retention_days=monitoring.snapshot_retention_days)))


def wirings_for(port: Any, cameras: Any = None, notices: Any = None) -> list[Wiring]:
    """The wirings of a device host: windows (LED, keypads, announcer), kiosk reader and printer, cameras, SMS."""
    found: list[Wiring] = [*window_wirings(port), ReaderWiring(port), PrinterWiring(port=port),
                           ModemWiring(port, notices=notices),  # the GSM modem sends queued notices
                           ScannerWiring(port)]  # kiosk QR scanners: code.scanned for the check-in page
    found.append(ConfigWiring(port))  # a remote host follows the live configuration (server/config_live/)
    if cameras is not None:
        found.append(cameras.wiring)
    return found


_WATCHES: dict[int, HostWatch] = {}


async def start(services: Services) -> DeviceHost | None:
    """Serve the ``devices``/``host`` topics from the store; run the embedded device host unless external."""
    settings, config, hub, store, hall = (services.settings, services.config, services.hub, services.store,
                                          services.hall)
    stale_ms = int(settings.device_stale_seconds * 1000)
    # a host is offline after stale_seconds of silence: reading the heartbeats six times in that
    # span is enough (once a second was a share of an idle server's CPU: bench/bench_footprint.py)
    watch = HostWatch(store, hall, hub, config, stale_seconds=settings.device_stale_seconds,
                      every=max(1.0, settings.device_stale_seconds / 6))
    _WATCHES[id(services)] = watch
    watch.start()

    async def devices_topic(_: str) -> Any:
        return await hall.run(device_list, store, config, stale_ms)

    async def host_topic(_: str) -> Any:
        return {"seq": hub.last_seq}  # the device host's stream starts here; it reads older events from the log

    hub.register_snapshot("devices", devices_topic)
    hub.register_snapshot("host", host_topic)
    if settings.device_host != "embedded":
        if services.cameras is not None:  # live video comes from the device host's loopback relay
            services.cameras.use_relay(config)
        return None  # `hallq devices` runs them (the child of `hallq serve --workers N`, or elsewhere)
    # a stable name: a restarted server takes its own claims back at once instead of waiting them out
    name = f"embedded/{socket.gethostname()}"
    port = InProcessQueue(hall, hub, kiosks=services.kiosks, store=store,
                          stale_seconds=settings.device_stale_seconds, label=f"hallq serve on {socket.gethostname()}")
    host = DeviceHost(config, port, name=name,
                      wirings=wirings_for(port, services.cameras, services.notices), demo=settings.demo,
                      overrides=settings.devices, public_base_url=public_base_url(settings, config),
                      heartbeat_seconds=settings.device_heartbeat_seconds)
    await host.start()
    return host


async def stop(services: Services) -> None:
    """End the live streams (they would hold a graceful shutdown), then close the devices."""
    if services.cameras is not None:
        await services.cameras.close()
    if services.devices is not None:
        await services.devices.stop()
    watch = _WATCHES.pop(id(services), None)
    if watch is not None:
        await watch.stop()
