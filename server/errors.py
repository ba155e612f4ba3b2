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
    # honest availability (server/queue/availability.py)
    "service_cut_off": ("该业务今日已停止取号", "This service stopped issuing tickets for today"),
    "no_window_serving": ("该业务暂无窗口办理", "No window serves this service now"),
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
    # staff directory (server/staff/, server/api/staff.py)
    "unknown_staff": ("工作人员名录中没有此人", "Not in the staff directory"),
    "staff_exists": ("工号已存在", "A staff member has this staff number"),
    "photo_invalid": ("照片须为 JPEG、PNG 或 WebP 图片", "The photo must be a JPEG, PNG or WebP image"),
    "photo_too_large": ("照片文件过大", "The photo file is too large"),
    "no_photo": ("此工作人员没有照片", "This staff member has no photo"),
    # clerk console: 代取号, 绿色通道, transfer targets (server/console/, server/api/console.py)
    "invalid_id_number": ("身份证号码有误，请核对", "The ID number is not valid"),
    "unknown_console_reason": ("请从列表中选择原因", "Choose a reason from the list"),
    "transfer_target_closed": ("目标窗口未开放，不能转入", "The target window is not open"),
    "no_print_target": ("此取号机或导办台没有配置打印机", "That kiosk or desk has no ticket printer"),
    "green_reason_required": ("绿色通道须选择原因（或在工作台代取号）",
                              "A green-channel ticket needs a reason (or use the clerk console)"),
    # live hall configuration (server/config_live/, server/api/config.py)
    "config_stale": ("配置已被他人修改，请刷新后重试", "Someone changed the configuration first; reload and retry"),
    "config_invalid": ("配置有误，未作任何修改", "The configuration is invalid; nothing was changed"),
    "unknown_config_version": ("没有此版本的配置", "Unknown configuration version"),
    "service_has_waiting": ("该事项仍有等候的号票，不能删除", "The service still has waiting tickets"),
    "config_unavailable": ("在线配置未启用", "Live configuration is not running"),
    # kiosk robustness and help (server/kiosk/requests.py, server/api/kiosks.py)
    "bad_idempotency_key": ("取号请求编号无效", "Invalid Idempotency-Key"),
    "kiosk_request_pending": ("正在取号，请稍候", "This tap is still being issued; retry shortly"),
    "unknown_prompt": ("没有此语音提示", "Unknown voice prompt"),
    "speech_unavailable": ("语音提示暂不可用", "Voice guidance is not available"),
    # 预约 appointments and 远程取号 (server/appointments/)
    "booking_refused": ("无法预约", "The booking cannot be made"),
    "not_bookable": ("该业务不提供预约", "This service takes no bookings"),
    "booking_too_soon": ("该时段已不可预约", "This day or slot can no longer be booked"),
    "booking_beyond_horizon": ("超出可预约的日期范围", "The date is beyond the booking horizon"),
    "booking_closed_day": ("该日不办公（节假日或休息日）", "The hall is closed on that day (holiday or rest day)"),
    "booking_released": ("该日预约已截止，剩余号源已转为现场取号",
                         "Booking for that day has closed; the rest is for walk-ins"),
    "unknown_slot": ("没有此预约时段", "No such slot on that day"),
    "slot_full": ("该时段已约满，请选择其他时段", "The slot is full; please pick another"),
    "booking_limit": ("您的预约数已达上限", "You already hold the maximum number of bookings"),
    "booking_limit_day": ("您当天已预约过该业务", "You already booked this service on that day"),
    "booking_blocked": ("因多次预约未到，暂停预约", "Booking is suspended after repeated missed appointments"),
    # invalid_id_number: shared with the console's 代取号 (above)
    "invalid_mobile": ("手机号码有误，请核对", "The mobile number is not valid"),
    "appointment_not_found": ("没有找到预约，请核对预约码和身份证号码", "No booking with that code and ID number"),
    "appointment_not_open": ("该预约已取消、已签到或已过期", "The booking is cancelled, checked in or missed"),
    "appointment_not_today": ("您的预约不是今天", "Your booking is not for today"),
    "checkin_too_early": ("还未到签到时间，请在预约时段{slot}前{early_minutes}分钟内签到",
                          "Too early: check in within {early_minutes} minutes before your slot at {slot}"),
    "checkin_too_late": ("已超过签到时间，预约已失效，请现场取号",
                         "Too late: the booking has lapsed; please take a number"),
    "checkin_early": ("请稍候，预约时段{slot}开始后优先叫号",
                      "Your slot starts at {slot}; you will be called first then"),
    "checkin_on_time": ("预约时段{slot}，将优先叫号", "Your {slot} slot: you will be called first"),
    "checkin_late_walk_in": ("已超过预约时段{slot}，已为您取普通号", "Past your {slot} slot: you got a normal ticket"),
    "remote_not_offered": ("该业务不提供远程取号", "Remote ticket taking is not offered for this service"),
    "remote_limit_phone": ("该手机号今日远程取号次数已达上限", "This phone number took its remote tickets for today"),
    "remote_limit_address": ("远程取号过于频繁，请稍后再试", "Too many remote tickets from this address today"),
    "remote_lapsed": ("远程取号未在规定时间内确认，已失效", "The remote ticket was not confirmed in time and lapsed"),
    "remote_confirmed": ("远程取号已确认，请等候叫号", "Remote ticket confirmed; please wait to be called"),
    # 远程取号 SMS verification (server/appointments/verify.py)
    "verify_required": ("请先获取并填写短信验证码", "Ask for the SMS code and enter it first"),
    "verify_wrong": ("验证码不正确，还可以再试{attempts_left}次", "Wrong code; {attempts_left} tries left"),
    "verify_expired": ("验证码已失效，请重新获取", "The code has expired; ask for a new one"),
    "verify_attempts": ("验证码错误次数过多，请稍后重新获取", "Too many wrong codes; ask for a new one later"),
    "verify_send_limit": ("该手机号今日获取验证码次数已达上限", "This phone number asked for too many codes today"),
    "verify_unavailable": ("短信服务暂不可用，无法发送验证码", "SMS is not available; no code can be sent"),
    # SMS notices (server/notices/)
    "notice_ticket_ended": ("该号已办结，无需短信提醒", "The ticket has ended; no notices are needed"),
    "unknown_notice": ("没有这条短信记录", "No such notice"),
    "notice_not_retryable": ("只有发送失败的短信可以重发", "Only a failed notice can be retried"),
    "notices_unavailable": ("短信提醒服务未启动", "Notices are not running"),
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
