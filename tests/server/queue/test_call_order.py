"""The store only looks at the head of each (service, class, target) group: that must never change a pick."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.queue.adapt import call_order
from server.queue.entities import CallPolicy, Candidate, WindowRule
from server.queue.enums import Priority, Role
from server.queue.policy import choose_next

NOW = 1_000_000.0
SLA = {"a": 10.0, "b": 20.0, "c": None}
RULES = (WindowRule("a", Role.PRIMARY, 1.0), WindowRule("b", Role.PRIMARY, 2.5), WindowRule("c", Role.SECONDARY))

candidate = st.builds(
    lambda i, s, p, waited, target: Candidate(i, s, p, NOW - waited, target),
    st.integers(1, 10_000), st.sampled_from(["a", "b", "c", "z"]), st.sampled_from(list(Priority)),
    st.integers(0, 3600), st.sampled_from([None, None, None, 1, 2]),
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
       st.integers(0, 4))
def test_group_heads_give_the_same_order_as_the_full_list(cands: list[Candidate], n: int, sla: bool,
                                                          streak: int) -> None:
    policy = CallPolicy(priority_interleave=n, sla_promotion=sla)
    got = [c.id for c in call_order(1, RULES, cands, NOW, SLA, policy, streak, limit=1000)]
    assert got == naive_order(cands, policy, streak)
    eligible = [c for c in cands if c.target_window == 1 or (c.target_window is None and c.service != "z")]
    assert sorted(got) == sorted(c.id for c in eligible)
