"""Constructors for the queue's business refusals and conflicts (codes of server/errors.py)."""

from __future__ import annotations

from server.errors import Conflict, Refused


def daily_limit_reached(service: str, name: str, limit: int) -> Refused:
    """每日限号: the service has issued its daily number of tickets."""
    return Refused(f"{name}今日号已取完（每日限{limit}号）",
                   f"{service}: the daily limit of {limit} tickets is reached",
                   code="daily_limit_reached", service=service, limit=limit)


def number_range_exhausted(service: str, name: str) -> Refused:
    """The number range of the service is used up and it does not wrap."""
    return Refused(f"{name}今日号码已用完", f"{service}: the number range is exhausted",
                   code="number_range_exhausted", service=service)


def outside_opening_hours(next_open: str | None, reason: str) -> Refused:
    """Outside opening hours (closed, lunch break, holiday); ``next_open`` is ISO time or None."""
    zh = {"lunch_break": "午休时间暂停取号", "holiday": "今日为节假日，不办理业务",
          "service_hours": "该业务当前不在办理时间"}.get(reason, "当前不在办公时间")
    if next_open:
        zh += f"，下次开始办理时间：{next_open[:16].replace('T', ' ')}"
    return Refused(zh, f"Outside opening hours ({reason}); next opening: {next_open or 'unknown'}",
                   code="outside_opening_hours", next_open=next_open, reason=reason)


def service_cut_off(service: str, name: str, minutes: int, next_open: str | None) -> Refused:
    """The service stops issuing ``minutes`` before closing (per-service cut-off)."""
    zh = f"{name}今日已停止取号（闭厅前{minutes}分钟停止取号）"
    if next_open:
        zh += f"，下次开始办理时间：{next_open[:16].replace('T', ' ')}"
    return Refused(zh, f"{service}: no more tickets today ({minutes} min before closing); next: {next_open or '?'}",
                   code="service_cut_off", service=service, minutes=minutes, next_open=next_open)


def no_window_serving(service: str, name: str) -> Refused:
    """No staffed window serves the service now and the hall refuses such kiosk tickets."""
    return Refused(f"{name}暂无窗口办理，请稍后再取号或咨询工作人员",
                   f"No window serves {service} now; please try later or ask staff",
                   code="no_window_serving", service=service)


def card_expired_for(service: str, name: str) -> Refused:
    """An expired ID card is accepted elsewhere but not for this service (``ServiceConfig.expired_card``)."""
    return Refused(f"{name}需使用有效期内的身份证件，请到人工窗口办理",
                   f"{service} needs a valid (unexpired) ID card; please go to a staffed window",
                   code="card_expired", service=service)


def per_person_limit(service: str | None, limit: int) -> Refused:
    """The same person already took as many tickets today as allowed."""
    what = "该业务" if service else "今日"
    return Refused(f"{what}每人每天最多取{limit}个号", f"Per-person daily limit of {limit} tickets reached",
                   code="per_person_limit", service=service, limit=limit)


def open_ticket_exists(service: str, name: str, number: str) -> Refused:
    """The person already holds an open ticket of this service."""
    return Refused(f"您已有{name}的号票{number}，请等候叫号", f"An open ticket {number} of {service} exists already",
                   code="per_person_limit", service=service, number=number)


def service_disabled(service: str, name: str) -> Refused:
    """The service is configured but not offered now."""
    return Refused(f"{name}暂停办理", f"{service} is not offered now", code="service_disabled", service=service)


def window_busy(number: int, ticket: str) -> Conflict:
    """The window already has a current ticket."""
    return Conflict(f"{number}号窗口正在办理{ticket}，请先完成或转移", f"Window {number} already has ticket {ticket}",
                    code="window_busy", window=number, ticket=ticket)


def nothing_to_recall(number: int) -> Conflict:
    """The window has no current ticket."""
    return Conflict(f"{number}号窗口当前没有号票", f"Window {number} has no current ticket",
                    code="nothing_to_recall", window=number)


def already_rated(ticket_id: int) -> Conflict:
    """一次一评: the ticket was rated already."""
    return Conflict("该号票已经评价过", f"Ticket {ticket_id} is already rated", code="already_rated", ticket=ticket_id)


def not_ratable(ticket_id: int, state: str) -> Conflict:
    """Only a ticket that was served can be rated."""
    return Conflict("办理完成后才能评价", f"Ticket {ticket_id} cannot be rated in state {state}",
                    code="not_ratable", ticket=ticket_id, state=state)


def invalid_rating(level: int) -> Conflict:
    """Rating level outside 1..5."""
    return Conflict("评价等级应为1到5", f"Rating level must be 1..5, not {level}", code="invalid_rating", level=level)


def callback_expired(ticket_id: int, minutes: int) -> Conflict:
    """A no-show/suspended ticket can only be called back within the configured minutes."""
    return Conflict(f"已超过{minutes}分钟回呼时限", f"Ticket {ticket_id} can no longer be called back ({minutes} min)",
                    code="callback_expired", ticket=ticket_id, minutes=minutes)


def not_for_window(number: int, ticket: str) -> Conflict:
    """The window does not serve the ticket's service."""
    return Conflict(f"{number}号窗口不办理{ticket}的业务", f"Window {number} does not serve ticket {ticket}",
                    code="invalid_transition", window=number, ticket=ticket)


def invalid_request(zh: str, en: str) -> Conflict:
    """A request that makes no sense (e.g. transfer with no target)."""
    return Conflict(zh, en, code="invalid_request")
