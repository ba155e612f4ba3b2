"""Alert rules (server/alerts/rules.py) on a scripted day: each fires when due and stays quiet otherwise."""

from __future__ import annotations

from typing import Any

from server.alerts.rules import RuleSettings, Waiting, WindowNow, evaluate

MIN = 60_000
NOW = 1_000 * MIN


def active(findings: list[Any]) -> dict[tuple[str, str], str]:
    return {(f.type, f.subject): f.message for f in findings if f.active}


def windows(hall_config: Any, state: str = "open") -> list[WindowNow]:
    return [WindowNow(w.number, state, NOW - 5 * MIN) for w in hall_config.windows]


def test_quiet_hall_raises_nothing(hall_config: Any) -> None:
    waiting = [Waiting("general", NOW - 5 * MIN)]
    assert active(evaluate(hall_config, NOW, waiting, windows(hall_config))) == {}


def test_long_wait_past_the_service_target(hall_config: Any) -> None:
    svc = next(s for s in hall_config.services if s.code == "general")
    waiting = [Waiting("general", NOW - (svc.sla_minutes * MIN + 1))]
    found = active(evaluate(hall_config, NOW, waiting, windows(hall_config)))
    assert list(found) == [("long_wait", "service:general")]
    exactly = [Waiting("general", NOW - svc.sla_minutes * MIN)]  # at the target: not past it
    assert active(evaluate(hall_config, NOW, exactly, windows(hall_config))) == {}


def test_thirty_minute_rule_suggests_a_closed_window(hall_config: Any) -> None:
    ws = windows(hall_config)
    ws = [WindowNow(w.number, "closed" if w.number == 2 else w.state, w.since) for w in ws]
    rules = RuleSettings(crowd_count=3, crowd_minutes=30)
    waiting = [Waiting("general", NOW - 31 * MIN) for _ in range(4)]
    found = active(evaluate(hall_config, NOW, waiting, ws, rules))
    assert found[("open_window", "hall")] == "4人等候超过30分钟，建议开放2号综合窗口"
    assert ("open_window", "hall") not in active(evaluate(hall_config, NOW, waiting[:3], ws, rules))


def test_unserved_queue_and_long_pause(hall_config: Any) -> None:
    ws = windows(hall_config, "closed")
    ws[0] = WindowNow(ws[0].number, "paused", NOW - 16 * MIN)
    found = active(evaluate(hall_config, NOW, [Waiting("general", NOW - MIN)], ws))
    assert ("unserved", "service:general") in found
    assert ("pause_too_long", f"window:{ws[0].number}") in found
    ws[0] = WindowNow(ws[0].number, "paused", NOW - 14 * MIN)
    assert ("pause_too_long", f"window:{ws[0].number}") not in active(evaluate(hall_config, NOW, [], ws))
