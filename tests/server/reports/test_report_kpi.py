"""KPI formulas (server/reports/kpi.py) against a hand-computed day of seven tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.reports.kpi import GROUPS, Step, TicketFacts, breakdown, clerk_of, kpis, p90, visit

TZ = ZoneInfo("Asia/Shanghai")


def ms(day: int, hh: int, mm: int, ss: int = 0) -> int:
    """Milliseconds of 2026-11-<day> hh:mm:ss in the hall's zone."""
    return int(dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=TZ).timestamp() * 1000)


C3, C5 = "clerk:A0101@3", "clerk:B0202@5"

TICKETS = [
    # 1: plain: issued 09:00:00, called 09:04:10 (wait 250 s), start 09:05:00, finish 09:10:30 (330 s), rated 5
    TicketFacts(1, "2026-11-02", "tax", "done", ms(2, 9, 0), rating=5, steps=(
        Step("issue", ms(2, 9, 0), "kiosk:k1"), Step("call", ms(2, 9, 4, 10), C3, 3),
        Step("start", ms(2, 9, 5), C3, 3), Step("finish", ms(2, 9, 10, 30), C3, 3))),
    # 2: crossing lunch: issued 11:50:00, called 13:35:00 (wait 6300 s, lunch included), recalled
    #    twice (first call still 13:35), start 13:37:00, finish 13:50:00 (780 s), unrated
    TicketFacts(2, "2026-11-02", "tax", "done", ms(2, 11, 50), channel="web", steps=(
        Step("issue", ms(2, 11, 50), "web"), Step("call", ms(2, 13, 35), C3, 3),
        Step("recall", ms(2, 13, 36), C3, 3), Step("recall", ms(2, 13, 36, 30), C3, 3),
        Step("start", ms(2, 13, 37), C3, 3), Step("finish", ms(2, 13, 50), C3, 3))),
    # 3: transferred at window 3: issued 10:00:00, called 10:01:40 (wait 100 s), transferred 10:03:00
    TicketFacts(3, "2026-11-02", "tax", "transferred", ms(2, 10, 0), steps=(
        Step("issue", ms(2, 10, 0), "kiosk:k1"), Step("call", ms(2, 10, 1, 40), C3, 3),
        Step("start", ms(2, 10, 2), C3, 3), Step("transfer", ms(2, 10, 3), C3, 3))),
    # 4: its child (not a new number), sort_at = the parent's issue 10:00:00; called at window 5
    #    10:20:00 → wait 1200 s from the parent's issue; start 10:21, finish 10:25 (240 s), rated 2 (差评)
    TicketFacts(4, "2026-11-02", "social", "done", ms(2, 10, 0), counted=False, parent_id=3, rating=2, steps=(
        Step("issue", ms(2, 10, 3), C3, 3), Step("call", ms(2, 10, 20), C5, 5),
        Step("start", ms(2, 10, 21), C5, 5), Step("finish", ms(2, 10, 25), C5, 5))),
    # 5: no-show: issued 14:00:00, called 14:45:00 (wait 2700 s > 30 min target), no-show 14:47
    TicketFacts(5, "2026-11-02", "tax", "no_show", ms(2, 14, 0), priority="priority", steps=(
        Step("issue", ms(2, 14, 0), "kiosk:k1"), Step("call", ms(2, 14, 45), C5, 5),
        Step("no_show", ms(2, 14, 47), C5, 5))),
    # 6: day rollover: issued 2026-11-02 23:50:00 (demo hall open late), called 00:10:00 next day
    #    (wait 1200 s), finished from 'called' by a keypad at 00:12:00 (start+finish same instant: 0 s),
    #    rated 3; it stays on business day 2026-11-02
    TicketFacts(6, "2026-11-02", "social", "done", ms(2, 23, 50), rating=3, steps=(
        Step("issue", ms(2, 23, 50), "kiosk:k1"), Step("call", ms(3, 0, 10), C5, 5),
        Step("start", ms(3, 0, 12), C5, 5), Step("finish", ms(3, 0, 12), C5, 5))),
    # 7: cancelled before being called
    TicketFacts(7, "2026-11-02", "tax", "cancelled", ms(2, 15, 0), priority="green", steps=(
        Step("issue", ms(2, 15, 0), "kiosk:k1"), Step("cancel", ms(2, 15, 5), "staff:s1"))),
]
TARGETS = {"tax": 30, "social": 30}


def visits() -> list:
    return [visit(t, target_minutes=TARGETS[t.service], tz=TZ) for t in TICKETS]


def test_each_ticket_wait_and_service_time_to_the_second() -> None:
    by_id = {v.facts.id: v for v in visits()}
    assert {i: v.wait_ms for i, v in by_id.items()} == {
        1: 250_000, 2: 6_300_000, 3: 100_000, 4: 1_200_000, 5: 2_700_000, 6: 1_200_000, 7: None}
    assert {i: v.service_ms for i, v in by_id.items()} == {
        1: 330_000, 2: 780_000, 3: None, 4: 240_000, 5: None, 6: 0, 7: None}
    assert by_id[2].recalls == 2
    assert (by_id[3].window, by_id[3].clerk) == (3, "A0101")
    assert (by_id[4].window, by_id[4].clerk) == (5, "B0202")
    assert by_id[6].hour == 23
    assert {i for i, v in by_id.items() if v.overdue} == {2, 5}


def test_day_totals_hand_computed() -> None:
    k = kpis(visits())
    assert (k.issued, k.called, k.done, k.no_show, k.cancelled, k.transferred, k.expired) == (6, 6, 4, 1, 1, 1, 0)
    assert k.recalls == 2
    # waits 100, 250, 1200, 1200, 2700, 6300 s: mean 11750/6; P90 = 6th of 6 (⌈5.4⌉); max 6300
    assert k.wait_mean == round(11750 / 6, 1)
    assert (k.wait_p90, k.wait_max) == (6300.0, 6300.0)
    # service 0, 240, 330, 780 s: mean 337.5, P90 = 4th of 4
    assert (k.service_mean, k.service_p90) == (337.5, 780.0)
    assert (k.overdue, k.overdue_rate) == (2, pytest.approx(2 / 6))
    # finished 4 (#1 rated 5, #2 unrated, #4 rated 2, #6 rated 3): rated 3, good 2 (5, 3), bad 1
    assert (k.rated, k.good, k.bad) == (3, 2, 1)
    assert k.rated_rate == pytest.approx(3 / 4)
    assert k.unrated_rate == pytest.approx(1 / 4)
    assert k.good_rate == pytest.approx(2 / 3)
    assert k.bad_rate == pytest.approx(1 / 3)
    assert k.satisfaction == pytest.approx(2 / 4)  # the unrated ticket counts against, never as good
    assert k.channels == {"kiosk": 5, "web": 1}
    assert k.priorities == {"normal": 4, "priority": 1, "green": 1}


def test_breakdowns_by_window_clerk_service_and_day() -> None:
    by_window = breakdown(visits(), GROUPS["window"])
    assert list(by_window) == [3, 5, None]
    assert (by_window[3].done, by_window[3].transferred, by_window[3].wait_max) == (2, 1, 6300.0)
    assert (by_window[5].done, by_window[5].no_show, by_window[5].bad) == (2, 1, 1)
    by_clerk = breakdown(visits(), GROUPS["clerk"])
    assert by_clerk["B0202"].satisfaction == pytest.approx(1 / 2)
    by_service = breakdown(visits(), GROUPS["service"])
    assert (by_service["social"].issued, by_service["social"].called) == (1, 2)  # the child is no new number
    by_day = breakdown(visits(), GROUPS["day"])
    assert list(by_day) == ["2026-11-02"]  # the rollover ticket stays on its issue day


def test_empty_group_has_no_rates() -> None:
    k = kpis([])
    assert (k.issued, k.done, k.wait_mean, k.satisfaction, k.good_rate) == (0, 0, None, None, None)


def test_p90_nearest_rank_and_clerk_parsing() -> None:
    assert p90(list(range(1, 11))) == 9
    assert p90([7]) == 7 and p90([]) is None
    assert clerk_of("clerk:A0101@3") == "A0101" and clerk_of("kiosk:k1") is None


def test_window_time_staffed_paused_by_reason_and_utilisation() -> None:
    from server.reports.kpi import WindowChange, utilisation, window_times

    changes = [
        WindowChange(3, ms(2, 8, 30), "open"),  # before the range start 09:00: clipped
        WindowChange(3, ms(2, 11, 30), "paused", "午休"),
        WindowChange(3, ms(2, 13, 30), "open"),
        WindowChange(3, ms(2, 15, 0), "paused", "临时离岗"),
        WindowChange(3, ms(2, 15, 20), "serving"),
        WindowChange(3, ms(2, 17, 0), "closed"),
        WindowChange(5, ms(2, 10, 0), "open"),  # still open at the range end 18:00
    ]
    times = window_times(changes, ms(2, 9, 0), ms(2, 18, 0))
    # window 3 staffed 09:00–11:30 (2.5 h) + 13:30–15:00 (1.5 h) + 15:20–17:00 (100 min) = 340 min
    assert times[3].staffed_ms == 340 * 60_000
    assert times[3].pauses == {"午休": 120 * 60_000, "临时离岗": 20 * 60_000}
    assert times[3].paused_ms == 140 * 60_000
    assert times[5].staffed_ms == 8 * 3600_000 and times[5].paused_ms == 0
    at3 = [v for v in visits() if v.window == 3]  # finished there: #1 (330 s) and #2 (780 s)
    assert utilisation(at3, times[3]) == pytest.approx(1110 / (340 * 60))
    assert utilisation(at3, None) is None


def test_wait_histogram_bins_waits_against_each_services_own_target() -> None:
    from server.reports.kpi import wait_histogram

    def waited(i: int, seconds: int, target: int | None) -> Any:
        t0 = ms(2, 9, 0)
        facts = TicketFacts(i, "2026-11-02", "tax", "done", t0, steps=(
            Step("issue", t0, "kiosk:k1"), Step("call", t0 + seconds * 1000, C3, 3)))
        return visit(facts, target_minutes=target, tz=TZ)

    visits = [waited(1, 0, 30), waited(2, 299, 30), waited(3, 300, 30), waited(4, 31 * 60, 30),
              waited(5, 31 * 60, 45), waited(6, 5 * 3600, None),
              visit(TicketFacts(7, "2026-11-02", "tax", "issued", ms(2, 9, 0)), target_minutes=30, tz=TZ)]
    bins = wait_histogram(visits, bucket_minutes=5, buckets=12)
    assert [(b["from_min"], b["to_min"]) for b in bins[:2]] == [(0, 5), (5, 10)] and bins[-1]["to_min"] is None
    assert (bins[0]["within"], bins[0]["over"]) == (2, 0)
    assert (bins[1]["within"], bins[1]["over"]) == (1, 0)
    assert (bins[6]["within"], bins[6]["over"]) == (1, 1)  # 31 min: past 30, within 45
    assert (bins[11]["within"], bins[11]["over"]) == (1, 0)  # 5 h with no target: the open-ended bin
    assert sum(b["within"] + b["over"] for b in bins) == kpis(visits).called == 6
