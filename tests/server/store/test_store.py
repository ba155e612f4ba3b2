"""QueueStore on a real SQLite file: every operation, its refusals, events and audit rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from server.config import HallConfig
from server.errors import HallqError
from server.queue.entities import IdentityRef
from server.store import QueueStore
from server.store.tables import tickets, transitions


def code_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(HallqError) as info:
        fn()
    return info.value.code


def audit(store: QueueStore, ticket_id: int) -> list[tuple[str | None, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.from_state, transitions.c.to_state, transitions.c.action)
                            .where(transitions.c.ticket_id == ticket_id).order_by(transitions.c.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_issue_numbers_per_service(store: QueueStore) -> None:
    a1, held2, b1 = store.issue("a").value.ticket, store.issue("a").value, store.issue("b").value.ticket
    a2 = held2.ticket
    assert (a1.number, a2.number, b1.number) == ("A001", "A002", "B001")
    assert (a1.state, a1.ahead, a2.ahead) == ("issued", 0, 1)
    assert a1.business_day == "2026-11-27" and a1.issued_at == "2026-11-27T10:00:00+08:00"
    assert store.get_ticket_by_token(held2.token).ticket.id == a2.id
    assert store.get_ticket(a1.id).ahead == 0
    assert code_of(lambda: store.issue("zzz")) == "unknown_service"
    assert code_of(lambda: store.get_ticket(999)) == "unknown_ticket"
    assert code_of(lambda: store.issue("a", priority="vip")) == "invalid_request"


def test_eta_uses_open_windows_and_expected_minutes(store: QueueStore) -> None:
    store.issue("c")
    assert store.issue("c").value.ticket.eta_minutes is None  # no window serves c yet
    store.open_window(3)
    t = store.issue("c").value.ticket
    assert (t.ahead, t.eta_minutes) == (2, 20)  # 2 ahead × 10 min expected / 1 window


def test_restart_continues_the_days_numbering(store: QueueStore, make_store: Callable[..., QueueStore],
                                              config: HallConfig) -> None:
    store.issue("a")
    store.issue("a")
    store.close()
    again = make_store(config)
    assert again.issue("a").value.ticket.number == "A003"


def test_daily_limit_and_range(make_store: Callable[..., QueueStore], make_config: Callable[..., HallConfig]) -> None:
    s = make_store(make_config(**{"daily_limit: 50": "daily_limit: 2",
                                  "number_start: 1, number_end: 999": "number_start: 1, number_end: 2, width: 3"}))
    s.issue("b")
    s.issue("b")
    assert code_of(lambda: s.issue("b")) == "daily_limit_reached"
    s.issue("c")
    s.issue("c")
    assert code_of(lambda: s.issue("c")) == "number_range_exhausted"


def test_wrap_restarts_the_range(make_store: Callable[..., QueueStore], make_config: Callable[..., HallConfig]) -> None:
    s = make_store(make_config(**{"number_start: 1, number_end: 999": "number_end: 2, on_exhausted: wrap"}))
    assert [s.issue("c").value.ticket.number for _ in range(3)] == ["C001", "C002", "C001"]


def test_outside_opening_hours(make_store: Callable[..., QueueStore], make_config: Callable[..., HallConfig],
                               clock: Any) -> None:
    hours = ("always_open: true", "opening_hours: [{days: [1, 2, 3, 4, 5], open: '09:00', close: '17:00'}]\n"
             "  lunch_break: {start: '12:00', end: '13:30'}")
    s = make_store(make_config(**{hours[0]: hours[1]}))
    s.issue("a")
    clock.advance(hours=2, minutes=30)  # 12:30 local
    with pytest.raises(HallqError) as info:
        s.issue("a")
    assert info.value.code == "outside_opening_hours"
    assert info.value.extra["next_open"] == "2026-11-27T13:30:00+08:00"
    snap = s.snapshot()
    assert not snap.hall.open_now and snap.hall.next_open == "2026-11-27T13:30:00+08:00"
    assert snap.services[0].reason == "outside_opening_hours"


def test_per_person_limit_and_elderly_priority(store: QueueStore) -> None:
    old = IdentityRef("k1", "110105********002X", "张*明", dt.date(1950, 1, 1))
    t = store.issue("b", identity=old).value.ticket
    assert (t.priority, t.masked_id, t.masked_name) == ("priority", "110105********002X", "张*明")
    young = IdentityRef("k2", birth_date=dt.date(2000, 1, 1))
    assert store.issue("b", identity=young).value.ticket.priority == "normal"
    # one open ticket per service and person
    with pytest.raises(HallqError) as info:
        store.issue("b", identity=old)
    assert info.value.code == "per_person_limit" and info.value.extra["number"] == "B001"
    assert store.issue("a", identity=old).value.ticket.number == "A001"
    store.open_window(2)
    store.call_next(2)
    store.finish(2)
    assert store.issue("b", identity=old).value.ticket.number == "B003"
    store.call_next(2)  # serve the two waiting tickets
    store.finish(2)
    store.call_next(2)
    store.finish(2)
    # per_person_daily: 2 for service b, counted over the day (done tickets too)
    assert code_of(lambda: store.issue("b", identity=old)) == "per_person_limit"


def test_open_ticket_rule_can_be_switched_off(make_store: Callable[..., QueueStore],
                                              make_config: Callable[..., HallConfig]) -> None:
    s = make_store(make_config(**{"elderly_age: 65": "elderly_age: 65\n  one_open_ticket_per_service: false"}))
    who = IdentityRef("k9")
    assert [s.issue("b", identity=who).value.ticket.number for _ in range(2)] == ["B001", "B002"]
    assert code_of(lambda: s.issue("b", identity=who)) == "per_person_limit"


def test_full_cycle_with_events_and_audit(store: QueueStore) -> None:
    t = store.issue("a").value.ticket
    assert code_of(lambda: store.call_next(1)) == "window_not_open"
    opened = store.open_window(1, clerk="0001")
    assert opened.value.state == "open" and opened.events[0].type == "window.changed"
    called = store.call_next(1)
    assert called.value is not None and called.value.id == t.id and called.value.window == 1
    ev = called.events[0]
    assert ev.type == "ticket.called" and ev.topics == ("hall", "window:1", f"ticket:{t.id}")
    assert ev.data["window"]["state"] == "calling" and ev.data["window"]["current"]["number"] == "A001"
    assert code_of(lambda: store.call_next(1)) == "window_busy"
    assert store.start(1).value.state == "serving"
    assert store.window(1).state == "serving"
    done = store.finish(1)
    assert done.value.state == "done" and done.value.finished_at is not None
    assert store.window(1).state == "open" and store.window(1).current is None
    assert store.call_next(1).value is None
    assert audit(store, t.id) == [(None, "issued", "issue"), ("issued", "called", "call"),
                                  ("called", "serving", "start"), ("serving", "done", "finish")]
    seqs = [e.seq for e in store.last_events(0)]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) == 5
    assert [e.type for e in store.last_events(seqs[1])] == ["ticket.called", "ticket.started", "ticket.finished"]


def test_finish_from_called_records_start(store: QueueStore) -> None:
    t = store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    assert store.finish(1).value.state == "done"
    assert [a for _, _, a in audit(store, t.id)] == ["issue", "call", "start", "finish"]


def test_recall_then_no_show_then_callback(store: QueueStore, clock: Any) -> None:
    t = store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    assert store.recall(1).value.recall_count == 1
    assert store.recall(1).value.recall_count == 2
    out = store.recall(1)  # max_recalls = 2
    assert out.value.state == "no_show" and out.events[0].type == "ticket.no_show"
    assert code_of(lambda: store.recall(1)) == "nothing_to_recall"
    clock.advance(minutes=10)
    back = store.call(1, t.id)
    assert back.value.state == "called" and back.value.recall_count == 0
    store.no_show(1)
    clock.advance(minutes=31)
    assert code_of(lambda: store.call(1, t.id)) == "callback_expired"


def test_suspend_and_call_back(store: QueueStore) -> None:
    t = store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    store.start(1)
    assert store.suspend(1).value.state == "suspended"
    assert store.window(1).current is None
    other = store.issue("a").value.ticket
    assert store.call_next(1).value.id == other.id  # type: ignore[union-attr]
    assert code_of(lambda: store.call(1, t.id)) == "window_busy"
    store.finish(1)
    assert store.call(1, t.id).value.state == "called"
    assert code_of(lambda: store.call(2, other.id)) == "window_not_open"


def test_call_specific_ticket_checks_service(store: QueueStore) -> None:
    c = store.issue("c").value.ticket
    store.open_window(1)
    assert code_of(lambda: store.call(1, c.id)) == "invalid_transition"
    store.open_window(3)
    assert store.call(3, c.id).value.window == 3
    store.finish(3)
    assert code_of(lambda: store.call(3, c.id)) == "invalid_transition"


def test_transfer_keeps_number_and_issue_time(store: QueueStore, clock: Any) -> None:
    held = store.issue("a").value
    first = held.ticket
    clock.advance(minutes=1)
    store.issue("b")  # B001, issued after A001
    store.open_window(1)
    store.call_next(1)
    store.start(1)
    out = store.transfer(1, to_service="b")
    child = out.value
    assert (child.number, child.service, child.parent_id, child.state) == ("A001", "b", first.id, "issued")
    assert out.events[0].type == "ticket.transferred" and f"ticket:{child.id}" in out.events[0].topics
    assert store.get_ticket(first.id).state == "transferred"
    assert store.get_ticket_by_token(held.token).ticket.id == child.id
    store.open_window(2)
    assert store.call_next(2).value.id == child.id  # type: ignore[union-attr]
    assert code_of(lambda: store.transfer(2)) == "invalid_request"


def test_transfer_to_window(store: QueueStore) -> None:
    store.issue("a")
    store.open_window(1)
    store.open_window(2)
    store.call_next(1)
    child = store.transfer(1, to_window=3).value
    assert store.call_next(2).value is None
    store.open_window(3)
    assert store.waiting_for_window(3)[0].id == child.id
    assert store.call_next(3).value.id == child.id  # type: ignore[union-attr]


def test_rating_once_after_service(store: QueueStore) -> None:
    t = store.issue("a").value.ticket
    assert code_of(lambda: store.rate(t.id, 5)) == "not_ratable"
    store.open_window(1, clerk="0001")
    store.call_next(1)
    assert code_of(lambda: store.request_rating(1)) == "not_ratable"
    store.start(1)
    assert code_of(lambda: store.request_rating(1)) == "not_ratable"  # rating only after 办结
    assert code_of(lambda: store.rate(t.id, 5)) == "not_ratable"
    store.finish(1)
    req = store.request_rating(1)
    assert req.events[0].type == "rating.requested" and req.events[0].topics == ("window:1", f"ticket:{t.id}")
    assert code_of(lambda: store.rate(t.id, 6)) == "invalid_rating"
    out = store.rate(t.id, 2, source="evaluator")
    assert out.value.rating == 2 and out.events[0].data["rating"]["bad"] is True
    assert code_of(lambda: store.rate(t.id, 5)) == "already_rated"
    assert code_of(lambda: store.request_rating(1)) == "already_rated"


def test_cancel_frees_the_window(store: QueueStore) -> None:
    t = store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    out = store.cancel(t.id)
    assert out.value.state == "cancelled" and out.events[0].data["window"]["current"] is None
    assert store.window(1).state == "open"
    assert code_of(lambda: store.cancel(t.id)) == "invalid_transition"


def test_pause_resume_close(store: QueueStore) -> None:
    store.issue("a")
    assert code_of(lambda: store.pause_window(1)) == "window_not_open"
    store.open_window(1)
    store.call_next(1)
    assert store.pause_window(1, reason="离岗").value.state == "paused"
    assert code_of(lambda: store.close_window(1)) == "window_busy"
    store.start(1)
    assert store.window(1).state == "paused"
    store.finish(1)
    assert code_of(lambda: store.call_next(1)) == "window_not_open"
    assert store.resume_window(1).value.state == "open"
    assert store.close_window(1).value.state == "closed"
    assert code_of(lambda: store.window(99)) == "unknown_window"


def test_policy_in_the_store_primary_priority_interleave(store: QueueStore, clock: Any) -> None:
    ids = {}
    for name, svc, prio in [("n1", "a", "normal"), ("n2", "a", "normal"), ("p1", "a", "priority"),
                            ("p2", "a", "priority"), ("p3", "a", "appointment"), ("s", "b", "green")]:
        ids[store.issue(svc, priority=prio).value.ticket.id] = name
        clock.advance(seconds=10)
    store.open_window(1)
    # policy.call_order: class_first (the default): the green ticket of b (兼办 at window 1) comes first;
    # under role_first it waited for every 主办 ticket (tests/server/queue/test_citizens_first.py)
    expected = ["s", "p3", "p1", "n1", "p2", "n2"]
    assert [ids[t.id] for t in store.waiting_for_window(1)] == expected
    got = []
    for _ in expected:
        got.append(ids[store.call_next(1).value.id])  # type: ignore[union-attr]
        store.finish(1)
    assert got == expected


def test_sla_promotion_in_the_store(store: QueueStore, clock: Any) -> None:
    old = store.issue("a").value.ticket
    clock.advance(minutes=31)
    store.issue("a", priority="priority")
    store.open_window(1)
    assert store.call_next(1).value.id == old.id  # type: ignore[union-attr]


def test_rollover_expires_leftovers_and_restarts_numbers(store: QueueStore, clock: Any) -> None:
    waiting = store.issue("a").value.ticket
    served = store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    clock.advance(days=1)
    assert store.issue("a").value.ticket.number == "A001"
    out = store.rollover()
    assert out.value == 2 and {e.type for e in out.events} == {"ticket.expired"}
    assert store.get_ticket(waiting.id).state == "expired"
    assert store.get_ticket(served.id).state == "expired"
    assert store.window(1).current is None
    assert store.rollover().value == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(tickets.c.id)).all().__len__() == 3  # nothing deleted


def test_snapshot(store: QueueStore, clock: Any) -> None:
    store.issue("a")
    clock.advance(minutes=2)
    store.issue("a")
    store.open_window(1)
    store.call_next(1)
    snap = store.snapshot()
    a = snap.services[0]
    assert (a.code, a.waiting, a.issued_today, a.longest_wait_seconds, a.available) == ("a", 1, 2, 0, True)
    assert [w.number for w in snap.windows] == [1, 2, 3]
    assert snap.windows[0].current is not None and snap.recent_calls[0].number == "A001"
    assert snap.seq == store.last_events(0)[-1].seq
    d = snap.to_dict()
    assert d["hall"]["business_day"] == "2026-11-27" and d["windows"][0]["current"]["number"] == "A001"
