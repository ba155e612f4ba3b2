"""The calling policy: which waiting ticket a window calls next — one pure function.

Order of rules:
1. Only tickets of the window's services (or sent to this window by a transfer).
2. Effective class: green > appointment > priority > normal. With SLA promotion a
   normal ticket waiting longer than its service's SLA ranks with ``priority``; an
   appointment whose slot has not begun yet ranks as normal.
3. 主办 (primary) before 兼办 (secondary). A ticket transferred to this window counts as
   primary. With ``CallPolicy.class_first`` (the default, ``policy.call_order:
   class_first``) the class decides first, so an elderly ticket of a 兼办 service is
   called before normal 主办 tickets at every window serving it; without it (``role_first``)
   兼办 tickets are called only when no primary ticket waits, whatever their class.
4. Within a class and role: the longest weighted wait (seconds waited × service weight),
   then the service's position in the window's list, then the ticket id.
5. N:1 interleave: after N consecutive appointment/priority calls by this window, the
   best normal ticket (if any) is called instead. Green tickets are never displaced and
   leave the streak unchanged; a normal call resets it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from server.queue.entities import CallPolicy, Candidate, Pick, WindowRule
from server.queue.enums import Priority, Role

ELEVATED = frozenset({Priority.APPOINTMENT, Priority.PRIORITY})
Key = tuple[float, float, float, float]  # (class rank, -weighted wait, list position, id)
Ranked = tuple[float, float, float, float, float]  # (class rank, role, -weighted wait, list position, id)


def effective_rank(c: Candidate, now: float, sla_minutes: Mapping[str, float | None], promotion: bool) -> int:
    """The class rank used for ordering (SLA promotion lifts overdue normal tickets).

    An appointment checked in before its slot (``sort_at``, the slot start, still ahead) ranks
    as normal until the slot begins: early arrivals do not overtake walk-ins who are waiting.
    """
    rank = c.priority.rank
    if c.priority is Priority.APPOINTMENT and c.sort_at > now:
        return Priority.NORMAL.rank
    if promotion and c.priority is Priority.NORMAL and is_overdue(c, now, sla_minutes):
        return Priority.PRIORITY.rank
    return rank


def is_overdue(c: Candidate, now: float, sla_minutes: Mapping[str, float | None]) -> bool:
    """Waited longer than its service's SLA."""
    sla = sla_minutes.get(c.service)
    return sla is not None and now - c.sort_at > sla * 60


def next_streak(streak: int, picked: Priority) -> int:
    """The window's interleave streak after calling a ticket of class ``picked``."""
    if picked in ELEVATED:
        return streak + 1
    if picked is Priority.NORMAL:
        return 0
    return streak


def choose_next(
    window: int,
    rules: Sequence[WindowRule],
    candidates: Sequence[Candidate],
    now: float,
    sla_minutes: Mapping[str, float | None],
    policy: CallPolicy,
    streak: int = 0,
) -> Pick | None:
    """The ticket the window should call now, or None; ``now`` is seconds since the epoch."""
    by_service = {r.service: (i, r) for i, r in enumerate(rules)}
    pools: dict[Role, list[tuple[Key, Candidate]]] = {Role.PRIMARY: [], Role.SECONDARY: []}
    for c in candidates:
        if c.target_window is not None and c.target_window != window:
            continue
        found = by_service.get(c.service)
        if c.target_window == window:
            index, weight, role = -1, found[1].weight if found else 1.0, Role.PRIMARY
        elif found is None:
            continue
        else:
            index, weight, role = found[0], found[1].weight, found[1].role
        rank = effective_rank(c, now, sla_minutes, policy.sla_promotion)
        key: Key = (float(rank), -(now - c.sort_at) * weight, float(index), float(c.id))
        pools[role].append((key, c))
    if policy.class_first:
        # one pool; the role ranks right after the class
        pool: list[tuple[Ranked, Candidate]] = [((k[0], 0.0, *k[1:]), c) for k, c in pools[Role.PRIMARY]]
        pool += [((k[0], 1.0, *k[1:]), c) for k, c in pools[Role.SECONDARY]]
    else:
        chosen = Role.PRIMARY if pools[Role.PRIMARY] else Role.SECONDARY
        flag = 0.0 if chosen is Role.PRIMARY else 1.0
        pool = [((k[0], flag, *k[1:]), c) for k, c in pools[chosen]]
    if not pool:
        return None
    ranked, best = min(pool, key=lambda kc: kc[0])
    promoted = best.priority is Priority.NORMAL and ranked[0] < Priority.NORMAL.rank
    n = policy.priority_interleave
    if n > 0 and streak >= n and best.priority in ELEVATED:
        normals = [kc for kc in pool if kc[1].priority is Priority.NORMAL]
        if normals:
            ranked, best = min(normals, key=lambda kc: kc[0])
            promoted = ranked[0] < Priority.NORMAL.rank
    role = Role.SECONDARY if ranked[1] else Role.PRIMARY
    return Pick(best, next_streak(streak, best.priority), promoted, role)
