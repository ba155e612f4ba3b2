"""Alert rules with explicit times: absence only at a staffed window, crowding with hysteresis."""

from __future__ import annotations

from server.cameras.alerts import AbsenceWatch, CrowdWatch


def feed(watch: AbsenceWatch, start: float, end: float, state: str, occupied: bool | None, step: float = 2.0) -> list:
    changes = []
    t = start
    while t <= end:
        change = watch.update(t, state, occupied)
        if change is not None:
            changes.append(change)
        t += step
    return changes


def test_absence_raised_after_the_configured_time() -> None:
    watch = AbsenceWatch(3, absent_after=60, present_after=5)
    assert feed(watch, 0, 20, "open", True) == []
    changes = feed(watch, 22, 200, "serving", False)
    assert len(changes) == 1
    change = changes[0]
    assert change.active and change.window == 3 and change.since == 22 and change.at == 82


def test_no_absence_while_paused_or_closed() -> None:
    watch = AbsenceWatch(1, absent_after=60)
    assert feed(watch, 0, 600, "paused", False) == []
    assert feed(watch, 602, 1200, "closed", False) == []
    assert feed(watch, 1202, 1300, None, False) == []  # unknown window state: no accusation


def test_absence_clock_starts_when_the_window_opens() -> None:
    watch = AbsenceWatch(1, absent_after=60)
    feed(watch, 0, 100, "paused", False)
    changes = feed(watch, 102, 300, "open", False)
    assert [c.since for c in changes] == [102]
    assert changes[0].at == 162


def test_one_odd_reading_does_not_restart_the_count() -> None:
    watch = AbsenceWatch(1, absent_after=60, present_after=5)
    feed(watch, 0, 30, "open", False)
    assert watch.update(32, "open", True) is None  # a passer-by for one reading
    changes = feed(watch, 34, 100, "open", False)
    assert changes and changes[0].since == 0 and changes[0].at == 60


def test_absence_clears_on_return_and_on_pause() -> None:
    watch = AbsenceWatch(2, absent_after=10, present_after=4)
    assert feed(watch, 0, 20, "open", False)[0].active
    cleared = feed(watch, 22, 40, "open", True)
    assert len(cleared) == 1 and not cleared[0].active and cleared[0].reason == "returned" and cleared[0].at == 26
    assert feed(watch, 42, 60, "open", False)[0].active
    paused = watch.update(62, "paused", False)
    assert paused is not None and not paused.active and paused.reason == "window_paused"


def test_unknown_readings_neither_raise_nor_clear() -> None:
    watch = AbsenceWatch(1, absent_after=10)
    assert feed(watch, 0, 100, "open", None) == []
    assert feed(watch, 102, 120, "open", False)[0].active
    assert feed(watch, 122, 300, "open", None) == []
    assert watch.active


def test_crowding_with_hysteresis() -> None:
    crowd = CrowdWatch(threshold=8, after=30, clear_after=60)  # clears at <= 6
    assert crowd.update(0, 9) is None
    assert crowd.update(20, 7) is None  # dipped below before 30 s: start again
    assert crowd.update(22, 8) is None
    raised = crowd.update(52, 10)
    assert raised is not None and raised.active and raised.since == 22 and raised.value == 10
    assert crowd.update(60, 7) is None  # inside the band: still crowded
    assert crowd.update(62, 6) is None
    assert crowd.update(100, 5) is None
    cleared = crowd.update(122, 4)
    assert cleared is not None and not cleared.active and cleared.since == 62
    assert crowd.update(130, None) is None
