"""Hypothesis: random interleavings of queue operations over a real SQLite file keep the invariants.

Never lose a ticket, never call one twice (no two windows share a current ticket, called
transitions are consistent), never repeat a number per service per day, and every
call_next respects roles, classes, SLA promotion and the N:1 interleave.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select

from server.config import parse_config
from server.errors import HallqError
from server.store import QueueStore
from server.store.tables import tickets, transitions, windows

HALL = """\
hall: {name: 测试中心, always_open: true}
services:
  - {code: a, name: 综合, prefix: A, sla_minutes: 30}
  - {code: b, name: 社保, prefix: B, sla_minutes: 20, daily_limit: 25}
  - {code: c, name: 税务, prefix: C, sla_minutes: 45}
windows:
  - {number: 1, services: [a, {code: b, role: secondary}]}
  - {number: 2, services: [b, {code: a, role: secondary}]}
  - {number: 3, services: [c, {code: a, role: secondary, weight: 2}]}
policy: {priority_interleave: 1, sla_promotion: true, max_recalls: 1, callback_minutes: 30}
"""
CONFIG = parse_config(HALL)
ROLES = {w.number: {ws.code: ws.role for ws in w.services} for w in CONFIG.windows}
SLA = {s.code: s.sla_minutes for s in CONFIG.services}
RANK = {"green": 0, "appointment": 1, "priority": 2, "normal": 3}
N = CONFIG.policy.priority_interleave
WINDOWS = st.sampled_from([1, 2, 3])
PRIORITIES = st.sampled_from(["normal", "normal", "normal", "priority", "appointment", "green"])


class QueueMachine(RuleBasedStateMachine):
    """Drives one QueueStore and checks it against a thin model."""

    # a fresh database URL per example; None = a SQLite file in a temp dir
    new_database: Callable[[], str] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="hallq-hyp-")
        self.now = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
        url = self.new_database() if self.new_database else f"sqlite:///{self.dir}/q.db"
        self.store = QueueStore(url, CONFIG, clock=lambda: self.now)
        self.store.migrate()
        self.ids: list[int] = []
        self.streak = {1: 0, 2: 0, 3: 0}
        for n in (1, 2, 3):
            self.store.open_window(n)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def rows(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(tickets).order_by(tickets.c.id)))

    def try_(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HallqError:
            return None

    def pick_ticket(self, data: Any, states: set[str]) -> Any:
        rows = [r for r in self.rows() if r.state in states]
        return data.draw(st.sampled_from(rows)) if rows else None

    # -- rules ------------------------------------------------------------------------

    @rule(batch=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), PRIORITIES), min_size=1, max_size=4))
    def issue(self, batch: list[tuple[str, str]]) -> None:
        for service, priority in batch:
            out = self.try_(self.store.issue, service, priority=priority)
            if out is not None:
                self.ids.append(out.value.ticket.id)
            self.now += dt.timedelta(seconds=20)

    @rule(minutes=st.sampled_from([0.5, 3, 12, 25]))
    def wait(self, minutes: float) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @precondition(lambda self: len(self.ids) > 0)
    @rule(now=st.integers(0, 9))
    def next_day(self, now: int) -> None:
        if now:  # rare: most draws do nothing, so a day holds many operations
            return
        self.now += dt.timedelta(days=1)
        self.store.rollover()
        with self.store.engine.connect() as conn:
            left = conn.execute(select(tickets.c.id).where(
                tickets.c.business_day < self.store.business_day(),
                tickets.c.state.in_(["issued", "called", "serving", "suspended"]))).all()
        assert left == []

    @rule(window=WINDOWS, keep=st.integers(0, 3))
    def call_next(self, window: int, keep: int) -> None:
        if keep:  # keep windows moving: mostly finish the current ticket first
            self.try_(self.store.finish, window)
        self.try_(self.store.resume_window, window)
        before = {r.id: r for r in self.rows() if r.state == "issued"}
        wrow = self.window_row(window)
        out = self.try_(self.store.call_next, window)
        if out is None:
            assert wrow.current_ticket_id is not None or wrow.state == "paused"
            return
        day = self.store.business_day()
        eligible = [r for r in before.values() if r.business_day == day and (
            r.target_window == window or (r.target_window is None and r.service in ROLES[window]))]
        # policy.call_order: class_first (the default): the class decides, then 主办 before 兼办
        pool = eligible
        if out.value is None:
            assert pool == [], "call_next returned nothing while tickets wait"
            return
        picked = before[out.value.id]
        assert picked in pool, "picked a ticket the window does not serve"
        self.check_order(picked, pool, self.streak[window], window)
        if picked.priority in ("priority", "appointment"):
            self.streak[window] += 1
        elif picked.priority == "normal":
            self.streak[window] = 0

    def eff(self, r: Any) -> int:
        overdue = SLA[r.service] is not None and self.now.timestamp() - r.sort_at / 1000 > SLA[r.service] * 60
        return 2 if r.priority == "normal" and overdue else RANK[r.priority]

    def check_order(self, picked: Any, pool: list[Any], streak: int, window: int) -> None:
        best = min(self.eff(r) for r in pool)
        normals = [r for r in pool if r.priority == "normal"]
        forced = 0 < N <= streak and normals and best != 0
        if forced:
            assert picked.priority == "normal", "interleave: a normal ticket was due"
            best = min(self.eff(r) for r in normals)
            pool = normals
        assert self.eff(picked) == best, f"class order: picked {picked.priority} over a better class"
        def primary(r: Any) -> bool:
            return bool(r.target_window == window or ROLES[window][r.service] == "primary")
        if any(primary(r) for r in pool if self.eff(r) == best):
            assert primary(picked), "a 兼办 ticket was called before a 主办 ticket of the same class"
        for r in pool:  # FIFO within service and effective class (transfer children keep sort_at)
            if r.service == picked.service and self.eff(r) == best and r.target_window == picked.target_window:
                assert (picked.sort_at, picked.id) <= (r.sort_at, r.id), "an older ticket was skipped"

    @rule(window=WINDOWS, data=st.data())
    def call_specific(self, window: int, data: Any) -> None:
        row = self.pick_ticket(data, {"suspended", "no_show"})
        if row is not None:
            self.try_(self.store.call, window, row.id)

    @rule(window=WINDOWS, op=st.sampled_from(["recall", "start", "finish", "no_show", "suspend"]))
    def window_op(self, window: int, op: str) -> None:
        self.try_(getattr(self.store, op), window)

    @rule(window=WINDOWS, to=st.sampled_from(["a", "b", "c", None]), to_window=st.sampled_from([None, 1, 2, 3]))
    def transfer(self, window: int, to: str | None, to_window: int | None) -> None:
        out = self.try_(self.store.transfer, window, to_service=to, to_window=to_window)
        if out is not None:
            self.ids.append(out.value.id)

    @rule(data=st.data(), often=st.integers(0, 3))
    def cancel(self, data: Any, often: int) -> None:
        if often:
            return
        row = self.pick_ticket(data, {"issued", "called", "suspended"})
        if row is not None:
            self.try_(self.store.cancel, row.id)

    @rule(window=WINDOWS, data=st.data())
    def call_issued(self, window: int, data: Any) -> None:
        row = self.pick_ticket(data, {"issued"})
        if row is not None and data.draw(st.integers(0, 3)) == 0:
            self.try_(self.store.call, window, row.id)

    @rule(window=WINDOWS)
    def pause(self, window: int) -> None:
        self.try_(self.store.pause_window, window)

    @rule(window=WINDOWS)
    def close_and_reopen(self, window: int) -> None:
        if self.try_(self.store.close_window, window) is not None:
            self.streak[window] = 0
            assert self.window_row(window).state == "closed"
            self.store.open_window(window, clerk="0002")

    @rule(window=WINDOWS, level=st.integers(0, 6))
    def rate(self, window: int, level: int) -> None:
        out = self.try_(self.store.request_rating, window)
        if out is not None:
            rated = self.try_(self.store.rate, out.value.id, level)
            assert (rated is not None) == (1 <= level <= 5)

    # -- invariants -------------------------------------------------------------------

    def window_row(self, number: int) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(select(windows).where(windows.c.number == number)).one()

    @invariant()
    def no_ticket_lost(self) -> None:
        assert [r.id for r in self.rows()] == sorted(self.ids)

    @invariant()
    def never_called_twice(self) -> None:
        with self.store.engine.connect() as conn:
            wrows = list(conn.execute(select(windows)))
            trans = list(conn.execute(select(transitions).order_by(transitions.c.id)))
        current = [w.current_ticket_id for w in wrows if w.current_ticket_id is not None]
        assert len(current) == len(set(current)), "two windows hold the same ticket"
        rows = {r.id: r for r in self.rows()}
        held = {w.current_ticket_id: w.number for w in wrows if w.current_ticket_id is not None}
        for r in rows.values():
            if r.state in ("called", "serving"):
                assert held.get(r.id) == r.window, f"{r.number} is {r.state} but not held by its window"
            else:
                assert r.id not in held
        by_ticket: dict[int, list[Any]] = {}
        for t in trans:
            by_ticket.setdefault(t.ticket_id, []).append(t)
        for tid, chain in by_ticket.items():
            assert chain[0].from_state is None
            for prev, nxt in itertools.pairwise(chain):
                assert nxt.from_state == prev.to_state, "transition chain broken"
            assert chain[-1].to_state == rows[tid].state
            calls = [t for t in chain if t.to_state == "called" and t.from_state != "called"]
            if rows[tid].state in ("called", "serving"):
                assert calls and calls[-1].window == rows[tid].window

    @invariant()
    def numbers_unique_per_service_and_day(self) -> None:
        counted = Counter((r.service, r.business_day, r.number) for r in self.rows() if r.parent_id is None)
        assert not [k for k, n in counted.items() if n > 1], "duplicate number"


QueueMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestQueue = QueueMachine.TestCase


def test_same_machine_on_postgresql(postgres_url: str) -> None:
    """Fewer, shorter runs against PostgreSQL: same invariants, the other SQL dialect."""
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")

    def new_database() -> str:
        name = f"h_{secrets.token_hex(6)}"
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return postgres_url.rsplit("/", 1)[0] + f"/{name}"

    class OnPostgres(QueueMachine):
        pass

    OnPostgres.new_database = staticmethod(new_database)  # type: ignore[assignment]
    run_state_machine_as_test(OnPostgres, settings=settings(
        max_examples=8, stateful_step_count=40, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
