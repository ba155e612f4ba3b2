"""好差评 in the store: rating only after 办结, once, reasons, and the 差评 case lifecycle with deadlines."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.auth.tables import audit_log
from server.errors import HallqError
from server.store import QueueStore
from server.store.tables import case_steps, events, ratings
from tests.server.store.conftest import HALL, Clock, hall_config

TZ = ZoneInfo("Asia/Shanghai")
RATINGS = """\
ratings:
  require_reasons: true
  text_max: 20
  verify_days: 1
  rectify_days: 15
"""


def code_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(HallqError) as err:
        fn()
    return err.value.code


def served(store: QueueStore, window: int = 1) -> int:
    """A ticket called, served and finished (办结) at ``window``; its id."""
    t = store.issue("a").value.ticket
    store.open_window(window, clerk="A0101")
    store.call_next(window)
    store.start(window)
    store.finish(window)
    return t.id


@pytest.fixture
def rstore(make_store: Callable[..., QueueStore]) -> QueueStore:
    """The test hall with reasons required for 差评 and a 20-character text limit."""
    return make_store(hall_config(HALL + RATINGS))


def local(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(TZ)


def test_rating_only_after_finish_and_once(rstore: QueueStore) -> None:
    t = rstore.issue("a").value.ticket
    assert code_of(lambda: rstore.rate(t.id, 5)) == "not_ratable"  # waiting
    rstore.open_window(1, clerk="A0101")
    rstore.call_next(1)
    assert code_of(lambda: rstore.rate(t.id, 5)) == "not_ratable"  # called
    rstore.start(1)
    assert code_of(lambda: rstore.rate(t.id, 5)) == "not_ratable"  # serving: not yet 办结
    assert rstore.rating_record(t.id) is None
    rstore.finish(1)
    out = rstore.rate(t.id, 4, source="window", actor="display:w1")
    assert out.value.rating == 4
    assert code_of(lambda: rstore.rate(t.id, 5, source="evaluator")) == "already_rated"
    record = rstore.rating_record(t.id)
    assert record is not None and record["channel"] == "window" and record["clerk"] == "A0101"
    assert record["window"] == 1 and record["case_id"] is None and len(record["uid"]) == 36
    c = rstore.issue("a").value.ticket
    rstore.cancel(c.id)
    assert code_of(lambda: rstore.rate(c.id, 5)) == "not_ratable"
    assert code_of(lambda: rstore.rate(10**9, 5)) == "unknown_ticket"


def test_reasons_and_text_are_checked(rstore: QueueStore) -> None:
    tid = served(rstore)
    assert code_of(lambda: rstore.rate(tid, 2)) == "reasons_required"
    assert code_of(lambda: rstore.rate(tid, 1, reasons=["nonsense"])) == "unknown_reason"
    assert code_of(lambda: rstore.rate(tid, 5, reasons=["attitude"])) == "reasons_not_allowed"
    assert code_of(lambda: rstore.rate(tid, 2, reasons=["attitude"], text="字" * 21)) == "rating_text_too_long"
    with rstore.engine.connect() as conn:
        assert conn.execute(select(ratings)).all() == []  # nothing stored by a refused rating
    rstore.rate(tid, 2, reasons=["attitude", "efficiency"], text="  等了很久  ")
    record = rstore.rating_record(tid)
    assert record is not None and record["reasons"] == ["attitude", "efficiency"] and record["text"] == "等了很久"


def test_every_rating_is_an_audit_row_and_the_event_has_no_text(rstore: QueueStore) -> None:
    tid = served(rstore)
    rstore.rate(tid, 1, reasons=["attitude"], text="态度差", source="evaluator", actor="device:host")
    with rstore.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.target == f"ticket:{tid}")).all()
        event = conn.execute(select(events).where(events.c.type == "ticket.rated")).one()
    assert [r.action for r in rows] == ["evaluation.recorded"]
    detail = json.loads(rows[0].detail)
    assert detail["level"] == 1 and detail["channel"] == "evaluator" and detail["clerk"] == "A0101"
    assert detail["reasons"] == ["attitude"] and detail["case_id"] is not None and "态度差" not in rows[0].detail
    rating = json.loads(event.data)["rating"]
    assert rating["reasons"] == ["attitude"] and rating["case_id"] == detail["case_id"] and "态度差" not in event.data


def test_case_lifecycle_over_a_weekend_with_overdue_alerts(rstore: QueueStore, clock: Clock) -> None:
    tid = served(rstore)  # Friday 2026-11-27 10:00 in Shanghai
    rstore.rate(tid, 2, reasons=["efficiency"], actor="display:w1")
    [case] = rstore.list_cases()
    assert case["state"] == "pending" and case["ticket_id"] == tid and case["clerk"] == "A0101"
    assert local(case["verify_due"]) == dt.datetime(2026, 12, 1, tzinfo=TZ)  # end of Monday, not Saturday
    assert local(case["rectify_due"]) == dt.datetime(2026, 12, 19, tzinfo=TZ)  # 15 working days
    assert rstore.sweep_overdue().value == []
    clock.advance(days=3, hours=13)  # Monday 23:00: still in time
    assert rstore.sweep_overdue().value == [] and not rstore.list_cases(overdue=True)
    clock.advance(hours=1)  # Tuesday 00:00: verification overdue
    out = rstore.sweep_overdue()
    assert out.value == [case["id"]]
    [alert] = [e for e in out.events if e.type == "alert.case_overdue"]
    assert alert.data["stage"] == "verify" and alert.topics == ("alerts",)
    assert rstore.sweep_overdue().value == []  # once per stage
    assert [c["id"] for c in rstore.list_cases(overdue=True)] == [case["id"]]
    cid = case["id"]
    assert code_of(lambda: rstore.case_step(cid, "reply", {"reply": "x"}, actor="supervisor:s")) == "invalid_case_step"
    rstore.case_step(cid, "verify", {"note": "调取录像"}, actor="supervisor:s")
    assert code_of(lambda: rstore.case_step(cid, "rectify", {}, actor="supervisor:s")) == "case_field_required"
    rstore.case_step(cid, "rectify", {"finding": "属实，等候过长"}, actor="supervisor:s")
    assert not rstore.list_cases(overdue=True)  # verified; rectification still in time
    rstore.case_step(cid, "reply", {"reply": "已增开窗口"}, actor="supervisor:s")
    assert code_of(lambda: rstore.case_step(cid, "close", {}, actor="supervisor:s")) == "case_field_required"
    done = rstore.case_step(cid, "close", {"callback_result": "satisfied", "note": "电话回访"},
                            actor="supervisor:s").value
    assert done["state"] == "closed" and done["callback_result"] == "satisfied" and done["outcome"] == "closed"
    assert [s["action"] for s in done["steps"]] == ["open", "overdue", "verify", "rectify", "reply", "close"]
    assert all(s["actor"] and s["at"] for s in done["steps"])
    clock.advance(days=30)
    assert rstore.sweep_overdue().value == []  # closed cases are never overdue
    with rstore.engine.connect() as conn:
        audited = [r.action for r in conn.execute(select(audit_log).where(audit_log.c.target == f"case:{cid}")
                                                  .order_by(audit_log.c.id))]
        stored = conn.execute(select(case_steps).where(case_steps.c.case_id == cid)).all()
    assert audited == ["case.open", "case.overdue", "case.verify", "case.rectify", "case.reply", "case.close"]
    assert len(stored) == 6


def test_rectify_deadline_alerts_after_verification(rstore: QueueStore, clock: Clock) -> None:
    tid = served(rstore)
    rstore.rate(tid, 1, reasons=["attitude"])
    cid = rstore.list_cases()[0]["id"]
    rstore.case_step(cid, "verify", {}, actor="supervisor:s")
    rstore.case_step(cid, "rectify", {"finding": "属实"}, actor="supervisor:s")
    clock.advance(days=22)  # past 2026-12-19 00:00
    out = rstore.sweep_overdue()
    assert out.value == [cid] and out.events[0].data["stage"] == "rectify"
    assert rstore.list_cases(overdue=True)[0]["overdue_stage"] == "rectify"


def test_appeal_rejected_goes_back_and_upheld_closes(rstore: QueueStore) -> None:
    a, b = served(rstore), served(rstore)
    rstore.rate(a, 2, reasons=["other"])
    rstore.rate(b, 1, reasons=["other"])
    ca, cb = sorted(c["id"] for c in rstore.list_cases())
    rstore.case_step(ca, "verify", {}, actor="supervisor:s")
    assert code_of(lambda: rstore.case_step(ca, "appeal", {}, actor="clerk:A0101")) == "case_field_required"
    rstore.case_step(ca, "appeal", {"reason": "群众误解"}, actor="clerk:A0101")
    assert rstore.get_case(ca)["state"] == "appealed"
    assert code_of(lambda: rstore.case_step(ca, "appeal", {"decision": "maybe", "note": "x"},
                                            actor="supervisor:s")) == "invalid_request"
    back = rstore.case_step(ca, "appeal", {"decision": "rejected", "note": "申诉不成立"}, actor="supervisor:s").value
    assert back["state"] == "verifying"
    rstore.case_step(cb, "appeal", {"reason": "恶意差评"}, actor="clerk:A0101")
    upheld = rstore.case_step(cb, "appeal", {"decision": "upheld", "note": "录像证实"}, actor="supervisor:s").value
    assert upheld["state"] == "closed" and upheld["outcome"] == "appeal_upheld"
    assert code_of(lambda: rstore.case_step(cb, "appeal", {"reason": "again"}, actor="x")) == "invalid_case_step"
    assert code_of(lambda: rstore.get_case(10**9)) == "unknown_case"


@pytest.mark.parametrize(("start", "verify_due"), [
    (dt.datetime(2026, 10, 9, 2, tzinfo=dt.UTC), dt.datetime(2026, 10, 11, tzinfo=TZ)),  # Fri → 调休 Saturday
    (dt.datetime(2026, 9, 30, 2, tzinfo=dt.UTC), dt.datetime(2026, 10, 9, tzinfo=TZ)),  # over National Day
])
def test_deadlines_follow_tiaoxiu_and_holidays(make_store: Callable[..., QueueStore], clock: Clock,
                                               start: dt.datetime, verify_due: dt.datetime) -> None:
    clock.now = start
    s = make_store(hall_config(HALL + RATINGS))
    tid = served(s)
    s.rate(tid, 2, reasons=["attitude"])
    assert local(s.list_cases()[0]["verify_due"]) == verify_due


def test_the_halls_holiday_overrides_the_package(make_store: Callable[..., QueueStore]) -> None:
    text = HALL.replace("  always_open: true\n", "  always_open: true\n  holidays: [2026-11-30]\n")
    s = make_store(hall_config(text + RATINGS))
    tid = served(s)  # Friday; the hall closes on Monday
    s.rate(tid, 2, reasons=["attitude"])
    assert local(s.list_cases()[0]["verify_due"]) == dt.datetime(2026, 12, 2, tzinfo=TZ)
