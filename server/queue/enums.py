"""The queue's vocabulary: ticket and window states, priority classes, channels, actions."""

from __future__ import annotations

from enum import IntEnum, StrEnum


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

    def staffed(self) -> bool:
        """A clerk is at the window (open, calling or serving); closed and paused are not staffed."""
        return self in _STAFFED


_STAFFED = frozenset({WindowState.OPEN, WindowState.CALLING, WindowState.SERVING})


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


class Rating(IntEnum):
    """五级好差评 (GB/T 39734-2020): 1 and 2 are 差评."""

    VERY_UNSATISFIED = 1  # 非常不满意
    UNSATISFIED = 2  # 不满意
    BASICALLY_SATISFIED = 3  # 基本满意
    SATISFIED = 4  # 满意
    VERY_SATISFIED = 5  # 非常满意

    @property
    def label(self) -> str:
        """The level's Chinese name."""
        return RATING_LEVELS[self.value]

    def is_bad(self) -> bool:
        """差评: needs verification and rectification."""
        return self <= Rating.UNSATISFIED


RATING_LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
