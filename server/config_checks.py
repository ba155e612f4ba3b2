"""``hallq check-config`` warnings about hours and policy: valid, but probably not what the hall means.

- A service's own ``opening_hours`` reaching outside the hall's (a weekday the hall is closed, or
  opening before / closing after every hall interval of that day): the hall is shut then, so the
  citizen is promised hours nobody serves.
- ``policy.elderly_age`` above 60: 《中华人民共和国老年人权益保障法》第二条 defines 老年人 as
  六十周岁以上; a higher age denies 老年人优先 to people the law gives it to.
Warnings, not errors: the hall may still run (e.g. a later start age agreed locally).
"""

from __future__ import annotations

import datetime as dt

from server.config import HallConfig, OpeningHours

LEGAL_ELDERLY_AGE = 60
WEEKDAYS = "一二三四五六日"


def _hall_days(hours: list[OpeningHours]) -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Per ISO weekday, the hall's intervals merged where they touch or overlap."""
    days: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for h in hours:
        for d in h.days:
            days.setdefault(d, []).append((h.open, h.close))
    for d, spans in days.items():
        merged: list[tuple[dt.time, dt.time]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        days[d] = merged
    return days


def _fmt(spans: list[tuple[dt.time, dt.time]]) -> str:
    return "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in spans) or "休息 / closed"


def hours_warnings(config: HallConfig) -> list[str]:
    """One line per service weekday whose own hours are not inside the hall's hours of that day."""
    if config.hall.always_open:
        return []
    hall = _hall_days(config.hall.opening_hours)
    out: list[str] = []
    for s in config.services:
        for h in s.opening_hours or ():
            for d in sorted(set(h.days)):
                spans = hall.get(d, [])
                if any(a <= h.open and h.close <= b for a, b in spans):
                    continue
                own = f"{h.open:%H:%M}–{h.close:%H:%M}"
                out.append(f"warning: 业务 {s.code}（{s.name}）周{WEEKDAYS[d - 1]} 办理时间 {own} "
                           f"超出大厅开放时间（{_fmt(spans)}） / service {s.code} hours on ISO day {d} fall outside "
                           f"the hall's opening hours")
    return out


def policy_warnings(config: HallConfig) -> list[str]:
    """``policy.elderly_age`` above the legal 60."""
    age = config.policy.elderly_age
    if age is not None and age > LEGAL_ELDERLY_AGE:
        return [f"warning: policy.elderly_age = {age}：《老年人权益保障法》第二条规定六十周岁以上为老年人，"
                f"{LEGAL_ELDERLY_AGE}–{age - 1} 岁的老人将得不到老年人优先 / policy.elderly_age {age} is above the "
                f"legal {LEGAL_ELDERLY_AGE}: citizens aged {LEGAL_ELDERLY_AGE}–{age - 1} lose elderly priority"]
    return []


def config_warnings(config: HallConfig) -> list[str]:
    """Every hours and policy warning of ``config``."""
    return hours_warnings(config) + policy_warnings(config)
