"""The page router: kiosk, clerk console, hall/window displays, citizen page, supervisor, video wall.

Every page is a thin template of the page system (``server/http/pages.py``): it carries ids
(kiosk, window, ticket) and the hall name; everything live comes from the JSON API and the
websocket hub in the browser. Pages are public shells: a page that needs an account
(``data-signin`` on its body) sends a signed-out browser to the sign-in form on its first 401.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from displays import wording
from server.auth import public
from server.deps import ConfigDep, HallDep, SettingsDep
from server.errors import NotFound, unknown_window
from server.http.pages import render

NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(tags=["pages"],
                   dependencies=[Depends(public("page shells; their data comes from the authorised API"))])


def _page(config: Any, template: str, *, status: int = 200, headers: dict[str, str] | None = None,
          **context: Any) -> HTMLResponse:
    context.setdefault("hall_name", str(config.hall.name))
    context.setdefault("no_show", wording.no_show_sentence(config.policy.callback_minutes))
    context.setdefault("no_show_en", wording.no_show_sentence_en(config.policy.callback_minutes))
    return render(template, context, status=status, headers=headers)


@router.get("/", response_class=HTMLResponse, summary="Landing page: every page and what it is for")
async def landing_page(config: ConfigDep, settings: SettingsDep) -> HTMLResponse:
    """The first page a newcomer opens: links to the kiosks, consoles, screens and API docs."""
    # demo mode seeds these device tokens (server/auth/bootstrap.py); a real hall signs devices in itself
    def device(url: str, token: str) -> str:
        return f"{url}?token={token}" if settings.demo else url

    kiosks = [(k.name or k.id, device(f"/kiosk/{k.id}", f"hqd_demo-kiosk-{k.id}")) for k in config.kiosks]
    windows = [(w.label, device(f"/display/window/{w.number}", f"hqd_demo-display-w{w.number}"))
               for w in config.windows]
    return _page(config, "home.html", kiosks=kiosks, windows=windows, demo=settings.demo,
                 hall_url=device("/display/hall", "hqd_demo-display-hall"))


@router.get("/kiosk/{kiosk_id}", response_class=HTMLResponse, summary="Ticket kiosk page (取号机)")
async def kiosk_page(config: ConfigDep, kiosk_id: str) -> HTMLResponse:
    """The touch kiosk: services, ID-card path, ticket on screen."""
    notices = {s.code: s.notice for s in config.services if s.notice}
    known = {k.id: k for k in config.kiosks}
    name, services, voice = kiosk_id, [], True
    if config.kiosks and kiosk_id not in known:
        raise NotFound("没有此取号机", f"Unknown kiosk {kiosk_id!r}", code="unknown_kiosk")
    if kiosk_id in known:
        name = known[kiosk_id].name or kiosk_id
        services = list(known[kiosk_id].services)
        voice = known[kiosk_id].voice
    # elderly_age: 长辈模式 turns on by itself for such a card; voice: the hall's 语音提示 default (issue 18)
    return _page(config, "kiosk.html", kiosk_id=kiosk_id, kiosk_name=name, kiosk_services=services,
                 notices=notices, elderly_age=config.policy.elderly_age, kiosk_voice=voice)


@router.get("/admin/config", response_class=HTMLResponse, summary="Hall configuration (大厅配置, admin)")
async def admin_config_page(config: ConfigDep) -> HTMLResponse:
    """Services with 办事指南, windows, hours and holidays, notices; saved live (server/config_live/)."""
    return _page(config, "admin_config.html", headers=NO_STORE)


@router.get("/admin/staff", response_class=HTMLResponse, summary="Staff directory (工作人员名录, admin)")
async def admin_staff_page(config: ConfigDep) -> HTMLResponse:
    """The staff directory: list, add, edit, photo upload (server/api/staff.py)."""
    return _page(config, "admin_staff.html", headers=NO_STORE,
                 windows=[(w.number, w.label) for w in config.windows],
                 services=[(s.code, s.name) for s in config.services])


@router.get("/clerk", response_class=HTMLResponse, summary="Clerk console (窗口工作台)")
async def clerk_page(config: ConfigDep) -> HTMLResponse:
    """The clerk console: sign in to a window, call and serve tickets."""
    return _page(config, "clerk.html")


@router.get("/display/hall", response_class=HTMLResponse, summary="Hall display (综合屏)")
async def hall_display(config: ConfigDep) -> HTMLResponse:
    """The 1920×1080 hall screen with calls, waiting counts and announcements."""
    return _page(config, "hall.html", call_minutes=config.policy.call_display_minutes)


@router.get("/display/window/{number}", response_class=HTMLResponse, summary="Window display (窗口屏)")
async def window_display(config: ConfigDep, number: int) -> HTMLResponse:
    """The small screen at one window, with the 好差评 buttons."""
    if number not in {w.number for w in config.windows}:
        raise unknown_window(number)
    return _page(config, "window.html", window=number)


@router.get("/t/{token}", response_class=HTMLResponse, summary="Citizen ticket page")
async def ticket_page(config: ConfigDep, hall: HallDep, token: str) -> HTMLResponse:
    """The citizen's live ticket status (opened from the ticket's QR code)."""
    try:
        ticket_id, number = await _ticket_by_token(hall, token)
    except NotFound:
        return _page(config, "notfound.html", status=404)
    return _page(config, "ticket.html", token=token, ticket_id=ticket_id, number=number)


@router.get("/supervisor", response_class=HTMLResponse, summary="Supervisor overview")
async def supervisor_page(config: ConfigDep) -> HTMLResponse:
    """Windows, queues, device health and alerts at a glance."""
    return _page(config, "supervisor.html")


@router.get("/supervisor/video", response_class=HTMLResponse, summary="Video wall (视频监控)")
async def video_wall(config: ConfigDep) -> HTMLResponse:
    """Every camera's live stream in a grid (cameras and streams come from the supervisor-only API)."""
    return _page(config, "video.html", headers=NO_STORE)


@router.get("/supervisor/exports", response_class=HTMLResponse, summary="好差评 uploads (好差评上报)")
async def exports_page(config: ConfigDep) -> HTMLResponse:
    """The 好差评 upload outbox: pending/sent/failed/parked with the last error, and the backlog."""
    return _page(config, "exports.html", headers=NO_STORE)


@router.get("/supervisor/cases", response_class=HTMLResponse, summary="差评 ledger (差评闭环台账)")
async def cases_page(config: ConfigDep) -> HTMLResponse:
    """The 差评 cases with deadlines, filters, each case's next step, and CSV/XLSX export."""
    return _page(config, "cases.html", headers=NO_STORE)


@router.get("/supervisor/reports", response_class=HTMLResponse, summary="Reports (统计报表)")
async def reports_page(config: ConfigDep) -> HTMLResponse:
    """KPIs of a date range with charts (ECharts), breakdowns, 月度考核, staffing advice and exports."""
    return _page(config, "reports.html", headers=NO_STORE,
                 services=[(s.code, s.name) for s in config.services],
                 windows=[(w.number, w.label) for w in config.windows])


@router.get("/book", response_class=HTMLResponse, summary="Citizen booking page (预约取号)")
async def booking_page(config: ConfigDep) -> HTMLResponse:
    """Mobile-first booking: service, day, slot, details, then the booking code and QR; cancel or move by code."""
    rules = config.appointments
    return _page(config, "book.html", headers=NO_STORE, hall_phone=str(config.hall.phone),
                 early_minutes=rules.early_minutes, late_minutes=rules.late_minutes,
                 remote_minutes=rules.remote.confirm_minutes)


@router.get("/display", include_in_schema=False)
async def display_index() -> RedirectResponse:
    """Convenience redirect to the hall display."""
    return RedirectResponse("/display/hall")


async def _ticket_by_token(hall: Any, token: str) -> tuple[int, str]:
    """The id and number of the ticket holding ``token`` (NotFound ``unknown_ticket`` otherwise)."""
    if not token or len(token) > 256:
        raise NotFound(code="unknown_ticket")
    found = await hall.get_ticket_by_token(token)
    ticket = getattr(found, "ticket", found)  # IssuedTicket(ticket, token), or a ticket dict
    if isinstance(ticket, dict):
        return int(ticket["id"]), str(ticket.get("number", ""))
    return int(ticket.id), str(ticket.number)


def ticket_url(config: Any, request: Request, token: str) -> str:
    """Absolute URL of the citizen page of a ticket (config's public_url wins over the request's host)."""
    base = (config.server.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/t/{token}"


def qr_svg(text: str) -> bytes:
    """An SVG QR code of ``text`` (medium error correction, quiet zone of 2 modules)."""
    import qrcode  # qrcode loads Pillow: only when a QR is drawn, not at server start
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


@router.get(
    "/api/tickets/{token}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="QR code of a ticket's citizen page",
)
async def ticket_qr(request: Request, config: ConfigDep, hall: HallDep, token: str) -> Response:
    """SVG QR code pointing at ``/t/<token>`` (404 for an unknown token)."""
    await _ticket_by_token(hall, token)
    return Response(qr_svg(ticket_url(config, request, token)), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})

