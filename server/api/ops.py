"""Operations: liveness (/healthz) and Prometheus metrics (/metrics); request timing is server/http/timing.py."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from server.api.models import Health
from server.auth import MANAGERS, Role, allow, public
from server.deps import ConfigDep, HallDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])

try:
    VERSION = version("hallq")
except PackageNotFoundError:  # running from a source tree without installing
    VERSION = "0"


@router.get("/healthz", response_model=Health, summary="Liveness and database check",
            responses={503: {"model": Health, "description": "The database does not answer"}},
            dependencies=[Depends(public("liveness probe"))])
async def healthz(request: Request, hall: HallDep) -> Any:
    """200 when the database answers, 503 otherwise."""
    try:
        await hall.run(hall.store.last_events, hall.hub.last_seq, 1)
        ok = True
    except Exception:
        log.exception("health check: database error")
        ok = False
    body = Health(status="ok" if ok else "degraded", database=ok, seq=hall.hub.last_seq,
                  subscribers=hall.hub.subscriber_count, version=VERSION)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition format"}},
            dependencies=[Depends(allow(Role.DEVICE, *MANAGERS))])
async def metrics(hall: HallDep, config: ConfigDep) -> Response:
    """Ticket counters by service, waiting gauges, request latency by route."""
    try:
        await hall.refresh_waiting_gauges()
    except Exception:  # metrics must still answer when the store is down
        log.exception("metrics: cannot read the waiting counts")
    try:
        await hall.run(_device_gauges, hall, config)
    except Exception:
        log.exception("metrics: cannot read the device statuses")
    hall.metrics.subscribers.set(hall.hub.subscriber_count)
    return Response(hall.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _device_gauges(hall: Any, config: Any) -> None:
    """Set the device gauges from the store (blocking: runs on a read thread)."""
    from server.devices.status import device_list

    listed = device_list(hall.store, config)
    reported = {device: at for device, (_entry, at) in hall.store.device_statuses().items()}
    hall.metrics.set_devices(listed["devices"], reported, hall.store.now_ms())
