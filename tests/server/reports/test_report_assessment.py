"""月度考核 scoring and ranking (server/reports/assessment.py) on hand-made KPIs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.reports.assessment import DEFAULT_WEIGHTS, assess, parse_weights
from server.reports.kpi import Kpis


def test_scores_relative_to_the_best_and_ranks() -> None:
    units = {
        3: Kpis(done=100, wait_mean=300.0, service_mean=600.0, satisfaction=0.9, bad=2),
        5: Kpis(done=50, wait_mean=150.0, service_mean=300.0, satisfaction=0.36, bad=0),
        7: Kpis(done=0),  # no finished ticket: no satisfaction, no times
    }
    rows = assess(units, DEFAULT_WEIGHTS)
    by = {r["unit"]: r for r in rows}
    # window 3: done 100, wait 50, service 50, satisfaction 100, bad 0 (best 0 ÷ 2 → 0)
    assert by[3]["total"] == pytest.approx((30 * 100 + 20 * 50 + 15 * 50 + 25 * 100 + 10 * 0) / 100)
    # window 5: done 50, wait 100, service 100, satisfaction 40, bad 100 (value 0)
    assert by[5]["total"] == pytest.approx((30 * 50 + 20 * 100 + 15 * 100 + 25 * 40 + 10 * 100) / 100)
    assert by[7]["score_satisfaction"] == 0 and by[7]["score_done"] == 0
    assert [r["unit"] for r in rows] == [3, 5, 7] and [r["rank"] for r in rows] == [1, 2, 3]


def test_ties_share_a_rank() -> None:
    rows = assess({"a": Kpis(done=5), "b": Kpis(done=5)}, {"done": 1})
    assert [r["rank"] for r in rows] == [1, 1]


def test_weights_parsing() -> None:
    assert parse_weights(None) == DEFAULT_WEIGHTS
    assert parse_weights("done:1,bad:2")["bad"] == 2 and parse_weights("done:1")["wait_mean"] == 0
    for bad in ("speed:1", "done", "done:-1", "done:0"):
        with pytest.raises(ValueError):
            parse_weights(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_weights_parser_accepts_or_refuses_cleanly(text: str) -> None:
    try:
        weights = parse_weights(text)
    except ValueError:
        return
    assert set(weights) == set(DEFAULT_WEIGHTS) and sum(weights.values()) > 0
