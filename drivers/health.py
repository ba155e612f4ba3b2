"""Device health: a state, named faults, and logging once per transition."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
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
TICKET_IN_PRESENTER = "ticket_in_presenter"  # presenter printers: printed, not yet taken

# Named conditions that are reported but do not stop the device (it stays available);
# alerting and UIs should show them as notices, not faults.
NOTICES = frozenset({PAPER_NEAR_END, TICKET_IN_PRESENTER})


@dataclass(frozen=True)
class Health:
    """A snapshot of a device's health, safe to publish."""

    state: DeviceState
    faults: tuple[str, ...] = ()
    detail: str | None = None
    since: float = 0.0
    # running totals a driver reports (rejected frames, unmapped keys …); never reset by set()
    counters: Mapping[str, int] = field(default_factory=dict)

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
            "counters": dict(self.counters),
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
        self.counters: Counter[str] = Counter()

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
        self._health = Health(state, faults, detail, self.clock(), dict(self.counters))
        self._log_transition(old, self._health)
        self._notify()

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` and publish the new totals (state unchanged)."""
        self.counters[name] += n
        old = self._health
        self._health = Health(old.state, old.faults, old.detail, old.since, dict(self.counters))
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            try:
                listener(self.device_id, self._health)
            except Exception:  # a listener bug must not break the driver
                log.exception("health listener failed for %s", self.device_id)

    def _log_transition(self, old: Health, new: Health) -> None:
        if new.state == DeviceState.CLOSED:  # a deliberate close is not a drop
            log.info("device %s closed", self.device_id)
        elif old.available and not new.available:
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
