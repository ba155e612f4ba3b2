"""Turning database rows into views (times in ms → ISO 8601 in the hall's zone)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from server.config import HallConfig
from server.queue.views import TicketView, WindowView


def iso(ms: int | None, tz: ZoneInfo) -> str | None:
    """Milliseconds since the epoch as an ISO time in ``tz`` (None stays None)."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")


def to_ms(t: dt.datetime) -> int:
    """An aware datetime as integer milliseconds since the epoch."""
    return int(t.timestamp() * 1000)


def ticket_view(row: Any, cfg: HallConfig, tz: ZoneInfo, ahead: int | None = None,
                eta: int | None = None, eta_range: list[int] | None = None) -> TicketView:
    """A ticket row as a view."""
    svc = cfg.service_map.get(row.service)
    return TicketView(
        id=row.id,
        number=row.number,
        service=row.service,
        service_name=svc.name if svc else row.service,
        state=row.state,
        priority=row.priority,
        channel=row.channel,
        window=row.window,
        issued_at=iso(row.issued_at, tz) or "",
        called_at=iso(row.called_at, tz),
        started_at=iso(row.started_at, tz),
        finished_at=iso(row.finished_at, tz),
        recall_count=row.recall_count,
        ahead=ahead if row.state == "issued" else None,
        eta_minutes=eta if row.state == "issued" else None,
        parent_id=row.parent_id,
        masked_id=row.masked_id,
        masked_name=row.masked_name,
        rating=row.rating,
        business_day=row.business_day,
        kiosk=row.kiosk,
        eta_range=eta_range if row.state == "issued" else None,
        service_name_en=svc.name_en if svc else "",
    )


def window_view(row: Any, cfg: HallConfig, current: TicketView | None) -> WindowView:
    """A window row (with its current ticket's view) as a view."""
    w = cfg.window_map.get(row.number)
    return WindowView(
        number=row.number,
        name=w.label if w else f"{row.number}号窗口",
        zone=w.zone if w else "",
        state=row.state,
        clerk=row.clerk,
        pause_reason=row.pause_reason,
        current=current,
        services=[ws.code for ws in w.services] if w else [],
        name_en=w.name_en if w else "",
    )
