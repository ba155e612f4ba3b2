"""Clerk-console endpoints: 代取号 / 绿色通道 on a citizen's behalf, the call-back list, transfer targets.

The rules live in server/console/; the page is displays/templates/clerk.html.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.auth import MANAGERS, STAFF, Role, allow, limit_issue
from server.auth.deps import principal_of
from server.auth.disclosure import redact_identity, sees_identity
from server.auth.limits import client_ip
from server.console.callbacks import with_time_left
from server.console.proxy import ProxyRequest, issue_on_behalf
from server.console.targets import transfer_targets
from server.deps import ServicesDep, WindowNumber
from server.errors import Forbidden, NotFound
from server.http.problems import responses
from server.store.tables import tickets

router = APIRouter(prefix="/api/console", tags=["console"])
READER_KIND = "idcard_reader"
STAFF_ONLY = [Depends(allow(*STAFF, window_param=None))]
AT_WINDOW = [Depends(allow(Role.CLERK, *MANAGERS))]  # a clerk only at the window they signed into


class ProxyIssueRequest(BaseModel):
    """代取号 / 绿色通道: a ticket taken by staff on a citizen's behalf."""

    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=32, description="A code of console.proxy_reasons "
                        "(console.green_reasons for priority green)")
    priority: Literal["normal", "priority", "green"] = "normal"
    id_number: str | None = Field(default=None, max_length=24, description="The citizen's ID number (optional; "
                                  "checked by its GB 11643 check digit, stored only as keyed hash + mask)")
    note: str | None = Field(default=None, max_length=60)
    print_at: str | None = Field(default=None, max_length=64, description="Kiosk (or desk) whose printer prints it")
    card_at: str | None = Field(default=None, max_length=64, description="Kiosk (or desk) whose ID-card reader holds "
                                "the citizen's card (instead of a typed number)")


def _reason_list(items: Any) -> list[dict[str, str]]:
    return [r.model_dump() for r in items]


@router.get("/options", summary="The console's lists and printers", dependencies=STAFF_ONLY)
async def options(services: ServicesDep) -> Any:
    """Reason lists (代取号, 绿色通道, pause), printers a ticket can go to, and the 回呼 limit."""
    config = services.config
    printers = [{"kiosk": k.id, "name": k.name or k.id} for k in config.kiosks if services.kiosks.printers(k.id)]
    with_reader = {d.kiosk for d in config.devices if d.kind == READER_KIND and d.kiosk and d.enabled}
    readers = [{"kiosk": k.id, "name": k.name or k.id} for k in config.kiosks if k.id in with_reader]
    return {"proxy_reasons": _reason_list(config.console.proxy_reasons),
            "green_reasons": _reason_list(config.console.green_reasons),
            "pause_reasons": _reason_list(config.console.pause_reasons),
            "printers": printers, "readers": readers, "callback_minutes": config.policy.callback_minutes}


@router.post("/tickets", status_code=201, summary="Take a ticket on a citizen's behalf (代取号 / 绿色通道)",
             responses=responses(403, 404, 422), dependencies=[*STAFF_ONLY, Depends(limit_issue)])
async def proxy_issue(body: ProxyIssueRequest, services: ServicesDep, request: Request) -> Any:
    """Issue on channel ``staff`` (代办), audited with reason and grantor, printed where asked.

    Staff accounts only: kiosk, device and display tokens get 403. 绿色通道 (priority green)
    takes its reason from ``console.green_reasons``; a typed ID number must pass its check digit.
    """
    principal = principal_of(request)
    if principal is None or principal.role not in STAFF:
        raise Forbidden()
    auth = services.auth

    ip = client_ip(request)

    def audit(conn: Any, action: str, target: str, detail: dict[str, Any]) -> None:
        auth.audit(conn, principal, ip, action, target, detail)  # in the issuing transaction

    return await issue_on_behalf(services, principal, ProxyRequest(**body.model_dump()), audit)


@router.get("/card/{kiosk}", summary="The card on a counter reader (masked)", responses=responses(404, 422),
            dependencies=STAFF_ONLY)
async def counter_card(services: ServicesDep, kiosk: str = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")) -> Any:
    """Masked name and number, age and class of the card on this kiosk's or desk's reader; 404 ``no_session``."""
    sessions = services.kiosks.sessions
    sessions.check_kiosk(kiosk)
    session = await sessions.session(kiosk)
    if session is None:
        raise NotFound(code="no_session", kiosk=kiosk)
    return session.public(sessions.priority(session))


def _set_aside_ms(services: Any, ids: list[int]) -> dict[int, int]:
    """When each ticket became 过号/挂起 (the store's ``state_at``)."""
    if not ids:
        return {}
    with services.store._read() as conn:
        rows = conn.execute(select(tickets.c.id, tickets.c.state_at).where(tickets.c.id.in_(ids))).all()
    return {int(r.id): int(r.state_at) for r in rows}


@router.get("/windows/{number}/call-backs", summary="过号/挂起 tickets with the 回呼 time left",
            responses=responses(404, 422), dependencies=AT_WINDOW)
async def call_backs(number: WindowNumber, services: ServicesDep, request: Request) -> Any:
    """The window's call-back list, newest first, each with ``left_s``: opening-time seconds left to call back."""
    hall = services.hall
    listed = await hall.call_backs(number)
    ids = [int(t["id"]) for t in listed]
    at = await hall.run(_set_aside_ms, services, ids)
    out = with_time_left(listed, at, services.store.calendar, services.store.clock(),
                         services.config.policy.callback_minutes * 60)
    return out if sees_identity(principal_of(request)) else redact_identity(out)


@router.get("/windows/{number}/transfer-targets", summary="Open windows and services served now",
            responses=responses(404, 422), dependencies=AT_WINDOW)
async def targets(number: WindowNumber, services: ServicesDep) -> Any:
    """Where this window may transfer its ticket (号码不变): open windows with their waiting counts, served services."""
    hall = services.hall
    snap = await hall.snapshot()
    services.config.window(number)
    waiting_at = {}
    for w in snap.get("windows", []):
        if w["state"] in ("open", "calling", "serving") and w["number"] != number:
            waiting_at[int(w["number"])] = len(await hall.waiting_for_window(int(w["number"])))
    return transfer_targets(snap, number, waiting_at)
