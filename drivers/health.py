"""Device health: a state, named faults, and logging once per transition."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger("hallq.devices")


class DeviceState(StrEnum):
    """Lifecycle state of one device."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    READY = "ready"
    BUSY = "busy"
    FAULT = "fault"
    OFFLINE = "offline"


# Named faults used across drivers; drivers may add their own strings.
PAPER_OUT = "paper_out"
PAPER_NEAR_END = "paper_near_end"
COVER_OPEN = "cover_open"
CUTTER_ERROR = "cutter_error"
NO_ANSWER = "no_answer"
SELF_TEST_FAILED = "self_test_failed"
PROTOCOL_ERROR = "protocol_error"
DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class Health:
    """A snapshot of a device's health, safe to publish."""

    state: DeviceState
    faults: tuple[str, ...] = ()
    detail: str | None = None
    since: float = 0.0

    @property
    def available(self) -> bool:
        """True when the device can do its job now (ready or busy; near-end paper still prints)."""
        return self.state in (DeviceState.READY, DeviceState.BUSY)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "state": self.state.value,
            "available": self.available,
            "faults": list(self.faults),
            "detail": self.detail,
            "since": self.since,
        }


HealthListener = Callable[[str, Health], None]


@dataclass
class HealthTracker:
    """Holds one device's health; logs and notifies listeners only when it changes."""

    device_id: str
    listeners: list[HealthListener] = field(default_factory=list)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._health = Health(DeviceState.CLOSED, since=self.clock())
        self._ever_available = False

    @property
    def health(self) -> Health:
        """The current health."""
        return self._health

    def set(self, state: DeviceState, faults: tuple[str, ...] | list[str] = (), detail: str | None = None) -> None:
        """Change the health; a no-op when state and faults are unchanged."""
        faults = tuple(sorted(set(faults)))
        old = self._health
        if old.state == state and old.faults == faults:
            return
        self._health = Health(state, faults, detail, self.clock())
        self._log_transition(old, self._health)
        for listener in list(self.listeners):
            try:
                listener(self.device_id, self._health)
            except Exception:  # a listener bug must not break the driver
                log.exception("health listener failed for %s", self.device_id)

    def _log_transition(self, old: Health, new: Health) -> None:
        if old.available and not new.available:
            faults = ",".join(new.faults)
            log.warning("device %s dropped: %s %s %s", self.device_id, new.state, faults, new.detail or "")
        elif not old.available and new.available:
            if self._ever_available:
                log.warning("device %s is back: %s", self.device_id, new.state)
            else:
                log.info("device %s is ready", self.device_id)
            self._ever_available = True
        elif new.faults != old.faults:
            log.info("device %s faults: %s", self.device_id, ",".join(new.faults) or "none")
