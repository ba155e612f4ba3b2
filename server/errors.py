"""Errors of the queue server, each with a stable code and bilingual text.

The tree::

    HallqError                      400  invalid_request, invalid_credentials, weak_password, …
    ├── Unauthenticated             401  unauthenticated (WWW-Authenticate: Bearer)
    ├── Forbidden                   403  forbidden, csrf_failed, wrong_kiosk, wrong_window,
    │                                    window_not_allowed, password_change_required, …
    ├── Refused                     403  daily_limit_reached, number_range_exhausted,
    │                                    outside_opening_hours, per_person_limit, service_disabled
    ├── NotFound                    404  unknown_service, unknown_window, unknown_ticket, …
    ├── Conflict                    409  invalid_transition, window_not_open, window_busy,
    │   │                                already_rated, not_ratable, nothing_to_recall,
    │   │                                callback_expired, account_exists, …
    │   └── DeviceClaimed           409  device_claimed (server/store/devices.py: names the holder)
    ├── RateLimited                 429  rate_limited, login_locked (Retry-After)
    └── Unavailable                 503  camera_unavailable

``CATALOGUE`` lists every code the server answers with and its default Chinese and English
text; an error raised with only a ``code`` takes its text from there, and
``tests/server/test_error_catalogue.py`` checks that every code raised anywhere is listed.
The web layer turns every HallqError into an RFC 9457 problem document at one place
(``server/http/problems.py``); nothing below the web layer knows about HTTP bodies.
"""

from __future__ import annotations

from typing import Any

CATALOGUE: dict[str, tuple[str, str]] = {
    # generic answers of the problem handler
    "invalid_request": ("请求内容有误", "Invalid request"),
    "not_found": ("没有这个地址", "No such resource"),
    "method_not_allowed": ("不支持此请求方法", "Method not allowed here"),
    "http_error": ("请求失败", "Request failed"),
    "internal_error": ("服务器内部错误，请稍后再试", "Internal server error"),
    "payload_too_large": ("请求内容过大", "Request body too large"),
    # authentication and authorisation
    "unauthenticated": ("请先登录", "Sign-in required"),
    "forbidden": ("无权执行此操作", "Not allowed for this account"),
    "csrf_failed": ("页面已过期，请刷新后重试", "CSRF token missing or wrong"),
    "wrong_kiosk": ("只能操作本取号机", "Only this kiosk"),
    "wrong_window": ("只能操作本窗口", "Only this device's window"),
    "wrong_ticket": ("只能查看本人的号票", "Only the ticket this link belongs to"),
    "window_not_allowed": ("此账号不能登录该窗口", "This account may not sign in at that window"),
    "window_required": ("请选择窗口", "A window number is required"),
    "password_change_required": ("请先修改密码", "The password must be changed first"),
    "invalid_credentials": ("用户名或密码错误", "Incorrect username or password"),
    "weak_password": ("密码不符合要求", "Password rejected"),
    "last_admin": ("不能停用最后一个管理员", "The last administrator cannot be removed"),
    "account_exists": ("账号已存在", "The account exists"),
    "unknown_account": ("没有此账号", "Unknown account"),
    "unknown_device_token": ("没有此设备令牌", "Unknown device token"),
    "rate_limited": ("请求过于频繁，请稍后再试", "Too many requests; retry later"),
    "login_locked": ("登录失败次数过多，请稍后再试", "Too many failed sign-ins; retry later"),
    # the queue
    "unknown_service": ("没有此业务", "Unknown service"),
    "unknown_window": ("没有此窗口", "Unknown window"),
    "unknown_ticket": ("没有找到这张号票", "Unknown ticket"),
    "unknown_kiosk": ("没有此取号机", "Unknown kiosk"),
    "invalid_transition": ("号票当前状态不能执行此操作", "The ticket's state does not allow this"),
    "window_not_open": ("窗口未开放", "The window is not open"),
    "window_busy": ("窗口正在办理其他号票", "The window already has a current ticket"),
    "nothing_to_recall": ("窗口当前没有号票", "The window has no current ticket"),
    "already_rated": ("该号票已经评价过", "The ticket is already rated"),
    "not_ratable": ("办理完成后才能评价", "The ticket cannot be rated now"),
    "invalid_rating": ("评价等级应为1到5", "Rating level must be 1..5"),
    "callback_expired": ("已超过回呼时限", "The ticket can no longer be called back"),
    "refused": ("暂不能办理", "Refused by a business rule"),
    "daily_limit_reached": ("今日号已取完", "The daily limit of tickets is reached"),
    "number_range_exhausted": ("今日号码已用完", "The number range is exhausted"),
    "outside_opening_hours": ("当前不在办公时间", "Outside opening hours"),
    "per_person_limit": ("已达到每人取号上限", "Per-person ticket limit reached"),
    "service_disabled": ("该业务暂停办理", "The service is not offered now"),
    # kiosks, identity cards and devices
    "no_session": ("请先放置身份证", "No identity card session at this kiosk"),
    "identity_unavailable": ("身份证取号服务未启动", "The identity service is not running"),
    "priority_not_allowed": ("无权指定此优先级", "This caller may not choose this priority class"),
    "channel_not_allowed": ("无权指定此取号渠道", "This caller may not choose this channel"),
    "unknown_print_job": ("没有此打印任务", "Unknown print job"),
    "device_claimed": ("设备已由其他设备主机使用", "The device is run by another device host"),
    "server_unreachable": ("无法连接排队服务器", "The device host cannot reach the hallq server"),
    "forbidden_event": ("设备主机不能发布此事件", "A device host may not publish this event"),
    "unknown_device": ("没有此设备", "Unknown device"),
    "unknown_announcement": ("没有这条语音", "No such announcement"),
    "unknown_camera": ("没有这个摄像机", "Unknown camera"),
    "unknown_snapshot": ("没有这张截图", "No such snapshot"),
    "camera_unavailable": ("摄像机暂无画面", "The camera has no recent frame"),
    # what a kiosk shows about the card on its reader
    "invalid_number": ("身份证号码校验未通过，请到人工窗口办理",
                       "The ID number failed validation; please go to a staffed window."),
    "card_expired": ("证件已过有效期，请使用有效证件或到人工窗口办理",
                     "The card has expired; please use a valid card or go to a staffed window."),
    "unsupported_card": ("暂不支持此类证件，请到人工窗口办理",
                         "This kind of card is not accepted here; please go to a staffed window."),
    "read_failed": ("读卡失败，请将证件重新平放在读卡区",
                    "The card could not be read; please lay it on the reader again."),
    "expired_warning": ("证件已过有效期，请尽快换领", "The card has expired; please renew it soon."),
    # supervision: reports and the alert inbox (server/reports/, server/alerts/)
    "invalid_range": ("统计区间或分组有误", "Invalid report range or grouping"),
    "unknown_clerk": ("没有此工作人员", "Unknown clerk"),
    "unknown_report": ("没有此报表", "Unknown report"),
    "unknown_alert": ("没有此告警", "Unknown alert"),
    # 好差评 closed loop (server/ratings/, server/store/ratings.py, server/store/cases.py)
    "unknown_reason": ("评价原因不在列表中", "Unknown rating reason"),
    "reasons_required": ("请选择不满意的原因", "A bad rating (level 1 or 2) must name at least one reason"),
    "reasons_not_allowed": ("只有不满意或非常不满意时才选择原因", "Reasons are for bad ratings (levels 1 and 2) only"),
    "rating_text_too_long": ("评价内容过长", "Rating text too long"),
    "unknown_case": ("没有此差评案件", "Unknown case"),
    "invalid_case_step": ("案件当前状态不能执行此操作", "The case's state does not allow this step"),
    "case_field_required": ("请填写必填内容", "A required field of the case step is missing"),
    "alerts_unavailable": ("告警服务未启动", "The alert inbox is not running"),
    # 好差评 upload: 办件 binding and the export outbox (server/haochaping/)
    "no_current_ticket": ("窗口当前没有可关联办件的号票", "The window has no current or just finished ticket to bind"),
    "unknown_export": ("没有此上报记录", "Unknown evaluation export"),
    "export_not_retryable": ("此上报记录无需重发", "This export is not parked or failed"),
    # websocket answers
    "invalid_topic": ("无效的订阅主题", "Invalid topic"),
    "forbidden_topic": ("无权订阅此主题", "Not allowed to follow this topic"),
    "too_many_topics": ("订阅的主题过多", "Too many topics on one connection"),
}


def text_of(code: str) -> tuple[str, str]:
    """The default (zh, en) text of a catalogued code; raises KeyError for an unknown code."""
    return CATALOGUE[code]


class HallqError(Exception):
    """A failure a user can act on: stable ``code``, HTTP ``status``, Chinese and English text."""

    status: int = 400
    default_code: str = "invalid_request"

    def __init__(self, zh: str | None = None, en: str | None = None, *, code: str | None = None,
                 **extra: Any) -> None:
        self.code = code or self.default_code
        if zh is None or en is None:
            default_zh, default_en = CATALOGUE.get(self.code, CATALOGUE[self.default_code])
            zh, en = zh or default_zh, en or default_en
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.extra = extra
        self.headers: dict[str, str] = {}  # added to the problem response (WWW-Authenticate, Retry-After)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, en={self.en!r})"


class Unauthenticated(HallqError):
    """No or invalid credentials (401)."""

    status = 401
    default_code = "unauthenticated"

    def __init__(self, zh: str | None = None, en: str | None = None, *, code: str | None = None,
                 **extra: Any) -> None:
        super().__init__(zh, en, code=code, **extra)
        self.headers = {"WWW-Authenticate": 'Bearer realm="hallq"'}


class Forbidden(HallqError):
    """Authenticated, but this caller may not do this (403)."""

    status = 403
    default_code = "forbidden"


class Refused(HallqError):
    """A business rule refuses the request: limits, opening hours (403)."""

    status = 403
    default_code = "refused"


class NotFound(HallqError):
    """The named service, window, ticket or device does not exist (404)."""

    status = 404
    default_code = "not_found"


class Conflict(HallqError):
    """The request is valid but impossible in the current state (409)."""

    status = 409
    default_code = "invalid_transition"


class RateLimited(HallqError):
    """Too many requests; ``retry_after`` seconds (429, also the Retry-After header)."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, zh: str | None = None, en: str | None = None, retry_after: int = 1, *,
                 code: str | None = None, **extra: Any) -> None:
        super().__init__(zh, en, code=code, retry_after=retry_after, **extra)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class Unavailable(HallqError):
    """A part of the hall is temporarily not able to answer, e.g. a camera without frames (503)."""

    status = 503
    default_code = "camera_unavailable"


def invalid_credentials() -> HallqError:
    """Wrong user name or password (the same answer for both)."""
    return HallqError(code="invalid_credentials")


def unknown_service(code: str) -> NotFound:
    """The service code is not configured."""
    return NotFound(f"没有此业务：{code}", f"Unknown service: {code}", code="unknown_service", service=code)


def unknown_window(number: int) -> NotFound:
    """The window number is not configured."""
    return NotFound(f"没有{number}号窗口", f"Unknown window: {number}", code="unknown_window", window=number)


def unknown_ticket(ticket: int | str) -> NotFound:
    """No ticket has this id or token."""
    return NotFound("没有找到这张号票", f"Unknown ticket: {ticket}", code="unknown_ticket")


def invalid_transition(state: str, action: str) -> Conflict:
    """The ticket's state does not allow the action."""
    return Conflict(
        f"号票当前状态（{state}）不能执行此操作（{action}）",
        f"A ticket in state '{state}' cannot be '{action}'",
        code="invalid_transition",
        state=state,
        action=action,
    )


def window_not_open(number: int, state: str) -> Conflict:
    """The window is closed or paused."""
    return Conflict(
        f"{number}号窗口未开放（{state}）",
        f"Window {number} is not open ({state})",
        code="window_not_open",
        window=number,
        state=state,
    )
