"""Wait estimates: people ahead, windows serving the service, recent service times."""

from __future__ import annotations

import math
from collections.abc import Sequence


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
