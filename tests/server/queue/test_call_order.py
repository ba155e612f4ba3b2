"""The store only looks at the head of each (service, class, target) group: that must never change a pick."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.queue.adapt import call_order
from server.queue.entities import CallPolicy, Candidate, WindowRule
from server.queue.enums import Priority, Role
from server.queue.policy import choose_next, effective_rank

NOW = 1_000_000.0
SLA = {"a": 10.0, "b": 20.0, "c": None}
RULES = (WindowRule("a", Role.PRIMARY, 1.0), WindowRule("b", Role.PRIMARY, 2.5), WindowRule("c", Role.SECONDARY))

candidate = st.builds(
    lambda i, s, p, waited, target: Candidate(i, s, p, NOW - waited, target),
    st.integers(1, 10_000), st.sampled_from(["a", "b", "c", "z"]), st.sampled_from(list(Priority)),
    # negative waits: an appointment checked in before its slot (sort_at = the slot start)
    st.integers(-900, 3600), st.sampled_from([None, None, None, 1, 2]),
)


def naive_order(cands: list[Candidate], policy: CallPolicy, streak: int) -> list[int]:
    left, out = list(cands), []
    while True:
        pick = choose_next(1, RULES, left, NOW, SLA, policy, streak)
        if pick is None:
            return out
        out.append(pick.candidate.id)
        streak = pick.streak
        left = [c for c in left if c.id != pick.candidate.id]


@settings(max_examples=300, deadline=None)
@given(st.lists(candidate, max_size=25, unique_by=lambda c: c.id), st.integers(0, 3), st.booleans(),
       st.integers(0, 4), st.booleans())
def test_group_heads_give_the_same_order_as_the_full_list(cands: list[Candidate], n: int, sla: bool,
                                                          streak: int, class_first: bool) -> None:
    policy = CallPolicy(priority_interleave=n, sla_promotion=sla, class_first=class_first)
    got = [c.id for c in call_order(1, RULES, cands, NOW, SLA, policy, streak, limit=1000)]
    assert got == naive_order(cands, policy, streak)
    eligible = [c for c in cands if c.target_window == 1 or (c.target_window is None and c.service != "z")]
    assert sorted(got) == sorted(c.id for c in eligible)


ROLE = {"a": Role.PRIMARY, "b": Role.PRIMARY, "c": Role.SECONDARY}
untargeted = st.lists(candidate.map(lambda c: Candidate(c.id, c.service, c.priority, c.sort_at)),
                      max_size=25, unique_by=lambda c: c.id)


@settings(max_examples=300, deadline=None)
@given(untargeted)
def test_class_first_never_calls_a_lower_class_before_a_higher_one(cands: list[Candidate]) -> None:
    # strict (no interleave, no SLA lift): the class decides before 主办/兼办
    policy = CallPolicy(priority_interleave=0, sla_promotion=False, class_first=True)
    order = call_order(1, RULES, cands, NOW, SLA, policy, limit=1000)

    def rank(c: Candidate) -> int:  # the class, with an appointment before its slot as normal
        return effective_rank(c, NOW, SLA, False)

    ranks = [rank(c) for c in order]
    assert ranks == sorted(ranks)
    # within one class, every 主办 ticket before any 兼办 ticket
    for r in set(ranks):
        roles = [ROLE[c.service] for c in order if rank(c) == r]
        assert roles == sorted(roles, key=lambda role: role is Role.SECONDARY)
    # an elevated 兼办 ticket is called before every normal 主办 ticket
    pos = {c.id: i for i, c in enumerate(order)}
    normal = Priority.NORMAL.rank
    for hi in order:
        for lo in order:
            if ROLE[hi.service] is Role.SECONDARY and rank(hi) < normal \
                    and ROLE[lo.service] is Role.PRIMARY and rank(lo) == normal:
                assert pos[hi.id] < pos[lo.id]


@settings(max_examples=300, deadline=None)
@given(untargeted, st.integers(0, 3), st.booleans())
def test_role_first_calls_every_primary_ticket_before_any_secondary(cands: list[Candidate], n: int,
                                                                    sla: bool) -> None:
    policy = CallPolicy(priority_interleave=n, sla_promotion=sla, class_first=False)
    roles = [ROLE[c.service] for c in call_order(1, RULES, cands, NOW, SLA, policy, limit=1000)]
    assert roles == sorted(roles, key=lambda r: r is Role.SECONDARY)


@settings(max_examples=200, deadline=None)
@given(untargeted, st.integers(0, 3), st.booleans())
def test_both_orders_call_the_same_tickets(cands: list[Candidate], n: int, sla: bool) -> None:
    a = call_order(1, RULES, cands, NOW, SLA, CallPolicy(n, sla, True), limit=1000)
    b = call_order(1, RULES, cands, NOW, SLA, CallPolicy(n, sla, False), limit=1000)
    assert sorted(c.id for c in a) == sorted(c.id for c in b)
