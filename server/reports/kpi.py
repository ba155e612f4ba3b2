"""KPI definitions of the hall (统计指标), once: pure functions over stored tickets and transitions, no I/O.

Input is one ``TicketFacts`` per ticket row with its ``transitions`` rows (``server/store/tables.py``);
times are the stored integer milliseconds, so every figure is exact to the millisecond and shown
to the second. ``visit()`` derives one ``Visit`` per ticket, ``kpis()`` aggregates visits.

Counts (by the ticket's business day, i.e. the day it was issued — a ticket called after midnight
stays on its issue day, ``hall.rollover``):

- 取号量 ``issued``: tickets with ``counted = 1`` (numbers taken; transfer children are not new numbers).
- 叫号量 ``called``: tickets with at least one ``call`` transition (recalls do not add).
- 办结量 ``done``: tickets ending ``done``.  过号/弃号 ``no_show``: ending ``no_show`` (never called back).
  取消 ``cancelled``, 转办 ``transferred``, 过期 ``expired``: ending in that state.
- ``recalls``: number of ``recall`` transitions (重呼).

Times:

- 等候 ``wait`` = first ``call`` − issue time. For a transfer child the issue time is its
  ``sort_at``, which the store copies from the parent (``server/store/serving.py`` transfer), so a
  transferred citizen's wait is counted from the parent's issue. Wall-clock elapsed time: a wait
  across the lunch break includes the break (the citizen was in the hall).
- 办理时长 ``service`` = ``finish`` − last ``start`` (a keypad finish from 'called' starts and finishes
  at the same instant: 0 s). Over tickets ending ``done``.
- mean, P90 (nearest rank: the ⌈0.9·n⌉-th smallest value), max.
- 超时等候率 ``overdue_rate`` = called tickets whose wait exceeded their service's wait target
  (``services[].sla_minutes``) ÷ called tickets.

Windows (``window_times``, ``utilisation``; from the outbox's ``window.changed`` events):

- 在岗时长 ``staffed`` = time the window was open/calling/serving; 暂停时长 ``paused`` = time paused,
  by reason (shown separately, not in the denominator); 窗口利用率 ``utilisation`` = 办理时长 of the
  window's finished tickets ÷ 在岗时长.

Ratings (五级评价, GB/T 39734-2020 and 国办发〔2019〕51号 关于建立政务服务"好差评"制度: 非常满意,
满意, 基本满意 are 好评; 不满意, 非常不满意 are 差评; an unanswered rating is neither):

- 评价率 ``rated_rate`` = rated ÷ 办结量;  未评价率 ``unrated_rate`` = (办结量 − rated) ÷ 办结量
- 好评率 ``good_rate`` = 好评 ÷ rated;  差评率 ``bad_rate`` = 差评 ÷ rated
- 满意率 ``satisfaction`` = 好评 ÷ 办结量: unrated finished tickets count against it, so a hall can
  never raise its 满意率 by not asking (the review's J4: unanswered ratings are never counted as good).

Channel and priority class counts are over issued tickets (``Channel``, ``Priority`` in
``server/queue/enums.py``: 绿色通道 green, 预约 appointment, 优先/elderly priority, normal).
A rate with a zero denominator is ``None`` (shown empty), never 0 or 100 %.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

GOOD_LEVELS = frozenset({3, 4, 5})
BAD_LEVELS = frozenset({1, 2})


@dataclass(frozen=True)
class Step:
    """One stored transition of a ticket."""

    action: str
    at: int  # ms since the epoch
    actor: str = ""
    window: int | None = None


@dataclass(frozen=True)
class TicketFacts:
    """A stored ticket with its transitions, as the report query reads them."""

    id: int
    business_day: str
    service: str
    state: str
    issued_at: int  # ms: the ticket's sort_at (a transfer child: the parent's issue time)
    priority: str = "normal"
    channel: str = "kiosk"
    counted: bool = True
    parent_id: int | None = None
    rating: int | None = None
    number: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Visit:
    """What one ticket contributes to the KPIs."""

    facts: TicketFacts
    wait_ms: int | None
    service_ms: int | None
    window: int | None
    clerk: str | None
    recalls: int
    overdue: bool
    hour: int  # local hour of the issue time


def clerk_of(actor: str) -> str | None:
    """The clerk id of an actor such as ``clerk:A0101@3`` (None for devices, kiosks, system)."""
    if not actor.startswith("clerk:"):
        return None
    return actor[len("clerk:"):].split("@", 1)[0] or None


def _at(step: Step) -> int:
    return step.at


def visit(t: TicketFacts, *, target_minutes: int | None, tz: ZoneInfo) -> Visit:
    """Derive one ticket's wait, service time, window, clerk and overdue flag from its transitions."""
    # one pass over the steps in time order (the store writes them in order; sorted() is then cheap)
    first_call: int | None = None
    last_start: Step | None = None
    finish: Step | None = None
    begun = 0
    at_window: Step | None = None
    recalls = 0
    for s in sorted(t.steps, key=_at):
        action = s.action
        if action == "call":
            if first_call is None:
                first_call = s.at
        elif action == "start":
            last_start = s
        elif action == "finish":
            finish = s
            begun = last_start.at if last_start is not None else s.at
        elif action == "recall":
            recalls += 1
        if s.window is not None and action != "issue":
            at_window = s
    wait = None if first_call is None else first_call - t.issued_at
    service = finish.at - begun if t.state == "done" and finish is not None else None
    last = finish or at_window
    window = last.window if last else None
    clerk = clerk_of(last.actor) if last else None
    overdue = wait is not None and target_minutes is not None and wait > target_minutes * 60_000
    hour = dt.datetime.fromtimestamp(t.issued_at / 1000, tz).hour
    return Visit(t, wait, service, window, clerk, recalls, overdue, hour)


def p90(values: list[int]) -> int | None:
    """Nearest-rank 90th percentile: the ⌈0.9·n⌉-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.9 * len(ordered))) - 1]


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _seconds(ms: float | int | None) -> float | None:
    return None if ms is None else round(ms / 1000, 1)


@dataclass
class Kpis:
    """The KPI figures of one group of visits (times in seconds, rates 0..1 or None)."""

    issued: int = 0
    called: int = 0
    done: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    expired: int = 0
    recalls: int = 0
    wait_mean: float | None = None
    wait_p90: float | None = None
    wait_max: float | None = None
    service_mean: float | None = None
    service_p90: float | None = None
    overdue: int = 0
    overdue_rate: float | None = None
    rated: int = 0
    good: int = 0
    bad: int = 0
    rated_rate: float | None = None
    unrated_rate: float | None = None
    good_rate: float | None = None
    bad_rate: float | None = None
    satisfaction: float | None = None
    levels: dict[int, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    priorities: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        out = dict(self.__dict__)
        out["levels"] = {str(k): v for k, v in sorted(self.levels.items())}
        return out


def kpis(visits: Iterable[Visit]) -> Kpis:
    """Aggregate visits into one ``Kpis`` (see the module docstring for each formula)."""
    k = Kpis()
    waits: list[int] = []
    services: list[int] = []
    levels: Counter[int] = Counter()
    channels: Counter[str] = Counter()
    priorities: Counter[str] = Counter()
    for v in visits:
        t = v.facts
        if t.counted:
            k.issued += 1
            channels[t.channel] += 1
            priorities[t.priority] += 1
        if v.wait_ms is not None:
            k.called += 1
            waits.append(v.wait_ms)
            k.overdue += v.overdue
        k.recalls += v.recalls
        if t.state == "done":
            k.done += 1
            if v.service_ms is not None:
                services.append(v.service_ms)
            if t.rating is not None:
                levels[t.rating] += 1
        k.no_show += t.state == "no_show"
        k.cancelled += t.state == "cancelled"
        k.transferred += t.state == "transferred"
        k.expired += t.state == "expired"
    k.rated = sum(levels.values())
    k.good = sum(n for lvl, n in levels.items() if lvl in GOOD_LEVELS)
    k.bad = sum(n for lvl, n in levels.items() if lvl in BAD_LEVELS)
    k.wait_mean = _seconds(sum(waits) / len(waits)) if waits else None
    k.wait_p90, k.wait_max = _seconds(p90(waits)), _seconds(max(waits, default=None))
    k.service_mean = _seconds(sum(services) / len(services)) if services else None
    k.service_p90 = _seconds(p90(services))
    k.overdue_rate = _rate(k.overdue, k.called)
    k.rated_rate = _rate(k.rated, k.done)
    k.unrated_rate = _rate(k.done - k.rated, k.done)
    k.good_rate, k.bad_rate = _rate(k.good, k.rated), _rate(k.bad, k.rated)
    k.satisfaction = _rate(k.good, k.done)
    k.levels, k.channels, k.priorities = dict(levels), dict(channels), dict(priorities)
    return k


Key = Callable[[Visit], Any]

GROUPS: dict[str, Key] = {
    "day": lambda v: v.facts.business_day,
    "service": lambda v: v.facts.service,
    "window": lambda v: v.window,
    "clerk": lambda v: v.clerk,
    "hour": lambda v: v.hour,
}


def breakdown(visits: Iterable[Visit], key: Key) -> dict[Any, Kpis]:
    """KPIs per value of ``key`` (e.g. ``GROUPS["window"]``), keys in sorted order, None last."""
    groups: dict[Any, list[Visit]] = {}
    for v in visits:
        groups.setdefault(key(v), []).append(v)
    ordered = sorted(groups, key=lambda g: (g is None, str(g) if not isinstance(g, int) else f"{g:09d}"))
    return {g: kpis(groups[g]) for g in ordered}


@dataclass(frozen=True)
class WindowChange:
    """A stored ``window.changed`` event: the window's state from ``at`` on."""

    window: int
    at: int
    state: str
    reason: str | None = None


@dataclass
class WindowTime:
    """Signed-in time of one window: staffed (open/calling/serving) and paused, by pause reason (ms)."""

    staffed_ms: int = 0
    paused_ms: int = 0
    pauses: dict[str, int] = field(default_factory=dict)


def window_times(changes: Iterable[WindowChange], start: int, end: int) -> dict[int, WindowTime]:
    """Per window, the time in [start, end) spent staffed and paused.

    A window is closed before its first change; each change holds until the next one (or ``end``).
    窗口利用率 = 办理时长 of the window's finished tickets ÷ ``staffed_ms`` (``utilisation``);
    pause time is not in the denominator and is shown separately, by reason ("" = no reason given).
    """
    out: dict[int, WindowTime] = {}
    by_window: dict[int, list[WindowChange]] = {}
    for c in sorted(changes, key=lambda c: (c.window, c.at)):
        by_window.setdefault(c.window, []).append(c)
    for number, seq in by_window.items():
        wt = out.setdefault(number, WindowTime())
        for c, nxt in zip(seq, [*seq[1:], None], strict=True):
            a, b = max(c.at, start), min(nxt.at if nxt else end, end)
            if b <= a:
                continue
            if c.state == "paused":
                wt.paused_ms += b - a
                wt.pauses[c.reason or ""] = wt.pauses.get(c.reason or "", 0) + b - a
            elif c.state != "closed":
                wt.staffed_ms += b - a
    return out


def utilisation(visits: Iterable[Visit], time: WindowTime | None) -> float | None:
    """办理时长 of finished visits ÷ staffed time (None without staffed time)."""
    if time is None or time.staffed_ms <= 0:
        return None
    return sum(v.service_ms or 0 for v in visits if v.facts.state == "done") / time.staffed_ms


def wait_histogram(visits: Iterable[Visit], *, bucket_minutes: int = 5, buckets: int = 12) -> list[dict[str, Any]]:
    """Called tickets by wait, in ``bucket_minutes`` bins (the last bin is open-ended), split by target.

    ``within``: waited no longer than their own service's target (``sla_minutes``); ``over``: past it
    (the ``overdue`` flag of ``visit``), so services with different targets share one chart honestly.
    """
    within, over = [0] * buckets, [0] * buckets
    for v in visits:
        if v.wait_ms is None:
            continue
        i = max(0, min(buckets - 1, v.wait_ms // (bucket_minutes * 60_000)))  # an early appointment: bin 0
        (over if v.overdue else within)[i] += 1
    return [{"from_min": i * bucket_minutes, "to_min": None if i == buckets - 1 else (i + 1) * bucket_minutes,
             "within": within[i], "over": over[i]} for i in range(buckets)]
