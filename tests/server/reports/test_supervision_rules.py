"""The ``supervision:`` thresholds of the alert rules, window-console notices, and de-duplication across workers."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from server.alerts.rules import RuleSettings, Waiting, WindowNow, evaluate
from server.alerts.store import AlertStore
from server.config import HallConfig
from server.queue.events import EventType
from server.store.tables import alerts
from tests.support import demo_bearer, make_app

MIN = 60_000
MORNING = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday
NOW = 1_000 * MIN


def active(findings: list[Any]) -> dict[tuple[str, str], Any]:
    return {(f.type, f.subject): f for f in findings if f.active}


def opened(config: HallConfig, state: str = "open") -> list[WindowNow]:
    return [WindowNow(w.number, state, NOW - 5 * MIN) for w in config.windows]


def test_the_section_parses_and_defaults_to_the_30_minute_rule(hall_config: HallConfig) -> None:
    assert RuleSettings.of(hall_config.supervision) == RuleSettings()
    cfg = HallConfig.model_validate({**hall_config.model_dump(), "supervision": {
        "open_window_count": 5, "open_window_minutes": 20, "pause_allowance": {"午休": 60}, "crowding_waiting": 80}})
    rules = RuleSettings.of(cfg.supervision)
    assert (rules.crowd_count, rules.crowd_minutes, rules.crowding_waiting) == (5, 20, 80)
    assert rules.pause_limit("午休") == 60 and rules.pause_limit("临时离开") == 15 and rules.pause_limit(None) == 15
    with pytest.raises(ValueError):
        HallConfig.model_validate({**hall_config.model_dump(), "supervision": {"open_window_minutes": 0}})


def test_pause_allowance_per_reason(hall_config: HallConfig) -> None:
    rules = RuleSettings(pause_allowance={"午休": 60})
    n = hall_config.windows[0].number

    def paused(minutes: int, reason: str | None) -> dict[tuple[str, str], Any]:
        ws = opened(hall_config)
        ws[0] = WindowNow(n, "paused", NOW - minutes * MIN - 1, reason)
        return active(evaluate(hall_config, NOW, [], ws, rules))

    assert ("pause_too_long", f"window:{n}") not in paused(40, "午休")  # lunch is allowed an hour
    lunch = paused(60, "午休")[("pause_too_long", f"window:{n}")]
    assert "午休" in lunch.message and "60" in lunch.message and lunch.notify == (n,)
    assert ("pause_too_long", f"window:{n}") in paused(15, "临时离开")  # other reasons: pause_minutes
    assert ("pause_too_long", f"window:{n}") not in paused(14, None)
    # the console stores a reason's code or its 中文: either matches an allowance keyed by the other
    lunch_code = next(r.code for r in hall_config.console.pause_reasons if r.zh == "午休")
    assert ("pause_too_long", f"window:{n}") not in paused(40, lunch_code)


def test_rules_turned_off_yield_nothing_and_crowding_counts_the_hall(hall_config: HallConfig) -> None:
    waiting = [Waiting("general", NOW - 45 * MIN) for _ in range(12)]
    ws = opened(hall_config, "closed")
    on = active(evaluate(hall_config, NOW, waiting, ws))
    assert {("long_wait", "service:general"), ("unserved", "service:general"), ("open_window", "hall")} <= set(on)
    off = RuleSettings(crowd_count=None, long_wait=False, unserved=False, pause_minutes=None, crowding_waiting=11)
    found = evaluate(hall_config, NOW, waiting, [WindowNow(1, "paused", NOW - 99 * MIN)], off)
    assert {(f.type, f.subject) for f in found} == {("crowding", "hall")}
    assert found[0].active and "12人" in found[0].message
    assert not evaluate(hall_config, NOW, waiting[:11], [], off)[0].active


def test_long_wait_names_the_staffed_windows_serving_it(hall_config: HallConfig) -> None:
    serving = sorted(w.number for w in hall_config.windows if "general" in {s.code for s in w.services})
    ws = opened(hall_config, "closed")
    ws = [WindowNow(w.number, "open" if w.number == serving[0] else "closed", w.since) for w in ws]
    found = active(evaluate(hall_config, NOW, [Waiting("general", NOW - 31 * MIN)], ws))
    assert found[("long_wait", "service:general")].notify == (serving[0],)


def test_a_rule_alert_reaches_the_window_console(tmp_path: Path, hall_config: HallConfig) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        inbox = app.state.services.alerts
        app.state.services.store.clock = lambda: MORNING  # not the wall clock: +2 h stays on the same day
        assert client.post("/api/windows/1/open", json={}).status_code == 200
        assert client.post("/api/tickets", json={"service": "general"}).status_code == 201
        console = app.state.services.hub.subscribe(("window:1",))
        other = app.state.services.hub.subscribe(("window:2",))
        inbox.clock = lambda: MORNING.timestamp() + 2 * 3600
        client.portal.call(inbox.evaluate_rules)  # type: ignore[union-attr]
        got = []
        while not console.queue.empty():
            got.append(console.queue.get_nowait())
        notices = [e for e in got if getattr(e, "type", None) == EventType.WINDOW_NOTICE]
        assert [e.data["alert"]["type"] for e in notices] == ["long_wait"]
        assert "window:1" in notices[0].topics and "目标" in notices[0].data["alert"]["message"]
        others = []
        while not other.queue.empty():
            others.append(other.queue.get_nowait())
        assert not [e for e in others if getattr(e, "type", None) == EventType.WINDOW_NOTICE]
        client.portal.call(inbox.evaluate_rules)  # type: ignore[union-attr]
        again = []
        while not console.queue.empty():
            again.append(console.queue.get_nowait())
        assert not [e for e in again if getattr(e, "type", None) == EventType.WINDOW_NOTICE]  # not sent twice


def test_unique_index_refuses_a_second_open_alert(tmp_path: Path, hall_config: HallConfig) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False):
        engine = app.state.services.store.engine
        row = {"type": "crowding", "subject": "hall", "severity": "info", "message": "m", "first_seen": 1,
               "last_seen": 1, "count": 1}
        with engine.begin() as conn:
            conn.execute(insert(alerts), row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(alerts), row)
        with engine.begin() as conn:  # a resolved one may sit beside the open one
            conn.execute(insert(alerts), {**row, "resolved_at": 2, "resolved_by": "system"})


def test_workers_reporting_at_once_make_one_alert_on_postgresql(postgres_db_url: str, hall_config: HallConfig) -> None:
    from server.app import open_store

    store = open_store(postgres_db_url, hall_config)
    try:
        workers = [AlertStore(store.engine) for _ in range(6)]
        barrier = threading.Barrier(len(workers))
        errors: list[BaseException] = []

        def report(s: AlertStore) -> None:
            try:
                barrier.wait()
                s.report("open_window", "hall", severity="critical", message="12人等候超过30分钟", evidence=None,
                         now=1000)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=report, args=(s,)) for s in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        rows = workers[0].list(state="all")
        assert [(a.type, a.count) for a in rows] == [("open_window", len(workers))]
    finally:
        store.close()


def test_window_notices_reach_staff_only_never_the_public_window_screen() -> None:
    from server.auth.roles import Principal, Role
    from server.auth.topics import may_receive

    topics = ("window:1",)
    clerk = Principal(Role.CLERK, "clerk1", windows=frozenset({1}))
    display = Principal(Role.DISPLAY, "display:w1", windows=frozenset({1}))
    assert may_receive(clerk, topics, (), "window.notice")
    assert may_receive(Principal(Role.SUPERVISOR, "supervisor"), topics, (), "window.notice")
    assert not may_receive(display, topics, (), "window.notice")
    assert not may_receive(None, topics, (), "window.notice")
    assert may_receive(None, topics, (), "window.changed")  # the public topic itself stays public
