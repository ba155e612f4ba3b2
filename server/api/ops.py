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
from server.deps import HallDep

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
async def metrics(hall: HallDep) -> Response:
    """Ticket counters by service, waiting gauges, request latency by route."""
    try:
        await hall.refresh_waiting_gauges()
    except Exception:  # metrics must still answer when the store is down
        log.exception("metrics: cannot read the waiting counts")
    hall.metrics.subscribers.set(hall.hub.subscriber_count)
    return Response(hall.metrics.render(), media_type=CONTENT_TYPE_LATEST)
