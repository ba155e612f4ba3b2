"""差评 cases (差评闭环台账) for supervisors, and the reason list the rating screens offer.

- ``GET /api/cases`` — cases with their deadlines; filters ``state``, ``window``, ``clerk``,
  ``overdue``, ``from``/``to`` (business days); ``/api/cases.csv`` and ``/api/cases.xlsx`` export them;
- ``GET /api/cases/{id}`` — one case with every step (who, when, what);
- ``POST /api/cases/{id}/{verify|rectify|reply|close|appeal}`` — one step (server/ratings/cases.py);
- ``POST /api/cases/sweep`` — alert overdue cases now (the ledger page and ``GET /api/cases``
  also sweep, so an overdue case raises its alert as soon as anyone looks);
- ``GET /api/rating-reasons`` — the hall's 差评 reasons (public: the window screen and phone page show them).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from server.auth import public
from server.auth.deps import Actor
from server.auth.roles import Role, allow
from server.deps import HallDep
from server.http.problems import responses
from server.ratings.cases import STATE_NAMES, CaseState
from server.ratings.reasons import reasons_of

router = APIRouter(tags=["cases"])
MANAGE = [Depends(allow(Role.SUPERVISOR, Role.ADMIN))]
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Action = Literal["verify", "rectify", "reply", "close", "appeal"]
COLUMNS = (("id", "案件编号"), ("number", "号票"), ("window", "窗口"), ("clerk", "工作人员"),
           ("service", "业务"), ("level", "评价等级"), ("channel", "渠道"), ("reasons", "原因"),
           ("text", "评价内容"), ("state_name", "状态"), ("opened_at", "登记时间"), ("verify_due", "核实期限"),
           ("rectify_due", "整改期限"), ("replied_at", "回复时间"), ("closed_at", "办结时间"),
           ("callback_result", "回访结果"), ("outcome", "结果"), ("overdue", "超期"),
           ("escalation_level", "督办等级"), ("escalated_at", "升级督办时间"))


class CaseStepRequest(BaseModel):
    """What a step records: ``finding`` (rectify), ``reply`` (reply), ``callback_result`` (close: 回访),
    ``reason`` (filing an appeal) or ``decision`` upheld|rejected with ``note`` (deciding it)."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)
    finding: str | None = Field(default=None, max_length=500)
    reply: str | None = Field(default=None, max_length=500)
    callback_result: Literal["satisfied", "unsatisfied", "unreachable"] | None = None
    reason: str | None = Field(default=None, max_length=500)
    decision: Literal["upheld", "rejected"] | None = None


def _filters(
    state: Annotated[CaseState | None, Query()] = None,
    window: Annotated[int | None, Query(ge=1, le=9999)] = None,
    clerk: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool | None, Query()] = None,
    start: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
) -> dict[str, Any]:
    return {"state": state.value if state else None, "window": window, "clerk": clerk, "overdue": overdue,
            "start": start, "end": end}


Filters = Annotated[dict[str, Any], Depends(_filters)]


async def _cases(hall: Any, filters: dict[str, Any]) -> list[dict[str, Any]]:
    await hall.sweep_cases()
    result: list[dict[str, Any]] = await hall.run(hall.store.list_cases, **filters)
    return result


@router.get("/api/cases", summary="差评 cases with deadlines (差评台账)", dependencies=MANAGE,
            responses=responses(422))
async def list_cases(hall: HallDep, filters: Filters) -> Any:
    """Cases, newest first, each with ``verify_due``/``rectify_due`` and ``overdue``."""
    items = await _cases(hall, filters)
    return {"items": items, "count": len(items), "states": STATE_NAMES}


def _rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for item in items:
        row = [", ".join(item[k]) if k == "reasons" else item.get(k) for k, _ in COLUMNS]
        # a cell starting with = + - @ would run as a formula in a spreadsheet
        out.append(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    return out


@router.get("/api/cases.csv", response_class=Response, summary="差评 ledger as CSV", dependencies=MANAGE,
            responses={200: {"content": {"text/csv": {}}}, **responses(422)})
async def cases_csv(hall: HallDep, filters: Filters) -> Response:
    """The filtered ledger as CSV with a BOM (opens in Excel)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([zh for _, zh in COLUMNS])
    writer.writerows(_rows(await _cases(hall, filters)))
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


@router.get("/api/cases.xlsx", response_class=Response, summary="差评 ledger as XLSX", dependencies=MANAGE,
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                       **responses(422)})
async def cases_xlsx(hall: HallDep, filters: Filters) -> Response:
    """The filtered ledger as an Excel workbook (openpyxl)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "差评台账"
    sheet.append([zh for _, zh in COLUMNS])
    for row in _rows(await _cases(hall, filters)):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="cases.xlsx"'})


@router.post("/api/cases/sweep", summary="Alert overdue cases now", dependencies=MANAGE)
async def sweep(hall: HallDep) -> Any:
    """Raise ``case_overdue`` alerts for cases past a deadline (once per case and stage)."""
    return {"alerted": await hall.sweep_cases()}


@router.get("/api/cases/{case_id}", summary="One 差评 case with its steps", dependencies=MANAGE,
            responses=responses(404, 422))
async def get_case(case_id: CaseId, hall: HallDep) -> Any:
    """The case, its deadlines and every step."""
    return await hall.run(hall.store.get_case, case_id)


@router.post("/api/cases/{case_id}/{action}", summary="Move a 差评 case one step", dependencies=MANAGE,
             responses=responses(404, 409, 422))
async def case_step(case_id: CaseId, action: Action, body: CaseStepRequest, hall: HallDep, actor: Actor) -> Any:
    """verify (→核实中), rectify (→整改中, finding), reply (→已回复), close (→已办结, 回访), appeal (申诉/decision)."""
    return await hall.case_step(case_id, action, body.model_dump(exclude_none=True), actor=actor)


@router.get("/api/rating-reasons", summary="Reasons offered for a 差评",
            dependencies=[Depends(public("the window screen and phone page offer them"))])
async def rating_reasons(hall: HallDep) -> Any:
    """The hall's reason list and the free-text limit."""
    cfg = hall.store.config
    return {"reasons": [r.model_dump() for r in reasons_of(cfg)], "required": cfg.ratings.require_reasons,
            "text_max": cfg.ratings.text_max, "bad_levels": [1, 2]}
