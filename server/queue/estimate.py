"""Wait estimates: people ahead, the windows serving the service (主办 fully, 兼办 by share), service times.

A 兼办 (secondary) window calls a service only while its own 主办 queues are empty, so it is
not a full window for that service: it counts fully while its 主办 services have nobody
waiting and ``SECONDARY_BUSY_SHARE`` × its weight (at most 1) otherwise. Because that can
change at any moment, an estimate that leans on 兼办 windows comes as a range: the low end
counts every 兼办 window fully, the high end counts each at its busy share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SECONDARY_BUSY_SHARE = 0.25  # part of a busy 兼办 window's time the secondary service gets


def average_minutes(durations_seconds: Sequence[float], fallback_minutes: float, samples: int = 20) -> float:
    """Moving average of the last ``samples`` service durations, or the configured expectation."""
    recent = [d for d in durations_seconds[-samples:] if d > 0]
    if not recent:
        return fallback_minutes
    return sum(recent) / len(recent) / 60.0


def eta_minutes(ahead: int, windows_open: int, avg_minutes: float) -> int | None:
    """Estimated minutes until called; None while no window serves the service."""
    if windows_open <= 0:
        return None
    return math.ceil(ahead * avg_minutes / windows_open)


@dataclass(frozen=True, slots=True)
class SecondaryWindow:
    """A staffed window serving the service as 兼办: its weight and whether its 主办 queues have people."""

    weight: float = 1.0
    primaries_waiting: bool = True

    def share(self) -> float:
        """The part of this window the service gets now."""
        return 1.0 if not self.primaries_waiting else self.busy_share()

    def busy_share(self) -> float:
        """The part it gets while its 主办 services have people waiting."""
        return min(1.0, SECONDARY_BUSY_SHARE * self.weight)


@dataclass(frozen=True, slots=True)
class Capacity:
    """Staffed windows serving one service now."""

    primary: int = 0
    secondary: tuple[SecondaryWindow, ...] = ()

    @property
    def any(self) -> bool:
        """At least one staffed window serves the service."""
        return self.primary > 0 or bool(self.secondary)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Minutes until called (None: no window serves it); ``low``/``high`` when it is uncertain."""

    minutes: int | None
    low: int | None = None
    high: int | None = None

    @property
    def range(self) -> list[int] | None:
        """``[low, high]`` for views, or None when the estimate is firm."""
        if self.low is None or self.high is None:
            return None
        return [self.low, self.high]


def estimate(ahead: int, capacity: Capacity, avg_minutes: float) -> Estimate:
    """The wait of a ticket with ``ahead`` people before it, 兼办 windows counted by share."""
    if not capacity.any:
        return Estimate(None)
    work = ahead * avg_minutes
    now = capacity.primary + sum(w.share() for w in capacity.secondary)
    best = capacity.primary + float(len(capacity.secondary))
    worst = capacity.primary + sum(w.busy_share() for w in capacity.secondary)
    point = math.ceil(work / now)
    low, high = math.ceil(work / best), math.ceil(work / worst)
    if ahead <= 0 or low == high:
        return Estimate(point)
    return Estimate(point, min(low, point), max(high, point))
