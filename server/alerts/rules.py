"""Alert rules over the hall's current state: pure, evaluated periodically by the inbox.

Each rule yields ``Finding``s: active ones are reported (de-duplicated into one open alert per
type and subject, ``server/alerts/store.py``), inactive ones clear their alert.

- ``long_wait`` (service:<code>): the longest wait of a waiting ticket is past the service's
  target (``services[].sla_minutes``);
- ``open_window`` (hall): more than ``crowd_count`` people have waited longer than
  ``crowd_minutes`` minutes (the "30-minute rule"); the message names the closed window that
  serves most of them as 主办 or 兼办;
- ``unserved`` (service:<code>): people wait for a service that no staffed window serves;
- ``pause_too_long`` (window:<n>): a window has been paused longer than its allowance: the
  reason's own (``pause_allowance``, keyed by the stored pause reason) or ``pause_minutes``;
- ``crowding`` (hall): more than ``crowding_waiting`` people wait in the hall (by tickets; the
  cameras report their own ``crowding`` on camera:<id>).

Thresholds come from the hall config's ``supervision:`` section (``RuleSettings.of``); a rule
turned off yields no finding. Each finding names the windows whose consoles should hear of it
(``notify``): the staffed windows serving a late service, the paused window itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from server.config import HallConfig, SupervisionSettings

STAFFED = frozenset({"open", "calling", "serving"})


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds of the rules (defaults: the 30-minute rule with 10 people, 15-minute pauses); None = off."""

    crowd_count: int | None = 10
    crowd_minutes: int = 30
    pause_minutes: int | None = 15
    pause_allowance: Mapping[str, int] = field(default_factory=dict)
    crowding_waiting: int | None = None
    long_wait: bool = True
    unserved: bool = True

    @classmethod
    def of(cls, s: SupervisionSettings) -> RuleSettings:
        """The thresholds of the config's ``supervision:`` section."""
        return cls(s.open_window_count, s.open_window_minutes, s.pause_minutes, dict(s.pause_allowance),
                   s.crowding_waiting, s.long_wait, s.unserved)

    def pause_limit(self, reason: str | None, aliases: Mapping[str, str] | None = None) -> int | None:
        """Minutes a pause for ``reason`` may last (the reason's allowance, else ``pause_minutes``).

        ``aliases`` maps a console reason's code to its 中文 and back, so either may key the allowance.
        """
        for key in (reason or "", (aliases or {}).get(reason or "", "")):
            if key in self.pause_allowance:
                return self.pause_allowance[key]
        return self.pause_minutes


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
    reason: str | None = None  # the pause reason as stored


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one subject."""

    type: str
    subject: str
    active: bool
    severity: str = "warning"
    message: str = ""
    notify: tuple[int, ...] = ()  # windows whose consoles should hear of it


def evaluate(config: HallConfig, now: int, waiting: Iterable[Waiting], windows: Iterable[WindowNow],
             rules: RuleSettings = RuleSettings()) -> list[Finding]:
    """Every rule's findings for every subject it watches (active or not, so alerts can clear)."""
    waiting, windows = list(waiting), list(windows)
    serves = {w.number: {s.code for s in w.services} for w in config.windows}
    label = {w.number: w.label for w in config.windows}
    state = {w.number: w for w in windows}
    staffed = {n for n, w in state.items() if w.state in STAFFED}
    console = getattr(config, "console", None)  # the clerk console's pause reasons (code ↔ 中文)
    aliases = {k: v for r in (console.pause_reasons if console else ()) for k, v in ((r.code, r.zh), (r.zh, r.code))}
    out: list[Finding] = []
    for svc in config.services:
        mine = [w for w in waiting if w.service == svc.code]
        serving = tuple(sorted(n for n in staffed if svc.code in serves.get(n, set())))
        if rules.long_wait:
            longest = max((now - w.since for w in mine), default=0)
            target = svc.sla_minutes
            over = target is not None and longest > target * 60_000
            out.append(Finding("long_wait", f"service:{svc.code}", over, "warning",
                               f"{svc.name}最长等候{longest // 60_000}分钟，超过目标{target}分钟" if over else "",
                               serving if over else ()))
        if rules.unserved:
            unserved = bool(mine) and not serving
            out.append(Finding("unserved", f"service:{svc.code}", unserved, "critical",
                               f"{svc.name}有{len(mine)}人等候，但没有在岗窗口办理" if unserved else ""))
    if rules.crowd_count is not None:
        out.append(_open_window(config, now, waiting, state, serves, staffed, rules.crowd_count, rules.crowd_minutes))
    if rules.crowding_waiting is not None:
        crowded = len(waiting) > rules.crowding_waiting
        out.append(Finding("crowding", "hall", crowded, "info",
                           f"大厅等候{len(waiting)}人，超过{rules.crowding_waiting}人" if crowded else ""))
    for w in windows:
        limit = rules.pause_limit(w.reason, aliases)
        if limit is None:
            continue
        paused = w.state == "paused" and now - w.since > limit * 60_000
        why = f"（{w.reason}，允许{limit}分钟）" if w.reason else f"（允许{limit}分钟）"
        out.append(Finding("pause_too_long", f"window:{w.number}", paused, "warning",
                           f"{label.get(w.number, w.number)}暂停已{(now - w.since) // 60_000}分钟{why}"
                           if paused else "",
                           (w.number,) if paused else ()))
    return out


def _open_window(config: HallConfig, now: int, waiting: list[Waiting], state: dict[int, WindowNow],
                 serves: dict[int, set[str]], staffed: set[int], count: int, minutes: int) -> Finding:
    """The 30-minute rule: more than ``count`` people waited over ``minutes`` → name a closed window to open."""
    label = {w.number: w.label for w in config.windows}
    long = [w for w in waiting if now - w.since > minutes * 60_000]
    if len(long) <= count:
        return Finding("open_window", "hall", False, "critical")
    need = Counter(w.service for w in long)
    closed = [n for n, w in state.items() if w.state == "closed"]
    best = max(closed, key=lambda n: (sum(need[c] for c in serves.get(n, set())), -n), default=None)
    hint = f"，建议开放{label[best]}" if best is not None and best in label else ""
    notify = tuple(sorted(n for n in staffed if serves.get(n, set()) & set(need)))
    return Finding("open_window", "hall", True, "critical", f"{len(long)}人等候超过{minutes}分钟{hint}", notify)
