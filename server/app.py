"""The composition root: ``create_app(settings)`` builds the app, its lifespan builds ``Services``.

What is built when:

* ``create_app`` — the middleware stack, the one problem handler, every router of
  ``server.api.ROUTERS``, the static bundles, and the parts that exist before the database
  opens (settings, hall config, metrics, event hub); the ``devices:`` config is validated here
  so a bad entry fails before serving;
* ``lifespan`` — opens the store, starts the queue facade, the auth service, the kiosk and
  camera services and the device manager, and stores them as ``app.state.services``
  (``server/services.py``), the only attribute of ``app.state``. Routes read it through
  ``server/deps.py``.

``on_startup`` / ``on_shutdown`` callables (taking the ``Services``) run after everything
is up / before anything goes down.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from server.alerts.wiring import start_inbox
from server.api import ROUTERS
from server.api.ops import VERSION
from server.api.staff import PHOTO_UPLOAD_LIMIT
from server.appointments.checkin import check_in as appointment_check_in
from server.auth import document as document_auth
from server.auth import start_auth
from server.auth.links import DeviceLinkMiddleware
from server.auth.service import AuthSettings
from server.config import HallConfig, load_config
from server.config_live import wiring as config_live
from server.hall.hub import Hub
from server.hall.service import HallService
from server.haochaping.sender import start_exports
from server.hosting import embedded as devices
from server.http import docs, problems
from server.http.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from server.http.pages import mount_static
from server.http.request_ids import RequestIdMiddleware
from server.http.timing import TimingMiddleware
from server.metrics import Metrics
from server.notices.wiring import start_notices
from server.services import Services
from server.settings import Settings
from server.staff import demo as staff_demo

log = logging.getLogger(__name__)
Hook = Callable[[Services], Awaitable[None]]
StoreFactory = Callable[[str, HallConfig], Any]


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


@dataclass
class Blueprint:
    """What ``create_app`` decided and the lifespan builds from."""

    settings: Settings
    config: HallConfig
    metrics: Metrics
    hub: Hub
    store_factory: StoreFactory
    auth_settings: AuthSettings
    on_startup: list[Hook]
    on_shutdown: list[Hook]


def _lifespan(plan: Blueprint) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Open the store, start the services; undo in reverse order."""
        settings, config, hub = plan.settings, plan.config, plan.hub
        url = database_url(settings, config)
        store = plan.store_factory(url, config)
        live = config_live.boot(store, config)  # the stored version wins over the YAML (server/config_live/)
        config = live.current
        inline = settings.store_writes == "inline" or (
            settings.store_writes == "auto" and make_url(url).get_backend_name() == "sqlite"
        )
        hall = HallService(store, hub, plan.metrics, threads=settings.store_threads,
                           poll_seconds=settings.event_poll_seconds, inline_writes=inline)
        await hall.startup()
        services: Services | None = None
        try:
            auth = await start_auth(config, store, demo=settings.demo, settings=plan.auth_settings)
            if settings.demo:  # the demo clerks' 所属单位 and placeholder photos (server/staff/demo.py)
                await auth.run(staff_demo.seed, auth, config)
            services = Services(settings=settings, config=config, metrics=plan.metrics, hub=hub, store=store,
                                hall=hall, auth=auth, kiosks=devices.build_kiosks(settings, config, store, hall),
                                cameras=devices.build_cameras(config))
            _register_snapshots(hub, hall)
            hub.start()
            services.kiosks.start(hub)
            # 预约签到 at kiosks (server/appointments/); the booking's mobile number moves to the ticket's notices
            services.kiosks.check_in_hook = functools.partial(appointment_check_in, notices=lambda: services.notices)
            services.alerts = start_inbox(services)  # stored alert inbox (server/alerts/)
            services.exports = start_exports(services)  # 办件 bindings + 好差评 upload (server/haochaping/)
            services.live = config_live.start(services, live)  # every process follows config.changed
            services.notices = start_notices(services)  # SMS notices (server/notices/)
            app.state.services = services
            services.devices = await devices.start(services)
            for hook in plan.on_startup:
                await hook(services)
            log.info("hallq ready: %s, %d services, %d windows", config.hall.name, len(config.services),
                     len(config.windows))
            yield
        finally:
            if services is not None:
                for hook in reversed(plan.on_shutdown):
                    try:
                        await hook(services)
                    except Exception:
                        log.exception("shutdown hook %r failed", hook)
                await devices.stop(services)
                if services.alerts is not None:
                    await services.alerts.stop()
                await services.kiosks.stop()
                if services.exports is not None:
                    await services.exports.stop()
                if services.notices is not None:
                    await services.notices.stop()
            await hub.stop()
            await hall.shutdown()
            store.close()

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    config: HallConfig | None = None,
    store_factory: StoreFactory | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> FastAPI:
    """Build the app for one hall; the store and the services start with the app (lifespan)."""
    settings = settings or Settings()
    config = config or load_config(settings.config)
    devices.validate(settings, config)
    auth_settings = AuthSettings()
    plan = Blueprint(settings=settings, config=config, metrics=Metrics(), hub=Hub(settings.subscriber_queue),
                     store_factory=store_factory or open_store, auth_settings=auth_settings,
                     on_startup=list(on_startup), on_shutdown=list(on_shutdown))
    app = FastAPI(
        title="hallq",
        version=VERSION,
        summary="Queue management for government service halls (政务服务中心排队叫号)",
        description="Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code` "
        "and Chinese (`zh`) and English (`en`) messages. Live updates: websocket `/ws`.",
        lifespan=_lifespan(plan),
        docs_url=None,  # served offline by server.http.docs
        redoc_url=None,
    )
    problems.install(app)
    # innermost first: each add_middleware wraps the ones before it
    app.add_middleware(TimingMiddleware, metrics=plan.metrics)
    app.add_middleware(DeviceLinkMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body=auth_settings.max_body,
                       wider=PHOTO_UPLOAD_LIMIT)  # staff photos: server/api/staff.py checks staff.photo_max_bytes
    app.add_middleware(SecurityHeadersMiddleware)  # the 413 answer gets the headers too
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer and log line carries the id
    for router in ROUTERS:
        app.include_router(router)
    document_auth(app)
    docs.mount_assets(app)
    mount_static(app)  # last: /static would shadow nothing after it
    return app


async def freeze_gc(_: Services) -> None:
    """Move start-up objects (routes, models, config) out of the collector's full passes.

    They live as long as the process; without this a full collection adds tens of ms to the
    latency tail. Only for server processes: tests build many apps in one process.
    """
    gc.collect()
    gc.freeze()


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``hallq serve``): settings come from the ``HALLQ_*`` environment."""
    from server import logs
    from server.malloc import tune_malloc

    tune_malloc()  # a no-op when `hallq serve` already did (server/malloc.py)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)  # each worker process: one format, request ids
    return create_app(settings, on_startup=[freeze_gc])
