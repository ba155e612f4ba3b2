"""The call-back clock of the console: how much of the policy's 回呼 limit is left, in opening time only.

A ticket marked 过号 at 11:50 before a 12:00–13:30 lunch, with a 30-minute limit, has used 10
minutes at lunch and may still be called back until 13:50: lunch, closed hours and holidays
do not count (``opening_seconds`` / ``opening_deadline`` of server/queue/hours.py, the same
functions the store's ``call_backs`` and ``call`` use).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.queue.hours import Calendar, opening_deadline, opening_seconds


def seconds_left(cal: Calendar, since: dt.datetime, now: dt.datetime, limit_s: float) -> float:
    """Opening-time seconds left of ``limit_s`` counted from ``since`` (never below 0)."""
    return max(0.0, limit_s - opening_seconds(cal, since, now))


def with_time_left(tickets: list[dict[str, Any]], set_aside_ms: dict[int, int], cal: Calendar,
                   now: dt.datetime, limit_s: float) -> list[dict[str, Any]]:
    """Call-back tickets with ``left_s`` (opening-time seconds left), ``set_aside_at`` and ``deadline``.

    ``set_aside_ms`` maps a ticket id to when it became 过号/挂起 (the store's ``state_at``);
    a ticket with no time left is dropped.
    """
    out = []
    for t in tickets:
        at_ms = set_aside_ms.get(int(t["id"]))
        if at_ms is None:
            continue
        since = dt.datetime.fromtimestamp(at_ms / 1000, cal.tz)
        left = seconds_left(cal, since, now, limit_s)
        if left > 0:
            deadline = opening_deadline(cal, since, limit_s)
            out.append({**t, "left_s": int(left), "set_aside_at": since.isoformat(timespec="seconds"),
                        "deadline": deadline.isoformat(timespec="seconds") if deadline else None})
    return out
