"""Escalation (升级督办) of overdue 差评 cases on the working-day calendar, with a fixed clock.

A case still open ``ratings.escalate_days`` working days after its missed deadline gets level 2,
``escalated_at``, an ``escalate`` step, an audit row and one critical ``alert.case_escalated``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.auth.tables import audit_log
from server.store import QueueStore
from tests.server.store.conftest import HALL, Clock, hall_config
from tests.server.store.test_rating_cases import served

TZ = ZoneInfo("Asia/Shanghai")
RATINGS = """\
ratings:
  verify_days: 1
  rectify_days: 15
  escalate_days: 2
"""


def at(clock: Clock, year: int, month: int, day: int, hour: int, minute: int) -> None:
    """Set the clock to a local Shanghai time."""
    clock.now = dt.datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(dt.UTC)


@pytest.mark.parametrize(("workdays", "escalates_on"), [
    # Thu rating → verify due end of Fri; Sat, Sun, Mon (the hall's holiday) do not count: Tue, Wed → Thu 00:00
    ("", dt.date(2026, 12, 3)),
    # Sunday a 调休 workday: Sun, (Mon holiday), Tue → Wed 00:00
    ("  extra_workdays: [2026-11-29]\n", dt.date(2026, 12, 2)),
])
def test_an_overdue_case_escalates_after_further_working_days(
    make_store: Callable[..., QueueStore], clock: Clock, workdays: str, escalates_on: dt.date,
) -> None:
    config = hall_config(HALL.replace("  always_open: true\n", "  always_open: true\n  holidays: [2026-11-30]\n"
                                      + workdays) + RATINGS)
    store = make_store(config)
    at(clock, 2026, 11, 26, 10, 0)  # Thursday
    tid = served(store)
    store.rate(tid, 1, reasons=["attitude"], actor="display:w1")
    [case] = store.list_cases()
    assert dt.datetime.fromisoformat(case["verify_due"]) == dt.datetime(2026, 11, 28, tzinfo=TZ)
    assert case["escalation_level"] == 0 and case["escalated_at"] is None
    at(clock, 2026, 11, 28, 0, 0)  # Saturday 00:00: verification overdue → level 1, the first alert
    out = store.sweep_overdue()
    assert out.value == [case["id"]] and [e.type for e in out.events] == ["alert.case_overdue"]
    assert store.list_cases()[0]["escalation_level"] == 1
    eve = dt.datetime.combine(escalates_on, dt.time(), TZ) - dt.timedelta(minutes=1)
    clock.now = eve.astimezone(dt.UTC)  # one minute before: not yet
    assert store.sweep_overdue().value == [] and store.list_cases()[0]["escalation_level"] == 1
    clock.advance(minutes=1)
    out = store.sweep_overdue()
    assert out.value == [case["id"]]
    [alert] = out.events
    assert alert.type == "alert.case_escalated" and alert.topics == ("alerts",)
    assert alert.data["stage"] == "verify" and alert.data["level"] == 2 and "升级督办" in alert.data["message"]
    got = store.get_case(case["id"])
    assert got["escalation_level"] == 2 and got["escalated_stage"] == "verify"
    assert dt.datetime.fromisoformat(got["escalated_at"]) == dt.datetime.combine(escalates_on, dt.time(), TZ)
    assert [s["action"] for s in got["steps"]] == ["open", "overdue", "escalate"]
    assert got["steps"][-1]["actor"] == "system" and got["steps"][-1]["detail"]["escalate_days"] == 2
    assert store.sweep_overdue().value == []  # once per stage
    with store.engine.connect() as conn:
        audited = [r.action for r in conn.execute(select(audit_log).where(
            audit_log.c.target == f"case:{case['id']}").order_by(audit_log.c.id))]
    assert audited == ["case.open", "case.overdue", "case.escalate"]


def test_a_verified_case_escalates_again_only_for_a_missed_rectify_deadline(
    make_store: Callable[..., QueueStore], clock: Clock,
) -> None:
    store = make_store(hall_config(HALL + RATINGS.replace("rectify_days: 15", "rectify_days: 3")))
    at(clock, 2026, 11, 26, 10, 0)  # Thursday; verify due end of Fri, rectify end of Tue 12-01 (Fri, Mon, Tue)
    tid = served(store)
    store.rate(tid, 2, actor="display:w1")
    [case] = store.list_cases()
    cid = case["id"]
    assert dt.datetime.fromisoformat(case["rectify_due"]) == dt.datetime(2026, 12, 2, tzinfo=TZ)
    at(clock, 2026, 11, 28, 0, 0)  # Saturday: verification overdue
    assert store.sweep_overdue().value == [cid]
    at(clock, 2026, 11, 30, 10, 0)  # Monday: verified (late) — the verify stage will not escalate now
    store.case_step(cid, "verify", {}, actor="supervisor:s")
    store.case_step(cid, "rectify", {"finding": "属实，等候过长"}, actor="supervisor:s")
    at(clock, 2026, 12, 2, 0, 0)  # Wednesday: verify deadline + 2 working days, and the rectify deadline
    out = store.sweep_overdue()
    assert [e.type for e in out.events] == ["alert.case_overdue"] and out.events[0].data["stage"] == "rectify"
    assert store.get_case(cid)["escalation_level"] == 1
    at(clock, 2026, 12, 3, 23, 59)
    assert store.sweep_overdue().value == []
    at(clock, 2026, 12, 4, 0, 0)  # rectify due end of Tue + Wed, Thu → Friday 00:00
    out = store.sweep_overdue()
    assert out.value == [cid] and [e.type for e in out.events] == ["alert.case_escalated"]
    got = store.get_case(cid)
    assert got["escalation_level"] == 2 and got["escalated_stage"] == "rectify"
    store.case_step(cid, "reply", {"reply": "已增开窗口"}, actor="supervisor:s")
    clock.advance(days=30)
    assert store.sweep_overdue().value == []  # replied: nothing more to escalate
    assert store.get_case(cid)["escalation_level"] == 2  # the ledger keeps the history


def test_an_evaluator_bad_rating_is_stored_without_reasons_even_when_required(
    make_store: Callable[..., QueueStore],
) -> None:
    """The FF 68 evaluators have level keys only: their 差评 opens a case instead of being refused."""
    store = make_store(hall_config(HALL + "ratings:\n  require_reasons: true\n"))
    tid = served(store)
    with pytest.raises(Exception) as refused:
        store.rate(tid, 1, source="window")
    assert getattr(refused.value, "code", None) == "reasons_required"  # a screen can offer them: required
    store.rate(tid, 1, source="evaluator", actor="citizen")
    record = store.rating_record(tid)
    assert record is not None and record["reasons"] == [] and record["case_id"] is not None
