"""Alert logic for cameras: clerk absence (离岗) and crowding, with time hysteresis.

Pure: callers pass the time, the window state and the analytics readings; nothing here
reads a clock or a camera, so the rules are tested with simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.queue.enums import WindowState


def _staffed(window_state: str | None) -> bool:
    """A clerk is expected at the desk (``WindowState.staffed``); unknown states are not staffed."""
    try:
        return window_state is not None and WindowState(window_state).staffed()
    except ValueError:
        return False


@dataclass(frozen=True)
class AlertChange:
    """An alert raised (``active``) or cleared."""

    kind: str  # "clerk_absent" | "crowding"
    active: bool
    at: float  # when the change was decided
    since: float  # when the condition started (empty seat, crowd above the threshold)
    window: int | None = None
    value: int | None = None  # crowding: the head count
    reason: str | None = None  # why it cleared: "returned", "window_paused", "window_closed", "below_threshold"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (times as epoch seconds)."""
        return {
            "kind": self.kind, "active": self.active, "at": self.at, "since": self.since,
            "window": self.window, "value": self.value, "reason": self.reason,
        }


class AbsenceWatch:
    """One window: raise ``clerk_absent`` when it is staffed but its seat was empty for ``absent_after`` s.

    The clock only runs while the window is open (open/calling/serving): a paused or
    closed window has no absent clerk, and the empty time counts from whichever came
    last, the seat emptying or the window opening. The seat must look occupied for
    ``present_after`` seconds before the empty time resets, so one odd reading does
    not restart the count; the alert clears the same way or when the window closes.
    """

    def __init__(self, window: int, absent_after: float = 120.0, present_after: float = 5.0) -> None:
        self.window = window
        self.absent_after = absent_after
        self.present_after = present_after
        self.active = False
        self.empty_since: float | None = None
        self.present_since: float | None = None
        self.staffed_since: float | None = None

    def update(self, now: float, window_state: str | None, occupied: bool | None) -> AlertChange | None:
        """Feed one reading; returns a change when the alert is raised or cleared."""
        if not _staffed(window_state):
            self.staffed_since = self.empty_since = self.present_since = None
            if self.active:
                self.active = False
                return AlertChange("clerk_absent", False, now, now, self.window, reason=f"window_{window_state}")
            return None
        if self.staffed_since is None:
            self.staffed_since = now
        if occupied is None:  # no reference or no frame: keep counting what we last knew
            return None
        if occupied:
            if self.present_since is None:
                self.present_since = now
            if now - self.present_since >= self.present_after:
                self.empty_since = None
                if self.active:
                    self.active = False
                    return AlertChange("clerk_absent", False, now, self.present_since, self.window, reason="returned")
            return None
        self.present_since = None
        if self.empty_since is None:
            self.empty_since = now
        start = max(self.empty_since, self.staffed_since)
        if not self.active and now - start >= self.absent_after:
            self.active = True
            return AlertChange("clerk_absent", True, now, start, self.window)
        return None


class CrowdWatch:
    """The waiting area: raise ``crowding`` when at least ``threshold`` people stay for ``after`` s.

    Clears when the count stays at or below ``clear_below`` (default threshold − 2)
    for ``clear_after`` seconds; counts in between keep the current state.
    """

    def __init__(
        self, threshold: int = 10, after: float = 30.0, clear_below: int | None = None, clear_after: float = 60.0
    ) -> None:
        self.threshold = threshold
        self.after = after
        self.clear_below = clear_below if clear_below is not None else max(0, threshold - 2)
        self.clear_after = clear_after
        self.active = False
        self.above_since: float | None = None
        self.below_since: float | None = None

    def update(self, now: float, people: int | None) -> AlertChange | None:
        """Feed one head count; returns a change when the alert is raised or cleared."""
        if people is None:
            return None
        if people >= self.threshold:
            self.below_since = None
            if self.above_since is None:
                self.above_since = now
            if not self.active and now - self.above_since >= self.after:
                self.active = True
                return AlertChange("crowding", True, now, self.above_since, value=people)
        elif people <= self.clear_below:
            self.above_since = None
            if self.below_since is None:
                self.below_since = now
            if self.active and now - self.below_since >= self.clear_after:
                self.active = False
                return AlertChange("crowding", False, now, self.below_since, value=people, reason="below_threshold")
        else:
            self.above_since = None if not self.active else self.above_since
            self.below_since = None
        return None
