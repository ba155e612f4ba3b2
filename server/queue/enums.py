"""The queue's vocabulary: ticket and window states, priority classes, channels, actions."""

from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    """Where a ticket is in its life."""

    ISSUED = "issued"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    TRANSFERRED = "transferred"


class Priority(StrEnum):
    """Priority classes; ``rank`` orders them (lower is called first)."""

    GREEN = "green"  # 绿色通道
    APPOINTMENT = "appointment"  # 预约
    PRIORITY = "priority"  # 优先: elderly, disabled, pregnant
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """0 for green … 3 for normal."""
        return _RANK[self]


_RANK = {Priority.GREEN: 0, Priority.APPOINTMENT: 1, Priority.PRIORITY: 2, Priority.NORMAL: 3}


class Channel(StrEnum):
    """How a ticket was issued."""

    KIOSK = "kiosk"
    STAFF = "staff"
    WEB = "web"
    APPOINTMENT = "appointment"
    KEYPAD = "keypad"


class WindowState(StrEnum):
    """A window's state: open = idle and ready, calling/serving = has a current ticket."""

    CLOSED = "closed"
    OPEN = "open"
    CALLING = "calling"
    SERVING = "serving"
    PAUSED = "paused"


class Role(StrEnum):
    """A window's role for a service: 主办 or 兼办."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class Action(StrEnum):
    """What can happen to a ticket."""

    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    SUSPEND = "suspend"
    CALLBACK = "callback"  # 回呼 of a suspended or no-show ticket
    TRANSFER = "transfer"
    EXPIRE = "expire"


RATING_LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_RATINGS = frozenset({1, 2})  # 差评
WAITING_STATES = frozenset({TicketState.ISSUED})
ACTIVE_STATES = frozenset({TicketState.CALLED, TicketState.SERVING})
