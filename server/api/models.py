"""Request and response bodies of the HTTP API (they make /docs complete)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChannelName = Literal["kiosk", "staff", "web", "appointment", "keypad"]
PriorityName = Literal["normal", "priority", "appointment", "green"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _View(BaseModel):
    # views come from the store; fields added there later pass through unchanged
    model_config = ConfigDict(extra="allow")


# -- requests ----------------------------------------------------------------------
class IssueRequest(_Request):
    """Take a ticket (取号)."""

    service: str = Field(min_length=1, max_length=64, description="Service code, e.g. `general`", examples=["general"])
    channel: ChannelName = Field(default="kiosk", description="Where the ticket was taken")
    priority: PriorityName = Field(
        default="normal", description="green 绿色通道 > appointment 预约 > priority 优先 > normal"
    )
    kiosk: str | None = Field(default=None, max_length=64, description="Kiosk id when taken at a kiosk")
    green_reason: str | None = Field(default=None, max_length=32, description="绿色通道 only (staff): a code of "
                                     "`console.green_reasons`; audited with the grantor in the issuing transaction")


class RatingRequest(_Request):
    """Rate a served ticket (好差评): 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意."""

    level: int = Field(ge=1, le=5)
    # channel: web = the citizen's phone page, window = the window screen, qr = the QR on the ticket
    source: Literal["api", "web", "evaluator", "kiosk", "sms", "window", "qr"] = "api"
    # 差评 (1, 2): reason codes of GET /api/rating-reasons; free text, checked against ratings.text_max
    reasons: list[str] = Field(default_factory=list, max_length=10)
    text: str | None = Field(default=None, max_length=1000)


class OpenWindowRequest(_Request):
    """Open a window; optionally name the clerk (工号)."""

    clerk: str | None = Field(default=None, max_length=64)


class PauseRequest(_Request):
    """Pause a window (暂停/离岗) with an optional reason."""

    reason: str | None = Field(default=None, max_length=200)


class TransferRequest(_Request):
    """Transfer the current ticket to another service or a specific window (exactly one)."""

    to_service: str | None = Field(default=None, min_length=1, max_length=64)
    to_window: int | None = Field(default=None, ge=1, le=999)

    @model_validator(mode="after")
    def _exactly_one(self) -> TransferRequest:
        if (self.to_service is None) == (self.to_window is None):
            raise ValueError("give exactly one of to_service or to_window")
        return self


class CallRequest(_Request):
    """Call a specific ticket (also 回呼 of a suspended or missed ticket)."""

    ticket_id: int = Field(ge=1, le=2**31 - 1)  # larger ids do not fit the database column (500 otherwise)


# -- responses ---------------------------------------------------------------------
class TicketOut(_View):
    """A ticket as citizens, clerks and screens see it."""

    id: int
    number: str = Field(examples=["A001"])
    service: str
    service_name: str | None = None
    state: str = Field(description="issued, called, serving, done, no_show, cancelled, suspended, expired, transferred")
    priority: str
    channel: str
    window: int | None = None
    issued_at: str | None = None
    called_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    recall_count: int = 0
    # the status-page token is its holder's capability: never in answers to screens and clerks
    # (views pass unknown fields through, so it must be declared to be left out)
    token: str | None = Field(default=None, exclude=True)
    ahead: int | None = Field(default=None, description="People ahead while waiting")
    eta_minutes: int | None = None
    parent_id: int | None = None
    masked_id: str | None = None
    masked_name: str | None = None
    rating: int | None = None
    business_day: str | None = None
    kiosk: str | None = None


class HeldTicketOut(TicketOut):
    """A ticket as its holder sees it: with the token of its status page (issue and by-token answers only)."""

    token: str | None = Field(default=None, description="For the citizen's status page /t/<token>")


class PrintStatusOut(BaseModel):
    """How printing a kiosk ticket on the kiosk's printer went."""

    state: Literal["pending", "printing", "done", "failed"]
    printed: bool = Field(description="True when the ticket is on paper")
    fault: str | None = Field(default=None, description="no_printer, printer_host_offline, offline, paper_out, "
                                                        "print_timeout …; the kiosk then shows the QR code")


class IssuedTicketOut(HeldTicketOut):
    """A new ticket with its token; a kiosk's ticket also says how printing it went."""

    print: PrintStatusOut | None = Field(default=None, description="Kiosk tickets only (server/kiosk/service.py)")


class WindowOut(_View):
    """A window (窗口) with its current ticket."""

    number: int
    name: str | None = None
    zone: str | None = None
    state: str = Field(description="closed, open, calling, serving, paused")
    clerk: str | None = None
    pause_reason: str | None = None
    current: TicketOut | None = None
    services: list[str] = Field(default_factory=list)


class ServiceStatus(_View):
    """Queue figures of one service."""

    code: str
    name: str
    prefix: str | None = None
    category: str | None = None
    waiting: int = 0
    longest_wait_seconds: float | None = None
    eta_minutes: int | None = None
    issued_today: int = 0
    daily_limit: int | None = None
    available: bool = True
    reason: str | None = None
    # honest availability (server/queue/availability.py)
    availability: str = Field(default="available", description="available, no_window, closed, cut_off, lunch, "
                              "daily_limit_reached, service_disabled")
    availability_zh: str = ""
    availability_en: str = ""
    confirm: bool = Field(default=False, description="the kiosk asks before issuing (暂无窗口办理)")
    next_open: str | None = None
    windows_primary: int = 0
    windows_secondary: int = 0
    eta_range: list[int] | None = Field(default=None, description="[low, high] minutes when uncertain")
    name_en: str = ""
    category_en: str = ""


class HallOut(_View):
    """Snapshot of the hall: services, windows and the latest calls."""

    hall: dict[str, Any]
    services: list[ServiceStatus]
    windows: list[WindowOut]
    recent_calls: list[TicketOut] = Field(default_factory=list)


class Health(BaseModel):
    """Liveness and the database round trip."""

    status: Literal["ok", "degraded"]
    database: bool
    seq: int
    subscribers: int
    version: str

