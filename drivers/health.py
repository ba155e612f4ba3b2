"""Device health: a state, named faults, hysteresis on a return, and logging once per reported transition."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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

# A device that dropped is declared back only after its health stayed good this long. A line
# that flaps (a noisy cable, a corrupting or stalling link: the printer answers one status
# query between two bad ones) is then one outage, logged once on drop and once on return,
# instead of one per good reply. Longer than the line faults of tests/reliability/test_chaos.py
# (at most 2.5 s each), short enough that a recovered device is back within a few seconds.
SETTLE_SECONDS = 3.0


@dataclass
class HealthTracker:
    """Holds one device's health with hysteresis; logs and notifies listeners only when the reported one changes.

    ``health`` is what the driver observes now (its own logic follows it at once: a printer
    that answers again prints again). ``reported`` is what the hall is told (listeners, the
    ``device.health`` events, ``GET /api/devices``, the log): a drop is reported at once, but
    after a drop the device is reported back only once it stayed available for ``settle``
    seconds with no bad observation in between. The first ready after opening (and after a
    deliberate close) is reported at once: it ends no outage. Outside an event loop there is
    no timer, so a return is reported at once.
    """

    device_id: str
    listeners: list[HealthListener] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    settle: float = SETTLE_SECONDS

    def __post_init__(self) -> None:
        self._health = Health(DeviceState.CLOSED, since=self.clock())
        self._reported = self._health
        self._ever_available = False
        self._outage = False  # reported down after being available: a return must settle first
        self._settling: asyncio.TimerHandle | None = None
        self.counters: Counter[str] = Counter()

    @property
    def health(self) -> Health:
        """The health the driver observes now."""
        return self._health

    @property
    def reported(self) -> Health:
        """The health the hall is told (debounced: see the class docstring)."""
        return self._reported

    @property
    def settling(self) -> bool:
        """True while a recovered device waits out ``settle`` before it is reported back."""
        return self._settling is not None

    def set(self, state: DeviceState, faults: tuple[str, ...] | list[str] = (), detail: str | None = None) -> None:
        """Record an observation; a no-op when state and faults are unchanged."""
        faults = tuple(sorted(set(faults)))
        old = self._health
        if old.state == state and old.faults == faults:
            return
        self._health = Health(state, faults, detail, self.clock(), dict(self.counters))
        new = self._health
        if new.state == DeviceState.CLOSED:  # a deliberate close ends any outage
            self._outage = False
        if new.available and self._outage and not self._reported.available:
            self._start_settling()
            return
        self._stop_settling()
        self._report(new)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` and publish the new totals (state unchanged)."""
        self.counters[name] += n
        self._health = replace(self._health, counters=dict(self.counters))
        self._reported = replace(self._reported, counters=dict(self.counters))
        self._notify()

    def _start_settling(self) -> None:
        if self._settling is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop, no timer: report the return at once
            self._settled()
            return
        self._settling = loop.call_later(self.settle, self._settled)

    def _stop_settling(self) -> None:
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None

    def _settled(self) -> None:
        self._settling = None
        if self._health.available:
            self._report(self._health)

    def _report(self, observed: Health) -> None:
        old = self._reported
        self._reported = replace(observed, since=self.clock(), counters=dict(self.counters))
        if old.available and not observed.available and observed.state != DeviceState.CLOSED:
            self._outage = True
        elif observed.available:
            self._outage = False
        self._log_transition(old, self._reported)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            try:
                listener(self.device_id, self._reported)
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
