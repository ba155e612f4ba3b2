"""Domain errors of the queue server, each with a stable code and bilingual text.

The tree::

    HallqError                      (status 400, code "invalid_request")
    ├── NotFound                    404  unknown_service, unknown_window, unknown_ticket, …
    ├── Conflict                    409  invalid_transition, window_not_open, window_busy,
    │                                    already_rated, not_ratable, nothing_to_recall,
    │                                    callback_expired
    └── Refused                     403  daily_limit_reached, number_range_exhausted,
                                         outside_opening_hours, per_person_limit

The web layer maps every HallqError to an RFC 9457 problem document at one place
(``server/api/problems.py``); nothing below the web layer knows about HTTP bodies.
"""

from __future__ import annotations

from typing import Any


class HallqError(Exception):
    """A failure a user can act on: stable ``code``, HTTP ``status``, Chinese and English text."""

    status: int = 400
    default_code: str = "invalid_request"

    def __init__(self, zh: str, en: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(en)
        self.code = code or self.default_code
        self.zh = zh
        self.en = en
        self.extra = extra

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, en={self.en!r})"


class NotFound(HallqError):
    """The named service, window or ticket does not exist."""

    status = 404
    default_code = "not_found"


class Conflict(HallqError):
    """The request is valid but impossible in the current state."""

    status = 409
    default_code = "invalid_transition"


class Refused(HallqError):
    """A business rule refuses the request (limits, opening hours)."""

    status = 403
    default_code = "refused"


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
