"""The calling policy, one rule at a time."""

from __future__ import annotations

from server.queue.adapt import call_order
from server.queue.entities import CallPolicy, Candidate, WindowRule
from server.queue.enums import Priority, Role
from server.queue.policy import choose_next, next_streak

P = Priority
NOW = 100_000.0
SLA = {"a": 30.0, "b": 30.0, "c": None}
STRICT = CallPolicy(priority_interleave=0, sla_promotion=False)
RULES = (WindowRule("a"), WindowRule("b"))


def t(id_: int, service: str = "a", prio: Priority = P.NORMAL, waited_min: float = 1.0,
      target: int | None = None) -> Candidate:
    return Candidate(id_, service, prio, NOW - waited_min * 60, target)


def pick(cands: list[Candidate], rules: tuple[WindowRule, ...] = RULES, policy: CallPolicy = STRICT,
         streak: int = 0, window: int = 1) -> int | None:
    p = choose_next(window, rules, cands, NOW, SLA, policy, streak)
    return p.candidate.id if p else None


def test_nothing_waiting() -> None:
    assert choose_next(1, RULES, [], NOW, SLA, STRICT) is None


def test_only_the_windows_services() -> None:
    assert pick([t(1, "z", waited_min=50)]) is None
    assert pick([t(1, "z", waited_min=50), t(2, "b")]) == 2


def test_oldest_first_within_a_class() -> None:
    assert pick([t(1, waited_min=2), t(2, waited_min=5), t(3, "b", waited_min=3)]) == 2


def test_class_order_green_appointment_priority_normal() -> None:
    cands = [t(1, waited_min=20), t(2, prio=P.PRIORITY), t(3, prio=P.APPOINTMENT), t(4, prio=P.GREEN, waited_min=0)]
    assert [c.id for c in call_order(1, RULES, cands, NOW, SLA, STRICT)] == [4, 3, 2, 1]


ROLE_FIRST = CallPolicy(priority_interleave=0, sla_promotion=False, class_first=False)


def test_role_first_calls_primary_services_before_secondary() -> None:
    rules = (WindowRule("a"), WindowRule("b", Role.SECONDARY))
    # policy.call_order: role_first — even a green secondary ticket waits while a primary ticket is there
    assert pick([t(1, "b", P.GREEN, waited_min=50), t(2, "a")], rules, ROLE_FIRST) == 2
    assert pick([t(1, "b", P.GREEN, waited_min=50)], rules, ROLE_FIRST) == 1
    p = choose_next(1, rules, [t(1, "b")], NOW, SLA, ROLE_FIRST)
    assert p is not None and p.role is Role.SECONDARY


def test_class_first_calls_an_elderly_secondary_ticket_before_normal_primary_ones() -> None:
    # 1号综合窗口: 综合受理 (a) 主办, 社会保障 (b) 兼办; the 80-year-old's B ticket is priority
    rules = (WindowRule("a"), WindowRule("b", Role.SECONDARY))
    cands = [t(1, "a", waited_min=20), t(2, "b", P.PRIORITY, waited_min=1), t(3, "a", waited_min=10)]
    p = choose_next(1, rules, cands, NOW, SLA, STRICT)
    assert p is not None and p.candidate.id == 2 and p.role is Role.SECONDARY
    assert [c.id for c in call_order(1, rules, cands, NOW, SLA, STRICT)] == [2, 1, 3]
    # within one class 主办 still comes first, however long the 兼办 ticket waited
    assert pick([t(1, "b", waited_min=50), t(2, "a", waited_min=1)], rules) == 2
    assert pick([t(1, "b", P.GREEN, waited_min=1), t(2, "a", P.GREEN, waited_min=0.5)], rules) == 2


def test_class_first_is_the_default() -> None:
    assert CallPolicy().class_first


def test_weights_scale_waiting_time() -> None:
    rules = (WindowRule("a", weight=1.0), WindowRule("b", weight=3.0))
    # b waited 2 min × 3 = 6 > a's 5 min
    assert pick([t(1, "a", waited_min=5), t(2, "b", waited_min=2)], rules) == 2
    assert pick([t(1, "a", waited_min=7), t(2, "b", waited_min=2)], rules) == 1


def test_service_order_breaks_ties() -> None:
    assert pick([t(2, "b", waited_min=3), t(1, "a", waited_min=3)]) == 1
    assert pick([t(1, "b", waited_min=3), t(2, "a", waited_min=3)]) == 2


def test_sla_promotion_lifts_overdue_normal_to_priority_level() -> None:
    policy = CallPolicy(priority_interleave=0, sla_promotion=True)
    overdue, fresh_priority = t(1, waited_min=31), t(2, prio=P.PRIORITY, waited_min=5)
    assert pick([overdue, fresh_priority], policy=STRICT) == 2
    p = choose_next(1, RULES, [overdue, fresh_priority], NOW, SLA, policy)
    assert p is not None and p.candidate.id == 1 and p.promoted
    # not above appointment, and only past the SLA
    assert pick([overdue, t(3, prio=P.APPOINTMENT)], policy=policy) == 3
    assert pick([t(1, waited_min=29), fresh_priority], policy=policy) == 2
    # a service without SLA never promotes
    rules = (WindowRule("c"),)
    assert pick([t(1, "c", waited_min=500), t(2, "c", P.PRIORITY)], rules, policy) == 2


def test_interleave_calls_one_normal_after_n_priority() -> None:
    policy = CallPolicy(priority_interleave=2, sla_promotion=False)
    cands = [t(1, waited_min=9), t(2, waited_min=8)] + [t(10 + i, prio=P.PRIORITY, waited_min=1) for i in range(4)]
    order = [c.id for c in call_order(1, RULES, cands, NOW, SLA, policy)]
    assert order == [10, 11, 1, 12, 13, 2]


def test_interleave_never_displaces_green_and_needs_a_normal() -> None:
    policy = CallPolicy(priority_interleave=1, sla_promotion=False)
    assert pick([t(1, waited_min=9), t(2, prio=P.GREEN)], policy=policy, streak=5) == 2
    assert pick([t(2, prio=P.PRIORITY)], policy=policy, streak=5) == 2
    assert pick([t(1, waited_min=9), t(2, prio=P.PRIORITY)], policy=policy, streak=1) == 1
    assert pick([t(1, waited_min=9), t(2, prio=P.PRIORITY)], policy=policy, streak=0) == 2


def test_streak_counting() -> None:
    assert next_streak(2, P.PRIORITY) == 3
    assert next_streak(2, P.APPOINTMENT) == 3
    assert next_streak(2, P.GREEN) == 2
    assert next_streak(2, P.NORMAL) == 0


def test_transfer_to_window_counts_as_primary_and_only_there() -> None:
    rules = (WindowRule("a"), WindowRule("b", Role.SECONDARY))
    sent = t(1, "z", waited_min=1, target=1)
    # equal wait: the ticket sent here goes before the window's own first service
    assert pick([t(2, "a", waited_min=1), sent], rules) == 1
    assert pick([t(2, "a", waited_min=2), sent], rules) == 2
    assert pick([sent], rules, window=2) is None
    # a ticket of its own service sent to another window is not called here
    assert pick([t(3, "a", target=2)], rules, window=1) is None


def test_transfer_child_keeps_parent_issue_time() -> None:
    # the child carries the parent's sort_at, so it is ahead of tickets issued after the parent
    child = t(7, "b", waited_min=40)
    assert pick([t(1, "b", waited_min=10), child]) == 7


def test_an_appointment_before_its_slot_waits_like_a_normal_ticket() -> None:
    early = Candidate(1, "a", P.APPOINTMENT, NOW + 600)  # slot starts in 10 minutes
    due = Candidate(2, "a", P.APPOINTMENT, NOW - 60)
    walk_in = t(3, waited_min=5)
    assert pick([early, walk_in]) == 3
    assert pick([early, due, walk_in]) == 2
    assert pick([early]) == 1  # nobody else: call it
