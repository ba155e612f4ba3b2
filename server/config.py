"""The hall configuration: one YAML file validated by pydantic (unknown keys are errors).

``load_config(path)`` returns a ``HallConfig`` or raises ``HallConfigError`` listing every
problem as ``services[3].prefix: message (line 12)``.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from server.configerrors import HallConfigError, Loc, from_validation, problem

__all__ = [
    "DeviceConfig",
    "HallConfig",
    "HallConfigError",
    "HallSettings",
    "IdentityConfig",
    "KioskConfig",
    "Policy",
    "ServerSettings",
    "ServiceConfig",
    "WindowConfig",
    "WindowService",
    "load_config",
    "parse_config",
]


def _clock_time(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 12:00 as the sexagesimal integer 720: turn it back.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)
    return value


ClockTime = Annotated[dt.time, BeforeValidator(_clock_time)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpeningHours(_Model):
    """Hours of the given ISO weekdays (1 = Monday … 7 = Sunday)."""

    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1)
    open: ClockTime
    close: ClockTime

    @field_validator("close")
    @classmethod
    def _after_open(cls, close: dt.time, info: Any) -> dt.time:
        opened = info.data.get("open")
        if opened is not None and close <= opened:
            raise ValueError("close must be after open")
        return close


class LunchBreak(_Model):
    """午休: no tickets are issued between start and end."""

    start: ClockTime
    end: ClockTime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.time, info: Any) -> dt.time:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end must be after start")
        return end


class HallSettings(_Model):
    """The hall itself: name, level, calendar."""

    name: str = Field(min_length=1)
    level: Literal["省", "市", "区", "县", "乡镇", "街道", "村", "社区"] = "区"
    address: str = ""
    phone: str = ""
    timezone: str = "Asia/Shanghai"
    opening_hours: list[OpeningHours] = Field(default_factory=list)
    lunch_break: LunchBreak | None = None
    holidays: list[dt.date] = Field(default_factory=list)
    # 调休: weekend dates that are working days; they use Monday's hours
    extra_workdays: list[dt.date] = Field(default_factory=list)
    # times before this belong to the previous business day
    rollover: ClockTime = dt.time(3, 0)
    # demo/training halls: ignore opening hours, lunch break and holidays
    always_open: bool = False
    # mainland holidays and 调休 workdays (server/queue/holidays.py); the lists above override it
    holiday_source: Literal["chinese_calendar", "none"] = "chinese_calendar"
    # 午休: stop issuing, or keep issuing tickets for the afternoon (calling still pauses)
    lunch_issuing: Literal["stop", "keep"] = "stop"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        """The hall's time zone."""
        return ZoneInfo(self.timezone)


class ServiceGuide(_Model):
    """办事指南 of one service (live configuration, server/config_live/): what to bring and how it goes."""

    materials: list[str] = Field(default_factory=list)  # 申请材料, one per line
    time_limit: str = ""  # 办理时限, e.g. 即办 or 5个工作日
    fee: str = ""  # 收费标准, e.g. 不收费
    basis: str = ""  # 设定依据
    steps: list[str] = Field(default_factory=list)  # 办理流程


class ServiceConfig(_Model):
    """One service (事项) with its own number series."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1)
    category: str = ""
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    number_start: int = Field(default=1, ge=0)
    number_end: int = Field(default=999, ge=1)
    width: int = Field(default=3, ge=1, le=6)
    on_exhausted: Literal["wrap", "refuse"] = "refuse"
    daily_limit: int | None = Field(default=None, ge=1)
    per_person_daily: int | None = Field(default=None, ge=1)
    expected_minutes: float = Field(default=10, gt=0)
    sla_minutes: int | None = Field(default=30, ge=1)
    notice: str = ""
    enabled: bool = True
    name_en: str = ""  # English name shown in English mode (ServiceStatus / TicketView name_en)
    category_en: str = ""
    # the service's own hours inside the hall's (None: the hall's); cut-off: stop issuing N minutes before closing
    opening_hours: list[OpeningHours] | None = None
    cutoff_minutes: int | None = Field(default=None, ge=1, le=600)
    expired_card: Literal["refuse", "warn"] | None = None  # None: identity.expired_card
    guide: ServiceGuide = Field(default_factory=ServiceGuide)  # 办事指南 (live configuration)

    @field_validator("number_end")
    @classmethod
    def _range(cls, end: int, info: Any) -> int:
        start = info.data.get("number_start")
        if start is not None and end < start:
            raise ValueError("number_end must not be below number_start")
        return end


class WindowService(_Model):
    """A service a window calls: 主办 (primary) first, 兼办 (secondary) when primaries are empty."""

    code: str
    role: Literal["primary", "secondary"] = "primary"
    weight: float = Field(default=1.0, gt=0)


def _service_entry(value: Any) -> Any:
    # "general" is short for {code: general}
    return {"code": value} if isinstance(value, str) else value


class WindowConfig(_Model):
    """A service window (窗口)."""

    number: int = Field(ge=1, le=999)
    name: str = ""
    name_en: str = ""  # English name shown in English mode
    zone: str = ""
    services: list[Annotated[WindowService, BeforeValidator(_service_entry)]] = Field(min_length=1)

    @property
    def label(self) -> str:
        """Display name, e.g. ``3号窗口``."""
        return self.name or f"{self.number}号窗口"


class Policy(_Model):
    """Calling and limit rules of the hall."""

    # after N consecutive appointment/priority calls a window calls one normal ticket; 0 = strict
    priority_interleave: int = Field(default=3, ge=0)
    sla_promotion: bool = True
    max_recalls: int = Field(default=2, ge=0)
    callback_minutes: int = Field(default=30, ge=0)
    # minutes the hall screen shows a call as 正在叫号 before it shows 办理中 (a start clears it at once)
    call_display_minutes: int = Field(default=3, ge=1)
    # seconds a window's evaluator (评价器) may rate a ticket after it finished or a rating was asked
    rating_seconds: int = Field(default=180, ge=0)
    elderly_age: int | None = Field(default=60, ge=1)  # 《老年人权益保障法》第二条: 六十周岁以上
    # class_first: green/appointment/priority tickets are called at every window serving their service, even as
    # 兼办, ahead of normal 主办 tickets; role_first: 主办 before 兼办 whatever the class (server/queue/policy.py)
    call_order: Literal["class_first", "role_first"] = "class_first"
    # a kiosk ticket for a service no staffed window serves: ask the citizen first, or refuse
    unserved_issue: Literal["confirm", "refuse"] = "confirm"
    per_person_daily_total: int | None = Field(default=None, ge=1)
    # with an identity (ID card), a person may hold one open ticket per service at a time
    one_open_ticket_per_service: bool = True
    service_time_samples: int = Field(default=20, ge=1)


class KioskConfig(_Model):
    """A ticket kiosk; an empty services list offers every service."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str = ""
    services: list[str] = Field(default_factory=list)
    voice: bool = True  # 语音提示 on at start, spoken by the server (server/kiosk/voice.py, issue 18)


class DeviceConfig(_Model):
    """A device: id, kind, driver name, URL, binding and driver options (checked by the driver)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    driver: str
    url: str
    kiosk: str | None = None
    window: int | None = None
    windows: list[int] | None = None
    hall: bool = False
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


CardTypeName = Literal["resident", "permit_hmt", "foreigner_2017", "foreigner_2023"]


class IdentityConfig(_Model):
    """Kiosk identity sessions from ID cards (身份证取号)."""

    session_timeout_s: float = Field(default=60.0, gt=0)
    expired_card: Literal["refuse", "warn"] = "warn"  # per service: ServiceConfig.expired_card
    accepted_card_types: list[CardTypeName] = Field(default_factory=lambda: list(get_args(CardTypeName)))
    end_after_ticket: bool = False


class MonitoringConfig(_Model):
    """Camera snapshots kept for complaints and absence alerts."""

    snapshot_dir: str = "var/snapshots"
    snapshot_retention_days: int = Field(default=30, ge=1)


class ServerSettings(_Model):
    """Where the server keeps its data and listens."""

    database_url: str = "sqlite:///var/hallq.db"
    secret_path: str = "var/secret.key"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None


class RatingReason(_Model):
    """One second-level reason (评价内容) a citizen may pick for a bad rating."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=40)


class RatingSettings(_Model):
    """好差评 rules (server/ratings/): reasons for 差评, free-text limit, 差评 case deadlines."""

    # default list: server/ratings/reasons.py (DEFAULT_REASONS, with its source)
    reasons: list[RatingReason] | None = None
    require_reasons: bool = False  # True: a 差评 (level 1 or 2) must name at least one reason
    text_max: int = Field(default=200, ge=0, le=1000)
    verify_days: int = Field(default=1, ge=1, le=30)  # working days to verify a 差评 case (核实)
    rectify_days: int = Field(default=15, ge=1, le=90)  # working days to rectify and answer (整改)
    # working days after a missed deadline before the case escalates (升级督办: a critical alert to supervisors)
    escalate_days: int = Field(default=2, ge=1, le=30)


class Disclosure(_Model):
    """One 制度公示 text on the hall screen (e.g. 首问负责制)."""

    title: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=2000)


class BulletinConfig(_Model):
    """Public texts of the hall (live configuration, server/config_live/): notices, 制度公示, 监督电话."""

    notices: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list)
    disclosures: list[Disclosure] = Field(default_factory=list)
    supervision_phone: str = Field(default="12345", min_length=1, max_length=40)  # 监督电话 (12345 or local)


class AppointmentService(_Model):
    """A service that takes bookings (预约) and optionally remote tickets (远程取号)."""

    code: str
    slot_minutes: int | None = Field(default=None, ge=5, le=240)  # None: appointments.slot_minutes
    capacity: int | None = Field(default=None, ge=0)  # bookings per slot set by hand; None: from the windows
    remote: bool = False  # 远程取号 for this service (with appointments.remote.enabled)


class RemoteTicketSettings(_Model):
    """远程取号: a number taken on the phone, today only, confirmed at a kiosk or it lapses."""

    enabled: bool = False
    confirm_minutes: int = Field(default=30, ge=1, le=240)  # confirm at a kiosk within this or it lapses
    per_phone_daily: int = Field(default=2, ge=1)
    per_address_daily: int = Field(default=10, ge=1)  # per client IP address and day
    # SMS verification code before a remote ticket is taken (server/appointments/verify.py)
    verify_sms: bool = True
    verify_minutes: int = Field(default=10, ge=1, le=60)  # a code is valid this long
    verify_attempts: int = Field(default=5, ge=1, le=20)  # wrong codes before the code is void
    verify_daily: int = Field(default=5, ge=1, le=100)  # codes sent per phone number and day


class AppointmentSettings(_Model):
    """预约取号 (server/appointments/): slots, limits, check-in windows, release, remote tickets."""

    services: list[AppointmentService] = Field(default_factory=list)  # empty: no bookings at all
    slot_minutes: int = Field(default=30, ge=5, le=240)
    walk_in_share: float = Field(default=0.5, ge=0, le=1)  # part of each slot's capacity kept for walk-ins
    horizon_days: int = Field(default=7, ge=0, le=90)  # bookable from today up to this many days ahead
    same_day: bool = False  # may a citizen book a slot of today
    # unbooked capacity returns to walk-ins (bookings for the day close) at this time, N days before
    release_days_before: int = Field(default=1, ge=0, le=7)
    release_at: ClockTime = dt.time(17, 0)
    early_minutes: int = Field(default=30, ge=0, le=240)  # check-in accepted this long before the slot
    late_minutes: int = Field(default=15, ge=0, le=240)  # … and this long after its start
    late: Literal["walk_in", "refuse"] = "walk_in"  # a later arrival: normal ticket, or refused
    per_person_open: int = Field(default=2, ge=1)  # open (future) bookings per ID number
    per_person_day: int = Field(default=1, ge=1)  # bookings per ID number, service and day
    no_show_limit: int | None = Field(default=None, ge=1)  # N missed bookings … (None: no rule)
    no_show_window_days: int = Field(default=90, ge=1)  # … within this many days …
    no_show_block_days: int = Field(default=30, ge=1)  # … block booking for D days
    remote: RemoteTicketSettings = Field(default_factory=RemoteTicketSettings)

    def service(self, code: str) -> AppointmentService | None:
        """The booking rules of a service (None: it takes no bookings)."""
        return next((s for s in self.services if s.code == code), None)


class ConsoleReason(_Model):
    """One reason of a clerk-console list: a stable code, its Chinese text (public screens) and English."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    zh: str = Field(min_length=1, max_length=20)
    en: str = Field(default="", max_length=40)


def _reasons(*items: tuple[str, str, str]) -> list[ConsoleReason]:
    return [ConsoleReason(code=c, zh=z, en=e) for c, z, e in items]


class ConsoleConfig(_Model):
    """The clerk console's lists (server/console/): 代取号 reasons, 绿色通道 reasons, pause reasons."""

    proxy_reasons: list[ConsoleReason] = Field(min_length=1, default_factory=lambda: _reasons(
        ("elderly", "老年人", "Elderly"), ("disabled", "残疾人", "Disabled"), ("agent", "代办员", "Agent (代办员)"),
        ("phone", "电话预约", "Phone booking"), ("other", "其他", "Other")))
    green_reasons: list[ConsoleReason] = Field(min_length=1, default_factory=lambda: _reasons(
        ("key_project", "重点项目", "Key project"), ("urgent", "急事急办", "Urgent matter"),
        ("elderly", "老年人", "Elderly"), ("disabled", "残疾人", "Disabled"), ("pregnant", "孕妇", "Pregnant"),
        ("other", "其他", "Other")))
    pause_reasons: list[ConsoleReason] = Field(min_length=1, default_factory=lambda: _reasons(
        ("break", "临时离开", "Short break"), ("lunch", "午休", "Lunch"), ("meeting", "会议/培训", "Meeting/training"),
        ("system", "系统故障", "System failure"), ("other", "其他", "Other")))


class StaffSettings(_Model):
    """The staff directory (server/staff/): window-screen stars and photo limits."""

    stars_days: int = Field(default=30, ge=1, le=366)  # the "recent" 满意率 behind the stars: this many days
    stars_min_ratings: int = Field(default=10, ge=1, le=10_000)  # fewer ratings: no stars shown
    photo_max_bytes: int = Field(default=2_000_000, ge=10_000, le=20_000_000)  # an upload larger: 422


class SupervisionSettings(_Model):
    """Alert rule thresholds (server/alerts/rules.py), evaluated every ``interval_seconds``; None turns a rule off."""

    interval_seconds: float = Field(default=30.0, ge=1, le=3600)
    long_wait: bool = True  # a service's longest wait past its own sla_minutes
    open_window_count: int | None = Field(default=10, ge=1)  # the 30-minute rule: more than N people …
    open_window_minutes: int = Field(default=30, ge=1, le=600)  # … waited longer than M minutes → open a window
    pause_minutes: int | None = Field(default=15, ge=1, le=600)  # a pause longer than this (any reason) …
    pause_allowance: dict[str, int] = Field(default_factory=dict)  # … or than this per reason (code or 中文)
    crowding_waiting: int | None = Field(default=None, ge=1)  # more people waiting in the hall than this
    unserved: bool = True  # people wait for a service no staffed window serves
    notify_windows: bool = True  # also send a rule's alert to the consoles of the windows it concerns


class NoticeTemplates(_Model):
    """SMS texts (``str.format``): {hall} {number} {service} {window} {ahead} {minutes} {date} {time} {code}."""

    near: str = "【{hall}】您的{number}号（{service}）前面还有{ahead}人，约{minutes}分钟，请回到大厅等候叫号。"
    called: str = "【{hall}】请{number}号到{window}号窗口办理{service}。"
    reminder: str = "【{hall}】预约提醒：您已预约明天{date} {time}办理{service}，预约码{code}，请按时到大厅签到。"
    verify: str = "【{hall}】远程取号验证码{code}，{minutes}分钟内有效，请勿告诉他人。"  # 远程取号 SMS code
    extra: dict[str, str] = Field(default_factory=dict)  # more kinds for NoticeService.enqueue

    def template(self, kind: str) -> str | None:
        """The template of ``kind`` (near, called, reminder, verify, or an ``extra`` name)."""
        return {"near": self.near, "called": self.called, "reminder": self.reminder, "verify": self.verify,
                **self.extra}.get(kind)


class SmsGatewayConfig(_Model):
    """An HTTP SMS gateway (政务短信平台): POST of a JSON body, HMAC-SHA256 signature in a header."""

    url: str = Field(default="", max_length=500)
    secret_env: str = "HALLQ_SMS_SECRET"  # the signing key comes from this environment variable, never the YAML
    body_template: dict[str, str] = Field(
        default_factory=lambda: {"mobile": "{mobile}", "content": "{text}", "msgid": "{id}", "sign": "{hall}"})
    signature_header: str = "X-Hallq-Signature"
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class NoticesConfig(_Model):
    """SMS notices (server/notices/): 即将到号, 请到X号窗口, 预约提醒; channel, thresholds, templates, retries."""

    enabled: bool = True
    channel: Literal["log", "http", "modem"] = "log"
    near_ahead: int | None = Field(default=3, ge=0, le=100)  # K people ahead (None: not by position)
    near_minutes: int | None = Field(default=10, ge=0, le=600)  # or an estimated M minutes (None: not by time)
    reminder_time: dt.time = dt.time(18, 0)  # the day before the appointment, hall time zone
    templates: NoticeTemplates = Field(default_factory=NoticeTemplates)
    http: SmsGatewayConfig = Field(default_factory=SmsGatewayConfig)
    modem: str | None = None  # device id of the sms_modem (channel modem); None: the first one
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=900.0, gt=0)
    keep_hours: int = Field(default=24, ge=0, le=24 * 30)  # the full number is erased this long after it was needed


class HallConfig(_Model):
    """The whole hall configuration."""

    hall: HallSettings
    services: list[ServiceConfig] = Field(min_length=1)
    windows: list[WindowConfig] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    kiosks: list[KioskConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ratings: RatingSettings = Field(default_factory=RatingSettings)  # 好差评 (server/ratings/)
    appointments: AppointmentSettings = Field(default_factory=AppointmentSettings)  # 预约 (server/appointments/)
    bulletin: BulletinConfig = Field(default_factory=BulletinConfig)  # screen notices, 制度公示 (server/config_live/)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)  # clerk console reason lists (server/console/)
    staff: StaffSettings = Field(default_factory=StaffSettings)  # staff directory (server/staff/)
    supervision: SupervisionSettings = Field(default_factory=SupervisionSettings)  # alert rules (server/alerts/)
    notices: NoticesConfig = Field(default_factory=NoticesConfig)  # SMS notices (server/notices/)

    @cached_property
    def service_map(self) -> dict[str, ServiceConfig]:
        """Services by code."""
        return {s.code: s for s in self.services}

    @cached_property
    def window_map(self) -> dict[int, WindowConfig]:
        """Windows by number."""
        return {w.number: w for w in self.windows}

    @cached_property
    def windows_by_service(self) -> dict[str, tuple[int, ...]]:
        """Window numbers that call each service (either role)."""
        out: dict[str, list[int]] = {s.code: [] for s in self.services}
        for w in self.windows:
            for ws in w.services:
                out.setdefault(ws.code, []).append(w.number)
        return {k: tuple(v) for k, v in out.items()}

    def service(self, code: str) -> ServiceConfig:
        """The service with this code; raises ``server.errors`` unknown_service."""
        try:
            return self.service_map[code]
        except KeyError:
            from server.errors import unknown_service

            raise unknown_service(code) from None

    def window(self, number: int) -> WindowConfig:
        """The window with this number; raises ``server.errors`` unknown_window."""
        try:
            return self.window_map[number]
        except KeyError:
            from server.errors import unknown_window

            raise unknown_window(number) from None


def _duplicates(values: list[Any]) -> dict[int, Any]:
    seen: set[Any] = set()
    out = {}
    for i, v in enumerate(values):
        if v in seen:
            out[i] = v
        seen.add(v)
    return out


def cross_check(cfg: HallConfig) -> list[tuple[Loc, str]]:
    """Problems that span several entries: duplicates and references."""
    out: list[tuple[Loc, str]] = []
    for i, v in _duplicates([s.code for s in cfg.services]).items():
        out.append((("services", i, "code"), f"duplicate service code {v!r}"))
    for i, v in _duplicates([s.prefix for s in cfg.services]).items():
        out.append((("services", i, "prefix"), f"prefix {v!r} is already used by another service"))
    for i, v in _duplicates([w.number for w in cfg.windows]).items():
        out.append((("windows", i, "number"), f"duplicate window number {v}"))
    for i, v in _duplicates([k.id for k in cfg.kiosks]).items():
        out.append((("kiosks", i, "id"), f"duplicate kiosk id {v!r}"))
    for i, v in _duplicates([d.id for d in cfg.devices]).items():
        out.append((("devices", i, "id"), f"duplicate device id {v!r}"))
    for i, s in enumerate(cfg.services):
        if len(str(s.number_end)) > s.width:
            out.append((("services", i, "width"), f"width {s.width} cannot show number {s.number_end}"))
    codes = set(cfg.service_map)
    for i, w in enumerate(cfg.windows):
        for j, ws in enumerate(w.services):
            if ws.code not in codes:
                out.append((("windows", i, "services", j, "code"), f"unknown service {ws.code!r}"))
        for j, v in _duplicates([ws.code for ws in w.services]).items():
            out.append((("windows", i, "services", j, "code"), f"service {v!r} listed twice"))
    for i, k in enumerate(cfg.kiosks):
        for j, code in enumerate(k.services):
            if code not in codes:
                out.append((("kiosks", i, "services", j), f"unknown service {code!r}"))
    kiosk_ids = {k.id for k in cfg.kiosks}
    windows = set(cfg.window_map)
    for i, d in enumerate(cfg.devices):
        if d.kiosk is not None and d.kiosk not in kiosk_ids:
            out.append((("devices", i, "kiosk"), f"unknown kiosk {d.kiosk!r}"))
        if d.window is not None and d.window not in windows:
            out.append((("devices", i, "window"), f"unknown window {d.window}"))
        for j, n in enumerate(d.windows or []):
            if n not in windows:
                out.append((("devices", i, "windows", j), f"unknown window {n}"))
    if not cfg.hall.always_open and not cfg.hall.opening_hours:
        out.append((("hall", "opening_hours"), "needs at least one entry unless hall.always_open is true"))
    # appointments (server/appointments/): each bookable service must be a real one
    for i, a in enumerate(cfg.appointments.services):
        if a.code not in codes:
            out.append((("appointments", "services", i, "code"), f"unknown service {a.code!r}"))
    for i, v in _duplicates([a.code for a in cfg.appointments.services]).items():
        out.append((("appointments", "services", i, "code"), f"service {v!r} listed twice"))
    return out


def parse_config(text: str, source: str = "") -> HallConfig:
    """Validate YAML text; raises ``HallConfigError`` listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise HallConfigError([f"(yaml): {getattr(exc, 'problem', None) or exc}{where}"], source) from exc
    if not isinstance(data, dict):
        raise HallConfigError(["(top level): expected a mapping (hall:, services:, windows: …)"], source)
    try:
        cfg = HallConfig.model_validate(data)
    except ValidationError as exc:
        raise HallConfigError(from_validation(root, exc), source) from exc
    problems = [problem(root, loc, msg) for loc, msg in cross_check(cfg)]
    if problems:
        raise HallConfigError(problems, source)
    return cfg


def load_config(path: str | Path) -> HallConfig:
    """Read and validate a hall YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise HallConfigError([f"(file): cannot read: {exc.strerror or exc}"], str(p)) from exc
    return parse_config(text, str(p))
