"""The ASGI application factory: ``create_app(settings)``.

Extension points for other components (device manager, pages, reports):

* ``app.state.hub`` — the event hub (``hub.add_handler`` to follow queue events,
  ``hub.publish_ephemeral`` for device/alert events, ``hub.register_snapshot`` for a
  websocket topic prefix such as ``devices``);
* ``app.state.hall`` — the async queue facade (implements ``server.devices.ports.QueueOps``),
  available once the app has started;
* ``app.state.startup_hooks`` / ``app.state.shutdown_hooks`` — async callables taking the
  app, run in order after the queue is up / in reverse order before it goes down.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from server.api import hall as hall_api
from server.api import ops, problems, tickets, windows, ws
from server.api.docs import mount_docs
from server.api.ops import VERSION, TimingMiddleware
from server.api.pages import mount_pages
from server.auth import install as install_auth
from server.config import HallConfig, load_config
from server.devices.setup import install as install_devices
from server.events import Hub
from server.hallservice import HallService
from server.metrics import Metrics
from server.settings import Settings

log = logging.getLogger(__name__)
Hook = Callable[[FastAPI], Awaitable[None]]


def database_url(settings: Settings, config: HallConfig) -> str:
    """The effective database URL; makes the directory of a SQLite file."""
    url = settings.database_url or config.server.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def open_store(url: str, config: HallConfig) -> Any:
    """Create and migrate the queue store."""
    from server.store import QueueStore

    store = QueueStore(url, config)
    store.migrate()
    return store


def _register_snapshots(hub: Hub, hall: HallService) -> None:
    async def hall_topic(_: str) -> Any:
        return await hall.snapshot()

    async def window_topic(arg: str) -> Any:
        number = int(arg)
        return {"window": await hall.window(number), "waiting": await hall.waiting_for_window(number)}

    async def ticket_topic(arg: str) -> Any:
        return await hall.get_ticket(int(arg))

    hub.register_snapshot("hall", hall_topic)
    hub.register_snapshot("window", window_topic)
    hub.register_snapshot("ticket", ticket_topic)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the store, start the facade and hooks; undo in reverse order."""
    settings: Settings = app.state.settings
    config: HallConfig = app.state.config
    hub: Hub = app.state.hub
    url = database_url(settings, config)
    store = app.state.store_factory(url, config)
    inline = settings.store_writes == "inline" or (
        settings.store_writes == "auto" and make_url(url).get_backend_name() == "sqlite"
    )
    hall = HallService(store, hub, app.state.metrics, threads=settings.store_threads,
                       poll_seconds=settings.event_poll_seconds, inline_writes=inline)
    app.state.store = store
    app.state.hall = hall
    await hall.startup()
    _register_snapshots(hub, hall)
    hub.start()
    ran: list[Hook] = []
    try:
        for hook in app.state.startup_hooks:
            await hook(app)
            ran.append(hook)
        log.info("hallq ready: %s, %d services, %d windows", config.hall.name, len(config.services),
                 len(config.windows))
        yield
    finally:
        for hook in reversed(app.state.shutdown_hooks):
            try:
                await hook(app)
            except Exception:
                log.exception("shutdown hook %r failed", hook)
        await hub.stop()
        await hall.shutdown()
        store.close()


def create_app(
    settings: Settings | None = None,
    *,
    config: HallConfig | None = None,
    store_factory: Callable[[str, HallConfig], Any] | None = None,
) -> FastAPI:
    """Build the app for one hall; the store opens when the app starts (lifespan)."""
    settings = settings or Settings()
    config = config or load_config(settings.config)
    app = FastAPI(
        title="hallq",
        version=VERSION,
        summary="Queue management for government service halls (政务服务中心排队叫号)",
        description="Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code` "
        "and Chinese (`zh`) and English (`en`) messages. Live updates: websocket `/ws`.",
        lifespan=lifespan,
        docs_url=None,  # served offline by server.api.docs
        redoc_url=None,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.config = config
    app.state.metrics = metrics
    app.state.hub = Hub(settings.subscriber_queue)
    app.state.store_factory = store_factory or open_store
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    problems.install(app)
    app.add_middleware(TimingMiddleware, metrics=metrics)
    for router in (tickets.router, windows.router, hall_api.router, ws.router, ops.router):
        app.include_router(router)
    install_auth(app)  # auth + audit routes, body limit / security headers / token redaction middleware
    install_devices(app)
    mount_docs(app)
    mount_pages(app)  # last: it mounts /static
    return app


async def freeze_gc(app: FastAPI) -> None:
    """Move start-up objects (routes, models, config) out of the collector's full passes.

    They live as long as the process; without this a full collection adds tens of ms to the
    latency tail. Only for server processes: tests build many apps in one process.
    """
    gc.collect()
    gc.freeze()


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``hallq serve``): settings come from the ``HALLQ_*`` environment."""
    app = create_app(Settings())
    app.state.startup_hooks.append(freeze_gc)
    return app
