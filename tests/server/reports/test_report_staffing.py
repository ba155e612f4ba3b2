"""Erlang C (server/reports/staffing.py) against the published check vector."""

from __future__ import annotations

import pytest

from server.reports.staffing import erlang_b, mean_wait, p_wait, windows_needed, within


def test_check_vector_a10_n14_s180() -> None:
    assert p_wait(14, 10.0) == pytest.approx(0.17413, abs=5e-6)
    assert mean_wait(14, 10.0, 180) == pytest.approx(7.836, abs=5e-4)
    assert within(14, 10.0, 180, 20) == pytest.approx(0.88835, abs=5e-6)


def test_edges() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert p_wait(10, 10.0) == 1.0 and within(9, 10.0, 180, 20) == 0.0


def test_windows_needed_is_the_smallest_meeting_the_target() -> None:
    advice = windows_needed(200, 180, target_s=20, share=0.8)  # 200/h × 180 s = 10 Erlangs
    assert advice.load == pytest.approx(10.0)
    assert advice.within_target >= 0.8
    assert within(advice.windows - 1, 10.0, 180, 20) < 0.8
    assert windows_needed(0, 180, target_s=20).windows == 0
