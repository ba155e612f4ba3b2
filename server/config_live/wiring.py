"""Start-up and reloading: the stored version wins over the YAML, and every process follows ``config.changed``.

``boot(store, yaml_config)`` runs in the app's lifespan right after the store opened: on the
very first start the YAML becomes version 1; a changed YAML becomes the next version while
nobody changed the configuration live; after a live change the newest stored version wins
(``hallq config import`` loads a changed YAML then; ``versions.bootstrap``).
``start(services, live)`` then makes the parts that keep a config follow every change: the
``Services`` container, the store (rules, calendar, policy), the kiosk flow, the alert inbox and
the embedded device host (device *list* changes still need a device-host restart).
"""

from __future__ import annotations

import logging
from typing import Any

from server.config import HallConfig
from server.config_live import versions
from server.config_live.holder import LiveConfig
from server.queue.events import Event, EventType

log = logging.getLogger(__name__)


def boot(store: Any, config: HallConfig) -> LiveConfig:
    """The live configuration of this process at start-up (the YAML's when the store keeps none)."""
    if not callable(getattr(store, "_tx", None)):  # a test double without a database: not stored
        return LiveConfig(config, 0)
    stored = versions.bootstrap(store, config)
    current = stored.loads()
    if current is None:  # stored under an older schema that no longer validates: serve the YAML, say so
        log.error("stored hall configuration version %d does not validate any more; serving the YAML file",
                  stored.version)
        return LiveConfig(config, stored.version)
    if versions.same(current, config):
        return LiveConfig(config, stored.version)  # the YAML's own objects (int-keyed driver options)
    if versions.document_of(current)["devices"] == versions.document_of(config)["devices"]:
        current = current.model_copy(update={"devices": config.devices})
    log.warning("the hall configuration was changed live: stored version %d is used, not the YAML file "
                "(load a changed YAML with `hallq config import`)", stored.version)
    store.reconfigure(current)
    return LiveConfig(current, stored.version)


def _follow(services: Any) -> Any:
    def apply(old: HallConfig, new: HallConfig) -> None:
        services.config = new
        services.store.reconfigure(new)
        kiosks = services.kiosks
        kiosks.config = new
        kiosks.sessions.config = new
        kiosks.sessions.settings = new.identity
        kiosks.sessions.kiosks = {k.id for k in new.kiosks}
        if services.alerts is not None and getattr(services.alerts, "config", None) is not None:
            services.alerts.config = new
        host = services.devices
        if host is not None:  # texts and labels follow; which devices run changes only on a restart
            kept = new.model_copy(update={"devices": host.config.devices})  # as started (driver options)
            host.config = kept
            manager = getattr(host, "manager", None)
            if manager is not None:
                manager.config = kept

    return apply


def _newest(store: Any) -> versions.Version | None:
    with store._read() as conn:
        return versions.latest(conn)


def reload_now(services: Any) -> bool:
    """Read the newest stored version and apply it when it is newer (blocking; on the event loop's thread)."""
    live: LiveConfig | None = services.live
    if live is None:
        return False
    newest = _newest(services.store)
    if newest is None or newest.version <= live.version:
        return False
    return live.apply(newest.config(), newest.version)


def start(services: Any, live: LiveConfig) -> LiveConfig:
    """Wire ``live`` into the running hall: listeners, and a hub handler for other processes' changes."""
    live.subscribe(_follow(services))

    async def on_event(event: Event) -> None:
        if event.type is not EventType.CONFIG_CHANGED:
            return
        version = event.data.get("version")
        if isinstance(version, int) and version > live.version:
            # read on the read pool; apply on the loop, so listeners never race request handlers
            newest = await services.hall.run(_newest, services.store)
            if newest is not None and newest.version > live.version:
                live.apply(newest.config(), newest.version)
                log.info("hall configuration version %d applied", newest.version)

    services.hub.add_handler(on_event, topics=versions.TOPICS[1:])
    return live
