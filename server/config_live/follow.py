"""``ConfigWiring``: a device host in its own process (``hallq devices``) follows the live configuration.

The embedded host of ``hallq serve`` shares its process's ``LiveConfig`` (``wiring.py``). A
remote host starts from its YAML; this wiring replaces that with the server's stored version
at start and on every ``config.changed`` (``GET /api/config/host``), so ticket texts, 一次告知,
window labels and the 监督电话 follow. Which devices run is fixed when the host starts: a changed
``devices:`` list takes effect on the host's next restart.
"""

from __future__ import annotations

import logging
from typing import Any

from server.config import HallConfig
from server.queue.events import Event, EventType

log = logging.getLogger(__name__)


class ConfigWiring:
    """Keeps ``manager.config`` at the server's newest configuration (remote hosts only)."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.manager: Any = None
        self.version = 0

    @property
    def remote(self) -> bool:
        """True for a host that reaches the queue over HTTP (``RemoteQueue``)."""
        return callable(getattr(self.port, "_call", None))

    async def start(self, manager: Any) -> None:
        """Take the server's configuration now (a server that is not up yet is retried on the next change)."""
        self.manager = manager
        await self._refresh()

    async def on_event(self, event: Event) -> None:
        """Reload on ``config.changed`` of a newer version."""
        if event.type is EventType.CONFIG_CHANGED and int(event.data.get("version") or 0) > self.version:
            await self._refresh()

    async def stop(self) -> None:
        """Nothing to release."""

    async def _refresh(self) -> None:
        if not self.remote or self.manager is None:
            return
        try:
            answer = await self.port._call("GET", "/api/config/host")
            config = HallConfig.model_validate(answer["config"])
        except Exception as exc:  # an older server or a restart in progress: keep the YAML's until the next change
            log.warning("device host: the server's configuration could not be read (%s); keeping the current one", exc)
            return
        old: HallConfig = self.manager.config
        # the device list, their URLs and the server settings stay as this host started with them
        config = config.model_copy(update={"devices": old.devices, "server": old.server})
        self.manager.config = config
        self.version = int(answer["version"])
        log.info("device host: hall configuration version %d applied", self.version)
