"""Plain value objects the engine works on (no I/O, no clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.queue.enums import Priority, Role


@dataclass(frozen=True, slots=True)
class IdentityRef:
    """A citizen's identity as the queue keeps it: a keyed hash and masked forms only."""

    key_hash: str
    masked_id: str | None = None
    masked_name: str | None = None
    birth_date: dt.date | None = None
    expired: bool = False  # the ID card is past its validity (accepted per identity.expired_card / service)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting ticket the calling policy may pick.

    ``sort_at`` is the original issue time (a transfer child keeps its parent's), in
    seconds since the epoch; ``target_window`` is set when a ticket was sent to one window.
    """

    id: int
    service: str
    priority: Priority
    sort_at: float
    target_window: int | None = None


@dataclass(frozen=True, slots=True)
class WindowRule:
    """One service a window calls, with its role and weight, in configured order."""

    service: str
    role: Role = Role.PRIMARY
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """The hall-wide calling rules."""

    priority_interleave: int = 3
    sla_promotion: bool = True
    # class first, then 主办/兼办 (the default); False: 主办 before 兼办 whatever the class
    class_first: bool = True


@dataclass(frozen=True, slots=True)
class Pick:
    """The policy's choice and the window's interleave streak after it."""

    candidate: Candidate
    streak: int
    promoted: bool
    role: Role


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years of age on ``day``."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years
