"""Report routes for supervisors: ``GET /api/reports/{kind}`` as JSON, CSV or XLSX (server/reports/)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from server.auth.roles import Principal, Role, allow
from server.http.problems import responses
from server.reports.assessment import parse_weights
from server.reports.export import to_csv, to_xlsx
from server.reports.report import Filters, build, build_assessment, parse_range, range_error, staffing_report
from server.services import services_of

router = APIRouter(tags=["reports"])
Supervisor = Annotated[Principal, Depends(allow(Role.SUPERVISOR, Role.ADMIN))]
Kind = Literal["summary", "services", "windows", "staff", "hourly", "tickets"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_response(report: dict[str, Any], fmt: str) -> Response:
    """The report in ``fmt``; files are downloads named after kind and range."""
    name = f"hallq-{report['kind']}-{report['from']}-{report['to']}"
    if fmt == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(to_xlsx(report), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return JSONResponse(report)


@router.get("/api/reports/assessment", summary="Monthly assessment (月度考核)", response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}, **responses(422)})
async def assessment(
    request: Request,
    principal: Supervisor,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    weights: Annotated[str | None, Query(max_length=200, description="e.g. done:30,wait_mean:20,satisfaction:50")
                       ] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Windows and clerks scored with configurable weights and ranked (``server/reports/assessment.py``)."""
    services = services_of(request)
    first, last = parse_range(start, end, today=_today(services.store))
    try:
        w = parse_weights(weights)
    except ValueError as exc:
        raise range_error("weights", "考核权重有误", str(exc)) from None
    data = await run_in_threadpool(build_assessment, services.store.engine, services.config, first, last, weights=w)
    return report_response(data, format)


@router.get("/api/reports/staffing", summary="Staffing advice (Erlang C 窗口配置建议)", response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}, **responses(422)})
async def staffing(
    request: Request,
    principal: Supervisor,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    weekday: Annotated[int | None, Query(ge=0, le=6, description="0 = Monday; only those days")] = None,
    share: Annotated[float, Query(gt=0, lt=1, description="share to serve within the wait target")] = 0.8,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Windows needed per service and hour of day to meet each service's wait target."""
    services = services_of(request)
    first, last = parse_range(start, end, today=_today(services.store))
    data = await run_in_threadpool(staffing_report, services.store.engine, services.config, first, last,
                                   weekday=weekday, share=share)
    return report_response(data, format)


@router.get("/api/reports/{kind}", summary="Reports (统计报表)", response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}, **responses(404, 422)})
async def report(
    request: Request,
    principal: Supervisor,
    kind: Annotated[Kind, Path(description="summary | services | windows | staff | hourly | tickets")],
    start: Annotated[str | None, Query(alias="from", max_length=10, description="ISO date (default today)")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10, description="ISO date, inclusive")] = None,
    group: Annotated[Literal["day", "week", "month"], Query(description="summary rows per")] = "day",
    service: Annotated[str | None, Query(max_length=32)] = None,
    window: Annotated[int | None, Query(ge=1, le=9999)] = None,
    clerk: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """KPIs of a range of business days (see ``server/reports/kpi.py`` for every formula)."""
    services = services_of(request)
    store = services.store
    first, last = parse_range(start, end, today=_today(store))
    data = await run_in_threadpool(build, store.engine, services.config, kind, first, last, group=group,
                                   filters=Filters(service, window, clerk))
    return report_response(data, format)


def _today(store: Any) -> dt.date:
    return dt.date.fromisoformat(store.business_day())
