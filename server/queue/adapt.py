"""Building the engine's value objects from the hall configuration (done once, then cached)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from server.config import HallConfig, HallSettings, OpeningHours, ServiceConfig, WindowConfig
from server.queue.entities import CallPolicy, Candidate, WindowRule
from server.queue.enums import Role
from server.queue.holidays import day_sets
from server.queue.hours import Calendar, Interval
from server.queue.numbering import NumberRule
from server.queue.policy import choose_next


def _weekly(hours: Sequence[OpeningHours]) -> dict[int, tuple[Interval, ...]]:
    weekly: dict[int, list[Interval]] = {}
    for entry in hours:
        for day in entry.days:
            weekly.setdefault(day, []).append((entry.open, entry.close))
    return {k: tuple(v) for k, v in weekly.items()}


def calendar_of(hall: HallSettings) -> Calendar:
    """The hall's calendar: weekly hours, lunch, and the 放假/调休 days of ``day_sets`` (hall lists first)."""
    lunch = (hall.lunch_break.start, hall.lunch_break.end) if hall.lunch_break else None
    days = day_sets(hall.holiday_source, hall.holidays, hall.extra_workdays)
    return Calendar(
        tz=hall.tz,
        weekly=_weekly(hall.opening_hours),
        lunch=lunch,
        holidays=days.holidays,
        extra_workdays=days.workdays,
        rollover=hall.rollover,
        always_open=hall.always_open,
        lunch_issuing=hall.lunch_issuing,
    )


def service_calendar_of(hall: Calendar, s: ServiceConfig) -> Calendar:
    """A service's calendar: the hall's, with the service's own weekly hours when it has them."""
    if s.opening_hours is None:
        return hall
    return replace(hall, weekly=_weekly(s.opening_hours))


def expired_card_rule(cfg: HallConfig, service: str) -> str:
    """``refuse`` or ``warn`` for an expired ID card taking a ticket of ``service`` (its override first)."""
    svc = cfg.service_map.get(service)
    if svc is not None and svc.expired_card is not None:
        return svc.expired_card
    return cfg.identity.expired_card


def expired_card_refused_everywhere(cfg: HallConfig) -> bool:
    """No enabled service accepts an expired card: the reader may refuse it at once."""
    return all(expired_card_rule(cfg, s.code) == "refuse" for s in cfg.services if s.enabled)


def number_rule_of(s: ServiceConfig) -> NumberRule:
    """A service's number series."""
    return NumberRule(s.code, s.name, s.prefix, s.number_start, s.number_end, s.width,
                      s.on_exhausted == "wrap", s.daily_limit)


def window_rules_of(w: WindowConfig) -> tuple[WindowRule, ...]:
    """A window's services in order with role and weight."""
    return tuple(WindowRule(ws.code, Role(ws.role), ws.weight) for ws in w.services)


def call_policy_of(cfg: HallConfig) -> CallPolicy:
    """The hall's calling rules."""
    return CallPolicy(cfg.policy.priority_interleave, cfg.policy.sla_promotion, cfg.policy.call_order == "class_first")


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
