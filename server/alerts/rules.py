"""Alert rules over the hall's current state: pure, evaluated periodically by the inbox.

Each rule yields ``Finding``s: active ones are reported (de-duplicated into one open alert per
type and subject, ``server/alerts/store.py``), inactive ones clear their alert.

- ``long_wait`` (service:<code>): the longest wait of a waiting ticket is past the service's
  target (``services[].sla_minutes``);
- ``open_window`` (hall): more than ``crowd_count`` people have waited longer than
  ``crowd_minutes`` minutes (the "30-minute rule"); the message names the closed window that
  serves most of them as 主办 or 兼办;
- ``unserved`` (service:<code>): people wait for a service that no staffed window serves;
- ``pause_too_long`` (window:<n>): a window has been paused longer than ``pause_minutes``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from server.config import HallConfig

STAFFED = frozenset({"open", "calling", "serving"})


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds of the rules (defaults: the 30-minute rule with 10 people, 15-minute pauses)."""

    crowd_count: int = 10
    crowd_minutes: int = 30
    pause_minutes: int = 15


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket: its service and original issue time (ms)."""

    service: str
    since: int


@dataclass(frozen=True)
class WindowNow:
    """A window's state and when it last changed (ms)."""

    number: int
    state: str
    since: int


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one subject."""

    type: str
    subject: str
    active: bool
    severity: str = "warning"
    message: str = ""


def evaluate(config: HallConfig, now: int, waiting: Iterable[Waiting], windows: Iterable[WindowNow],
             rules: RuleSettings = RuleSettings()) -> list[Finding]:
    """Every rule's findings for every subject it watches (active or not, so alerts can clear)."""
    waiting, windows = list(waiting), list(windows)
    serves = {w.number: {s.code for s in w.services} for w in config.windows}
    label = {w.number: w.label for w in config.windows}
    state = {w.number: w for w in windows}
    staffed = {n for n, w in state.items() if w.state in STAFFED}
    out: list[Finding] = []
    for svc in config.services:
        mine = [w for w in waiting if w.service == svc.code]
        longest = max((now - w.since for w in mine), default=0)
        target = svc.sla_minutes
        over = target is not None and longest > target * 60_000
        out.append(Finding("long_wait", f"service:{svc.code}", over, "warning",
                           f"{svc.name}最长等候{longest // 60_000}分钟，超过目标{target}分钟" if over else ""))
        unserved = bool(mine) and not any(svc.code in serves.get(n, set()) for n in staffed)
        out.append(Finding("unserved", f"service:{svc.code}", unserved, "critical",
                           f"{svc.name}有{len(mine)}人等候，但没有在岗窗口办理" if unserved else ""))
    long = [w for w in waiting if now - w.since > rules.crowd_minutes * 60_000]
    crowded = len(long) > rules.crowd_count
    message = ""
    if crowded:
        need = Counter(w.service for w in long)
        closed = [n for n, w in state.items() if w.state == "closed"]
        best = max(closed, key=lambda n: (sum(need[c] for c in serves.get(n, set())), -n), default=None)
        hint = f"，建议开放{label[best]}" if best is not None and best in label else ""
        message = f"{len(long)}人等候超过{rules.crowd_minutes}分钟{hint}"
    out.append(Finding("open_window", "hall", crowded, "critical", message))
    for w in windows:
        paused = w.state == "paused" and now - w.since > rules.pause_minutes * 60_000
        out.append(Finding("pause_too_long", f"window:{w.number}", paused, "warning",
                           f"{label.get(w.number, w.number)}暂停已{(now - w.since) // 60_000}分钟" if paused else ""))
    return out
