"""Building the engine's value objects from the hall configuration (done once, then cached)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from server.config import HallConfig, HallSettings, ServiceConfig, WindowConfig
from server.queue.entities import CallPolicy, Candidate, WindowRule
from server.queue.enums import Role
from server.queue.hours import Calendar, Interval
from server.queue.numbering import NumberRule
from server.queue.policy import choose_next


def calendar_of(hall: HallSettings) -> Calendar:
    """The hall's calendar."""
    weekly: dict[int, list[Interval]] = {}
    for entry in hall.opening_hours:
        for day in entry.days:
            weekly.setdefault(day, []).append((entry.open, entry.close))
    lunch = (hall.lunch_break.start, hall.lunch_break.end) if hall.lunch_break else None
    return Calendar(
        tz=hall.tz,
        weekly={k: tuple(v) for k, v in weekly.items()},
        lunch=lunch,
        holidays=frozenset(hall.holidays),
        extra_workdays=frozenset(hall.extra_workdays),
        rollover=hall.rollover,
        always_open=hall.always_open,
    )


def number_rule_of(s: ServiceConfig) -> NumberRule:
    """A service's number series."""
    return NumberRule(s.code, s.name, s.prefix, s.number_start, s.number_end, s.width,
                      s.on_exhausted == "wrap", s.daily_limit)


def window_rules_of(w: WindowConfig) -> tuple[WindowRule, ...]:
    """A window's services in order with role and weight."""
    return tuple(WindowRule(ws.code, Role(ws.role), ws.weight) for ws in w.services)


def call_policy_of(cfg: HallConfig) -> CallPolicy:
    """The hall's calling rules."""
    return CallPolicy(cfg.policy.priority_interleave, cfg.policy.sla_promotion)


def sla_of(cfg: HallConfig) -> dict[str, float | None]:
    """SLA minutes per service."""
    return {s.code: (float(s.sla_minutes) if s.sla_minutes is not None else None) for s in cfg.services}


def call_order(window: int, rules: Sequence[WindowRule], candidates: Sequence[Candidate], now: float,
               sla: dict[str, float | None], policy: CallPolicy, streak: int = 0, limit: int = 200) -> list[Candidate]:
    """The order in which the window would call the given tickets if nothing changed."""
    # only the oldest ticket of each (service, class, target) group can be picked next
    groups: dict[tuple[str, str, int | None], deque[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: (c.sort_at, c.id)):
        groups.setdefault((c.service, c.priority.value, c.target_window), deque()).append(c)
    out: list[Candidate] = []
    while groups and len(out) < limit:
        heads = [g[0] for g in groups.values()]
        pick = choose_next(window, rules, heads, now, sla, policy, streak)
        if pick is None:
            break
        c = pick.candidate
        out.append(c)
        streak = pick.streak
        key = (c.service, c.priority.value, c.target_window)
        groups[key].popleft()
        if not groups[key]:
            del groups[key]
    return out
