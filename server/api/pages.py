"""HTML pages (kiosk, clerk console, hall/window displays, citizen page, supervisor) and their static files.

Pages are thin Jinja2 shells: they carry ids (kiosk, window, ticket) and the hall name;
everything live comes from the JSON API and the websocket hub in the browser.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from server.auth import public
from server.errors import HallqError

ROOT = Path(__file__).resolve().parent.parent.parent
KIOSK_DIR = ROOT / "kiosk"
DISPLAYS_DIR = ROOT / "displays"

_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(KIOSK_DIR / "templates"), FileSystemLoader(DISPLAYS_DIR / "templates")]),
    autoescape=select_autoescape(["html"]),
)
templates = Jinja2Templates(env=_env)

router = APIRouter(include_in_schema=True, tags=["pages"],
                   dependencies=[Depends(public("page shells; their data comes from the authorised API"))])


def _state(request: Request, *names: str) -> Any:
    """The first of ``names`` set on ``app.state`` (the app shell owns the names)."""
    for name in names:
        value = getattr(request.app.state, name, None)
        if value is not None:
            return value
    return None


def _config(request: Request) -> Any:
    return _state(request, "config", "hall_config")


def _hall_service(request: Request) -> Any:
    return _state(request, "hall", "service", "queue", "hall_service")


def _hall_name(request: Request) -> str:
    config = _config(request)
    return str(config.hall.name) if config is not None else "政务服务中心"


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    context.setdefault("hall_name", _hall_name(request))
    return templates.TemplateResponse(request, template, context)


@router.get("/kiosk/{kiosk_id}", response_class=HTMLResponse, summary="Ticket kiosk page (取号机)")
async def kiosk_page(request: Request, kiosk_id: str) -> HTMLResponse:
    """The touch kiosk: services, ID-card path, ticket on screen."""
    config = _config(request)
    name, services, notices = kiosk_id, [], {}
    if config is not None:
        notices = {s.code: s.notice for s in config.services if s.notice}
        known = {k.id: k for k in config.kiosks}
        if config.kiosks and kiosk_id not in known:
            raise HTTPException(404, f"unknown kiosk {kiosk_id}")
        if kiosk_id in known:
            name = known[kiosk_id].name or kiosk_id
            services = list(known[kiosk_id].services)
    return _page(request, "kiosk.html", kiosk_id=kiosk_id, kiosk_name=name, kiosk_services=services,
                 notices=notices)


@router.get("/clerk", response_class=HTMLResponse, summary="Clerk console (窗口工作台)")
async def clerk_page(request: Request) -> HTMLResponse:
    """The clerk console: sign in to a window, call and serve tickets."""
    return _page(request, "clerk.html")


@router.get("/display/hall", response_class=HTMLResponse, summary="Hall display (综合屏)")
async def hall_display(request: Request) -> HTMLResponse:
    """The 1920×1080 hall screen with calls, waiting counts and announcements."""
    return _page(request, "hall.html")


@router.get("/display/window/{number}", response_class=HTMLResponse, summary="Window display (窗口屏)")
async def window_display(request: Request, number: int) -> HTMLResponse:
    """The small screen at one window, with the 好差评 buttons."""
    config = _config(request)
    if config is not None and number not in {w.number for w in config.windows}:
        raise HTTPException(404, f"unknown window {number}")
    return _page(request, "window.html", window=number)


@router.get("/t/{token}", response_class=HTMLResponse, summary="Citizen ticket page")
async def ticket_page(request: Request, token: str) -> HTMLResponse:
    """The citizen's live ticket status (opened from the ticket's QR code)."""
    try:
        ticket = await _ticket_by_token(request, token)
    except HTTPException as exc:
        if exc.status_code != 404:
            raise
        response = _page(request, "notfound.html")
        response.status_code = 404
        return response
    return _page(request, "ticket.html", token=token, ticket_id=ticket.get("id"), number=ticket.get("number", ""))


@router.get("/supervisor", response_class=HTMLResponse, summary="Supervisor overview")
async def supervisor_page(request: Request) -> HTMLResponse:
    """Windows, queues, device health and alerts at a glance."""
    return _page(request, "supervisor.html")


@router.get("/display", include_in_schema=False)
async def display_index() -> RedirectResponse:
    """Convenience redirect to the hall display."""
    return RedirectResponse("/display/hall")


async def _ticket_by_token(request: Request, token: str) -> dict[str, Any]:
    service = _hall_service(request)
    if service is None:
        raise HTTPException(503, "queue service not ready")
    try:
        ticket = await service.get_ticket_by_token(token)
    except HallqError as exc:
        raise HTTPException(exc.status, exc.en) from exc
    return dict(ticket)


def ticket_url(request: Request, token: str) -> str:
    """Absolute URL of the citizen page of a ticket (config's public_url wins over the request's host)."""
    config = _config(request)
    public_url = getattr(getattr(config, "server", None), "public_url", None) if config is not None else None
    base = (public_url or str(request.base_url)).rstrip("/")
    return f"{base}/t/{token}"


def qr_svg(text: str) -> bytes:
    """An SVG QR code of ``text`` (medium error correction, quiet zone of 2 modules)."""
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
async def ticket_qr(request: Request, token: str) -> Response:
    """SVG QR code pointing at ``/t/<token>`` (404 for an unknown token)."""
    await _ticket_by_token(request, token)
    return Response(qr_svg(ticket_url(request, token)), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


def mount_pages(app: FastAPI) -> None:
    """Include the page router and mount /static/kiosk (kiosk/static) and /static (displays/static)."""
    app.include_router(router)
    # the more specific mount first: Starlette matches mounts in order
    app.mount("/static/kiosk", StaticFiles(directory=KIOSK_DIR / "static"), name="kiosk-static")
    app.mount("/static", StaticFiles(directory=DISPLAYS_DIR / "static"), name="static")
